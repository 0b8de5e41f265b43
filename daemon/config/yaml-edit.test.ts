import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";
import { renderEdit } from "./yaml-edit.ts";

const base = `# Test box: comments must survive edits of other sections.
name: test-box # the box's name

routing:
  timeZone: Europe/Berlin
  windows:
    - id: office
      agent: desk
      weekly:
        mon: ["08:00-12:00", "13:00-17:00"]
    - id: closed
      agent: desk
      always: true

agents:
  # the front desk
  - id: desk
    template: faq
  # the night line
  - id: night
    template: voicemail

actions:
  - id: crm
    webhook: { url: "https://crm.example.com/hook", tags: [new, sales] }
`;

type Data = Record<string, unknown>;

/** `text` with `section` set to `next` (undefined removes it), as the config edit calls it. */
function edit(text: string, section: string, next: unknown): string {
  const expected: Data = { ...(parse(text) ?? {}), [section]: next };
  if (next === undefined) delete expected[section];
  return renderEdit(text, section, next, expected);
}

function section<T>(name: string, text = base): T {
  return structuredClone((parse(text) as Data)[name]) as T;
}

const linesDiffering = (a: string, b: string) => {
  const x = a.split("\n");
  const y = b.split("\n");
  return Array.from({ length: Math.max(x.length, y.length) }, (_, i) => i).filter((i) => x[i] !== y[i]);
};

type Routing = { windows: { weekly?: Record<string, string[]> }[] };

test("a changed value in a flow list rewrites that value only, in the quoting of its neighbours", () => {
  const routing = section<Routing>("routing");
  routing.windows[0]!.weekly!.mon![1] = "13:00-18:00";
  const text = edit(base, "routing", routing);
  assert.deepEqual(linesDiffering(base, text), [9]);
  assert.match(text, /mon: \["08:00-12:00", "13:00-18:00"\]\n/);
});

test("a plain string with a comma inside a flow list is quoted, so it stays one entry", () => {
  const actions = section<{ webhook: { tags: string[] } }[]>("actions");
  actions[0]!.webhook.tags[1] = "sales, north";
  const text = edit(base, "actions", actions);
  assert.equal(text, base.replace("tags: [new, sales]", 'tags: [new, "sales, north"]'));
});

test("replacing a whole section leaves every other section byte for byte", () => {
  const routing = section<Routing>("routing");
  routing.windows[0]!.weekly = { tue: ["09:00-12:00"], sat: ["10:00-14:00"] };
  const text = edit(base, "routing", routing);
  const cut = (s: string) => [s.slice(0, s.indexOf("routing:")), s.slice(s.indexOf("agents:"))];
  assert.deepEqual(cut(text), cut(base));
  assert.deepEqual((parse(text) as { routing: Routing }).routing, routing);
});

test("deleting a list entry by id removes its lines (and the comment above it) only", () => {
  const agents = section<{ id: string }[]>("agents").filter((a) => a.id !== "night");
  assert.equal(
    edit(base, "agents", agents),
    base.replace("  # the night line\n  - id: night\n    template: voicemail\n", ""),
  );
});

test("a key added to one list entry appends one line to that entry", () => {
  const agents = section<Data[]>("agents");
  agents[1]!.greeting = "Please leave a message.";
  assert.equal(
    edit(base, "agents", agents),
    base.replace("    template: voicemail\n", "    template: voicemail\n    greeting: Please leave a message.\n"),
  );
});

test("a missing section is appended after a blank line, a removed section loses its lines", () => {
  const added = edit(base, "queues", [{ id: "sales" }]);
  assert.equal(added, `${base}\nqueues:\n  - id: sales\n`);
  assert.equal(edit(base, "actions", undefined), base.slice(0, base.indexOf("actions:")));
  assert.equal(edit("", "name", "box"), "name: box\n");
});

test("a flow-style root the splice cannot handle is rendered as a whole, to the intended data", () => {
  const text = edit("{ name: a, routing: { timeZone: UTC } }\n", "name", "b");
  assert.deepEqual(parse(text), { name: "b", routing: { timeZone: "UTC" } });
});
