// HTTP Digest for SIP (RFC 3261 22, RFC 2617, RFC 7616, RFC 8760): MD5 and SHA-256 (and their -sess variants),
// qop=auth / auth-int with nc and cnonce. Ours because sip.js only does MD5; used for REGISTER and INVITE alike.
import { createHash, randomBytes } from "node:crypto";

export type DigestAlgorithm = "MD5" | "MD5-sess" | "SHA-256" | "SHA-256-sess" | "SHA-512-256" | "SHA-512-256-sess";

export interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque?: string;
  algorithm: DigestAlgorithm;
  /** Offered qop values (lower case); empty = RFC 2069 style. */
  qop: string[];
  stale: boolean;
  /** true for Proxy-Authenticate (answer with Proxy-Authorization). */
  proxy: boolean;
}

const ALGORITHMS: Record<string, DigestAlgorithm> = {
  md5: "MD5",
  "md5-sess": "MD5-sess",
  "sha-256": "SHA-256",
  "sha-256-sess": "SHA-256-sess",
  "sha-512-256": "SHA-512-256",
  "sha-512-256-sess": "SHA-512-256-sess",
};

/** Parse auth-params of a `Digest ...` challenge. Undefined when not Digest or an unknown algorithm. */
export function parseChallenge(value: string, proxy: boolean): DigestChallenge | undefined {
  const m = /^\s*Digest\s+(.*)$/is.exec(value);
  if (!m) return undefined;
  const params = parseAuthParams(m[1]);
  const realm = params.get("realm");
  const nonce = params.get("nonce");
  if (realm === undefined || nonce === undefined) return undefined;
  const algorithm = ALGORITHMS[(params.get("algorithm") ?? "MD5").toLowerCase()];
  if (!algorithm) return undefined;
  const qop = (params.get("qop") ?? "")
    .split(",")
    .map((q) => q.trim().toLowerCase())
    .filter((q) => q.length > 0);
  return {
    realm,
    nonce,
    opaque: params.get("opaque"),
    algorithm,
    qop,
    stale: (params.get("stale") ?? "").toLowerCase() === "true",
    proxy,
  };
}

/** `a=b, c="d, e"` → Map (names lower-cased, quotes and escapes removed). */
export function parseAuthParams(s: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /\s*([A-Za-z0-9\-_.]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/gy;
  let m: RegExpExecArray | null = re.exec(s);
  while (m !== null) {
    out.set(m[1].toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3]);
    if (re.lastIndex >= s.length) break;
    m = re.exec(s);
  }
  return out;
}

/** RFC 8760 3: when several challenges are offered, use the strongest algorithm we support. */
export function pickChallenge(challenges: DigestChallenge[]): DigestChallenge | undefined {
  const rank = (a: DigestAlgorithm) => (a.startsWith("SHA-512-256") ? 3 : a.startsWith("SHA-256") ? 2 : 1);
  return [...challenges].sort((a, b) => rank(b.algorithm) - rank(a.algorithm))[0];
}

function hashName(a: DigestAlgorithm): string {
  return a.startsWith("SHA-512-256") ? "sha512-256" : a.startsWith("SHA-256") ? "sha256" : "md5";
}

function h(alg: DigestAlgorithm, s: string): string {
  return createHash(hashName(alg)).update(s, "utf8").digest("hex");
}

export interface DigestInput {
  username: string;
  password: string;
  method: string;
  uri: string;
  /** Needed for qop=auth-int. */
  body?: string;
  /** Fixed values for test vectors; random / 1 otherwise. */
  cnonce?: string;
  nc?: number;
}

/** The response hash (RFC 7616 3.4.1). */
export function digestResponse(
  c: DigestChallenge,
  inp: DigestInput,
  qop: string | undefined,
  cnonce: string,
  nc: string,
) {
  let ha1 = h(c.algorithm, `${inp.username}:${c.realm}:${inp.password}`);
  if (c.algorithm.endsWith("-sess")) ha1 = h(c.algorithm, `${ha1}:${c.nonce}:${cnonce}`);
  const ha2 =
    qop === "auth-int"
      ? h(c.algorithm, `${inp.method}:${inp.uri}:${h(c.algorithm, inp.body ?? "")}`)
      : h(c.algorithm, `${inp.method}:${inp.uri}`);
  return qop
    ? h(c.algorithm, `${ha1}:${c.nonce}:${nc}:${cnonce}:${qop}:${ha2}`)
    : h(c.algorithm, `${ha1}:${c.nonce}:${ha2}`);
}

/** Build the Authorization / Proxy-Authorization header value answering `c`. */
export function authorize(c: DigestChallenge, inp: DigestInput): { header: string; value: string } {
  // Prefer auth over auth-int (no body hashing surprises); RFC 2069 mode only when no qop is offered.
  const qop = c.qop.includes("auth") ? "auth" : c.qop.includes("auth-int") ? "auth-int" : undefined;
  const cnonce = inp.cnonce ?? randomBytes(12).toString("hex");
  const nc = (inp.nc ?? 1).toString(16).padStart(8, "0");
  const response = digestResponse(c, inp, qop, cnonce, nc);
  const parts = [
    `username="${esc(inp.username)}"`,
    `realm="${esc(c.realm)}"`,
    `nonce="${esc(c.nonce)}"`,
    `uri="${esc(inp.uri)}"`,
    `response="${response}"`,
    `algorithm=${c.algorithm}`,
  ];
  if (c.opaque !== undefined) parts.push(`opaque="${esc(c.opaque)}"`);
  if (qop) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce="${cnonce}"`);
  return { header: c.proxy ? "Proxy-Authorization" : "Authorization", value: `Digest ${parts.join(", ")}` };
}

function esc(s: string): string {
  return s.replace(/[\\"]/g, (ch) => `\\${ch}`);
}

/**
 * Digest state for one request chain (a registration, a call): nonce-counts per nonce, and the rule that a
 * challenge answering an already authenticated request means bad credentials unless the server says stale=true.
 */
export class DigestSession {
  private nc = new Map<string, number>();
  private lastWasAuthenticated = false;

  constructor(
    private username: string,
    private password: string,
  ) {}

  /** Call after a non-401/407 final response: the next challenge starts a fresh attempt. */
  reset(): void {
    this.lastWasAuthenticated = false;
  }

  /** Headers to add to the retried request, or undefined when we must give up. */
  respond(
    challengeHeaders: { www: string[]; proxy: string[] },
    req: { method: string; uri: string; body?: string },
  ): Array<{ header: string; value: string }> | undefined {
    const out: Array<{ header: string; value: string }> = [];
    let stale = false;
    for (const [values, proxy] of [
      [challengeHeaders.www, false],
      [challengeHeaders.proxy, true],
    ] as const) {
      const parsed = values.map((v) => parseChallenge(v, proxy)).filter((c): c is DigestChallenge => c !== undefined);
      // One credential per realm (RFC 3261 22.3: several proxies may each challenge).
      const realms = new Map<string, DigestChallenge[]>();
      for (const c of parsed) realms.set(c.realm, [...(realms.get(c.realm) ?? []), c]);
      for (const list of realms.values()) {
        const c = pickChallenge(list);
        if (!c) continue;
        stale ||= c.stale;
        const nc = (this.nc.get(c.nonce) ?? 0) + 1;
        this.nc.set(c.nonce, nc);
        out.push(authorize(c, { username: this.username, password: this.password, ...req, nc }));
      }
    }
    if (out.length === 0 || (this.lastWasAuthenticated && !stale)) return undefined;
    this.lastWasAuthenticated = true;
    return out;
  }
}
