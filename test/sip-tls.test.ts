// SIP over TLS and SDES-SRTP with real peers: baresip calls the box over TLS with mandatory SRTP (what the box
// records is what baresip sent); the box registers to Kamailio over TLS, checking Kamailio's certificate, and takes a
// call that Kamailio relays over that connection; the box dials baresip at a sips: URI and offers SRTP itself.
// Peer facts (Kamailio's TLS flow handling, baresip's TLS and mediaenc settings) are in test/peers/*.ts.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { generateSpeechWav, resampleWav, toneWav } from "./audio/fixtures.ts";
import { activeSeconds, bestCorrelation, envelopeCorrelation } from "./audio/signal.ts";
import { finishedWav, readWav, readWavMono } from "./audio/wav.ts";
import { startBaresip } from "./peers/baresip.ts";
import {
  type CdrRow,
  type DaemonHandle,
  runSipp,
  scenario,
  sippDetail,
  skipUnlessPeers,
  startDaemon,
  stopAll,
} from "./peers/daemon.ts";
import { kamailioTlsSkipReason, startKamailio } from "./peers/kamailio.ts";
import { freePort } from "./peers/ports.ts";
import { makeSelfSignedCertificate } from "./peers/tls-cert.ts";

const work = mkdtempSync(join(tmpdir(), "sb-sip-tls-"));
after(async () => {
  await stopAll();
  rmSync(work, { recursive: true, force: true });
});

const TLS_LISTEN = { transport: "tls", address: "127.0.0.1", port: 0 };
const listeners = [
  { transport: "udp", address: "127.0.0.1", port: 0 },
  { transport: "tcp", address: "127.0.0.1", port: 0 },
  TLS_LISTEN,
];

function newRow(d: DaemonHandle, before: Set<string>, direction: "inbound" | "outbound"): CdrRow | undefined {
  return d.calls().find((r) => !before.has(r.id) && r.direction === direction && r.ended_at !== null);
}

describe("baresip calls the box over TLS with mandatory SRTP", {
  skip: skipUnlessPeers("baresip", "espeak-ng", "sox", "sipp"),
  timeout: 120_000,
}, () => {
  it("answers RTP/SAVP, records what baresip sent, and baresip hears the box; plain RTP gets 488", async (t) => {
    const d = await startDaemon({
      config: {
        sip: { listen: listeners, srtp: "mandatory" },
        media: { codecs: ["PCMA"] },
        demo: { menuTimeoutS: 60 },
      },
    });
    assert.ok(d.sipTls, "the ready line names the tls listener");
    const src = generateSpeechWav(
      "This call travels over TLS with encrypted media. The box must record exactly these words.",
      { rate: 8000 },
    );
    const b = await startBaresip({ sourceWav: src, codecs: ["PCMA"], mediaenc: "srtp-mand", tls: {} });
    const before = new Set(d.calls().map((r) => r.id));
    b.dial(`sip:+4930555@127.0.0.1:${d.sipTls.port};transport=tls`);
    await b.waitFor(/Call established/, 10_000);
    await b.waitFor(/SRTP is Enabled/, 5_000);
    await b.waitFor(/terminated/, 30_000);
    const rows = await d.waitForCalls(() => newRow(d, before, "inbound") !== undefined, 10_000);
    const row = newRow(d, before, "inbound") ?? rows[0];
    assert.equal(row.transport, "tls", JSON.stringify(row));
    assert.match(row.events, /media SRTP AES_CM_128_HMAC_SHA1_80/, row.events);
    const stats = JSON.parse(row.media_stats ?? "{}") as { packetsReceived?: number; srtpAuthFailed?: number };
    assert.ok((stats.packetsReceived ?? 0) > 100, `media_stats=${row.media_stats}`);

    // Decryption is right when the recording's caller channel is what baresip played.
    assert.ok(row.recording_path && existsSync(row.recording_path), `recording_path=${row.recording_path}`);
    const rec = readWav(await finishedWav(row.recording_path));
    const ref = readWavMono(rec.rate === 8000 ? src : resampleWav(src, rec.rate)).samples;
    const wave = bestCorrelation(ref, rec.channels[0], 2 * rec.rate);
    const env = envelopeCorrelation(ref, rec.channels[0], rec.rate);
    t.diagnostic(`SRTP caller channel: waveform r=${wave.r.toFixed(4)}, envelope r=${env.r.toFixed(4)}`);
    assert.ok(wave.r > 0.9 || env.r > 0.9, `waveform r=${wave.r}, envelope r=${env.r}`);
    // Encryption is right when baresip could decrypt the box's greeting.
    await b.stop();
    const dec = b.dumps().dec.at(-1);
    assert.ok(dec, "baresip wrote no decoded-audio dump");
    const heard = readWavMono(dec);
    assert.ok(activeSeconds(heard.samples, heard.rate) > 1, "baresip heard less than 1 s of the box's greeting");

    // Mandatory SRTP refuses a plain RTP offer with 488 (sipp -sn uac offers RTP/AVP).
    const plain = await runSipp({ target: d.sipUdp, args: ["-sn", "uac", "-m", "1"], timeoutMs: 20_000 });
    assert.equal(plain.successful, 0, sippDetail(plain));
    const refused = await d.waitForCalls((rs) => rs.some((r) => r.sip_status === 488), 5_000);
    const plainRow = refused.find((r) => r.sip_status === 488);
    assert.equal(plainRow?.transport, "udp");
    assert.equal(plainRow?.hangup_cause, "SRTP is mandatory and the offer is plain RTP");
    assert.equal(await d.stop(), 0);
  });
});

describe("the box registers to Kamailio over TLS", {
  skip: kamailioTlsSkipReason() ?? skipUnlessPeers("sipp"),
  timeout: 90_000,
}, () => {
  it("checks Kamailio's certificate, registers with digest, and takes calls relayed over its own connection", async () => {
    const port = await freePort();
    const tlsPort = await freePort();
    const kam = await startKamailio({ port, tlsPort, user: "agent", password: "secret123", maxExpires: 60 });
    const trunk = {
      id: "kam",
      domain: "127.0.0.1",
      registrar: `sip:127.0.0.1:${tlsPort}`,
      transport: "tls",
      username: "agent",
      password: "secret123",
      expiresS: 60,
      keepalive: { method: "crlf", intervalS: 10 },
    };
    try {
      // Without Kamailio's CA the handshake is refused, and the log says which server and why.
      const untrusting = await startDaemon({ config: { trunks: [trunk] } });
      const refused = await untrusting.waitForLog(
        (l) => l.msg === "trunk registration" && l.state === "failed",
        15_000,
      );
      const why = untrusting.logs().find((l) => /^TLS to /.test(String(l.err ?? l.msg)));
      assert.ok(why, `no TLS error logged; registration: ${JSON.stringify(refused)}`);
      assert.match(String(why.err ?? why.msg), /127\.0\.0\.1:\d+.*(self[- ]signed|certificate)/i);
      assert.equal(await untrusting.stop(), 0);

      const d = await startDaemon({ config: { sip: { tls: { ca: [kam.tls?.caFile] } }, trunks: [trunk] } });
      await d.waitForLog((l) => l.msg === "trunk registration" && l.state === "registered", 15_000);
      assert.match(kam.log(), /REGISTERED sip:agent@127\.0\.0\.1.*transport=tls/i);
      // sipp calls the AOR over UDP; Kamailio can only reach the box over the TLS connection the box opened.
      const r = await runSipp({
        target: { address: "127.0.0.1", port },
        args: ["-sn", "uac", "-s", "agent", "-m", "2", "-r", "2", "-d", "1000"],
        timeoutMs: 30_000,
      });
      assert.equal(r.successful, 2, sippDetail(r));
      const rows = await d.waitForCalls((rs) => rs.filter((x) => x.ended_at !== null).length >= 2, 10_000);
      for (const row of rows) {
        assert.equal(row.trunk, "kam", JSON.stringify(row));
        assert.equal(row.transport, "tls");
        assert.equal(row.did, "agent");
      }
      assert.equal(await d.stop(), 0);
    } finally {
      await kam.stop();
    }
  });
});

describe("the box dials a sips: URI", { skip: skipUnlessPeers("baresip", "sipp"), timeout: 90_000 }, () => {
  it("offers RTP/SAVP over TLS to the operator, checks the operator's certificate, and bridges", async () => {
    const cert = await makeSelfSignedCertificate(work, "operator");
    const operator = await startBaresip({
      sourceWav: toneWav(700, 20_000),
      codecs: ["PCMA"],
      mediaenc: "srtp-mand",
      autoAnswer: true,
      user: "operator",
      tls: cert,
    });
    const d = await startDaemon({
      config: {
        sip: { listen: listeners, tls: { ca: [cert.certificate] } },
        media: { codecs: ["PCMA"] },
        demo: { operator: `sips:operator@127.0.0.1:${operator.tlsPort}`, menuTimeoutS: 60 },
      },
    });
    const before = new Set(d.calls().map((r) => r.id));
    const caller = await runSipp({
      target: d.sipUdp,
      args: ["-sf", scenario("uac_operator.xml", { DIGIT: 0, HOLD_AFTER_MS: 7500 }), "-m", "1"],
      timeoutMs: 60_000,
      mediaPorts: true,
    });
    assert.equal(caller.successful, 1, sippDetail(caller));
    await operator.waitFor(/SRTP is Enabled/, 5_000);
    await d.waitForCalls(
      () => newRow(d, before, "outbound") !== undefined && newRow(d, before, "inbound") !== undefined,
      15_000,
    );
    const out = newRow(d, before, "outbound") as CdrRow;
    const inbound = newRow(d, before, "inbound") as CdrRow;
    assert.equal(out.transport, "tls", JSON.stringify(out));
    assert.equal(out.linked_call_id, inbound.id);
    assert.ok(out.answered_at !== null, "the operator answered");
    assert.match(out.events, /media SRTP AES_CM_128_HMAC_SHA1_80/, out.events);
    assert.doesNotMatch(inbound.events, /media SRTP/, "the sipp leg stays plain RTP");
    // The operator's 700 Hz tone crossed the bridge: decrypted from baresip, re-encoded to the plain caller, and
    // recorded on the caller call's box channel.
    const rec = readWav(await finishedWav(inbound.recording_path ?? ""));
    const tail = rec.channels[1].subarray(Math.max(0, rec.channels[1].length - 5 * rec.rate));
    assert.ok(activeSeconds(tail, rec.rate) > 2, "the operator's tone did not reach the caller's side");
    await operator.stop();
    assert.equal(await d.stop(), 0);
  });
});
