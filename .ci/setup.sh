# Shared set-up for the README's commands; sourced by .ci/demo, .ci/test, .ci/run and .ci/notebook.
# Creates ./.venv with the package and its extras, and installs system Graphviz
# through apt-get where `dot` is missing and we may (root or passwordless sudo).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"

_as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"; else return 1; fi
}

_apt_install() {
  command -v apt-get >/dev/null || return 1
  _as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
    _as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_graphviz() {
  if command -v dot >/dev/null; then return 0; fi
  echo "setup: Graphviz 'dot' not found; installing it with apt-get" >&2
  if ! _apt_install graphviz; then
    echo "setup: could not install Graphviz; install it yourself (Debian: sudo apt-get install graphviz, macOS: brew install graphviz). Text .dot output still works." >&2
  fi
}

ensure_chromium() {
  # headless Chromium + chromedriver for the browser tests (tests/browser.py);
  # without them those tests skip with a reason, so a failure here is not fatal
  if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then return 0; fi
  echo "setup: chromium/chromedriver not found; installing them with apt-get" >&2
  if ! _apt_install chromium chromium-driver; then
    echo "setup: could not install chromium; browser tests will be skipped (Debian: sudo apt-get install chromium chromium-driver)" >&2
  fi
}

ensure_venv() {
  local extras="$1"
  if [ ! -x .venv/bin/python ]; then
    if ! "$PY" -m venv .venv 2>/dev/null; then
      rm -rf .venv
      echo "setup: python3 -m venv failed; installing python3-venv with apt-get" >&2
      _apt_install python3-venv || { echo "setup: install python3-venv (sudo apt-get install python3-venv) and rerun" >&2; exit 1; }
      "$PY" -m venv .venv
    fi
  fi
  local stamp=".venv/.chainrule-$extras"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
    echo "setup: installing chainrule[$extras] into .venv (log: .venv/pip.log)" >&2
    if ! .venv/bin/python -m pip install -q -e ".[$extras]" >.venv/pip.log 2>&1; then
      cat .venv/pip.log >&2
      echo "setup: pip install failed (log above)" >&2
      exit 1
    fi
    touch "$stamp"
  fi
}
