#!/usr/bin/env bash
# Installs the Debian packages the command-asr pipeline needs. Idempotent; run as root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
# Pico (libttspico-*) and MBROLA voices live in bookworm's non-free component.
if ! grep -rqsE '^\s*Components:.*\bnon-free\b' /etc/apt/sources.list.d/*.sources \
   && ! grep -rqsE '^\s*deb .*bookworm .*\bnon-free\b' /etc/apt/sources.list /etc/apt/sources.list.d/*.list; then
  cat > /etc/apt/sources.list.d/debian-nonfree.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
# Training: Apache-2.0/GPL-compatible voices only.
TRAIN_PKGS="python3 python3-torch python3-onnx python3-numpy espeak-ng espeak-ng-data sox
  festival festvox-kallpc16k festvox-rablpc16k festvox-us-slt-hts festvox-don flite rhvoice rhvoice-english
  libttspico-utils libttspico-data"
# Evaluation only (non-commercial licence; never used for training).
EVAL_PKGS="mbrola mbrola-de1 mbrola-de2 mbrola-de3 mbrola-de4 mbrola-de5 mbrola-de6 mbrola-de7 mbrola-de8 mbrola-us1 mbrola-us2 mbrola-us3 mbrola-en1"
want=()
for p in $TRAIN_PKGS $EVAL_PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || want+=("$p")
done
if [ ${#want[@]} -gt 0 ]; then
  apt-get update -qq
  avail=()
  for p in "${want[@]}"; do
    if apt-cache show "$p" >/dev/null 2>&1; then avail+=("$p"); else echo "setup: package $p not in the archive, skipped" >&2; fi
  done
  [ ${#avail[@]} -gt 0 ] && apt-get install -y -qq --no-install-recommends "${avail[@]}"
fi
echo "setup: ok"
