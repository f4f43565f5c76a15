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

# llama.cpp is compiled for a portable x86-64 level, never -march=native: a native build
# can use instructions the kernel or hypervisor does not enable (AMX tiles on some cloud
# VMs), and pip's wheel cache would then hand that binary to every later install.
if [ "$(uname -m)" = "x86_64" ]; then
  export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}"
fi

llama_works() {
  "$venv/bin/python" - <<'PY' >/dev/null 2>&1
from ballsy.llm.local import packaged_model_path
from llama_cpp import Llama
llm = Llama(model_path=str(packaged_model_path()), n_ctx=64, verbose=False)
llm.create_completion("Hi", max_tokens=1)
PY
}

spec="."
[ "$extra" = "dev" ] && spec=".[dev]"
stamp="$venv/.ballsy-installed-$(sha256sum pyproject.toml | cut -c1-16)-${extra:-base}"
if [ ! -f "$stamp" ]; then
  echo "Installing Ballsy ($spec) into $venv; the first run compiles llama-cpp-python (a few minutes)..."
  CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" "$venv/bin/python" -m pip install --quiet -e "$spec"
  if ! llama_works; then
    # A cached wheel built for another CPU (or natively): rebuild it portably, uncached.
    echo "llama-cpp-python does not run on this CPU; rebuilding it (a few minutes)..."
    version="$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("llama-cpp-python"))')"
    "$venv/bin/python" -m pip cache remove llama_cpp_python >/dev/null 2>&1 || true
    CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" "$venv/bin/python" -m pip install --quiet \
      --force-reinstall --no-deps --no-cache-dir "llama-cpp-python==$version"
    llama_works || { echo "llama-cpp-python still fails to run" >&2; exit 1; }
  fi
  rm -f "$venv"/.ballsy-installed-*
  touch "$stamp"
fi
