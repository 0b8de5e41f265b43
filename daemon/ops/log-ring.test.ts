import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { createLog, logRingOf } from "./log.ts";
import { LogRing } from "./log-ring.ts";

/** Collects what the main destination receives, so the test can compare it with the ring. */
function sink(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      cb();
    },
  });
  return { stream, lines };
}

test("the ring holds redacted lines: a logged password shows [redacted], in the ring as in the log", () => {
  const out = sink();
  const log = createLog("info", out.stream);
  const ring = logRingOf(log);
  assert.ok(ring);
  log.child({ part: "sip" }).info({ password: "x", trunk: { id: "t1", password: "hunter2" } }, "trunk configured");
  const [line] = ring.recent();
  assert.ok(line);
  assert.equal(line.msg, "trunk configured");
  assert.equal(line.part, "sip");
  assert.equal(line.level, "info");
  assert.deepEqual(line.detail, { password: "[redacted]", trunk: { id: "t1", password: "[redacted]" } });
  assert.ok(!JSON.stringify(ring.recent()).includes("hunter2"));
  // The main destination still gets every line.
  assert.equal(out.lines.length, 1);
  assert.ok(!out.lines[0]?.includes("hunter2"));
});

test("the ring keeps only the last N lines, newest first", () => {
  const ring = new LogRing(3);
  const log = createLog("debug", sink().stream, { ring });
  for (let i = 1; i <= 5; i++) log.info(`line ${i}`);
  assert.equal(ring.size, 3);
  assert.deepEqual(
    ring.recent().map((l) => l.msg),
    ["line 5", "line 4", "line 3"],
  );
  assert.deepEqual(
    ring.recent({ limit: 2 }).map((l) => l.msg),
    ["line 5", "line 4"],
  );
});

test("level filter: at least the asked level; the logger's own level still applies", () => {
  const ring = new LogRing(10);
  const log = createLog("info", sink().stream, { ring });
  log.debug("not logged at info");
  log.info("hello");
  log.warn("careful");
  log.error({ err: "boom" }, "failed");
  assert.deepEqual(
    ring.recent().map((l) => l.msg),
    ["failed", "careful", "hello"],
  );
  assert.deepEqual(
    ring.recent({ level: "warn" }).map((l) => [l.level, l.msg]),
    [
      ["error", "failed"],
      ["warn", "careful"],
    ],
  );
  assert.deepEqual(ring.recent({ level: "error" })[0]?.detail, { err: "boom" });
});

test("an oversized line is kept short; no ring when asked for none", () => {
  const ring = new LogRing(5);
  const log = createLog("info", sink().stream, { ring });
  log.info({ blob: "y".repeat(50_000) }, "m".repeat(5000));
  const [line] = ring.recent();
  assert.ok(line);
  assert.equal(line.msg.length, 2000);
  assert.deepEqual(line.detail, { truncated: true });
  assert.equal(logRingOf(createLog("info", sink().stream, { ring: false })), undefined);
  assert.throws(() => new LogRing(0), /capacity/);
});
