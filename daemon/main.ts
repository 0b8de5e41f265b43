// Composition root: open the store, start media and SIP, route every offered call to the flow engine (or the demo
// line when no routing is configured), expose
// metrics, and tear all of it down in order on shutdown. No call logic lives here.
import type { Server } from "node:http";
import { join, resolve } from "node:path";
import { CallRegistry } from "./calls/call-registry.ts";
import { CallRejected, CallSession } from "./calls/call-session.ts";
import { type DemoDeps, runDemoLine, warmDemoPrompts } from "./calls/demo-line.ts";
import { agentsFor, type FlowLineDeps, runFlowLine } from "./calls/flow-line.ts";
import { QueueDesk } from "./calls/queue-desk.ts";
import { CallOutcomes } from "./store/call-outcomes.ts";
import { Outbox } from "./store/outbox.ts";
import { bindActions } from "./flow/actions/registry.ts";

import type { Config } from "./config/schema.ts";
import { MediaEngine } from "./media/engine.ts";
import type { Log } from "./ops/log.ts";
import { type MetricSample, processMetrics, startMetricsServer } from "./ops/metrics.ts";
import { SipEndpoint } from "./sip/endpoint.ts";
import { loadSpeechEngines } from "./speech/engines.ts";
import { ModelStore } from "../models/store.ts";
import type { InboundCall, SipAddress } from "./sip/types.ts";
import { CallRecords } from "./store/calls.ts";
import { closeDb, openDb } from "./store/db.ts";
import { applyRetention } from "./store/retention.ts";

export interface RunningDaemon {
  sip: SipAddress[];
  metricsUrl?: string;
  stop(): Promise<void>;
}

export async function startDaemon(config: Config, opts: { dataDir: string; log: Log }): Promise<RunningDaemon> {
  const { log } = opts;
  const dataDir = resolve(opts.dataDir);
  const db = openDb(join(dataDir, "switchboard.db"));
  const cdr = new CallRecords(db);
  const voicemailDir = join(dataDir, "voicemail");
  const orphans = cdr.closeOrphans(Date.now());
  if (orphans > 0) log.warn({ orphans }, "closed call records left open by an earlier run");
  const retention = () =>
    applyRetention(db, config.store.retentionDays, { filesOf: (id) => [join(voicemailDir, `${id}.wav`)] }).then(
      (r) => r.deleted + r.failed > 0 && log.info(r, "retention applied"),
      (e: Error) => log.error({ err: e.message }, "retention failed"),
    );
  void retention();
  const retentionTimer = setInterval(retention, 86_400_000).unref();

  const models = new ModelStore({
    dataDir,
    searchPaths: config.models.searchPaths,
    log: log.child({ part: "models" }),
  });
  const speech = await loadSpeechEngines(config.speech, { dataDir, store: models, log: log.child({ part: "speech" }) });
  void warmDemoPrompts(speech, config, log);
  const media = await MediaEngine.start({ media: config.media, log: log.child({ part: "media" }) });
  const sip = new SipEndpoint({ sip: config.sip, trunks: config.trunks, log: log.child({ part: "sip" }) });
  const registry = new CallRegistry(config.limits.maxCalls);
  const deps: DemoDeps = {
    config,
    media,
    cdr,
    log,
    recordingsDir: config.recording.dir ? resolve(config.recording.dir) : join(dataDir, "recordings"),
    voicemailDir,
    speech,
    dial: (o) => sip.invite(o),
  };

  // Actions of every config version go through one durable outbox: at-least-once, retried, never lost on restart.
  const outbox = new Outbox(db, { log: log.child({ part: "outbox" }) });
  const runAction = bindActions(outbox, config.actions);
  outbox.start();
  const queues = new QueueDesk(() => deps, log.child({ part: "queues" }));
  queues.configure(config.queues);
  const flowDeps: FlowLineDeps | undefined = config.routing
    ? {
        ...deps,
        recordAfterConsent: true,
        outcomes: new CallOutcomes(db),
        agents: () => agentsFor(config),
        action: runAction,
        queues,
      }
    : undefined;
  if (flowDeps) agentsFor(config); // train the intents now, not during the first call

  sip.on("call", (leg: InboundCall) => {
    registry.offered++;
    const refused = registry.admission();
    if (refused) return CallSession.refuse(leg, deps, refused.status, refused.reason);
    CallSession.answer(leg, flowDeps ?? deps).then(
      (call) => {
        registry.add(call);
        (flowDeps ? runFlowLine(call, flowDeps) : runDemoLine(call, deps))
          .catch((e: Error) => call.log.error({ err: e.message, stack: e.stack }, "call app failed"))
          .finally(() => void call.hangup("box", "app finished"));
      },
      (e: Error) => {
        const level = e instanceof CallRejected ? "info" : "error";
        log[level]({ callId: leg.info.callId, err: e.message }, "call not answered");
      },
    );
  });

  // Registration states are logged by the SIP layer itself (sip/registration.ts).
  let sipAddresses: SipAddress[];
  let metrics: { server: Server; url: string } | undefined;
  try {
    sipAddresses = await sip.start().catch((e: Error) => Promise.reject(new Error(`cannot start SIP: ${e.message}`)));
    if (config.metrics.enabled) {
      const { address, port } = config.metrics;
      metrics = await startMetricsServer(
        address,
        port,
        [processMetrics, () => callMetrics(registry), () => mediaMetrics(media), () => registrationMetrics(sip)],
        () => ({ ok: true, detail: { activeCalls: registry.size, speech: speech.status } }),
      ).catch((e: Error) => Promise.reject(new Error(`cannot start metrics on ${address}:${port}: ${e.message}`)));
    }
  } catch (e) {
    // e.g. a port is taken: undo what was started so the process can exit with a clear message
    clearInterval(retentionTimer);
    await outbox.stop();
    await sip.stop().catch(() => undefined);
    await media.stop();
    closeDb(db);
    throw e;
  }

  log.info({ sip: sipAddresses, metricsUrl: metrics?.url, dataDir }, "ready");

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      log.info({ activeCalls: registry.size }, "shutting down");
      clearInterval(retentionTimer);
      sip.setAccepting(false);
      queues.close();
      await registry.drain(5000);
      await sip.stop();
      await media.stop();
      await outbox.stop();
      await new Promise<void>((r) => (metrics ? metrics.server.close(() => r()) : r()));
      closeDb(db);
      log.info("stopped");
    })();
    return stopping;
  };
  return { sip: sipAddresses, metricsUrl: metrics?.url, stop };
}

function callMetrics(registry: CallRegistry): MetricSample[] {
  return [
    { name: "switchboard_calls_active", help: "Calls in progress.", type: "gauge", value: registry.size },
    { name: "switchboard_calls_total", help: "Calls offered since start.", type: "counter", value: registry.offered },
    {
      name: "switchboard_calls_answered_total",
      help: "Calls answered since start.",
      type: "counter",
      value: registry.answered,
    },
  ];
}

async function mediaMetrics(media: MediaEngine): Promise<MetricSample[]> {
  const s = await media.stats();
  const help = "RTP send lateness against the 20 ms media clock, ms.";
  return [
    { name: "switchboard_media_sessions", help: "Open RTP sessions.", type: "gauge", value: s.sessions },
    {
      name: "switchboard_media_lateness_ms",
      help,
      type: "gauge",
      value: s.latenessP50Ms,
      labels: { quantile: "0.5" },
    },
    {
      name: "switchboard_media_lateness_ms",
      help,
      type: "gauge",
      value: s.latenessP99Ms,
      labels: { quantile: "0.99" },
    },
    {
      name: "switchboard_media_lateness_max_ms",
      help: "Worst send lateness, ms.",
      type: "gauge",
      value: s.latenessMaxMs,
    },
    { name: "switchboard_media_ticks_total", help: "Media clock ticks.", type: "counter", value: s.ticks },
    {
      name: "switchboard_media_frames_missed_total",
      help: "Frames that were due but not sent.",
      type: "counter",
      value: s.framesMissed,
    },
  ];
}

function registrationMetrics(sip: SipEndpoint): MetricSample[] {
  return [...sip.registrations.values()].map((r) => ({
    name: "switchboard_trunk_registered",
    help: "1 when the trunk registration is active.",
    type: "gauge" as const,
    value: r.state === "registered" ? 1 : 0,
    labels: { trunk: r.trunkId },
  }));
}
