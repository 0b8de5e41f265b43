// Pre-checks of a model directory in ONNX Runtime GenAI layout, before ORT or the tokenizer sees anything:
//
//   genai_config.json   what the decoder is: file name, layer/head geometry, I/O names, eos, context length
//   model.onnx          the decoder graph (model.decoder.filename)
//   model.onnx.data     external weights, when the graph references them (any name the graph gives)
//   tokenizer.json      Hugging Face tokenizer; tokenizer_config.json beside it is optional
//
// onnxruntime-node 1.30 rejects corrupt files with an error rather than aborting the process (unlike sherpa-onnx,
// see speech/model-files.ts), but its messages name neither the file a user must replace nor the field that is
// wrong. So each problem here becomes an LlmLoadError naming the file. The external-data walk reads only field
// headers of the graph's initializers (never the weights), so it also catches a truncated .data file cheaply.
import { closeSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { z } from "zod";
import { checkFile, checkOnnx } from "../speech/model-files.ts";
import { EngineLoadError } from "../speech/types.ts";
import { LlmLoadError } from "./types.ts";

const layerPattern = z
  .string()
  .refine((s) => s.split("%d").length === 2, { message: 'must contain "%d" exactly once (the layer index)' });

/** The subset of genai_config.json this adapter uses; defaults are ORT-GenAI's own. Unknown keys are ignored. */
const genaiConfigSchema = z.object({
  model: z.object({
    type: z.string().optional(),
    bos_token_id: z.number().int().nonnegative().optional(),
    eos_token_id: z.union([z.number().int().nonnegative(), z.array(z.number().int().nonnegative()).min(1)]),
    pad_token_id: z.number().int().nonnegative().optional(),
    context_length: z.number().int().positive(),
    vocab_size: z.number().int().positive().optional(),
    decoder: z.object({
      filename: z.string().min(1),
      num_hidden_layers: z.number().int().positive(),
      num_key_value_heads: z.number().int().positive(),
      head_size: z.number().int().positive(),
      inputs: z
        .object({
          input_ids: z.string().default("input_ids"),
          attention_mask: z.string().default("attention_mask"),
          position_ids: z.string().default("position_ids"),
          past_key_names: layerPattern.default("past_key_values.%d.key"),
          past_value_names: layerPattern.default("past_key_values.%d.value"),
        })
        .prefault({}),
      outputs: z
        .object({
          logits: z.string().default("logits"),
          present_key_names: layerPattern.default("present.%d.key"),
          present_value_names: layerPattern.default("present.%d.value"),
        })
        .prefault({}),
    }),
  }),
  search: z
    .object({
      do_sample: z.boolean().default(false),
      temperature: z.number().positive().default(1),
      top_k: z.number().int().nonnegative().default(50),
    })
    .prefault({}),
});

export type GenaiConfig = z.infer<typeof genaiConfigSchema>;

function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || "(root)";
}

/** Re-raises the speech pre-checks' EngineLoadError as LlmLoadError (same path and reason). */
function asLlmError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof EngineLoadError) throw new LlmLoadError(e.modelPath, e.reason, { cause: e });
    throw e;
  }
}

function readJson(path: string): unknown {
  asLlmError(() => checkFile(path));
  const text = readFileSync(path, "utf8");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new LlmLoadError(path, `not valid JSON: ${(e as Error).message}`);
  }
}

export function readGenaiConfig(path: string): GenaiConfig {
  const r = genaiConfigSchema.safeParse(readJson(path));
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${fieldPath(i.path)}: ${i.message}`);
    throw new LlmLoadError(path, `invalid genai_config.json: ${issues.join("; ")}`);
  }
  return r.data;
}

/** A relative path that stays inside its directory (model bundles must not point at other files on the box). */
function isInside(rel: string): boolean {
  return rel.length > 0 && !isAbsolute(rel) && !rel.split(/[\\/]/).includes("..");
}

// ------------------------------------------------------------------------------------------ ONNX external data

/** Protobuf field headers over a file, read through a 64 KiB window (thousands of initializers, few syscalls). */
class ProtoFile {
  private readonly win = Buffer.alloc(65536);
  private winStart = 0;
  private winLen = 0;
  constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly path: string,
  ) {}

  private byte(pos: number): number {
    if (pos >= this.size) return -1;
    if (pos < this.winStart || pos >= this.winStart + this.winLen) {
      this.winStart = pos;
      this.winLen = readSync(this.fd, this.win, 0, this.win.length, pos);
    }
    return this.win[pos - this.winStart];
  }

  private varint(pos: number): [number, number] {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte(pos + i);
      if (b < 0) break;
      v += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) return [v, pos + i + 1];
    }
    throw new LlmLoadError(this.path, `corrupt ONNX protobuf (bad varint at byte ${pos})`);
  }

  /** Fields of the message in [start, end): field number, wire type, and the value (varint) or the byte span. */
  *fields(start: number, end: number): Generator<{ field: number; wire: number; value: number; at: number }> {
    let pos = start;
    while (pos < end) {
      const [key, p] = this.varint(pos);
      const field = Math.floor(key / 8);
      const wire = key % 8;
      if (wire === 0) {
        const [v, next] = this.varint(p);
        yield { field, wire, value: v, at: p };
        pos = next;
      } else if (wire === 2) {
        const [len, body] = this.varint(p);
        if (body + len > end) throw new LlmLoadError(this.path, `corrupt ONNX protobuf (field ${field} overruns)`);
        yield { field, wire, value: len, at: body };
        pos = body + len;
      } else if (wire === 1 || wire === 5) {
        pos = p + (wire === 1 ? 8 : 4);
      } else {
        throw new LlmLoadError(this.path, `corrupt ONNX protobuf (wire type ${wire} at byte ${pos})`);
      }
    }
    if (pos !== end) throw new LlmLoadError(this.path, "corrupt ONNX protobuf (message overruns its length)");
  }

  string(at: number, len: number): string {
    const b = Buffer.alloc(len);
    readSync(this.fd, b, 0, len, at);
    return b.toString("utf8");
  }
}

export interface ExternalDataRef {
  /** Initializer name, for messages. */
  tensor: string;
  location: string;
  offset: number;
  /** -1 when the graph does not say (ORT then reads to the end of the file). */
  length: number;
}

/**
 * The external-data references of the graph's initializers (ModelProto.graph = 7, GraphProto.initializer = 5,
 * TensorProto.name = 8 / external_data = 13 / data_location = 14). Constant nodes and subgraphs are not walked:
 * exporters put large weights in initializers, and anything else still gets ORT's own check.
 */
export function onnxExternalData(modelPath: string): ExternalDataRef[] {
  const size = asLlmError(() => checkFile(modelPath));
  const fd = openSync(modelPath, "r");
  try {
    const f = new ProtoFile(fd, size, modelPath);
    const refs: ExternalDataRef[] = [];
    for (const m of f.fields(0, size)) {
      if (m.field !== 7 || m.wire !== 2) continue;
      for (const g of f.fields(m.at, m.at + m.value)) {
        if (g.field !== 5 || g.wire !== 2) continue;
        let name = "";
        let external = false;
        const entries: Record<string, string> = {};
        for (const t of f.fields(g.at, g.at + g.value)) {
          if (t.field === 8 && t.wire === 2) name = f.string(t.at, Math.min(t.value, 4096));
          else if (t.field === 14 && t.wire === 0) external = t.value === 1;
          else if (t.field === 13 && t.wire === 2) {
            let key = "";
            let value = "";
            for (const e of f.fields(t.at, t.at + t.value)) {
              if (e.wire !== 2 || e.value > 4096) continue;
              if (e.field === 1) key = f.string(e.at, e.value);
              else if (e.field === 2) value = f.string(e.at, e.value);
            }
            entries[key] = value;
          }
        }
        if (!external) continue;
        const num = (s: string | undefined) => (s === undefined || !/^\d+$/.test(s) ? -1 : Number(s));
        refs.push({
          tensor: name,
          location: entries.location ?? "",
          offset: Math.max(0, num(entries.offset)),
          length: num(entries.length),
        });
      }
    }
    return refs;
  } finally {
    closeSync(fd);
  }
}

/** Every external-data file exists inside the model directory and is long enough for every tensor placed in it. */
export function checkExternalData(modelPath: string): string[] {
  const refs = onnxExternalData(modelPath);
  const byFile = new Map<string, ExternalDataRef[]>();
  for (const r of refs) {
    if (!r.location) throw new LlmLoadError(modelPath, `initializer ${r.tensor} has external data without a location`);
    if (!isInside(r.location)) {
      throw new LlmLoadError(modelPath, `initializer ${r.tensor} has external data outside the model directory`);
    }
    const list = byFile.get(r.location) ?? [];
    list.push(r);
    byFile.set(r.location, list);
  }
  const files: string[] = [];
  for (const [location, list] of byFile) {
    const path = join(dirname(modelPath), location);
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(path);
    } catch {
      throw new LlmLoadError(path, `file missing (the model's external weights for ${list.length} tensors)`);
    }
    if (!st.isFile()) throw new LlmLoadError(path, "not a regular file");
    const last = list.reduce((a, b) => (b.offset + Math.max(0, b.length) > a.offset + Math.max(0, a.length) ? b : a));
    const need = last.offset + Math.max(0, last.length);
    if (st.size < need || st.size === 0) {
      throw new LlmLoadError(
        path,
        `truncated: ${st.size} bytes, but tensor ${last.tensor} ends at byte ${need} (copy the file again)`,
      );
    }
    files.push(path);
  }
  return files;
}

// ------------------------------------------------------------------------------------------ the whole directory

export interface ModelDir {
  dir: string;
  config: GenaiConfig;
  configPath: string;
  modelPath: string;
  /** External data files the graph references (checked present and long enough). */
  dataPaths: string[];
  tokenizerPath: string;
  tokenizerJson: object;
  /** {} when tokenizer_config.json is absent. */
  tokenizerConfig: Record<string, unknown>;
}

export function checkModelDir(dir: string): ModelDir {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(dir);
  } catch {
    throw new LlmLoadError(dir, "directory missing");
  }
  if (!st.isDirectory()) throw new LlmLoadError(dir, "not a directory");

  const configPath = join(dir, "genai_config.json");
  const config = readGenaiConfig(configPath);
  const filename = config.model.decoder.filename;
  if (!isInside(filename)) {
    throw new LlmLoadError(configPath, `model.decoder.filename "${filename}" points outside the model directory`);
  }
  const modelPath = join(dir, filename);
  asLlmError(() => checkOnnx(modelPath));
  const dataPaths = checkExternalData(modelPath);

  const tokenizerPath = join(dir, "tokenizer.json");
  const tokenizerJson = readJson(tokenizerPath);
  if (typeof tokenizerJson !== "object" || tokenizerJson === null || !("model" in tokenizerJson)) {
    throw new LlmLoadError(tokenizerPath, "not a Hugging Face tokenizer.json (no model section)");
  }
  const tcPath = join(dir, "tokenizer_config.json");
  let tokenizerConfig: Record<string, unknown> = {};
  let hasTc = true;
  try {
    statSync(tcPath);
  } catch {
    hasTc = false;
  }
  if (hasTc) {
    const tc = readJson(tcPath);
    if (typeof tc !== "object" || tc === null || Array.isArray(tc)) throw new LlmLoadError(tcPath, "not a JSON object");
    tokenizerConfig = tc as Record<string, unknown>;
  }
  return { dir, config, configPath, modelPath, dataPaths, tokenizerPath, tokenizerJson, tokenizerConfig };
}
