// Intents trained on the box from the example utterances in an agent's config (German, English, Chinese): TF-IDF
// over words, stems, German compound parts, word pairs, character n-grams, Han uni- and bigrams and phone-line
// concepts (text-features.ts, synonyms.ts), scored against each intent's centroid and its two nearest examples. No
// weights to download, and training 2 400 examples takes about 0.2 s, so a config change retrains at
// once. The score is a cosine in 0..1; the bands turn it into act / clarify / escalate.
import { z } from "zod";
import { conceptLexicon, type FeatureVector, lexiconWords, textFeatures } from "./text-features.ts";

export interface IntentDef {
  id: string;
  examples: string[];
}

export type Band = "act" | "clarify" | "escalate";

export interface IntentMatch {
  intent?: string;
  score: number;
  band: Band;
  ranking: { intent: string; score: number }[];
}

// Defaults measured by bench/nlu-intents.ts (50 intents, 20 de + 20 en + 8 zh examples each; 150 held-out paraphrases
// and 40 off-topic sentences per language). With stems, compounds and concepts the scores moved up and apart: right
// top-1s score median 0.30 (p25 0.23), wrong ones 0.24, off-topic sentences 0.10 (p95 0.28, max 0.35). act 0.3 with
// margin 0.08 acts on 26 % of held-out paraphrases at 76 % precision (cross-validation 52 % at 83 %) and on one
// off-topic sentence in 120 (German, 2.5 %). act 0.25 adds 5 points of right and 3 of wrong actions and puts German
// and English off-topic at 2.5 %; margin 0.12 at act 0.25 acts on no off-topic sentence but on 4 points fewer
// cross-validation examples. The lead stays the better guard: margin 0 instead of 0.08 adds 5 points of right and 5
// of wrong actions. clarify 0.18 escalates 88 % of off-topic sentences and 15 % of in-scope ones (0.15: 79 % / 12 %).
// A top intent barely ahead of the next one is asked about rather than acted on.
export const intentBandsSchema = z
  .object({
    act: z.number().min(0).max(1).default(0.3),
    clarify: z.number().min(0).max(1).default(0.18),
    /** Top-1 must lead top-2 by this much to act. */
    margin: z.number().min(0).max(1).default(0.08),
  })
  .strict()
  .refine((b) => b.act >= b.clarify, { message: "act must be >= clarify", path: ["act"] });
export type IntentBands = z.infer<typeof intentBandsSchema>;

export class IntentConfigError extends Error {
  override name = "IntentConfigError";
}

/** Vectors as parallel arrays of term numbers and weights. */
interface TermVector {
  terms: Int32Array;
  weights: Float64Array;
}

/**
 * Which examples (or intents) have each term, with what weight, in one compressed list (the rows of term t are
 * start[t]..start[t+1]): a classification touches only the examples that share a feature with the caller's words,
 * not all of them (6 ms -> 0.2 ms for 2 400 examples).
 */
interface Postings {
  start: Int32Array;
  ids: Int32Array;
  weights: Float64Array;
}

// An intent's two nearest examples count 0.7 and 0.3. The nearest alone lets a single stray example win an intent
// (cross-validation top-1 60.3 % against 61.5 %); an even mean (62.1 %) halves the score of a question that matches
// one of an FAQ entry's three phrasings exactly (0.41 -> 0.29, below act).
const NEAREST_WEIGHT = 0.7;
// Share of the centroid in the score; the rest is the nearest examples'.
const CENTROID_SHARE = 0.5;

export class IntentModel {
  private constructor(
    private readonly ids: string[],
    private readonly vocab: Map<string, number>,
    private readonly idf: Float64Array,
    private readonly unseenIdf: number,
    private readonly exampleClass: Int32Array,
    private readonly exampleCount: Int32Array,
    private readonly examples: Postings,
    private readonly centroids: Postings,
    private readonly bands: IntentBands,
    private readonly lexicon: ReadonlySet<string>,
  ) {}

  get size(): number {
    return this.ids.length;
  }

  static train(intents: IntentDef[], opts: { bands?: Partial<IntentBands> } = {}): IntentModel {
    const seen = new Set<string>();
    intents.forEach((d, i) => {
      if (!d.id) throw new IntentConfigError(`intents[${i}]: empty id`);
      if (seen.has(d.id)) throw new IntentConfigError(`intents[${i}]: duplicate intent id "${d.id}"`);
      seen.add(d.id);
      if (d.examples.length === 0) throw new IntentConfigError(`intents[${i}] (${d.id}): no examples`);
      d.examples.forEach((e, k) => {
        if (!e.trim()) throw new IntentConfigError(`intents[${i}] (${d.id}).examples[${k}]: empty example`);
      });
    });
    const bands = intentBandsSchema.parse(opts.bands ?? {});
    // Compounds split into the words the examples and the synonym table use on their own.
    const lexicon = new Set(conceptLexicon());
    for (const d of intents) for (const e of d.examples) for (const w of lexiconWords(e)) lexicon.add(w);
    const raw = intents.map((d) => d.examples.map((e) => textFeatures(e, { lexicon })));
    const vocab = new Map<string, number>();
    const df: number[] = [];
    let n = 0;
    for (const vs of raw)
      for (const v of vs) {
        n++;
        for (const k of v.keys()) {
          const t = vocab.get(k);
          if (t === undefined) {
            vocab.set(k, df.length);
            df.push(1);
          } else df[t]++;
        }
      }
    const idf = Float64Array.from(df, (c) => Math.log((n + 1) / (c + 1)) + 1);
    const unseenIdf = Math.log(n + 1) + 1;
    const examples: TermVector[] = [];
    const exampleClass: number[] = [];
    const centroids = raw.map((vs, i) => {
      const sum = new Map<number, number>();
      for (const v of vs) {
        const e = weigh(v, vocab, idf, unseenIdf);
        examples.push(e);
        exampleClass.push(i);
        e.terms.forEach((t, j) => {
          sum.set(t, (sum.get(t) ?? 0) + (e.weights[j] as number));
        });
      }
      return unit({ terms: Int32Array.from(sum.keys()), weights: Float64Array.from(sum.values()) });
    });
    return new IntentModel(
      intents.map((d) => d.id),
      vocab,
      idf,
      unseenIdf,
      Int32Array.from(exampleClass),
      Int32Array.from(intents, (d) => d.examples.length),
      postingsOf(examples, vocab.size),
      postingsOf(centroids, vocab.size),
      bands,
      lexicon,
    );
  }

  classify(text: string): IntentMatch {
    const q = weigh(textFeatures(text, { lexicon: this.lexicon }), this.vocab, this.idf, this.unseenIdf);
    const exampleScore = dotAll(q, this.examples, this.exampleClass.length);
    const centroidScore = dotAll(q, this.centroids, this.ids.length);
    // Each intent's best and second-best example score.
    const best = new Float64Array(this.ids.length);
    const second = new Float64Array(this.ids.length);
    exampleScore.forEach((sc, e) => {
      const c = this.exampleClass[e] as number;
      if (sc > (best[c] as number)) {
        second[c] = best[c] as number;
        best[c] = sc;
      } else if (sc > (second[c] as number)) second[c] = sc;
    });
    const ranking = this.ids
      .map((intent, c) => {
        const near =
          this.exampleCount[c] === 1
            ? (best[c] as number)
            : NEAREST_WEIGHT * (best[c] as number) + (1 - NEAREST_WEIGHT) * (second[c] as number);
        // The centroid rewards what the examples share; the nearest examples catch a phrasing only a few of them have.
        const score = CENTROID_SHARE * (centroidScore[c] as number) + (1 - CENTROID_SHARE) * near;
        return { intent, score };
      })
      .sort((a, b) => b.score - a.score || (a.intent < b.intent ? -1 : 1));
    const top = ranking[0];
    const score = top?.score ?? 0;
    const lead = score - (ranking[1]?.score ?? 0);
    const band: Band =
      score >= this.bands.act && lead >= this.bands.margin
        ? "act"
        : score >= this.bands.clarify
          ? "clarify"
          : "escalate";
    return { intent: band === "escalate" ? undefined : top?.intent, score, band, ranking: ranking.slice(0, 5) };
  }
}

/**
 * TF-IDF as term numbers, L2-normalised. Words no example had count in the norm (and are then dropped), so
 * off-topic words lower every score.
 */
function weigh(v: FeatureVector, vocab: Map<string, number>, idf: Float64Array, unseenIdf: number): TermVector {
  const terms: number[] = [];
  const weights: number[] = [];
  let unseen = 0;
  for (const [k, tf] of v) {
    const t = vocab.get(k);
    // A concept no example has says nothing the unseen word itself does not already say (in the norm).
    if (t === undefined && k.startsWith("c:")) continue;
    const w = (tf > 1 ? 1 + Math.log(tf) : tf) * (t === undefined ? unseenIdf : (idf[t] as number));
    if (t === undefined) unseen += w * w;
    else {
      terms.push(t);
      weights.push(w);
    }
  }
  return unit({ terms: Int32Array.from(terms), weights: Float64Array.from(weights) }, unseen);
}

function unit(v: TermVector, extraSquares = 0): TermVector {
  let n = extraSquares;
  for (const w of v.weights) n += w * w;
  n = Math.sqrt(n) || 1;
  for (let j = 0; j < v.weights.length; j++) v.weights[j] = (v.weights[j] as number) / n;
  return v;
}

function postingsOf(vectors: TermVector[], vocabSize: number): Postings {
  const start = new Int32Array(vocabSize + 1);
  for (const v of vectors) for (const t of v.terms) start[t + 1]++;
  for (let t = 0; t < vocabSize; t++) start[t + 1] += start[t] as number;
  const fill = start.slice(0, vocabSize);
  const ids = new Int32Array(start[vocabSize] as number);
  const weights = new Float64Array(ids.length);
  vectors.forEach((v, id) => {
    v.terms.forEach((t, j) => {
      const at = fill[t]++;
      ids[at] = id;
      weights[at] = v.weights[j] as number;
    });
  });
  return { start, ids, weights };
}

/** The dot product of q with every vector of the postings. */
function dotAll(q: TermVector, p: Postings, count: number): Float64Array {
  const out = new Float64Array(count);
  q.terms.forEach((t, i) => {
    const w = q.weights[i] as number;
    for (let j = p.start[t] as number; j < (p.start[t + 1] as number); j++)
      out[p.ids[j] as number] += w * (p.weights[j] as number);
  });
  return out;
}
