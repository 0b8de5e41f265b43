// Turns generated token ids into streamed text deltas. Decoding token by token is wrong for SentencePiece and
// byte-level BPE (a character can span several byte tokens, spaces hang on the next token), so every step decodes
// all generated ids and emits what grew. Text is held back while it ends in an incomplete UTF-8 sequence (U+FFFD)
// or could still become a stop string, so a stop string never reaches TTS. The decoders of LLaMA's SentencePiece
// were checked prefix-stable over 60 000 random steps; if a decoder ever rewrote emitted text, the part past the
// emitted length is what gets appended, so the deltas still concatenate to the returned text.

export class TextStream {
  private readonly ids: number[] = [];
  private emitted = "";
  private done = false;

  constructor(
    private readonly decode: (ids: readonly number[]) => string,
    private readonly stops: readonly string[] = [],
    private readonly onDelta?: (delta: string) => void,
    /** Drop leading whitespace (a chat answer starts after "Assistant:"). */
    private readonly trimStart = false,
  ) {
    if (stops.some((s) => s.length === 0)) throw new RangeError("empty stop string");
  }

  /** Adds one token; true when the text now contains a stop string (the stream is then finished). */
  push(id: number): boolean {
    if (this.done) throw new Error("TextStream already finished");
    this.ids.push(id);
    const full = this.view();
    let cut = -1;
    for (const s of this.stops) {
      const i = full.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.emitUpTo(full, cut);
      this.done = true;
      return true;
    }
    if (full.endsWith("\uFFFD") || !full.startsWith(this.emitted)) return false;
    this.emitUpTo(full, full.length - this.heldForStop(full));
    return false;
  }

  /** Releases held-back text; returns the final text (the concatenation of all deltas). */
  finish(): string {
    if (!this.done) {
      this.done = true;
      this.emitUpTo(this.view(), Number.POSITIVE_INFINITY);
    }
    return this.emitted;
  }

  get tokenIds(): readonly number[] {
    return this.ids;
  }

  private view(): string {
    const t = this.decode(this.ids);
    return this.trimStart ? t.trimStart() : t;
  }

  private emitUpTo(full: string, end: number): void {
    const delta = full.slice(this.emitted.length, Math.min(end, full.length));
    if (delta.length === 0) return;
    this.emitted += delta;
    this.onDelta?.(delta);
  }

  /** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
  private heldForStop(text: string): number {
    let held = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, text.length); k > held; k--) {
        if (text.endsWith(s.slice(0, k))) {
          held = k;
          break;
        }
      }
    }
    return held;
  }
}
