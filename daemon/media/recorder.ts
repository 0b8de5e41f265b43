// Call recorder in the media worker: stereo 16 kHz WAV, left = remote party, right = what we send (box or bridged
// party). The tick only copies into a chunk; full chunks go to the WAV writer, whose writes are asynchronous.
import { WavWriter } from "./wav.ts";
import { FRAME_SAMPLES, INTERNAL_RATE } from "./types.ts";

const CHUNK_FRAMES = 50; // 1 s per write

export class Recorder {
  private readonly writer: Promise<WavWriter>;
  private chunk = new Int16Array(FRAME_SAMPLES * 2 * CHUNK_FRAMES);
  private frames = 0;
  private total = 0;
  private failed: Error | undefined;

  constructor(readonly path: string) {
    this.writer = WavWriter.create(path, INTERNAL_RATE, 2);
    this.writer.catch((e: Error) => {
      this.failed = e;
    });
  }

  /** One 20 ms frame per channel; null = silence. */
  frame(left: Int16Array | null, right: Int16Array | null): void {
    if (this.failed) return;
    const base = this.frames * FRAME_SAMPLES * 2;
    const c = this.chunk;
    for (let i = 0; i < FRAME_SAMPLES; i++) {
      c[base + 2 * i] = left ? left[i] : 0;
      c[base + 2 * i + 1] = right ? right[i] : 0;
    }
    this.total++;
    if (++this.frames === CHUNK_FRAMES) this.flush();
  }

  private flush(): void {
    if (this.frames === 0) return;
    const data = this.frames === CHUNK_FRAMES ? this.chunk : this.chunk.slice(0, this.frames * FRAME_SAMPLES * 2);
    this.chunk = new Int16Array(FRAME_SAMPLES * 2 * CHUNK_FRAMES);
    this.frames = 0;
    this.writer.then((w) => w.write(data)).catch(() => undefined);
  }

  async close(): Promise<{ path: string; durationMs: number }> {
    this.flush();
    const w = await this.writer;
    await w.close();
    return { path: this.path, durationMs: this.total * 20 };
  }
}
