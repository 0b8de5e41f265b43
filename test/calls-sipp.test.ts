// Inbound calls from sipp (UDP, TCP, loss, RTP + RFC 2833, concurrency, DID) against the real daemon; the CDR rows,
// the recording and /metrics are the evidence.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { activeSeconds } from "./audio/signal.ts";
import { readWav } from "./audio/wav.ts";
import {
  type CdrRow,
  type DaemonHandle,
  metric,
  runSipp,
  type SippResult,
  scenario,
  sippDetail,
  skipUnlessPeers,
  startDaemon,
  stopAll,
} from "./peers/daemon.ts";

const skip = skipUnlessPeers("sipp");

function sippOk(r: SippResult, calls: number): void {
  const detail = sippDetail(r);
  assert.equal(r.successful, calls, detail);
  assert.equal(r.failed, 0, detail);
  assert.equal(r.code, 0, detail);
}

// Each test tags its Call-IDs so rows from different tests on the one daemon are told apart.
const tagged = (rows: CdrRow[], tag: string) => rows.filter((r) => r.sip_call_id.startsWith(`${tag}-`));
const allEnded = (tag: string, n: number) => (rows: CdrRow[]) => {
  const mine = tagged(rows, tag);
  return mine.length >= n && mine.every((r) => r.ended_at !== null);
};

function assertCallerHungUp(r: CdrRow): void {
  const row = JSON.stringify(r);
  assert.equal(r.direction, "inbound", row);
  assert.ok(r.answered_at !== null && r.answered_at >= r.started_at, `answered_at: ${row}`);
  assert.ok(r.ended_at !== null && r.ended_at >= (r.answered_at ?? 0), `ended_at: ${row}`);
  assert.equal(r.hangup_side, "caller", row);
  assert.ok((r.duration_ms ?? 0) > 0, `duration_ms: ${row}`);
}

describe("inbound calls from sipp", { skip, timeout: 240_000 }, () => {
  let d: DaemonHandle;
  before(async () => {
    // A long menu timeout keeps the box from hanging up before sipp's scripted BYE.
    d = await startDaemon({ config: { demo: { menuTimeoutS: 60 } } });
  });
  after(stopAll);

  it("UDP: built-in uac, caller sends BYE, CDR says caller hung up", async () => {
    const r = await runSipp({
      target: d.sipUdp,
      args: ["-sn", "uac", "-m", "3", "-r", "3", "-d", "2000", "-cid_str", "udp-%u-%p@%s"],
      timeoutMs: 30_000,
    });
    sippOk(r, 3);
    const rows = tagged(await d.waitForCalls(allEnded("udp", 3), 10_000), "udp");
    assert.equal(rows.length, 3);
    for (const row of rows) {
      assertCallerHungUp(row);
      assert.equal(row.codec, "PCMU", "sipp's built-in uac offers only PCMU");
      assert.equal(row.did, "service", "did = user part of the Request-URI (sipp default -s service)");
      assert.equal(row.from_number, "sipp");
      assert.match(row.transport ?? "", /udp/i);
    }
  });

  it("TCP: built-in uac over -t t1", async () => {
    const r = await runSipp({
      target: d.sipTcp,
      args: ["-sn", "uac", "-t", "t1", "-m", "3", "-r", "3", "-d", "2000", "-cid_str", "tcp-%u-%p@%s"],
      timeoutMs: 30_000,
    });
    sippOk(r, 3);
    const rows = tagged(await d.waitForCalls(allEnded("tcp", 3), 10_000), "tcp");
    for (const row of rows) {
      assertCallerHungUp(row);
      assert.match(row.transport ?? "", /tcp/i);
    }
  });

  it("PCMA speech + RFC 2833 '1': dtmf_log, stereo recording with the caller on the left", async () => {
    const r = await runSipp({
      target: d.sipUdp,
      args: [
        "-sf",
        scenario("uac_pcap_dtmf.xml", { DIGIT: 1, HOLD_AFTER_MS: 1500 }),
        "-m",
        "1",
        "-cid_str",
        "pcap-%u-%p@%s",
      ],
      timeoutMs: 40_000,
      mediaPorts: true,
    });
    sippOk(r, 1);
    const [row] = tagged(await d.waitForCalls(allEnded("pcap", 1), 10_000), "pcap");
    assertCallerHungUp(row);
    assert.equal(row.codec, "PCMA");
    assert.ok(row.dtmf_log.includes("1"), `dtmf_log=${row.dtmf_log}`);
    // The pcap has 236 packets of 30 ms, seq numbers without gaps; DTMF comes on its own SSRC.
    assert.ok(row.media_stats, "media_stats missing");
    const stats = JSON.parse(row.media_stats) as { packetsReceived?: number; packetsLost?: number };
    assert.ok((stats.packetsReceived ?? 0) >= 200, `media_stats=${row.media_stats}`);
    assert.equal(stats.packetsLost, 0, `loopback, gap-free pcap: media_stats=${row.media_stats}`);

    assert.ok(row.recording_path && existsSync(row.recording_path), `recording_path=${row.recording_path}`);
    const wav = readWav(row.recording_path);
    assert.equal(wav.channels.length, 2, "recording must be stereo");
    const callerActive = activeSeconds(wav.channels[0], wav.rate);
    const boxActive = activeSeconds(wav.channels[1], wav.rate);
    // The pcap holds about 6.2 s of speech above -45 dBFS.
    assert.ok(callerActive > 4, `left (caller) channel has ${callerActive} s of speech`);
    assert.ok(boxActive > 1, `right (box) channel has ${boxActive} s of audio: the greeting should be there`);
  });

  it("10 % packet loss on sipp's side: 10 calls all complete", async () => {
    const r = await runSipp({
      target: d.sipUdp,
      args: ["-sn", "uac", "-lost", "10", "-m", "10", "-l", "10", "-r", "5", "-d", "1000", "-cid_str", "lost-%u-%p@%s"],
      timeoutMs: 90_000,
    });
    sippOk(r, 10);
    const rows = tagged(await d.waitForCalls(allEnded("lost", 10), 30_000), "lost");
    assert.equal(rows.length, 10);
    for (const row of rows) assertCallerHungUp(row);
  });

  it("50 concurrent calls with RTP and DTMF all complete with 50 CDR rows", async () => {
    const r = await runSipp({
      target: d.sipUdp,
      args: [
        "-sf",
        scenario("uac_pcap_dtmf.xml", { DIGIT: 1, HOLD_AFTER_MS: 1000 }),
        "-l",
        "50",
        "-m",
        "50",
        "-r",
        "25",
        "-cid_str",
        "c50-%u-%p@%s",
      ],
      timeoutMs: 90_000,
      mediaPorts: true,
    });
    sippOk(r, 50);
    const rows = tagged(await d.waitForCalls(allEnded("c50", 50), 30_000), "c50");
    assert.equal(rows.length, 50);
    for (const row of rows) assertCallerHungUp(row);
    const withDigit = rows.filter((x) => x.dtmf_log.includes("1")).length;
    assert.equal(withDigit, 50, "every call pressed 1");
  });

  it("any DID is accepted and lands in the CDR", async () => {
    const r = await runSipp({
      target: d.sipUdp,
      args: ["-sn", "uac", "-s", "+4930123456", "-m", "1", "-d", "500", "-cid_str", "did-%u-%p@%s"],
      timeoutMs: 20_000,
    });
    sippOk(r, 1);
    const [row] = tagged(await d.waitForCalls(allEnded("did", 1), 10_000), "did");
    assert.equal(row.did, "+4930123456");
    assert.ok(row.to_uri.includes("+4930123456"), `to_uri=${row.to_uri}`);
    assert.equal(row.direction, "inbound");
  });

  it("/metrics: counters match the calls made, no call left active", async () => {
    const rows = d.calls();
    const m = await d.metrics();
    assert.equal(metric(m, "switchboard_calls_active"), 0, "all calls ended");
    let total = 0;
    for (const [k, v] of m) if (k === "switchboard_calls_total" || k.startsWith("switchboard_calls_total{")) total += v;
    assert.ok(total >= rows.length, `switchboard_calls_total=${total}, CDR rows=${rows.length}`);
    for (const q of ['quantile="0.5"', 'quantile="0.99"']) {
      assert.ok(metric(m, "switchboard_media_lateness_ms", q) !== undefined, `switchboard_media_lateness_ms{${q}}`);
    }
    assert.ok(metric(m, "switchboard_media_lateness_max_ms") !== undefined);
    assert.ok(metric(m, "switchboard_media_frames_missed_total") !== undefined);
    assert.ok((metric(m, "process_resident_memory_bytes") ?? 0) > 10_000_000);
  });
});
