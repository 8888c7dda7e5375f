#!/usr/bin/env bash
# Creates the Python venv used by the parity test (tests/parity/reference_server.py):
# the MCP Python SDK (`mcp` 2.3.0 from PyPI) served by uvicorn.
#
#   PARITY_VENV    venv location (default: <repo root>/target/parity-venv)
#   PARITY_PYTHON  interpreter used to create it (default: python3; needs >= 3.10)
#
# Idempotent: exits at once when the venv already imports mcp 2.3.0 and uvicorn.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${PARITY_VENV:-$REPO_ROOT/target/parity-venv}"
PY="${PARITY_PYTHON:-python3}"

# Exact pins. mcp and uvicorn are what the test is about; starlette, h11 and pydantic
# also shape the bytes on the wire (response headers, HTTP parsing, URL rendering),
# so they are pinned to the versions that resolved with mcp 2.3.0.
PKGS=(
  "mcp==2.3.0"
  "uvicorn==0.54.0"
  "starlette==1.10.0"
  "h11==0.16.0"
  "pydantic==2.14.4"
)

venv_ok() {
  [ -x "$VENV/bin/python" ] &&
    "$VENV/bin/python" - <<'PY' >/dev/null 2>&1
import importlib.metadata as md
import mcp.server.auth.middleware.bearer_auth  # noqa: F401
import uvicorn  # noqa: F401
assert md.version("mcp") == "2.3.0", md.version("mcp")
PY
}

if venv_ok; then
  exit 0
fi

mkdir -p "$(dirname "$VENV")"

# Serialise concurrent callers (e.g. several test binaries at once) when flock exists.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$VENV.lock"
  flock 9
  if venv_ok; then
    exit 0
  fi
fi

make_venv() {
  # --clear: a half-made or stale venv (e.g. its interpreter moved) is rebuilt.
  "$PY" -m venv --clear "$VENV"
}

if ! make_venv; then
  # Debian's python3 ships venv/ensurepip in a separate package.
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup-venv: '$PY -m venv' failed; installing python3-venv with apt-get" >&2
    ver="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv "python${ver}-venv" >&2 ||
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2
    make_venv
  else
    echo "setup-venv: '$PY -m venv' failed; install python3-venv (Debian) and retry" >&2
    exit 1
  fi
fi

"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "${PKGS[@]}" >&2

if ! venv_ok; then
  echo "setup-venv: $VENV still does not import mcp 2.3.0" >&2
  exit 1
fi
echo "setup-venv: ready at $VENV" >&2
