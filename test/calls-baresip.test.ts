// A real UA (baresip) calls the daemon: what baresip says must be what the daemon records (left channel), what the
// daemon sends must reach baresip, and digits the box sends on answer must be reported by baresip.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { concatWav, generateSpeechWav, resampleStereo, resampleWav } from "./audio/fixtures.ts";
import { activeSeconds, bestCorrelation, envelopeCorrelation } from "./audio/signal.ts";
import { finishedWav, readWav, readWavMono } from "./audio/wav.ts";
import { startBaresip } from "./peers/baresip.ts";
import { type CdrRow, type DaemonHandle, skipUnlessPeers, startDaemon, stopAll } from "./peers/daemon.ts";

const skip = skipUnlessPeers("baresip", "espeak-ng", "sox");
const TEXT =
  "Hello, this is a test call to the switchboard. I would like to leave a message about the delivery on Tuesday morning.";

/** Source at `rate` for comparing with a recording at `recRate` (sox does the resampling: independent of the box). */
function sourceAt(src: string, recRate: number): Float32Array {
  const s = readWavMono(src);
  return s.rate === recRate ? s.samples : readWavMono(resampleWav(src, recRate)).samples;
}

describe("baresip calls the daemon", { skip, timeout: 180_000 }, () => {
  after(stopAll);

  for (const codec of ["PCMA", "PCMU", "G722"] as const) {
    it(`${codec}: the recording's left channel is what baresip sent`, async (t) => {
      // baresip 1.0.0 offers all loaded codecs whatever audio_codecs says, so the daemon's codec list decides.
      const d = await startDaemon({ config: { demo: { menuTimeoutS: 60 }, media: { codecs: [codec] } } });
      const rate = codec === "G722" ? 16000 : 8000;
      const src = generateSpeechWav(TEXT, { rate });
      const b = await startBaresip({ sourceWav: src, codecs: [codec], rate });
      const before = new Set(d.calls().map((r) => r.id));
      b.dial(`sip:+4912345@${d.sipUdp.address}:${d.sipUdp.port}`);
      await b.waitFor(/Call established/, 10_000);
      // baresip hangs up by itself at the end of the source file.
      await b.waitFor(/terminated/, 30_000);
      const rows = await d.waitForCalls((rs) => rs.some((r) => !before.has(r.id) && r.ended_at !== null), 10_000);
      const row = rows.find((r) => !before.has(r.id)) as CdrRow;
      assert.equal(row.codec, codec, JSON.stringify(row));
      assert.equal(row.hangup_side, "caller");
      assert.ok(row.recording_path && existsSync(row.recording_path), `recording_path=${row.recording_path}`);

      const rec = readWav(await finishedWav(row.recording_path));
      const left = rec.channels[0];
      const ref = sourceAt(src, rec.rate);
      const wave = bestCorrelation(ref, left, 2 * rec.rate);
      const env = envelopeCorrelation(ref, left, rec.rate);
      t.diagnostic(
        `${codec}: recording ${rec.rate} Hz, waveform r=${wave.r.toFixed(4)} lag=${wave.lag}, envelope r=${env.r.toFixed(4)} lag=${env.lag}`,
      );
      assert.ok(wave.r > 0.9 || env.r > 0.9, `waveform r=${wave.r}, envelope r=${env.r}`);

      // The other direction: baresip's decoded audio (sndfile dump) carries the greeting, and it is what the box
      // recorded on the right channel.
      await b.stop();
      const dec = b.dumps().dec.at(-1);
      assert.ok(dec, "baresip wrote no decoded-audio dump");
      const heard = readWavMono(dec);
      assert.ok(activeSeconds(heard.samples, heard.rate) > 1, "baresip heard less than 1 s of audio from the box");
      // sox resamples the stereo recording to the dump's rate when they differ.
      const right =
        rec.rate === heard.rate ? rec.channels[1] : readWav(resampleStereo(row.recording_path, heard.rate)).channels[1];
      const back = envelopeCorrelation(heard.samples, right, heard.rate);
      t.diagnostic(`${codec}: box→baresip envelope r=${back.r.toFixed(4)} lag=${back.lag}`);
      assert.ok(back.r > 0.8, `right channel vs what baresip heard: envelope r=${back.r}`);
      assert.equal(await d.stop(), 0);
    });
  }
});

describe("demo.sendDigitsOnAnswer", { skip, timeout: 60_000 }, () => {
  let d: DaemonHandle;
  before(async () => {
    d = await startDaemon({ config: { demo: { sendDigitsOnAnswer: "42", menuTimeoutS: 60 } } });
  });
  after(stopAll);

  it("baresip reports RFC 4733 digits 4 then 2 after answer", async () => {
    // Pad the source: baresip ends the call when its file ends, and the digits need time to arrive.
    const speech = generateSpeechWav("Waiting for digits.", { rate: 8000 });
    const src = concatWav([speech, speech, speech, speech]);
    const b = await startBaresip({ sourceWav: src, codecs: ["PCMA"] });
    b.dial(`sip:door@${d.sipUdp.address}:${d.sipUdp.port}`);
    await b.waitFor(/Call established/, 10_000);
    const until = Date.now() + 8000;
    while (b.receivedDtmf().length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    b.hangup();
    assert.deepEqual(b.receivedDtmf().slice(0, 2), ["4", "2"], `baresip output:\n${b.output()}`);
    await b.stop();
  });
});
