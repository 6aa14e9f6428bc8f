#!/usr/bin/env bash
# Installs trailgate into .venv and plays the seed scenario against a fresh embedded server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/trailgate demo "$@"
