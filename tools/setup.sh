#!/usr/bin/env bash
# Install whatever is missing for companion on Debian/Ubuntu: system packages, then a
# virtual environment in .venv with the package. `--test` adds what the test suite needs.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests=0
if [ "${1:-}" = "--test" ]; then want_tests=1; fi

say() { printf '\033[1mcompanion setup:\033[0m %s\n' "$*"; }

# System packages: the voice (espeak-ng), the sound device layer (PortAudio), Python's venv.
packages=(python3 python3-venv espeak-ng libespeak-ng1 libportaudio2)
# Tests also synthesise noise (sox), drive a real browser (chromium, through
# Playwright, whose bundled Node needs libatomic1), and run a real sound server with no
# sound card for the full-duplex tests (PulseAudio, its tools, ALSA's plugin for it).
if [ "$want_tests" = 1 ]; then
  packages+=(sox chromium libatomic1 pulseaudio pulseaudio-utils libasound2-plugins)
fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# The accessibility test injects axe-core (from npm) into the real page: tests need npm.
if [ "$want_tests" = 1 ] && ! command -v npm >/dev/null; then missing+=(npm); fi
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    say "please install these with your package manager, then run this again: ${missing[*]}"
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  say "installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  say "companion needs Python 3.11 or newer (Debian 12, Ubuntu 24.04); set PYTHON=/path/to/python3.11"
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$python" -m venv .venv
fi
extras=""
stamp=".venv/.installed"
if [ "$want_tests" = 1 ]; then
  extras="[test]"
  stamp=".venv/.installed-test"
fi
# Exact versions from tools/constraints.txt, so an upstream release cannot turn the suite
# red overnight (pytest turns warnings into errors); tools/refresh-constraints.sh renews it.
# Reinstall only when pyproject.toml or the constraints changed since the last install.
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ tools/constraints.txt -nt "$stamp" ]; then
  say "installing Python packages into .venv"
  .venv/bin/python -m pip install --quiet --upgrade pip
  # Quiet setuptools too: its notes about editable installs are for packagers, not users.
  PYTHONWARNINGS=ignore .venv/bin/python -m pip install --quiet -c tools/constraints.txt -e ".${extras}"
  touch "$stamp"
fi

# axe-core, the accessibility checker the browser tests inject into the page; pinned.
axe_version="4.14.1"
axe_dir=".venv/node"
if [ "$want_tests" = 1 ] && ! grep -qs "\"version\": \"$axe_version\"" "$axe_dir/node_modules/axe-core/package.json"; then
  say "installing axe-core $axe_version into $axe_dir"
  npm install --silent --no-audit --no-fund --prefix "$axe_dir" "axe-core@$axe_version" >/dev/null
fi
