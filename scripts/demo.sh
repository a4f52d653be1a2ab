#!/usr/bin/env bash
# Sets up gridwall on a fresh machine (.venv) and runs the demo: a central server on SQLite with a
# seeded township, an enrolled field device and the app, with the URLs and accounts printed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/gridwall demo "$@"
