// Intents trained on the box from the example utterances in an agent's config (German, English, Chinese): TF-IDF
// over words, word pairs, character n-grams and Han bigrams (text-features.ts), scored against each intent's
// centroid and its nearest example. No weights to download, and training 1 000 examples takes milliseconds, so a
// config change retrains at once. The score is a cosine in 0..1; the bands turn it into act / clarify / escalate.
import { z } from "zod";
import { type FeatureVector, textFeatures } from "./text-features.ts";

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

// Defaults measured by bench/nlu-intents.ts (50 intents, 20 de + 20 en + 8 zh examples each): unseen paraphrases
// score 0.1–0.45 (median 0.18) whether top-1 is right or wrong, off-topic sentences up to 0.32 (p95 0.22), so no
// threshold separates them well. act 0.3 keeps off-topic sentences under 1 % acted; the lead over the second intent is
// the better guard against acting wrongly (margin 0.08 instead of 0.04: a third fewer wrong actions, an eighth fewer
// right ones). A top intent barely ahead of the next one is asked about rather than acted on.
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

type Sparse = Map<string, number>;

export class IntentModel {
  private constructor(
    private readonly idf: Map<string, number>,
    private readonly unseenIdf: number,
    private readonly classes: { id: string; centroid: Sparse; examples: Sparse[] }[],
    private readonly bands: IntentBands,
  ) {}

  get size(): number {
    return this.classes.length;
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
    const raw = intents.map((d) => d.examples.map(textFeatures));
    const df = new Map<string, number>();
    let n = 0;
    for (const vs of raw)
      for (const v of vs) {
        n++;
        for (const k of v.keys()) df.set(k, (df.get(k) ?? 0) + 1);
      }
    const idf = new Map<string, number>();
    for (const [k, c] of df) idf.set(k, Math.log((n + 1) / (c + 1)) + 1);
    const unseenIdf = Math.log(n + 1) + 1;
    const classes = intents.map((d, i) => {
      const examples = (raw[i] as FeatureVector[]).map((v) => weigh(v, idf, unseenIdf));
      const sum: Sparse = new Map();
      for (const e of examples) for (const [k, w] of e) sum.set(k, (sum.get(k) ?? 0) + w);
      return { id: d.id, centroid: unit(sum), examples };
    });
    return new IntentModel(idf, unseenIdf, classes, intentBandsSchema.parse(opts.bands ?? {}));
  }

  classify(text: string): IntentMatch {
    const v = weigh(textFeatures(text), this.idf, this.unseenIdf);
    const ranking = this.classes
      .map((c) => {
        let best = 0;
        for (const e of c.examples) best = Math.max(best, dot(v, e));
        // The centroid rewards what the examples share; the nearest example catches a phrasing only one of them has.
        return { intent: c.id, score: 0.5 * dot(v, c.centroid) + 0.5 * best };
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

/** TF-IDF, L2-normalised. Features no example had count in the norm, so off-topic words lower every score. */
function weigh(v: FeatureVector, idf: Map<string, number>, unseenIdf: number): Sparse {
  const out: Sparse = new Map();
  for (const [k, tf] of v) out.set(k, (tf > 1 ? 1 + Math.log(tf) : tf) * (idf.get(k) ?? unseenIdf));
  return unit(out);
}

function unit(v: Sparse): Sparse {
  let n = 0;
  for (const w of v.values()) n += w * w;
  n = Math.sqrt(n) || 1;
  for (const [k, w] of v) v.set(k, w / n);
  return v;
}

function dot(a: Sparse, b: Sparse): number {
  const [s, l] = a.size <= b.size ? [a, b] : [b, a];
  let d = 0;
  for (const [k, w] of s) {
    const x = l.get(k);
    if (x !== undefined) d += w * x;
  }
  return d;
}
