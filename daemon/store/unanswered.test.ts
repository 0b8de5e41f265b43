import assert from "node:assert/strict";
import { test } from "node:test";
import { closeDb, openDb } from "./db.ts";
import { UnansweredQuestions } from "./unanswered.ts";

test("unanswered questions: record, list by state newest first, change state; IBANs are masked", () => {
  const db = openDb(":memory:");
  try {
    const q = new UnansweredQuestions(db);
    const a = q.record({
      callId: "c1",
      agent: "info",
      language: "de-DE",
      text: " Haben Sie Parkplätze? ",
      askedAt: 1000,
    });
    const b = q.record({
      callId: "c2",
      agent: "info",
      language: "de-DE",
      text: "Meine IBAN ist DE89 3704 0044 0532 0130 00, geht Lastschrift?",
      askedAt: 2000,
    });
    const c = q.record({ agent: "info-en", language: "en-GB", text: "Do you deliver?", askedAt: 3000 });
    assert.deepEqual(
      q.list("open").map((x) => x.id),
      [c, b, a],
    );
    assert.deepEqual(q.get(a), {
      id: a,
      callId: "c1",
      agent: "info",
      language: "de-DE",
      text: "Haben Sie Parkplätze?",
      askedAt: 1000,
      state: "open",
    });
    assert.equal(q.get(c)?.callId, undefined);
    assert.equal(q.get(b)?.text.includes("3704"), false);
    assert.match(q.get(b)?.text ?? "", /DE89 \*{4}/);

    assert.equal(q.setState(a, "answered"), true);
    assert.equal(q.setState(c, "dismissed"), true);
    assert.equal(q.setState(999, "dismissed"), false);
    assert.deepEqual(
      q.list("open").map((x) => x.id),
      [b],
    );
    assert.deepEqual(
      q.list("answered").map((x) => x.id),
      [a],
    );
    assert.deepEqual(
      q.list(undefined, 2).map((x) => x.id),
      [c, b],
    );
    assert.deepEqual(
      q.list(undefined, 100, "info").map((x) => x.id),
      [b, a],
    );
    assert.throws(() => db.prepare("UPDATE unanswered_questions SET state = 'bogus' WHERE id = ?").run(a));
  } finally {
    closeDb(db);
  }
});
