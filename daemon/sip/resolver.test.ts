import assert from "node:assert/strict";
import { test } from "node:test";
import { type DnsResolver, SipResolver, orderSrv } from "./resolver.ts";

function fakeDns(
  srv: Record<string, Array<{ name: string; port: number; priority: number; weight: number }>>,
  a: Record<string, string[]>,
) {
  const calls: string[] = [];
  const dns: DnsResolver = {
    async resolveSrv(name) {
      calls.push(`SRV ${name}`);
      const r = srv[name];
      if (!r) throw Object.assign(new Error("ENOTFOUND"), { code: "ENOTFOUND" });
      return r;
    },
    async resolveAddresses(name) {
      calls.push(`A ${name}`);
      return a[name] ?? [];
    },
  };
  return { dns, calls };
}

test("SRV first, ordered by priority, targets resolved to addresses", async () => {
  const { dns, calls } = fakeDns(
    {
      "_sip._udp.trunk.example": [
        { name: "b.trunk.example", port: 5070, priority: 20, weight: 0 },
        { name: "a.trunk.example", port: 5080, priority: 10, weight: 5 },
      ],
    },
    { "a.trunk.example": ["192.0.2.10"], "b.trunk.example": ["192.0.2.20"] },
  );
  const r = new SipResolver(dns);
  const t = await r.resolve("trunk.example", undefined, "udp");
  assert.deepEqual(t, [
    { transport: "udp", address: "192.0.2.10", port: 5080, serverName: "trunk.example" },
    { transport: "udp", address: "192.0.2.20", port: 5070, serverName: "trunk.example" },
  ]);
  assert.equal(calls[0], "SRV _sip._udp.trunk.example");
  await r.resolve("trunk.example", undefined, "udp");
  assert.equal(calls.length, 3, "cached");
});

test("explicit port skips SRV (RFC 3263 4.2); no SRV falls back to A on 5060", async () => {
  const { dns, calls } = fakeDns({}, { "pbx.example": ["192.0.2.5"] });
  const r = new SipResolver(dns);
  assert.deepEqual(await r.resolve("pbx.example", 5999, "tcp"), [
    { transport: "tcp", address: "192.0.2.5", port: 5999, serverName: "pbx.example" },
  ]);
  assert.deepEqual(calls, ["A pbx.example"]);
  assert.deepEqual(await r.resolve("pbx.example", undefined, "tcp"), [
    { transport: "tcp", address: "192.0.2.5", port: 5060, serverName: "pbx.example" },
  ]);
  assert.ok(calls.includes("SRV _sip._tcp.pbx.example"));
  await assert.rejects(r.resolve("nothing.example", undefined, "udp"));
});

test("TLS: _sips._tcp SRV, and the server name stays the domain asked for, not the SRV target (RFC 5922)", async () => {
  const { dns, calls } = fakeDns(
    { "_sips._tcp.trunk.example": [{ name: "edge7.provider.example", port: 5062, priority: 1, weight: 1 }] },
    { "edge7.provider.example": ["192.0.2.77"], "pbx.example": ["192.0.2.5"] },
  );
  const r = new SipResolver(dns);
  assert.deepEqual(await r.resolve("Trunk.Example", undefined, "tls"), [
    { transport: "tls", address: "192.0.2.77", port: 5062, serverName: "trunk.example" },
  ]);
  assert.equal(calls[0], "SRV _sips._tcp.trunk.example");
  assert.deepEqual(await r.resolve("pbx.example", undefined, "tls"), [
    { transport: "tls", address: "192.0.2.5", port: 5061, serverName: "pbx.example" },
  ]);
});

test("IP literals are used as is", async () => {
  const { dns, calls } = fakeDns({}, {});
  const r = new SipResolver(dns);
  assert.deepEqual(await r.resolve("[2001:db8::1]", undefined, "tls"), [
    { transport: "tls", address: "2001:db8::1", port: 5061 },
  ]);
  assert.equal(calls.length, 0);
});

test("weighted order within a priority follows the random draw", () => {
  const a = { name: "a", port: 1, priority: 1, weight: 10 };
  const b = { name: "b", port: 1, priority: 1, weight: 90 };
  assert.deepEqual(
    orderSrv([a, b], () => 0.05).map((x) => x.name),
    ["a", "b"],
  );
  assert.deepEqual(
    orderSrv([a, b], () => 0.5).map((x) => x.name),
    ["b", "a"],
  );
});
