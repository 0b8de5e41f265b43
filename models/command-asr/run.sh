#!/usr/bin/env bash
# Reproduce the command recognizer end to end: setup, synth, degrade, train, export, verify, evaluate.
# usage: models/command-asr/run.sh [WORKDIR]   (default /work/cmdasr-work; needs root for apt-get)
# Env: TRAIN_MINUTES (default 36), SEED (default 20261121).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="${1:-/work/cmdasr-work}"
PY=/usr/bin/python3            # Debian's python3 with python3-torch / python3-onnx
SEED="${SEED:-20261121}"
# The bundle the daemon ships (models/store.ts built-in directory).
BUNDLE="$HERE/../builtin/command-asr-de-en"
mkdir -p "$WORK"
t0=$(date +%s)
bash "$HERE/setup.sh"
$PY "$HERE/synth.py" "$WORK/data" --seed 1234
$PY "$HERE/degrade.py" "$WORK/data" --copies 2 --seed 7
$PY "$HERE/train.py" "$WORK/data" "$WORK/model.pt" --minutes "${TRAIN_MINUTES:-36}" --seed "$SEED"
$PY "$HERE/export.py" "$WORK/model.pt" "$BUNDLE"
# Front end: sherpa's features == fbank.py (probe models) on 40 G.711 eval files + 10 wideband synth files.
$PY "$HERE/verify_frontend.py" $(ls "$WORK"/data/eval_tel/*.wav | head -40) $(ls "$WORK"/data/wav/festival-rab*.wav | head -10)
$PY "$HERE/evaluate.py" "$WORK/data" "$BUNDLE" --pt "$WORK/model.pt" --out "$WORK/eval-report.json"
echo "run.sh: done in $(( ($(date +%s) - t0) / 60 )) min"
