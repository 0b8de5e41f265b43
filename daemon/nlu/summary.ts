// What a call was about, after hangup, without a language model: a template line from the facts the flow captured
// plus the caller's most informative sentence(s), picked extractively. `Summarizer` is the seam where an LLM summary
// can replace this later; the CDR and the web page only see the string.

import { foldUmlauts, isStopWord, tokens } from "./text-features.ts";

export interface TranscriptEntry {
  /** Milliseconds since the call was answered. */
  atMs: number;
  speaker: "caller" | "agent" | "human" | "system";
  text: string;
  /** Keys the speaker pressed in this turn ("4711#"). */
  dtmf?: string;
  /** Which agent (flow agent or staff member) spoke. */
  agent?: string;
  /** The box's answer: ms from the caller's input reaching the flow to this prompt starting (decision latency). */
  latencyMs?: number;
}

export interface CallFacts {
  /** BCP 47 tag of the call ("de", "de-DE", "en", "zh"). */
  language: string;
  intent?: string;
  slots: Record<string, string>;
  /** Why the call went to a human ("keyword", "no-match", "retries", "caller-request", ...). */
  escalation?: string;
  /** "transferred", "voicemail", "completed", "abandoned", "callback", "after-hours", ... */
  outcome?: string;
  actions: Array<{ kind: string; state: string }>;
  /**
   * Facts that are not worth a field of their own. Read here: `afterHours` and `callback` ("true"/"yes"/"1" or,
   * for callback, "requested").
   */
  extra?: Record<string, string>;
}

export interface Summarizer {
  summarize(t: TranscriptEntry[], f: CallFacts): string;
}

type Lang = "de" | "en";

/** German for de-*, English for everything else (Chinese calls get English labels; quotes stay verbatim). */
export function summaryLanguage(language: string): Lang {
  return language.toLowerCase().startsWith("de") ? "de" : "en";
}

// ---------------------------------------------------------------------------------------------------------------
// Transcript text

const SPEAKERS: Record<Lang, Record<TranscriptEntry["speaker"], string>> = {
  de: { caller: "Anrufer", agent: "Agent", human: "Mitarbeiter", system: "System" },
  en: { caller: "Caller", agent: "Agent", human: "Staff", system: "System" },
};

/** mm:ss from the call's start; minutes keep counting past 59 so a long call sorts and reads as one clock. */
export function clockOf(atMs: number): string {
  const s = Math.max(0, Math.floor(atMs / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

/** One line per turn: `01:05 Caller: text [DTMF 4711#]`; the agent's or staff member's name in brackets. */
export function formatTranscript(t: TranscriptEntry[], language = "en"): string {
  const labels = SPEAKERS[summaryLanguage(language)];
  return t
    .map((e) => {
      const who =
        e.agent && (e.speaker === "agent" || e.speaker === "human")
          ? `${labels[e.speaker]} (${e.agent})`
          : labels[e.speaker];
      const text = e.text.replace(/\s+/g, " ").trim();
      const keys = e.dtmf ? `[DTMF ${e.dtmf}]` : "";
      return `${clockOf(e.atMs)} ${who}: ${[text, keys].filter((x) => x !== "").join(" ")}`;
    })
    .join("\n");
}

// ---------------------------------------------------------------------------------------------------------------
// The template line

const INTENTS: Record<string, Record<Lang, string>> = {
  appointment: { de: "Terminvereinbarung", en: "Appointment booking" },
  "appointment-cancel": { de: "Terminabsage", en: "Appointment cancellation" },
  "appointment-change": { de: "Terminänderung", en: "Appointment change" },
  billing: { de: "Rechnungsfrage", en: "Billing question" },
  sales: { de: "Vertrieb", en: "Sales" },
  support: { de: "Technischer Support", en: "Technical support" },
  complaint: { de: "Beschwerde", en: "Complaint" },
  callback: { de: "Rückrufwunsch", en: "Callback request" },
  "opening-hours": { de: "Öffnungszeiten", en: "Opening hours" },
  "order-status": { de: "Bestellstatus", en: "Order status" },
  cancellation: { de: "Kündigung", en: "Cancellation" },
  info: { de: "Auskunft", en: "Information" },
};

const SLOTS: Record<string, Record<Lang, string>> = {
  name: { de: "Name", en: "name" },
  phone: { de: "Telefon", en: "phone" },
  email: { de: "E-Mail", en: "email" },
  date: { de: "Datum", en: "date" },
  time: { de: "Uhrzeit", en: "time" },
  address: { de: "Adresse", en: "address" },
  customernumber: { de: "Kundennummer", en: "customer number" },
  ordernumber: { de: "Bestellnummer", en: "order number" },
  birthday: { de: "Geburtsdatum", en: "date of birth" },
  reason: { de: "Grund", en: "reason" },
};

const OUTCOMES: Record<string, Record<Lang, string>> = {
  transferred: { de: "an Mitarbeiter übergeben", en: "transferred to a staff member" },
  voicemail: { de: "Nachricht hinterlassen", en: "voicemail left" },
  completed: { de: "abgeschlossen", en: "completed" },
  abandoned: { de: "Anrufer hat aufgelegt", en: "caller hung up" },
  callback: { de: "Rückruf erbeten", en: "callback requested" },
  "callback-requested": { de: "Rückruf erbeten", en: "callback requested" },
  "after-hours": { de: "außerhalb der Geschäftszeiten", en: "outside business hours" },
  escalated: { de: "eskaliert", en: "escalated" },
};

const REASONS: Record<string, Record<Lang, string>> = {
  keyword: { de: "Schlüsselwort", en: "keyword" },
  "caller-request": { de: "Wunsch des Anrufers", en: "caller's request" },
  "no-match": { de: "Anliegen nicht erkannt", en: "request not understood" },
  retries: { de: "wiederholte Fehlversuche", en: "repeated failed attempts" },
  "dead-air": { de: "keine Antwort", en: "no answer" },
};

const WORDS: Record<
  Lang,
  {
    concern: string;
    unknown: string;
    captured: string;
    result: string;
    reason: string;
    failed: string;
    caller: string;
    quote: [string, string];
  }
> = {
  de: {
    concern: "Anliegen",
    unknown: "unbekannt",
    captured: "Erfasst",
    result: "Ergebnis",
    reason: "Grund",
    failed: "fehlgeschlagen",
    caller: "Anrufer",
    quote: ["„", "“"],
  },
  en: {
    concern: "Request",
    unknown: "unknown",
    captured: "Captured",
    result: "Result",
    reason: "reason",
    failed: "failed",
    caller: "Caller",
    quote: ['"', '"'],
  },
};

/** "order-status" / "orderStatus" -> "order status": readable when no label is known. */
function humanize(id: string): string {
  return id
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .replace(/[-_]+/g, " ")
    .trim()
    .toLowerCase();
}

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const tidy = (s: string, max: number): string => clip(s.replace(/\s+/g, " ").trim(), max);

function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  const cut = s.lastIndexOf(" ", max - 1);
  return `${s.slice(0, cut > max / 2 ? cut : max - 1)}…`;
}

function factsLine(f: CallFacts, lang: Lang, intentLabels: Record<string, string>): string {
  const w = WORDS[lang];
  const intent = f.intent
    ? (intentLabels[f.intent] ?? INTENTS[f.intent]?.[lang] ?? capitalize(humanize(f.intent)))
    : w.unknown;
  const parts = [`${w.concern}: ${intent}.`];
  const slots = Object.entries(f.slots)
    .map(([k, v]) => [k, tidy(v, 80)] as const)
    .filter(([, v]) => v !== "")
    .map(([k, v]) => `${SLOTS[k.toLowerCase().replace(/[-_]/g, "")]?.[lang] ?? humanize(k)} ${v}`);
  if (slots.length) parts.push(`${w.captured}: ${slots.join(", ")}.`);
  const result: string[] = [];
  const outcome = f.outcome ?? (f.escalation ? "escalated" : undefined);
  if (outcome) {
    const reason = f.escalation ? ` (${w.reason}: ${REASONS[f.escalation]?.[lang] ?? humanize(f.escalation)})` : "";
    result.push(`${OUTCOMES[outcome]?.[lang] ?? humanize(outcome)}${reason}`);
  }
  const failed = f.actions.filter((a) => a.state === "failed" || a.state === "error").map((a) => a.kind);
  if (failed.length) result.push(`${[...new Set(failed)].join(", ")} ${w.failed}`);
  if (result.length) parts.push(`${w.result}: ${result.join("; ")}.`);
  return parts.join(" ");
}

// ---------------------------------------------------------------------------------------------------------------
// Picking caller sentences

// Not content in a summary, on top of the intent stop words: greetings, fillers, yes/no and the words that only
// frame an answer ("mein Name ist", "I'm calling").
const NON_CONTENT = new Set(
  (
    "äh ähm öh hm hmm mhm mm uh uhm ah oh okay ok jo jawohl genau nein nö nee richtig stimmt klar alles super prima " +
    "perfekt toll schön schönen wunderbar tschüss tschüs wiederhören wiedersehen servus moin dankeschön vielen dank " +
    "no nope nah yep yup sure right alright great perfect fine cool exactly correct bye goodbye cheers " +
    "name heiße heisse nummer lautet anrufe rufe calling call im ive id dont its thats theres " +
    "wie was wer wo wann warum wieso welche welcher welches wenn weil dass ob als nicht kein keine keinen nichts " +
    "sich sein seine seinem seinen dies diese dieser diesem diesen hier dort jetzt gerade etwas sehr viel mehr gibt " +
    "geht gehen machen mache sagen sage gesagt kann können könnte konnte muss müssen soll sollte will wollte darf " +
    "werde wird werden wurde hatte hätte hätten vielleicht wirklich eben halt mal nochmal aus um über unter nach " +
    "vor bis durch gegen ohne sowie sondern " +
    "he she they them their his her what which who when where why how if than then not no dont didnt doesnt isnt " +
    "wasnt cant wont will shall should may might must all any some much many more most other such very too only " +
    "really get got going go know think say said tell told here now about into over after before up down out off " +
    "by as these those this there one something anything thing " +
    // Numbers read out are slot answers (phone, order number), captured in the template line already.
    "null eins zwei zwo drei vier fünf sechs sieben acht neun zehn elf zwölf zwanzig dreißig vierzig fünfzig " +
    "sechzig siebzig achtzig neunzig hundert tausend plus zero oh two three four five six seven eight nine ten " +
    "eleven twelve twenty thirty forty fifty sixty seventy eighty ninety hundred thousand double triple doppel"
  )
    .split(" ")
    .map(foldUmlauts),
);

// A caller stating a problem or a wish: these sentences carry the reason for the call.
const CUES = new Set(
  (
    "weil da seit kaputt defekt beschädigt falsch fehlt fehlen problem beschwerde reklamation immer wieder nicht " +
    "möchte brauche bräuchte benötige leider storniert zurück " +
    "because since broken damaged wrong missing problem complaint issue still again not never want need would like " +
    "unfortunately cancel refund"
  )
    .split(" ")
    .map(foldUmlauts),
);

const GREETING_HEADS = new Set(["guten", "schoenen", "good", "gruess"]);
const GREETING_TAILS = new Set(["tag", "morgen", "abend", "gott", "morning", "afternoon", "evening", "day"]);

interface Sentence {
  text: string;
  /** Order among the caller's sentences. */
  index: number;
  content: string[];
  cues: number;
}

const ABBREVIATIONS = new Set(["z", "b", "z.b", "nr", "dr", "str", "ca", "bzw", "usw", "etc", "mr", "mrs", "ms", "st"]);

/** Sentence ends that are not abbreviations ("z. B.", "Nr. 5") or dates ("30.05."). */
function splitSentences(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (const m of text.matchAll(/[.!?…。！？]+(?=\s|$)|[。！？]+/g)) {
    const end = m.index + m[0].length;
    const before = text.slice(start, m.index);
    const lastWord = /(\S+)$/.exec(before)?.[1] ?? "";
    if (m[0] === "." && (/^\d+$/.test(lastWord) || ABBREVIATIONS.has(lastWord.toLowerCase()))) continue;
    out.push(text.slice(start, end).trim());
    start = end;
  }
  out.push(text.slice(start).trim());
  return out.filter((s) => /[\p{L}\p{N}]/u.test(s));
}

/** Folded content terms: Latin words that say something, and Han bigrams (a bigram is roughly a word). */
function contentTerms(text: string): { content: string[]; cues: number } {
  const words = tokens(text);
  const content: string[] = [];
  let cues = 0;
  for (let i = 0; i < words.length; i++) {
    const t = words[i];
    if (t.han) {
      const cs = [...t.text];
      for (let k = 0; k + 1 < cs.length; k++) content.push(cs[k] + cs[k + 1]);
      continue;
    }
    const w = foldUmlauts(t.text);
    if (CUES.has(w)) cues++;
    if (GREETING_HEADS.has(w) && GREETING_TAILS.has(foldUmlauts(words[i + 1]?.text ?? ""))) {
      i++;
      continue;
    }
    if (isStopWord(t.text) || isStopWord(w) || NON_CONTENT.has(w)) continue;
    if (w.length < 2 || /^\d+$/.test(w)) continue;
    content.push(w);
  }
  return { content, cues };
}

function candidates(t: TranscriptEntry[], slotTerms: ReadonlySet<string>): Sentence[] {
  const out: Sentence[] = [];
  for (const e of t) {
    if (e.speaker !== "caller") continue;
    for (const text of splitSentences(e.text)) {
      const { content, cues } = contentTerms(text);
      // Greetings, "ja genau", "äh okay" and bare answers to a slot question ("Anna Schmidt") say nothing new.
      const fresh = content.filter((w) => !slotTerms.has(w));
      if (fresh.length < 2 || fresh.length * 2 <= content.length) continue;
      out.push({ text, index: out.length, content: fresh, cues });
    }
  }
  return out;
}

/** TF-IDF over the call's caller sentences: a term the caller keeps coming back to, but not in every sentence. */
function scores(sentences: Sentence[]): number[] {
  const tf = new Map<string, number>();
  const df = new Map<string, number>();
  for (const s of sentences) {
    for (const w of s.content) tf.set(w, (tf.get(w) ?? 0) + 1);
    for (const w of new Set(s.content)) df.set(w, (df.get(w) ?? 0) + 1);
  }
  const n = sentences.length;
  return sentences.map((s) => {
    let info = 0;
    for (const w of new Set(s.content)) info += (1 + Math.log(tf.get(w)!)) * Math.log(1 + n / df.get(w)!);
    const words = s.content.length;
    // Rambling sentences lose per word beyond ~25 content words; early sentences usually state the reason.
    const length = words > 25 ? 25 / words : 1;
    const position = 1 + 0.3 * (1 - s.index / n);
    const cue = 1 + 0.2 * Math.min(s.cues, 3);
    return info * length * position * cue;
  });
}

function overlap(a: Sentence, b: Sentence): number {
  const sa = new Set(a.content);
  const sb = new Set(b.content);
  let both = 0;
  for (const w of sa) if (sb.has(w)) both++;
  return both / Math.min(sa.size, sb.size);
}

/** The best one or two caller sentences, in spoken order; a second only when it is nearly as good and new. */
export function keySentences(t: TranscriptEntry[], f: CallFacts, max = 2): string[] {
  const slotTerms = new Set(Object.values(f.slots).flatMap((v) => contentTerms(v).content));
  const sentences = candidates(t, slotTerms);
  if (sentences.length === 0) return [];
  const s = scores(sentences);
  const ranked = sentences
    .map((x, i) => ({ x, score: s[i] }))
    .sort((a, b) => b.score - a.score || a.x.index - b.x.index);
  const picked = [ranked[0]];
  for (const r of ranked.slice(1)) {
    if (picked.length >= max || r.score < 0.6 * ranked[0].score) break;
    if (picked.every((p) => overlap(p.x, r.x) < 0.5)) picked.push(r);
  }
  return picked.sort((a, b) => a.x.index - b.x.index).map((p) => tidy(p.x.text, 220));
}

export interface ExtractiveOptions {
  /** Labels for a flow's own intents (by id), used as written in any call language. */
  intentLabels?: Record<string, string>;
  /** How many caller sentences at most (default 2). */
  sentences?: number;
}

export function createExtractiveSummarizer(options: ExtractiveOptions = {}): Summarizer {
  const intentLabels = options.intentLabels ?? {};
  return {
    summarize(t, f) {
      const lang = summaryLanguage(f.language);
      const w = WORDS[lang];
      const line = factsLine(f, lang, intentLabels);
      const quotes = keySentences(t, f, options.sentences ?? 2);
      return quotes.length ? `${line} ${w.caller}: ${w.quote[0]}${quotes.join(" ")}${w.quote[1]}` : line;
    },
  };
}

export const extractiveSummarizer: Summarizer = createExtractiveSummarizer();
