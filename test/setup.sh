#!/usr/bin/env bash
# Prepares a machine for `npm test`: node_modules in sync with the lock file, and the Debian peers the call tests
# drive (sipp, baresip, Kamailio with its TLS module, sox, espeak-ng, socat, tshark, ffmpeg) and Chromium for the web page tests. Fast (well under 2 s) when all is present.
# Not root and peers missing: say which and go on; the peer tests then skip (or fail when CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."

# Install when node_modules is missing or older than the lock file. `npm install`, not `npm ci`: the registry
# reachable here has no macOS/Windows/musl builds of biome, so the lock cannot list them and `npm ci` refuses it as
# out of sync. With an unchanged package.json, `npm install` installs exactly the locked versions. Install scripts
# run only for the packages package.json's allowScripts approves (npm 11 skips the rest silently).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: running npm install (node_modules missing or older than package-lock.json)"
  npm install --no-fund --no-audit
else
  echo "setup: node_modules up to date"
fi

# Debian package -> the command tests look for.
packages=(sip-tester baresip kamailio kamailio-tls-modules sox espeak-ng socat tshark ffmpeg python3-aiosmtpd chromium fonts-dejavu-core)
missing=()
# One dpkg-query for all; a removed package whose config files remain reports "config-files", not "installed".
declare -A state=()
while read -r name st; do state[$name]=$st; done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${packages[@]}" 2>/dev/null || true)
for p in "${packages[@]}"; do
  if [ "${state[$p]:-}" != "installed" ]; then missing+=("$p"); fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: peers present (${packages[*]})"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  echo "setup: installing missing peers: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; preseed "no" so the install never prompts.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  echo "setup: installed ${missing[*]}"
else
  echo "setup: not root, cannot install missing peers: ${missing[*]}" >&2
  echo "setup: tests that need them will be skipped (or fail when CI=true)" >&2
fi
