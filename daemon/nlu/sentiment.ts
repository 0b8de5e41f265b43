// A sentiment/anger estimate from words (de/en/zh), for the "angry caller goes to a human" escalation and the lead
// grade. Word lists with negation ("nicht gut", "not happy") and intensifiers; audio cues can join later.
import { foldUmlauts, tokens } from "./text-features.ts";

const NEGATIVE: Record<string, number> = {};
const POSITIVE: Record<string, number> = {};
const add = (into: Record<string, number>, w: number, words: string) => {
  for (const x of words.split(" ")) into[foldUmlauts(x)] = w;
};
add(
  NEGATIVE,
  -1,
  "schlecht schlimm ärgerlich ärgern verärgert unzufrieden enttäuscht enttäuschend katastrophe katastrophal unverschämt unverschämtheit frechheit skandal mist beschwerde beschweren reklamation kaputt defekt problem probleme falsch nervt genervt sauer wütend wut zornig bad terrible awful horrible angry annoyed upset furious disappointed disappointing complaint complain broken useless worst ridiculous outrageous unacceptable hate wrong scam",
);
add(
  NEGATIVE,
  -1.5,
  "scheiße scheisse verdammt verdammte idioten idiot betrug betrüger abzocke shit damn damned crap fucking bullshit idiots fraud",
);
add(
  POSITIVE,
  1,
  "gut super toll prima klasse perfekt danke zufrieden freundlich hilfreich schön wunderbar hervorragend great good perfect thanks thank wonderful excellent happy helpful nice lovely fantastic",
);
// How many following words a negator flips ("nicht sehr gut"). A bare "no" is mostly an answer ("no, it is still
// broken"), so it flips only the word right after it ("no problem").
const NEGATORS = new Map<string, number>([
  ..."nicht nie kein keine keinen keiner niemals not never dont didnt doesnt isnt wasnt arent cant wont"
    .split(" ")
    .map((w): [string, number] => [w, 3]),
  ["no", 1],
]);
// Thanks stay thanks after a negator: "nein danke" / "no thanks" is a polite refusal, not displeasure.
const POLITE = new Set(["danke", "thanks", "thank"]);
const INTENSIFIERS = new Set(
  "sehr total extrem absolut völlig echt wirklich so very really totally extremely absolutely"
    .split(" ")
    .map(foldUmlauts),
);
const ZH_NEGATIVE = ["生气", "投诉", "太差", "垃圾", "骗子", "糟糕", "气死", "烂", "失望", "差劲", "受不了"];
const ZH_POSITIVE = ["谢谢", "感谢", "很好", "满意", "不错", "太好了"];
// 不/没 just before a positive word negate it ("不满意", "不太满意", "不是很满意"); 不错 itself is positive.
const ZH_NEGATED = /[不没](?:太|是很|是|很|有很|有|够)?$/u;
const ZH_INTENSIFIED = /(?:非常|特别|真的|太|真)$/u;
// Callers who had to call again are upset whatever words they use: "schon dreimal angerufen", "zum dritten Mal",
// "already called twice", "the third time I call", "打了三次". A bare "schon mal" ("haben Sie schon mal ...") is not.
const REPEAT_CALL = [
  /\b(?:schon|bereits)\s+(?:\p{L}+\s+)?(?:(?:zwei|drei|vier|fünf|sechs|zehn|zig|x|\d+)[ -]?mal|mehrmals|mehrfach|angerufen)(?!\p{L})/iu,
  /\bzum\s+(?:zweiten|dritten|vierten|fünften|zehnten|x-ten|zigsten|\d+\.)\s+mal\b/iu,
  /\b(?:zweiter|dritter|vierter|zweite|dritte|vierte|zweiten|dritten|vierten)\s+anruf/iu,
  /\b(?:called|calling|phoned|rang|rung|tried)(?:\s+\p{L}+){0,3}\s+(?:twice|(?:two|three|four|five|several|many|multiple|\d+)\s+times)\b/iu,
  /\balready\s+(?:called|phoned|rang)\b/iu,
  /\b(?:second|third|fourth|fifth|\d+(?:nd|rd|th))\s+time\b/iu,
  /第[二三四五六七八九十几\d]+次(?:打|来电|联系)|打了(?:好几|几|两|三|四|很多)次|又打(?:电话|来)/u,
];
// A negation or an intensifier does not reach across a clause: "Nein, es ist immer noch kaputt."
const CLAUSE = /[.,;:!?。，；：！？、]+/u;

export interface Sentiment {
  /** -1 (angry) .. 1 (pleased). */
  score: number;
  anger: boolean;
  /** The words that moved the score. */
  cues: string[];
}

export function sentimentOf(text: string): Sentiment {
  let sum = 0;
  const cues: string[] = [];
  for (const clause of text.split(CLAUSE)) sum += clauseSentiment(clause, cues);
  const bangs = (text.match(/!/g) ?? []).length;
  if (bangs >= 2 && sum < 0) {
    sum -= 0.5;
    cues.push("!!");
  }
  if (REPEAT_CALL.some((r) => r.test(text))) {
    sum -= 1;
    cues.push("called again");
  }
  // Squash into -1..1: two strong negative words are already clearly angry.
  const score = Math.tanh(sum / 2);
  return { score, anger: score <= -0.6, cues };
}

function clauseSentiment(clause: string, cues: string[]): number {
  let sum = 0;
  let negate = 0;
  // An intensifier lifts the next sentiment word within two words ("sehr, sehr gut", "really not happy").
  let boost = 0;
  for (const t of tokens(clause)) {
    if (t.han) {
      sum += hanSentiment(t.text, cues);
      continue;
    }
    const w = foldUmlauts(t.text);
    const scope = NEGATORS.get(w);
    if (scope !== undefined) {
      negate = scope;
      continue;
    }
    if (INTENSIFIERS.has(w)) {
      boost = 2;
      continue;
    }
    const v = NEGATIVE[w] ?? POSITIVE[w];
    if (v !== undefined) {
      const flip = negate > 0 && !POLITE.has(w);
      sum += (flip ? -0.7 * v : v) * (boost > 0 ? 1.5 : 1);
      cues.push(flip ? `not ${t.text}` : t.text);
      boost = 0;
      negate = 0;
      continue;
    }
    if (negate > 0) negate--;
    if (boost > 0) boost--;
  }
  return sum;
}

function hanSentiment(run: string, cues: string[]): number {
  let sum = 0;
  const weigh = (at: number, w: number) => (ZH_INTENSIFIED.test(run.slice(0, at)) ? 1.5 * w : w);
  for (const w of ZH_NEGATIVE)
    for (let at = run.indexOf(w); at >= 0; at = run.indexOf(w, at + w.length)) {
      sum += weigh(at, -1);
      cues.push(w);
    }
  for (const w of ZH_POSITIVE)
    for (let at = run.indexOf(w); at >= 0; at = run.indexOf(w, at + w.length)) {
      // "很好" inside "不很好" and "满意" inside "不满意" count as the opposite; a caller who is not satisfied complains.
      const before = run.slice(0, at);
      const m = ZH_NEGATED.exec(before);
      if (m) {
        sum += weigh(at - m[0].length, -1);
        cues.push(`${m[0]}${w}`);
      } else {
        sum += weigh(at, 1);
        cues.push(w);
      }
    }
  return sum;
}
