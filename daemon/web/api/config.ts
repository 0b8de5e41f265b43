// The configuration as the web page edits it: read a section (secrets shown as "********"), validate a draft, and
// save one section through config-file.ts (whole-file validation, atomic write with .bak, version check against
// concurrent edits), then hot reload it for the calls that start from now on.
import { z } from "zod";
import {
  type ApplyResult,
  type EditOutcome,
  editConfigFile,
  planEdit,
  readConfigFile,
} from "../../config/config-file.ts";
import { type ConfigPath, configSections, getIn, parseConfigPath } from "../../config/config-path.ts";
import { ConfigApplyError, InvalidConfigError, StaleConfigError } from "../../config/edit-errors.ts";
import { formatPath } from "../../config/load.ts";
import type { Config } from "../../config/schema.ts";
import { redactSecrets } from "../../config/secrets-mask.ts";
import { HttpError, type Route, type RouteContext, route } from "../route.ts";

export interface ConfigApiDeps {
  /** The YAML file the daemon was started with (SIGHUP re-reads the same file). */
  configFile: string;
  /** The running configuration. */
  current(): Config;
  /** The daemon's hot reload; throws (nothing changed) when the config cannot be taken, e.g. agents do not compile. */
  apply(next: Config): ApplyResult;
}

const problemSchema = z.object({ path: z.string(), message: z.string() });
const version = z
  .string()
  .regex(/^[0-9a-f]{64}$/, "the version from GET /api/config")
  .describe("sha256 of the file as loaded; a stale one is answered with 409");

/** The section (or a path inside it) named in the URL: "routing", "routing.windows[0]", "agents.2.knowledge". */
export function sectionPath(text: string, extra: readonly string[] = []): ConfigPath {
  try {
    return parseConfigPath(text, [...configSections, ...extra]);
  } catch (e) {
    if (e instanceof InvalidConfigError) throw new HttpError(404, e.problems[0]!.message, "path.section");
    throw e;
  }
}

/** Config-file errors as the API answers them: 409 stale, 422 invalid or refused by the daemon. */
export function configHttpError(e: unknown, where: string): unknown {
  if (e instanceof StaleConfigError) return new HttpError(409, e.message, "version");
  if (e instanceof InvalidConfigError)
    return new HttpError(422, "the configuration would not be valid", e.problems[0]?.path, e.problems);
  if (e instanceof ConfigApplyError)
    return new HttpError(
      422,
      `the daemon did not take the configuration (the previous file is back in place): ${e.message}`,
      where,
      [{ path: where, message: e.message }],
    );
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "EACCES" || code === "EROFS" || code === "ENOSPC")
    return new HttpError(500, `the configuration file cannot be read or written (${code})`, "configFile");
  return e;
}

/** The one way the API writes the config: edit, reload, audit "config.update" (paths only, never values). */
export function saveConfig(
  deps: Pick<ConfigApiDeps, "configFile" | "apply">,
  ctx: Pick<RouteContext, "audit">,
  path: ConfigPath,
  value: unknown,
  opts: { version?: string; detail?: Record<string, unknown> } = {},
): EditOutcome {
  const target = formatPath(path);
  let out: EditOutcome;
  try {
    out = editConfigFile(deps.configFile, path, value, { version: opts.version, apply: deps.apply });
  } catch (e) {
    throw configHttpError(e, target);
  }
  if (out.applied)
    ctx.audit({
      action: "config.update",
      target,
      detail: { changed: out.changed, restartNeeded: out.applied.restartNeeded, ...opts.detail },
    });
  return out;
}

function snapshot(file: string) {
  try {
    return readConfigFile(file);
  } catch (e) {
    throw configHttpError(e, "configFile");
  }
}

/** `If-Match: "<version>"` works as well as `version` in the body. */
function ifMatch(ctx: RouteContext): string | undefined {
  const h = ctx.req?.headers?.["if-match"];
  return typeof h === "string" ? h.replace(/^W\//, "").replace(/^"|"$/g, "") : undefined;
}

export function configRoutes(deps: ConfigApiDeps): Route[] {
  return [
    route({
      method: "GET",
      path: "/api/config",
      access: "admin",
      summary: "The configuration file (as written and with defaults), secrets as ********",
      tag: "config",
      response: z.object({
        version,
        config: z.record(z.string(), z.unknown()).describe("what the file says, without defaults"),
        effective: z.record(z.string(), z.unknown()).optional().describe("validated, with defaults"),
        problems: z.array(problemSchema).optional().describe("when the file on disk has problems (a hand edit)"),
      }),
      handle: (ctx) => {
        const snap = snapshot(deps.configFile);
        ctx.res?.setHeader("etag", `"${snap.version}"`);
        return {
          version: snap.version,
          config: redactSecrets(snap.raw),
          ...(snap.config && { effective: redactSecrets(snap.config) }),
          ...(snap.problems.length > 0 && { problems: snap.problems.map(({ path, message }) => ({ path, message })) }),
        };
      },
    }),
    route({
      method: "GET",
      path: "/api/config/:section",
      access: "admin",
      summary: "One section (or a path inside it, e.g. routing.windows[0]), secrets as ********",
      tag: "config",
      response: z.object({ version, value: z.unknown(), effective: z.unknown().optional() }),
      handle: (ctx) => {
        const path = sectionPath(ctx.params.section!);
        const snap = snapshot(deps.configFile);
        ctx.res?.setHeader("etag", `"${snap.version}"`);
        return {
          version: snap.version,
          value: redactSecrets(getIn(snap.raw, path), path) ?? null,
          ...(snap.config && { effective: redactSecrets(getIn(snap.config, path), path) ?? null }),
        };
      },
    }),
    route<unknown, { value?: unknown; version?: string }>({
      method: "PUT",
      path: "/api/config/:section",
      access: "admin",
      summary: "Replace a section (null removes it); validated whole, written atomically (.bak kept), hot reloaded",
      tag: "config",
      body: z
        .object({
          value: z.unknown().describe('the new value; "********" keeps a stored secret; null removes'),
          version: version.optional().describe("or send If-Match"),
        })
        .strict(),
      response: z.object({
        version,
        restartNeeded: z.array(z.string()).describe("sections that only take effect after a restart"),
        configVersion: z.string().optional().describe("the running config's version after the reload"),
        changed: z.array(z.string()),
      }),
      handle: (ctx) => {
        // A key the schema does not know (a typo in a hand edit) may be removed with null.
        const typos = ctx.body.value === null ? Object.keys(snapshot(deps.configFile).raw) : [];
        const path = sectionPath(ctx.params.section!, typos);
        if (ctx.body.value === undefined)
          throw new HttpError(400, "value is required (null removes the section)", "body.value");
        const expected = ctx.body.version ?? ifMatch(ctx);
        if (expected === undefined)
          throw new HttpError(428, "send the version you loaded (body.version or If-Match)", "version");
        const out = saveConfig(deps, ctx, path, ctx.body.value, { version: expected });
        ctx.res?.setHeader("etag", `"${out.version}"`);
        return {
          version: out.version,
          restartNeeded: out.applied?.restartNeeded ?? [],
          ...(out.applied && { configVersion: out.applied.version }),
          changed: out.changed,
        };
      },
    }),
    route<unknown, { section: string; value?: unknown }>({
      method: "POST",
      path: "/api/config/validate",
      access: "admin",
      summary: "Check a draft of a section against the whole config without saving it",
      tag: "config",
      body: z.object({ section: z.string().min(1).max(200), value: z.unknown() }).strict(),
      response: z.object({ problems: z.array(problemSchema), changed: z.array(z.string()) }),
      handle: (ctx) => {
        const path = sectionPath(ctx.body.section);
        const snap = snapshot(deps.configFile);
        try {
          return { problems: [], changed: planEdit(snap, path, ctx.body.value ?? null).changed };
        } catch (e) {
          if (e instanceof InvalidConfigError) return { problems: e.problems, changed: [] };
          throw configHttpError(e, formatPath(path));
        }
      },
    }),
  ];
}
