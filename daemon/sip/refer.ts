// Blind transfer by REFER (RFC 3515), from the transferor's side: one REFER at a time per dialog, its implicit
// subscription to the "refer" event (RFC 6665) and the NOTIFYs whose message/sipfrag bodies report the
// transferee's call to the target. Receiving REFER stays unsupported (the leg answers 405).
import type { Dialog } from "./dialog.ts";
import { type SipRequest, type SipResponse, parseNameAddr, parseUri } from "./message.ts";
import type { SipStack } from "./stack.ts";
import type { SendTarget } from "./transport.ts";
import type { LegEndCause, ReferOptions, ReferResult } from "./types.ts";

export const DEFAULT_REFER_TIMEOUT_MS = 30_000;

/** The status line of a message/sipfrag body (RFC 3420), e.g. "SIP/2.0 180 Ringing"; undefined without one. */
export function parseSipfrag(body: string): { status: number; reason: string } | undefined {
  const first = body.replace(/^(?:[ \t]*\r?\n)+/, "").split(/\r?\n/, 1)[0] ?? "";
  const m = /^SIP\/2\.0[ \t]+([1-6][0-9]{2})(?:[ \t]+(.*?))?[ \t]*$/i.exec(first);
  return m ? { status: Number(m[1]), reason: m[2] ?? "" } : undefined;
}

/** A sip:/sips: URI given by the daemon's user, checked before it goes into a header. */
function sipUri(value: string, what: string): string {
  const v = value.trim();
  const u = /^sips?:[^\s<>"]+$/i.test(v) ? parseUri(v) : undefined;
  if (!u) throw new Error(`${what} "${value}" is not a sip: URI`);
  if (u.user?.includes(":")) throw new Error(`${what} "${u.scheme}:…@${u.host}" must not carry a password`);
  return v;
}

/**
 * The Refer-To URI for a transfer target. A sip:/sips: URI is used as given. A phone number (digits with an
 * optional leading +, * and #; spaces, dots, dashes, slashes and parentheses are ignored) becomes
 * `<scheme>:NUMBER@<host[:port]>` of `peerUri`, the peer's URI in the dialog (see `referPeerUri`), so the peer
 * dials it in its own domain. Throws with a message naming the target when it is neither.
 */
export function referTargetUri(target: string, peerUri: string): string {
  if (/^\s*sips?:/i.test(target)) return sipUri(target, "transfer target");
  const number = target.replace(/[\s.\-/()]/g, "");
  if (!/^\+?[0-9*#]+$/.test(number)) throw new Error(`transfer target "${target}" is neither a sip: URI nor a number`);
  const peer = parseUri(peerUri);
  if (!peer) throw new Error(`cannot turn "${target}" into a URI: the peer's URI "${peerUri}" does not parse`);
  const port = peer.port === undefined ? "" : `:${peer.port}`;
  return `${peer.scheme}:${number.replace(/#/g, "%23")}@${peer.host}${port}`;
}

/**
 * The peer's URI in a dialog: From of an inbound INVITE, To of an outbound one (its address of record, which a
 * trunk or PBX treats as its own domain). An anonymous one (host *.invalid, RFC 3323) gives way to its Contact.
 */
export function referPeerUri(d: Pick<Dialog, "remote" | "remoteTarget">): string {
  const aor = parseNameAddr(d.remote)?.uri;
  if (aor && !/\.invalid$/i.test(aor.host)) return aor.toString();
  return d.remoteTarget;
}

/** First token and parameters of a header such as `Event: refer;id=7` or `Subscription-State: terminated;reason=x`. */
function tokenWithParams(value: string): { token: string; params: Map<string, string> } {
  const [head, ...rest] = value.split(";");
  const params = new Map<string, string>();
  for (const p of rest) {
    const i = p.indexOf("=");
    const k = (i < 0 ? p : p.slice(0, i)).trim().toLowerCase();
    if (k)
      params.set(
        k,
        i < 0
          ? ""
          : p
              .slice(i + 1)
              .trim()
              .replace(/^"(.*)"$/, "$1"),
      );
  }
  return { token: head.trim().toLowerCase(), params };
}

/** One REFER and its implicit subscription. */
interface Transfer {
  /** CSeq number of the REFER: the `id` of its subscription in NOTIFY (RFC 3515 2.4.6). */
  readonly id: number;
  /** 2xx to the REFER (or a NOTIFY, which may overtake it) arrived. */
  accepted: boolean;
  done: boolean;
  /** Last provisional sipfrag status line, for the reason when nothing final follows. */
  progress?: string;
  finish(r: ReferResult): void;
}

type Respond = (status: number, extra?: Array<[string, string]>, reason?: string) => void;

/** The subscriber side of the refer event package for one leg: sends REFER, answers and interprets NOTIFY. */
export class ReferSubscriber {
  /** The REFER whose result is still open (one at a time). */
  private current: Transfer | undefined;
  /** Subscriptions not yet terminated, by id; a finished transfer keeps its own until the final NOTIFY. */
  private live = new Map<number, Transfer>();

  constructor(
    private stack: SipStack,
    private dialogOf: () => Dialog | undefined,
    private signal: AbortSignal,
    private callId: string,
  ) {
    signal.addEventListener("abort", () => this.legEnded(signal.reason as LegEndCause | undefined), { once: true });
  }

  async refer(target: string, opts: ReferOptions = {}): Promise<ReferResult> {
    // Everything up to the first await runs synchronously, so a second call always sees `current`.
    if (this.current) throw new Error("a REFER is already in progress on this call");
    const d = this.dialogOf();
    if (!d || this.signal.aborted) throw new Error("cannot transfer: the call has ended");
    const referTo = referTargetUri(target, referPeerUri(d));
    const referredBy =
      opts.referredBy === undefined
        ? (parseNameAddr(d.local)?.uri.toString() ?? this.stack.contactUri(d.transport))
        : sipUri(opts.referredBy, "referredBy");
    const timeoutMs = opts.timeoutMs ?? DEFAULT_REFER_TIMEOUT_MS;
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      throw new Error(`refer timeoutMs must be a positive number of milliseconds, not ${timeoutMs}`);
    }
    const { req, hop } = d.build(this.stack, "REFER", { contact: true });
    req.add("refer-to", `<${referTo}>`);
    req.add("referred-by", `<${referredBy}>`);

    let resolve!: (r: ReferResult) => void;
    const result = new Promise<ReferResult>((r) => {
      resolve = r;
    });
    let timer: NodeJS.Timeout | undefined;
    const t: Transfer = {
      id: req.cseq.seq,
      accepted: false,
      done: false,
      finish: (r) => {
        if (t.done) return;
        t.done = true;
        clearTimeout(timer);
        if (this.current === t) this.current = undefined;
        this.stack.log.debug({ callId: this.callId, outcome: r.outcome, status: r.status }, "REFER finished");
        resolve(r);
      },
    };
    this.current = t;
    this.live.set(t.id, t);
    timer = setTimeout(() => {
      // Forgetting the subscription makes a late NOTIFY get 481, which ends it at the notifier (RFC 6665 4.1.3).
      this.live.delete(t.id);
      const what = t.accepted ? "no final NOTIFY" : "no answer to the REFER";
      t.finish({ outcome: "timeout", reason: `${what} within ${timeoutMs} ms${t.progress ? ` (${t.progress})` : ""}` });
    }, timeoutMs);

    let dest: SendTarget;
    try {
      dest = await d.target(this.stack, hop);
    } catch (e) {
      this.live.delete(t.id);
      t.finish({ outcome: "failed", reason: `REFER not sent: ${e instanceof Error ? e.message : String(e)}` });
      return result;
    }
    if (t.done) return result;
    this.stack.log.debug({ callId: this.callId, referTo }, "REFER sent");
    this.stack.sendRequest(req, dest, {
      response: (res) => this.onReferResponse(t, res),
      timeout: () => {
        this.live.delete(t.id);
        t.finish({ outcome: "timeout", reason: "no answer to the REFER" });
      },
      transportError: (e) => {
        this.live.delete(t.id);
        t.finish({ outcome: "failed", reason: `REFER not sent: ${e.message}` });
      },
    });
    return result;
  }

  private onReferResponse(t: Transfer, res: SipResponse): void {
    if (res.status < 200) return;
    if (res.status < 300) {
      t.accepted = true;
      return;
    }
    this.live.delete(t.id);
    t.finish({ outcome: "rejected", status: res.status, reason: `REFER rejected: ${res.status} ${res.reason}` });
  }

  /** An in-dialog NOTIFY: answered through `respond` first, then applied to its transfer. */
  onNotify(req: SipRequest, respond: Respond): void {
    const eventHeader = req.get("event");
    if (eventHeader === undefined) {
      respond(400, [], "Missing Event Header");
      return;
    }
    const event = tokenWithParams(eventHeader);
    if (event.token !== "refer") {
      respond(489, [["allow-events", "refer"]]);
      return;
    }
    const t = this.subscriptionFor(event.params.get("id"));
    if (!t) {
      respond(481, [], "Subscription Does Not Exist");
      return;
    }
    const stateHeader = req.get("subscription-state");
    if (stateHeader === undefined) {
      respond(400, [], "Missing Subscription-State Header");
      return;
    }
    const state = tokenWithParams(stateHeader);
    const terminated = state.token === "terminated";
    const contentType = (req.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
    const hasBody = req.body.trim() !== "";
    const frag = hasBody && contentType === "message/sipfrag" ? parseSipfrag(req.body) : undefined;
    // RFC 3515 2.4.5: every NOTIFY carries a sipfrag starting with a status line. A terminating NOTIFY without a
    // body is accepted: it still ends the subscription, just without a final status.
    if (hasBody && contentType !== "message/sipfrag") respond(415, [["accept", "message/sipfrag"]]);
    else if (hasBody && !frag) respond(400, [], "Bad Sipfrag Body");
    else if (!hasBody && !terminated) respond(400, [], "Missing Sipfrag Body");
    else respond(200);
    t.accepted = true;
    if (terminated) this.live.delete(t.id);
    if (t.done) return;
    if (frag && frag.status < 200) t.progress = `${frag.status} ${frag.reason}`.trim();
    if (frag && frag.status >= 200 && frag.status < 300) {
      t.finish({
        outcome: "transferred",
        status: frag.status,
        reason: `target answered: ${frag.status} ${frag.reason}`,
      });
    } else if (frag && frag.status >= 300) {
      t.finish({ outcome: "failed", status: frag.status, reason: `target failed: ${frag.status} ${frag.reason}` });
    } else if (terminated) {
      const why = state.params.get("reason");
      const last = t.progress ? ` after ${t.progress}` : "";
      t.finish({
        outcome: "failed",
        reason: `subscription terminated${why ? ` (${why})` : ""}${last} without a final status`,
      });
    }
  }

  /** RFC 3515 2.4.6: NOTIFY carries the REFER's CSeq as `id`; the first REFER of a dialog may be matched without. */
  private subscriptionFor(id: string | undefined): Transfer | undefined {
    if (id === undefined) return [...this.live.values()].at(-1);
    return /^\d+$/.test(id) ? this.live.get(Number(id)) : undefined;
  }

  private legEnded(cause: LegEndCause | undefined): void {
    this.live.clear();
    const t = this.current;
    if (!t) return;
    // Some transferees hang up instead of sending the final NOTIFY once they have taken the call over.
    if (t.accepted && cause?.by === "remote" && cause.reason === "bye") {
      t.finish({ outcome: "transferred", reason: "peer hung up after accepting the REFER" });
      return;
    }
    const how = cause ? `${cause.by} ${cause.reason}` : "ended";
    t.finish({ outcome: "failed", reason: `call ended (${how}) before the transfer completed` });
  }
}
