// A call flow end to end over real SIP: a baresip caller dials a number whose time window picks the order agent,
// presses keys for the recording question and the customer number, the agent posts the order to a CRM webhook that
// is down, promises a follow-up, and transfers to a second baresip (the human), who hears the whisper (Pico TTS,
// correlated with the same sentence synthesized here) before the caller is bridged. The CRM comes back after the
// call and gets the order exactly once, signed. Meanwhile the config is reloaded (SIGHUP): the running call keeps
// its version, the next call gets the new one.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { parse, stringify } from "yaml";
import { verifySignature } from "../daemon/flow/actions/webhook.ts";
import { PicoTts } from "../daemon/speech/pico-tts.ts";
import { sharedModelsDir } from "../models/testing/shared-models.ts";
import { toneWav } from "./audio/fixtures.ts";
import { bestCorrelation, rmsEnvelope } from "./audio/signal.ts";
import { readWavMono } from "./audio/wav.ts";
import { type BaresipHandle, startBaresip } from "./peers/baresip.ts";
import {
  type DaemonHandle,
  hasBinary,
  runSipp,
  scenario,
  sippDetail,
  skipUnlessPeers,
  startDaemon,
  stopAll,
} from "./peers/daemon.ts";
import { freePort } from "./peers/ports.ts";

const skip = skipUnlessPeers("baresip", "sox");
const SECRET = "e2e-test-secret-0123456789";
const DID = "+4930555100";
const BLIND_DID = "+4930555200";

interface Hook {
  body: string;
  headers: IncomingMessage["headers"];
}

function outcomeOf(
  dbPath: string,
  callId: string,
): { agents: string; outcome: string; slots: string; transcript: string } {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT * FROM call_outcomes WHERE call_id = ?").get(callId) as {
      agents: string;
      outcome: string;
      slots: string;
      transcript: string;
    };
  } finally {
    db.close();
  }
}

function outboxRows(dbPath: string): { state: string; attempts: number }[] {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT state, attempts FROM outbox").all() as { state: string; attempts: number }[];
  } finally {
    db.close();
  }
}

/** `text` as the daemon's Pico voice says it (16 kHz), synthesized in this process. */
async function picoSays(text: string): Promise<Float32Array> {
  const pico = await PicoTts.create({ langDir: join(sharedModelsDir, "svox-pico"), voices: ["de-DE"] });
  const parts: Int16Array[] = [];
  for await (const c of pico.synthesize(text, { voice: "de-DE" })) parts.push(c.pcm);
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) for (const v of p) out[o++] = v / 32768;
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => T | undefined, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

describe("call flow end to end: window -> agent -> keys -> webhook -> whisper -> bridge", {
  skip,
  timeout: 240_000,
}, () => {
  let d: DaemonHandle;
  let human: BaresipHandle;
  let crmPort: number;
  let config: Record<string, unknown>;

  before(async () => {
    // The human answers automatically; what they hear lands in their dec dump.
    human = await startBaresip({ sourceWav: toneWav(300, 60_000), autoAnswer: true, user: "human" });
    crmPort = await freePort();
    config = {
      models: { searchPaths: [sharedModelsDir] },
      speech: { enabled: true, language: "de-DE", recognizer: "off" },
      recording: { calls: true },
      store: { outbox: { backoffBaseMs: 500, backoffCapMs: 2000, maxAttempts: 200 } },
      routing: {
        timeZone: "Europe/Berlin",
        windows: [{ id: "immer", agent: "nachricht", always: true }],
        numbers: [
          {
            did: DID,
            windows: [
              {
                id: "bestellannahme",
                agent: "bestellung",
                weekly: Object.fromEntries(
                  ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map((k) => [k, ["00:00-24:00"]]),
                ),
              },
              { id: "sonst", agent: "nachricht", always: true },
            ],
          },
          { did: BLIND_DID, windows: [{ id: "weiter", agent: "weiterleitung", always: true }] },
        ],
      },
      agents: [
        {
          id: "bestellung",
          template: "workflow",
          disconnect: [{ action: "crm", when: ["transferred"] }],
          flow: [
            { type: "say", text: "Willkommen beim Bestellservice." },
            {
              type: "capture",
              slot: "kunde",
              prompt: "Bitte geben Sie Ihre fünfstellige Kundennummer ein und drücken Sie Raute.",
              spec: { type: "digits", minLength: 5, maxLength: 5 },
              onFail: "mensch",
            },
            { type: "action", action: "crm", waitMs: 1500 },
            {
              type: "transfer",
              id: "mensch",
              to: { sip: human.uri },
              whisper: "Bestellung von Kunde {kunde}.",
              customerWhisper: "Sie werden jetzt verbunden.",
              timeoutS: 20,
            },
          ],
        },
        { id: "nachricht", template: "voicemail", greeting: "Wir sind gerade nicht erreichbar." },
        {
          id: "weiterleitung",
          template: "human",
          recording: "off",
          flow: [{ type: "transfer", mode: "blind", to: { sip: "sip:200@127.0.0.1:5999" } }],
        },
      ],
      actions: [{ id: "crm", webhook: { url: `http://127.0.0.1:${crmPort}/orders`, secret: SECRET, timeoutMs: 2000 } }],
    };
    d = await startDaemon({ config, readyTimeoutMs: 60_000 });
  });
  after(async () => {
    await human?.stop();
    await stopAll();
  });

  it("runs the flow over SIP, the human hears the whisper first, the CRM gets the order once it is back", async (t) => {
    const before = d.logs().find((l) => l.msg === "configuration version")?.version as string;
    assert.ok(before, "the daemon logs its config version at start");
    const caller = await startBaresip({ sourceWav: toneWav(0, 90_000), user: "caller" });
    try {
      caller.dial(`sip:${DID}@${d.sipUdp.address}:${d.sipUdp.port}`);
      await caller.waitFor(/Call established/, 15_000);
      // "2" answers the recording question with no (typed ahead of the disclosure, which cannot be cut off).
      await sleep(1500);
      caller.sendDigits("2");

      // Reload while this call runs: the DID now goes to the voicemail agent, for new calls only.
      const next = structuredClone(config) as { routing: { numbers: { windows: { agent: string }[] }[] } };
      for (const w of next.routing.numbers[0]?.windows ?? []) w.agent = "nachricht";
      const file = parse(readFileSync(d.configPath, "utf8")) as Record<string, unknown>;
      writeFileSync(d.configPath, stringify({ ...file, routing: next.routing }));
      d.signal("SIGHUP");
      const reloaded = await d.waitForLog((l) => l.msg === "configuration reloaded", 10_000);
      assert.notEqual(reloaded.version, before);

      await sleep(8000);
      caller.sendDigits("12345#");
      await human.waitFor(/Call established/, 40_000);
      // Let the whisper play and the bridge run a few seconds before the caller hangs up.
      await sleep(9000);
      caller.hangup();
    } finally {
      await caller.stop();
    }

    const rows = await d.waitForCalls(
      (rs) => rs.filter((r) => r.direction === "inbound").length >= 1 && rs.every((r) => r.ended_at !== null),
      20_000,
    );
    const inbound = rows.find((r) => r.direction === "inbound");
    const outbound = rows.find((r) => r.direction === "outbound");
    assert.ok(inbound && outbound, JSON.stringify(rows, null, 1));
    assert.equal(inbound.did, DID);
    assert.equal(outbound.linked_call_id, inbound.id);
    assert.match(inbound.events, new RegExp(`config version ${before}`), "the running call kept its version");
    assert.match(inbound.events, /time window number \+4930555100: .*bestellannahme/, inbound.events);
    assert.match(outbound.events, /whisper played: Bestellung von Kunde 1 2 3 4 5/, outbound.events);
    assert.match(inbound.events, /bridged to/, inbound.events);

    const o = outcomeOf(d.dbPath, inbound.id);
    assert.deepEqual(JSON.parse(o.agents), ["bestellung"]);
    assert.equal(o.outcome, "transferred");
    assert.equal(JSON.parse(o.slots).kunde, "12345");
    const transcript = JSON.parse(o.transcript) as { speaker: string; text: string }[];
    const said = transcript.filter((x) => x.speaker === "agent").map((x) => x.text);
    // The CRM was down: the caller hears the promise to follow up, never "done".
    assert.ok(
      said.some((s) => /melden uns|kümmern uns|nachreichen|später/i.test(s)),
      said.join(" | "),
    );
    assert.ok(said.includes("Sie werden jetzt verbunden."), said.join(" | "));

    // The human heard the whisper: the same sentence from the same voice, found in what their phone decoded.
    const dec = human.dumps().dec.at(-1);
    assert.ok(dec, "the human's baresip wrote what it heard");
    const heard = readWavMono(dec);
    const whisper = await picoSays(/whisper played: (.*)/.exec(outbound.events)?.[1] ?? "");
    // 10 ms loudness envelopes: rate-free (Pico speaks at 16 kHz, the phone decoded G.711 at 8 kHz).
    const c = bestCorrelation(rmsEnvelope(whisper, 16000), rmsEnvelope(heard.samples, heard.rate), 6000);
    t.diagnostic(`whisper in the human's audio: envelope r=${c.r.toFixed(3)} at ${(c.lag / 100).toFixed(2)} s`);
    assert.ok(c.r > 0.5, `the whisper is not in the human's audio (r=${c.r})`);

    // The CRM comes back: the outbox delivers the order once, signed, with the idempotency key.
    const hooks: Hook[] = [];
    const crm: Server = createServer((req, res) => {
      let body = "";
      req.on("data", (b: Buffer) => {
        body += b.toString("utf8");
      });
      req.on("end", () => {
        hooks.push({ body, headers: req.headers });
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((r) => crm.listen(crmPort, "127.0.0.1", r));
    try {
      await until("the order and the disconnect webhook", () => (hooks.length >= 2 ? true : undefined), 30_000);
      await sleep(2500); // a duplicate would come within the backoff cap
      const keys = hooks.map((h) => String(h.headers["idempotency-key"]));
      assert.equal(new Set(keys).size, hooks.length, `each item delivered once: ${keys.join(", ")}`);
      assert.equal(hooks.length, 2, keys.join(", "));
      for (const h of hooks) {
        const sig = h.headers["x-switchboard-signature"];
        assert.ok(verifySignature(SECRET, typeof sig === "string" ? sig : undefined, h.body), "signed");
      }
      const order = hooks.find((h) => !String(h.headers["idempotency-key"]).includes(":disconnect:"));
      const disconnect = hooks.find((h) => String(h.headers["idempotency-key"]).includes(":disconnect:"));
      assert.ok(order && disconnect, keys.join(", "));
      const payload = JSON.parse(order.body) as { data: Record<string, string> };
      assert.equal(payload.data.kunde, "12345");
      assert.equal(payload.data.call_id, inbound.id);
      // The disconnect flow reports the call's result after hang-up.
      const after = JSON.parse(disconnect.body) as { data: Record<string, string> };
      assert.equal(after.data.outcome, "transferred");
      assert.equal(after.data.agent, "bestellung");
      assert.equal(after.data.kunde, "12345");
      const rows = await until(
        "the outbox to record the deliveries",
        () => {
          const r = outboxRows(d.dbPath);
          return r.length === 2 && r.every((x) => x.state === "delivered") ? r : undefined;
        },
        10_000,
      );
      assert.ok(
        rows.every((r) => r.attempts >= 2),
        `the first attempts failed while the CRM was down: ${JSON.stringify(rows)}`,
      );
    } finally {
      await new Promise((r) => crm.close(r));
    }
  });

  it("after the reload a new call to the same number gets the new agent", async () => {
    const caller = await startBaresip({ sourceWav: toneWav(0, 30_000), user: "caller2" });
    try {
      caller.dial(`sip:${DID}@${d.sipUdp.address}:${d.sipUdp.port}`);
      await caller.waitFor(/Call established/, 15_000);
      await sleep(1500);
      caller.sendDigits("2");
      await sleep(4000);
      caller.hangup();
    } finally {
      await caller.stop();
    }
    const rows = await d.waitForCalls(
      (rs) => rs.filter((r) => r.direction === "inbound").length >= 2 && rs.every((r) => r.ended_at !== null),
      20_000,
    );
    const second = rows.filter((r) => r.direction === "inbound").sort((a, b) => a.started_at - b.started_at)[1];
    assert.ok(second);
    const reloaded = d.logs().find((l) => l.msg === "configuration reloaded")?.version as string;
    assert.match(second.events, new RegExp(`config version ${reloaded}`), second.events);
    const o = await until("the second call's outcome", () => outcomeOf(d.dbPath, second.id), 10_000);
    assert.deepEqual(JSON.parse(o.agents), ["nachricht"]);
  });

  it("a blind transfer hands the call back to the caller's side with REFER and the box leaves", {
    skip: hasBinary("sipp") ? false : "sipp is not installed",
  }, async () => {
    const r = await runSipp({
      target: d.sipUdp,
      args: ["-sf", scenario("uac_refer.xml"), "-s", BLIND_DID.slice(1), "-m", "1"],
      timeoutMs: 30_000,
    });
    assert.equal(r.successful, 1, sippDetail(r));
    const rows = await d.waitForCalls(
      (rs) => rs.some((x) => x.did === BLIND_DID.slice(1) && x.ended_at !== null),
      10_000,
    );
    const row = rows.find((x) => x.did === BLIND_DID.slice(1));
    assert.ok(row);
    assert.equal(row.hangup_side, "box");
    assert.equal(row.hangup_cause, "transferred by REFER to sip:200@127.0.0.1:5999");
    const o = await until("the outcome", () => outcomeOf(d.dbPath, row.id), 10_000);
    assert.equal(o.outcome, "transferred");
  });
});
