// Trunk registration and inbound calls through a real registrar/proxy (Kamailio 5.6): digest REGISTER, refresh at
// the expiry the registrar grants, a call from sipp routed by Kamailio to our registered contact, bad credentials,
// and a trunk added and removed by a config reload (the daemon, no restart).
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { parse, stringify } from "yaml";
import { sipSchema, trunkSchema } from "../daemon/config/schema.ts";
import { silentLog } from "../daemon/ops/log.ts";
import { SipEndpoint } from "../daemon/sip/endpoint.ts";
import type { InboundCall, RegistrationEvents, TrunkRegistration } from "../daemon/sip/types.ts";
import { startDaemon } from "./peers/daemon.ts";
import { type Kamailio, kamailioSkipReason, startKamailio } from "./peers/kamailio.ts";
import { describe, freePort, runSipp, sippSkipReason } from "./peers/sipp.ts";

const skip = kamailioSkipReason() ?? sippSkipReason();
const ANSWER = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n";

let kam: Kamailio | undefined;
const endpoints: SipEndpoint[] = [];

before(async () => {
  if (skip) return;
  kam = await startKamailio({ port: await freePort(), user: "agent", password: "secret123", maxExpires: 3 });
});

after(async () => {
  for (const ep of endpoints) await ep.stop().catch(() => {});
  await kam?.stop();
});

function endpoint(password: string): SipEndpoint {
  const port = kam?.port ?? 0;
  const trunk = trunkSchema.parse({
    id: "kam",
    domain: "127.0.0.1",
    registrar: `sip:127.0.0.1:${port}`,
    username: "agent",
    password,
    expiresS: 600,
    keepalive: { method: "options", intervalS: 5 },
  });
  const sip = sipSchema.parse({
    listen: [{ transport: "udp", address: "127.0.0.1", port: 0 }],
    timers: { t1Ms: 100, t2Ms: 1000, t4Ms: 1000 },
  });
  const ep = new SipEndpoint({ sip, trunks: [trunk], log: silentLog, registration: { retryBaseS: 5 } });
  endpoints.push(ep);
  return ep;
}

function nextState(
  reg: TrunkRegistration,
  want: RegistrationEvents["state"][0],
  timeoutMs: number,
): Promise<RegistrationEvents["state"][1]> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      reg.off("state", on);
      reject(new Error(`registration did not reach ${want} in ${timeoutMs} ms (now ${reg.state})`));
    }, timeoutMs);
    const on = (s: RegistrationEvents["state"][0], d: RegistrationEvents["state"][1]) => {
      if (s !== want) return;
      clearTimeout(t);
      reg.off("state", on);
      resolve(d);
    };
    reg.on("state", on);
  });
}

test("registers with digest, refreshes at the granted expiry, receives a call via Kamailio", {
  skip,
  timeout: 60_000,
}, async () => {
  const ep = endpoint("secret123");
  const calls: InboundCall[] = [];
  ep.on("call", (call) => {
    calls.push(call);
    call.progress();
    void call.accept(ANSWER);
  });
  await ep.start();
  const reg = ep.registrations.get("kam");
  assert.ok(reg);
  const first = await nextState(reg, "registered", 5000);
  // We asked for 600 s; Kamailio's max_expires grants 3 s, and the refresh must follow that.
  assert.equal(first.expiresS, 3);
  const t0 = reg.registeredAt ?? 0;
  const second = await nextState(reg, "registered", 5000);
  assert.equal(second.expiresS, 3);
  assert.ok((reg.registeredAt ?? 0) > t0, "refresh happened");
  assert.match(kam?.log() ?? "", /REGISTERED sip:agent@127\.0\.0\.1/);

  // sipp calls the AOR at Kamailio; Kamailio looks up our contact and relays (with Record-Route).
  const r = await runSipp(
    ["-sn", "uac", "-s", "agent", `127.0.0.1:${kam?.port}`, "-m", "3", "-r", "3", "-timeout", "30s", "-timeout_error"],
    { timeoutMs: 40_000 },
  );
  assert.equal(r.code, 0, describe(r));
  assert.equal(r.stats?.successful, 3, describe(r));
  assert.equal(calls.length, 3);
  for (const c of calls) {
    assert.equal(c.info.trunkId, "kam", "source matched the trunk's registrar address");
    assert.equal(c.info.did, "agent");
    assert.equal(c.state, "ended");
  }
  await ep.stop();
  assert.equal(reg.state, "unregistered");
});

test("wrong password: state failed with 401/403 and a retry scheduled", { skip, timeout: 30_000 }, async () => {
  const ep = endpoint("wrong-password");
  await ep.start();
  const reg = ep.registrations.get("kam");
  assert.ok(reg);
  const d = await nextState(reg, "failed", 5000);
  assert.ok(d.status === 401 || d.status === 403, `status ${d.status}`);
  assert.ok((d.retryInS ?? 0) > 0, "retry scheduled");
  assert.equal(reg.registeredAt, undefined);
  await ep.stop();
});

test("a reload adds a trunk without a restart: it registers and takes calls; a reload removing it un-REGISTERs", {
  skip,
  timeout: 60_000,
}, async () => {
  const d = await startDaemon({ config: {} });
  try {
    const file = parse(readFileSync(d.configPath, "utf8")) as Record<string, unknown>;
    const trunk = {
      id: "kam-hot",
      domain: "127.0.0.1",
      registrar: `sip:127.0.0.1:${kam?.port}`,
      username: "agent",
      password: "secret123",
      expiresS: 60,
    };
    writeFileSync(d.configPath, stringify({ ...file, trunks: [trunk] }));
    d.signal("SIGHUP");
    const reloaded = await d.waitForLog((l) => l.msg === "configuration reloaded", 10_000);
    assert.deepEqual(reloaded.restartNeeded, [], "trunks need no restart");
    await d.waitForLog(
      (l) => l.msg === "trunk registration" && l.trunk === "kam-hot" && l.state === "registered",
      10_000,
    );
    const r = await runSipp(["-sn", "uac", "-s", "agent", `127.0.0.1:${kam?.port}`, "-m", "1", "-timeout", "20s"], {
      timeoutMs: 30_000,
    });
    assert.equal(r.stats?.successful, 1, describe(r));
    const rows = await d.waitForCalls((rs) => rs.some((x) => x.ended_at !== null), 10_000);
    assert.equal(rows[0]?.trunk, "kam-hot", "the call is matched to the trunk added by the reload");

    writeFileSync(d.configPath, stringify({ ...file, trunks: [] }));
    d.signal("SIGHUP");
    await d.waitForLog(
      (l) => l.msg === "trunk registration" && l.trunk === "kam-hot" && l.state === "unregistered",
      10_000,
    );
    // Kamailio no longer has a contact for the AOR: the call fails (404) instead of reaching the box.
    const gone = await runSipp(["-sn", "uac", "-s", "agent", `127.0.0.1:${kam?.port}`, "-m", "1", "-timeout", "10s"], {
      timeoutMs: 20_000,
    });
    assert.equal(gone.stats?.successful ?? 0, 0, describe(gone));
    assert.equal(d.calls().length, 1);
    assert.equal(await d.stop(), 0);
  } finally {
    await d.stop();
  }
});
