// The one configuration schema. Everything an installer or admin can set lives here, validated in one pass so
// `switchboard check-config` can list every problem with its YAML path. Defaults make a bare file runnable.
import { handsetSchema } from "../../hw/handset-config.ts";
import { defaultMasterConfig, masterConfigSchema } from "../../provisioning/master-config.ts";
import { provisioningSchema } from "../../provisioning/provisioner-config.ts";
import { diskGuardSchema } from "../ops/disk-guard.ts";
import { z } from "zod";
import { actionSchema } from "../flow/actions/registry.ts";
import { agentSchema, checkAgent } from "../flow/agents.ts";
import { checkFlow } from "../flow/nodes.ts";
import { queueSchema } from "../flow/queues.ts";
import { routingSchema } from "../flow/routing.ts";
import { checkWindows } from "../flow/time-windows.ts";

const port = z.number().int().min(1).max(65535);
const portOrZero = z.number().int().min(0).max(65535); // 0 = pick a free port (tests)
const host = z.string().min(1);
const sipUri = z.string().regex(/^sips?:[^\s]+$/i, "must be a sip: or sips: URI");

export const transportName = z.enum(["udp", "tcp", "tls"]);
export type TransportName = z.infer<typeof transportName>;

export const listenSchema = z
  .object({
    transport: transportName,
    address: host.default("0.0.0.0"),
    port: portOrZero.default(5060),
  })
  .strict();

/** SDES-SRTP (RFC 4568) policy: off = plain RTP only; optional = accept SRTP when offered, offer plain RTP;
 * mandatory = offer RTP/SAVP and refuse (488) offers without a usable crypto line. */
export const srtpPolicy = z.enum(["off", "optional", "mandatory"]);
export type SrtpPolicy = z.infer<typeof srtpPolicy>;

/** SIP over TLS (RFC 3261 26.2, RFC 5922): our server certificate and how we check the servers we connect to. */
export const sipTlsSchema = z
  .object({
    /** PEM certificate chain and key of our TLS listener; both unset = a self-signed one in <dataDir>/sip-tls. */
    cert: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    /** Extra PEM CA files trusted for servers we connect to (a PBX with its own CA), besides the system CAs. */
    ca: z.array(z.string().min(1)).default([]),
    /** Check the server certificate (chain and name) of every TLS connection we open. Off only for lab PBXs. */
    verifyServer: z.boolean().default(true),
  })
  .strict()
  .refine((t) => (t.cert === undefined) === (t.key === undefined), {
    message: "cert and key go together",
    path: ["key"],
  });
export type SipTlsConfig = z.infer<typeof sipTlsSchema>;

export const codecName = z.enum(["PCMU", "PCMA", "G722"]);
export type CodecName = z.infer<typeof codecName>;

export const sipSchema = z
  .object({
    listen: z
      .array(listenSchema)
      .min(1)
      .default([{ transport: "udp", address: "0.0.0.0", port: 5060 }]),
    /** Address written into Via/Contact when the box sits behind NAT; defaults to the listen address. */
    publicAddress: host.optional(),
    userAgent: z.string().default("Switchboard"),
    /** RFC 3261 timer base values; only tests should change them. */
    timers: z
      .object({
        t1Ms: z.number().int().min(50).max(5000).default(500),
        t2Ms: z.number().int().min(500).max(60000).default(4000),
        t4Ms: z.number().int().min(500).max(60000).default(5000),
      })
      .strict()
      .default({ t1Ms: 500, t2Ms: 4000, t4Ms: 5000 }),
    /** Requests larger than this are rejected (513) or dropped; guards against memory abuse. */
    maxMessageBytes: z.number().int().min(1024).max(1048576).default(65535),
    /** Source networks (CIDR) allowed to send INVITE; empty = anyone (then rely on trunk auth/firewall). */
    allowFrom: z.array(z.string()).default([]),
    tls: sipTlsSchema.default({ ca: [], verifyServer: true }),
    /** SRTP for calls that come from no configured trunk (phones, a PBX listed nowhere). */
    srtp: srtpPolicy.default("optional"),
  })
  .strict();

export const mediaSchema = z
  .object({
    rtpAddress: host.default("0.0.0.0"),
    /** Address put into SDP c= when behind NAT; defaults to rtpAddress (or the SIP listen address). */
    publicAddress: host.optional(),
    rtpPortMin: port.default(20000),
    rtpPortMax: port.default(20999),
    codecs: z.array(codecName).min(1).default(["PCMA", "PCMU", "G722"]),
    ptimeMs: z.literal(20).default(20),
    jitterMinMs: z.number().int().min(20).max(200).default(40),
    jitterMaxMs: z.number().int().min(40).max(500).default(120),
    /** Latch RTP to the source address of incoming packets (trunks behind NAT). */
    symmetricRtp: z.boolean().default(true),
    /** Goertzel DTMF detection on the audio when the peer does not offer telephone-event. */
    inbandDtmf: z.enum(["auto", "always", "never"]).default("auto"),
    /** Hang up when no RTP arrives for this long on an answered call (0 = never). */
    rtpTimeoutS: z.number().int().min(0).max(3600).default(60),
  })
  .strict()
  .refine((m) => m.rtpPortMax - m.rtpPortMin >= 3, {
    message: "rtpPortMax must be at least rtpPortMin + 3",
    path: ["rtpPortMax"],
  })
  .refine((m) => m.jitterMaxMs >= m.jitterMinMs, { message: "must be >= jitterMinMs", path: ["jitterMaxMs"] });

export const trunkSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, "letters, digits, - and _"),
    /** Provider domain used in From/To/Request-URI of REGISTER and outbound INVITE. */
    domain: host,
    /** Registrar URI; defaults to sip:<domain>. */
    registrar: sipUri.optional(),
    /** Outbound proxy URI all requests go to (loose route); RFC 3263 SRV/A is used on its host. */
    outboundProxy: sipUri.optional(),
    transport: transportName.default("udp"),
    /** SRTP with this provider; SDES keys travel in the SDP, so anything but off belongs with transport tls. */
    srtp: srtpPolicy.default("optional"),
    username: z.string().min(1),
    /** Digest auth user when it differs from the AOR user. */
    authUsername: z.string().optional(),
    password: z.string().default(""),
    register: z.boolean().default(true),
    expiresS: z.number().int().min(60).max(86400).default(600),
    /** Keep NAT bindings open between registrations. */
    keepalive: z
      .object({
        method: z.enum(["options", "crlf", "none"]).default("options"),
        intervalS: z.number().int().min(5).max(600).default(30),
      })
      .strict()
      .default({ method: "options", intervalS: 30 }),
    /** How the caller ID is presented on outbound calls. */
    callerIdHeader: z.enum(["From", "P-Asserted-Identity", "P-Preferred-Identity"]).default("From"),
    callerId: z.string().optional(),
    /** DIDs that arrive over this trunk (informational for routing; any DID is accepted). */
    numbers: z.array(z.string()).default([]),
    /** Peers allowed to send calls for this trunk without registration (PBX setups), as IPs or CIDRs. */
    peers: z.array(z.string()).default([]),
  })
  .strict();
export type TrunkConfig = z.infer<typeof trunkSchema>;

/** Behaviour until the flow engine exists: greeting, DTMF menu, voicemail, operator bridge. */
export const demoSchema = z
  .object({
    /** WAV file of the greeting; empty = the built-in generated greeting. */
    greeting: z.string().optional(),
    /** Where `0` connects: a SIP URI (direct) or a number dialled through `operatorTrunk`. */
    operator: z.string().optional(),
    operatorTrunk: z.string().optional(),
    maxMessageS: z.number().int().min(1).max(3600).default(120),
    silenceHangupS: z.number().min(1).max(60).default(5),
    menuTimeoutS: z.number().min(1).max(120).default(15),
    /** With speech: what the box says when the caller spoke but nothing could be recognized. `{seconds}` becomes the
     * length of the caller's turn (so the text differs per turn and is synthesized fresh); without it the reply
     * comes from the prompt cache. Default: a built-in sentence in speech.language that points to the keypad. */
    speechReply: z.string().min(1).max(500).optional(),
    /** Digits sent as RFC 4733 events right after answering (e.g. to signal a PBX or door opener); empty = none. */
    sendDigitsOnAnswer: z
      .string()
      .regex(/^[0-9*#A-D]*$/, "only 0-9 * # A-D")
      .default(""),
  })
  .strict();

export const recordingSchema = z
  .object({
    /** Record every answered call (stereo WAV: left = caller, right = box or bridged party). */
    calls: z.boolean().default(true),
    /** Directory for recordings; default <dataDir>/recordings. */
    dir: z.string().optional(),
    /** Recording stops (calls stay up) while the data disk is nearly full, and resumes with room (docs/operations.md). */
    diskGuard: diskGuardSchema.default(diskGuardSchema.parse({})),
  })
  .strict();

export const metricsSchema = z
  .object({
    /** Prometheus /metrics and /health over plain HTTP; keep it on loopback or a management network. */
    enabled: z.boolean().default(true),
    address: host.default("127.0.0.1"),
    port: portOrZero.default(9464),
  })
  .strict();

/** The admin web page (daemon/web): HTTPS with a self-signed certificate unless certFile/keyFile are given. */
export const webSchema = z
  .object({
    enabled: z.boolean().default(true),
    address: host.default("0.0.0.0"),
    port: portOrZero.default(8443),
    /** Plain-HTTP listener that only redirects to HTTPS; null = none, 0 = a free port (tests). */
    httpPort: portOrZero.nullable().default(8080),
    /** Extra Host names the page answers to (DNS names, "name:port" behind a port forward); the box's own
     * hostname and addresses and localhost are always allowed. Anything else gets 421 (DNS rebinding). */
    hosts: z.array(host).default([]),
    /** PEM certificate chain and key; default a self-signed certificate in <dataDir>/web. */
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    session: z
      .object({
        idleMinutes: z.number().int().min(1).max(1440).default(30),
        absoluteHours: z.number().int().min(1).max(720).default(12),
      })
      .strict()
      .default({ idleMinutes: 30, absoluteHours: 12 }),
    login: z
      .object({
        /** Wrong passwords in a row that lock an account ... */
        maxFailures: z.number().int().min(1).max(100).default(5),
        /** ... for this long. */
        lockoutMinutes: z.number().int().min(1).max(1440).default(15),
      })
      .strict()
      .default({ maxFailures: 5, lockoutMinutes: 15 }),
  })
  .strict()
  .refine((w) => !w.certFile === !w.keyFile, {
    message: "certFile and keyFile go together",
    path: ["keyFile"],
  })
  .refine((w) => w.httpPort === null || w.httpPort === 0 || w.httpPort !== w.port, {
    message: "must differ from port",
    path: ["httpPort"],
  });
export type WebConfig = z.infer<typeof webSchema>;

export const modelsSchema = z
  .object({
    /** Read-only directories holding model bundles (one sub-directory per bundle) besides <dataDir>/models. */
    searchPaths: z.array(z.string()).default([]),
  })
  .strict();

const silenceMs = z.number().int().min(200).max(10_000);

/** The call's speech front and back end (daemon/speech). Every engine is optional: what is missing falls back. */
export const speechSchema = z
  .object({
    /** Turn speech on for answered calls. Off, or without a VAD, calls are DTMF-only. */
    enabled: z.boolean().default(true),
    /** Language of the box's voice and of recognition: picks the TTS voice and the ASR bundle. */
    language: z.enum(["de-DE", "en-US", "en-GB"]).default("de-DE"),
    /** Pico lingware directory; default: an installed or search-path `svox-pico` bundle, else Debian's
     * /usr/share/pico/lang (package libttspico-data, non-free). */
    picoLangDir: z.string().optional(),
    /** Run the GTCRN denoiser on caller audio when its bundle is installed (costs ~0.12 of a core per call). */
    denoise: z.boolean().default(false),
    /** Speech recognition: the best installed bundle, else the built-in command recognizer ("auto"), or none. */
    recognizer: z.enum(["auto", "off"]).default("auto"),
    vad: z
      .object({
        /** Speech probability threshold of the turn VAD. */
        threshold: z.number().min(0.05).max(0.95).default(0.5),
        /** Shorter bursts do not open a VAD segment, ms. Kept short so a short first word is not lost; turns with
         * less speech than endpointing.minTurnSpeechMs are dropped instead. */
        minSpeechMs: z.number().int().min(30).max(2000).default(100),
        /** Silence that closes a VAD segment, ms (the turn ends after endpointing.silenceMs). */
        minSilenceMs: z.number().int().min(50).max(3000).default(300),
      })
      .strict()
      .default({ threshold: 0.5, minSpeechMs: 100, minSilenceMs: 300 }),
    bargeIn: z
      .object({
        enabled: z.boolean().default(true),
        /** Caller speech must last this long before it cuts the box off (backchannels are shorter). */
        minSpeechMs: z.number().int().min(40).max(2000).default(120),
        /** ... and be this loud on average (dBFS), so line noise does not. */
        minDbfs: z.number().min(-70).max(-10).default(-38),
      })
      .strict()
      .default({ enabled: true, minSpeechMs: 120, minDbfs: -38 }),
    endpointing: z
      .object({
        /** Caller silence that ends a turn, per what the box expects next. */
        silenceMs: z
          .object({
            default: silenceMs.default(700),
            digits: silenceMs.default(1500),
            email: silenceMs.default(2000),
            iban: silenceMs.default(2500),
          })
          .strict()
          .default({ default: 700, digits: 1500, email: 2000, iban: 2500 }),
        /** A turn longer than this ends at the next pause. */
        maxTurnMs: z.number().int().min(2000).max(120_000).default(30_000),
        /** Turns with less speech than this are dropped (coughs, clicks). */
        minTurnSpeechMs: z.number().int().min(0).max(2000).default(150),
      })
      .strict()
      .default({
        silenceMs: { default: 700, digits: 1500, email: 2000, iban: 2500 },
        maxTurnMs: 30_000,
        minTurnSpeechMs: 150,
      }),
    deadAir: z
      .object({
        /** Box silent this long after the caller's turn: a filler phrase. */
        fillerAfterMs: z.number().int().min(200).max(10_000).default(800),
        /** Nobody speaks this long after the box: "are you still there?". */
        idlePromptAfterS: z.number().min(2).max(300).default(10),
        /** Still nobody after the prompt: polite hangup. */
        hangupAfterS: z.number().min(2).max(300).default(8),
      })
      .strict()
      .default({ fillerAfterMs: 800, idlePromptAfterS: 10, hangupAfterS: 8 }),
    /** Memory bound of the prompt cache (synthesized static prompts; also kept on disk in <dataDir>/prompt-cache). */
    promptCacheMb: z.number().int().min(1).max(4096).default(64),
  })
  .strict();
export type SpeechConfig = z.infer<typeof speechSchema>;

export const storeSchema = z
  .object({
    /** Days to keep CDRs and recordings; 0 = forever. */
    retentionDays: z.number().int().min(0).max(3650).default(0),
    /** Retries of actions (webhooks, mail): the first after backoffBaseMs, doubling up to backoffCapMs. */
    outbox: z
      .object({
        backoffBaseMs: z.number().int().min(100).max(3_600_000).default(2000),
        backoffCapMs: z.number().int().min(100).max(86_400_000).default(600_000),
        /** Then the item is a dead letter (visible, can be sent again); 12 with the defaults is about an hour. */
        maxAttempts: z.number().int().min(1).max(1000).default(12),
      })
      .strict()
      .refine((o) => o.backoffCapMs >= o.backoffBaseMs, {
        message: "backoffCapMs must be >= backoffBaseMs",
        path: ["backoffCapMs"],
      })
      .default({ backoffBaseMs: 2000, backoffCapMs: 600_000, maxAttempts: 12 }),
  })
  .strict();

const configBase = z
  .object({
    name: z.string().default("switchboard"),
    dataDir: z.string().default("./data"),
    log: z
      .object({ level: z.enum(["trace", "debug", "info", "warn", "error"]).default("info") })
      .strict()
      .default({ level: "info" }),
    sip: sipSchema.default(sipSchema.parse({})),
    media: mediaSchema.default(mediaSchema.parse({})),
    trunks: z.array(trunkSchema).default([]),
    demo: demoSchema.default(demoSchema.parse({})),
    recording: recordingSchema.default(recordingSchema.parse({})),
    metrics: metricsSchema.default(metricsSchema.parse({})),
    store: storeSchema.default(storeSchema.parse({})),
    models: modelsSchema.default(modelsSchema.parse({})),
    speech: speechSchema.default(speechSchema.parse({})),
    web: webSchema.default(webSchema.parse({})),
    /** Signed USB bundles (docs/provisioning.md); absent = no stick is watched. */
    provisioning: provisioningSchema.optional(),
    /** Config-only sync with the master server, once a bundle installed its address (docs/master-sync.md). */
    master: masterConfigSchema.default(defaultMasterConfig),
    /** The LED/handset controller on a serial port (docs/hw-protocol.md); absent = no controller. */
    hw: z
      .object({
        /** e.g. /dev/ttyACM0 or /dev/serial/by-id/...; the path may come and go (hot-plug). */
        port: z.string().min(1),
        baudRate: z.number().int().min(1200).max(4_000_000).default(115_200),
        /** The handset on the box (docs/hw-protocol.md): ALSA device, trunk for keypad calls. */
        handset: handsetSchema.default(handsetSchema.parse({})),
      })
      .strict()
      .optional(),
    /** Entry routing: numbers and time windows that pick the first agent. Without it calls get the demo line. */
    routing: routingSchema.optional(),
    /** AI agents: configured instances of templates (daemon/flow/agents.ts). */
    agents: z.array(agentSchema).default([]),
    /** Customer queues: humans who take calls in turn, with hold music, positions and call backs. */
    queues: z.array(queueSchema).default([]),
    /** Actions flows can run (webhooks, mail, tickets, appointments); all go through the durable outbox. */
    actions: z.array(actionSchema).default([]),
    limits: z
      .object({
        maxCalls: z.number().int().min(1).max(2000).default(200),
        maxCallDurationS: z.number().int().min(10).max(86400).default(14400),
      })
      .strict()
      .default({ maxCalls: 200, maxCallDurationS: 14400 }),
  })
  .strict();

export const configSchema = configBase.superRefine((c, ctx) => {
  const seen = new Set<string>();
  c.trunks.forEach((t, i) => {
    if (seen.has(t.id))
      ctx.addIssue({ code: "custom", message: `duplicate trunk id "${t.id}"`, path: ["trunks", i, "id"] });
    seen.add(t.id);
    if (t.register && !t.password) {
      ctx.addIssue({
        code: "custom",
        message: "a registering trunk needs a password",
        path: ["trunks", i, "password"],
      });
    }
  });
  if (c.demo.operatorTrunk && !c.trunks.some((t) => t.id === c.demo.operatorTrunk)) {
    ctx.addIssue({
      code: "custom",
      message: `no trunk with id "${c.demo.operatorTrunk}"`,
      path: ["demo", "operatorTrunk"],
    });
  }
  checkFlows(c, ctx);
  const listens = new Set<string>();
  c.sip.listen.forEach((l, i) => {
    const k = `${l.transport}:${l.address}:${l.port}`;
    if (l.port !== 0 && listens.has(k))
      ctx.addIssue({ code: "custom", message: `duplicate listener ${k}`, path: ["sip", "listen", i] });
    listens.add(k);
  });
});

export type Config = z.infer<typeof configSchema>;
export type SipConfig = Config["sip"];
export type MediaConfig = Config["media"];

/** Cross-references between routing, agents, flows and actions, each reported at its YAML path. */
function checkFlows(c: z.infer<typeof configBase>, ctx: z.RefinementCtx): void {
  const agentIds = new Set<string>();
  c.agents.forEach((a, i) => {
    if (agentIds.has(a.id))
      ctx.addIssue({ code: "custom", message: `duplicate agent id "${a.id}"`, path: ["agents", i, "id"] });
    agentIds.add(a.id);
  });
  const actionIds = new Set<string>();
  c.actions.forEach((a, i) => {
    if (actionIds.has(a.id))
      ctx.addIssue({ code: "custom", message: `duplicate action id "${a.id}"`, path: ["actions", i, "id"] });
    actionIds.add(a.id);
  });
  const queueIds = new Set<string>();
  c.queues.forEach((q, i) => {
    if (queueIds.has(q.id))
      ctx.addIssue({ code: "custom", message: `duplicate queue id "${q.id}"`, path: ["queues", i, "id"] });
    queueIds.add(q.id);
  });
  c.agents.forEach((a, i) => {
    for (const p of checkAgent(a, { agents: agentIds, actions: actionIds, queues: queueIds }))
      ctx.addIssue({ code: "custom", message: p.message, path: ["agents", i, ...p.path] });
    if (a.flow) {
      const intents = new Set([...a.intents.map((x) => x.id), ...a.knowledge.map((_, k) => `faq-${k}`)]);
      for (const p of checkFlow(a.flow, intents))
        ctx.addIssue({ code: "custom", message: p.message, path: ["agents", i, "flow", ...p.path] });
    }
  });
  if (c.routing) {
    for (const p of checkWindows(c.routing.windows, agentIds))
      ctx.addIssue({ code: "custom", message: p.message, path: ["routing", "windows", ...p.path] });
    c.routing.numbers.forEach((n, k) => {
      for (const p of checkWindows(n.windows, agentIds))
        ctx.addIssue({ code: "custom", message: p.message, path: ["routing", "numbers", k, "windows", ...p.path] });
    });
  } else if (c.agents.length > 0)
    ctx.addIssue({
      code: "custom",
      message: "agents need routing (time windows that pick the first agent)",
      path: ["routing"],
    });
}
