// The read-only picture of a compiled flow: nodes in layers by their distance from the first node (so a loop back
// does not stretch the picture), edges as curves, jumps back or sideways drawn around the right side.
import { h } from "./dom.js";

const W = 168;
const H = 46;
const GX = 28;
const GY = 58;
const PAD = 16;
const SIDE = 90;

/** Positions for {nodes:[{id,type,label}], edges:[{from,to,label?}]}; edges to unknown nodes are dropped. */
export function layoutGraph(graph) {
  const nodes = graph?.nodes ?? [];
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const out = nodes.map(() => []);
  const edges = [];
  for (const e of graph?.edges ?? []) {
    const a = index.get(e.from);
    const b = index.get(e.to);
    if (a === undefined || b === undefined) continue;
    out[a].push(b);
    edges.push({ ...e, a, b });
  }
  const layer = nodes.map(() => -1);
  let queue = nodes.length ? [0] : [];
  if (nodes.length) layer[0] = 0;
  while (queue.length) {
    const next = [];
    for (const a of queue)
      for (const b of out[a])
        if (layer[b] === -1) {
          layer[b] = layer[a] + 1;
          next.push(b);
        }
    queue = next;
  }
  const deepest = Math.max(-1, ...layer);
  for (let i = 0; i < layer.length; i++) if (layer[i] === -1) layer[i] = deepest + 1;
  const rows = [];
  layer.forEach((l, i) => {
    rows[l] ??= [];
    rows[l].push(i);
  });
  const widest = Math.max(1, ...rows.map((r) => r?.length ?? 0));
  const inner = widest * W + (widest - 1) * GX;
  const pos = [];
  rows.forEach((row, l) => {
    const rowWidth = row.length * W + (row.length - 1) * GX;
    row.forEach((i, k) => {
      pos[i] = { x: PAD + (inner - rowWidth) / 2 + k * (W + GX), y: PAD + l * (H + GY) };
    });
  });
  return {
    width: inner + 2 * PAD + SIDE,
    height: rows.length * (H + GY) - GY + 2 * PAD,
    nodes: nodes.map((n, i) => ({ ...n, ...pos[i], layer: layer[i] })),
    edges: edges.map((e) => ({
      from: e.from,
      to: e.to,
      label: e.label,
      back: layer[e.b] <= layer[e.a],
      x1: pos[e.a].x,
      y1: pos[e.a].y,
      x2: pos[e.b].x,
      y2: pos[e.b].y,
    })),
  };
}

/** The SVG; flow nodes whose index is in `marked` get the "bad" class (the editor's problems). */
export function drawGraph(graph, { marked = new Set(), title = "" } = {}) {
  const g = layoutGraph(graph);
  const svg = h("svg:svg", {
    viewBox: `0 0 ${g.width} ${Math.max(g.height, H + 2 * PAD)}`,
    width: g.width,
    height: Math.max(g.height, H + 2 * PAD),
    role: "img",
    "aria-label": title,
    class: "graph",
    "data-testid": "flow-graph-svg",
  });
  svg.append(
    h(
      "svg:defs",
      null,
      h(
        "svg:marker",
        {
          id: "arrow",
          viewBox: "0 0 10 10",
          refX: 9,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: "auto-start-reverse",
        },
        h("svg:path", { d: "M0,0 L10,5 L0,10 z", class: "arrow" }),
      ),
    ),
  );
  for (const e of g.edges) {
    let d;
    let lx;
    let ly;
    if (e.back) {
      const x1 = e.x1 + W;
      const y1 = e.y1 + H / 2;
      const x2 = e.x2 + W;
      const y2 = e.y2 + H / 2;
      const bend = Math.max(x1, x2) + SIDE * 0.8;
      d = `M${x1},${y1} C${bend},${y1} ${bend},${y2} ${x2},${y2}`;
      lx = bend - 8;
      ly = (y1 + y2) / 2;
    } else {
      const x1 = e.x1 + W / 2;
      const y1 = e.y1 + H;
      const x2 = e.x2 + W / 2;
      const y2 = e.y2;
      const dy = (y2 - y1) / 2;
      d = `M${x1},${y1} C${x1},${y1 + dy} ${x2},${y2 - dy} ${x2},${y2}`;
      lx = (x1 + x2) / 2;
      ly = (y1 + y2) / 2;
    }
    svg.append(h("svg:path", { d, class: `edge${e.back ? " back" : ""}`, "marker-end": "url(#arrow)" }));
    if (e.label)
      svg.append(h("svg:text", { x: lx, y: ly, class: "edge-label", "text-anchor": "middle" }, short(e.label, 18)));
  }
  for (const n of g.nodes) {
    svg.append(
      h(
        "svg:g",
        {
          class: `node t-${n.type}${marked.has(n.index) ? " bad" : ""}`,
          "data-node": n.id,
          transform: `translate(${n.x},${n.y})`,
        },
        h("svg:title", null, `${n.id} (${n.type})${n.label ? `: ${n.label}` : ""}`),
        h("svg:rect", { width: W, height: H, rx: 8 }),
        h("svg:text", { x: 10, y: 18, class: "node-type" }, `${n.type} · ${short(n.id, 14)}`),
        h("svg:text", { x: 10, y: 36, class: "node-label" }, short(n.label ?? "", 24)),
      ),
    );
  }
  return svg;
}

function short(s, n) {
  const text = String(s);
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

/** [start, end) of each element of the top-level JSON array in `text` (strings and nesting respected). */
export function elementSpans(text) {
  const spans = [];
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = -1;
  let last = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === "\\") escaped = true;
      else if (c === '"') inString = false;
      last = i;
      continue;
    }
    if (c === " " || c === "\n" || c === "\r" || c === "\t") continue;
    if (depth === 1 && start < 0 && c !== "," && c !== "]") start = i;
    if (c === '"') inString = true;
    else if (c === "{" || c === "[") depth += 1;
    else if (c === "}" || c === "]") {
      depth -= 1;
      if (depth === 0) {
        if (start >= 0) spans.push([start, last + 1]);
        break;
      }
    } else if (c === "," && depth === 1) {
      if (start >= 0) spans.push([start, last + 1]);
      start = -1;
      continue;
    }
    last = i;
  }
  return spans;
}

/** The flow node index a problem path points into, e.g. "agents[2].flow[5].to.agent" with prefix "agents[2].flow". */
export function nodeIndexOf(path, prefix) {
  if (!path?.startsWith(`${prefix}[`)) return -1;
  const m = /^\[(\d+)\]/.exec(path.slice(prefix.length));
  return m ? Number(m[1]) : -1;
}
