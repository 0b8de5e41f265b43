import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import { describeRegistration, TrunkStates } from "./trunk-states.ts";
import type { RegistrationEvents, RegistrationState, TrunkRegistration } from "./types.ts";

/** A fake trunk registration: the test moves its state. */
class FakeRegistration extends EventEmitter<RegistrationEvents> implements TrunkRegistration {
  state: RegistrationState = "idle";
  registeredAt: number | undefined;
  constructor(readonly trunkId: string) {
    super();
  }
  move(state: RegistrationState, detail: RegistrationEvents["state"][1] = {}): void {
    this.state = state;
    this.emit("state", state, detail);
  }
}

/** A fake of what TrunkStates reads of the endpoint, whose trunk list the test replaces like setTrunks does. */
class FakeEndpoint extends EventEmitter<{ trunks: [] }> {
  trunks: { id: string; register: boolean }[] = [];
  registrations = new Map<string, TrunkRegistration>();
  replace(trunks: { id: string; register: boolean }[], regs: FakeRegistration[]): void {
    this.trunks = trunks;
    this.registrations = new Map(regs.map((r) => [r.trunkId, r]));
    this.emit("trunks");
  }
}

test("trunk states: static trunks, registration changes with a readable detail", () => {
  const reg = new FakeRegistration("t1");
  const sip = new FakeEndpoint();
  sip.replace(
    [
      { id: "t1", register: true },
      { id: "pbx", register: false },
    ],
    [reg],
  );
  const trunks = new TrunkStates(sip);
  const seen: unknown[] = [];
  trunks.on("trunk", (s) => seen.push(s));
  assert.deepEqual(trunks.list(), [
    { id: "t1", state: "idle" },
    { id: "pbx", state: "static" },
  ]);
  reg.move("failed", { status: 403, reason: "Forbidden", retryInS: 60 });
  assert.deepEqual(seen, [{ id: "t1", state: "failed", detail: "403 Forbidden, retry in 60 s" }]);
  assert.deepEqual(trunks.list()[0], { id: "t1", state: "failed", detail: "403 Forbidden, retry in 60 s" });
  reg.move("registered", { status: 200, expiresS: 3600 });
  assert.equal(trunks.list()[0]?.detail, "200, expires in 3600 s");
  trunks.close();
  reg.move("unregistered");
  assert.equal(seen.length, 2, "closed: no more events");
  assert.equal(describeRegistration({}), undefined);
});

test("trunk states follow a new trunk list: the replaced registration is dropped, the new one watched", () => {
  const old = new FakeRegistration("t1");
  const sip = new FakeEndpoint();
  sip.replace([{ id: "t1", register: true }], [old]);
  const trunks = new TrunkStates(sip);
  old.move("registered", { status: 200, expiresS: 600 });
  const seen: { id: string; state: string }[] = [];
  trunks.on("trunk", (s) => seen.push(s));

  const fresh = new FakeRegistration("t1");
  const added = new FakeRegistration("t2");
  sip.replace(
    [
      { id: "t1", register: true },
      { id: "t2", register: true },
    ],
    [fresh, added],
  );
  assert.deepEqual(seen, [
    { id: "t1", state: "idle" },
    { id: "t2", state: "idle" },
  ]);
  old.move("unregistered"); // the replaced registration's un-REGISTER is not news any more
  assert.equal(seen.length, 2);
  added.move("registered", { status: 200, expiresS: 60 });
  assert.deepEqual(trunks.list(), [
    { id: "t1", state: "idle" },
    { id: "t2", state: "registered", detail: "200, expires in 60 s" },
  ]);
  sip.replace([{ id: "t2", register: true }], [added]);
  assert.deepEqual(
    trunks.list().map((t) => t.id),
    ["t2"],
  );
  trunks.close();
  assert.equal(sip.listenerCount("trunks"), 0);
});
