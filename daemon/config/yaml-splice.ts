// Text edits that turn one YAML node into a new value where it stands: a changed scalar is rewritten alone, a list or
// map is edited entry by entry, so the bytes, comments and layout around every unchanged entry stay as they were.
// Whatever cannot be edited in place is left to the caller (false), which then re-renders the smallest enclosing node.
import { isDeepStrictEqual } from "node:util";
import { type Document, isMap, isNode, isScalar, isSeq, Scalar, YAMLMap, type YAMLSeq } from "yaml";
import { isPlainObject } from "./config-path.ts";
import { matchItems, nodeId, paddedMostly, patchNode, renderNode } from "./yaml-render.ts";

/** Replace text[start, end) with `text`; offsets are into the original text. */
export interface Splice {
  start: number;
  end: number;
  text: string;
}

export function applySplices(text: string, edits: Splice[]): string {
  let out = text;
  // From the end backwards; at one offset the removal goes first, then what is inserted there.
  const order = [...edits].sort((a, b) => b.start - a.start || b.end - b.start - (a.end - a.start));
  for (const e of order) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

/**
 * Collects text edits that turn `node` into `value` in place: a changed scalar is rewritten alone, a collection whose
 * keys or entries changed is edited entry by entry, else re-rendered where it stands. False when the node cannot be
 * rewritten in place (its kind changed, an entry of a flow collection went away): then the parent re-renders it.
 */
export function spliceNode(
  doc: Document,
  text: string,
  node: unknown,
  value: unknown,
  inFlow: boolean,
  edits: Splice[],
) {
  if (!isNode(node) || !node.range) return false;
  if (isDeepStrictEqual(node.toJS(doc), value)) return true;
  if (isScalar(node)) {
    if (typeof value === "object" || node.type?.startsWith("BLOCK")) return false;
    const scalar = new Scalar(value);
    if (typeof value === "string" && typeof node.value === "string") scalar.type = node.type;
    let rendered = renderNode(scalar, false);
    // Inside [..] or {..} a plain scalar must not contain the flow indicators: quote it then.
    if (inFlow && typeof value === "string" && !/^["']/.test(rendered) && /[,[\]{}]/.test(rendered)) {
      scalar.type = "QUOTE_DOUBLE";
      rendered = renderNode(scalar, false);
    }
    if (rendered.includes("\n")) return false;
    edits.push({ start: node.range[0], end: node.range[1], text: rendered });
    return true;
  }
  if (isMap(node) && isPlainObject(value)) {
    // An emptied block map is written "key: {}" by the parent.
    if (!node.flow && !inFlow)
      return (
        Object.keys(value).length > 0 &&
        (spliceBlockMap(doc, text, node, value, edits) || renderInPlace(doc, text, node, value, edits))
      );
    return spliceFlow(doc, text, node, value, edits) || (!inFlow && renderInPlace(doc, text, node, value, edits));
  }
  if (isSeq(node) && Array.isArray(value)) {
    if (!node.flow && !inFlow)
      return (
        value.length > 0 &&
        (spliceBlockSeq(doc, text, node, value, edits) || renderInPlace(doc, text, node, value, edits))
      );
    return spliceFlow(doc, text, node, value, edits) || (!inFlow && renderInPlace(doc, text, node, value, edits));
  }
  return false;
}

const lineStart = (text: string, at: number) => text.lastIndexOf("\n", at - 1) + 1;

/** Where the lines of an entry starting at `next` begin, comment lines just above it included. */
function entryStart(text: string, at: number, notBefore: number): number {
  let start = lineStart(text, at);
  while (start > notBefore) {
    const prev = lineStart(text, start - 1);
    if (prev < notBefore || !/^\s*(#.*)?\n$/.test(text.slice(prev, start))) break;
    start = prev;
  }
  return start;
}

/** `lines` (rendered at column 0) shifted to `column`; the first line too unless it continues a marker. */
function indent(lines: string, column: number, first: boolean): string {
  return lines
    .split("\n")
    .map((l, i) => ((i > 0 || first) && l !== "" ? " ".repeat(column) + l : l))
    .join("\n");
}

/**
 * A block list edited entry by entry: removed entries lose their lines, new ones are rendered where they go, the
 * rest are edited in place. False (nothing pushed) when entries were reordered or the layout is unusual.
 */
function spliceBlockSeq(doc: Document, text: string, node: YAMLSeq, value: unknown[], edits: Splice[]): boolean {
  const old = node.items;
  const end = node.range?.[2];
  if (old.length === 0 || end === undefined || text[end - 1] !== "\n") return false;
  const markers: number[] = [];
  for (const item of old) {
    const at = isNode(item) ? item.range?.[0] : undefined;
    if (at === undefined) return false;
    const marker = text.slice(lineStart(text, at), at);
    if (!/^ *- +$/.test(marker)) return false;
    markers.push(lineStart(text, at));
  }
  const column = text.indexOf("-", markers[0]) - markers[0]!;
  // Where entry k's lines begin, with the comment lines just above it (they go when the entry goes).
  const spans = old.map((_, k) => {
    const prev = old[k - 1];
    return k === 0 ? markers[0]! : entryStart(text, markers[k]!, isNode(prev) ? prev.range![1] : markers[k - 1]!);
  });
  const spanEnd = (k: number) => (k + 1 < old.length ? spans[k + 1]! : end);
  const match = matchItems(doc, old, value);
  const kept = match.filter((j) => j >= 0);
  if (kept.some((j, k) => k > 0 && j <= kept[k - 1]!)) return false;
  const own: Splice[] = [];
  old.forEach((_, j) => {
    if (!kept.includes(j)) own.push({ start: spans[j]!, end: spanEnd(j), text: "" });
  });
  let pending: unknown[] = [];
  let at = spans[0]!;
  const flush = () => {
    if (pending.length === 0) return;
    const seq = doc.createNode(pending) as YAMLSeq;
    own.push({ start: at, end: at, text: `${indent(renderNode(seq, paddedMostly(text)), column, true)}\n` });
    pending = [];
  };
  for (let i = 0; i < value.length; i++) {
    const j = match[i]!;
    if (j < 0) {
      pending.push(value[i]);
      continue;
    }
    flush();
    if (!spliceNode(doc, text, old[j], value[i], false, own)) {
      // The entry changed its kind (a scalar became a map): render that entry anew.
      const seq = doc.createNode([value[i]]) as YAMLSeq;
      own.push({
        start: markers[j]!,
        end: spanEnd(j),
        text: `${indent(renderNode(seq, paddedMostly(text)), column, true)}\n`,
      });
    }
    at = spanEnd(j);
  }
  flush();
  edits.push(...own);
  return true;
}

/** A block map edited key by key: removed keys lose their lines, new keys are added at its end. */
function spliceBlockMap(
  doc: Document,
  text: string,
  node: YAMLMap,
  value: Record<string, unknown>,
  edits: Splice[],
): boolean {
  const end = node.range?.[2];
  if (node.items.length === 0 || end === undefined || text[end - 1] !== "\n") return false;
  const keys: string[] = [];
  const keyAt: number[] = [];
  for (const pair of node.items) {
    const at = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
    if (at === undefined) return false;
    keys.push(String((pair.key as Scalar).value));
    keyAt.push(at);
  }
  // Only the first key may share its line with a list marker ("- id: x"); the others start their lines.
  const prefix = (k: number) => text.slice(lineStart(text, keyAt[k]!), keyAt[k]);
  const behindMarker = /^ *- +$/.test(prefix(0));
  if (!behindMarker && !/^ *$/.test(prefix(0))) return false;
  if (keyAt.some((_, k) => k > 0 && !/^ *$/.test(prefix(k)))) return false;
  const column = keyAt[0]! - lineStart(text, keyAt[0]!);
  // Where pair k's lines begin: its key's line (the first key: the key itself behind a marker) ...
  const lineOf = (k: number) => (k === 0 && behindMarker ? keyAt[0]! : lineStart(text, keyAt[k]!));
  // ... and with the comment lines above it, which go when the pair goes.
  const spanStart = (k: number) => {
    const prev = node.items[k - 1]?.value;
    return k === 0 ? lineOf(0) : entryStart(text, keyAt[k]!, isNode(prev) ? prev.range![1] : keyAt[k - 1]!);
  };
  const spanEnd = (k: number) => (k + 1 < keys.length ? spanStart(k + 1) : end);
  const render = (k: string, v: unknown, first: boolean) => {
    const map = new YAMLMap();
    map.items.push(doc.createPair(k, v));
    return `${indent(renderNode(map, paddedMostly(text)), column, first)}\n`;
  };
  const own: Splice[] = [];
  for (const [k, key] of keys.entries()) {
    if (!Object.hasOwn(value, key)) {
      if (k === 0 && behindMarker) return false; // the list marker would go with it
      own.push({ start: spanStart(k), end: spanEnd(k), text: "" });
    } else if (!spliceNode(doc, text, node.items[k]!.value, value[key], false, own)) {
      // The value changed its kind (a scalar became a map): render the pair anew.
      own.push({ start: lineOf(k), end: spanEnd(k), text: render(key, value[key], !(k === 0 && behindMarker)) });
    }
  }
  const added = Object.keys(value).filter((k) => !keys.includes(k));
  if (added.length) own.push({ start: end, end, text: added.map((k) => render(k, value[k], true)).join("") });
  edits.push(...own);
  return true;
}

/**
 * A flow collection ("[a, b]", "{ a: 1 }") whose entries stay and may grow: the entries are edited in place and new
 * ones are written before the closing bracket. False (nothing pushed) when an entry went away.
 */
function spliceFlow(doc: Document, text: string, node: YAMLMap | YAMLSeq, value: unknown, edits: Splice[]): boolean {
  const close = node.range ? node.range[1] - 1 : -1;
  if (close < 0 || (text[close] !== "]" && text[close] !== "}")) return false;
  const own: Splice[] = [];
  let added: YAMLMap | YAMLSeq;
  if (isMap(node) && isPlainObject(value)) {
    const keys = node.items.map((p) => (isScalar(p.key) ? String(p.key.value) : undefined));
    if (!keys.every((k) => k !== undefined && Object.hasOwn(value, k))) return false;
    if (!node.items.every((p, i) => spliceNode(doc, text, p.value, value[keys[i]!], true, own))) return false;
    added = doc.createNode(Object.fromEntries(Object.entries(value).filter(([k]) => !keys.includes(k)))) as YAMLMap;
  } else if (isSeq(node) && Array.isArray(value)) {
    if (value.length < node.items.length || !node.items.every((n, i) => sameId(nodeId(n), value[i]))) return false;
    if (!node.items.every((n, i) => spliceNode(doc, text, n, value[i], true, own))) return false;
    added = doc.createNode(value.slice(node.items.length)) as YAMLSeq;
  } else return false;
  if (added.items.length > 0) {
    added.flow = true;
    // New strings are quoted like the ones already there: ["08:00-12:00", "13:00-17:00"].
    const sibling = (node.items as unknown[]).find((n) => isScalar(n) && typeof n.value === "string") as Scalar;
    for (const n of added.items as unknown[])
      if (sibling && isScalar(n) && typeof n.value === "string") n.type = sibling.type;
    const padding = paddedMostly(text.slice(node.range![0] + 1, close));
    const inner = renderNode(added, padding).slice(padding ? 2 : 1, padding ? -2 : -1);
    let at = close;
    while (text[at - 1] === " ") at--;
    own.push({ start: at, end: at, text: node.items.length ? `, ${inner}` : inner });
  }
  edits.push(...own);
  return true;
}

const sameId = (id: unknown, v: unknown) => id === (isPlainObject(v) ? v.id : undefined);

/** Re-renders a collection at its place: its first line starts where it did, the next lines get its column. */
function renderInPlace(doc: Document, text: string, node: YAMLMap | YAMLSeq, value: unknown, edits: Splice[]) {
  const [start, , end] = node.range!;
  const original = text.slice(start, end);
  const column = start - (text.lastIndexOf("\n", start - 1) + 1);
  const patched = patchNode(doc, node, value);
  if (!(isMap(patched) || isSeq(patched)) || Boolean(patched.flow) !== Boolean(node.flow)) return false;
  // Keep the collection's own look: "[a, b]" stays without padding, "{ a: 1 }" with it.
  const padding = node.flow ? /^[[{] /.test(original) : paddedMostly(original);
  const lines = renderNode(patched, padding).split("\n");
  let out = lines.map((l, i) => (i === 0 || l === "" ? l : " ".repeat(column) + l)).join("\n");
  if (original.endsWith("\n")) out += "\n";
  edits.push({ start, end, text: out });
  return true;
}
