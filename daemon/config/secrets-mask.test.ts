import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";
import { parseConfig } from "./load.ts";
import { isSecretPath, REDACTED, redactSecrets, restoreSecrets } from "./secrets-mask.ts";

const text = `name: test-box
trunks:
  - id: main
    domain: sip.example.net
    username: "4930123"
    password: trunk-secret-1
  - id: backup
    domain: sip2.example.net
    username: "4930999"
    password: trunk-secret-2
actions:
  - id: crm
    webhook:
      url: "https://crm.example.com/hook"
      secret: webhook-secret-0123456789
      headers: { Authorization: "Bearer header-token-1", X-Api: header-key-2 }
  - id: mail
    mail:
      host: smtp.example.com
      user: box
      password: mail-secret-1
      from: box@example.com
      to: [office@example.com]
      subject: New call
`;

const secrets = [
  "trunk-secret-1",
  "trunk-secret-2",
  "webhook-secret-0123456789",
  "header-token-1",
  "header-key-2",
  "mail-secret-1",
];

type Raw = {
  trunks: { id: string; domain: string; password: string }[];
  actions: { webhook?: { secret: string; headers: Record<string, string> }; mail?: { password: string } }[];
};

test("secrets are redacted everywhere, in the file's data and in the validated config", () => {
  const raw = parse(text) as Raw;
  const shown = JSON.stringify([redactSecrets(raw), redactSecrets(parseConfig(text))]);
  for (const s of secrets) assert.ok(!shown.includes(s), s);
  const redacted = redactSecrets(raw) as Raw;
  assert.equal(redacted.trunks[0]!.password, REDACTED);
  assert.equal(redacted.trunks[0]!.domain, "sip.example.net");
  assert.equal(redacted.actions[0]!.webhook!.secret, REDACTED);
  assert.deepEqual(redacted.actions[0]!.webhook!.headers, { Authorization: REDACTED, "X-Api": REDACTED });
  assert.equal(redacted.actions[1]!.mail!.password, REDACTED);
  assert.equal(raw.trunks[0]!.password, "trunk-secret-1", "the input is not changed");
  // Below a path, as for one section.
  assert.deepEqual(redactSecrets(raw.trunks, ["trunks"]), redacted.trunks);
});

test("an empty secret stays empty, and a DTMF key is no secret", () => {
  assert.deepEqual(redactSecrets({ trunks: [{ password: "" }] }), { trunks: [{ password: "" }] });
  assert.equal(isSecretPath(["agents", 0, "flow", 1, "options", 0, "key"]), false);
  assert.equal(isSecretPath(["actions", 0, "webhook", "apiKey"]), true);
});

test("******** sent back keeps the stored secret of the entry with the same id, not the same index", () => {
  const stored = (parse(text) as Raw).trunks;
  const problems: { path: string; message: string }[] = [];
  // The page deleted the first trunk and changed the domain of the other.
  const next = [{ id: "backup", domain: "sip3.example.net", username: "4930999", password: REDACTED }];
  assert.deepEqual(restoreSecrets(next, stored, ["trunks"], problems), [
    { id: "backup", domain: "sip3.example.net", username: "4930999", password: "trunk-secret-2" },
  ]);
  assert.deepEqual(problems, []);
  // A new value is taken as it is.
  assert.deepEqual(restoreSecrets({ password: "new" }, stored[0], ["trunks", 0], problems), { password: "new" });
});

test("a new entry cannot keep a secret it never had: a problem at its path", () => {
  const stored = (parse(text) as Raw).trunks;
  const problems: { path: string; message: string }[] = [];
  const next = [...stored.map((t) => ({ ...t, password: REDACTED })), { id: "third", password: REDACTED }];
  restoreSecrets(next, stored, ["trunks"], problems);
  assert.deepEqual(
    problems.map((p) => p.path),
    ["trunks[2].password"],
  );
});
