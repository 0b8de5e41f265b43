// The API modules of the running daemon, each given only the parts of the daemon it reads. main.ts builds the parts;
// this file only plugs them in, so the list of what the web page can see and do is in one place.
import type { Config } from "../config/schema.ts";
import { UnansweredQuestions } from "../store/unanswered.ts";
import { callsRoutes } from "./api/calls.ts";
import { configRoutes } from "./api/config.ts";
import { eventsRoutes } from "./api/events.ts";
import { exportsRoutes } from "./api/exports.ts";
import { flowGraphRoutes } from "./api/flow-graph.ts";
import { gdprRoutes } from "./api/gdpr.ts";
import { knowledgeRoutes } from "./api/knowledge.ts";
import { kpisRoutes } from "./api/kpis.ts";
import { type LiveDeps, liveRoutes, liveSnapshot } from "./api/live.ts";
import { routingRoutes } from "./api/routing.ts";
import { softphoneRoutes } from "./api/softphone.ts";
import { type SystemDeps, systemRoutes } from "./api/system.ts";
import type { EventHub } from "./live-events.ts";
import type { Route } from "./route.ts";
import type { WebDeps } from "./routes.ts";
import type { Softphone } from "./softphone/softphone.ts";

export interface DaemonWebDeps extends WebDeps {
  /** The YAML file the daemon was started with; without one (embedded use) the config cannot be edited. */
  configFile?: string;
  reload(next: Config): { version: string; restartNeeded: string[] };
  recordingsDir: string;
  voicemailDir: string;
  hub: EventHub;
  live: LiveDeps;
  system: SystemDeps;
  softphone?: Softphone;
}

export function daemonRoutes(deps: DaemonWebDeps): Route[] {
  const { db } = deps;
  const timeZone = () => deps.config().routing?.timeZone ?? "Europe/Berlin";
  const calls = { db, timeZone, recordingsDir: deps.recordingsDir, voicemailDir: deps.voicemailDir };
  const out: Route[] = [
    ...callsRoutes(calls),
    ...exportsRoutes(calls),
    ...gdprRoutes(calls),
    ...kpisRoutes({ db, timeZone, now: deps.now }),
    ...liveRoutes(deps.live),
    ...eventsRoutes({ hub: deps.hub, snapshot: () => liveSnapshot(deps.live) }),
    ...systemRoutes(deps.system),
    ...routingRoutes({ current: deps.config, now: deps.now }),
  ];
  if (deps.configFile) {
    const cfg = { configFile: deps.configFile, current: deps.config, apply: (n: Config) => deps.reload(n) };
    out.push(
      ...configRoutes(cfg),
      ...flowGraphRoutes(cfg),
      ...knowledgeRoutes({ questions: new UnansweredQuestions(db), ...cfg }),
    );
  }
  if (deps.softphone) out.push(...softphoneRoutes({ softphone: deps.softphone }));
  return out;
}
