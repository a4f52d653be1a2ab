#!/usr/bin/env bash
# Sets up everything the tests need (Debian packages, .venv) and runs every test:
# lint, the main suite (SQLite and PostgreSQL), then the real-browser journeys in their own
# pytest process (Playwright's sync API cannot share a process with pytest-asyncio).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff"
ruff check app sync tests benchmarks

echo "== pytest (unit, store, server on SQLite and PostgreSQL, sync, UI harness)"
pytest -m "not browser" "$@"

if ls tests/browser/test_*.py >/dev/null 2>&1; then
    echo "== pytest (real-browser journeys, Debian chromium)"
    pytest -p no:asyncio -m browser tests/browser "$@"
fi
