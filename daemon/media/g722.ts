// ITU-T G.722 at 64 kbit/s (mode 1): sub-band ADPCM, 16 kHz PCM16 <-> one byte per two samples. Integer arithmetic
// exactly as in the ITU reference algorithm (blocks named as in the Recommendation), so it interoperates bit for
// bit with other implementations. Note for RTP: the clock rate is 8000 although the audio is 16 kHz (RFC 3551).

const WL = [-60, -30, 58, 172, 334, 538, 1198, 3042];
const RL42 = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0];
const ILB = [
  2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834, 2896, 2960, 3025,
  3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
];
const WH = [0, -214, 798];
const RH2 = [2, 1, 2, 1];
const QM2 = [-7408, -1616, 7408, 1616];
const QM4 = [0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584, 1200, 0];
const QM6 = [
  -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856,
  -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776, -2400, -2032, -1688, -1360, -1040, -728, 24808,
  21904, 19008, 16704, 14984, 13512, 12280, 11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456, 4944, 4464, 4008,
  3576, 3168, 2776, 2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136,
];
const QMF = [3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11];
// encoder quantiser decision levels and code maps (QUANTL)
const Q6 = [
  0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940, 1023, 1121, 1219, 1339,
  1458, 1612, 1765, 1980, 2195, 2557, 2919, 0, 0,
];
const ILN = [
  0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4,
  0,
];
const ILP = [
  0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33,
  32, 0,
];
const IHN = [0, 1, 0];
const IHP = [0, 3, 2];

function sat(v: number): number {
  return v > 32767 ? 32767 : Math.max(v, -32768);
}

/** Adaptive predictor and scale factor of one sub-band (identical in encoder and decoder). */
export class Band {
  s = 0;
  sp = 0;
  sz = 0;
  r = [0, 0, 0];
  a = [0, 0, 0];
  ap = [0, 0, 0];
  p = [0, 0, 0];
  d = [0, 0, 0, 0, 0, 0, 0];
  b = [0, 0, 0, 0, 0, 0, 0];
  bp = [0, 0, 0, 0, 0, 0, 0];
  sg = [0, 0, 0, 0, 0, 0, 0];
  nb = 0;
  det: number;

  constructor(det: number) {
    this.det = det;
  }

  /** LOGSCL/SCALEL (low band) or LOGSCH/SCALEH (high band). */
  scale(wIndex: number, low: boolean): void {
    const w = low ? WL[wIndex] : WH[wIndex];
    let nb = ((this.nb * 127) >> 7) + w;
    const max = low ? 18432 : 22528;
    nb = nb < 0 ? 0 : Math.min(nb, max);
    this.nb = nb;
    const i = (nb >> 6) & 31;
    const sh = (low ? 8 : 10) - (nb >> 11);
    const v = sh < 0 ? ILB[i] << -sh : ILB[i] >> sh;
    this.det = v << 2;
  }

  /** Block 4: reconstruction, pole/zero predictor adaptation and the next prediction. */
  update(dq: number): void {
    const { a, ap, b, bp, d, p, r, sg } = this;
    d[0] = dq;
    r[0] = sat(this.s + dq);
    p[0] = sat(this.sz + dq);
    // UPPOL2
    for (let i = 0; i < 3; i++) sg[i] = p[i] >> 15;
    let wd1 = sat(a[1] << 2);
    let wd2 = sg[0] === sg[1] ? -wd1 : wd1;
    if (wd2 > 32767) wd2 = 32767;
    let wd3 = (sg[0] === sg[2] ? 128 : -128) + (wd2 >> 7) + ((a[2] * 32512) >> 15);
    wd3 = wd3 > 12288 ? 12288 : Math.max(wd3, -12288);
    ap[2] = wd3;
    // UPPOL1
    sg[0] = p[0] >> 15;
    sg[1] = p[1] >> 15;
    wd1 = sg[0] === sg[1] ? 192 : -192;
    wd2 = (a[1] * 32640) >> 15;
    ap[1] = sat(wd1 + wd2);
    wd3 = sat(15360 - ap[2]);
    if (ap[1] > wd3) ap[1] = wd3;
    else if (ap[1] < -wd3) ap[1] = -wd3;
    // UPZERO
    wd1 = dq === 0 ? 0 : 128;
    sg[0] = dq >> 15;
    for (let i = 1; i < 7; i++) {
      sg[i] = d[i] >> 15;
      wd2 = sg[i] === sg[0] ? wd1 : -wd1;
      bp[i] = sat(wd2 + ((b[i] * 32640) >> 15));
    }
    // DELAYA
    for (let i = 6; i > 0; i--) {
      d[i] = d[i - 1];
      b[i] = bp[i];
    }
    for (let i = 2; i > 0; i--) {
      r[i] = r[i - 1];
      p[i] = p[i - 1];
      a[i] = ap[i];
    }
    // FILTEP, FILTEZ, PREDIC
    this.sp = sat(((a[1] * sat(r[1] + r[1])) >> 15) + ((a[2] * sat(r[2] + r[2])) >> 15));
    let sz = 0;
    for (let i = 6; i > 0; i--) sz += (b[i] * sat(d[i] + d[i])) >> 15;
    this.sz = sat(sz);
    this.s = sat(this.sp + this.sz);
  }
}

export class G722Encoder {
  readonly low = new Band(32);
  readonly high = new Band(8);
  private readonly x = new Int32Array(24);

  /** 2n samples of 16 kHz PCM -> n bytes. */
  encode(pcm: Int16Array, out = new Uint8Array(pcm.length >> 1)): Uint8Array {
    const x = this.x;
    const lo = this.low;
    const hi = this.high;
    for (let j = 0, o = 0; j + 1 < pcm.length; j += 2, o++) {
      // transmit QMF: keep 24 samples, every other filter output
      x.copyWithin(0, 2);
      x[22] = pcm[j];
      x[23] = pcm[j + 1];
      let sumOdd = 0;
      let sumEven = 0;
      for (let i = 0; i < 12; i++) {
        sumOdd += x[2 * i] * QMF[i];
        sumEven += x[2 * i + 1] * QMF[11 - i];
      }
      const xlow = (sumEven + sumOdd) >> 14;
      const xhigh = (sumEven - sumOdd) >> 14;

      // low band: SUBTRA, QUANTL, INVQAL, LOGSCL/SCALEL, block 4
      const el = sat(xlow - lo.s);
      let wd = el >= 0 ? el : -(el + 1);
      let i = 1;
      for (; i < 30; i++) if (wd < (Q6[i] * lo.det) >> 12) break;
      const ilow = el < 0 ? ILN[i] : ILP[i];
      const ril = ilow >> 2;
      const dlow = (lo.det * QM4[ril]) >> 15;
      lo.scale(RL42[ril], true);
      lo.update(dlow);

      // high band: SUBTRA, QUANTH, INVQAH, LOGSCH/SCALEH, block 4
      const eh = sat(xhigh - hi.s);
      wd = eh >= 0 ? eh : -(eh + 1);
      const mih = wd >= (564 * hi.det) >> 12 ? 2 : 1;
      const ihigh = eh < 0 ? IHN[mih] : IHP[mih];
      const dhigh = (hi.det * QM2[ihigh]) >> 15;
      hi.scale(RH2[ihigh], false);
      hi.update(dhigh);

      out[o] = (ihigh << 6) | ilow;
    }
    return out;
  }
}

export class G722Decoder {
  readonly low = new Band(32);
  readonly high = new Band(8);
  private readonly x = new Int32Array(24);

  /** n bytes -> 2n samples of 16 kHz PCM. */
  decode(data: Uint8Array, out = new Int16Array(data.length * 2)): Int16Array {
    const x = this.x;
    const lo = this.low;
    const hi = this.high;
    for (let j = 0, o = 0; j < data.length; j++) {
      const code = data[j];
      const ilow = code & 0x3f;
      const ihigh = (code >> 6) & 3;
      // low band: INVQBL with the 6-bit code for the output, INVQAL with 4 bits for the predictor
      let rlow = lo.s + ((lo.det * QM6[ilow]) >> 15);
      rlow = rlow > 16383 ? 16383 : Math.max(rlow, -16384);
      const ril = ilow >> 2;
      const dlow = (lo.det * QM4[ril]) >> 15;
      lo.scale(RL42[ril], true);
      lo.update(dlow);
      // high band
      const dhigh = (hi.det * QM2[ihigh]) >> 15;
      let rhigh = dhigh + hi.s;
      rhigh = rhigh > 16383 ? 16383 : Math.max(rhigh, -16384);
      hi.scale(RH2[ihigh], false);
      hi.update(dhigh);
      // receive QMF
      x.copyWithin(0, 2);
      x[22] = rlow + rhigh;
      x[23] = rlow - rhigh;
      let out1 = 0;
      let out2 = 0;
      for (let i = 0; i < 12; i++) {
        out2 += x[2 * i] * QMF[i];
        out1 += x[2 * i + 1] * QMF[11 - i];
      }
      out[o++] = sat(out1 >> 11);
      out[o++] = sat(out2 >> 11);
    }
    return out;
  }
}
