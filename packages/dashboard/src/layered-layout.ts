/**
 * A linear-time layered layout for DAGs too big for dagre: ranks by longest path from the sources,
 * order within a rank by a few barycenter sweeps (down, then up), nodes on a grid, edges as curves
 * from the right side of a node to the left side of the next.
 *
 * Why not dagre (or elkjs) for every graph: their crossing minimisation grows much faster than the
 * graph. Measured here on a 20 × 50 layered DAG (1,000 steps, each with two parents): dagre 245 s,
 * elkjs 10 s; even 50 such steps take dagre ~0.7 s. This layout takes milliseconds for 1,000 steps.
 */
export interface Point {
  x: number;
  y: number;
}

export interface LayeredInput {
  id: string;
  upstream: string[];
}

export interface LayeredLayout {
  width: number;
  height: number;
  nodes: Map<string, Point>;
  edges: { from: string; to: string; points: Point[]; curve: boolean }[];
}

const SWEEPS = 4;

export function layeredLayout(nodes: LayeredInput[], size: { width: number; height: number; rankGap: number; nodeGap: number; margin: number }): LayeredLayout {
  const ids = new Set(nodes.map((n) => n.id));
  const parents = new Map(nodes.map((n) => [n.id, [...new Set(n.upstream.filter((u) => ids.has(u) && u !== n.id))]]));
  const children = new Map<string, string[]>(nodes.map((n) => [n.id, []]));
  for (const [id, ups] of parents) for (const up of ups) children.get(up)!.push(id);

  // Longest path from a source (iteratively, so deep chains do not overflow the stack; a cycle — which
  // a snapshot never has — is cut where it is met).
  const rank = new Map<string, number>();
  const visiting = new Set<string>();
  for (const node of nodes) {
    const stack: [string, number][] = [[node.id, 0]];
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const [id, next] = top;
      if (rank.has(id)) {
        stack.pop();
        continue;
      }
      visiting.add(id);
      const ups = parents.get(id)!;
      if (next < ups.length) {
        top[1]++;
        const up = ups[next]!;
        if (!rank.has(up) && !visiting.has(up)) stack.push([up, 0]);
        continue;
      }
      rank.set(id, Math.max(-1, ...ups.map((u) => rank.get(u) ?? -1)) + 1);
      visiting.delete(id);
      stack.pop();
    }
  }

  const layers: string[][] = [];
  for (const node of nodes) (layers[rank.get(node.id)!] ??= []).push(node.id);
  const position = new Map<string, number>();
  const renumber = (layer: string[]) => layer.forEach((id, i) => position.set(id, i));
  layers.forEach(renumber);
  const sortBy = (layer: string[], neighbours: Map<string, string[]>) => {
    const key = new Map(
      layer.map((id) => {
        const around = neighbours.get(id)!;
        return [id, around.length ? around.reduce((sum, n) => sum + position.get(n)!, 0) / around.length : position.get(id)!];
      }),
    );
    layer.sort((a, b) => key.get(a)! - key.get(b)! || position.get(a)! - position.get(b)!);
    renumber(layer);
  };
  for (let sweep = 0; sweep < SWEEPS; sweep++) {
    if (sweep % 2 === 0) for (let r = 1; r < layers.length; r++) sortBy(layers[r]!, parents);
    else for (let r = layers.length - 2; r >= 0; r--) sortBy(layers[r]!, children);
  }

  const tallest = Math.max(0, ...layers.map((l) => l.length));
  const step = size.height + size.nodeGap;
  const points = new Map<string, Point>();
  layers.forEach((layer, r) => {
    const offset = ((tallest - layer.length) * step) / 2;
    layer.forEach((id, i) => points.set(id, { x: size.margin + r * (size.width + size.rankGap) + size.width / 2, y: size.margin + offset + i * step + size.height / 2 }));
  });
  const edges = [];
  for (const [id, ups] of parents) {
    const to = points.get(id)!;
    for (const up of ups) {
      const from = points.get(up)!;
      edges.push({ from: up, to: id, curve: true, points: [{ x: from.x + size.width / 2, y: from.y }, { x: to.x - size.width / 2, y: to.y }] });
    }
  }
  return {
    width: Math.ceil(size.margin * 2 + layers.length * size.width + Math.max(0, layers.length - 1) * size.rankGap),
    height: Math.ceil(size.margin * 2 + tallest * step - size.nodeGap),
    nodes: points,
    edges,
  };
}
