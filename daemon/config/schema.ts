// The one configuration schema. Everything an installer or admin can set lives here, validated in one pass so
// `switchboard check-config` can list every problem with its YAML path. Defaults make a bare file runnable.
import { z } from "zod";

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

export const modelsSchema = z
  .object({
    /** Read-only directories holding model bundles (one sub-directory per bundle) besides <dataDir>/models. */
    searchPaths: z.array(z.string()).default([]),
  })
  .strict();

export const storeSchema = z
  .object({
    /** Days to keep CDRs and recordings; 0 = forever. */
    retentionDays: z.number().int().min(0).max(3650).default(0),
  })
  .strict();

export const configSchema = z
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
    limits: z
      .object({
        maxCalls: z.number().int().min(1).max(2000).default(200),
        maxCallDurationS: z.number().int().min(10).max(86400).default(14400),
      })
      .strict()
      .default({ maxCalls: 200, maxCallDurationS: 14400 }),
  })
  .strict()
  .superRefine((c, ctx) => {
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
