#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests (tests/e2e) unless it is there already.
# Playwright drives this system browser (BALLSY_CHROMIUM, default /usr/bin/chromium) and
# never downloads one of its own: do not run `playwright install`.
set -euo pipefail

chromium="${BALLSY_CHROMIUM:-/usr/bin/chromium}"
[ -x "$chromium" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "no Chromium at $chromium and no apt-get here: the browser tests will be skipped" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "installing Chromium needs root (or sudo): the browser tests will be skipped" >&2
    exit 0
  fi
  sudo="sudo"
fi
echo "installing Chromium for the browser tests (apt-get)"
export DEBIAN_FRONTEND=noninteractive
# A stale package index is the usual reason for a failed install: refresh once, retry.
$sudo apt-get install -y chromium || { $sudo apt-get update && $sudo apt-get install -y chromium; }
