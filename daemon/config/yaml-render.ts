// YAML nodes rendered for an edit: the node made to hold a new value while reusing every unchanged node (so the
// comments and styles inside survive), and a node rendered alone in the style of the file around it.
import { isDeepStrictEqual } from "node:util";
import { Document, isMap, isNode, isScalar, isSeq, type Node, Pair, Scalar, YAMLMap } from "yaml";
import { isPlainObject } from "./config-path.ts";

// lineWidth 0: never fold long greetings or flow lists onto several lines.
export const RENDER = { lineWidth: 0 } as const;

/** Whether most flow collections in the text are written "{ a: 1 }" rather than "{a: 1}". */
export function paddedMostly(text: string): boolean {
  const padded = text.match(/[[{] (?=\S)/g)?.length ?? 0;
  const tight = text.match(/[[{](?=[^\s\]}])/g)?.length ?? 0;
  return padded >= tight;
}

/** A node alone as YAML, without the comment lines before it (they stay in the text around it). */
export function renderNode(node: Node, padding: boolean): string {
  const { commentBefore, spaceBefore } = node;
  node.commentBefore = undefined;
  node.spaceBefore = undefined;
  const doc = new Document();
  doc.contents = node;
  const out = doc.toString({ ...RENDER, flowCollectionPadding: padding }).replace(/\n$/, "");
  node.commentBefore = commentBefore;
  node.spaceBefore = spaceBefore;
  return out;
}

/** One `key: value` pair as top-level YAML (comments before the key stay in the text around it). */
export function renderPair(key: string, value: Node): string {
  const map = new YAMLMap();
  map.items.push(new Pair(new Scalar(key), value));
  const doc = new Document();
  doc.contents = map;
  return doc.toString(RENDER);
}

export const nodeId = (n: unknown): unknown => (isMap(n) ? n.get("id") : undefined);

/**
 * Which stored entry each new list entry continues (-1: a new one): the same id, else an identical entry, else the
 * entry at the same index when nothing else claimed it. Deleting one entry thus deletes one, not shifts the rest.
 */
export function matchItems(doc: Document, old: readonly unknown[], value: readonly unknown[]): number[] {
  const used = new Set<number>();
  const idOf = (v: unknown) => (isPlainObject(v) && typeof v.id === "string" ? v.id : undefined);
  const match = value.map((v) => {
    const id = idOf(v);
    const j = id === undefined ? -1 : old.findIndex((o, k) => !used.has(k) && nodeId(o) === id);
    if (j >= 0) used.add(j);
    return j;
  });
  const ids = new Set(value.map(idOf).filter((id) => id !== undefined));
  const free = (k: number) => !used.has(k) && !ids.has(nodeId(old[k]) as string);
  value.forEach((v, i) => {
    if (match[i]! >= 0) return;
    const j = old.findIndex((o, k) => free(k) && isNode(o) && isDeepStrictEqual(o.toJS(doc), v));
    if (j >= 0) {
      match[i] = j;
      used.add(j);
    }
  });
  value.forEach((_, i) => {
    if (match[i]! < 0 && i < old.length && free(i)) {
      match[i] = i;
      used.add(i);
    }
  });
  return match;
}

/** The node made to hold `value`, reusing what is unchanged so comments and styles inside survive. */
export function patchNode(doc: Document, node: unknown, value: unknown): Node {
  if (isNode(node) && isDeepStrictEqual(node.toJS(doc), value)) return node;
  if (isScalar(node) && value !== null && typeof node.value === typeof value && typeof value !== "object") {
    node.value = value;
    return node;
  }
  if (isMap(node) && isPlainObject(value)) {
    const kept: Pair[] = [];
    for (const pair of node.items) {
      const k = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (k === undefined || !Object.hasOwn(value, k)) continue; // removed
      pair.value = patchNode(doc, pair.value, value[k]);
      kept.push(pair as Pair);
    }
    for (const [k, v] of Object.entries(value))
      if (!kept.some((p) => isScalar(p.key) && String(p.key.value) === k)) kept.push(doc.createPair(k, v));
    node.items = kept;
    return node;
  }
  if (isSeq(node) && Array.isArray(value)) {
    const old = [...node.items];
    const match = matchItems(doc, old, value);
    node.items = value.map((v, i) => {
      const j = match[i]!;
      return j < 0 ? doc.createNode(v) : patchNode(doc, old[j], v);
    });
    return node;
  }
  const fresh = doc.createNode(value);
  if (isNode(node)) {
    fresh.commentBefore = node.commentBefore;
    fresh.comment = node.comment;
    fresh.spaceBefore = node.spaceBefore;
  }
  return fresh;
}
