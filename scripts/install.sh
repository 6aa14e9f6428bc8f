#!/usr/bin/env bash
# Creates .venv (if missing) and installs trailgate with its test extras into it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# The console's browser test drives Debian's Chromium (never a downloaded browser build).
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
    >/dev/null 2>&1 || echo "install.sh: could not install chromium; the browser test will skip"
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install --quiet -e ".[test]"
# trailscraper pins an older botocore than trailgate's protocol layer reads its models from, so
# it gets a virtualenv of its own (the CloudTrail tests run it as a subprocess).
if [ ! -x .venv/tools/trailscraper/bin/trailscraper ]; then
  "$PY" -m venv .venv/tools/trailscraper
  .venv/tools/trailscraper/bin/python -m pip install --quiet "trailscraper==0.10.0"
fi
