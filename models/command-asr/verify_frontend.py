"""Prove that fbank.py computes the same normalised log-mel features as sherpa-onnx 1.13.8 (offline nemo_ctc).

A probe ONNX model with the NeMo CTC contract (input [N, 80, T] + lengths, output [N, T, 81], subsampling 1)
outputs the features themselves as logits (blank pinned to -1e4). sherpa's greedy CTC search then reports
argmax-over-mel-bins per frame (tokens + timestamps; repeated frames are collapsed, which we undo). A second probe
outputs -features (argmin). Both must agree with fbank.py on (almost) every frame.
usage: verify_frontend.py WAV... (16 kHz mono s16)
"""
import json
import os
import subprocess
import sys
import tempfile
import wave

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fbank  # noqa: E402
from onnx_meta import add_meta, nemo_meta  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


class Probe(torch.nn.Module):
    """logits = [blank=-1e4, sign*features (80), threshold c (id 81)]."""
    def __init__(self, sign, c):
        super().__init__()
        self.sign, self.c = sign, c

    def forward(self, x, length):  # x: [N, 80, T]
        y = (self.sign * x).transpose(1, 2)  # [N, T, 80]
        blank = torch.full_like(y[:, :, :1], -1e4)
        return torch.cat([blank, y, torch.full_like(blank, self.c)], dim=2), length


def read_wav(p):
    with wave.open(p) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768


def main(wavs):
    td = tempfile.mkdtemp(prefix="probe-", dir="/tmp")
    tokens = os.path.join(td, "tokens.txt")
    with open(tokens, "w") as f:
        f.write("<blk> 0\n" + "".join("m%d %d\n" % (k, k + 1) for k in range(81)))
    lst = os.path.join(td, "list.txt")
    with open(lst, "w") as f:
        f.write("\n".join(os.path.abspath(w) for w in wavs) + "\n")
    ok = True
    # argmax / argmin over bins (layout, bin order), then thresholds (absolute values, scale of normalisation)
    for sign, c in ((1.0, -1e3), (-1.0, -1e3), (1.0, -5.0), (1.0, 0.0), (1.0, 5.0), (-1.0, 10.0)):
        model = os.path.join(td, "probe.onnx")
        torch.onnx.export(Probe(sign, c), (torch.zeros(1, 80, 50), torch.tensor([50])), model,
                          input_names=["audio_signal", "length"], output_names=["logprobs", "encoded_lengths"],
                          dynamic_axes={"audio_signal": {0: "N", 2: "T"}, "length": {0: "N"},
                                        "logprobs": {0: "N", 1: "T"}}, opset_version=13)
        add_meta(model, nemo_meta(82, 1, normalize_type=""))
        out = subprocess.run(["node", os.path.join(HERE, "sherpa_decode.mjs"), model, tokens, lst], cwd=REPO,
                             check=True, capture_output=True, text=True).stdout
        agree = total = 0
        nframes_ok = True
        for line in out.splitlines():
            r = json.loads(line)
            feat = fbank.logmel(read_wav(r["file"]))
            ref = np.argmax(np.concatenate([sign * feat, np.full((len(feat), 1), c)], axis=1), axis=1)
            T = len(ref)
            got = np.full(T + 5, -1)
            for tok, ts in zip(r["tokens"], r["timestamps"]):
                got[int(round(ts * 100))] = int(tok[1:])
            last_t = max(int(round(ts * 100)) for ts in r["timestamps"])
            nframes_ok &= last_t < T
            for t in range(T):  # undo CTC collapsing
                if got[t] < 0 and t > 0:
                    got[t] = got[t - 1]
            agree += int((got[:T] == ref).sum())
            total += T
        frac = agree / total
        print("probe sign=%+d threshold=%g: per-frame argmax agreement %.4f over %d frames, frame count ok: %s"
              % (sign, c, frac, total, nframes_ok))
        ok &= frac > 0.99 and nframes_ok
    print("FRONTEND MATCH" if ok else "FRONTEND MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
