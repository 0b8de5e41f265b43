// Composition root: open the store, start media and SIP, route every offered call to the flow engine (or the demo
// line when no routing is configured), expose
// metrics, and tear all of it down in order on shutdown. No call logic lives here.
import { createHash } from "node:crypto";
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
import { loadSipTls } from "./sip/tls.ts";
import { TrunkStates } from "./sip/trunk-states.ts";
import { loadSpeechEngines, voiceGaps } from "./speech/engines.ts";
import { ModelStore } from "../models/store.ts";
import type { InboundCall, SipAddress } from "./sip/types.ts";
import { CallRecords } from "./store/calls.ts";
import { closeDb, openDb } from "./store/db.ts";
import { applyRetention } from "./store/retention.ts";
import { webRoutes } from "./web/routes.ts";
import { type DaemonWebDeps, daemonRoutes } from "./web/daemon-routes.ts";
import { EventHub, hubMetrics } from "./web/live-events.ts";
import { engineAddressFor, isBrowserTarget, Softphone } from "./web/softphone/softphone.ts";
import { wireLiveEvents } from "./web/live-wiring.ts";
import { HealthMonitor } from "./ops/health.ts";
import { SerialController } from "../hw/controller.ts";
import { dialOutThrough, Handset, isHandsetTarget } from "../hw/handset.ts";
import { startApplianceShell } from "./appliance-shell.ts";
import { DiskGuard } from "./ops/disk-guard.ts";
import { packageVersion } from "./web/api/system.ts";
import { logRingOf } from "./ops/log.ts";
import type { TranscriptEntry } from "./nlu/summary.ts";
import { UnansweredQuestions } from "./store/unanswered.ts";
import { type RunningWebServer, startWebServer } from "./web/server.ts";

export interface RunningDaemon {
  sip: SipAddress[];
  metricsUrl?: string;
  /** The admin web page (HTTPS), when enabled. */
  webUrl?: string;
  /**
   * Apply a new config to calls that start from now on (routing, agents, flows, actions, queues, demo); running calls
   * keep the version they started with. Parts bound at start (listeners, media, store, models) need a restart: they
   * are named in the result and keep their old values meanwhile. Throws (nothing changed) when agents do not compile.
   */
  reload(next: Config): { version: string; restartNeeded: string[] };
  /** The event loop and the media clock answer (the systemd watchdog pings only then). */
  healthy(): Promise<boolean>;
  stop(): Promise<void>;
}

/** Config sections bound once at start. */
const RESTART_KEYS = [
  "dataDir",
  "log",
  "sip",
  "media",
  "metrics",
  "store",
  "models",
  "speech",
  "recording",
  "limits",
  "web",
] as const;

/** A short content hash: the config version a call ran with, in its record. */
export function configVersion(c: Config): string {
  return createHash("sha256").update(JSON.stringify(c)).digest("hex").slice(0, 12);
}

export async function startDaemon(
  config: Config,
  opts: { dataDir: string; log: Log /** The YAML file (the web page edits it). */; configFile?: string },
): Promise<RunningDaemon> {
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
  // Always loaded, so any sips: or ;transport=tls target can be dialled; throws naming a bad cert/key/ca file.
  const sipTls = await loadSipTls(config.sip.tls, dataDir, log.child({ part: "sip" }));
  const sip = new SipEndpoint({
    sip: config.sip,
    trunks: config.trunks,
    log: log.child({ part: "sip" }),
    streams: { tls: sipTls.factory },
  });
  const registry = new CallRegistry(config.limits.maxCalls);
  // Live state for the web page (calls, queues, trunks, health) and its softphone: browsers are call legs too.
  const hub = new EventHub({ userGone: (user) => softphone.userLeft(user) });
  const softphone = new Softphone({
    publish: (event, data, o) => hub.publish(event, data, o),
    log: log.child({ part: "softphone" }),
    engineAddress: engineAddressFor(config.media.rtpAddress),
    hasAgent: (id) => agentsFor(current.config).has(id),
  });
  // The controller on the serial port: LEDs (appliance-shell.ts) and the handset, a human target like a browser.
  const controller = config.hw
    ? new SerialController({ path: config.hw.port, baudRate: config.hw.baudRate, log: log.child({ part: "hw" }) })
    : undefined;
  const handset = controller
    ? new Handset({
        device: controller,
        log: log.child({ part: "handset" }),
        engineAddress: engineAddressFor(config.media.rtpAddress),
        audioDevice: config.hw?.handset.audioDevice,
        dialOut: dialOutThrough(
          () => current.deps,
          () => config.hw?.handset.trunk ?? current.config.trunks[0]?.id,
        ),
      })
    : undefined;
  // No recording while the data disk is nearly full; calls stay up.
  const diskGuard = new DiskGuard(config.recording.diskGuard, log.child({ part: "disk" }));
  const deps: DemoDeps = {
    config,
    media,
    cdr,
    log,
    recordingsDir: config.recording.dir ? resolve(config.recording.dir) : join(dataDir, "recordings"),
    voicemailDir,
    speech,
    // Staff browsers ("browser:NAME") are rung by the softphone, the handset by itself, everything else through SIP.
    dial: (o) =>
      isBrowserTarget(o.target)
        ? softphone.dial(o)
        : handset && isHandsetTarget(o.target)
          ? handset.dial(o)
          : sip.invite(o),
    recordingGate: diskGuard,
  };

  // Actions of every config version go through one durable outbox: at-least-once, retried, never lost on restart.
  const outbox = new Outbox(db, { log: log.child({ part: "outbox" }), ...config.store.outbox });
  const outcomes = new CallOutcomes(db);
  const queues = new QueueDesk(() => deps, log.child({ part: "queues" }));
  const unanswered = new UnansweredQuestions(db);
  outbox.start();
  /** What a call gets when it starts: one config version, its agents (trained once) and its actions. */
  const versionOf = (c: Config) => {
    // Train the intents first (not during the first call): a broken agent throws here, before anything changed.
    const agents = c.routing ? [...agentsFor(c).values()] : [];
    // An agent whose language has no installed voice still works (with the default voice): say so at every version.
    for (const gap of voiceGaps(
      speech,
      agents.map((a) => ({ ...a.config, language: a.language })),
    ))
      log.warn({ gap }, "agent voice");
    const runAction = bindActions(outbox, c.actions);
    queues.configure(c.queues);
    const callDeps: DemoDeps = { ...deps, config: c };
    const flowDeps: FlowLineDeps | undefined = c.routing
      ? {
          ...callDeps,
          recordAfterConsent: true,
          outcomes,
          agents: () => agentsFor(c),
          action: runAction,
          queues,
          // The dashboard's live view: the agent a call is with, and the transcript as it happens (to staff pages).
          live: {
            setAgent: (id: string, agent: string) => registry.setAgent(id, agent),
            transcript: (callId: string, e: TranscriptEntry) => hub.publish("transcript", { callId, ...e }),
          },
          unanswered: (q) => void unanswered.record(q),
        }
      : undefined;
    return { config: c, version: configVersion(c), deps: callDeps, flowDeps };
  };
  let current = versionOf(config);

  // A test call from the web page talks to the agent the admin picked, not the one routing would pick.
  softphone.on("call", (leg, agentId) => {
    const v = current;
    if (!v.flowDeps) return leg.reject(404, "no agents configured");
    const flowDeps = v.flowDeps;
    const startedAt = Date.now();
    CallSession.answer(leg, flowDeps).then(
      (call) => {
        registry.add(call, { startedAt });
        call.event(`config version ${v.version}`);
        runFlowLine(call, flowDeps, { agent: agentId })
          .catch((e: Error) => call.log.error({ err: e.message, stack: e.stack }, "call app failed"))
          .finally(() => void call.hangup("box", "app finished"));
      },
      (e: Error) => log.info({ err: e.message }, "test call not answered"),
    );
  });

  sip.on("call", (leg: InboundCall) => {
    registry.offered++;
    const offeredAt = Date.now();
    const v = current; // this call keeps this version whatever is reloaded meanwhile
    const refused = registry.admission();
    if (refused) return CallSession.refuse(leg, v.deps, refused.status, refused.reason);
    CallSession.answer(leg, v.flowDeps ?? v.deps).then(
      (call) => {
        registry.add(call, { startedAt: offeredAt });
        call.event(`config version ${v.version}`);
        (v.flowDeps ? runFlowLine(call, v.flowDeps) : runDemoLine(call, v.deps))
          .catch((e: Error) => call.log.error({ err: e.message, stack: e.stack }, "call app failed"))
          .finally(() => void call.hangup("box", "app finished"));
      },
      (e: Error) => {
        const level = e instanceof CallRejected ? "info" : "error";
        log[level]({ callId: leg.info.callId, err: e.message }, "call not answered");
      },
    );
  });

  const reload = (next: Config) => {
    const restartNeeded = RESTART_KEYS.filter((k) => JSON.stringify(next[k]) !== JSON.stringify(config[k]));
    // Sections bound at start keep their start values until a restart, so no call sees a half-applied one.
    const effective: Config = { ...next, ...Object.fromEntries(RESTART_KEYS.map((k) => [k, config[k]])) };
    current = versionOf(effective);
    // Trunks change in place: new calls see the new list at once, registrations follow in the background.
    if (JSON.stringify(next.trunks) !== JSON.stringify(sip.trunks))
      sip.setTrunks(next.trunks).catch((e: Error) => log.error({ err: e.message }, "trunk change failed"));
    log.info({ version: current.version, restartNeeded }, "configuration reloaded");
    return { version: current.version, restartNeeded };
  };

  // Registration states are logged by the SIP layer itself (sip/registration.ts).
  let sipAddresses: SipAddress[];
  let metrics: { server: Server; url: string } | undefined;
  let web: RunningWebServer | undefined;
  const health = new HealthMonitor({ dataDir, log: log.child({ part: "health" }) });
  let unwireLive = () => {};
  let trunks: TrunkStates | undefined;
  let shell: { stop(): Promise<void> } | undefined;
  try {
    sipAddresses = await sip.start().catch((e: Error) => Promise.reject(new Error(`cannot start SIP: ${e.message}`)));
    // Registrations exist once SIP has started.
    const trunkStates = new TrunkStates(sip);
    trunks = trunkStates;
    health.start();
    diskGuard.watch(health);
    shell = await startApplianceShell({
      config,
      dataDir,
      configFile: opts.configFile,
      controller,
      registry,
      queues,
      trunks: trunkStates,
      health,
      reload: (next) => reload(next),
      models,
      softwareVersion: packageVersion(),
      log,
    });
    if (config.metrics.enabled) {
      const { address, port } = config.metrics;
      metrics = await startMetricsServer(
        address,
        port,
        [
          processMetrics,
          () => callMetrics(registry),
          () => mediaMetrics(media),
          () => registrationMetrics(sip),
          () => hubMetrics(hub),
          () => diskGuard.metrics(),
        ],
        () => ({ ok: true, detail: { activeCalls: registry.size, speech: speech.status } }),
      ).catch((e: Error) => Promise.reject(new Error(`cannot start metrics on ${address}:${port}: ${e.message}`)));
    }
    if (config.web.enabled) {
      const unwire = wireLiveEvents({ hub, registry, queues, trunks: trunkStates, health });
      unwireLive = () => unwire();
      const live = { registry, queues, trunks: () => trunkStates.list() };
      const webDeps: DaemonWebDeps = {
        db,
        log: log.child({ part: "web" }),
        config: () => current.config,
        dataDir,
        configFile: opts.configFile,
        reload: (next) => reload(next),
        recordingsDir: deps.recordingsDir,
        voicemailDir,
        hub,
        live,
        softphone,
        system: {
          configVersion: () => current.version,
          speech: () => speech.status,
          models,
          health,
          logs: logRingOf(log),
        },
      };
      web = await startWebServer({
        ...webDeps,
        web: config.web,
        routes: webRoutes(webDeps, daemonRoutes(webDeps)),
      }).catch((e: Error) => Promise.reject(new Error(`cannot start the web page: ${e.message}`)));
    }
  } catch (e) {
    // e.g. a port is taken: undo what was started so the process can exit with a clear message
    clearInterval(retentionTimer);
    unwireLive();
    trunks?.close();
    handset?.stop();
    await shell?.stop();
    diskGuard.unwatch();
    health.stop();
    await new Promise<void>((r) => (metrics ? metrics.server.close(() => r()) : r()));
    await outbox.stop();
    await sip.stop().catch(() => undefined);
    await media.stop();
    closeDb(db);
    throw e;
  }

  log.info({ sip: sipAddresses, metricsUrl: metrics?.url, webUrl: web?.url, dataDir }, "ready");

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      log.info({ activeCalls: registry.size }, "shutting down");
      clearInterval(retentionTimer);
      sip.setAccepting(false);
      hub.close(undefined, "shutting down");
      softphone.close();
      await web?.close();
      unwireLive();
      trunks?.close();
      handset?.stop();
      await shell?.stop();
      diskGuard.unwatch();
      health.stop();
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
  log.info({ version: current.version }, "configuration version");
  return {
    sip: sipAddresses,
    metricsUrl: metrics?.url,
    webUrl: web?.url,
    reload,
    healthy: () =>
      media.stats().then(
        () => true,
        () => false,
      ),
    stop,
  };
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
