// Structured logging. Secrets are redacted by key wherever they appear, so a config or an auth header that ends up
// in a log line never shows its value. Every line also goes to an in-memory ring (the System page's log view); the
// ring is a second destination after serialization, so it only ever sees redacted lines.
import { pino, type Logger } from "pino";
import { LogRing } from "./log-ring.ts";

export type Log = Logger;

export const redactedKeys = ["password", "authorization", "proxyAuthorization", "token", "secret", "key", "privateKey"];

const rings = new WeakMap<object, LogRing>();

/** `ring: false` writes no ring; a LogRing given is used instead of a new one (2000 lines). */
export function createLog(
  level = "info",
  destination?: NodeJS.WritableStream,
  opts: { ring?: LogRing | false } = {},
): Log {
  const paths = redactedKeys.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]);
  const options = { level, base: undefined, redact: { paths, censor: "[redacted]" } };
  const ring = opts.ring === false ? undefined : (opts.ring ?? new LogRing());
  if (!ring) return destination ? pino(options, destination) : pino(options);
  // The logger filters by level; the streams take whatever it lets through.
  const streams = pino.multistream([
    { level: "trace", stream: destination ?? pino.destination(1) },
    { level: "trace", stream: ring },
  ]);
  const log = pino(options, streams);
  rings.set(log, ring);
  return log;
}

/** The ring of a logger made by createLog, found from the logger or any of its children. */
export function logRingOf(log: Log): LogRing | undefined {
  // pino makes a child with Object.create(parent), so the root is on the prototype chain.
  for (let o: object | null = log; o !== null; o = Object.getPrototypeOf(o) as object | null) {
    const ring = rings.get(o);
    if (ring) return ring;
  }
  return undefined;
}

/** A logger that drops everything (unit tests, simulator). */
export const silentLog: Log = pino({ level: "silent" });
