// Caller presses 0, the box calls the operator (a sipp UAS that echoes RTP) and bridges the legs. Evidence: two
// linked CDR rows, RTP on the operator leg, and the echoed caller audio on the recording's right channel.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { envelopeCorrelation } from "./audio/signal.ts";
import { readWav } from "./audio/wav.ts";
import {
  type DaemonHandle,
  runSipp,
  scenario,
  sippDetail,
  skipUnlessPeers,
  startDaemon,
  stopAll,
} from "./peers/daemon.ts";
import { freePort } from "./peers/ports.ts";

const skip = skipUnlessPeers("sipp");

describe("operator bridge (DTMF 0)", { skip, timeout: 90_000 }, () => {
  let d: DaemonHandle;
  let operatorPort: number;
  before(async () => {
    operatorPort = await freePort();
    d = await startDaemon({
      config: { demo: { operator: `sip:operator@127.0.0.1:${operatorPort}`, menuTimeoutS: 60 } },
    });
  });
  after(stopAll);

  it("bridges caller and operator, links the CDR rows, and hangs up the operator when the caller leaves", async (t) => {
    // The operator answers one call, echoes RTP and waits for the box's BYE.
    const operator = runSipp({
      args: ["-sn", "uas", "-rtp_echo", "-m", "1"],
      localPort: operatorPort,
      timeoutMs: 60_000,
      mediaPorts: true,
    });
    await new Promise((r) => setTimeout(r, 300)); // sipp binds its port before the box can dial it
    const caller = await runSipp({
      target: d.sipUdp,
      args: ["-sf", scenario("uac_operator.xml", { DIGIT: 0, HOLD_AFTER_MS: 7500 }), "-m", "1"],
      timeoutMs: 60_000,
      mediaPorts: true,
    });
    assert.equal(caller.successful, 1, `caller: ${sippDetail(caller)}`);
    const op = await operator;
    assert.equal(op.successful, 1, `operator (must have been called and then hung up by the box): ${sippDetail(op)}`);

    const rows = await d.waitForCalls((rs) => rs.length >= 2 && rs.every((r) => r.ended_at !== null), 15_000);
    assert.equal(rows.length, 2, JSON.stringify(rows, null, 1));
    const inbound = rows.find((r) => r.direction === "inbound");
    const outbound = rows.find((r) => r.direction === "outbound");
    assert.ok(inbound && outbound, JSON.stringify(rows, null, 1));
    assert.equal(outbound.linked_call_id, inbound.id);
    assert.ok(outbound.to_uri.includes(`operator@127.0.0.1:${operatorPort}`), `to_uri=${outbound.to_uri}`);
    assert.ok(outbound.answered_at !== null, "operator leg answered");
    assert.ok(inbound.dtmf_log.includes("0"), `dtmf_log=${inbound.dtmf_log}`);
    assert.equal(inbound.hangup_side, "caller");
    // The operator did not hang up: the box ended that leg because the caller left. The daemon records this as
    // 'caller' (cause propagated from the bridged leg); 'box' would be the other reasonable reading.
    assert.ok(
      outbound.hangup_side === "caller" || outbound.hangup_side === "box",
      `hangup_side=${outbound.hangup_side}`,
    );
    const opStats = JSON.parse(outbound.media_stats ?? "{}") as { packetsReceived?: number };
    assert.ok((opStats.packetsReceived ?? 0) > 50, `operator leg media_stats=${outbound.media_stats}`);

    // Caller speech goes to the operator and comes back as echo: during the bridge the right channel (bridged
    // party) follows the left channel (caller).
    assert.ok(inbound.recording_path && existsSync(inbound.recording_path), `recording_path=${inbound.recording_path}`);
    const rec = readWav(inbound.recording_path);
    const tail = 6 * rec.rate;
    const left = rec.channels[0].subarray(Math.max(0, rec.channels[0].length - tail));
    const right = rec.channels[1].subarray(Math.max(0, rec.channels[1].length - tail));
    const env = envelopeCorrelation(left, right, rec.rate, 10, 500);
    t.diagnostic(`bridge echo: envelope r=${env.r.toFixed(4)} lag=${env.lag} samples`);
    assert.ok(env.r > 0.6, `right channel does not follow the caller through the operator echo: r=${env.r}`);
  });
});
