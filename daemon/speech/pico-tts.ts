// SVOX Pico through @echogarden/svoxpico-wasm: the embedded default voice (de-DE, en-US, en-GB), 16 kHz PCM16.
//
// One WASM instance serves all calls. Each voice gets its own pico system (own arena) and engine inside it.
// A pico engine is a single stateful text->audio pipeline (putText, then getData until idle): two syntheses
// interleaved on one engine mix their text and audio, so each engine has a FIFO lock and a synthesis holds it for
// one sentence at a time. Other voices' engines are independent and run interleaved (pico-tts.test.ts checks both).
// The work itself is synchronous WASM on the main thread, so the getData loop yields to the event loop every few
// milliseconds instead of blocking it for a whole sentence.
import { join } from "node:path";
import { Lock } from "./lock.ts";
import { checkDir, checkFile } from "./model-files.ts";
import { applyGain, concatInt16, dbToGain } from "../media/pcm.ts";
import { splitSentences } from "./sentences.ts";
import { EngineLoadError, type Tts, type TtsChunk, type TtsOptions, type TtsVoice } from "./types.ts";

/** The Emscripten exports we use (pointers are byte offsets into HEAPU8). */
interface PicoWasm {
  HEAPU8: Uint8Array;
  FS: { writeFile(path: string, data: Uint8Array): void; unlink(path: string): void };
  _malloc(size: number): number;
  _free(ptr: number): void;
  _pico_initialize(memArea: number, memSize: number, outSystem: number): number;
  _pico_getSystemStatusMessage(system: number, code: number, outMessage: number): number;
  _pico_loadResource(system: number, fileName: number, outResource: number): number;
  _pico_getResourceName(system: number, resource: number, outName: number): number;
  _pico_createVoiceDefinition(system: number, voiceName: number): number;
  _pico_addResourceToVoiceDefinition(system: number, voiceName: number, resourceName: number): number;
  _pico_newEngine(system: number, voiceName: number, outEngine: number): number;
  _pico_putTextUtf8(engine: number, text: number, textSize: number, outBytesPut: number): number;
  _pico_getData(engine: number, buffer: number, bufferSize: number, outBytesReceived: number, outType: number): number;
  _pico_resetEngine(engine: number, mode: number): number;
}

type PicoFactory = (moduleArg: { print?: (s: string) => void; printErr?: (s: string) => void }) => Promise<PicoWasm>;

const PICO_STEP_IDLE = 200;
const PICO_STEP_BUSY = 201;
const PICO_RESET_FULL = 0;
const OUT_BYTES = 4096;
const RATE = 16000;
/** Pico peaks at full scale; leave headroom for codecs and mixing. */
const GAIN = dbToGain(-3);
/** Longest stretch of synchronous WASM work before yielding to the event loop. */
const SLICE_MS = 8;

/** Lingware file names: identical in Debian's libttspico-data (/usr/share/pico/lang) and the model bundle. */
export const PICO_VOICES: Record<string, { ta: string; sg: string }> = {
  "de-DE": { ta: "de-DE_ta.bin", sg: "de-DE_gl0_sg.bin" },
  "en-US": { ta: "en-US_ta.bin", sg: "en-US_lh0_sg.bin" },
  "en-GB": { ta: "en-GB_ta.bin", sg: "en-GB_kh0_sg.bin" },
};

export const DEBIAN_PICO_LANG_DIR = "/usr/share/pico/lang";

export interface PicoTtsOptions {
  /** Directory with the *_ta.bin / *_sg.bin lingware. */
  langDir: string;
  /** Voices to load (default: every known voice whose files exist; at least one must). */
  voices?: string[];
  /** Split sentences longer than this (characters) for earlier first audio. */
  maxSentenceChars?: number;
  /** WASM stdout/stderr lines (pico prints little; keep it out of the daemon's stdout). */
  onMessage?: (line: string) => void;
}

interface PicoEngine {
  voice: TtsVoice;
  engine: number;
  lock: Lock;
}

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

export class PicoTts implements Tts {
  readonly voices: readonly TtsVoice[];
  /** Counters for metrics (and for tests proving sentence-by-sentence synthesis). */
  readonly stats = { sentences: 0, samples: 0 };

  private constructor(
    private readonly m: PicoWasm,
    private readonly engines: Map<string, PicoEngine>,
    private readonly maxSentenceChars: number,
    /** Scratch buffers, shared: only touched inside synchronous stretches. */
    private readonly out: { buf: number; bytes: number; type: number; put: number },
  ) {
    this.voices = [...engines.values()].map((e) => e.voice);
  }

  static async create(opts: PicoTtsOptions): Promise<PicoTts> {
    checkDir(opts.langDir);
    const wanted = opts.voices ?? Object.keys(PICO_VOICES);
    const files = new Map<string, { ta: string; sg: string }>();
    for (const v of wanted) {
      const f = PICO_VOICES[v];
      if (!f) throw new EngineLoadError(opts.langDir, `unknown Pico voice ${v}`);
      const ta = join(opts.langDir, f.ta);
      const sg = join(opts.langDir, f.sg);
      try {
        checkFile(ta);
        checkFile(sg);
      } catch (e) {
        if (opts.voices) throw e; // explicitly requested: must exist
        continue;
      }
      files.set(v, { ta, sg });
    }
    if (files.size === 0) throw new EngineLoadError(opts.langDir, "no Pico lingware found");

    const spec = "@echogarden/svoxpico-wasm";
    const factory = ((await import(spec)) as { default: PicoFactory }).default;
    const onMessage = opts.onMessage ?? (() => {});
    const m = await factory({ print: onMessage, printErr: onMessage });
    const out = {
      buf: m._malloc(OUT_BYTES),
      bytes: m._malloc(4),
      type: m._malloc(4),
      put: m._malloc(4),
    };
    const engines = new Map<string, PicoEngine>();
    for (const [id, f] of files) engines.set(id, await loadVoice(m, id, f.ta, f.sg));
    return new PicoTts(m, engines, opts.maxSentenceChars ?? 200, out);
  }

  async *synthesize(text: string, opts: TtsOptions): AsyncIterable<TtsChunk> {
    const eng = this.engines.get(opts.voice);
    if (!eng) throw new Error(`Pico voice ${opts.voice} not loaded (have ${[...this.engines.keys()].join(", ")})`);
    for (const sentence of splitSentences(text, { maxChars: this.maxSentenceChars })) {
      if (opts.signal?.aborted) return;
      const release = await eng.lock.acquire();
      let pcm: Int16Array | undefined;
      try {
        pcm = await this.sentence(eng.engine, sentence, opts.signal);
      } finally {
        release();
      }
      if (!pcm) return; // aborted
      this.stats.sentences++;
      this.stats.samples += pcm.length;
      yield { pcm: applyGain(pcm, GAIN), sampleRate: RATE, text: sentence };
    }
  }

  /** Synthesize one sentence on an engine the caller holds. undefined when aborted. */
  private async sentence(engine: number, sentence: string, signal?: AbortSignal): Promise<Int16Array | undefined> {
    const m = this.m;
    // Pico reads "<...>" as markup; the NUL at the end flushes the sentence even without final punctuation.
    const bytes = new TextEncoder().encode(`${sentence.replace(/[<>]/g, " ")}\0`);
    const textPtr = m._malloc(bytes.length);
    const parts: Int16Array[] = [];
    try {
      m.HEAPU8.set(bytes, textPtr);
      let offset = 0;
      let sliceStart = performance.now();
      while (offset < bytes.length) {
        const rc = m._pico_putTextUtf8(engine, textPtr + offset, Math.min(bytes.length - offset, 32767), this.out.put);
        if (rc !== 0) throw new Error(`pico_putTextUtf8 failed (${rc})`);
        offset += new DataView(m.HEAPU8.buffer).getInt16(this.out.put, true);
        // Drain everything this text produced before putting more.
        for (;;) {
          const st = m._pico_getData(engine, this.out.buf, OUT_BYTES, this.out.bytes, this.out.type);
          if (st !== PICO_STEP_IDLE && st !== PICO_STEP_BUSY) throw new Error(`pico_getData failed (${st})`);
          const n = new DataView(m.HEAPU8.buffer).getInt16(this.out.bytes, true);
          if (n > 0) {
            // Copy out: HEAPU8 may be replaced when the WASM memory grows.
            const chunk = new Int16Array(n >> 1);
            chunk.set(new Int16Array(m.HEAPU8.buffer.slice(this.out.buf, this.out.buf + (n & ~1))));
            parts.push(chunk);
          }
          if (st === PICO_STEP_IDLE) break;
          if (performance.now() - sliceStart > SLICE_MS) {
            await yieldToLoop();
            sliceStart = performance.now();
            if (signal?.aborted) {
              m._pico_resetEngine(engine, PICO_RESET_FULL);
              return undefined;
            }
          }
        }
      }
    } catch (e) {
      m._pico_resetEngine(engine, PICO_RESET_FULL);
      throw e;
    } finally {
      m._free(textPtr);
    }
    return concatInt16(parts);
  }
}

async function loadVoice(m: PicoWasm, id: string, taPath: string, sgPath: string): Promise<PicoEngine> {
  const { readFile } = await import("node:fs/promises");
  const ta = await readFile(taPath);
  const sg = await readFile(sgPath);
  // Pico copies the lingware into its arena; size it for both files plus the engine's working memory.
  const arenaSize = ta.length + sg.length + 2_500_000;
  const arena = m._malloc(arenaSize);
  const ptrs = m._malloc(16);
  const str = (s: string): number => {
    const b = new TextEncoder().encode(`${s}\0`);
    const p = m._malloc(b.length);
    m.HEAPU8.set(b, p);
    return p;
  };
  const readPtr = (p: number) => new DataView(m.HEAPU8.buffer).getUint32(p, true);
  const readStr = (p: number) => {
    const h = m.HEAPU8;
    let e = p;
    while (h[e] !== 0) e++;
    return new TextDecoder().decode(h.subarray(p, e));
  };
  const msgBuf = m._malloc(256);
  let system = 0;
  const check = (rc: number, what: string, path: string) => {
    if (rc === 0) return;
    let msg = "";
    if (system) {
      m._pico_getSystemStatusMessage(system, rc, msgBuf);
      msg = readStr(msgBuf);
    }
    throw new EngineLoadError(path, `Pico ${what} failed (${rc}${msg ? `: ${msg}` : ""})`);
  };
  try {
    check(m._pico_initialize(arena, arenaSize, ptrs), "initialize", taPath);
    system = readPtr(ptrs);
    const names: number[] = [];
    for (const [path, data] of [
      [taPath, ta],
      [sgPath, sg],
    ] as const) {
      const vfs = `/${id}-${names.length}.bin`;
      m.FS.writeFile(vfs, data);
      const p = str(vfs);
      try {
        check(m._pico_loadResource(system, p, ptrs + 4), "loadResource", path);
      } finally {
        m._free(p);
        m.FS.unlink(vfs); // pico copied it into the arena
      }
      const name = m._malloc(64);
      check(m._pico_getResourceName(system, readPtr(ptrs + 4), name), "getResourceName", path);
      names.push(name);
    }
    const voiceName = str(`Pico-${id}`);
    check(m._pico_createVoiceDefinition(system, voiceName), "createVoiceDefinition", taPath);
    for (const n of names) check(m._pico_addResourceToVoiceDefinition(system, voiceName, n), "addResource", taPath);
    check(m._pico_newEngine(system, voiceName, ptrs + 8), "newEngine", taPath);
    return { voice: { id, language: id, sampleRate: RATE }, engine: readPtr(ptrs + 8), lock: new Lock() };
  } catch (e) {
    // A WASM trap (RuntimeError) on a broken file must not escape as an unexplained crash.
    if (e instanceof EngineLoadError) throw e;
    throw new EngineLoadError(taPath, `Pico could not load the lingware: ${(e as Error).message}`, { cause: e });
  }
}
