import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { ConfigError, parseConfig } from "./load.ts";

const problemsOf = (yaml: string) => {
  try {
    parseConfig(yaml, "t.yaml");
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e.problems;
  }
  assert.fail("expected a ConfigError");
};

test("an empty file is a valid config with safe defaults", () => {
  const c = parseConfig("", "empty.yaml");
  assert.equal(c.sip.listen[0].transport, "udp");
  assert.equal(c.media.ptimeMs, 20);
  assert.equal(c.limits.maxCalls, 200);
  assert.deepEqual(c.trunks, []);
});

test("the shipped demo config and trunk presets are valid", () => {
  const presets = readdirSync(new URL("../../examples/trunks/", import.meta.url)).map((f) => `trunks/${f}`);
  assert.ok(presets.length >= 5);
  for (const f of ["demo.yaml", ...presets]) {
    const text = readFileSync(new URL(`../../examples/${f}`, import.meta.url), "utf8");
    assert.doesNotThrow(() => parseConfig(text, f), f);
  }
});

test("every problem is listed with its YAML path and line", () => {
  const problems = problemsOf(
    [
      "sip:",
      "  listen:",
      "    - { transport: sctp, port: 99999 }",
      "trunks:",
      "  - id: main",
      "    domian: x",
      "media: { rtpPortMin: 30000, rtpPortMax: 30001 }",
    ].join("\n"),
  );
  const byPath = new Map(problems.map((p) => [p.path, p]));
  assert.ok(byPath.has("sip.listen[0].transport"));
  assert.equal(byPath.get("sip.listen[0].port")?.line, 3);
  assert.equal(byPath.get("trunks[0].domian")?.message, "unknown key (typo?)");
  assert.equal(byPath.get("trunks[0].domian")?.line, 6);
  assert.ok(byPath.has("trunks[0].domain"), "missing required key is named");
  assert.ok(byPath.has("trunks[0].username"));
});

test("cross-field rules name the field", () => {
  const problems = problemsOf(
    "trunks:\n  - { id: a, domain: x, username: u }\n  - { id: a, domain: y, username: v, register: false }\ndemo: { operatorTrunk: nope }\n",
  );
  const paths = problems.map((p) => p.path).sort();
  assert.deepEqual(paths, ["demo.operatorTrunk", "trunks[0].password", "trunks[1].id"]);
});

test("YAML syntax errors and duplicate keys are reported with a position", () => {
  const problems = problemsOf("sip:\n  listen: [\n");
  assert.match(problems[0].message, /YAML syntax/);
  assert.ok(problems[0].line);
  const dup = problemsOf("name: a\nname: b\n");
  assert.match(dup[0].message, /YAML syntax/);
});
