// The last log lines in memory, for the System page. It is a second pino destination, so it receives each line
// exactly as written to the log: already serialized and redacted. Lines are kept raw and parsed only when read.

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const LEVEL_NUMBERS: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

export interface LogLine {
  time: number;
  level: LogLevel;
  /** The part of the daemon that logged it (child logger binding `part`: sip, media, queues...). */
  part?: string;
  msg: string;
  /** The line's other fields (call id, error message...), redacted like the log. */
  detail?: Record<string, unknown>;
}

/** A line longer than this (a huge stack or payload) is kept as its time, level, part and the start of its message. */
const MAX_LINE_CHARS = 16_384;
const MAX_MSG_CHARS = 2000;

export class LogRing {
  private readonly lines: (string | undefined)[];
  private next = 0;
  private count = 0;

  constructor(readonly capacity = 2000) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`log ring capacity ${capacity}: must be >= 1`);
    this.lines = new Array<string | undefined>(capacity);
  }

  /** pino's destination interface: one serialized JSON line per call. */
  write(chunk: string): boolean {
    const line = chunk.endsWith("\n") ? chunk.slice(0, -1) : chunk;
    if (line.length === 0) return true;
    this.lines[this.next] = line.length > MAX_LINE_CHARS ? shorten(line) : line;
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
    return true;
  }

  get size(): number {
    return this.count;
  }

  /** Newest first, at least `level` (default: all), at most `limit` lines. */
  recent(opts: { limit?: number; level?: LogLevel } = {}): LogLine[] {
    const limit = Math.max(0, Math.min(opts.limit ?? this.capacity, this.capacity));
    const min = LEVEL_NUMBERS[opts.level ?? "trace"];
    const out: LogLine[] = [];
    for (let k = 1; k <= this.count && out.length < limit; k++) {
      const raw = this.lines[(this.next - k + this.capacity) % this.capacity];
      const line = raw === undefined ? undefined : parseLine(raw);
      if (line && LEVEL_NUMBERS[line.level] >= min) out.push(line);
    }
    return out;
  }
}

function levelName(n: unknown): LogLevel {
  if (typeof n === "string" && (LOG_LEVELS as readonly string[]).includes(n)) return n as LogLevel;
  const num = typeof n === "number" ? n : 30;
  let name: LogLevel = "trace";
  for (const l of LOG_LEVELS) if (num >= LEVEL_NUMBERS[l]) name = l;
  return name;
}

function parseLine(raw: string): LogLine | undefined {
  let o: unknown;
  try {
    o = JSON.parse(raw);
  } catch {
    return { time: 0, level: "info", msg: raw.slice(0, MAX_MSG_CHARS) };
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) return undefined;
  const { time, level, part, msg, ...rest } = o as Record<string, unknown>;
  const line: LogLine = {
    time: typeof time === "number" ? time : 0,
    level: levelName(level),
    msg: typeof msg === "string" ? msg : "",
  };
  if (typeof part === "string") line.part = part;
  if (Object.keys(rest).length > 0) line.detail = rest;
  return line;
}

function shorten(raw: string): string {
  const line = parseLine(raw);
  if (!line) return JSON.stringify({ time: Date.now(), level: 30, msg: raw.slice(0, MAX_MSG_CHARS) });
  return JSON.stringify({
    time: line.time,
    level: LEVEL_NUMBERS[line.level],
    part: line.part,
    msg: line.msg.slice(0, MAX_MSG_CHARS),
    truncated: true,
  });
}
