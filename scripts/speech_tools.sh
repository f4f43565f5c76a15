#!/usr/bin/env bash
# Install espeak-ng (Debian) unless it is there: the tests and benchmarks speak their
# questions with voices other than Ballsy's own. Without it they fall back to the
# shared real recordings.
set -euo pipefail

command -v espeak-ng >/dev/null 2>&1 && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "no espeak-ng and no apt-get here: speech tests use the recorded fixtures only" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "installing espeak-ng needs root (or sudo): speech tests use the recordings" >&2
    exit 0
  fi
  sudo="sudo"
fi
echo "installing espeak-ng for the speech tests (apt-get)"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y espeak-ng || { $sudo apt-get update && $sudo apt-get install -y espeak-ng; }
