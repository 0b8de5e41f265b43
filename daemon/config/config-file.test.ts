import assert from "node:assert/strict";
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { configFileVersion, editConfigFile, planEdit, readConfigFile } from "./config-file.ts";
import { ConfigApplyError, InvalidConfigError, StaleConfigError } from "./edit-errors.ts";
import type { Config } from "./schema.ts";
import { REDACTED, redactSecrets } from "./secrets-mask.ts";

const baseConfig = `# Test box: comments must survive edits of other sections.
name: test-box # the box's name

trunks:
  - id: main
    domain: sip.example.net
    username: "4930123"
    password: trunk-secret-1 # provider password
  - id: backup
    domain: sip2.example.net
    username: "4930999"
    password: trunk-secret-2

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
    language: en-GB
    knowledge:
      - questions: [When are you open]
        answer: Monday to Friday.
  # the night line
  - id: night
    template: voicemail

actions:
  - id: crm
    webhook:
      url: "https://crm.example.com/hook"
      secret: webhook-secret-0123456789
      headers: { Authorization: "Bearer header-token-1" }
  - id: mail
    mail:
      host: smtp.example.com
      user: box
      password: mail-secret-1
      from: box@example.com
      to: [office@example.com]
      subject: New call
`;

function tempConfig(text = baseConfig): { file: string; dir: string; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), "sb-config-file-"));
  const file = join(dir, "switchboard.yaml");
  writeFileSync(file, text);
  chmodSync(file, 0o640);
  return { file, dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

function recorder() {
  const applied: Config[] = [];
  return {
    applied,
    apply: (c: Config) => {
      applied.push(c);
      return { version: "cfg", restartNeeded: [] };
    },
  };
}

const linesDiffering = (a: string, b: string) => {
  const x = a.split("\n");
  const y = b.split("\n");
  return Array.from({ length: Math.max(x.length, y.length) }, (_, i) => i).filter((i) => x[i] !== y[i]);
};

test("an invalid time range is a problem at its field, and nothing is written or applied", () => {
  const t = tempConfig();
  try {
    const r = recorder();
    const version = readConfigFile(t.file).version;
    for (const [range, message] of [
      ["25:00-26:00", /start must be 00:00..23:59/],
      ["09:00-09:00", /starts and ends at the same time/],
      ["8-12", /not a time range/],
    ] as const) {
      assert.throws(
        () => editConfigFile(t.file, ["routing", "windows", 0, "weekly", "mon", 1], range, { version, apply: r.apply }),
        (e: unknown) => {
          assert.ok(e instanceof InvalidConfigError);
          assert.equal(e.problems.length, 1);
          assert.equal(e.problems[0]!.path, "routing.windows[0].weekly.mon[1]");
          assert.match(e.problems[0]!.message, message);
          return true;
        },
      );
    }
    assert.equal(readFileSync(t.file, "utf8"), baseConfig);
    assert.equal(existsSync(`${t.file}.bak`), false);
    assert.equal(r.applied.length, 0);
  } finally {
    t.done();
  }
});

test("a valid window edit rewrites that value only, keeps comments, writes atomically with .bak, and applies", () => {
  const t = tempConfig();
  try {
    const r = recorder();
    const before = readConfigFile(t.file);
    const out = editConfigFile(t.file, ["routing", "windows", 0, "weekly", "mon", 1], "13:00-18:00", {
      version: before.version,
      apply: r.apply,
    });
    const text = readFileSync(t.file, "utf8");
    assert.deepEqual(linesDiffering(baseConfig, text).length, 1);
    assert.match(text, /mon: \["08:00-12:00", "13:00-18:00"\]\n/);
    for (const comment of ["# Test box", "# the box's name", "# provider password", "# the front desk"])
      assert.ok(text.includes(comment), comment);
    assert.equal(readFileSync(`${t.file}.bak`, "utf8"), baseConfig);
    assert.equal(out.version, configFileVersion(text));
    assert.deepEqual(out.changed, ["routing.windows[0].weekly.mon[1]"]);
    assert.equal(r.applied.length, 1);
    assert.deepEqual(r.applied[0]!.routing?.windows[0]?.weekly?.mon, ["08:00-12:00", "13:00-18:00"]);
    // Same permissions as before, and no temp file left behind.
    assert.equal(statSync(t.file).mode & 0o777, 0o640);
    assert.deepEqual(readdirSync(t.dir).sort(), ["switchboard.yaml", "switchboard.yaml.bak"]);
  } finally {
    t.done();
  }
});

test("a missing section is appended, a section set to null is removed", () => {
  const t = tempConfig();
  try {
    const snap = readConfigFile(t.file);
    const added = planEdit(snap, ["queues"], [{ id: "sales", members: [{ sip: "sip:100@pbx.example" }] }]);
    assert.ok(added.text.startsWith(baseConfig));
    assert.equal(added.config.queues[0]?.id, "sales");
    const removed = planEdit(snap, ["actions"], null);
    assert.equal(removed.text, baseConfig.slice(0, baseConfig.indexOf("actions:")));
    assert.deepEqual(removed.config.actions, []);
  } finally {
    t.done();
  }
});

test("a stale version is refused and the file stays", () => {
  const t = tempConfig();
  try {
    const r = recorder();
    const old = readConfigFile(t.file).version;
    // Another admin saved meanwhile.
    editConfigFile(t.file, ["name"], "renamed", { version: old, apply: r.apply });
    const after = readFileSync(t.file, "utf8");
    assert.throws(
      () => editConfigFile(t.file, ["name"], "mine", { version: old, apply: r.apply }),
      (e: unknown) => e instanceof StaleConfigError && e.expected === old && e.actual === configFileVersion(after),
    );
    assert.equal(readFileSync(t.file, "utf8"), after);
    assert.equal(r.applied.length, 1);
  } finally {
    t.done();
  }
});

test("secrets survive a save that sends ******** back", () => {
  const t = tempConfig();
  try {
    const snap = readConfigFile(t.file);
    const raw = redactSecrets(snap.raw) as {
      trunks: { id: string; domain: string; password: string }[];
      actions: { webhook?: { secret: string; headers: Record<string, string> }; mail?: { password: string } }[];
    };

    // The page sends the redacted list back with one change and without the first trunk: ids, not positions, decide
    // which stored password a "********" keeps.
    const r = recorder();
    const trunks = [{ ...raw.trunks[1]!, domain: "sip3.example.net" }];
    editConfigFile(t.file, ["trunks"], trunks, { version: snap.version, apply: r.apply });
    assert.equal(r.applied[0]!.trunks.length, 1);
    assert.equal(r.applied[0]!.trunks[0]!.password, "trunk-secret-2");
    assert.equal(r.applied[0]!.trunks[0]!.domain, "sip3.example.net");
    const text = readFileSync(t.file, "utf8");
    assert.ok(text.includes("password: trunk-secret-2") && !text.includes(REDACTED));

    const actions = structuredClone(raw.actions);
    editConfigFile(t.file, ["actions"], actions, { apply: r.apply });
    assert.equal(readFileSync(t.file, "utf8"), text, "nothing changed, nothing written");

    // A new entry cannot keep a secret it never had.
    const now = readConfigFile(t.file);
    const withNew = [...(redactSecrets(now.raw.trunks, ["trunks"]) as unknown[]), { ...trunks[0], id: "third" }];
    assert.throws(
      () => planEdit(now, ["trunks"], withNew),
      (e: unknown) => e instanceof InvalidConfigError && e.problems[0]?.path === "trunks[1].password",
    );
  } finally {
    t.done();
  }
});

test("when the daemon refuses the config, the previous file is put back", () => {
  const t = tempConfig();
  try {
    const snap = readConfigFile(t.file);
    assert.throws(
      () =>
        editConfigFile(t.file, ["name"], "other", {
          version: snap.version,
          apply: () => {
            throw new Error("agent desk does not compile");
          },
        }),
      (e: unknown) => e instanceof ConfigApplyError && /does not compile/.test(e.message),
    );
    assert.equal(readFileSync(t.file, "utf8"), baseConfig);
  } finally {
    t.done();
  }
});

test("a flow with a broken node is reported at that node", () => {
  const t = tempConfig();
  try {
    const snap = readConfigFile(t.file);
    const agents = structuredClone(snap.raw.agents) as Record<string, unknown>[];
    agents[1]!.flow = [
      { type: "say", text: "Hello", next: "nowhere" },
      { type: "transfer", to: { agent: "ghost" } },
      { type: "hangup" },
    ];
    assert.throws(
      () => planEdit(snap, ["agents"], agents),
      (e: unknown) => {
        assert.ok(e instanceof InvalidConfigError);
        const byPath = Object.fromEntries(e.problems.map((p) => [p.path, p.message]));
        assert.match(byPath["agents[1].flow[0].next"] ?? "", /no node with id "nowhere"/);
        assert.match(byPath["agents[1].flow[1].to"] ?? "", /no agent "ghost"/);
        return true;
      },
    );
  } finally {
    t.done();
  }
});

test("a hand-broken file: its problems are shown; a YAML syntax error refuses edits, a schema error can be fixed", () => {
  const broken = tempConfig(baseConfig.replace("\n\ntrunks:", "\nbogus: 1\n\ntrunks:"));
  try {
    const snap = readConfigFile(broken.file);
    assert.equal(snap.config, undefined);
    assert.deepEqual(
      snap.problems.map((p) => p.path),
      ["bogus"],
    );
    const r = recorder();
    editConfigFile(broken.file, ["bogus"], null, { version: snap.version, apply: r.apply });
    assert.equal(readFileSync(broken.file, "utf8"), baseConfig);
  } finally {
    broken.done();
  }
  const syntax = tempConfig(`${baseConfig}\nname: twice\n`);
  try {
    const snap = readConfigFile(syntax.file);
    assert.match(snap.problems[0]?.message ?? "", /YAML syntax/);
    assert.throws(() => planEdit(snap, ["name"], "x"), InvalidConfigError);
  } finally {
    syntax.done();
  }
});

test("a value nested absurdly deep is refused with its path, not a stack overflow", () => {
  const t = tempConfig();
  try {
    let deep: unknown = "x";
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.throws(
      () => planEdit(readConfigFile(t.file), ["agents", 0, "knowledge"], deep),
      (e: unknown) => e instanceof InvalidConfigError && e.problems[0]?.path === "agents[0].knowledge",
    );
  } finally {
    t.done();
  }
});
