"""Caller audio for evaluating the recognizer over real SIP calls (bench/command-asr-calls.ts).

usage: callers.py DATADIR [--seed 4242]
Reads DATADIR/eval.jsonl (held-out and evaluation-only voices from synth.py) and writes DATADIR/callers/<id>.wav:
8 kHz mono s16, the same noise and band limits as degrade.py's evaluation copies (SNR clean/20/15/10 dB by index)
but NOT G.711-coded: the call itself does that (sipp sends the audio as PCMA or PCMU RTP, the daemon decodes it).
Also writes DATADIR/callers.jsonl (the eval rows plus caller_wav and snr).
"""
import argparse
import json
import os
import sys
import wave
from multiprocessing import Pool

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import degrade  # noqa: E402
from degrade import BP, LP_4K, mix, noise, read_wav  # noqa: E402


def job(args):
    j, outdir, k = args
    rng = np.random.default_rng(k)
    x = read_wav(j["wav"])
    snr = [None, 20, 15, 10][k % 4]
    pre, post = int(rng.uniform(0.05, 0.35) * 16000), int(rng.uniform(0.05, 0.35) * 16000)
    x = np.concatenate([np.zeros(pre, np.float32), x, np.zeros(post, np.float32)]) * (10 ** (rng.uniform(-12, 0) / 20))
    if snr is not None:
        kind = ["white", "pink", "babble"][k % 3]
        x = mix(x, noise(kind, len(x), rng, degrade._POOL, lambda: 4, weighted=False), snr, pre, post)
    y8 = np.convolve(np.convolve(x, LP_4K, mode="same")[::2], BP, mode="same")
    p = os.path.join(outdir, j["id"] + ".wav")
    with wave.open(p, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(np.clip(np.round(y8 * 32767), -32768, 32767).astype("<i2").tobytes())
    return dict(j, caller_wav=p, snr=snr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("datadir")
    ap.add_argument("--seed", type=int, default=4242)
    a = ap.parse_args()
    ev = [json.loads(l) for l in open(os.path.join(a.datadir, "eval.jsonl"))]
    train = os.path.join(a.datadir, "train.jsonl")
    # Babble from training voices only (never from the callers' own voices).
    babble = [json.loads(l)["wav"] for l in open(train)][:200] if os.path.exists(train) else [ev[0]["wav"]]
    outdir = os.path.join(a.datadir, "callers")
    os.makedirs(outdir, exist_ok=True)
    with Pool(2, initializer=degrade._init, initargs=(babble,)) as p:
        rows = p.map(job, [(j, outdir, a.seed + k) for k, j in enumerate(ev)], chunksize=16)
    with open(os.path.join(a.datadir, "callers.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print("callers: %d utterances in %s" % (len(rows), outdir))


if __name__ == "__main__":
    main()
