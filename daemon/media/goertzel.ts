// In-band DTMF detection (Goertzel) for trunks that send digits as audio. Blocks of ~25.6 ms (205 samples at 8 kHz,
// the classic size that separates the DTMF grid); a digit needs two consecutive valid blocks, which rejects short
// speech coincidences, and is reported when it ends. Validity checks: absolute energy, one row and one column tone
// dominating their groups, twist limits, tones carrying most of the block energy, and weak second harmonics (voices
// have strong harmonics, DTMF generators do not).

const ROWS = [697, 770, 852, 941];
const COLS = [1209, 1336, 1477, 1633];
const KEYS = ["123A", "456B", "789C", "*0#D"];

const MIN_TONE_POWER = 2e5 / (32768 * 32768); // about -37 dBFS per tone, normalised power
const NORMAL_TWIST_DB = 8; // column weaker than row
const REVERSE_TWIST_DB = 6; // row weaker than column
const REL_PEAK_DB = 6; // best tone vs the others in its group
const TONE_SHARE = 0.5; // the two tones must hold this share of the block energy
const HARMONIC_DB = 10;

export interface DetectedDigit {
  digit: string;
  durationMs: number;
}

function coeff(freq: number, rate: number): number {
  return 2 * Math.cos((2 * Math.PI * freq) / rate);
}

export class DtmfDetector {
  private readonly block: number;
  private readonly rowK: number[];
  private readonly colK: number[];
  private readonly row2K: number[];
  private readonly col2K: number[];
  private readonly buf: Float32Array;
  private fill = 0;
  private candidate = "";
  private candidateBlocks = 0;
  private current = "";
  private currentBlocks = 0;
  private missBlocks = 0;

  constructor(private readonly rate: 8000 | 16000 = 8000) {
    this.block = Math.round(rate * 0.025625);
    this.rowK = ROWS.map((f) => coeff(f, rate));
    this.colK = COLS.map((f) => coeff(f, rate));
    this.row2K = ROWS.map((f) => coeff(2 * f, rate));
    this.col2K = COLS.map((f) => coeff(2 * f, rate));
    this.buf = new Float32Array(this.block);
  }

  /** Feed audio; returns digits that ended within it. */
  process(pcm: Int16Array): DetectedDigit[] {
    const out: DetectedDigit[] = [];
    for (let i = 0; i < pcm.length; i++) {
      this.buf[this.fill++] = pcm[i] / 32768;
      if (this.fill === this.block) {
        this.fill = 0;
        const d = this.onBlock(this.classify());
        if (d) out.push(d);
      }
    }
    return out;
  }

  private power(k: number): number {
    const b = this.buf;
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < b.length; i++) {
      const s0 = b[i] + k * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    // squared magnitude, normalised so a full-scale sine gives ~0.25 * N^2 / N^2 ... scale by 1/N^2
    return (s1 * s1 + s2 * s2 - k * s1 * s2) / (b.length * b.length);
  }

  private classify(): string {
    const b = this.buf;
    let energy = 0;
    for (let i = 0; i < b.length; i++) energy += b[i] * b[i];
    energy /= b.length; // mean power; a sine of amplitude A has A^2/2, its Goertzel power is A^2/4
    const rows = this.rowK.map((k) => this.power(k));
    const cols = this.colK.map((k) => this.power(k));
    const r = argmax(rows);
    const c = argmax(cols);
    const pr = rows[r];
    const pc = cols[c];
    if (pr < MIN_TONE_POWER || pc < MIN_TONE_POWER) return "";
    if (pc < pr * 10 ** (-NORMAL_TWIST_DB / 10) || pr < pc * 10 ** (-REVERSE_TWIST_DB / 10)) return "";
    const rel = 10 ** (REL_PEAK_DB / 10);
    for (let i = 0; i < 4; i++) {
      if (i !== r && rows[i] * rel > pr) return "";
      if (i !== c && cols[i] * rel > pc) return "";
    }
    // Goertzel power of a sine is A^2/4 while its mean power is A^2/2, hence the factor 2
    if (2 * (pr + pc) < TONE_SHARE * energy) return "";
    const h = 10 ** (HARMONIC_DB / 10);
    if (this.power(this.row2K[r]) * h > pr || this.power(this.col2K[c]) * h > pc) return "";
    return KEYS[r][c];
  }

  private onBlock(d: string): DetectedDigit | undefined {
    const blockMs = (this.block * 1000) / this.rate;
    if (this.current) {
      if (d === this.current) {
        this.currentBlocks++;
        this.missBlocks = 0;
        return undefined;
      }
      // tolerate one bad block inside a digit (a clipped or noisy block)
      if (++this.missBlocks < 2) return undefined;
      const done = { digit: this.current, durationMs: Math.round(this.currentBlocks * blockMs) };
      this.current = "";
      this.candidate = d;
      this.candidateBlocks = d ? 1 : 0;
      return done;
    }
    if (d && d === this.candidate) {
      if (++this.candidateBlocks >= 2) {
        this.current = d;
        this.currentBlocks = this.candidateBlocks;
        this.missBlocks = 0;
      }
    } else {
      this.candidate = d;
      this.candidateBlocks = d ? 1 : 0;
    }
    return undefined;
  }
}

function argmax(a: number[]): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}
