// Structured logging. Secrets are redacted by key wherever they appear, so a config or an auth header that ends up
// in a log line never shows its value.
import { pino, type Logger } from "pino";

export type Log = Logger;

export const redactedKeys = ["password", "authorization", "proxyAuthorization", "token", "secret", "key", "privateKey"];

export function createLog(level = "info", destination?: NodeJS.WritableStream): Log {
  const paths = redactedKeys.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]);
  const options = { level, base: undefined, redact: { paths, censor: "[redacted]" } };
  return destination ? pino(options, destination) : pino(options);
}

/** A logger that drops everything (unit tests, simulator). */
export const silentLog: Log = pino({ level: "silent" });
