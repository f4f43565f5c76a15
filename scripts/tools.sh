#!/usr/bin/env bash
# Create .venv-tools with checkov, the infrastructure scanner tests/deploy runs.
# Its own venv: checkov pins packages (boto3, packaging, ...) older than Ballsy's.
# Idempotent: a stamp keyed on the version skips the install when it is current.
set -euo pipefail
cd "$(dirname "$0")/.."

version="3.3.30"
venv=.venv-tools
stamp="$venv/.checkov-$version"
if [ -f "$stamp" ]; then
  exit 0
fi
python="$(command -v python3.11 || command -v python3)"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "checkov==$version"
rm -f "$venv"/.checkov-*
touch "$stamp"
