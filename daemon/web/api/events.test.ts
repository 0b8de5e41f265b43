import assert from "node:assert/strict";
import { createServer, get, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { EventHub } from "../live-events.ts";
import { type Route, type RouteContext, SENT } from "../route.ts";
import { eventsRoutes, sseFrame } from "./events.ts";

interface Frame {
  id?: string;
  event?: string;
  data?: unknown;
  retry?: string;
  comment?: string;
}

/** A stand-in for the web server: runs the one route as `user`, and tells when a response closed. */
async function serve(r: Route, user: string): Promise<{ server: Server; url: string; closed: Promise<void> }> {
  let closedOne!: () => void;
  const closed = new Promise<void>((resolve) => {
    closedOne = resolve;
  });
  const server = createServer(async (req, res) => {
    res.on("close", () => closedOne());
    const ctx: RouteContext = {
      req,
      res,
      url: new URL(req.url ?? "/", "http://127.0.0.1"),
      params: {},
      query: {},
      body: undefined,
      user: { name: user, role: "staff", mustChange: false },
      remoteAddress: "127.0.0.1",
      audit: () => undefined,
    };
    const out = await r.handle(ctx);
    assert.equal(out, SENT);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/api/events`, closed };
}

/** Reads an event stream frame by frame. */
function reader(res: IncomingMessage) {
  const frames: Frame[] = [];
  const waiters: (() => void)[] = [];
  let buf = "";
  res.setEncoding("utf8");
  res.on("data", (chunk: string) => {
    buf += chunk;
    for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const f: Frame = {};
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) f.comment = line.slice(1).trim();
        const m = /^(\w+): ?(.*)$/.exec(line);
        if (!m) continue;
        const [, k, v] = m as unknown as [string, string, string];
        if (k === "data") data.push(v);
        else if (k === "id" || k === "event" || k === "retry") f[k] = v;
      }
      if (data.length) f.data = JSON.parse(data.join("\n"));
      frames.push(f);
      for (const w of waiters.splice(0)) w();
    }
  });
  /** Resolves with the frame at `index` once it arrived. */
  const frame = async (index: number): Promise<Frame> => {
    for (let guard = 0; frames.length <= index; guard++) {
      if (guard > 1000) throw new Error("stream stalled");
      await new Promise<void>((r) => waiters.push(r));
    }
    return frames[index] as Frame;
  };
  return { frames, frame };
}

test("SSE: retry first, then the snapshot, then published events (not other users' rings); cleanup on close", async () => {
  const hub = new EventHub();
  const snapshot = { calls: [], queues: [], trunks: [{ id: "t1", state: "registered" }] };
  const [r] = eventsRoutes({ hub, snapshot: () => snapshot });
  assert.ok(r);
  assert.equal(r.produces, "text/event-stream");
  const { server, url, closed } = await serve(r, "anna");
  try {
    const res = await new Promise<IncomingMessage>((resolve, reject) => get(url, resolve).on("error", reject));
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers["content-type"]), /^text\/event-stream/);
    assert.equal(res.headers["cache-control"], "no-cache, no-transform");
    const s = reader(res);
    assert.deepEqual(await s.frame(0), { retry: "3000" });
    const first = await s.frame(1);
    assert.equal(first.event, "snapshot");
    assert.deepEqual(first.data, snapshot);
    assert.equal(hub.stats().subscribers, 1);

    const call = { id: "c1", direction: "inbound", caller: "+4930111", startedAt: 1, state: "talking" };
    hub.publish("ring", { callId: "c1" }, { user: "ben" });
    hub.publish("call", { type: "started", call });
    const next = await s.frame(2);
    assert.equal(next.event, "call");
    assert.equal(next.id, "2", "ids count every published event");
    assert.deepEqual(next.data, { type: "started", call });

    hub.publish("ring", { callId: "c2" }, { user: "anna" });
    assert.equal((await s.frame(3)).event, "ring");

    res.destroy();
    await closed;
    assert.equal(hub.stats().subscribers, 0, "the closed stream left the hub");
  } finally {
    server.close();
  }
});

test("SSE: quiet streams get comment pings; a dropped subscriber's stream is ended", async () => {
  const hub = new EventHub();
  const [r] = eventsRoutes({ hub, snapshot: () => ({}), pingMs: 20 });
  assert.ok(r);
  const { server, url, closed } = await serve(r, "anna");
  try {
    const res = await new Promise<IncomingMessage>((resolve, reject) => get(url, resolve).on("error", reject));
    const s = reader(res);
    assert.equal((await s.frame(1)).event, "snapshot");
    assert.equal((await s.frame(2)).comment, "ping");
    const ended = new Promise<void>((resolve) => res.on("close", resolve));
    hub.close("anna", "logged out");
    await Promise.all([ended, closed]);
    assert.equal(hub.stats().subscribers, 0);
  } finally {
    server.close();
  }
});

test("sseFrame: id, event and one data line of JSON", () => {
  assert.equal(
    sseFrame({ id: 7, event: "trunk", data: { id: "t1", detail: "a\nb" } }),
    'id: 7\nevent: trunk\ndata: {"id":"t1","detail":"a\\nb"}\n\n',
  );
});
