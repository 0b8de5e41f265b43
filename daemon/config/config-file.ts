// The config file as a document the web page edits. One section (or a path inside it) is replaced at a time; the
// whole resulting file is validated with the one schema before anything is written, the file is replaced atomically
// with the previous one kept as <file>.bak, and a version (sha256 of the text) stops two admins from overwriting
// each other. Only the values that changed are rewritten in the text, so every other section keeps its bytes,
// comments and layout; whatever cannot be edited in place is re-rendered at the smallest enclosing node, and a
// result that would not parse back to the intended data falls back to rendering the whole document.
// Secrets are shown as "********"; sending that back keeps the stored value.
import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import {
  Document,
  isMap,
  isNode,
  isScalar,
  isSeq,
  type Node,
  Pair,
  parseDocument,
  Scalar,
  YAMLMap,
  type YAMLSeq,
} from "yaml";
import { ConfigError, type ConfigProblem, formatPath, parseConfig } from "./load.ts";
import { type Config, configSchema } from "./schema.ts";

/** What a secret looks like in every answer; sent back unchanged it means "keep the stored value". */
export const REDACTED = "********";

export type ConfigPath = (string | number)[];

/** The top-level keys of the schema: the sections an admin can edit. */
export const configSections: readonly string[] = Object.keys(configSchema.shape);

/** The file changed since the editor loaded it (another admin, a hand edit): load it again. */
export class StaleConfigError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super("the configuration file was changed since it was loaded; load it again and repeat the edit");
    this.name = "StaleConfigError";
  }
}

/** The edit would leave an invalid config (or could not be made): every problem with its path. Nothing was written. */
export class InvalidConfigError extends Error {
  constructor(readonly problems: { path: string; message: string }[]) {
    super(`the configuration is not valid: ${problems.map((p) => `${p.path || "(root)"}: ${p.message}`).join("; ")}`);
    this.name = "InvalidConfigError";
  }
}

/** The file was valid but the daemon refused it (e.g. agents did not compile); the previous file is back. */
export class ConfigApplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigApplyError";
  }
}

export interface ConfigSnapshot {
  /** The real path (symlinks resolved), so the atomic rename replaces the file, not the link. */
  file: string;
  text: string;
  /** sha256 of the text, hex. */
  version: string;
  /** The file's content as plain data: what the admin wrote, without defaults. */
  raw: Record<string, unknown>;
  /** The validated config with defaults; absent when the file has problems now. */
  config?: Config;
  problems: ConfigProblem[];
}

export interface PlannedEdit {
  text: string;
  version: string;
  config: Config;
  /** Paths whose value changed, e.g. "routing.windows[0].weekly.mon[1]" (secrets by path only, never a value). */
  changed: string[];
}

export interface ApplyResult {
  version: string;
  restartNeeded: string[];
}

export function configFileVersion(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export function readConfigFile(file: string): ConfigSnapshot {
  const real = realpathSync(file);
  const text = readFileSync(real, "utf8");
  let config: Config | undefined;
  let problems: ConfigProblem[] = [];
  try {
    config = parseConfig(text, file);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems = e.problems;
  }
  const doc = parseDocument(text);
  const js: unknown = doc.errors.length === 0 ? doc.toJS() : undefined;
  return { file: real, text, version: configFileVersion(text), raw: isPlainObject(js) ? js : {}, config, problems };
}

/** "routing.windows[0]", "agents.2.knowledge" -> ["routing", "windows", 0] ...; the first part must be a section. */
export function parseConfigPath(text: string, sections: readonly string[] = configSections): ConfigPath {
  const path: ConfigPath = [];
  for (const part of text.split(".")) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m || (m[1] === "" && (path.length === 0 || m[2] === "")))
      throw new InvalidConfigError([{ path: text, message: "not a path" }]);
    if (m[1] !== "") path.push(/^\d+$/.test(m[1]!) ? Number(m[1]) : m[1]!);
    for (const i of m[2]!.matchAll(/\[(\d+)\]/g)) path.push(Number(i[1]));
  }
  if (typeof path[0] !== "string" || !sections.includes(path[0]))
    throw new InvalidConfigError([
      { path: text, message: `no section "${path[0]}" (sections: ${configSections.join(", ")})` },
    ]);
  return path;
}

const SECRET_KEY = /(password|secret|token|apikey|privatekey|authorization)$/i;

/**
 * Where a secret lives: any key named like password/secret/token/apiKey/privateKey/authorization
 * (trunks[].password, actions[].webhook.secret, actions[].mail.password, ...) and every webhook header value
 * (Authorization, API keys under any name). A bare `key` is not one: menu options use it for the DTMF key.
 */
export function isSecretPath(path: readonly (string | number)[]): boolean {
  const last = path[path.length - 1];
  if (typeof last === "string" && SECRET_KEY.test(last)) return true;
  return path.length === 5 && path[0] === "actions" && path[2] === "webhook" && path[3] === "headers";
}

/** The value with every secret below `path` replaced by "********" (empty secrets stay empty: nothing to hide). */
export function redactSecrets(value: unknown, path: ConfigPath = []): unknown {
  if (isSecretPath(path) && value !== undefined && value !== null && value !== "") return REDACTED;
  if (Array.isArray(value)) return value.map((v, i) => redactSecrets(v, [...path, i]));
  if (isPlainObject(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v, [...path, k])]));
  return value;
}

export function getIn(value: unknown, path: readonly (string | number)[]): unknown {
  let v = value;
  for (const seg of path) {
    if (Array.isArray(v) && typeof seg === "number") v = v[seg];
    else if (isPlainObject(v) && typeof seg === "string") v = v[seg];
    else return undefined;
  }
  return v;
}

/**
 * Plans replacing the value at `path` (undefined or null removes it): restores secrets sent back as "********",
 * renders the new text and validates the whole file. Throws InvalidConfigError; writes nothing.
 */
export function planEdit(snap: ConfigSnapshot, path: ConfigPath, value: unknown): PlannedEdit {
  const syntax = snap.problems.filter((p) => p.message.startsWith("YAML syntax"));
  if (syntax.length) throw new InvalidConfigError(syntax.map(({ path, message }) => ({ path, message })));
  const section = path[0];
  // An unknown top-level key (a typo in a hand edit) can only be removed.
  const removable =
    path.length === 1 && (value === null || value === undefined) && Object.hasOwn(snap.raw, section ?? "");
  if (typeof section !== "string" || !(configSections.includes(section) || removable))
    throw new InvalidConfigError([{ path: formatPath(path), message: "not a section of the configuration" }]);
  if (depthOf(value) > MAX_DEPTH)
    throw new InvalidConfigError([{ path: formatPath(path), message: `nested deeper than ${MAX_DEPTH} levels` }]);
  const problems: { path: string; message: string }[] = [];
  const restored = restoreSecrets(prune(value), getIn(snap.raw, path), path, problems);
  if (problems.length) throw new InvalidConfigError(problems);
  const nextRaw = setIn(structuredClone(snap.raw), path, restored);
  const text = renderEdit(snap.text, section, nextRaw[section], nextRaw);
  let config: Config;
  try {
    config = parseConfig(text, snap.file);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    // Line numbers would point into a text that is not on disk: paths only.
    throw new InvalidConfigError(e.problems.map(({ path, message }) => ({ path, message })));
  }
  const changed: string[] = [];
  changedPaths(snap.raw[section], nextRaw[section], [section], changed);
  return { text, version: configFileVersion(text), config, changed };
}

/**
 * Writes a planned edit and applies it: the file is checked against the snapshot once more, the old text goes to
 * <file>.bak, the new one replaces the file atomically. When `apply` throws, the old file is put back.
 */
export function commitEdit<R>(snap: ConfigSnapshot, plan: PlannedEdit, apply: (config: Config) => R): R {
  const now = configFileVersion(readFileSync(snap.file, "utf8"));
  if (now !== snap.version) throw new StaleConfigError(snap.version, now);
  const mode = statSync(snap.file).mode & 0o777;
  writeFileAtomic(`${snap.file}.bak`, snap.text, mode);
  writeFileAtomic(snap.file, plan.text, mode);
  try {
    return apply(plan.config);
  } catch (e) {
    writeFileAtomic(snap.file, snap.text, mode);
    throw new ConfigApplyError((e as Error).message);
  }
}

export interface EditOutcome extends PlannedEdit {
  /** The daemon's answer; absent when the edit changed nothing (no write, no reload). */
  applied?: ApplyResult;
}

/** Read, check the version, plan, write, apply: the one path every web edit of the config takes. */
export function editConfigFile(
  file: string,
  path: ConfigPath,
  value: unknown,
  opts: { version?: string; apply(config: Config): ApplyResult },
): EditOutcome {
  const snap = readConfigFile(file);
  if (opts.version !== undefined && opts.version !== snap.version)
    throw new StaleConfigError(opts.version, snap.version);
  const plan = planEdit(snap, path, value);
  if (plan.text === snap.text) return plan;
  return { ...plan, applied: commitEdit(snap, plan, opts.apply) };
}

/** Temp file in the same directory, fsync, rename over the target, fsync the directory. */
export function writeFileAtomic(file: string, text: string, mode = 0o600): void {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = openSync(tmp, "wx", mode);
  try {
    fchmodSync(fd, mode); // the umask may have narrowed it
    writeFileSync(fd, text);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  let dirFd: number | undefined;
  try {
    dirFd = openSync(dir, "r");
    fsyncSync(dirFd);
  } catch {
    // some file systems cannot sync a directory; the rename itself is still atomic
  } finally {
    if (dirFd !== undefined) closeSync(dirFd);
  }
}

/** Far deeper than any config (a flow node sits at depth 6); a request body cannot make the walks below overflow. */
const MAX_DEPTH = 40;

function depthOf(value: unknown, depth = 0): number {
  if (depth > MAX_DEPTH || typeof value !== "object" || value === null) return depth;
  let max = depth;
  for (const v of Object.values(value)) max = Math.max(max, depthOf(v, depth + 1));
  return max;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A null (or undefined) in a map means "remove this key", so the web page can clear an optional field. */
function prune(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(prune);
  if (isPlainObject(value))
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== null && v !== undefined)
        .map(([k, v]) => [k, prune(v)]),
    );
  return value === null ? undefined : value;
}

/** List entries with an `id` find their stored counterpart by id, so deleting a trunk cannot shift passwords. */
function counterpart(stored: unknown, next: unknown, index: number): unknown {
  if (!Array.isArray(stored)) return undefined;
  const id = isPlainObject(next) ? next.id : undefined;
  if (typeof id === "string") return stored.find((s) => isPlainObject(s) && s.id === id);
  return stored[index];
}

function restoreSecrets(
  next: unknown,
  stored: unknown,
  path: ConfigPath,
  problems: { path: string; message: string }[],
): unknown {
  if (next === REDACTED && isSecretPath(path)) {
    if (stored !== undefined && stored !== null && stored !== "") return stored;
    problems.push({ path: formatPath(path), message: "no stored secret to keep here: enter the value itself" });
    return next;
  }
  if (Array.isArray(next))
    return next.map((v, i) => restoreSecrets(v, counterpart(stored, v, i), [...path, i], problems));
  if (isPlainObject(next))
    return Object.fromEntries(
      Object.entries(next).map(([k, v]) => [
        k,
        restoreSecrets(v, isPlainObject(stored) ? stored[k] : undefined, [...path, k], problems),
      ]),
    );
  return next;
}

/** Sets (or with undefined removes) the value at `path`, creating maps and lists on the way. */
function setIn(root: Record<string, unknown>, path: ConfigPath, value: unknown): Record<string, unknown> {
  let container: unknown = root;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const last = i === path.length - 1;
    const where = formatPath(path.slice(0, i + 1));
    if (Array.isArray(container)) {
      if (typeof seg !== "number") throw new InvalidConfigError([{ path: where, message: "is a list: use an index" }]);
      if (seg > container.length)
        throw new InvalidConfigError([{ path: where, message: `the list has ${container.length} entries` }]);
      if (last) {
        if (value === undefined) container.splice(seg, 1);
        else container[seg] = value;
        return root;
      }
      container[seg] ??= typeof path[i + 1] === "number" ? [] : {};
      container = container[seg];
    } else if (isPlainObject(container)) {
      if (typeof seg !== "string") throw new InvalidConfigError([{ path: where, message: "is a map: use a key" }]);
      if (last) {
        if (value === undefined) delete container[seg];
        else container[seg] = value;
        return root;
      }
      if (container[seg] === undefined || container[seg] === null)
        container[seg] = typeof path[i + 1] === "number" ? [] : {};
      container = container[seg];
    } else {
      throw new InvalidConfigError([{ path: formatPath(path.slice(0, i)), message: "is neither a map nor a list" }]);
    }
  }
  throw new InvalidConfigError([{ path: "", message: "the whole file cannot be replaced; edit a section" }]);
}

const MAX_CHANGED = 100;

function changedPaths(a: unknown, b: unknown, path: ConfigPath, out: string[]): void {
  if (out.length >= MAX_CHANGED || isDeepStrictEqual(a, b)) return;
  if (isPlainObject(a) && isPlainObject(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) changedPaths(a[k], b[k], [...path, k], out);
  } else if (Array.isArray(a) && Array.isArray(b)) {
    // Entries with an id are compared by id, so deleting one entry names that entry, not every one after it.
    const idOf = (v: unknown) => (isPlainObject(v) && typeof v.id === "string" ? v.id : undefined);
    const byId = new Map(a.map((v, i) => [idOf(v), i] as const).filter(([id]) => id !== undefined));
    const seen = new Set<number>();
    b.forEach((v, i) => {
      const j = idOf(v) === undefined ? (byId.size === 0 && i < a.length ? i : undefined) : byId.get(idOf(v));
      if (j !== undefined) seen.add(j);
      changedPaths(j === undefined ? undefined : a[j], v, [...path, i], out);
    });
    a.forEach((v, j) => {
      if (!seen.has(j) && out.length < MAX_CHANGED)
        out.push(`${formatPath([...path, j])} (removed${idOf(v) ? ` ${idOf(v)}` : ""})`);
    });
  } else out.push(formatPath(path));
}

// lineWidth 0: never fold long greetings or flow lists onto several lines.
const RENDER = { lineWidth: 0 } as const;

/** The text with `section` replaced by `next` (undefined removes it); `expected` is what the result must parse to. */
function renderEdit(text: string, section: string, next: unknown, expected: Record<string, unknown>): string {
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

interface Splice {
  start: number;
  end: number;
  text: string;
}

function applySplices(text: string, edits: Splice[]): string {
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
function spliceNode(doc: Document, text: string, node: unknown, value: unknown, inFlow: boolean, edits: Splice[]) {
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

/**
 * Which stored entry each new list entry continues (-1: a new one): the same id, else an identical entry, else the
 * entry at the same index when nothing else claimed it. Deleting one entry thus deletes one, not shifts the rest.
 */
function matchItems(doc: Document, old: readonly unknown[], value: readonly unknown[]): number[] {
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

/** Whether most flow collections in the text are written "{ a: 1 }" rather than "{a: 1}". */
function paddedMostly(text: string): boolean {
  const padded = text.match(/[[{] (?=\S)/g)?.length ?? 0;
  const tight = text.match(/[[{](?=[^\s\]}])/g)?.length ?? 0;
  return padded >= tight;
}

/** A node alone as YAML, without the comment lines before it (they stay in the text around it). */
function renderNode(node: Node, padding: boolean): string {
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
function renderPair(key: string, value: Node): string {
  const map = new YAMLMap();
  map.items.push(new Pair(new Scalar(key), value));
  const doc = new Document();
  doc.contents = map;
  return doc.toString(RENDER);
}

const nodeId = (n: unknown): unknown => (isMap(n) ? n.get("id") : undefined);

/** The node made to hold `value`, reusing what is unchanged so comments and styles inside survive. */
function patchNode(doc: Document, node: unknown, value: unknown): Node {
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
