"""Synthesize training and evaluation utterances with the licensed Debian voices.

usage: synth.py OUTDIR [--scale 1.0] [--seed 1234]
Writes OUTDIR/wav/*.wav (16 kHz mono s16) and OUTDIR/train.jsonl, OUTDIR/eval.jsonl.
Training voices (licences allow training): SVOX Pico de-DE/en-US (Apache-2.0), espeak-ng (GPL-3.0+) with voice
variants, festival diphone/HTS English voices rab, don, slt. Held out for evaluation only: Pico en-GB, espeak-ng
variants m3/f3/m8, festival kal, flite rms, RHVoice clb. MBROLA voices and RHVoice evgeniy-eng/lyubov
(non-commercial licences) are used ONLY for evaluation, never for training.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from multiprocessing import Pool

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grammar  # noqa: E402

ESPEAK_TRAIN_VARIANTS = ["", "m1", "m2", "m4", "m5", "m6", "m7", "f1", "f2", "f4", "f5", "klatt", "klatt2",
                         "Andy", "anika", "max", "norbert", "steph", "belinda", "benjamin", "linda", "paul"]
ESPEAK_EVAL_VARIANTS = ["m3", "f3", "m8"]

# (voice id, engine, language, split, count at scale 1)
VOICES = [
    ("espeak-de", "espeak", "de", "train", 4000),
    ("espeak-en-us", "espeak", "en", "train", 1200),
    ("espeak-en-gb", "espeak", "en", "train", 1000),
    ("pico-de-DE", "pico", "de", "train", 5000),
    ("pico-en-US", "pico", "en", "train", 1800),
    ("festival-rab", "festival", "en", "train", 500),
    ("festival-don", "festival", "en", "train", 200),
    ("festival-slt", "festival", "en", "train", 400),
    ("flite-awb", "flite", "en", "train", 600),
    ("flite-slt", "flite", "en", "train", 400),
    ("rhvoice-alan", "rhvoice", "en", "train", 600),
    ("rhvoice-bdl", "rhvoice", "en", "train", 600),
    ("rhvoice-slt", "rhvoice", "en", "train", 400),
    # evaluation (held out)
    ("pico-en-GB", "pico", "en", "eval", 250),
    ("espeak-de-heldout", "espeak", "de", "eval", 250),
    ("espeak-en-heldout", "espeak", "en", "eval", 250),
    ("festival-kal", "festival", "en", "eval", 150),
    ("flite-rms", "flite", "en", "eval", 150),
    ("rhvoice-clb", "rhvoice", "en", "eval", 150),
    ("mbrola-de", "mbrola", "de", "eval", 400),
    ("mbrola-en", "mbrola", "en", "eval", 250),
    ("rhvoice-nc-en", "rhvoice", "en", "eval", 150),
]
FESTIVAL_VOICE = {"festival-rab": "rab_diphone", "festival-don": "don_diphone",
                  "festival-slt": "cmu_us_slt_arctic_hts", "festival-kal": "kal_diphone"}
# RHVoice English voices: alan/bdl/clb/slt are LGPL-2.1+ (Debian rhvoice-english data/*); evgeniy-eng and lyubov
# are CC-BY-NC-ND-4.0, so they only ever call in as test callers ("rhvoice-nc-en").
RHVOICE_NC = ["evgeniy-eng", "lyubov"]
MBROLA = {"de": ["mb-de1", "mb-de2", "mb-de3", "mb-de4", "mb-de5", "mb-de6", "mb-de7", "mb-de8"],
          "en": ["mb-us1", "mb-us2", "mb-us3", "mb-en1"]}
EVAL_CATEGORIES = ["digits", "yes", "no", "agent", "menu", "neg", "repeat", "cancel"]
EVAL_WEIGHTS = [30, 12, 12, 14, 8, 20, 2, 2]


def run(cmd, **kw):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, **kw)


def job(j):
    out = j["wav"]
    if os.path.exists(out):
        return j
    eng, txt, rng = j["engine"], j["text"], random.Random(j["seed"])
    with tempfile.TemporaryDirectory(dir="/tmp") as td:
        raw = os.path.join(td, "raw.wav")
        effects = []
        if eng == "espeak" or eng == "mbrola":
            v = j["espeak_voice"]
            run(["espeak-ng", "-v", v, "-s", str(rng.randint(120, 200)), "-p", str(rng.randint(25, 75)),
                 "-w", raw, txt])
        elif eng == "pico":
            run(["pico2wave", "-l", j["pico_lang"], "-w", raw, txt])
            effects = ["tempo", "%.3f" % rng.uniform(0.8, 1.25), "pitch", str(rng.randint(-350, 350))]
        elif eng == "flite":
            run(["flite", "-voice", j["voice"].split("-", 1)[1], "--setf",
                 "duration_stretch=%.2f" % rng.uniform(0.8, 1.25), "--setf",
                 "int_f0_target_mean=%d" % rng.randint(80, 190), "-t", txt, "-o", raw])
        elif eng == "rhvoice":
            run(["RHVoice-test", "-p", j["rhvoice_voice"], "-r", str(rng.randint(70, 130)),
                 "-t", str(rng.randint(70, 130)), "-o", raw], input=txt.encode())
        else:
            run(["text2wave", "-eval", "(voice_%s)" % FESTIVAL_VOICE[j["voice"]], "-o", raw],
                input=txt.encode("latin-1", "replace"))
            effects = ["tempo", "%.3f" % rng.uniform(0.8, 1.2), "pitch", str(rng.randint(-300, 300))]
        if eng in ("espeak", "flite", "rhvoice") and rng.random() < 0.4:
            effects = ["pitch", str(rng.randint(-250, 250))]  # sox pitch moves the formants too
        run(["sox", raw, "-r", "16000", "-c", "1", "-b", "16", out] + effects + ["norm", "-3"])
    return j


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--split", choices=["train", "eval"], help="synthesize only this split (same utterances)")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(os.path.join(a.outdir, "wav"), exist_ok=True)
    jobs = []
    for vid, eng, lang, split, count in VOICES:
        for i in range(int(count * a.scale)):
            if split == "eval":
                cat = rng.choices(EVAL_CATEGORIES, weights=EVAL_WEIGHTS)[0]
                if cat == "digits":
                    n = rng.randint(4, 10)
                    words = grammar.fill("{X}", lang, grammar.digit_words(lang, rng, n))
                    if rng.random() < 0.3:
                        words = grammar.fill(rng.choice(grammar.CARRIERS[lang]["digits"]), lang,
                                             grammar.digit_words(lang, rng, n))
                else:
                    cat, words = grammar.phrase(lang, rng, cat)
            else:
                cat, words = grammar.phrase(lang, rng)
            j = {"id": "%s-%05d" % (vid, i), "voice": vid, "engine": eng, "lang": lang, "split": split,
                 "category": cat, "text": grammar.text(words), "labels": [l for _, l in words],
                 "target": grammar.target(words), "seed": rng.randrange(1 << 30)}
            j["wav"] = os.path.join(a.outdir, "wav", j["id"] + ".wav")
            if eng == "espeak":
                base = {"de": "de", "en": "en-us" if ("us" in vid or rng.random() < 0.5) else "en"}[lang]
                if vid == "espeak-en-gb":
                    base = "en"
                var = rng.choice(ESPEAK_EVAL_VARIANTS if split == "eval" else ESPEAK_TRAIN_VARIANTS)
                j["espeak_voice"] = base + ("+" + var if var else "")
            elif eng == "mbrola":
                j["espeak_voice"] = rng.choice(MBROLA[lang])
            elif eng == "rhvoice":
                j["rhvoice_voice"] = rng.choice(RHVOICE_NC) if vid == "rhvoice-nc-en" else vid.split("-", 1)[1]
            elif eng == "pico":
                j["pico_lang"] = vid.split("-", 1)[1]
            if a.split is None or split == a.split:
                jobs.append(j)
    done = []
    with Pool(a.jobs) as p:
        for k, j in enumerate(p.imap_unordered(job, jobs, chunksize=8)):
            done.append(j)
            if k % 1000 == 0:
                print("synth %d/%d" % (k, len(jobs)), flush=True)
    done.sort(key=lambda j: j["id"])
    for split in ("train", "eval") if a.split is None else (a.split,):
        with open(os.path.join(a.outdir, split + ".jsonl"), "w") as f:
            for j in done:
                if j["split"] == split:
                    f.write(json.dumps(j, ensure_ascii=False) + "\n")
    print("synth: %d train, %d eval" % (sum(j["split"] == "train" for j in done),
                                       sum(j["split"] == "eval" for j in done)))


if __name__ == "__main__":
    main()
