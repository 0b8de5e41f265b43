// Model bundle archives for provisioning tests and benches: a ustar holding manifest.json and the listed files, as
// models/store.ts installs them. Either synthetic (any size) or the real Silero VAD from the shared models.
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildTar } from "../../models/testing/tar-builder.ts";
import { sharedModelsDir } from "../../models/testing/shared-models.ts";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

export interface ModelBundleSpec {
  name: string;
  version: string;
  files: Record<string, Buffer>;
  /** Changes file bytes after the manifest pinned them (a corrupt bundle). */
  corrupt?: string;
  /** Manifest fields to override (task, engine, ...). */
  manifest?: Record<string, unknown>;
}

/** Writes the bundle archive to `out`; returns `out`. */
export async function writeModelBundleTar(out: string, spec: ModelBundleSpec): Promise<string> {
  const manifest = {
    name: spec.name,
    version: spec.version,
    task: "vad",
    engine: "sherpa-onnx-silero-vad",
    languages: ["*"],
    sampleRate: 16000,
    files: Object.entries(spec.files).map(([path, data]) => ({ path, sha256: sha(data), bytes: data.length })),
    licence: "MIT",
    ...spec.manifest,
  };
  const entries = Object.entries(spec.files).map(([name, data]) => {
    if (name !== spec.corrupt) return { name, data };
    const bad = Buffer.from(data);
    bad[bad.length >> 1] ^= 0xff;
    return { name, data: bad };
  });
  await writeFile(out, buildTar([{ name: "manifest.json", data: Buffer.from(JSON.stringify(manifest)) }, ...entries]));
  return out;
}

/** `bytes` of deterministic filler as a model bundle (for sizes no real fixture has). */
export function syntheticModelBundle(out: string, name: string, version: string, bytes: number): Promise<string> {
  const model = Buffer.alloc(bytes);
  for (let i = 0; i + 4 <= bytes; i += 4096) model.writeUInt32LE(i, i);
  return writeModelBundleTar(out, { name, version, files: { "model.onnx": model } });
}

export const sileroVadFile = join(sharedModelsDir, "silero-vad", "silero_vad.onnx");

/** The real Silero VAD (shared models) with its catalog manifest; `corrupt` flips a byte of the model. */
export async function sileroVadBundle(out: string, opts: { corrupt?: boolean } = {}): Promise<string> {
  const catalog = JSON.parse(
    await readFile(new URL("../../models/catalog/silero-vad.json", import.meta.url), "utf8"),
  ) as Record<string, unknown> & { name: string; version: string };
  const dir = join(sharedModelsDir, "silero-vad");
  const files = { "silero_vad.onnx": await readFile(sileroVadFile), LICENSE: await readFile(join(dir, "LICENSE")) };
  const { name, version, ...rest } = catalog;
  return writeModelBundleTar(out, {
    name,
    version,
    files,
    manifest: rest,
    corrupt: opts.corrupt ? "silero_vad.onnx" : undefined,
  });
}
