import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { Agent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { after, before, describe, it } from "node:test";
import { Writable } from "node:stream";
import { gunzipSync } from "node:zlib";
import { z } from "zod";
import { createLog } from "../ops/log.ts";
import { HttpError, route, SENT } from "./route.ts";
import { send, startTestWeb, type TestResponse, type TestWeb } from "./testkit.ts";

const testRoutes = [
  route<unknown, { n: number }>({
    method: "POST",
    path: "/api/test/echo",
    access: "staff",
    tag: "test",
    summary: "echo",
    body: z.object({ n: z.number().int() }).strict(),
    handle: (ctx) => ({ n: ctx.body.n, user: ctx.user?.name }),
  }),
  route<{ limit: number }>({
    method: "GET",
    path: "/api/test/items",
    access: "staff",
    tag: "test",
    summary: "items",
    query: z.object({ limit: z.coerce.number().int().min(1).max(10).default(5) }),
    handle: (ctx) => ({ limit: ctx.query.limit }),
  }),
  route({
    method: "GET",
    path: "/api/test/things/:id",
    access: "staff",
    tag: "test",
    summary: "one thing",
    handle: (ctx) => ({ id: ctx.params.id }),
  }),
  route({
    method: "DELETE",
    path: "/api/test/things/:id",
    access: "admin",
    tag: "test",
    summary: "delete a thing",
    handle: (ctx) => {
      if (ctx.params.id === "gone") throw new HttpError(404, "no such thing", "path.id");
      ctx.audit({ action: "thing.delete", target: ctx.params.id });
    },
  }),
  route({
    method: "GET",
    path: "/api/test/boom",
    access: "staff",
    tag: "test",
    summary: "fails",
    handle: () => {
      throw new Error("database file /secret/path is corrupt");
    },
  }),
  route({
    method: "GET",
    path: "/api/test/raw",
    access: "public",
    tag: "test",
    summary: "writes itself",
    produces: "text/plain",
    handle: (ctx) => {
      ctx.res.writeHead(200, { "content-type": "text/plain" }).end("raw");
      return SENT;
    },
  }),
];

let web: TestWeb;
const logLines: string[] = [];
const log = createLog(
  "info",
  new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString());
      done();
    },
  }),
  { ring: false },
);
let uiRoot: string;
const bigJs = `console.log(${JSON.stringify("x".repeat(5000))});\n`;

before(async () => {
  uiRoot = mkdtempSync(join(tmpdir(), "sb-ui-"));
  const ui = join(uiRoot, "ui");
  mkdirSync(join(ui, "css"), { recursive: true });
  writeFileSync(join(ui, "index.html"), "<!doctype html><title>Switchboard</title><script src=/app.js></script>");
  writeFileSync(join(ui, "app.js"), bigJs);
  writeFileSync(join(ui, "css", "page.css"), "body{margin:0}");
  writeFileSync(join(ui, ".hidden"), "no");
  writeFileSync(join(ui, "ui.test.ts"), "// the UI's own test, not part of the page");
  writeFileSync(join(uiRoot, "secret.txt"), "outside the ui folder");
  symlinkSync(join(uiRoot, "secret.txt"), join(ui, "link.txt"));
  web = await startTestWeb({
    routes: testRoutes,
    uiDir: ui,
    log,
    config: { web: { hosts: ["switchboard.example.com", "forwarded.example.com:443"] } },
  });
});
after(async () => {
  await web.close();
  rmSync(uiRoot, { recursive: true, force: true });
});

function port(url: string): number {
  return Number(new URL(url).port);
}

/** A request with a Host header of our choosing (node's client would otherwise send the real one). */
function withHost(host: string, path = "/", method = "GET"): Promise<TestResponse> {
  // The chain is still verified (ca); only the name check is off, since the Host is deliberately another name.
  const agent = new Agent({ ca: web.cert, checkServerIdentity: () => undefined });
  return send(agent, `${web.base}${path}`, method, { host }).finally(() => agent.destroy());
}

describe("web server: listeners", () => {
  it("answers a Host it does not know with 421 and no content", async () => {
    const p = port(web.base);
    for (const host of [`evil.example:${p}`, `127.0.0.1:${p + 1}`, "127.0.0.1", `switchboard.example.com:${p}x`]) {
      const r = await withHost(host, "/api/openapi.json");
      assert.equal(r.status, 421, host);
      assert.doesNotMatch(r.text, /openapi|Switchboard/);
    }
    for (const host of [`localhost:${p}`, `127.0.0.1:${p}`, `[::1]:${p}`, `SwitchBoard.example.com:${p}`]) {
      assert.equal((await withHost(host, "/api/openapi.json")).status, 200, host);
    }
    assert.equal((await withHost("forwarded.example.com", "/")).status, 200, "a hosts entry with :443 allows no port");
  });

  it("redirects plain HTTP to HTTPS (301), and refuses unknown hosts there too", async () => {
    assert.ok(web.httpUrl);
    const get = (host: string) =>
      new Promise<{ status: number; location?: string }>((resolve, reject) => {
        const req = httpRequest(`${web.httpUrl}/calls?day=2026-01-02`, { headers: { host } }, (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, location: res.headers.location });
        });
        req.on("error", reject);
        req.end();
      });
    const r = await get(`127.0.0.1:${port(web.httpUrl)}`);
    assert.equal(r.status, 301);
    assert.equal(r.location, `${web.base}/calls?day=2026-01-02`);
    assert.equal((await get(`rebind.example:${port(web.httpUrl)}`)).status, 421);
  });

  it("refuses TLS 1.1 and speaks TLS 1.2", async () => {
    const handshake = (version: "TLSv1.1" | "TLSv1.2") =>
      new Promise<string>((resolve) => {
        const s = connect({
          host: "127.0.0.1",
          port: port(web.base),
          minVersion: version,
          maxVersion: version,
          ca: web.cert,
          // OpenSSL 3 would not even offer TLS 1.1 at its default security level; the point is the server's answer.
          ciphers: "DEFAULT@SECLEVEL=0",
        });
        s.once("secureConnect", () => {
          resolve(s.getProtocol() ?? "?");
          s.end();
        });
        s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      });
    assert.equal(await handshake("TLSv1.2"), "TLSv1.2");
    assert.equal(await handshake("TLSv1.1"), "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION");
  });

  it("sends the security headers on pages and API answers", async () => {
    for (const path of ["/", "/api/openapi.json", "/api/nope"]) {
      const r = await web.anonymous().get(path);
      const csp = String(r.headers["content-security-policy"]);
      assert.match(csp, /default-src 'self'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.match(String(r.headers["strict-transport-security"]), /max-age=\d+/);
      assert.equal(r.headers["x-content-type-options"], "nosniff");
      assert.equal(r.headers["referrer-policy"], "no-referrer");
    }
  });
});

describe("web server: static files", () => {
  it("serves index.html for / and for client-side routes, assets with their types", async () => {
    const c = web.anonymous();
    const home = await c.get("/");
    assert.equal(home.status, 200);
    assert.equal(home.headers["content-type"], "text/html; charset=utf-8");
    assert.match(home.text, /<title>Switchboard/);
    const route = await c.get("/calls/123");
    assert.equal(route.status, 200);
    assert.equal(route.text, home.text);
    const css = await c.get("/css/page.css");
    assert.equal(css.headers["content-type"], "text/css; charset=utf-8");
    assert.equal(css.text, "body{margin:0}");
    assert.equal((await c.get("/missing.js")).status, 404, "a missing asset is not the page");
    assert.equal((await c.request("POST", "/", { raw: "x" })).status, 405);
  });

  it("answers 304 to a matching ETag and gzips when asked", async () => {
    const c = web.anonymous();
    const first = await c.get("/app.js");
    assert.equal(first.headers["content-type"], "text/javascript; charset=utf-8");
    assert.equal(first.text, bigJs);
    const etag = String(first.headers.etag);
    assert.match(etag, /^"[^"]+"$/);
    const again = await c.get("/app.js", { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    const gz = await c.get("/app.js", { headers: { "accept-encoding": "gzip, br" } });
    assert.equal(gz.headers["content-encoding"], "gzip");
    assert.ok(gz.body.length < bigJs.length / 10);
    assert.equal(gunzipSync(gz.body).toString(), bigJs);
    const gzEtag = String(gz.headers.etag);
    assert.notEqual(gzEtag, etag);
    assert.equal(
      (await c.get("/app.js", { headers: { "accept-encoding": "gzip", "if-none-match": gzEtag } })).status,
      304,
    );
  });

  it("never leaves the ui folder (404 for traversal, hidden files, tests and symlinks out)", async () => {
    const c = web.anonymous();
    for (const path of [
      "/%2e%2e/secret.txt",
      "/..%2fsecret.txt",
      "/css/..%2f..%2fsecret.txt",
      "/%2e%2e%2f%2e%2e%2fpackage.json",
      "/..%5csecret.txt",
      "/app.js%00.html",
      "/.hidden",
      "/link.txt",
      "/ui.test.ts",
      "/%E0%A4%A",
    ]) {
      const r = await c.get(path);
      assert.equal(r.status, 404, path);
      assert.doesNotMatch(r.text, /outside the ui folder/);
    }
  });
});

describe("web server: API dispatch", () => {
  it("404 JSON for unknown API paths, 405 with Allow for a known path with another method", async () => {
    const staff = await web.login("staff");
    const unknown = await staff.get("/api/nothing/here");
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json().where, "path");
    const wrong = await staff.request("PUT", "/api/test/things/1", { body: {} });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.allow, "GET, DELETE");
    assert.equal(wrong.json().where, "method");
  });

  it("passes decoded path parameters and validated queries", async () => {
    const staff = await web.login("staff");
    assert.deepEqual((await staff.get("/api/test/things/a%20b%2Fc")).json(), { id: "a b/c" });
    assert.deepEqual((await staff.get("/api/test/items")).json(), { limit: 5 });
    assert.deepEqual((await staff.get("/api/test/items?limit=7")).json(), { limit: 7 });
    const bad = await staff.get("/api/test/items?limit=99");
    assert.equal(bad.status, 400);
    assert.equal(bad.json().where, "query.limit");
    assert.equal((bad.json().problems as { path: string }[])[0].path, "query.limit");
    assert.equal((await staff.get("/api/test/things/%E0%A4%A")).json().where, "path.id");
  });

  it("bad JSON is 400 where body; a wrong field names it; a non-JSON type is 415", async () => {
    const staff = await web.login("staff");
    const broken = await staff.request("POST", "/api/test/echo", {
      raw: '{"n": 1',
      headers: { "content-type": "application/json" },
    });
    assert.equal(broken.status, 400);
    assert.equal(broken.json().where, "body");
    const field = await staff.post("/api/test/echo", { n: "one" });
    assert.equal(field.status, 400);
    assert.equal(field.json().where, "body.n");
    const extra = await staff.post("/api/test/echo", { n: 1, m: 2 });
    assert.equal(extra.status, 400);
    const form = await staff.request("POST", "/api/test/echo", {
      raw: "n=1",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    assert.equal(form.status, 415);
    assert.deepEqual((await staff.post("/api/test/echo", { n: 3 })).json(), { n: 3, user: "staff" });
  });

  it("a 2 MiB body is refused with 413", async () => {
    const staff = await web.login("staff");
    const big = await staff.request("POST", "/api/test/echo", {
      raw: JSON.stringify({ n: 1, pad: "x".repeat(2 * 1024 * 1024) }),
      headers: { "content-type": "application/json" },
    });
    assert.equal(big.status, 413);
    assert.equal(big.json().where, "body");
    // Without a Content-Length (chunked) the limit holds as well.
    const chunked = await staff.request("POST", "/api/test/echo", {
      raw: JSON.stringify({ n: 1, pad: "x".repeat(2 * 1024 * 1024) }),
      headers: { "content-type": "application/json", "transfer-encoding": "chunked" },
    });
    assert.equal(chunked.status, 413);
  });

  it("an unexpected error is a generic 500 that reveals nothing", async () => {
    const staff = await web.login("staff");
    const r = await staff.get("/api/test/boom");
    assert.equal(r.status, 500);
    assert.doesNotMatch(r.text, /secret|corrupt/);
    assert.equal(typeof r.json().error, "string");
    assert.ok(
      logLines.some((l) => l.includes("is corrupt") && l.includes("/api/test/boom")),
      "the log has the cause",
    );
  });

  it("a handler may write the answer itself", async () => {
    const r = await web.anonymous().get("/api/test/raw");
    assert.equal(r.text, "raw");
  });
});

describe("web server: sessions, CSRF and roles", () => {
  it("refuses API calls without a session (401)", async () => {
    const r = await web.anonymous().get("/api/test/items");
    assert.equal(r.status, 401);
    assert.equal(r.json().where, "session");
  });

  it("a POST without the CSRF token is 403; with it, it works", async () => {
    const staff = await web.login("staff");
    const without = await staff.post("/api/test/echo", { n: 1 }, { csrf: false });
    assert.equal(without.status, 403);
    assert.equal(without.json().where, "x-csrf-token");
    const wrong = await staff.post("/api/test/echo", { n: 1 }, { headers: { "x-csrf-token": "x".repeat(43) } });
    assert.equal(wrong.status, 403);
    const other = await web.login("staff");
    assert.equal(
      (await staff.post("/api/test/echo", { n: 1 }, { headers: { "x-csrf-token": other.csrf ?? "" } })).status,
      403,
      "another session's token does not count",
    );
    assert.equal((await staff.post("/api/test/echo", { n: 1 })).status, 200);
  });

  it("refuses cross-origin unsafe requests, even with the token", async () => {
    const staff = await web.login("staff");
    const r = await staff.post("/api/test/echo", { n: 1 }, { headers: { origin: "https://evil.example" } });
    assert.equal(r.status, 403);
    assert.equal(r.json().where, "origin");
    const site = await staff.post("/api/test/echo", { n: 1 }, { headers: { "sec-fetch-site": "cross-site" } });
    assert.equal(site.status, 403);
    const same = await staff.post("/api/test/echo", { n: 1 }, { headers: { origin: web.base } });
    assert.equal(same.status, 200);
  });

  it("staff gets 403 on admin routes; admin passes and the action is audited", async () => {
    const staff = await web.login("staff");
    const r = await staff.delete("/api/test/things/7");
    assert.equal(r.status, 403);
    assert.equal(r.json().where, "role");
    assert.equal((await staff.get("/api/users")).status, 403);
    assert.equal((await staff.get("/api/audit")).status, 403);
    const admin = await web.login("admin");
    assert.equal((await admin.delete("/api/test/things/7")).status, 204);
    assert.equal((await admin.delete("/api/test/things/gone")).status, 404);
    const items = (await admin.get("/api/audit")).json<{
      items: { action: string; target: string; user: string; address: string }[];
    }>().items;
    const entry = items.find((i) => i.action === "thing.delete");
    assert.deepEqual(entry && [entry.target, entry.user, entry.address], ["7", "admin", "127.0.0.1"]);
  });
});
