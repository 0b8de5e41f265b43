// CLI and process lifecycle: check-config, version, graceful SIGTERM (BYE to active calls, 503 to new ones, exit 0)
// and crash recovery (SIGKILL mid-call, restart on the same data dir keeps the CDRs and closes the orphan).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  daemonBin,
  readCalls,
  repoRoot,
  runSipp,
  type SipEndpoint,
  scenario,
  skipUnlessPeers,
  startDaemon,
  stopAll,
} from "./peers/daemon.ts";

const cli = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", daemonBin, ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    timeout: 30_000,
    env: { ...process.env, ORT_DISABLE_TELEMETRY: "1" },
  });

const tmp = mkdtempSync(join(tmpdir(), "switchboard-lifecycle-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe("switchboard CLI", { timeout: 60_000 }, () => {
  it("check-config accepts a good file", () => {
    const good = join(tmp, "good.yaml");
    writeFileSync(
      good,
      [
        "sip:",
        "  listen:",
        "    - transport: udp",
        "      address: 127.0.0.1",
        "      port: 5060",
        "demo:",
        "  operator: sip:operator@127.0.0.1:5070",
        "  sendDigitsOnAnswer: '42'",
        "",
      ].join("\n"),
    );
    const r = cli("check-config", good);
    assert.equal(r.status, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  });

  it("check-config lists all three problems with YAML path and line, exit 1", () => {
    const bad = join(tmp, "bad.yaml");
    // Line numbers matter: the problems are on lines 3, 7 and 9.
    writeFileSync(
      bad,
      [
        "sip:",
        "  listen:",
        "    - transport: sctp",
        "      address: 127.0.0.1",
        "      port: 5060",
        "media:",
        "  codecs: [PCMA, OPUS]",
        "demo:",
        '  sendDigitsOnAnswer: "12x"',
        "",
      ].join("\n"),
    );
    const r = cli("check-config", bad);
    const out = `${r.stdout}\n${r.stderr}`;
    assert.equal(r.status, 1, out);
    for (const [path, line] of [
      ["sip.listen[0].transport", 3],
      ["media.codecs[1]", 7],
      ["demo.sendDigitsOnAnswer", 9],
    ] as const) {
      const hit = out.split("\n").find((l) => l.includes(path));
      assert.ok(hit, `no line names ${path}:\n${out}`);
      assert.ok(
        hit.includes(`:${line}:`) || new RegExp(`line ${line}\\b`).test(hit),
        `${path} without line ${line}: ${hit}`,
      );
    }
  });

  it("version prints the package version", () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string };
    const r = cli("version");
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.includes(pkg.version), `stdout: ${r.stdout}`);
  });

  it("start exits 1 naming the address when the SIP port is taken", async () => {
    const taken = createSocket("udp4");
    await new Promise<void>((r) => taken.bind(0, "127.0.0.1", () => r()));
    const port = taken.address().port;
    const file = join(tmp, "taken.yaml");
    writeFileSync(
      file,
      [
        "sip:",
        `  listen: [{ transport: udp, address: 127.0.0.1, port: ${port} }]`,
        "media: { rtpAddress: 127.0.0.1, rtpPortMin: 29000, rtpPortMax: 29010 }",
        "metrics: { enabled: false }",
      ].join("\n"),
    );
    try {
      const r = cli("start", "--config", file, "--data", join(tmp, "taken-data"));
      assert.equal(r.status, 1, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`EADDRINUSE 127\\.0\\.0\\.1:${port}`));
    } finally {
      taken.close();
    }
  });
});

/** One raw INVITE over UDP; resolves with the final status (ACKing a non-2xx), or undefined after `timeoutMs`. */
function inviteProbe(target: SipEndpoint, timeoutMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const sock = createSocket("udp4");
    const branch = `z9hG4bK${randomBytes(8).toString("hex")}`;
    const tag = randomBytes(4).toString("hex");
    const callId = `probe-${randomBytes(6).toString("hex")}@127.0.0.1`;
    const t = setTimeout(() => finish(undefined), timeoutMs);
    const finish = (status: number | undefined) => {
      clearTimeout(t);
      sock.close();
      resolve(status);
    };
    sock.on("message", (msg) => {
      const text = msg.toString("utf8");
      const m = /^SIP\/2\.0 (\d{3})/.exec(text);
      if (!m || !text.includes(callId)) return;
      const status = Number(m[1]);
      if (status < 200) return;
      const to = /^To:.*$/im.exec(text)?.[0] ?? "";
      const { port } = sock.address();
      const uri = `sip:probe@${target.address}:${target.port}`;
      const ack = [
        `ACK ${uri} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=${branch};rport`,
        "Max-Forwards: 70",
        `From: <sip:prober@127.0.0.1:${port}>;tag=${tag}`,
        to,
        `Call-ID: ${callId}`,
        "CSeq: 1 ACK",
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n");
      if (status >= 300) sock.send(ack, target.port, target.address, () => finish(status));
      else finish(status);
    });
    sock.bind(0, "127.0.0.1", () => {
      const { port } = sock.address();
      const sdp = [
        "v=0",
        `o=- 1 1 IN IP4 127.0.0.1`,
        "s=-",
        "c=IN IP4 127.0.0.1",
        "t=0 0",
        `m=audio ${port + 2} RTP/AVP 0`,
        "a=rtpmap:0 PCMU/8000",
        "",
      ].join("\r\n");
      const invite = [
        `INVITE sip:probe@${target.address}:${target.port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=${branch};rport`,
        "Max-Forwards: 70",
        `From: <sip:prober@127.0.0.1:${port}>;tag=${tag}`,
        `To: <sip:probe@${target.address}:${target.port}>`,
        `Call-ID: ${callId}`,
        "CSeq: 1 INVITE",
        `Contact: <sip:prober@127.0.0.1:${port}>`,
        "Content-Type: application/sdp",
        `Content-Length: ${Buffer.byteLength(sdp)}`,
        "",
        sdp,
      ].join("\r\n");
      sock.send(invite, target.port, target.address);
    });
  });
}

async function waitFile(path: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > until) throw new Error(`${path} did not appear within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("daemon lifecycle with calls", { skip: skipUnlessPeers("sipp"), timeout: 120_000 }, () => {
  after(stopAll);

  it("SIGTERM: active call gets BYE, a new INVITE gets 503, exit code 0", async () => {
    const d = await startDaemon({ config: { demo: { menuTimeoutS: 60 } } });
    const mark = join(tmp, "bye-received");
    // sipp answers the daemon's BYE only after 1.5 s, so the daemon is still shutting down when we probe it.
    const caller = runSipp({
      target: d.sipUdp,
      args: ["-sf", scenario("uac_wait_bye.xml", { WAIT_MS: 30_000, REPLY_DELAY_MS: 1500, MARK: mark }), "-m", "1"],
      timeoutMs: 40_000,
    });
    await d.waitForCalls((rs) => rs.some((r) => r.answered_at !== null), 15_000);
    d.signal("SIGTERM");
    await waitFile(mark, 10_000);
    const status = await inviteProbe(d.sipUdp, 3000);
    assert.equal(status, 503, "INVITE during shutdown");
    const r = await caller;
    assert.equal(r.successful, 1, `sipp did not get the BYE: exit ${r.code}\n${r.errors}\n${r.stdout.slice(-1000)}`);
    const code = await d.stop(); // already signalled: only waits (SIGKILL after 10 s)
    assert.equal(code, 0, d.output());
    const rows = readCalls(d.dbPath);
    const answered = rows.find((x) => x.answered_at !== null);
    assert.ok(answered?.ended_at, `call not closed in the CDR: ${JSON.stringify(rows)}`);
    assert.ok(answered.hangup_side === "box" || answered.hangup_side === "system", JSON.stringify(answered));
  });

  it("SIGKILL mid-call: restart on the same data dir keeps every CDR and closes the orphan", async () => {
    const dataDir = mkdtempSync(join(tmp, "data-"));
    const d1 = await startDaemon({ dataDir, config: { demo: { menuTimeoutS: 60 } } });
    const done = await runSipp({
      target: d1.sipUdp,
      args: ["-sn", "uac", "-m", "2", "-r", "2", "-d", "500"],
      timeoutMs: 20_000,
    });
    assert.equal(done.successful, 2, done.errors);
    await d1.waitForCalls((rs) => rs.length === 2 && rs.every((r) => r.ended_at !== null), 10_000);

    let killLong: (() => void) | undefined;
    const hanging = runSipp({
      target: d1.sipUdp,
      args: ["-sn", "uac", "-m", "1", "-d", "60000"],
      timeoutMs: 70_000,
      onStart: (kill) => {
        killLong = kill;
      },
    });
    const snapshot = await d1.waitForCalls(
      (rs) => rs.some((r) => r.answered_at !== null && r.ended_at === null),
      15_000,
    );
    assert.equal(await d1.stop("SIGKILL"), null);
    killLong?.();
    await hanging;

    const d2 = await startDaemon({ dataDir });
    const rows = d2.calls();
    for (const before of snapshot) {
      const now = rows.find((r) => r.id === before.id);
      assert.ok(now, `CDR ${before.id} lost after SIGKILL`);
      if (before.ended_at !== null) assert.deepEqual(now, before, "a closed CDR must not change on restart");
      else {
        assert.equal(now.hangup_cause, "daemon restart");
        assert.equal(now.hangup_side, "system");
        assert.ok(now.ended_at !== null && now.ended_at >= (now.answered_at ?? now.started_at), JSON.stringify(now));
      }
    }
    assert.equal(await d2.stop(), 0, d2.output());
  });
});
