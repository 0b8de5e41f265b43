// baresip 1.0.0 as a real SIP user agent on 127.0.0.1, headless: the `aufile` module plays a WAV as the microphone,
// `aubridge` is a dummy speaker, and the `sndfile` audio filter dumps what baresip sends (…-enc.wav) and what it
// receives and decodes (…-dec.wav) into `recordDir`. Controlled through stdin (the stdio module reads it even
// without a terminal). Facts that shape this file, all checked against 1.0.0:
//  - without `net_interface 127.0.0.1` it advertises eth0 in SDP;
//  - at the end of the aufile source it hangs up the call ("menu: audio error (0,end of file)"), so the WAV length
//    bounds the call: pad the source when the call must last longer;
//  - a received RFC 4733 event is printed as "received event: 'X' (end=0|1)", often only the end=0 line.
import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
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
}

export interface BaresipHandle {
  /** SIP URI other peers can call. */
  uri: string;
  port: number;
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
  const port = await freePort();
  const rtp = await freePortRange(40);
  const user = opts.user ?? "baresip";
  const modules = ["stdio", "g711", "g722", "aufile", "aubridge", "sndfile"].filter(
    (m) => m !== "g722" || (opts.codecs ?? []).includes("G722"),
  );
  const config = [
    "poll_method epoll",
    `sip_listen 127.0.0.1:${port}`,
    "sip_trans_def udp",
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
  const params = [`regint=0`, `audio_codecs=${codecs}`, `dtmfmode=rtpevent`];
  if (opts.autoAnswer) params.push("answermode=auto");
  if (opts.ptime) params.push(`ptime=${opts.ptime}`);
  writeFileSync(join(dir, "accounts"), `<sip:${user}@127.0.0.1:${port}>;${params.join(";")}\n`);
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
