// Sample-level helpers shared by media, calls and the speech engines. The daemon speaks PCM16; sherpa-onnx wants
// float samples in [-1, 1].

export function int16ToFloat32(pcm: Int16Array): Float32Array {
  const out = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = pcm[i] / 32768;
  return out;
}

/** Float to PCM16 with clamping and an optional linear gain (TTS engines that peak at full scale). */
export function float32ToInt16(samples: Float32Array, gain = 1): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.round(samples[i] * gain * 32768);
    out[i] = v > 32767 ? 32767 : Math.max(v, -32768);
  }
  return out;
}

export function applyGain(pcm: Int16Array, gain: number): Int16Array {
  const out = new Int16Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) {
    const v = Math.round(pcm[i] * gain);
    out[i] = v > 32767 ? 32767 : Math.max(v, -32768);
  }
  return out;
}

export function dbToGain(db: number): number {
  return 10 ** (db / 20);
}

export function concatInt16(parts: readonly Int16Array[]): Int16Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Int16Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Mean energy (mean of squares, PCM16 units normalised to [-1, 1]). */
export function meanSquare(pcm: Int16Array | Float32Array, start = 0, end = pcm.length): number {
  const scale = pcm instanceof Int16Array ? 1 / 32768 : 1;
  let s = 0;
  for (let i = start; i < end; i++) {
    const v = pcm[i] * scale;
    s += v * v;
  }
  return end > start ? s / (end - start) : 0;
}

/** RMS level of a PCM16 frame in dBFS; digital silence reads -120 (finite, so it logs and compares cleanly). */
export function frameDbfs(frame: Int16Array): number {
  const ms = meanSquare(frame);
  return ms > 0 ? Math.max(-120, 10 * Math.log10(ms)) : -120;
}
