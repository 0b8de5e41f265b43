// One top-level section of a YAML document replaced in its text, keeping every other section's bytes, comments and
// layout: the web page edits the installer's hand-written file, and a save must not reformat what it did not touch.
// A result that would not parse back to the intended data falls back to rendering the whole document.
import { isDeepStrictEqual } from "node:util";
import { Document, isMap, isNode, isScalar, parseDocument, type Scalar } from "yaml";
import { RENDER, patchNode, renderPair } from "./yaml-render.ts";
import { applySplices, type Splice, spliceNode } from "./yaml-splice.ts";

/** The text with `section` replaced by `next` (undefined removes it); `expected` is what the result must parse to. */
export function renderEdit(text: string, section: string, next: unknown, expected: Record<string, unknown>): string {
  const spliced = spliceSection(parseDocument(text), text, section, next);
  if (spliced !== undefined) {
    const check = parseDocument(spliced);
    if (check.errors.length === 0 && isDeepStrictEqual(check.toJS() ?? {}, expected)) return spliced;
  }
  // A layout the splice does not handle (flow-style root, indented root): render the whole document.
  const doc = parseDocument(text);
  const root = doc.contents;
  if (!isMap(root)) return new Document(expected).toString(RENDER);
  if (next === undefined) doc.delete(section);
  else doc.set(section, patchNode(doc, doc.get(section, true), next));
  return doc.toString(RENDER);
}

/** Undefined when the layout is one this cannot splice (a flow-style root). */
function spliceSection(doc: Document, text: string, section: string, next: unknown): string | undefined {
  const root = doc.contents;
  const append = () => {
    if (next === undefined) return text;
    const sep = text === "" || text.endsWith("\n") ? "" : "\n";
    return `${text}${sep}${text.trim() ? "\n" : ""}${renderPair(section, doc.createNode(next))}`;
  };
  if (root === null || root === undefined) return append();
  if (!isMap(root) || root.flow) return undefined;
  const pair = root.items.find((p) => isScalar(p.key) && p.key.value === section);
  if (!pair) return append();
  const key = pair.key as Scalar;
  const start = key.range?.[0];
  const end = isNode(pair.value) ? pair.value.range?.[2] : key.range?.[2];
  if (start === undefined || end === undefined) return undefined;
  if (next === undefined) return text.slice(0, start) + text.slice(end);
  // Smallest change first: only the nodes that differ are rewritten where they stand.
  const edits: Splice[] = [];
  if (spliceNode(doc, text, pair.value, next, false, edits)) return applySplices(text, edits);
  let block = renderPair(section, patchNode(doc, pair.value, next));
  if (!text.slice(start, end).endsWith("\n")) block = block.replace(/\n$/, "");
  return text.slice(0, start) + block + text.slice(end);
}
