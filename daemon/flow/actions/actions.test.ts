import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { closeDb, openDb } from "../../store/db.ts";
import { Outbox, type OutboxOptions, PermanentError } from "../../store/outbox.ts";
import { mailActionSchema, mailHandler, mailItem, mailKind, renderTemplate } from "./mail.ts";
import { LocalRecords, SlotTakenError } from "./records.ts";
import {
  type WebhookAction,
  verifySignature,
  webhookActionSchema,
  webhookHandler,
  webhookItem,
  webhookKind,
} from "./webhook.ts";

const dbFile = () => join(mkdtempSync(join(tmpdir(), "sb-actions-")), "s.db");
const secret = "whsec-0123456789abcdef";
const fast = { backoffBaseMs: 5, backoffCapMs: 40, maxAttempts: 100 };

/** Polls until cond holds; the bound only keeps a broken build from hanging the suite. */
async function until(cond: () => boolean, what: string, limitMs = 15_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await sleep(5);
  }
}

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  status?: number;
}

/** A real HTTP receiver on loopback; `answer` picks each request's status (undefined: never answer). */
async function receiver(answer: (r: Received, n: number) => number | undefined, port = 0) {
  const received: Received[] = [];
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r: Received = { headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
      received.push(r);
      r.status = answer(r, received.length);
      if (r.status === undefined) held.push(res);
      else res.writeHead(r.status).end("ok");
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    // The token in the query string must never reach last_error.
    url: `http://127.0.0.1:${bound}/hooks/switchboard?token=q-s3cr3t`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function webhookOutbox(db: ReturnType<typeof openDb>, action: WebhookAction, opts: OutboxOptions = fast) {
  const outbox = new Outbox(db, opts);
  outbox.register(
    webhookKind,
    webhookHandler((name) => (name === "crm" ? action : undefined)),
  );
  return outbox;
}

test("webhook config errors name the field and say what is wrong", () => {
  const issues = (v: unknown) =>
    webhookActionSchema.safeParse(v).error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`) ?? [];
  assert.deepEqual(issues({ url: "ftp://x.example/" }), ["url: must be an http:// or https:// URL"]);
  assert.match(issues({ url: "https://u:p@x.example/" }).join(), /^url: must not carry credentials/);
  assert.match(issues({ url: "https://x.example/", secret: "short" }).join(), /^secret: must be at least 16/);
  assert.match(
    issues({ url: "https://x.example/", headers: { "Idempotency-Key": "x" } }).join(),
    /^headers: must not set/,
  );
  assert.match(issues({ url: "https://x.example/", headers: { A: "x\r\nB: y" } }).join(), /^headers.A: must be/);
  assert.equal(webhookActionSchema.parse({ url: "https://x.example/" }).timeoutMs, 10_000);
  assert.match(
    mailActionSchema
      .safeParse({ host: "mx", from: "box", to: [], subject: "s", password: "pw" })
      .error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`)
      .join("; ") ?? "",
    /from: must be an e-mail address; to: needs at least one address; user: a password needs a user/,
  );
});

test("a webhook is delivered with a Stripe-style signature the receiver can verify", async () => {
  const rx = await receiver(() => 200);
  const db = openDb(dbFile());
  const action = webhookActionSchema.parse({ url: rx.url, secret, headers: { Authorization: "Bearer abc" } });
  const outbox = webhookOutbox(db, action);
  outbox.start();
  const id = outbox.enqueue(
    webhookItem({
      target: "crm",
      event: "ticket.created",
      data: { subject: "Heizung defekt", caller: "+4930111" },
      idempotencyKey: "ticket.created:1",
      callId: "call-1",
    }),
  );
  assert.equal(await outbox.waitFor(id, 10_000), "delivered");
  await outbox.stop();
  await rx.close();
  assert.equal(rx.received.length, 1);
  const { headers, body } = rx.received[0];
  assert.equal(headers["content-type"], "application/json");
  assert.equal(headers["idempotency-key"], "ticket.created:1");
  assert.equal(headers["x-switchboard-event"], "ticket.created");
  assert.equal(headers.authorization, "Bearer abc");
  const sig = headers["x-switchboard-signature"] as string;
  assert.match(sig, /^t=\d+,v1=[0-9a-f]{64}$/);
  assert.equal(verifySignature(secret, sig, body, 300), true);
  assert.equal(verifySignature(secret, sig, Buffer.from(body), 300), true);
  assert.equal(verifySignature("whsec-another-secret-000", sig, body, 300), false);
  assert.equal(verifySignature(secret, sig, body.replace("Heizung", "Heizunk"), 300), false);
  const t = Number(/t=(\d+)/.exec(sig)![1]);
  assert.equal(verifySignature(secret, sig, body, 300, t + 301), false, "a replay outside the tolerance");
  assert.equal(verifySignature(secret, `${sig},v1=${"0".repeat(64)}`, body, 300, t), true, "rotation: one match");
  assert.equal(verifySignature(secret, undefined, body), false);
  assert.equal(verifySignature(secret, "v1=abc", body), false);
  const json = JSON.parse(body);
  assert.equal(json.event, "ticket.created");
  assert.equal(json.callId, "call-1");
  assert.deepEqual(json.data, { subject: "Heizung defekt", caller: "+4930111" });
  assert.ok(!Number.isNaN(Date.parse(json.createdAt)));
  closeDb(db);
});

test("the same idempotency key twice is one item and one delivery", async () => {
  const rx = await receiver(() => 200);
  const db = openDb(dbFile());
  const outbox = webhookOutbox(db, webhookActionSchema.parse({ url: rx.url }), { ...fast, concurrency: 1 });
  outbox.start();
  const item = webhookItem({ target: "crm", event: "ticket.created", data: { n: 1 }, idempotencyKey: "k-1" });
  const a = outbox.enqueue(item);
  const b = outbox.enqueue(item);
  assert.equal(a, b);
  assert.equal(await outbox.waitFor(a, 10_000), "delivered");
  assert.equal(outbox.enqueue(item), a, "also after delivery");
  // With one attempt at a time, a second delivery of k-1 would come before this marker is done.
  const marker = outbox.enqueue({ ...item, idempotencyKey: "k-2" });
  assert.equal(await outbox.waitFor(marker, 10_000), "delivered");
  await outbox.stop();
  await rx.close();
  assert.deepEqual(
    rx.received.map((r) => r.headers["idempotency-key"]),
    ["k-1", "k-2"],
  );
  closeDb(db);
});

test("receiver down (refused, then 503s) and an outbox restart on the same file: every item arrives", async () => {
  const probe = await receiver(() => 200);
  const port = probe.port;
  await probe.close(); // nothing listens there now: connection refused
  const file = dbFile();
  let db = openDb(file);
  const action = webhookActionSchema.parse({ url: `http://127.0.0.1:${port}/hooks?token=q-s3cr3t`, secret });
  let outbox = webhookOutbox(db, action);
  outbox.start();
  const keys = ["a", "b", "c", "d", "e"];
  const ids = keys.map((k) =>
    outbox.enqueue(webhookItem({ target: "crm", event: "ticket.created", data: { k }, idempotencyKey: k })),
  );
  assert.equal(await outbox.waitFor(ids[0], 10_000), "failed");
  await until(() => ids.every((id) => (outbox.get(id)?.attempts ?? 0) >= 2), "two refused attempts each");
  assert.match(outbox.get(ids[0])!.lastError ?? "", /ECONNREFUSED/);

  const rx = await receiver((_r, n) => (n <= 6 ? 503 : 200), port);
  await until(() => rx.received.length >= 3, "503s");
  await outbox.stop(); // the daemon restarts while the receiver is still failing
  closeDb(db);

  db = openDb(file);
  outbox = webhookOutbox(db, action);
  outbox.start();
  await until(() => outbox.list({ state: "delivered" }).length === keys.length, "every item delivered");
  await outbox.stop();
  await rx.close();

  const accepted = new Set(rx.received.filter((r) => r.status === 200).map((r) => r.headers["idempotency-key"]));
  assert.deepEqual([...accepted].sort(), keys);
  assert.ok(rx.received.every((r) => verifySignature(secret, r.headers["x-switchboard-signature"] as string, r.body)));
  assert.ok(outbox.list().every((i) => !i.lastError?.includes("q-s3cr3t") && !i.lastError?.includes(secret)));
  assert.ok(outbox.list().some((i) => i.lastError?.includes("HTTP 503")));
  closeDb(db);
});

test("a 4xx rejection is dead at once; 408/429 are retried; a redirect is not followed", async () => {
  const answers: Record<string, number[]> = { bad: [422], busy: [429, 200], moved: [301] };
  const rx = await receiver((r) => answers[r.headers["idempotency-key"] as string].shift() ?? 200);
  const db = openDb(dbFile());
  const outbox = webhookOutbox(db, webhookActionSchema.parse({ url: rx.url, secret }));
  outbox.start();
  const [bad, busy, moved] = Object.keys(answers).map((k) =>
    outbox.enqueue(webhookItem({ target: "crm", event: "e", data: null, idempotencyKey: k })),
  );
  const unknown = outbox.enqueue(webhookItem({ target: "nowhere", event: "e", data: null, idempotencyKey: "u" }));
  assert.equal(await outbox.waitFor(bad, 10_000), "failed");
  await until(() => outbox.get(busy)!.state === "delivered", "the retried 429");
  await until(() => outbox.get(moved)!.state === "dead" && outbox.get(unknown)!.state === "dead", "dead letters");
  await outbox.stop();
  await rx.close();
  const dead = outbox.get(bad)!;
  assert.equal(dead.state, "dead");
  assert.equal(dead.attempts, 1);
  assert.equal(
    dead.lastError,
    `HTTP 422 from http://127.0.0.1:${rx.port}/hooks/switchboard: request rejected, not retried`,
  );
  assert.equal(outbox.get(busy)!.attempts, 2);
  assert.match(outbox.get(moved)!.lastError ?? "", /HTTP 301 .* redirects are not followed/);
  assert.equal(outbox.get(unknown)!.lastError, 'no webhook action "nowhere" is configured');
  closeDb(db);
});

test("maxAttempts of 5xx make a dead letter; retryDead delivers it once the receiver is fixed", async () => {
  let healthy = false;
  const rx = await receiver(() => (healthy ? 200 : 500));
  const db = openDb(dbFile());
  const outbox = webhookOutbox(db, webhookActionSchema.parse({ url: rx.url }));
  outbox.start();
  const id = outbox.enqueue(webhookItem({ target: "crm", event: "e", data: 1, idempotencyKey: "k", maxAttempts: 3 }));
  await until(() => outbox.get(id)!.state === "dead", "the dead letter");
  assert.equal(outbox.get(id)!.attempts, 3);
  assert.equal(rx.received.length, 3);
  healthy = true;
  assert.equal(outbox.retryDead(id), true);
  assert.equal(await outbox.waitFor(id, 10_000), "delivered");
  await outbox.stop();
  await rx.close();
  assert.equal(rx.received.length, 4);
  assert.ok(rx.received.every((r) => r.headers["idempotency-key"] === "k"));
  closeDb(db);
});

test("waitFor: pending while the receiver is silent, failed when the request times out, then delivered", async () => {
  const rx = await receiver((_r, n) => (n === 1 ? undefined : 200));
  const db = openDb(dbFile());
  const outbox = webhookOutbox(db, webhookActionSchema.parse({ url: rx.url, timeoutMs: 800 }));
  outbox.start();
  const id = outbox.enqueue(webhookItem({ target: "crm", event: "e", data: 1, idempotencyKey: "k" }));
  await until(() => rx.received.length === 1, "the request");
  assert.equal(await outbox.waitFor(id, 20), "pending");
  assert.equal(await outbox.waitFor(id, 10_000), "failed");
  assert.match(
    outbox.get(id)!.lastError ?? "",
    /no answer from http:\/\/127\.0\.0\.1:\d+\/hooks\/switchboard within 800 ms/,
  );
  await until(() => outbox.get(id)!.state === "delivered", "the retry");
  assert.equal(await outbox.waitFor(id, 0), "delivered");
  await outbox.stop();
  await rx.close();
  closeDb(db);
});

test("tickets and appointments are kept locally and forwarded through the webhook outbox", async () => {
  const rx = await receiver(() => 200);
  const db = openDb(dbFile());
  const outbox = webhookOutbox(db, webhookActionSchema.parse({ url: rx.url, secret }));
  const records = new LocalRecords(db, { outbox, target: "crm" });
  outbox.start();
  const { ticket, outboxId } = records.createTicket({ callId: "call-1", fields: { concern: "Rechnung falsch" } });
  assert.ok(outboxId);
  assert.equal(await outbox.waitFor(outboxId, 10_000), "delivered");
  const sent = JSON.parse(rx.received[0].body);
  assert.equal(sent.event, "ticket.created");
  assert.deepEqual(sent.data, { ...ticket, createdAt: ticket.createdAt });
  assert.deepEqual(records.getTicket(ticket.id), ticket);
  assert.deepEqual(
    records.listTickets({ callId: "call-1" }).map((t) => t.id),
    [ticket.id],
  );
  assert.equal(records.closeTicket(ticket.id), true);
  assert.equal(records.closeTicket(ticket.id), false);
  assert.equal(records.listTickets({ state: "open" }).length, 0);

  const at = (hhmm: string) => Date.parse(`2030-03-04T${hhmm}:00Z`);
  const first = records.createAppointment({
    callId: "call-1",
    resource: "dr-meier",
    startsAt: at("10:00"),
    endsAt: at("10:30"),
    fields: { name: "Frau Schulz" },
  }).appointment;
  const items = outbox.list().length;
  assert.throws(
    () => records.createAppointment({ resource: "dr-meier", startsAt: at("10:15"), endsAt: at("10:45"), fields: {} }),
    (e: unknown) =>
      e instanceof SlotTakenError &&
      e.taken.id === first.id &&
      e.message ===
        `"dr-meier" is already booked from 2030-03-04T10:00:00.000Z to 2030-03-04T10:30:00.000Z ` +
          `(appointment ${first.id})`,
  );
  assert.equal(outbox.list().length, items, "a refused booking leaves no outbox item");
  records.createAppointment({ resource: "dr-meier", startsAt: at("10:30"), endsAt: at("11:00"), fields: {} });
  records.createAppointment({ resource: "dr-braun", startsAt: at("10:15"), endsAt: at("10:45"), fields: {} });
  assert.throws(
    () => records.createAppointment({ resource: "dr-meier", startsAt: at("11:00"), endsAt: at("11:00"), fields: {} }),
    /endsAt .* must be a time after startsAt/,
  );
  const cancelled = records.cancelAppointment(first.id);
  assert.equal(cancelled?.appointment.state, "cancelled");
  assert.equal(records.cancelAppointment(first.id), undefined);
  const again = records.createAppointment({
    resource: "dr-meier",
    startsAt: at("10:00"),
    endsAt: at("10:30"),
    fields: {},
  });
  assert.deepEqual(
    records.listAppointments({ resource: "dr-meier", state: "booked" }).map((a) => a.startsAt),
    [at("10:00"), at("10:30")],
  );
  assert.equal(records.listAppointments({ from: at("10:40"), to: at("12:00") }).length, 2);
  assert.ok(again.outboxId);
  assert.equal(await outbox.waitFor(again.outboxId, 10_000), "delivered");
  await until(() => outbox.list({ state: "delivered" }).length === 6, "every record change delivered");
  await outbox.stop();
  await rx.close();
  assert.deepEqual(rx.received.map((r) => r.headers["x-switchboard-event"]).sort(), [
    "appointment.booked",
    "appointment.booked",
    "appointment.booked",
    "appointment.booked",
    "appointment.cancelled",
    "ticket.created",
  ]);
  closeDb(db);
});

test("mail templates fill fields by name and leave unknown ones empty", () => {
  assert.equal(renderTemplate("Ticket {{ id }} von {{caller}}{{nope}}", { id: 7, caller: "+49" }), "Ticket 7 von +49");
});

// Debian's aiosmtpd is the real SMTP server on loopback; it prints every message it receives.
const python = "/usr/bin/python3";
const hasAiosmtpd = spawnSync(python, ["-c", "import aiosmtpd"]).status === 0;
const skipMail = hasAiosmtpd || process.env.CI ? false : "python3-aiosmtpd is not installed";

async function freePort(): Promise<number> {
  const rx = await receiver(() => 200);
  await rx.close();
  return rx.port;
}

// aiosmtpd as a server that offers AUTH (without TLS, on loopback only) and refuses every login.
const denyingServer = `
import signal, sys
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
deny = lambda server, session, envelope, mechanism, data: AuthResult(success=False, handled=False)
Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]), authenticator=deny, auth_required=True,
           auth_require_tls=False).start()
signal.pause()
`;

async function smtpServer(opts: { denyLogin?: boolean } = {}) {
  const port = await freePort();
  const args = opts.denyLogin
    ? ["-u", "-c", denyingServer, String(port)]
    : ["-u", "-m", "aiosmtpd", "-n", "-l", `127.0.0.1:${port}`];
  const child: ChildProcess = spawn(python, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (c: Buffer) => {
    out += c.toString("utf8");
  });
  child.stderr?.on("data", (c: Buffer) => {
    out += c.toString("utf8");
  });
  const end = Date.now() + 15_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1", () => {
        s.destroy();
        resolve(true);
      }).on("error", () => resolve(false));
    });
    if (up) break;
    if (Date.now() > end || child.exitCode !== null) {
      child.kill();
      throw new Error(`aiosmtpd did not start: ${out}`);
    }
    await sleep(20);
  }
  return { port, output: () => out, stop: () => child.kill() };
}

test("mail is delivered to a real SMTP server with the rendered subject", { skip: skipMail }, async () => {
  const smtp = await smtpServer();
  const db = openDb(dbFile());
  try {
    const action = mailActionSchema.parse({
      host: "127.0.0.1",
      port: smtp.port,
      security: "none",
      from: "box@switchboard.example",
      fromName: "Switchboard",
      to: ["office@firma.example"],
      subject: "Ticket {{ticket}} from {{caller}}",
      text: "Concern: {{concern}}\nCall: {{callId}}",
    });
    const outbox = new Outbox(db, fast);
    outbox.register(
      mailKind,
      mailHandler((n) => (n === "office" ? action : undefined)),
    );
    outbox.start();
    const fields = { ticket: "T-42", caller: "+4930111\r\nBcc: evil@x.example", concern: "heating broken" };
    const id = outbox.enqueue(mailItem({ target: "office", fields, idempotencyKey: "mail:1", callId: "call-9" }));
    assert.equal(await outbox.waitFor(id, 15_000), "delivered");
    await outbox.stop();
    await until(() => smtp.output().includes("END MESSAGE"), "the message at the server");
    const message = smtp.output();
    assert.match(message, /^Subject: Ticket T-42 from \+4930111 Bcc: evil@x\.example$/m);
    assert.doesNotMatch(message, /^Bcc:/m, "a field cannot add a header");
    assert.match(message, /^To: office@firma\.example$/m);
    assert.match(message, /^From: Switchboard <box@switchboard\.example>$/m);
    assert.match(message, /^Message-ID: <[0-9a-f]{32}@switchboard\.example>$/m);
    assert.match(message, /^Concern: heating broken$/m);
    assert.match(message, /^Call: call-9$/m);
  } finally {
    smtp.stop();
    closeDb(db);
  }
});

test("an unreachable SMTP server is retried; a login the server cannot take is permanent, without the password", {
  skip: skipMail,
}, async () => {
  const base = { from: "box@switchboard.example", to: ["a@b.example"], subject: "s", security: "none" };
  const item = {
    id: 1,
    kind: mailKind,
    payload: { target: "x", fields: {} },
    idempotencyKey: "k",
    state: "delivering" as const,
    attempts: 1,
    maxAttempts: 3,
    nextAttemptAt: 0,
    createdAt: 0,
    updatedAt: 0,
  };
  const closed = mailActionSchema.parse({ ...base, host: "127.0.0.1", port: await freePort(), timeoutMs: 2000 });
  await assert.rejects(mailHandler(() => closed)(item, new AbortController().signal), (e: unknown) => {
    assert.ok(!(e instanceof PermanentError));
    assert.match((e as Error).message, /^SMTP 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
    return true;
  });
  const smtp = await smtpServer({ denyLogin: true });
  try {
    const auth = mailActionSchema.parse({
      ...base,
      host: "127.0.0.1",
      port: smtp.port,
      user: "box",
      password: "pw-77x",
      timeoutMs: 5000,
    });
    await assert.rejects(mailHandler(() => auth)(item, new AbortController().signal), (e: unknown) => {
      assert.ok(e instanceof PermanentError, String(e));
      assert.doesNotMatch(e.message, /pw-77x/);
      return true;
    });
  } finally {
    smtp.stop();
  }
});
