// The `manifest.json` of a model bundle. A bundle is exactly its listed files plus manifest.json (and an optional
// `signature`), so the manifest is the one object a signature needs to cover: it pins every file by size and sha256.
import { z } from "zod";

export const MANIFEST_FILE = "manifest.json";
/** Optional detached signature over the exact bytes of manifest.json (checked by an injected verifier). */
export const SIGNATURE_FILE = "signature";
const reservedPaths = new Set([MANIFEST_FILE, SIGNATURE_FILE]);

export const TASKS = ["vad", "asr", "tts", "denoiser", "llm", "command-asr"] as const;
export type Task = (typeof TASKS)[number];

/**
 * Engines this daemon knows how to load. The schema accepts any slug so a bundle for a newer engine can be staged
 * ahead of the code that runs it; the store warns when the engine is not in this list.
 * - sherpa-onnx-silero-vad: sherpa.Vad with sileroVad.model (16 kHz only)
 * - sherpa-onnx-gtcrn: sherpa.OnlineSpeechDenoiser with gtcrn.model (needs the sherpa metadata keys)
 * - svox-pico: @echogarden/svoxpico-wasm with ta + sg lingware per language
 * - sherpa-onnx-vits: sherpa.OfflineTts with vits.{model,tokens} (Piper voices)
 * - sherpa-onnx-offline-ctc / sherpa-onnx-transducer / sherpa-onnx-whisper: sherpa ASR recognizers
 * - onnxruntime-genai: decoder-only LLM in ORT-GenAI layout (genai_config.json next to model.onnx)
 */
export const KNOWN_ENGINES = [
  "sherpa-onnx-silero-vad",
  "sherpa-onnx-gtcrn",
  "svox-pico",
  "sherpa-onnx-vits",
  "sherpa-onnx-offline-ctc",
  "sherpa-onnx-transducer",
  "sherpa-onnx-whisper",
  "onnxruntime-genai",
] as const;

export function isKnownEngine(engine: string): boolean {
  return (KNOWN_ENGINES as readonly string[]).includes(engine);
}

/** Why a bundle path is unsafe, or undefined when it is a plain relative path that stays inside the bundle. */
export function unsafePathReason(p: string): string | undefined {
  if (p.length === 0) return "is empty";
  if (p.length > 1024) return "is longer than 1024 characters";
  if (p.includes("\0")) return "contains a NUL byte";
  if (p.includes("\\")) return "contains a backslash";
  if (p.startsWith("/")) return "is absolute";
  if (/^[A-Za-z]:/.test(p)) return "starts with a drive letter";
  for (const seg of p.split("/")) {
    if (seg === "") return "has an empty segment (leading, trailing or double slash)";
    if (seg === "..") return 'contains ".."';
    if (seg === ".") return 'contains a "." segment';
  }
  return undefined;
}

const slug = /^[a-z0-9][a-z0-9._-]{0,63}$/;
// Semver-ish: 1, 1.2, 1.2.3, with optional -prerelease and +build. It is also a directory name, hence no slashes.
const versionPattern = /^\d{1,9}(\.\d{1,9}){0,2}(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
// "*" means language-independent (VAD, denoiser); otherwise a BCP-47-like tag such as "de" or "en-US".
const languagePattern = /^(\*|[a-z]{2,3}(-[A-Za-z0-9]{2,8})*)$/;

const fileSchema = z.strictObject({
  path: z.string().check((ctx) => {
    const reason = unsafePathReason(ctx.value);
    if (reason) ctx.issues.push({ code: "custom", input: ctx.value, message: `unsafe path "${ctx.value}": ${reason}` });
    else if (reservedPaths.has(ctx.value))
      ctx.issues.push({
        code: "custom",
        input: ctx.value,
        message: `"${ctx.value}" is reserved for the bundle itself`,
      });
  }),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex characters"),
  bytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});

export const manifestSchema = z
  .strictObject({
    name: z.string().regex(slug, "must be a slug: lowercase letters, digits, '.', '_' or '-', max 64, no leading dot"),
    version: z.string().regex(versionPattern, 'must look like "1.2.3" (optional -pre and +build parts)'),
    task: z.enum(TASKS),
    engine: z.string().regex(slug, "must be a slug such as sherpa-onnx-silero-vad"),
    languages: z.array(z.string().regex(languagePattern, 'must be a language tag like "de-DE" or "*"')).min(1),
    sampleRate: z.number().int().min(8000).max(192000),
    files: z.array(fileSchema).min(1),
    licence: z.string().min(1),
    source: z.string().min(1).optional(),
    /** Engine-specific settings; string values naming files are paths relative to the bundle root. */
    engineOptions: z.record(z.string(), z.json()).optional(),
  })
  .check((ctx) => {
    // Duplicates, and a file that is also used as a directory ("a" and "a/b"), cannot both exist on disk.
    const seen = new Set<string>();
    ctx.value.files.forEach((f, i) => {
      if (seen.has(f.path))
        ctx.issues.push({
          code: "custom",
          input: f.path,
          path: ["files", i, "path"],
          message: `duplicate "${f.path}"`,
        });
      seen.add(f.path);
    });
    ctx.value.files.forEach((f, i) => {
      const parts = f.path.split("/");
      for (let n = 1; n < parts.length; n++) {
        const dir = parts.slice(0, n).join("/");
        if (seen.has(dir))
          ctx.issues.push({
            code: "custom",
            input: f.path,
            path: ["files", i, "path"],
            message: `"${f.path}" is below "${dir}", which is listed as a file`,
          });
      }
    });
  });

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestFile = Manifest["files"][number];

export class ManifestError extends Error {
  constructor(
    message: string,
    readonly issues: string[] = [],
  ) {
    super(message);
    this.name = "ManifestError";
  }
}

function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || "(root)";
}

/** Parses and validates manifest JSON; every problem is reported with the field path, e.g. `files[1].sha256`. */
export function parseManifest(text: string, source = MANIFEST_FILE): Manifest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ManifestError(`${source}: not valid JSON: ${(e as Error).message}`);
  }
  const r = manifestSchema.safeParse(data);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${fieldPath(i.path)}: ${i.message}`);
  throw new ManifestError(`${source}: invalid manifest:\n  ${issues.join("\n  ")}`, issues);
}

/** Total payload size, for progress. */
export function manifestBytes(m: Manifest): number {
  return m.files.reduce((n, f) => n + f.bytes, 0);
}

/** Orders semver-ish versions: numeric parts numerically, a prerelease before its release, build ignored. */
export function compareVersions(a: string, b: string): number {
  const split = (v: string) => {
    const [core, pre] = v.split("+")[0].split(/-(.*)/s);
    return { nums: core.split(".").map(Number), pre };
  };
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < 3; i++) {
    const d = (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
    if (d !== 0) return d;
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre < y.pre ? -1 : 1;
}
