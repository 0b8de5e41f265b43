// GET /api/system and /api/system/logs: the System page — software and config version, uptime, the box's health
// (CPU, temperature, memory, data disk, warnings), the speech engines in use, the model bundles on the box, and the
// recent log lines (from the in-memory ring, redacted like the log itself).
import { readFileSync } from "node:fs";
import { z } from "zod";
import type { ListedName } from "../../../models/store.ts";
import type { HealthReport } from "../../ops/health.ts";
import { LOG_LEVELS, type LogLine, type LogLevel } from "../../ops/log-ring.ts";
import { type Route, route } from "../route.ts";

export interface SystemDeps {
  /** The running config's version (main.ts: configVersion of the current config). */
  configVersion(): string;
  /** SpeechEngines.status: what each stage runs, or why it does not. */
  speech(): Record<"vad" | "denoiser" | "tts" | "asr", string>;
  models: { list(): Promise<ListedName[]> };
  /** HealthMonitor: the latest report, sampling once when there is none yet. */
  health: { readonly current: HealthReport | undefined; sample(): Promise<HealthReport> };
  /** The log ring (logRingOf(log)); no ring means no lines. */
  logs?: { recent(opts: { limit?: number; level?: LogLevel }): LogLine[] };
  /** Defaults to package.json's version. */
  version?: string;
  /** Seconds the daemon runs; defaults to the process's uptime. */
  uptimeS?(): number;
}

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

const healthSchema = z.object({
  at: z.number(),
  cpuLoadPct: z.number(),
  temperatureC: z.number().optional(),
  memUsedBytes: z.number(),
  memTotalBytes: z.number(),
  diskFreeBytes: z.number(),
  diskTotalBytes: z.number(),
  warnings: z.array(z.string()),
});

const modelSchema = z.object({
  task: z.string(),
  name: z.string(),
  version: z.string(),
  source: z.enum(["installed", "search-path", "built-in"]),
  language: z.string().optional(),
  /** The bundle is on the box but cannot be used (no active version, bad manifest). */
  error: z.string().optional(),
});
type ModelInfo = z.infer<typeof modelSchema>;

const systemSchema = z.object({
  version: z.string(),
  configVersion: z.string(),
  uptimeS: z.number(),
  health: healthSchema,
  speech: z.object({ vad: z.string(), denoiser: z.string(), tts: z.string(), asr: z.string() }),
  models: z.array(modelSchema),
});

const logsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(2000).default(200),
  /** The least severe level to show. */
  level: z.enum(LOG_LEVELS).optional(),
});

const logsSchema = z.object({
  items: z.array(
    z.object({
      time: z.number(),
      level: z.enum(LOG_LEVELS),
      part: z.string().optional(),
      msg: z.string(),
      detail: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
});

function modelInfo(e: ListedName): ModelInfo {
  const m = e.bundle?.manifest;
  if (!m) return { task: "unknown", name: e.name, version: "", source: e.source, error: e.error ?? "not usable" };
  const info: ModelInfo = { task: m.task, name: m.name, version: m.version, source: e.source };
  const languages = m.languages.filter((l) => l !== "*");
  if (languages.length) info.language = languages.join(", ");
  if (e.error) info.error = e.error;
  return info;
}

export function systemRoutes(deps: SystemDeps): Route[] {
  const version = deps.version ?? packageVersion();
  return [
    route({
      method: "GET",
      path: "/api/system",
      access: "admin",
      summary: "Version, uptime, health, speech engines and model bundles of the box",
      tag: "system",
      response: systemSchema,
      handle: async () => {
        const [health, listed] = await Promise.all([
          deps.health.current ?? deps.health.sample(),
          deps.models
            .list()
            .catch((e: Error): ListedName[] => [
              { name: "(model store)", source: "installed", dir: "", error: e.message },
            ]),
        ]);
        return {
          version,
          configVersion: deps.configVersion(),
          uptimeS: Math.round(deps.uptimeS?.() ?? process.uptime()),
          health,
          speech: { ...deps.speech() },
          models: listed.map(modelInfo),
        } satisfies z.infer<typeof systemSchema>;
      },
    }),
    route({
      method: "GET",
      path: "/api/system/logs",
      access: "admin",
      summary: "Recent log lines, newest first (secrets redacted as in the log)",
      tag: "system",
      query: logsQuery,
      response: logsSchema,
      handle: ({ query }) => ({ items: deps.logs?.recent({ limit: query.limit, level: query.level }) ?? [] }),
    }),
  ];
}
