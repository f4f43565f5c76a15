#!/usr/bin/env bash
# Create .venv and install Ballsy into it (with dev tools when given "dev").
# Idempotent: a stamp keyed on pyproject.toml skips the install when nothing changed.
# llama-cpp-python compiles from source the first time (minutes); pip caches the wheel.
set -euo pipefail
cd "$(dirname "$0")/.."

extra="${1:-}"
venv=.venv
pick_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return
    fi
  done
  echo "Ballsy needs Python >= 3.11" >&2; exit 1
}

if [ ! -x "$venv/bin/python" ]; then
  "$(pick_python)" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip wheel
fi

spec="."
[ "$extra" = "dev" ] && spec=".[dev]"
stamp="$venv/.ballsy-installed-$(sha256sum pyproject.toml | cut -c1-16)-${extra:-base}"
if [ ! -f "$stamp" ]; then
  echo "Installing Ballsy ($spec) into $venv; the first run compiles llama-cpp-python (a few minutes)..."
  CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" "$venv/bin/python" -m pip install --quiet -e "$spec"
  rm -f "$venv"/.ballsy-installed-*
  touch "$stamp"
fi
