import assert from "node:assert/strict";
import { test } from "node:test";
import {
  cobsDecode,
  cobsEncode,
  crc16,
  decodePayload,
  encodeFrame,
  encodePayload,
  FrameDecoder,
  Link,
  LinkTimeoutError,
  type Message,
  NackError,
  type Packet,
} from "./protocol.ts";

const led: Message = { kind: "led", body: { index: 1, colour: "red", pattern: "blink-fast" } };

function frameOf(p: Packet): Buffer {
  return encodeFrame(encodePayload(p));
}

/** Two links wired back to back; `drop` decides per frame (by direction) whether it is lost on the wire. */
function pair(opts: { drop?: (dir: "ab" | "ba", frame: Buffer) => boolean; retryMs?: number; tries?: number } = {}) {
  let a!: Link;
  let b!: Link;
  const conf = { retryMs: opts.retryMs ?? 5, tries: opts.tries ?? 3 };
  a = new Link({ ...conf, write: (f) => opts.drop?.("ab", f) || queueMicrotask(() => b.receive(f)) });
  b = new Link({ ...conf, write: (f) => opts.drop?.("ba", f) || queueMicrotask(() => a.receive(f)) });
  const atB: Message[] = [];
  const atA: Message[] = [];
  b.on("message", (m) => atB.push({ kind: m.kind, body: m.body } as Message));
  a.on("message", (m) => atA.push({ kind: m.kind, body: m.body } as Message));
  return { a, b, atA, atB };
}

test("crc16 is CCITT-FALSE (check value of 123456789 is 0x29B1)", () => {
  assert.equal(crc16(Buffer.from("123456789")), 0x29b1);
  assert.equal(crc16(Buffer.alloc(0)), 0xffff);
});

test("COBS round trips zeros, runs of 254+ bytes and empty input, and never emits 0x00", () => {
  const cases = [
    Buffer.alloc(0),
    Buffer.from([0]),
    Buffer.from([0, 0, 1, 0]),
    Buffer.from([1, 2, 3]),
    Buffer.alloc(254, 7),
    Buffer.alloc(255, 7),
    Buffer.alloc(600, 9),
    Buffer.from(Array.from({ length: 700 }, (_, i) => i % 256)),
  ];
  for (const c of cases) {
    const enc = cobsEncode(c);
    assert.ok(!enc.includes(0), `no zero in encoding of ${c.length} bytes`);
    assert.deepEqual(cobsDecode(enc), c);
  }
  assert.deepEqual(cobsEncode(Buffer.from([0x11, 0x22, 0x00, 0x33])), Buffer.from([0x03, 0x11, 0x22, 0x02, 0x33]));
});

test("COBS decode rejects a code pointing past the end and embedded zeros", () => {
  assert.equal(cobsDecode(Buffer.from([0x05, 0x01, 0x02])), undefined);
  assert.equal(cobsDecode(Buffer.from([0x03, 0x00, 0x02])), undefined);
});

test("every message kind round trips through payload and frame", () => {
  const messages: Message[] = [
    { kind: "hello", body: { versions: [1] } },
    {
      kind: "hello",
      body: {
        version: 1,
        deviceId: "d1",
        firmware: "1.2.3",
        caps: {
          leds: 3,
          colours: ["red"],
          patterns: ["on", "pulse"],
          ringer: true,
          display: 0,
          handset: true,
          keypad: false,
        },
      },
    },
    { kind: "ack", body: {} },
    { kind: "nack", body: { reason: "busy" } },
    { kind: "heartbeat", body: {} },
    { kind: "hook", body: { off: true } },
    { kind: "key", body: { key: "#" } },
    { kind: "button", body: { id: 2 } },
    led,
    { kind: "ringer", body: { on: true } },
    { kind: "display", body: { text: "Grüße 你好" } },
  ];
  for (const [i, m] of messages.entries()) {
    const packet = { ...m, version: 1, seq: (i * 40) % 256 } as Packet;
    const dec = new FrameDecoder();
    const frames = dec.push(frameOf(packet));
    assert.equal(frames.length, 1);
    const f = frames[0];
    assert.ok("payload" in f);
    assert.deepEqual(decodePayload(f.payload), packet);
  }
});

test("a flipped bit gives a CRC error; a truncated frame is short or fails CRC; neither crashes", () => {
  const frame = frameOf({ ...led, version: 1, seq: 3 });
  const raw = cobsDecode(frame.subarray(1, -1))!;
  raw[4] ^= 0x20;
  const bad = Buffer.concat([Buffer.from([0]), cobsEncode(raw), Buffer.from([0])]);
  assert.deepEqual(new FrameDecoder().push(bad), [{ error: "crc" }]);

  const truncated = Buffer.concat([frame.subarray(0, 10), Buffer.from([0])]);
  const r = new FrameDecoder().push(truncated);
  assert.equal(r.length, 1);
  assert.ok("error" in r[0]);
  assert.deepEqual(new FrameDecoder().push(Buffer.from([0, 0x02, 0x05, 0])), [{ error: "short" }]);
});

test("garbage between frames and a split stream: every frame is found again after the noise", () => {
  const f1 = frameOf({ ...led, version: 1, seq: 1 });
  const f2 = frameOf({ kind: "hook", body: { off: true }, version: 1, seq: 2 });
  const noise = Buffer.from([0x41, 0xff, 0x13, 0x37, 0x99]);
  const stream = Buffer.concat([noise, f1, noise, f2, Buffer.from([0x05, 0x06])]);
  const dec = new FrameDecoder();
  const results = [];
  for (let i = 0; i < stream.length; i += 3) results.push(...dec.push(stream.subarray(i, i + 3)));
  const payloads = results.filter((r) => "payload" in r);
  assert.equal(payloads.length, 2);
  assert.equal(results.filter((r) => "error" in r).length, 2, "the two noise runs each give one error");
});

test("an endless run without delimiter is dropped as oversize and the next frame still decodes", () => {
  const dec = new FrameDecoder();
  assert.deepEqual(dec.push(Buffer.alloc(5000, 0x55)), []);
  const out = dec.push(frameOf({ ...led, version: 1, seq: 9 }));
  assert.deepEqual(out[0], { error: "oversize" });
  assert.ok("payload" in out[1]);
});

test("bodies are validated with a message naming the field", () => {
  const bad = Buffer.concat([Buffer.from([1, 0x20, 5]), Buffer.from('{"index":1,"colour":"pink","pattern":"on"}')]);
  const r = decodePayload(bad);
  assert.ok("error" in r && r.error === "body");
  assert.match(r.detail, /^led\.colour: /);
  const notJson = decodePayload(Buffer.concat([Buffer.from([1, 0x11, 5]), Buffer.from("{x")]));
  assert.ok("error" in notJson && notJson.error === "body");
  const unknownType = decodePayload(Buffer.from([1, 0x7f, 5]));
  assert.ok("error" in unknownType && unknownType.error === "type");
  const version = decodePayload(Buffer.from([9, 0x20, 5]));
  assert.ok("error" in version && version.error === "version" && version.seq === 5);
});

test("link: a reliable message is delivered once and acked", async () => {
  const { a, b, atB } = pair();
  await a.send(led);
  assert.deepEqual(atB, [led]);
  assert.equal(a.inFlight, 0);
  assert.equal(b.counters.framesOut, 1, "b sent only the ack");
});

test("link: a lost frame is retried; a lost ack gives a duplicate that is acked but not delivered twice", async () => {
  let droppedData = 0;
  let droppedAck = 0;
  const { a, atB } = pair({
    drop: (dir) => {
      if (dir === "ab" && droppedData < 1) return ++droppedData === 1;
      if (dir === "ba" && droppedAck < 1) return ++droppedAck === 1;
      return false;
    },
  });
  await a.send(led);
  assert.deepEqual(atB, [led]);
  assert.equal(a.counters.retries, 2);
});

test("link: retries exhausted rejects with LinkTimeoutError after exactly `tries` sends", async () => {
  let sent = 0;
  const { a } = pair({
    tries: 3,
    drop: (dir) => {
      if (dir === "ab") sent++;
      return dir === "ab";
    },
  });
  await assert.rejects(a.send(led), LinkTimeoutError);
  assert.equal(sent, 3);
  assert.equal(a.counters.timeouts, 1);
  assert.equal(a.counters.retries, 2);
});

test("link: sequence numbers wrap after 255 and 600 messages arrive exactly once, in order", async () => {
  const { a, b, atB } = pair();
  for (let i = 0; i < 600; i++) await a.send({ kind: "button", body: { id: i % 256 } });
  assert.equal(atB.length, 600);
  assert.deepEqual(
    atB.map((m) => (m.kind === "button" ? m.body.id : -1)),
    Array.from({ length: 600 }, (_, i) => i % 256),
  );
  assert.equal(b.counters.duplicates, 0);
});

test("link: an unknown protocol version is nacked, counted and not delivered", () => {
  const wire: Buffer[] = [];
  const b = new Link({ write: (f) => wire.push(f) });
  const delivered: unknown[] = [];
  b.on("message", (m) => delivered.push(m));
  const payload = encodePayload({ ...led, version: 1, seq: 7 });
  payload[0] = 2;
  b.receive(encodeFrame(payload));
  assert.equal(wire.length, 1);
  const [reply] = new FrameDecoder().push(wire[0]);
  assert.ok("payload" in reply);
  const p = decodePayload(reply.payload);
  assert.ok(!("error" in p) && p.kind === "nack" && p.seq === 7);
  assert.match(p.body.reason, /unsupported protocol version 2/);
  assert.equal(b.counters.badVersion, 1);
  assert.deepEqual(delivered, []);
});

test("link: a nack rejects the send with the peer's reason", async () => {
  const wire: Buffer[] = [];
  const a = new Link({ write: (f) => wire.push(f), retryMs: 1000 });
  const p = a.send(led);
  a.receive(frameOf({ kind: "nack", body: { reason: "no such led" }, version: 1, seq: 0 }));
  await assert.rejects(p, (e: unknown) => e instanceof NackError && e.reason === "no such led");
  assert.equal(a.counters.nacksIn, 1);
});

test("link: malformed and corrupt frames are counted and the next good one is delivered", async () => {
  const { b, atB } = pair();
  const good = frameOf({ ...led, version: 1, seq: 4 });
  const raw = cobsDecode(good.subarray(1, -1))!;
  raw[raw.length - 1] ^= 1;
  b.receive(Buffer.concat([Buffer.from([0]), cobsEncode(raw), Buffer.from([0])]));
  b.receive(Buffer.from([0x03, 0x00, 0x07, 0x01, 0x09, 0x00]));
  b.receive(good);
  assert.equal(b.counters.crcErrors, 1);
  assert.equal(b.counters.malformed, 2);
  assert.deepEqual(atB, [led]);
});

test("link: a hello resets duplicate suppression (the peer restarted and counts from 0 again)", async () => {
  const { b, atB } = pair();
  b.receive(frameOf({ ...led, version: 1, seq: 0 }));
  b.receive(frameOf({ ...led, version: 1, seq: 0 }));
  assert.equal(atB.length, 1);
  b.receive(frameOf({ kind: "hello", body: { versions: [1] }, version: 1, seq: 1 }));
  b.receive(frameOf({ ...led, version: 1, seq: 0 }));
  assert.equal(atB.length, 3);
  assert.equal(b.counters.duplicates, 1);
});

test("link: close rejects what is in flight", async () => {
  const a = new Link({ write: () => {}, retryMs: 1000 });
  const p = a.send(led);
  a.close();
  await assert.rejects(p, /closed/);
  await assert.rejects(a.send(led), /closed/);
});
