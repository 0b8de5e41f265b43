// Reads a YAML config file and validates it against the one schema. Every problem is reported with its YAML path
// and file:line:column so an installer can fix all of them in one go.
import { readFileSync } from "node:fs";
import { isNode, LineCounter, parseDocument } from "yaml";
import { type Config, configSchema } from "./schema.ts";

export interface ConfigProblem {
  /** Dotted YAML path, e.g. `trunks[0].password`. */
  path: string;
  message: string;
  /** 1-based line and column in the file, when the path exists there. */
  line?: number;
  column?: number;
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(`${file}: ${problems.length} problem(s)\n${problems.map((p) => formatProblem(file, p)).join("\n")}`);
    this.name = "ConfigError";
  }
}

export function formatProblem(file: string, p: ConfigProblem): string {
  const where = p.line ? `${file}:${p.line}:${p.column}` : file;
  return `  ${where}  ${p.path || "(root)"}: ${p.message}`;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) out += typeof seg === "number" ? `[${seg}]` : out ? `.${String(seg)}` : String(seg);
  return out;
}

/** Parse and validate YAML text; `file` is only used in messages. */
export function parseConfig(text: string, file = "<config>"): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { path: "", message: `YAML syntax: ${e.message.split("\n")[0]}`, line: pos?.line, column: pos?.col };
      }),
    );
  }
  const raw = doc.toJS() ?? {};
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  // An unknown key is reported at the key itself (typos are the most common mistake), one problem per key.
  const issues = result.error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((k) => ({ path: [...issue.path, k], message: "unknown key (typo?)" }))
      : [{ path: issue.path, message: issue.message }],
  );
  const problems = issues.map((issue): ConfigProblem => {
    const path = issue.path.filter((s): s is string | number => typeof s !== "symbol");
    // Point at the deepest node that exists in the file (a missing key points at its parent).
    let node: unknown;
    for (let n = path.length; n >= 0 && !isNode(node); n--) node = doc.getIn(path.slice(0, n), true);
    const offset = isNode(node) ? node.range?.[0] : undefined;
    const pos = offset === undefined ? undefined : lines.linePos(offset);
    return { path: formatPath(path), message: issue.message, line: pos?.line, column: pos?.col };
  });
  throw new ConfigError(file, problems);
}

export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(file, [{ path: "", message: `cannot read file: ${(e as Error).message}` }]);
  }
  return parseConfig(text, file);
}
