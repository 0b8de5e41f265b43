// GET /api/events: the live event stream (Server-Sent Events) of the admin page. A stream starts with a `snapshot`
// (the /api/live content), then carries `call`, `queue`, `trunk`, `health`, and the user's own `ring` and
// `ring-cancel` events. There is no replay after a reconnect (Last-Event-ID): the new stream's snapshot is the state.
import type { ServerResponse } from "node:http";
import type { EventHub, LiveEvent } from "../live-events.ts";
import { HttpError, type Route, route, SENT } from "../route.ts";

export interface EventsDeps {
  hub: EventHub;
  /** The content of the first event (`snapshot`): what GET /api/live answers. */
  snapshot(): unknown;
  /** Comment pings keep proxies and idle timeouts from closing a quiet stream (default 15 s). */
  pingMs?: number;
  /** The browser's reconnect delay, sent as `retry:` (default 3 s). */
  retryMs?: number;
}

/** One SSE frame; multi-line data becomes several data: lines (JSON.stringify gives one). */
export function sseFrame(e: LiveEvent): string {
  const data = JSON.stringify(e.data ?? null)
    .split("\n")
    .map((l) => `data: ${l}`)
    .join("\n");
  return `id: ${e.id}\nevent: ${e.event}\n${data}\n\n`;
}

export function eventsRoutes(deps: EventsDeps): Route[] {
  return [
    route({
      method: "GET",
      path: "/api/events",
      access: "staff",
      summary: "Live events (Server-Sent Events): snapshot, call, queue, trunk, health, ring, ring-cancel",
      tag: "live",
      produces: "text/event-stream",
      handle: ({ res, user }) => {
        if (!user) throw new HttpError(401, "not logged in", "session");
        open(res, user.name, deps);
        return SENT;
      },
    }),
  ];
}

function open(res: ServerResponse, user: string, deps: EventsDeps): void {
  const snapshot = deps.snapshot(); // before the headers, so a failure is still an ordinary error answer
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    // nginx and similar proxies would otherwise hold events back
    "x-accel-buffering": "no",
  });
  res.write(`retry: ${deps.retryMs ?? 3000}\n\n`);
  let closed = false;
  let unsubscribe: (() => void) | undefined;
  let stalledPings = 0;
  const ping = setInterval(() => {
    // A client that has not taken what we wrote for two pings in a row is gone or stuck: let it go.
    if (res.writableNeedDrain) {
      if (++stalledPings >= 2) abort();
      return;
    }
    stalledPings = 0;
    res.write(": ping\n\n");
  }, deps.pingMs ?? 15_000);
  ping.unref();
  const end = () => {
    if (closed) return;
    closed = true;
    clearInterval(ping);
    unsubscribe?.();
    res.end();
  };
  // Ending politely would wait behind the backlog the client does not read.
  const abort = () => {
    end();
    res.destroy();
  };
  // A write the socket did not take resolves on drain; the hub queues (bounded) what comes meanwhile.
  const send = (e: LiveEvent): void | Promise<void> => {
    if (closed) return Promise.reject(new Error("stream closed"));
    if (res.write(sseFrame(e))) return;
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        res.off("drain", done);
        res.off("close", done);
        if (closed) reject(new Error("stream closed"));
        else resolve();
      };
      res.on("drain", done);
      res.on("close", done);
    });
  };
  res.on("close", end);
  unsubscribe = deps.hub.subscribe(user, send, { first: { event: "snapshot", data: snapshot }, onDrop: abort });
  if (closed) unsubscribe(); // dropped while subscribing (the snapshot could not be sent)
}
