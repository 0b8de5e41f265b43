// SIP message model, framing-level parsing and serialisation. Structured values (start line, URIs, name-addr,
// auth challenges) are parsed with sip.js's PEG grammar; the header framing is ours because sip.js's Parser throws
// on some malformed input, keeps only the last branch of a comma-joined Via and cannot tell us *which* header was
// bad (we need that for the 400 Warning).
import { Grammar, type NameAddrHeader, type URI } from "sip.js/lib/core/index.js";

/** Compact header forms (RFC 3261 7.3.3 and later RFCs). */
const COMPACT: Record<string, string> = {
  i: "call-id",
  m: "contact",
  e: "content-encoding",
  l: "content-length",
  c: "content-type",
  f: "from",
  s: "subject",
  k: "supported",
  t: "to",
  v: "via",
  r: "refer-to",
  o: "event",
  u: "allow-events",
  x: "session-expires",
};

const CANONICAL: Record<string, string> = {
  "call-id": "Call-ID",
  cseq: "CSeq",
  "www-authenticate": "WWW-Authenticate",
  "mime-version": "MIME-Version",
  "p-asserted-identity": "P-Asserted-Identity",
  "p-preferred-identity": "P-Preferred-Identity",
};

/** Headers whose comma-joined values are separate entries (RFC 3261 7.3.1); we split them into one entry each. */
const LIST_HEADERS = new Set([
  "via",
  "route",
  "record-route",
  "contact",
  "allow",
  "supported",
  "require",
  "proxy-require",
  "unsupported",
]);

/** Headers that must appear at most once; duplicates make a request invalid (RFC 4475 3.3.8/3.3.9). */
const SINGLE_HEADERS = ["call-id", "from", "to", "cseq", "content-length", "content-type", "max-forwards", "expires"];

const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

export function canonicalName(lower: string): string {
  return CANONICAL[lower] ?? lower.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase());
}

export function normalizeName(name: string): string {
  const l = name.toLowerCase();
  return COMPACT[l] ?? l;
}

/**
 * Split a header value on top-level commas. Commas inside "quoted strings" (with \-escapes), <URIs> and [IPv6]
 * brackets are kept, so `Via: SIP/2.0/UDP [::1]:5060;x="a,b", SIP/2.0/UDP h2` gives two entries.
 */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let depthAngle = 0;
  let depthBracket = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (quoted) {
      if (ch === "\\") i++;
      else if (ch === '"') quoted = false;
      continue;
    }
    if (ch === '"') quoted = true;
    else if (ch === "<") depthAngle++;
    else if (ch === ">" && depthAngle > 0) depthAngle--;
    else if (ch === "[") depthBracket++;
    else if (ch === "]" && depthBracket > 0) depthBracket--;
    else if (ch === "," && depthAngle === 0 && depthBracket === 0) {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return out.filter((v) => v.length > 0);
}

export interface ViaValue {
  transport: string;
  host: string;
  port?: number;
  params: Map<string, string | null>;
}

/** Parse one Via entry: `SIP/2.0/UDP host[:port] *(;name[=value])`. Undefined when malformed. */
export function parseVia(value: string): ViaValue | undefined {
  const m =
    /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z0-9\-.!%*_+`'~]+)\s+(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-.]+)(?:\s*:\s*(\d{1,5}))?\s*(.*)$/is.exec(
      value.trim(),
    );
  if (!m) return undefined;
  const port = m[3] !== undefined ? Number(m[3]) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  const params = new Map<string, string | null>();
  const rest = m[4];
  if (rest.length > 0) {
    if (!rest.startsWith(";")) return undefined;
    const parts = splitParams(rest.slice(1));
    if (parts.some((p) => p.trim() === "")) return undefined; // ";;" is not a parameter
    for (const raw of parts) {
      const eq = raw.indexOf("=");
      const name = (eq < 0 ? raw : raw.slice(0, eq)).trim().toLowerCase();
      if (!TOKEN.test(name)) return undefined;
      const v = eq < 0 ? null : raw.slice(eq + 1).trim();
      params.set(name, v);
    }
  }
  return { transport: m[1].toUpperCase(), host: m[2].toLowerCase(), port, params };
}

function splitParams(s: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quoted) {
      if (ch === "\\") i++;
      else if (ch === '"') quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === ";") {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

export function formatVia(v: ViaValue): string {
  let s = `SIP/2.0/${v.transport} ${v.host}${v.port !== undefined ? `:${v.port}` : ""}`;
  for (const [k, val] of v.params) s += val === null ? `;${k}` : `;${k}=${val}`;
  return s;
}

/** Parse a name-addr / addr-spec value (From, To, Contact, Route...). */
export function parseNameAddr(value: string): NameAddrHeader | undefined {
  try {
    const r: unknown = Grammar.parse(value, "From");
    return r === -1 ? undefined : (r as NameAddrHeader);
  } catch {
    return undefined;
  }
}

export function parseUri(value: string): URI | undefined {
  try {
    return Grammar.URIParse(value);
  } catch {
    return undefined;
  }
}

export type HeaderList = Array<[name: string, value: string]>;

abstract class SipMessageBase {
  /** Lower-case long header names, in order; list headers are already split one value per entry. */
  headers: HeaderList = [];
  body = "";

  get(name: string): string | undefined {
    const n = normalizeName(name);
    for (const [k, v] of this.headers) if (k === n) return v;
    return undefined;
  }
  getAll(name: string): string[] {
    const n = normalizeName(name);
    return this.headers.filter(([k]) => k === n).map(([, v]) => v);
  }
  has(name: string): boolean {
    return this.get(name) !== undefined;
  }
  set(name: string, value: string): this {
    this.remove(name);
    this.headers.push([normalizeName(name), value]);
    return this;
  }
  add(name: string, value: string): this {
    this.headers.push([normalizeName(name), value]);
    return this;
  }
  prepend(name: string, value: string): this {
    this.headers.unshift([normalizeName(name), value]);
    return this;
  }
  remove(name: string): this {
    const n = normalizeName(name);
    this.headers = this.headers.filter(([k]) => k !== n);
    return this;
  }
  get callId(): string {
    return this.get("call-id") ?? "";
  }
  get cseq(): { seq: number; method: string } {
    return parseCSeq(this.get("cseq") ?? "") ?? { seq: 0, method: "" };
  }
  get topVia(): ViaValue | undefined {
    const v = this.get("via");
    return v === undefined ? undefined : parseVia(v);
  }
  get branch(): string {
    const b = this.topVia?.params.get("branch");
    return b ?? "";
  }
  get from(): NameAddrHeader | undefined {
    const v = this.get("from");
    return v === undefined ? undefined : parseNameAddr(v);
  }
  get to(): NameAddrHeader | undefined {
    const v = this.get("to");
    return v === undefined ? undefined : parseNameAddr(v);
  }
  get fromTag(): string | undefined {
    return this.from?.getParam("tag") ?? undefined;
  }
  get toTag(): string | undefined {
    return this.to?.getParam("tag") ?? undefined;
  }
  protected abstract startLine(): string;

  toString(): string {
    const lines = [this.startLine()];
    for (const [k, v] of this.headers) if (k !== "content-length") lines.push(`${canonicalName(k)}: ${v}`);
    lines.push(`Content-Length: ${Buffer.byteLength(this.body, "utf8")}`);
    return `${lines.join("\r\n")}\r\n\r\n${this.body}`;
  }
}

export class SipRequest extends SipMessageBase {
  constructor(
    public method: string,
    public uri: string,
  ) {
    super();
  }
  get ruri(): URI | undefined {
    return parseUri(this.uri);
  }
  protected startLine(): string {
    return `${this.method} ${this.uri} SIP/2.0`;
  }
}

export class SipResponse extends SipMessageBase {
  constructor(
    public status: number,
    public reason: string,
  ) {
    super();
  }
  protected startLine(): string {
    return `SIP/2.0 ${this.status} ${this.reason}`;
  }
}

export type SipMessage = SipRequest | SipResponse;

export function parseCSeq(v: string): { seq: number; method: string } | undefined {
  const m = /^\s*(\d{1,10})\s+([A-Za-z0-9\-.!%*_+`'~]+)\s*$/.exec(v);
  if (!m) return undefined;
  const seq = Number(m[1]);
  if (seq > 0x7fffffff) return undefined; // RFC 3261 8.1.1.5: less than 2**31
  return { seq, method: m[2] };
}

/** A parse failure. When `request` is set, enough of the request survived to send `status` back. */
export interface ParseError {
  error: string;
  status: number;
  /** The raw header list, to build the error response from (Via, From, To, Call-ID, CSeq copied verbatim). */
  request?: SipRequest;
  isResponse: boolean;
}

export type ParseResult = { ok: true; msg: SipMessage } | ({ ok: false } & ParseError);

const REASONS: Record<number, string> = {
  100: "Trying",
  180: "Ringing",
  181: "Call Is Being Forwarded",
  183: "Session Progress",
  200: "OK",
  202: "Accepted",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  408: "Request Timeout",
  413: "Request Entity Too Large",
  415: "Unsupported Media Type",
  416: "Unsupported URI Scheme",
  420: "Bad Extension",
  423: "Interval Too Brief",
  480: "Temporarily Unavailable",
  481: "Call/Transaction Does Not Exist",
  482: "Loop Detected",
  483: "Too Many Hops",
  486: "Busy Here",
  487: "Request Terminated",
  488: "Not Acceptable Here",
  491: "Request Pending",
  500: "Server Internal Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  505: "Version Not Supported",
  513: "Message Too Large",
  603: "Decline",
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? (status < 200 ? "Progress" : status < 300 ? "OK" : "Error");
}

/**
 * Parse one complete SIP message. `data` is exactly one message for TCP (already framed); for UDP it is the
 * datagram, and bytes beyond Content-Length are discarded (RFC 3261 18.3, RFC 4475 3.1.1.8).
 * Never throws.
 */
export function parseMessage(data: Buffer, opts: { stream: boolean }): ParseResult {
  try {
    return parseUnsafe(data, opts.stream);
  } catch (e) {
    return {
      ok: false,
      error: `parser failure: ${e instanceof Error ? e.message : String(e)}`,
      status: 400,
      isResponse: false,
    };
  }
}

function parseUnsafe(input: Buffer, stream: boolean): ParseResult {
  let data = input;
  let sep = data.indexOf("\r\n\r\n");
  if (sep < 0) {
    // A datagram whose header block lacks only the empty line (RFC 4475 baddn): the datagram boundary frames it,
    // so parse the headers. A stream message always needs the empty line.
    const isResponse = data.subarray(0, 8).toString() === "SIP/2.0 ";
    if (stream || data.length < 2 || data[data.length - 2] !== 13 || data[data.length - 1] !== 10) {
      return { ok: false, error: "no end of headers", status: 400, isResponse };
    }
    data = Buffer.concat([data, Buffer.from("\r\n")]);
    sep = data.length - 4;
  }
  // Invalid UTF-8 in headers becomes U+FFFD; the grammar then rejects it where it matters.
  const head = data.subarray(0, sep).toString("utf8");
  const lines = head.replace(/\r\n[ \t]+/g, " ").split("\r\n");
  const first = lines[0];
  const isResponse = first.startsWith("SIP/");
  const headers: HeaderList = [];
  let badHeader: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon).trim() : "";
    if (!TOKEN.test(name)) {
      badHeader ??= `malformed header line ${i}`;
      continue;
    }
    const n = normalizeName(name);
    const value = line.slice(colon + 1).trim();
    if (LIST_HEADERS.has(n) && !(n === "contact" && value === "*")) {
      const parts = splitList(value);
      if (parts.length === 0) headers.push([n, ""]);
      for (const p of parts) headers.push([n, p]);
    } else headers.push([n, value]);
  }

  let start: unknown;
  try {
    start = Grammar.parse(first, "Request_Response");
  } catch {
    start = -1;
  }
  let msg: SipMessage;
  if (isResponse) {
    const m = /^SIP\/2\.0 (\d{3}) (.*)$/.exec(first);
    if (!m || start === -1) return { ok: false, error: "bad status line", status: 400, isResponse: true };
    msg = new SipResponse(Number(m[1]), m[2]);
    if (msg.status < 100 || msg.status > 699)
      return { ok: false, error: "bad status code", status: 400, isResponse: true };
  } else {
    const m = /^([A-Za-z0-9\-.!%*_+`'~]+) (\S+) (SIP\/\d+\.\d+)$/.exec(first);
    const req = new SipRequest(m?.[1] ?? "", m?.[2] ?? "");
    req.headers = headers;
    if (!m) return fail(req, "bad request line", 400);
    if (m[3] !== "SIP/2.0") return fail(req, "unsupported SIP version", 505);
    const sl = start as { uri?: URI; scheme?: string; uri_headers?: unknown } | -1;
    if (sl === -1) return fail(req, "bad Request-URI", 400);
    if (!sl.uri) return fail(req, `unsupported URI scheme ${sl.scheme ?? ""}`, 416);
    if (sl.uri.scheme !== "sip" && sl.uri.scheme !== "sips") return fail(req, "unsupported URI scheme", 416);
    if (sl.uri_headers !== undefined) return fail(req, "headers in Request-URI", 400);
    msg = req;
  }
  msg.headers = headers;
  const reject = (error: string, status = 400): ParseResult =>
    msg instanceof SipRequest ? fail(msg, error, status) : { ok: false, error, status, isResponse: true };
  if (badHeader) return reject(badHeader);

  // Body and Content-Length.
  const cls = msg.getAll("content-length");
  if (cls.length > 1) return reject("multiple Content-Length headers");
  const bodyBytes = data.subarray(sep + 4);
  let len = bodyBytes.length;
  if (cls.length === 1) {
    if (!/^\d{1,9}$/.test(cls[0])) return reject("bad Content-Length header");
    len = Number(cls[0]);
    if (len > bodyBytes.length) return reject("Content-Length larger than the message body");
  } else if (stream && bodyBytes.length > 0) return reject("missing Content-Length header");
  msg.body = bodyBytes.subarray(0, len).toString("utf8");

  // Mandatory headers (RFC 3261 8.1.1) and their syntax.
  for (const h of ["via", "from", "to", "call-id", "cseq"]) {
    if (!msg.has(h)) return reject(`missing ${canonicalName(h)} header`);
  }
  for (const h of SINGLE_HEADERS) if (msg.getAll(h).length > 1) return reject(`multiple ${canonicalName(h)} headers`);
  if (msg.getAll("via").some((v) => !parseVia(v))) return reject("bad Via header");
  if (!msg.from && !isForeignNameAddr(msg.get("from") ?? "")) return reject("bad From header");
  if (!msg.to && !isForeignNameAddr(msg.get("to") ?? "")) return reject("bad To header");
  if (!/^[^\s]+$/.test(msg.callId)) return reject("bad Call-ID header");
  const cseq = parseCSeq(msg.get("cseq") ?? "");
  if (!cseq) return reject("bad CSeq header");
  const mf = msg.get("max-forwards");
  if (mf !== undefined && (!/^\d{1,10}$/.test(mf) || Number(mf) > 255)) return reject("bad Max-Forwards header");
  const exp = msg.get("expires");
  if (exp !== undefined && (!/^\d{1,10}$/.test(exp) || Number(exp) > 0xffffffff)) return reject("bad Expires header");
  const ct = msg.get("content-type");
  if (ct !== undefined && !/^[\w\-.!%*+`'~]+\/[\w\-.!%*+`'~]+(\s*;.*)?$/.test(ct))
    return reject("bad Content-Type header");
  for (const c of msg.getAll("contact")) {
    if (c === "*") continue;
    const na = parseNameAddr(c);
    if (!na) {
      if (c.includes("<") && isForeignNameAddr(c)) continue;
      return reject("bad Contact header");
    }
    const e = na.getParam("expires");
    if (e !== undefined && e !== null && (!/^\d{1,10}$/.test(e) || Number(e) > 0xffffffff)) {
      return reject("bad Contact expires parameter");
    }
  }
  for (const h of ["route", "record-route"]) {
    for (const r of msg.getAll(h)) if (!parseNameAddr(r)) return reject(`bad ${canonicalName(h)} header`);
  }
  if (msg instanceof SipRequest && cseq.method !== msg.method) return reject("CSeq method does not match the request");
  return { ok: true, msg };
}

const FOREIGN_URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^<>\s"]+$/;

/**
 * From/To/Contact with a non-SIP absolute URI (RFC 4475 3.3.4: `<http://...>`, `isbn:...`). sip.js's grammar
 * rejects those, but they are valid and the request must be processed.
 */
export function isForeignNameAddr(v: string): boolean {
  const t = v.trim();
  const lt = t.indexOf("<");
  if (lt < 0) return FOREIGN_URI.test(t.split(";")[0].trim());
  const gt = t.indexOf(">", lt);
  if (gt < 0) return false;
  const display = t.slice(0, lt).trim();
  if (display !== "" && !/^"(?:[^"\\]|\\.)*"$/.test(display) && !/^[\w\-.!%*+`'~ ]+$/.test(display)) return false;
  return FOREIGN_URI.test(t.slice(lt + 1, gt));
}

function fail(request: SipRequest, error: string, status: number): ParseResult {
  return { ok: false, error, status, request, isResponse: false };
}

/**
 * Build a response to `req` (RFC 3261 8.2.6): Via, From, To, Call-ID and CSeq copied; a To tag added when
 * `toTag` is given and the request had none.
 */
export function makeResponse(req: SipRequest, status: number, reason?: string, toTag?: string): SipResponse {
  const res = new SipResponse(status, reason ?? reasonPhrase(status));
  for (const v of req.getAll("via")) res.add("via", v);
  const from = req.get("from");
  if (from !== undefined) res.add("from", from);
  let to = req.get("to");
  if (to !== undefined && toTag && status > 100 && !req.toTag) to = `${to};tag=${toTag}`;
  if (to !== undefined) res.add("to", to);
  res.add("call-id", req.get("call-id") ?? "");
  res.add("cseq", req.get("cseq") ?? "");
  return res;
}

/** Quote a string for a header (display names, Warning text). */
export function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\r\n]/g, " ")}"`;
}
