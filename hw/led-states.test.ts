import assert from "node:assert/strict";
import { test } from "node:test";
import { type ApplianceState, ledChanges, ledPlan } from "./led-states.ts";

const idle: ApplianceState = {
  booting: false,
  provisioning: "idle",
  updating: false,
  trunk: "registered",
  activeCalls: 0,
  humanNeeded: 0,
  callbacksPending: 0,
  healthWarning: false,
};

const show = (s: Partial<ApplianceState>, leds = 3) =>
  ledPlan({ ...idle, ...s }, leds).map((c) => `${c.index}:${c.colour}/${c.pattern}`);

test("a healthy idle box: system green, line green, nothing waiting", () => {
  assert.deepEqual(show({}), ["0:green/on", "1:green/on", "2:white/off"]);
});

test("system LED priority: update > provisioning failed > provisioning > booting > health > provisioning ok", () => {
  const all: Partial<ApplianceState> = { updating: true, provisioning: "failed", booting: true, healthWarning: true };
  assert.equal(show(all)[0], "0:blue/pulse");
  assert.equal(show({ ...all, updating: false })[0], "0:red/blink-fast");
  assert.equal(show({ ...all, updating: false, provisioning: "running" })[0], "0:blue/blink-fast");
  assert.equal(show({ booting: true, healthWarning: true })[0], "0:amber/blink-slow");
  assert.equal(show({ healthWarning: true, provisioning: "ok" })[0], "0:amber/on");
  assert.equal(show({ provisioning: "ok" })[0], "0:green/blink-slow");
});

test("line LED: failing trunk beats active calls, which beat registered", () => {
  assert.equal(show({ trunk: "failing", activeCalls: 2 })[1], "1:red/blink-slow");
  assert.equal(show({ activeCalls: 1 })[1], "1:green/pulse");
  assert.equal(show({ trunk: "registering" })[1], "1:amber/blink-slow");
  assert.equal(show({ trunk: "none" })[1], "1:white/off");
});

test("attention LED: human needed beats callback pending", () => {
  assert.equal(show({ humanNeeded: 1, callbacksPending: 3 })[2], "2:red/blink-fast");
  assert.equal(show({ callbacksPending: 3 })[2], "2:amber/blink-slow");
});

test("one LED shows the most urgent row of all areas", () => {
  assert.deepEqual(show({ humanNeeded: 1, trunk: "failing" }, 1), ["0:red/blink-fast"]);
  assert.deepEqual(show({ trunk: "failing", healthWarning: true }, 1), ["0:red/blink-slow"]);
  assert.deepEqual(show({}, 1), ["0:green/on"]);
  assert.deepEqual(show({}, 0), []);
});

test("ledChanges lists only LEDs whose colour or pattern changed", () => {
  const before = ledPlan(idle);
  const after = ledPlan({ ...idle, activeCalls: 1 });
  assert.deepEqual(
    ledChanges(before, after).map((c) => c.index),
    [1],
  );
  assert.deepEqual(ledChanges(after, after), []);
});
