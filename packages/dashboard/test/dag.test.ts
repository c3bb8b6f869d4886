import { describe, expect, it } from "vitest";
import { layoutDag, renderDag, NODE_HEIGHT, NODE_WIDTH, type DagNode } from "../src/dag.js";

/** `layers` layers of `width` steps, each with two parents in the layer before (wrapping around). */
function layered(layers: number, width: number): DagNode[] {
  const nodes: DagNode[] = [];
  for (let l = 0; l < layers; l++) for (let i = 0; i < width; i++) nodes.push({ id: `s${l}_${i}`, upstream: l ? [`s${l - 1}_${i}`, `s${l - 1}_${(i + 1) % width}`] : [] });
  return nodes;
}

function checkDrawable(nodes: DagNode[]) {
  const layout = layoutDag(nodes);
  expect(layout.nodes.size).toBe(nodes.length);
  const boxes = [...layout.nodes.values()];
  for (const node of nodes) {
    const at = layout.nodes.get(node.id)!;
    expect(at.x - NODE_WIDTH / 2).toBeGreaterThanOrEqual(0);
    expect(at.y + NODE_HEIGHT / 2).toBeLessThanOrEqual(layout.height);
    // left to right: every step is drawn right of the steps it needs
    for (const up of node.upstream) expect(layout.nodes.get(up)!.x).toBeLessThan(at.x);
  }
  const overlapping = boxes.some((a, i) => boxes.some((b, j) => i < j && Math.abs(a.x - b.x) < NODE_WIDTH && Math.abs(a.y - b.y) < NODE_HEIGHT));
  expect(overlapping).toBe(false);
  expect(layout.edges).toHaveLength(nodes.reduce((n, node) => n + node.upstream.length, 0));
}

describe("DAG layout", () => {
  it("lays out a small pipeline (dagre) left to right without overlaps", () => checkDrawable(layered(3, 3)));

  it("lays out 1,000 densely connected steps (the layered layout) left to right without overlaps", () => checkDrawable(layered(20, 50)));

  it("draws one node per step with its status in words, and escapes step ids", () => {
    const svg = renderDag("r1", [{ id: "a<b>", upstream: [] }, { id: "c", upstream: ["a<b>"] }], (id) => ({ status: id === "c" ? "failed" : "succeeded", durationMs: 1500 })).text;
    expect(svg.match(/<a class="node/g)).toHaveLength(2);
    expect(svg).toContain("✗ failed · 1.5 s");
    expect(svg).not.toContain("<b>");
    expect(svg).toContain('href="/runs/r1/steps/a%3Cb%3E"');
  });
});
