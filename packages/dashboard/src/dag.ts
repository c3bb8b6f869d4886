/**
 * The run's DAG, left to right, one rank per dependency level — laid out by @dagrejs/dagre, or for big
 * graphs by layered-layout.ts — drawn as SVG on the server, so the page shows it without any script.
 * Each node is a link to the step's panel (keyboard: Tab to it, Enter to open), carries its status as
 * a class (the colour) and as text with an icon (never colour alone), and has `data-step` so the live
 * script can update it in place.
 *
 * Layouts are cached by the graph's structure: every later view of a run, and every run of the same
 * pipeline version, reuses it.
 */
import { createHash } from "node:crypto";
import dagre, { type Edge } from "@dagrejs/dagre";
import { html, raw, seg, type Html } from "./html.js";
import { STATUS_ICON, formatDuration } from "./format.js";
import { layeredLayout, type LayeredLayout } from "./layered-layout.js";

export const NODE_WIDTH = 184;
export const NODE_HEIGHT = 46;

export interface DagNode {
  id: string;
  upstream: string[];
}

export type Layout = LayeredLayout;

/**
 * dagre draws small graphs (routed edges, compact); beyond these sizes its crossing minimisation
 * takes seconds to minutes, so the linear-time layered layout takes over (see layered-layout.ts).
 */
export const DAGRE_MAX_NODES = 40;
export const DAGRE_MAX_EDGES = 80;

const layouts = new Map<string, Layout>();
const MAX_CACHED = 64;
const SIZE = { width: NODE_WIDTH, height: NODE_HEIGHT, rankGap: 48, nodeGap: 14, margin: 12 };

export function layoutDag(nodes: DagNode[]): Layout {
  const key = createHash("sha256")
    .update(JSON.stringify(nodes.map((n) => [n.id, n.upstream])))
    .digest("hex");
  const cached = layouts.get(key);
  if (cached) return cached;
  const edgeCount = nodes.reduce((n, node) => n + node.upstream.length, 0);
  const layout = nodes.length <= DAGRE_MAX_NODES && edgeCount <= DAGRE_MAX_EDGES ? dagreLayout(nodes) : layeredLayout(nodes, SIZE);
  if (layouts.size >= MAX_CACHED) layouts.delete(layouts.keys().next().value!);
  layouts.set(key, layout);
  return layout;
}

function dagreLayout(nodes: DagNode[]): Layout {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: "LR", nodesep: SIZE.nodeGap, ranksep: SIZE.rankGap, marginx: SIZE.margin, marginy: SIZE.margin });
  graph.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(nodes.map((n) => n.id));
  for (const node of nodes) graph.setNode(node.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const node of nodes) for (const up of node.upstream) if (ids.has(up)) graph.setEdge(up, node.id);
  dagre.layout(graph);
  const info = graph.graph();
  return {
    width: Math.ceil(info.width ?? NODE_WIDTH),
    height: Math.ceil(info.height ?? NODE_HEIGHT),
    nodes: new Map(nodes.map((n) => [n.id, { x: graph.node(n.id).x, y: graph.node(n.id).y }])),
    edges: graph.edges().map((e: Edge) => ({ from: e.v, to: e.w, points: graph.edge(e).points ?? [], curve: false })),
  };
}

export interface NodeState {
  status: string;
  durationMs?: number | undefined;
  attempts?: number | undefined;
  cachedFrom?: string | undefined;
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

export function nodeLabel(state: NodeState): string {
  const parts = [`${STATUS_ICON[state.status] ?? "·"} ${state.status}`];
  if (state.durationMs !== undefined) parts.push(formatDuration(state.durationMs));
  if ((state.attempts ?? 0) > 1) parts.push(`${state.attempts} attempts`);
  return parts.join(" · ");
}

export function renderDag(runId: string, nodes: DagNode[], state: (id: string) => NodeState, selected?: string): Html {
  const layout = layoutDag(nodes);
  const edges = layout.edges.map((e) => {
    const d = e.curve ? curve(e.points[0]!, e.points[e.points.length - 1]!) : e.points.map((p, i) => `${i ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
    return `<path class="edge" data-from="${escapeAttr(e.from)}" data-to="${escapeAttr(e.to)}" d="${d}" marker-end="url(#arrow)"/>`;
  });
  const drawn = nodes.map((n) => {
    const p = layout.nodes.get(n.id)!;
    const s = state(n.id);
    const x = p.x - NODE_WIDTH / 2;
    const y = p.y - NODE_HEIGHT / 2;
    return html`<a class="node s-${s.status}${n.id === selected ? " selected" : ""}" href="/runs/${seg(runId)}/steps/${seg(n.id)}" data-step="${n.id}" data-status="${s.status}" aria-label="${n.id}: ${nodeLabel(s)}"><title>${n.id}: ${nodeLabel(s)}</title><rect x="${x}" y="${y}" width="${NODE_WIDTH}" height="${NODE_HEIGHT}" rx="6"/><text class="name" x="${x + 10}" y="${y + 19}">${clip(n.id, 24)}</text><text class="state" x="${x + 10}" y="${y + 36}">${nodeLabel(s)}</text></a>`;
  });
  return html`<svg class="dag" role="group" aria-label="pipeline DAG: ${nodes.length} steps" width="${layout.width}" height="${layout.height}" viewBox="0 0 ${layout.width} ${layout.height}" data-nodes="${nodes.length}"><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs><g class="edges">${raw(edges.join(""))}</g><g class="nodes">${drawn}</g></svg>`;
}

function curve(a: { x: number; y: number }, b: { x: number; y: number }): string {
  const bend = Math.max(20, (b.x - a.x) / 2);
  return `M${a.x.toFixed(1)},${a.y.toFixed(1)} C${(a.x + bend).toFixed(1)},${a.y.toFixed(1)} ${(b.x - bend).toFixed(1)},${b.y.toFixed(1)} ${b.x.toFixed(1)},${b.y.toFixed(1)}`;
}

function escapeAttr(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
