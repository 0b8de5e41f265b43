// Paths into the config as plain data ("routing.windows[0].weekly.mon[1]"): how the web page names what it edits,
// how an edit is applied to the data before any YAML is touched, and how the changes are named in the answer.
import { isDeepStrictEqual } from "node:util";
import { InvalidConfigError } from "./edit-errors.ts";
import { formatPath } from "./load.ts";
import { configSchema } from "./schema.ts";

export type ConfigPath = (string | number)[];

/** The top-level keys of the schema: the sections an admin can edit. */
export const configSections: readonly string[] = Object.keys(configSchema.shape);

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
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

export function getIn(value: unknown, path: readonly (string | number)[]): unknown {
  let v = value;
  for (const seg of path) {
    if (Array.isArray(v) && typeof seg === "number") v = v[seg];
    else if (isPlainObject(v) && typeof seg === "string") v = v[seg];
    else return undefined;
  }
  return v;
}

/** Sets (or with undefined removes) the value at `path`, creating maps and lists on the way. */
export function setIn(root: Record<string, unknown>, path: ConfigPath, value: unknown): Record<string, unknown> {
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

/** Appends to `out` the paths (at most 100) where `b` differs from `a`; removed list entries are named as such. */
export function changedPaths(a: unknown, b: unknown, path: ConfigPath, out: string[]): void {
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
