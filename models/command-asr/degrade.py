"""Telephone channel simulation + features.

usage: degrade.py DATADIR [--copies 2] [--seed 7]
train: DATADIR/train.jsonl -> DATADIR/train_feats.npz (features of --copies random degradations per utterance)
eval:  DATADIR/eval.jsonl  -> DATADIR/eval_tel/*.wav (16 kHz s16, one fixed-seed G.711 degradation each),
       DATADIR/eval_tel.jsonl and DATADIR/eval_feats.npz
Chain: pad with silence -> background noise (white / pink / babble of other utterances) at an SNR
-> 16 kHz to 8 kHz (windowed-sinc low-pass) -> 300-3400 Hz band-pass -> level change / clipping
-> G.711 mu-law or A-law encode+decode -> 20 ms packet loss (zeroed frames) -> 8 kHz to 16 kHz
(linear interpolation like a simple resampler, or half-band windowed-sinc) -> int16 -> fbank.py raw log-mel (the model normalises inside its graph),
for training with a random VTLP warp (alpha 0.86-1.14; formant shift without pitch change).
"""
import argparse
import json
import os
import sys
import wave
from multiprocessing import Pool

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fbank  # noqa: E402


def read_wav(p):
    with wave.open(p) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768


def write_wav(p, x):
    y = np.clip(np.round(x * 32768), -32768, 32767).astype("<i2")
    with wave.open(p, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(y.tobytes())


def sinc_lowpass(cut, sr, taps=63):
    n = np.arange(taps) - (taps - 1) / 2
    h = 2 * cut / sr * np.sinc(2 * cut / sr * n) * np.hamming(taps)
    return (h / h.sum()).astype(np.float32)


LP_4K = sinc_lowpass(3800, 16000)
HP_300 = None


def bandpass_8k():
    lp = sinc_lowpass(3400, 8000, 63)
    lo = sinc_lowpass(300, 8000, 63)
    h = lp - lo
    return h.astype(np.float32)


BP = bandpass_8k()


# --- G.711 (ITU-T), sample-exact integer implementation on 16-bit PCM -----------------------------------------
def mulaw_encode(pcm):
    x = pcm.astype(np.int32) >> 2  # 14-bit
    sign = np.where(x < 0, 0x7F, 0xFF)
    x = np.minimum(np.abs(x), 8158) + 33
    seg = np.zeros_like(x)
    for i, lim in enumerate([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF]):
        seg = np.where((x > lim) & (seg == i), i + 1, seg)
    seg = np.minimum(seg, 7)
    u = (seg << 4) | ((x >> (seg + 1)) & 0xF)
    return (u ^ sign).astype(np.uint8)


def mulaw_decode(u):
    u = (~u.astype(np.int32)) & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, 0x84 - t, t - 0x84).astype(np.int16)


def alaw_encode(pcm):
    x = pcm.astype(np.int32) >> 3  # 13-bit
    mask = np.where(x >= 0, 0xD5, 0x55)
    x = np.where(x >= 0, x, -x - 1)
    seg_end = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
    seg = np.searchsorted(seg_end, x)  # first seg with x <= seg_end
    aval = np.where(seg < 2, (x >> 1) & 0xF, (x >> np.maximum(seg, 1)) & 0xF) | (np.minimum(seg, 7) << 4)
    aval = np.where(seg >= 8, 0x7F, aval)
    return (aval ^ mask).astype(np.uint8)


def alaw_decode(a):
    a = a.astype(np.int32) ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = np.where(seg == 0, t + 8, np.where(seg == 1, t + 0x108, (t + 0x108) << np.maximum(seg - 1, 0)))
    return np.where(a & 0x80, t, -t).astype(np.int16)


def pink(n, rng):
    w = rng.standard_normal(n)
    f = np.fft.rfft(w)
    k = np.arange(len(f))
    k[0] = 1
    return np.fft.irfft(f / np.sqrt(k), n).astype(np.float32)


def rms(x):
    return float(np.sqrt(np.mean(x ** 2) + 1e-12))


def noise(kind, n, rng, pool, voices, weighted=True):
    """n samples of white, pink or babble noise (`voices()` other utterances of `pool`, each at a random gain when
    weighted)."""
    if kind == "white":
        return rng.standard_normal(n).astype(np.float32)
    if kind == "pink":
        return pink(n, rng)
    nz = np.zeros(n, np.float32)
    for _ in range(voices()):
        o = np.resize(pool[rng.integers(len(pool))], n)
        nz += np.roll(o, rng.integers(n)) * (rng.uniform(0.5, 1) if weighted else 1.0)
    return nz


def mix(x, nz, snr, pre, post):
    """x plus noise at `snr` dB below the speech between the pre/post padding."""
    sp = rms(x[pre:len(x) - post]) if len(x) > pre + post else rms(x)
    return x + nz * (sp / rms(nz) / (10 ** (snr / 20)))


def degrade(x, rng, pool, snr=None, codec=None, wideband=False, loss=None, clip=None, up=None):
    """x: 16 kHz float. Returns 16 kHz float after the telephone chain."""
    pre, post = int(rng.uniform(0.05, 0.35) * 16000), int(rng.uniform(0.05, 0.35) * 16000)
    x = np.concatenate([np.zeros(pre, np.float32), x, np.zeros(post, np.float32)])
    x = x * (10 ** (rng.uniform(-20, 0) / 20))
    if snr is None:
        snr = rng.choice([None, 30, 20, 15, 10, 5])
    if snr is not None:
        kind = rng.choice(["white", "pink", "babble"])
        # The number of babble voices is drawn only for babble (keeps the seeded streams of the shipped model).
        x = mix(x, noise(kind, len(x), rng, pool, lambda: rng.integers(3, 6)), snr, pre, post)
    if wideband:
        y = x
    else:
        y8 = np.convolve(x, LP_4K, mode="same")[::2]
        y8 = np.convolve(y8, BP, mode="same")
        if clip is None:
            clip = rng.random() < 0.1
        g = rng.uniform(1.5, 4) if clip else 1.0
        y8 = np.clip(y8 * g, -1, 1)
        pcm = np.clip(np.round(y8 * 32767), -32768, 32767).astype(np.int16)
        codec = codec or rng.choice(["ulaw", "alaw"])
        pcm = mulaw_decode(mulaw_encode(pcm)) if codec == "ulaw" else alaw_decode(alaw_encode(pcm))
        y8 = pcm.astype(np.float32) / 32768
        if loss is None:
            loss = rng.choice([0.0, 0.0, 0.01, 0.03, 0.05])
        if loss > 0:
            nfr = len(y8) // 160
            for f in np.nonzero(rng.random(nfr) < loss)[0]:
                y8[f * 160:(f + 1) * 160] = 0
        up = up or rng.choice(["linear", "sinc"])
        if up == "linear":
            t = np.arange(len(y8) * 2) / 2.0
            y = np.interp(t, np.arange(len(y8)), y8).astype(np.float32)
        else:
            z = np.zeros(len(y8) * 2, np.float32)
            z[::2] = y8
            y = np.convolve(z, LP_4K * 2, mode="same")
    return np.clip(y, -1, 32767 / 32768).astype(np.float32)


_POOL = []


def _init(pool_files):
    global _POOL
    _POOL = [read_wav(p) for p in pool_files]


def train_job(args):
    j, copies, seed = args
    rng = np.random.default_rng(seed)
    x = read_wav(j["wav"])
    out = []
    for c in range(copies):
        y = degrade(x, rng, _POOL, wideband=rng.random() < 0.1)
        y = np.round(y * 32768) / 32768
        alpha = 1.0 if c == 0 and rng.random() < 0.3 else rng.uniform(0.86, 1.14)
        out.append(fbank.logmel(y, alpha).astype(np.float16))
    return j["target"], out


def eval_job(args):
    j, outdir, seed = args
    rng = np.random.default_rng(seed)
    x = read_wav(j["wav"])
    snr = [None, 20, 15, 10][seed % 4]
    codec = ["ulaw", "alaw"][(seed // 4) % 2]
    y = degrade(x, rng, _POOL, snr=snr, codec=codec, loss=0.0, clip=False, up="sinc")
    p = os.path.join(outdir, j["id"] + ".wav")
    write_wav(p, y)
    y = read_wav(p)
    return dict(j, tel_wav=p, snr=snr, codec=codec), fbank.logmel(y).astype(np.float16)


def pack(feats, targets, path, extra=None):
    lens = np.array([len(f) for f in feats])
    tl = np.array([len(t) for t in targets])
    np.savez(path, feats=np.concatenate(feats), lens=lens, targets=np.array([i for t in targets for i in t]),
             tlens=tl, **(extra or {}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("datadir")
    ap.add_argument("--copies", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    train = [json.loads(l) for l in open(os.path.join(a.datadir, "train.jsonl"))]
    ev = [json.loads(l) for l in open(os.path.join(a.datadir, "eval.jsonl"))]
    rng = np.random.default_rng(a.seed)
    # Babble sources: training utterances only (never evaluation voices).
    pool_files = [train[i]["wav"] for i in rng.choice(len(train), 200, replace=False)]
    with Pool(2, initializer=_init, initargs=(pool_files,)) as p:
        res = p.map(train_job, [(j, a.copies, a.seed * 100003 + k) for k, j in enumerate(train)], chunksize=32)
        feats, targets, groups = [], [], []
        for k, (t, fs) in enumerate(res):
            for f in fs:
                feats.append(f)
                targets.append(t)
                groups.append(k)
        # groups: source utterance of each example, so train.py keeps all copies of one utterance on one side
        pack(feats, targets, os.path.join(a.datadir, "train_feats.npz"), {"groups": np.array(groups)})
        print("degrade: train %d examples, %.1f h" % (len(feats), sum(len(f) for f in feats) / 360000))
        outdir = os.path.join(a.datadir, "eval_tel")
        os.makedirs(outdir, exist_ok=True)
        res = p.map(eval_job, [(j, outdir, k) for k, j in enumerate(ev)], chunksize=16)
    with open(os.path.join(a.datadir, "eval_tel.jsonl"), "w") as f:
        for j, _ in res:
            f.write(json.dumps(j, ensure_ascii=False) + "\n")
    pack([r[1] for r in res], [r[0]["target"] for r in res], os.path.join(a.datadir, "eval_feats.npz"))
    print("degrade: eval %d utterances" % len(res))


if __name__ == "__main__":
    main()
