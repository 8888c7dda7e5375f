#!/usr/bin/env bash
# Makes what the tests outside Cargo need; idempotent, quick when already done:
#   - the Python venv of the parity tests (tests/parity/setup-venv.sh: mcp 2.3.0 and its pins);
#   - the npm packages of the end-to-end test (tests/e2e: the TypeScript MCP SDK) and of the DPoP
#     interop test (tests/dpop-interop: oidc-provider, oauth4webapi and Node 22 itself, the npm
#     package `node`), each from its committed package-lock.json with `npm ci`, skipped when its
#     node_modules matches the lock file.
# Needs python3 (>= 3.10) and Node >= 20 with npm.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

bash "$REPO_ROOT/tests/parity/setup-venv.sh"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "setup: node and npm are needed for tests/e2e and tests/dpop-interop (Node >= 20)" >&2
  exit 1
fi

# npm records what it installed in node_modules/.package-lock.json; when it equals the committed
# lock file's packages, `npm ci` (which deletes node_modules first) has nothing to do. A package
# that depends on the npm package `node` also needs its binary: that package's install script
# fetches it, outside the lock file's record, so an interrupted install is caught here.
installed_matches_lock() {
  local dir="$1"
  [ -f "$dir/node_modules/.package-lock.json" ] &&
    node -e '
      const fs = require("fs");
      const [lock, installed] = process.argv.slice(1).map((p) => JSON.parse(fs.readFileSync(p, "utf8")));
      const strip = (pkgs) => JSON.stringify(Object.entries(pkgs).filter(([k]) => k !== "").map(([k, v]) => [k, v.version, v.integrity]).sort());
      process.exit(strip(lock.packages) === strip(installed.packages) ? 0 : 1);
    ' "$dir/package-lock.json" "$dir/node_modules/.package-lock.json" &&
    { [ ! -e "$dir/node_modules/node/package.json" ] || "$dir/node_modules/.bin/node" --version >/dev/null 2>&1; }
}

npm_ci() {
  local dir="$1"
  if installed_matches_lock "$dir"; then
    return 0
  fi
  npm ci --prefix "$dir" --no-audit --no-fund >&2
  echo "setup: ${dir#"$REPO_ROOT"/} node_modules ready" >&2
}

npm_ci "$REPO_ROOT/tests/e2e"
npm_ci "$REPO_ROOT/tests/dpop-interop"
