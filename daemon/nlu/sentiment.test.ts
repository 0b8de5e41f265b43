import assert from "node:assert/strict";
import { test } from "node:test";
import { sentimentOf } from "./sentiment.ts";

test("angry words score below pleased words, in German, English and Chinese", () => {
  for (const t of [
    "Das ist eine Frechheit, das Gerät ist kaputt",
    "This is ridiculous, the thing is broken",
    "太差了，垃圾",
  ]) {
    const s = sentimentOf(t);
    assert.ok(s.score < -0.5, `${t}: ${s.score}`);
  }
  for (const t of [
    "Super, vielen Dank, Sie waren sehr freundlich",
    "Great, thank you, that was helpful",
    "很好，谢谢",
  ]) {
    const s = sentimentOf(t);
    assert.ok(s.score > 0.5, `${t}: ${s.score}`);
    assert.equal(s.anger, false, t);
  }
  const neutral = sentimentOf("Wann haben Sie morgen geöffnet?");
  assert.equal(neutral.score, 0);
  assert.deepEqual(neutral.cues, []);
});

test("a negated positive word is negative, a negated negative word is positive", () => {
  for (const t of ["Ich bin nicht zufrieden", "I am not happy with this", "Das war gar nicht gut", "我不满意"]) {
    const s = sentimentOf(t);
    assert.ok(s.score < 0, `${t}: ${s.score}`);
  }
  assert.ok(sentimentOf("nicht zufrieden").cues.includes("not zufrieden"));
  for (const t of ["kein Problem", "no problem", "not bad at all"]) assert.ok(sentimentOf(t).score > 0, t);
  assert.ok(sentimentOf("我不太满意").score < 0, "不太 before 满意");
  assert.ok(sentimentOf("不是很好").score < 0, "不是很 before 很好");
  assert.ok(sentimentOf("服务还不错").score > 0, "不错 is positive on its own");
});

test("a negation does not reach across a clause, and 'no thanks' is a polite refusal", () => {
  assert.ok(sentimentOf("No, it is still broken.").score < 0);
  assert.ok(sentimentOf("Nicht heute, aber danke, das ist gut so").score > 0);
  assert.ok(sentimentOf("nein danke").score > 0);
  assert.ok(sentimentOf("no thanks").score > 0);
  assert.ok(sentimentOf("no its broken").score < 0, "a bare no flips only the next word");
});

test("an intensifier makes the next sentiment word count more", () => {
  const plain = sentimentOf("Ich bin verärgert").score;
  const strong = sentimentOf("Ich bin sehr verärgert").score;
  assert.ok(strong < plain, `${strong} < ${plain}`);
  assert.equal(sentimentOf("Ich bin sehr verärgert").anger, true);
  assert.equal(sentimentOf("Ich bin verärgert").anger, false);
  assert.ok(sentimentOf("really not happy").score < sentimentOf("not happy").score);
  assert.ok(sentimentOf("我非常生气").score < sentimentOf("我生气").score, "非常 intensifies 生气");
  // Far away from the word it does not count: "sehr geehrte ..." is a greeting, not emphasis.
  assert.equal(
    sentimentOf("sehr geehrte Damen und Herren das ist schlecht").score,
    sentimentOf("das ist schlecht").score,
  );
});

test("a caller who had to call again is upset whatever words they use", () => {
  for (const t of [
    "Ich habe schon dreimal angerufen",
    "ich hab bereits 3 mal angerufen",
    "Ich rufe jetzt zum dritten Mal an",
    "Das ist mein dritter Anruf deswegen",
    "I already called twice",
    "I have called three times about this",
    "This is the third time I am calling",
    "我已经打了三次电话了",
  ]) {
    const s = sentimentOf(t);
    assert.ok(s.score < -0.3, `${t}: ${s.score}`);
    assert.ok(s.cues.includes("called again"), t);
  }
  for (const t of [
    "Haben Sie schon mal bei uns bestellt?",
    "Ich war schon mal bei Ihnen",
    "I need two times the amount",
  ])
    assert.ok(!sentimentOf(t).cues.includes("called again"), t);
  const angry = sentimentOf("Das ist eine Frechheit! Ich habe schon dreimal angerufen!!");
  assert.equal(angry.anger, true);
  assert.deepEqual(angry.cues, ["frechheit", "!!", "called again"]);
});

test("the score stays within -1..1 however much is said", () => {
  const rant = "Scheiße! Betrug! Abzocke! Idioten! ".repeat(20);
  const s = sentimentOf(rant);
  assert.ok(s.score >= -1 && s.score < -0.99);
  assert.ok(sentimentOf("super toll prima klasse perfekt ".repeat(20)).score <= 1);
});
