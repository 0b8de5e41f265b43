"""Export the trained model as a sherpa-onnx offline NeMo-CTC bundle.

usage: export.py MODEL.pt BUNDLE_DIR [--version 0.1.0]
Writes BUNDLE_DIR/model.onnx (fp32, input audio_signal [N, 80, T] + length [N] int64, output logprobs
[N, ceil(T/4), V]; metadata model_type=EncDecCTCModelBPE, vocab_size, subsampling_factor=4,
normalize_type="" (normalisation is inside the graph), is_giga_am=0), tokens.txt ("<sym> <id>", <blk> = 0) and manifest.json
(models/manifest.ts format).
"""
import argparse
import hashlib
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grammar  # noqa: E402
from model import CommandCtc  # noqa: E402
from onnx_meta import add_meta, nemo_meta  # noqa: E402


class Wrapped(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, audio_signal, length):
        return self.m(audio_signal, length), CommandCtc.out_lengths(length)


def sha(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pt")
    ap.add_argument("bundle")
    ap.add_argument("--version", default="0.2.0")
    a = ap.parse_args()
    os.makedirs(a.bundle, exist_ok=True)
    ck = torch.load(a.pt)
    m = CommandCtc(len(grammar.TOKENS), arch=ck["arch"])
    m.load_state_dict(ck["state"])
    m.eval()
    onnx_path = os.path.join(a.bundle, "model.onnx")
    torch.onnx.export(Wrapped(m), (torch.randn(1, 80, 200), torch.tensor([200])), onnx_path,
                      input_names=["audio_signal", "length"], output_names=["logprobs", "encoded_lengths"],
                      dynamic_axes={"audio_signal": {0: "N", 2: "T"}, "length": {0: "N"},
                                    "logprobs": {0: "N", 1: "T4"}, "encoded_lengths": {0: "N"}},
                      opset_version=13)
    add_meta(onnx_path, nemo_meta(len(grammar.TOKENS), 4, normalize_type=""))
    tok_path = os.path.join(a.bundle, "tokens.txt")
    with open(tok_path, "w", encoding="utf-8") as f:
        for i, t in enumerate(grammar.TOKENS):
            f.write("%s %d\n" % (t, i))
    files = [{"path": n, "sha256": sha(os.path.join(a.bundle, n)), "bytes": os.path.getsize(os.path.join(a.bundle, n))}
             for n in ("model.onnx", "tokens.txt")]
    manifest = {
        "name": "command-asr-de-en",
        "version": a.version,
        "task": "command-asr",
        "engine": "sherpa-onnx-offline-ctc",
        "languages": ["de-DE", "en-US", "en-GB"],
        "sampleRate": 16000,
        "files": files,
        "licence": "Apache-2.0",
        "source": "trained in-house by models/command-asr/run.sh (seeds: synth 1234, degrade 7, train 20261121) from "
                  "synthesized speech (SVOX Pico de-DE/en-US, espeak-ng, festival rab/don/slt, flite awb/slt, "
                  "RHVoice alan/bdl/slt); no third-party weights",
        # padMs: the model was trained on utterances with silence around them; VAD segments are trimmed tight.
        "engineOptions": {"kind": "offline", "type": "nemo-ctc", "model": "model.onnx", "tokens": "tokens.txt",
                          "ignoreWords": ["other"], "padMs": 200},
    }
    with open(os.path.join(a.bundle, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print("export: %s (%d bytes)" % (onnx_path, os.path.getsize(onnx_path)))


if __name__ == "__main__":
    main()
