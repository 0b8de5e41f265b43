import assert from "node:assert/strict";
import { test } from "node:test";
import { changedPaths, getIn, parseConfigPath, setIn } from "./config-path.ts";
import { InvalidConfigError } from "./edit-errors.ts";

test("section paths", () => {
  assert.deepEqual(parseConfigPath("routing.windows[0].weekly.mon[1]"), ["routing", "windows", 0, "weekly", "mon", 1]);
  assert.deepEqual(parseConfigPath("agents.2.knowledge"), ["agents", 2, "knowledge"]);
  assert.throws(() => parseConfigPath("nonsense"), InvalidConfigError);
  assert.throws(() => parseConfigPath("routing..windows"), InvalidConfigError);
  assert.throws(() => parseConfigPath("[0]"), InvalidConfigError);
});

test("getIn follows keys into maps and indexes into lists, else undefined", () => {
  const data = { agents: [{ id: "desk", knowledge: [{ answer: "Mon-Fri" }] }] };
  assert.equal(getIn(data, ["agents", 0, "knowledge", 0, "answer"]), "Mon-Fri");
  assert.equal(getIn(data, ["agents", "0"]), undefined, "a key into a list");
  assert.equal(getIn(data, ["agents", 0, "id", "x"]), undefined, "a key into a string");
  assert.equal(getIn(data, ["agents", 3]), undefined);
});

test("setIn creates maps and lists on the way, and undefined removes", () => {
  const root: Record<string, unknown> = { agents: [{ id: "desk" }, { id: "night" }] };
  setIn(root, ["routing", "windows", 0, "id"], "office");
  assert.deepEqual(root.routing, { windows: [{ id: "office" }] });
  setIn(root, ["agents", 0], undefined);
  assert.deepEqual(root.agents, [{ id: "night" }], "the entry goes, the rest moves up");
  setIn(root, ["routing"], undefined);
  assert.equal(Object.hasOwn(root, "routing"), false);
});

test("setIn refuses paths that do not fit the data, with the path", () => {
  const refused = (path: (string | number)[], where: string) =>
    assert.throws(
      () => setIn({ agents: [{ id: "desk" }] }, path, 1),
      (e: unknown) => e instanceof InvalidConfigError && e.problems[0]?.path === where,
    );
  refused(["agents", 2], "agents[2]");
  refused(["agents", "first"], "agents.first");
  refused(["agents", 0, 1], "agents[0][1]");
  refused(["agents", 0, "id", "x"], "agents[0].id");
  refused([], "");
});

test("changed paths name each changed value, and a removed list entry by its id", () => {
  const out: string[] = [];
  changedPaths(
    { windows: [{ id: "office", weekly: { mon: ["08:00-12:00"] } }] },
    { windows: [{ id: "office", weekly: { tue: ["09:00-12:00"], sat: ["10:00-14:00"] } }] },
    ["routing"],
    out,
  );
  assert.deepEqual(out.sort(), [
    "routing.windows[0].weekly.mon",
    "routing.windows[0].weekly.sat",
    "routing.windows[0].weekly.tue",
  ]);
  const removed: string[] = [];
  changedPaths([{ id: "desk" }, { id: "night" }], [{ id: "desk" }], ["agents"], removed);
  assert.deepEqual(removed, ["agents[1] (removed night)"]);
  const first: string[] = [];
  changedPaths([{ id: "desk" }, { id: "night" }], [{ id: "night" }], ["agents"], first);
  assert.deepEqual(first, ["agents[0] (removed desk)"], "not every entry after it");
});

test("changed paths stop at 100", () => {
  const out: string[] = [];
  changedPaths(
    Array.from({ length: 300 }, (_, i) => i),
    Array.from({ length: 300 }, (_, i) => -i - 1),
    ["x"],
    out,
  );
  assert.equal(out.length, 100);
});
