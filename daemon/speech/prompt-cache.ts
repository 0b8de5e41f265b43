// Prompt cache: static prompts (greeting, legal notices, hold phrases, "are you still there?") are synthesized once
// per engine, voice and text and kept on disk and in memory, so playing them costs no synthesis time.
//
// File: <dir>/<voice>/<sha256(engineId|voice|text)>.pcm, written to a temp file and renamed (atomic on one file
// system: a reader never sees half a file). Layout: 48-byte header — "SBPC", u32 version, u32 sample rate,
// u32 sample count, 32-byte sha256 of the payload — then PCM16 little-endian samples. A file whose header, length or
// checksum does not match (torn disk, other version, manual tampering) is ignored and synthesized again.
// Memory: an LRU bounded by bytes of PCM; a prompt larger than the whole budget is served but not kept in memory.
// Concurrent get() of one key share one synthesis. Returned arrays are shared: callers must not modify them.
import { resampleBuffer } from "../media/resample.ts";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { concatInt16 } from "../media/pcm.ts";
import type { Tts } from "./types.ts";

const RATE = 16000;
const MAGIC = "SBPC";
const VERSION = 1;
const HEADER = 48;

export interface PromptCacheOptions {
  dir: string;
  tts: Tts;
  /** Bound of the in-memory LRU (PCM bytes). Default 64 MiB. */
  maxMemoryBytes?: number;
  /** Names the engine (and its version/settings) in the key; changing it invalidates the cache. Default: class name. */
  engineId?: string;
}

export interface PromptCacheStats {
  memoryHits: number;
  diskHits: number;
  syntheses: number;
  corruptFiles: number;
  memoryBytes: number;
  entries: number;
}

export class PromptCache {
  readonly dir: string;
  readonly engineId: string;
  private readonly tts: Tts;
  private readonly maxMemoryBytes: number;
  /** Map order is recency: first = least recently used. */
  private readonly lru = new Map<string, Int16Array>();
  private readonly inflight = new Map<string, Promise<Int16Array>>();
  private bytes = 0;
  private readonly counters = { memoryHits: 0, diskHits: 0, syntheses: 0, corruptFiles: 0 };

  constructor(opts: PromptCacheOptions) {
    this.dir = opts.dir;
    this.tts = opts.tts;
    this.maxMemoryBytes = opts.maxMemoryBytes ?? 64 * 1024 * 1024;
    this.engineId = opts.engineId ?? opts.tts.constructor.name;
  }

  get stats(): PromptCacheStats {
    return { ...this.counters, memoryBytes: this.bytes, entries: this.lru.size };
  }

  key(voice: string, text: string): string {
    return createHash("sha256").update(`${this.engineId}|${voice}|${text}`).digest("hex");
  }

  path(voice: string, text: string): string {
    return join(this.dir, safeDirName(voice), `${this.key(voice, text)}.pcm`);
  }

  /** The whole prompt (all sentences) as 16 kHz PCM16. */
  get(voice: string, text: string): Promise<Int16Array> {
    const key = this.key(voice, text);
    const hit = this.lru.get(key);
    if (hit) {
      this.lru.delete(key);
      this.lru.set(key, hit);
      this.counters.memoryHits++;
      return Promise.resolve(hit);
    }
    let p = this.inflight.get(key);
    if (!p) {
      p = this.load(key, voice, text).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  /** True when the prompt is in memory (plays without any I/O). */
  has(voice: string, text: string): boolean {
    return this.lru.has(this.key(voice, text));
  }

  /** Start-up: make sure every prompt is on disk and (budget permitting) in memory. One at a time, to spare CPU. */
  async warm(list: readonly { voice: string; text: string }[]): Promise<void> {
    for (const { voice, text } of list) await this.get(voice, text);
  }

  private async load(key: string, voice: string, text: string): Promise<Int16Array> {
    const file = join(this.dir, safeDirName(voice), `${key}.pcm`);
    let pcm = await this.readFileChecked(file);
    if (pcm) this.counters.diskHits++;
    else {
      pcm = await this.synthesize(voice, text);
      this.counters.syntheses++;
      await this.writeAtomic(file, pcm);
    }
    this.remember(key, pcm);
    return pcm;
  }

  private async synthesize(voice: string, text: string): Promise<Int16Array> {
    const parts: Int16Array[] = [];
    for await (const chunk of this.tts.synthesize(text, { voice })) {
      parts.push(chunk.sampleRate === RATE ? chunk.pcm : resampleBuffer(chunk.pcm, chunk.sampleRate, RATE));
    }
    return concatInt16(parts);
  }

  private async readFileChecked(file: string): Promise<Int16Array | undefined> {
    let buf: Buffer;
    try {
      buf = await readFile(file);
    } catch {
      return undefined; // not cached yet
    }
    const n = buf.length >= HEADER ? buf.readUInt32LE(12) : -1;
    const ok =
      buf.length >= HEADER &&
      buf.toString("latin1", 0, 4) === MAGIC &&
      buf.readUInt32LE(4) === VERSION &&
      buf.readUInt32LE(8) === RATE &&
      buf.length === HEADER + 2 * n &&
      createHash("sha256").update(buf.subarray(HEADER)).digest().equals(buf.subarray(16, HEADER));
    if (!ok) {
      this.counters.corruptFiles++;
      return undefined;
    }
    const pcm = new Int16Array(n);
    for (let i = 0; i < n; i++) pcm[i] = buf.readInt16LE(HEADER + 2 * i);
    return pcm;
  }

  private async writeAtomic(file: string, pcm: Int16Array): Promise<void> {
    const payload = Buffer.alloc(2 * pcm.length);
    for (let i = 0; i < pcm.length; i++) payload.writeInt16LE(pcm[i], 2 * i);
    const header = Buffer.alloc(HEADER);
    header.write(MAGIC, 0, "latin1");
    header.writeUInt32LE(VERSION, 4);
    header.writeUInt32LE(RATE, 8);
    header.writeUInt32LE(pcm.length, 12);
    createHash("sha256").update(payload).digest().copy(header, 16);
    const dir = join(file, "..");
    await mkdir(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    try {
      await writeFile(tmp, Buffer.concat([header, payload]));
      await rename(tmp, file);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  private remember(key: string, pcm: Int16Array): void {
    if (pcm.byteLength > this.maxMemoryBytes) return;
    this.lru.set(key, pcm);
    this.bytes += pcm.byteLength;
    for (const [k, v] of this.lru) {
      if (this.bytes <= this.maxMemoryBytes) break;
      this.lru.delete(k);
      this.bytes -= v.byteLength;
    }
  }
}

/** Voice ids become directory names: keep them to a safe character set. */
function safeDirName(voice: string): string {
  return voice.replace(/[^A-Za-z0-9_-]/g, "_"); // no dots: "." and ".." must not become paths
}
