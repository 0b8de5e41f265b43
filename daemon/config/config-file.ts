// The config file as a document the web page edits. One section (or a path inside it) is replaced at a time; the
// whole resulting file is validated with the one schema before anything is written, the file is replaced atomically
// with the previous one kept as <file>.bak, and a version (sha256 of the text) stops two admins from overwriting
// each other. The text itself is edited by yaml-edit.ts (comments and layout kept), secrets by secrets-mask.ts.
import { createHash } from "node:crypto";
import { readFileSync, realpathSync, statSync } from "node:fs";
import { parseDocument } from "yaml";
import { writeFileAtomic } from "./atomic-write.ts";
import { type ConfigPath, changedPaths, configSections, getIn, isPlainObject, setIn } from "./config-path.ts";
import { ConfigApplyError, InvalidConfigError, StaleConfigError } from "./edit-errors.ts";
import { ConfigError, type ConfigProblem, formatPath, parseConfig } from "./load.ts";
import type { Config } from "./schema.ts";
import { restoreSecrets } from "./secrets-mask.ts";
import { renderEdit } from "./yaml-edit.ts";

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

/** Far deeper than any config (a flow node sits at depth 6); a request body cannot make the walks below overflow. */
const MAX_DEPTH = 40;

function depthOf(value: unknown, depth = 0): number {
  if (depth > MAX_DEPTH || typeof value !== "object" || value === null) return depth;
  let max = depth;
  for (const v of Object.values(value)) max = Math.max(max, depthOf(v, depth + 1));
  return max;
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
