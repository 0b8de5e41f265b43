"""Offline evaluation of the bundle in sherpa-onnx (through the daemon's createAsr) on held-out voices after the
telephone chain (G.711).

usage: evaluate.py DATADIR BUNDLE_DIR [--out report.json]
Metrics (command tokens only; ▁other is ignored; "double d" is expanded to "d d" on both sides):
  word_acc        1 - (edit distance / reference command tokens), utterances with >= 1 command token
  digits_4_10     whole-utterance exact digit-sequence accuracy, digit utterances with 4..10 digits
  yes_no          yes/no utterances: the hypothesis has the right class and not the opposite one
  escalation      recall of ▁agent on escalation utterances
  false_alarm     non-command sentences that produce any command token
  agent_fa        utterances without ▁agent in the reference that produce ▁agent
  ms              recognition time per utterance in sherpa (one thread), mean and p95
"""
import argparse
import json
import os
import subprocess
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grammar  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


def cmd_tokens(toks):
    out = []
    for t in toks:
        t = t.replace("\u2581", "").strip()
        if t in ("other", ""):
            continue
        out.append(t)
    exp = []
    i = 0
    while i < len(out):
        if out[i] == "double" and i + 1 < len(out) and out[i + 1].isdigit():
            exp += [out[i + 1], out[i + 1]]
            i += 2
        else:
            exp.append(out[i])
            i += 1
    return exp


def edit(a, b):
    d = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(b) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(b)]


def metrics(rows):
    m = defaultdict(lambda: [0, 0])
    err = ref_n = 0
    times = []
    for j, hyp in rows:
        ref = cmd_tokens([grammar.TOKENS[i] for i in j["target"]])
        h = cmd_tokens(hyp["tokens"] or [])
        times.append(hyp["ms"])
        if ref:
            err += edit(ref, h)
            ref_n += len(ref)
        c = j["category"]
        if c == "digits":
            nd = sum(t.isdigit() for t in ref)
            if 4 <= nd <= 10:
                m["digits_4_10"][0] += [t for t in h if t.isdigit()] == [t for t in ref if t.isdigit()]
                m["digits_4_10"][1] += 1
        if c in ("yes", "no"):
            opp = "no" if c == "yes" else "yes"
            m["yes_no"][0] += (c in h) and (opp not in h)
            m["yes_no"][1] += 1
        if c == "agent":
            m["escalation"][0] += "agent" in h
            m["escalation"][1] += 1
        if c == "neg":
            m["false_alarm"][0] += len(h) > 0
            m["false_alarm"][1] += 1
        if "agent" not in ref:
            m["agent_fa"][0] += "agent" in h
            m["agent_fa"][1] += 1
    out = {k: {"rate": round(v[0] / v[1], 4) if v[1] else None, "n": v[1]} for k, v in m.items()}
    out["word_acc"] = {"rate": round(1 - err / max(ref_n, 1), 4), "n": ref_n}
    times.sort()
    out["ms"] = {"mean": round(sum(times) / len(times), 2), "p95": round(times[int(0.95 * (len(times) - 1))], 2),
                 "n": len(times)}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("datadir")
    ap.add_argument("bundle")
    ap.add_argument("--out")
    ap.add_argument("--pt", help="also decode eval_feats.npz with the torch checkpoint and report agreement")
    a = ap.parse_args()
    ev = [json.loads(l) for l in open(os.path.join(a.datadir, "eval_tel.jsonl"))]
    lst = os.path.join(a.datadir, "eval_list.txt")
    with open(lst, "w") as f:
        f.write("\n".join(os.path.abspath(j["tel_wav"]) for j in ev) + "\n")
    out = subprocess.run(["node", "--import", "tsx", os.path.join(HERE, "sherpa_eval.mjs"), os.path.abspath(a.bundle), os.path.abspath(lst)],
                         cwd=REPO, check=True, capture_output=True, text=True).stdout
    hyps = {r["file"]: r for r in map(json.loads, out.splitlines())}
    rows = [(j, hyps[os.path.abspath(j["tel_wav"])]) for j in ev]
    report = {"all": metrics(rows)}
    groups = defaultdict(list)
    for j, h in rows:
        nc = j["engine"] == "mbrola" or j["voice"] == "rhvoice-nc-en"
        fam = "eval-only voices (non-commercial: mbrola, RHVoice evgeniy/lyubov)" if nc else "licensed held-out voices"
        groups[fam].append((j, h))
        groups["voice:" + j["voice"]].append((j, h))
        groups["snr:%s" % j["snr"]].append((j, h))
        groups["codec:" + j["codec"]].append((j, h))
    for k, v in sorted(groups.items()):
        report[k] = metrics(v)
    errors = [{"voice": j["voice"], "text": j["text"], "hyp": h["text"]} for j, h in rows
              if cmd_tokens([grammar.TOKENS[i] for i in j["target"]]) != cmd_tokens(h["tokens"] or [])]
    report["examples_of_errors"] = errors[:40]
    if a.pt:
        import torch
        import train
        from model import CommandCtc
        ck = torch.load(a.pt)
        m = CommandCtc(len(grammar.TOKENS), arch=ck["arch"])
        m.load_state_dict(ck["state"])
        m.eval()
        import degrade
        import fbank
        same = 0
        with torch.no_grad():
            for j, h in rows:
                f = fbank.logmel(degrade.read_wav(j["tel_wav"]))
                x = torch.from_numpy(f.T.copy())[None]
                # sherpa reads only T // subsampling_factor output frames (the model emits ceil(ceil(T/2)/2))
                seq = train.greedy(m(x, torch.tensor([f.shape[0]])), [f.shape[0] // 4])[0]
                ta = [grammar.TOKENS[i].replace("\u2581", "") for i in seq]
                tb = [t.replace("\u2581", "").strip() for t in (h["tokens"] or [])]
                same += ta == tb
                if ta != tb and os.environ.get("DEBUG_AGREE"):
                    print("differs:", j["id"], ta, tb)
        report["torch_vs_sherpa_same_tokens"] = round(same / len(rows), 4)
        print("torch vs sherpa identical token sequences: %.4f" % report["torch_vs_sherpa_same_tokens"])
    s = json.dumps(report, indent=1, ensure_ascii=False)
    if a.out:
        open(a.out, "w").write(s + "\n")
    for k in ["all", "licensed held-out voices", "eval-only voices (non-commercial: mbrola, RHVoice evgeniy/lyubov)"]:
        print(k, json.dumps(report[k], ensure_ascii=False))


if __name__ == "__main__":
    main()
