// SIP over TLS on loopback: transports exchanging messages both ways on one connection, server certificate checks
// (trust, expiry, name), connection reuse per server name, certificate files, and an endpoint answering over TLS.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import tls from "node:tls";
import { after, describe, it } from "node:test";
import { type SipTlsConfig, sipSchema } from "../config/schema.ts";
import { createLog, silentLog } from "../ops/log.ts";
import { selfSigned } from "../web/tls-cert.ts";
import { CallFailedError, SipEndpoint } from "./endpoint.ts";
import type { DnsResolver } from "./resolver.ts";
import type { Source } from "./routing.ts";
import { nextHop } from "./routing.ts";
import { options } from "./testkit.ts";
import { loadSipTls, sipServerIdentity } from "./tls.ts";
import { type SendTarget, SipTransport, type StreamFactory } from "./transport.ts";
import type { InboundCall, LegEndCause } from "./types.ts";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "sb-siptls-"));
  dirs.push(d);
  return d;
};
const running: Array<{ stop(): Promise<void> }> = [];
after(async () => {
  for (const r of running.reverse()) await r.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const tlsCfg = (o: Partial<SipTlsConfig> = {}): SipTlsConfig => ({ ca: [], verifyServer: true, ...o });

/** A logger whose lines (parsed) end up in `lines`. */
function capturingLog() {
  const lines: Array<{ level: number; msg: string; err?: string }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString("utf8").split("\n")) if (l.trim()) lines.push(JSON.parse(l));
      done();
    },
  });
  return { log: createLog("debug", sink, { ring: false }), lines };
}

/** One server certificate (self-signed, names localhost + 127.0.0.1) shared by every test that does not need its own. */
const shared = tempDir();
const serverTls = await loadSipTls(tlsCfg(), shared, silentLog);
const sharedCert = serverTls.certFile;
const sharedPem = readFileSync(sharedCert, "utf8");
const sharedKey = readFileSync(join(shared, "sip-tls", "key.pem"), "utf8");

interface Got {
  text: string;
  src: Source;
}

/** A SipTransport recording what arrives; `listen` false = client only. */
async function transport(factory: StreamFactory, listen = true) {
  const got: Got[] = [];
  const waiters: Array<() => void> = [];
  const t = new SipTransport({
    listen: listen ? [{ transport: "tls", address: "127.0.0.1", port: 0 }] : [],
    maxMessageBytes: 65535,
    log: silentLog,
    connectTimeoutMs: 3000,
    streams: { tls: factory },
    handlers: {
      message: (data, src) => {
        got.push({ text: data.toString("utf8"), src });
        for (const w of waiters.splice(0)) w();
      },
      oversize: () => {},
    },
  });
  const bound = await t.start();
  running.push(t);
  const next = async (n: number): Promise<Got> => {
    const deadline = Date.now() + 3000;
    while (got.length < n && Date.now() < deadline) {
      await new Promise<void>((r) => {
        const timer = setTimeout(r, 100);
        waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
    const g = got[n - 1];
    assert.ok(g, `message ${n} did not arrive`);
    return g;
  };
  return { t, got, next, port: bound[0]?.port ?? 0 };
}

const response200 = (req: string) =>
  `${[
    "SIP/2.0 200 OK",
    ...req.split("\r\n").filter((l) => /^(via|from|to|call-id|cseq):/i.test(l)),
    "Content-Length: 0",
  ].join("\r\n")}\r\n\r\n`;

describe("TLS transport", () => {
  it("carries a request and its response on one connection, and a request back on it", async () => {
    const server = await transport(serverTls.factory);
    const client = await transport(
      (await loadSipTls(tlsCfg({ ca: [sharedCert] }), tempDir(), silentLog)).factory,
      false,
    );
    const target: SendTarget = { transport: "tls", address: "127.0.0.1", port: server.port, serverName: "localhost" };
    const req = options(5061).replace("SIP/2.0/UDP", "SIP/2.0/TLS");
    await client.t.send(req, target);
    const inReq = await server.next(1);
    assert.equal(inReq.text, req);
    assert.equal(inReq.src.transport, "tls");
    assert.match(inReq.src.connId ?? "", /^tls#/);
    // The response goes back by connection id (routing.ts responseTarget), not by a new connection.
    await server.t.send(response200(inReq.text), { ...inReq.src });
    const res = await client.next(1);
    assert.match(res.text, /^SIP\/2\.0 200 OK/);
    // The server now sends a request of its own (an in-dialog BYE, say) over the client's connection.
    await server.t.send(req.replace("OPTIONS sip", "BYE sip"), { ...inReq.src });
    const back = await client.next(2);
    assert.match(back.text, /^BYE /);
    assert.equal(back.src.connId, res.src.connId, "same connection both ways");
    // A second request reuses the connection.
    await client.t.send(req, target);
    assert.equal((await server.next(2)).src.connId, inReq.src.connId);
  });

  it("answers an RFC 5626 CRLF ping with a pong on an accepted connection", async () => {
    const server = await transport(serverTls.factory);
    const sock = tls.connect({ host: "127.0.0.1", port: server.port, ca: [sharedPem], servername: "localhost" });
    await new Promise<void>((r, j) => sock.once("secureConnect", r).once("error", j));
    let data = "";
    sock.on("data", (d) => {
      data += d.toString("latin1");
    });
    sock.write("\r\n\r\n");
    const deadline = Date.now() + 2000;
    while (data !== "\r\n" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(data, "\r\n");
    sock.destroy();
  });

  it("refuses an untrusted server with an error naming server and reason, in the log too", async () => {
    const server = await transport(serverTls.factory);
    const { log, lines } = capturingLog();
    const client = new SipTransport({
      listen: [],
      maxMessageBytes: 65535,
      log,
      streams: { tls: (await loadSipTls(tlsCfg(), tempDir(), silentLog)).factory },
      handlers: { message: () => {}, oversize: () => {} },
    });
    running.push(client);
    const target: SendTarget = { transport: "tls", address: "127.0.0.1", port: server.port, serverName: "localhost" };
    await assert.rejects(
      client.send(options(5061), target),
      new RegExp(`^Error: TLS to localhost \\(127\\.0\\.0\\.1:${server.port}\\): self.signed certificate`),
    );
    assert.ok(lines.some((l) => l.level === 40 && /TLS to localhost .*self.signed certificate/.test(l.err ?? "")));
    assert.equal(server.got.length, 0);
  });

  it("trusts a server whose certificate is in `ca`, or any server with verifyServer off (warned once at load)", async () => {
    const server = await transport(serverTls.factory);
    const { log, lines } = capturingLog();
    const lax = await transport((await loadSipTls(tlsCfg({ verifyServer: false }), tempDir(), log)).factory, false);
    assert.equal(lines.filter((l) => l.level === 40 && /verifyServer is off/.test(l.msg)).length, 1);
    await lax.t.send(options(5061), {
      transport: "tls",
      address: "127.0.0.1",
      port: server.port,
      serverName: "x.test",
    });
    await server.next(1);
    // An IP literal (no server name) is checked against the certificate's IP SANs.
    const strict = await transport(
      (await loadSipTls(tlsCfg({ ca: [sharedCert] }), tempDir(), silentLog)).factory,
      false,
    );
    await strict.t.send(options(5061), { transport: "tls", address: "127.0.0.1", port: server.port });
    await server.next(2);
  });

  it("refuses a trusted certificate that names another server", async () => {
    const server = await transport(serverTls.factory);
    const client = await transport(
      (await loadSipTls(tlsCfg({ ca: [sharedCert] }), tempDir(), silentLog)).factory,
      false,
    );
    await assert.rejects(
      client.t.send(options(5061), {
        transport: "tls",
        address: "127.0.0.1",
        port: server.port,
        serverName: "sip.wrong.test",
      }),
      /TLS to sip\.wrong\.test \(127\.0\.0\.1:\d+\): Hostname\/IP does not match certificate's altnames/,
    );
  });

  it("refuses an expired certificate even when trusted", async () => {
    const dir = tempDir();
    const old = await selfSigned(["localhost"], ["127.0.0.1"], Date.now() - 11 * 365 * 86_400_000);
    writeFileSync(join(dir, "c.pem"), old.cert);
    writeFileSync(join(dir, "k.pem"), old.key);
    const { log, lines } = capturingLog();
    const expired = await loadSipTls(tlsCfg({ cert: join(dir, "c.pem"), key: join(dir, "k.pem") }), dir, log);
    assert.ok(
      lines.some((l) => l.level === 40 && /has expired/.test(l.msg)),
      "expired own certificate warned",
    );
    const server = await transport(expired.factory);
    const client = await transport(
      (await loadSipTls(tlsCfg({ ca: [join(dir, "c.pem")] }), tempDir(), silentLog)).factory,
      false,
    );
    await assert.rejects(
      client.t.send(options(5061), {
        transport: "tls",
        address: "127.0.0.1",
        port: server.port,
        serverName: "localhost",
      }),
      /TLS to localhost \(127\.0\.0\.1:\d+\): certificate has expired/,
    );
  });

  it("reuses a TLS connection only for the same server name", async () => {
    const server = await transport(serverTls.factory);
    const client = await transport(
      (await loadSipTls(tlsCfg({ verifyServer: false }), tempDir(), silentLog)).factory,
      false,
    );
    const base = { transport: "tls" as const, address: "127.0.0.1", port: server.port };
    await client.t.send(options(5061), { ...base, serverName: "localhost" });
    await client.t.send(options(5061), { ...base, serverName: "localhost" });
    await client.t.send(options(5061), { ...base, serverName: "other.test" });
    await client.t.send(options(5061), base);
    const ids = await Promise.all([1, 2, 3, 4].map(async (n) => (await server.next(n)).src.connId));
    assert.equal(ids[0], ids[1]);
    assert.equal(new Set(ids).size, 3, `${ids}`);
  });
});

describe("SIP TLS certificate and files", () => {
  it("makes a self-signed certificate once in <dataDir>/sip-tls and reuses it", async () => {
    const dataDir = tempDir();
    const first = await loadSipTls(tlsCfg(), dataDir, silentLog);
    assert.equal(first.generated, true);
    assert.equal(first.certFile, join(dataDir, "sip-tls", "cert.pem"));
    assert.ok(existsSync(join(dataDir, "sip-tls", "key.pem")));
    const second = await loadSipTls(tlsCfg(), dataDir, silentLog);
    assert.equal(second.generated, false);
    assert.equal(second.fingerprint, first.fingerprint);
  });

  it("names the bad file: unreadable, not PEM, wrong key, bad CA", async () => {
    const dir = tempDir();
    const a = await selfSigned(["a.test"], []);
    const b = await selfSigned(["b.test"], []);
    const f = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const cert = f("cert.pem", a.cert);
    const key = f("key.pem", a.key);
    const junk = f("junk.pem", "not a certificate\n");
    const badBody = f("bad-body.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    const load = (o: Partial<SipTlsConfig>) => loadSipTls(tlsCfg(o), dir, silentLog);
    await assert.rejects(
      load({ cert: join(dir, "missing.pem"), key }),
      /sip\.tls\.cert .*missing\.pem: cannot read \(ENOENT\)/,
    );
    await assert.rejects(load({ cert: junk, key }), /sip\.tls\.cert .*junk\.pem: no PEM certificate/);
    await assert.rejects(load({ cert: badBody, key }), /sip\.tls\.cert .*bad-body\.pem: not a valid certificate/);
    await assert.rejects(load({ cert, key: junk }), /sip\.tls\.key .*junk\.pem: not a valid PEM private key/);
    await assert.rejects(
      load({ cert, key: f("other-key.pem", b.key) }),
      /other-key\.pem: does not belong to the certificate/,
    );
    await assert.rejects(load({ cert, key, ca: [cert, junk] }), /sip\.tls\.ca .*junk\.pem: no PEM certificate/);
    await assert.rejects(
      load({ cert, key, ca: [badBody] }),
      /sip\.tls\.ca .*bad-body\.pem: certificate 1 is not valid/,
    );
    // No error text carries key material.
    await load({ cert, key: junk }).catch((e: Error) => assert.ok(!e.message.includes("PRIVATE KEY")));
    assert.ok((await load({ cert, key, ca: [cert] })).fingerprint);
  });

  it("accepts a RFC 5922 sip: URI SAN for the domain; else node's DNS/IP rules", () => {
    const cert = (san: string) => ({ subject: { CN: "x" }, subjectaltname: san }) as unknown as tls.PeerCertificate;
    assert.equal(sipServerIdentity("example.com", cert("URI:sip:example.com")), undefined);
    assert.equal(sipServerIdentity("Example.COM", cert("DNS:other.test, URI:sip:example.com")), undefined);
    assert.ok(sipServerIdentity("example.com", cert("URI:sip:other.com")) instanceof Error);
    assert.equal(sipServerIdentity("sip.example.com", cert("DNS:sip.example.com")), undefined);
    assert.ok(sipServerIdentity("127.0.0.1", cert("URI:sip:127.0.0.1")) instanceof Error);
  });
});

describe("SIP endpoint over TLS", () => {
  const SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n";
  const dns: DnsResolver = {
    resolveSrv: async () => [],
    resolveAddresses: async (name) => (name === "localhost" ? ["127.0.0.1"] : []),
  };
  const endpoint = async (factory: StreamFactory) => {
    const sip = sipSchema.parse({
      listen: [{ transport: "tls", address: "127.0.0.1", port: 0 }],
      timers: { t1Ms: 100, t2Ms: 1000, t4Ms: 1000 },
    });
    const ep = new SipEndpoint({ sip, trunks: [], log: silentLog, resolver: dns, streams: { tls: factory } });
    const [b] = await ep.start();
    running.push(ep);
    return { ep, port: b?.port ?? 0 };
  };
  /** The leg's end cause, or a rejection after 5 s (a broken flow would otherwise hang the test). */
  const ended = (x: { once(e: "ended", f: (c: LegEndCause) => void): unknown }) =>
    new Promise<LegEndCause>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("leg did not end")), 5000);
      timer.unref();
      x.once("ended", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });

  it("answers OPTIONS from a TLS client on the same connection", async () => {
    const b = await endpoint(serverTls.factory);
    const sock = tls.connect({ host: "127.0.0.1", port: b.port, ca: [sharedPem], servername: "localhost" });
    await new Promise<void>((r, j) => sock.once("secureConnect", r).once("error", j));
    let data = "";
    sock.on("data", (d) => {
      data += d.toString("utf8");
    });
    sock.write(options(5061).replace("SIP/2.0/UDP", "SIP/2.0/TLS"));
    const deadline = Date.now() + 2000;
    while (!data.includes("\r\n\r\n") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.match(data, /^SIP\/2\.0 200 OK\r\n/);
    assert.match(data, /\r\nVia: SIP\/2\.0\/TLS 127\.0\.0\.1:5061;/i);
    sock.destroy();
  });

  it("places a sips: call to a name over TLS; the callee's BYE reuses the caller's connection", async () => {
    // The callee trusts nobody as a client: a BYE on a new connection would fail, so it must reuse the inbound one.
    const callee = await endpoint((await loadSipTls(tlsCfg(), shared, silentLog)).factory);
    const caller = await endpoint((await loadSipTls(tlsCfg({ ca: [sharedCert] }), shared, silentLog)).factory);
    const incoming = new Promise<InboundCall>((r) => callee.ep.once("call", r));
    const out = caller.ep.invite({ target: `sips:+4930123@localhost:${callee.port}`, sdp: SDP });
    const call = await incoming;
    assert.equal(call.info.transport, "tls");
    assert.equal(call.info.requestUri, `sips:+4930123@localhost:${callee.port}`);
    await call.accept(SDP);
    await out.answered;
    const outEnded = ended(out);
    await call.hangup();
    assert.deepEqual(await outEnded, { by: "remote", reason: "bye" });
  });

  it("a call to an untrusted TLS server fails like an unreachable target, naming server and reason", async () => {
    const callee = await endpoint(serverTls.factory);
    const caller = await endpoint((await loadSipTls(tlsCfg(), tempDir(), silentLog)).factory);
    const out = caller.ep.invite({ target: `sips:100@localhost:${callee.port}`, sdp: SDP });
    const cause = await ended(out);
    assert.equal(cause.by, "failure");
    assert.equal(cause.by === "failure" && cause.reason, "transport");
    assert.match(
      cause.by === "failure" ? (cause.text ?? "") : "",
      /^TLS to localhost \(127\.0\.0\.1:\d+\): self.signed/,
    );
    await assert.rejects(out.answered, CallFailedError);
    assert.equal(caller.ep.addresses.length, 1, "still running");
  });

  it("writes Via SIP/2.0/TLS and Contact ;transport=tls toward a TLS peer, and sips: routes over TLS", async () => {
    assert.equal(nextHop("sips:100@pbx.test", [], "udp")?.transport, "tls");
    assert.equal(nextHop("sip:100@pbx.test", ["<sips:proxy.test;lr>"], "udp")?.transport, "tls");
    // A raw TLS server as the peer: it sees the INVITE's headers and answers 486 on the same connection.
    const seen: string[] = [];
    const socks = new Set<tls.TLSSocket>();
    const peer = tls.createServer({ cert: sharedPem, key: sharedKey }, (sock) => {
      socks.add(sock);
      let buf = "";
      sock.on("data", (d) => {
        buf += d.toString("utf8");
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buf.slice(0, end);
        const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        buf = buf.slice(end + 4 + len);
        seen.push(head);
        if (head.startsWith("INVITE ")) sock.write(response200(`${head}\r\n`).replace("200 OK", "486 Busy Here"));
      });
      sock.on("error", () => {});
    });
    await new Promise<void>((r) => peer.listen(0, "127.0.0.1", r));
    running.push({
      stop: () => {
        for (const s of socks) s.destroy();
        return new Promise<void>((r) => peer.close(() => r()));
      },
    });
    const port = (peer.address() as { port: number }).port;
    const caller = await endpoint((await loadSipTls(tlsCfg({ ca: [sharedCert] }), shared, silentLog)).factory);
    const out = caller.ep.invite({ target: `sip:200@localhost:${port};transport=tls`, sdp: SDP });
    const cause = await ended(out);
    assert.deepEqual(
      { ...cause, text: undefined },
      { by: "failure", reason: "rejected", status: 486, text: undefined },
    );
    const invite = seen.find((h) => h.startsWith("INVITE ")) ?? "";
    assert.match(invite, /\r\nVia: SIP\/2\.0\/TLS 127\.0\.0\.1:\d+;branch=/i);
    assert.match(invite, /\r\nContact: <sip:[^>]*;transport=tls>/i);
    // The ACK for the 486 came on the same connection.
    const deadline = Date.now() + 2000;
    while (!seen.some((h) => h.startsWith("ACK ")) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    assert.ok(seen.some((h) => h.startsWith("ACK ")));
  });
});
