#!/usr/bin/env bash
# Sets up a fresh machine for gridwall: Debian packages (when asked), a virtualenv in .venv,
# and the project installed in editable mode. Safe to re-run; skips what is already there.
#   scripts/setup.sh          runtime only (the demo)
#   scripts/setup.sh --test   also test tools, chromium, postgresql, CJK fonts
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

apt_pkgs=()
# Node.js: the phone build's bytecode is compiled by Pyodide under Node (app/web/compile-pyc.mjs);
# without it the build still works, but every phone start compiles Python again
command -v node >/dev/null 2>&1 || apt_pkgs+=(nodejs)
if [ "$want_test" = 1 ]; then
    command -v chromium >/dev/null 2>&1 || apt_pkgs+=(chromium)
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_pkgs+=(postgresql)
    [ -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || apt_pkgs+=(fonts-noto-cjk)
    command -v pdftotext >/dev/null 2>&1 || apt_pkgs+=(poppler-utils)
fi
if [ "${#apt_pkgs[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    echo "setup: installing Debian packages: ${apt_pkgs[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt_pkgs[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    "$PY" -m venv .venv
fi
stamp=.venv/.gridwall-installed
extras=""
[ "$want_test" = 1 ] && extras="[test]"
if [ ! -e "$stamp$extras" ] || [ pyproject.toml -nt "$stamp$extras" ]; then
    echo "setup: installing Python packages$extras"
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -e ".$extras"
    touch "$stamp$extras"
fi
