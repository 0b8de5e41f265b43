// baresip 1.0.0 as a real SIP user agent on 127.0.0.1, headless: the `aufile` module plays a WAV as the microphone,
// `aubridge` is a dummy speaker, and the `sndfile` audio filter dumps what baresip sends (…-enc.wav) and what it
// receives and decodes (…-dec.wav) into `recordDir`. Controlled through stdin (the stdio module reads it even
// without a terminal). Facts that shape this file, all checked against 1.0.0:
//  - without `net_interface 127.0.0.1` it advertises eth0 in SDP;
//  - at the end of the aufile source it hangs up the call ("menu: audio error (0,end of file)"), so the WAV length
//    bounds the call: pad the source when the call must last longer;
//  - a received RFC 4733 event is printed as "received event: 'X' (end=0|1)", often only the end=0 line;
//  - SIP over TLS listens on sip_listen's port + 1 (libre's rule), and accepting TLS needs `sip_certificate` (one
//    PEM with certificate and key; without it every handshake fails with "tls: accept error"). As a TLS client it
//    does not check the server certificate at all: `sip_cafile` is loaded, but a call to a server whose
//    certificate that CA never signed still connects (1.0.0 has no sip_verify_server);
//  - SDES-SRTP needs module srtp.so and the account param mediaenc: "srtp-mand" offers RTP/SAVP with one
//    `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:...` line, "srtp" offers the same crypto line on RTP/AVP.
import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnTracked, waitExit } from "./daemon.ts";
import { freePort, freePortRange } from "./ports.ts";

export type BaresipCallState = "idle" | "calling" | "ringing" | "established" | "terminated";

export interface BaresipOptions {
  /** Mono PCM16 WAV used as the microphone, at `rate` (aufile refuses other rates). */
  sourceWav: string;
  /** Audio device rate: 8000 for G.711, 16000 for G.722. Default 8000. */
  rate?: 8000 | 16000;
  /** Offered codecs in order (baresip names: PCMA, PCMU, G722). */
  codecs?: string[];
  /** Where sndfile writes the decoded received audio; default: a temp dir. */
  recordDir?: string;
  /** Answer incoming calls automatically (for the daemon's outbound calls). */
  autoAnswer?: boolean;
  user?: string;
  /** Packet time in ms (account param ptime); baresip's default is 20. */
  ptime?: number;
  /** SIP over TLS, listening on `tlsPort` (= `port` + 1). */
  tls?: BaresipTls;
  /** Media encryption (account param mediaenc); loads srtp.so. */
  mediaenc?: "srtp" | "srtp-mand";
  /** Register at a registrar with digest; otherwise the account is local only (regint=0). */
  registration?: BaresipRegistration;
}

export interface BaresipTls {
  /** Server certificate and its key (PEM files, e.g. from makeSelfSignedCertificate); needed to accept TLS. */
  certificate?: string;
  privateKey?: string;
  /** CA PEM (sip_cafile). baresip 1.0.0 loads it but does not verify servers with it. */
  caFile?: string;
}

export interface BaresipRegistration {
  /** Registrar address, e.g. `127.0.0.1:5061;transport=tls` (becomes the AOR's hostport and params). */
  registrar: string;
  user: string;
  password: string;
  /** Refresh interval (account param regint) in seconds; default 60. */
  regintS?: number;
  /** Send calls through the registrar too (account param outbound); default true. */
  outboundProxy?: boolean;
}

export interface BaresipHandle {
  /** SIP URI other peers can call (UDP). */
  uri: string;
  port: number;
  /** With `tls`: the port baresip accepts TLS on, and the URI to call it over TLS. */
  tlsPort?: number;
  tlsUri?: string;
  /** With `registration`: the address of record. */
  aor?: string;
  recordDir: string;
  dial(uri: string): void;
  hangup(): void;
  /** Sends DTMF digits (keys typed during an established call). */
  sendDigits(digits: string): void;
  receivedDtmf(): string[];
  waitFor(re: RegExp, ms: number): Promise<string>;
  readonly callState: BaresipCallState;
  /** The WAV files baresip wrote: dec = received audio, enc = sent audio. */
  dumps(): { dec: string[]; enc: string[] };
  output(): string;
  stop(): Promise<number | null>;
}

export async function startBaresip(opts: BaresipOptions): Promise<BaresipHandle> {
  const dir = mkdtempSync(join(tmpdir(), "switchboard-baresip-"));
  const recordDir = opts.recordDir ?? join(dir, "rec");
  mkdirSync(recordDir, { recursive: true });
  const port = opts.tls ? await freePortPair() : await freePort();
  const rtp = await freePortRange(40);
  const reg = opts.registration;
  const user = reg?.user ?? opts.user ?? "baresip";
  const modules = ["stdio", "g711", "g722", "aufile", "aubridge", "sndfile", "srtp"].filter(
    (m) => (m !== "g722" || (opts.codecs ?? []).includes("G722")) && (m !== "srtp" || opts.mediaenc !== undefined),
  );
  // libre reads certificate and key from the one file sip_certificate names.
  let certificate: string | undefined;
  if (opts.tls?.certificate && opts.tls.privateKey) {
    certificate = join(dir, "sip-cert.pem");
    writeFileSync(
      certificate,
      [opts.tls.certificate, opts.tls.privateKey].map((f) => readFileSync(f, "utf8").trimEnd()).join("\n") + "\n",
      {
        mode: 0o600,
      },
    );
  }
  const config = [
    "poll_method epoll",
    `sip_listen 127.0.0.1:${port}`,
    "sip_trans_def udp",
    ...(certificate ? [`sip_certificate ${certificate}`] : []),
    ...(opts.tls?.caFile ? [`sip_cafile ${opts.tls.caFile}`] : []),
    "call_local_timeout 120",
    "call_max_calls 4",
    "audio_player aubridge,nowhere",
    `audio_source aufile,${opts.sourceWav}`,
    "audio_alert aubridge,nowhere",
    `ausrc_srate ${opts.rate ?? 8000}`,
    `auplay_srate ${opts.rate ?? 8000}`,
    "ausrc_channels 1",
    "auplay_channels 1",
    "audio_level no",
    "rtp_tos 0",
    `rtp_ports ${rtp.min}-${rtp.max}`,
    "rtcp_mux no",
    "jitter_buffer_delay 5-10",
    "rtp_stats yes",
    "module_path /usr/lib/baresip/modules",
    ...modules.map((m) => `module ${m}.so`),
    "module_app account.so",
    "module_app menu.so",
    `snd_path ${recordDir}`,
    // No DNS on test machines: point it at loopback so it does not wait for a resolver.
    "dns_server 127.0.0.1:53",
    "net_interface 127.0.0.1",
    "",
  ].join("\n");
  writeFileSync(join(dir, "config"), config);
  const codecs = (opts.codecs ?? ["PCMA", "PCMU"]).join(",");
  const params = [`audio_codecs=${codecs}`, `dtmfmode=rtpevent`];
  if (opts.autoAnswer) params.push("answermode=auto");
  if (opts.ptime) params.push(`ptime=${opts.ptime}`);
  if (opts.mediaenc) params.push(`mediaenc=${opts.mediaenc}`);
  let aor = `sip:${user}@127.0.0.1:${port}`;
  if (reg) {
    aor = `sip:${reg.user}@${reg.registrar}`;
    params.push(`auth_user=${reg.user}`, `auth_pass=${reg.password}`, `regint=${reg.regintS ?? 60}`);
    if (reg.outboundProxy ?? true) params.push(`outbound="sip:${reg.registrar}"`);
  } else params.push("regint=0");
  writeFileSync(join(dir, "accounts"), `<${aor}>;${params.join(";")}\n`);
  writeFileSync(join(dir, "contacts"), "");

  const cp: ChildProcess = spawnTracked("baresip", ["-f", dir], { cwd: dir });
  let out = "";
  let state: BaresipCallState = "idle";
  const digits: string[] = [];
  let digitInProgress: string | undefined;
  const waiters = new Set<() => void>();
  let partial = "";
  const onText = (chunk: string) => {
    // The stdio module redraws a status line with \r; split on both.
    out = (out + chunk).slice(-200_000);
    partial += chunk;
    const lines = partial.split(/[\r\n]+/);
    partial = lines.pop() ?? "";
    for (const line of lines) {
      const ev = /received event: '(.)' \(end=(\d)\)/.exec(line);
      if (ev) {
        // One digit per event: the start (end=0) counts; an end=1 counts only if its start was not printed.
        const [, d, end] = ev;
        if (end === "0") {
          if (digitInProgress !== d) digits.push(d);
          digitInProgress = d;
        } else {
          if (digitInProgress !== d) digits.push(d);
          digitInProgress = undefined;
        }
      }
      if (/Call established/.test(line)) state = "established";
      else if (/terminated/.test(line) && /Call with/.test(line)) state = "terminated";
      else if (/Call ringing|ringing/.test(line) && state !== "established") state = "ringing";
    }
    for (const w of waiters) w();
  };
  cp.stdout?.setEncoding("utf8");
  cp.stderr?.setEncoding("utf8");
  cp.stdout?.on("data", onText);
  cp.stderr?.on("data", onText);
  const exited = waitExit(cp).finally(() => rtp.release());

  const send = (line: string) => {
    cp.stdin?.write(line);
  };
  const handle: BaresipHandle = {
    uri: `sip:${user}@127.0.0.1:${port}`,
    port,
    tlsPort: opts.tls ? port + 1 : undefined,
    tlsUri: opts.tls ? `sip:${user}@127.0.0.1:${port + 1};transport=tls` : undefined,
    aor: reg ? aor : undefined,
    recordDir,
    dial(uri) {
      state = "calling";
      send(`/dial ${uri}\n`);
    },
    hangup() {
      send("/hangup\n");
    },
    sendDigits(d) {
      // Single keys during a call are sent as DTMF by the menu module.
      for (const c of d) send(c);
    },
    receivedDtmf: () => digits.slice(),
    waitFor(re, ms) {
      return new Promise((res, rej) => {
        const check = () => {
          const m = re.exec(out);
          if (m) {
            finish();
            res(m[0]);
          }
        };
        const t = setTimeout(() => {
          finish();
          rej(new Error(`baresip: ${re} not seen within ${ms} ms\n${handle.output()}`));
        }, ms);
        const finish = () => {
          clearTimeout(t);
          waiters.delete(check);
        };
        waiters.add(check);
        void exited.then(() => {
          if (waiters.has(check)) {
            finish();
            rej(new Error(`baresip exited before ${re}\n${handle.output()}`));
          }
        });
        check();
      });
    },
    get callState() {
      return state;
    },
    dumps() {
      const files = readdirSync(recordDir).sort();
      return {
        dec: files.filter((f) => f.endsWith("-dec.wav")).map((f) => join(recordDir, f)),
        enc: files.filter((f) => f.endsWith("-enc.wav")).map((f) => join(recordDir, f)),
      };
    },
    output: () => out.replace(/\[[0-9:]+\] audio=[^\r\n]*/g, "").slice(-4000),
    async stop() {
      if (cp.exitCode === null && cp.signalCode === null) {
        send("q");
        const t = setTimeout(() => cp.kill("SIGKILL"), 3000);
        const code = await exited;
        clearTimeout(t);
        return code;
      }
      return exited;
    },
  };
  await handle.waitFor(/baresip is ready/, 10_000);
  return handle;
}

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** A free SIP port whose successor is free for TCP too (baresip's TLS listener). */
async function freePortPair(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const p = await freePort();
    if (p < 65535 && (await tcpFree(p + 1))) return p;
  }
  throw new Error("no free port pair for baresip SIP + TLS");
}
