#!/usr/bin/env bash
# Makes what the tests outside Cargo need; idempotent, quick when already done:
#   - the Python venv of the parity tests (tests/parity/setup-venv.sh: mcp 2.3.0 and its pins);
#   - the npm packages of the end-to-end test (tests/e2e: the TypeScript MCP SDK, from the
#     committed package-lock.json with `npm ci`), skipped when node_modules matches the lock file.
# Needs python3 (>= 3.10) and Node >= 20 with npm.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

bash "$REPO_ROOT/tests/parity/setup-venv.sh"

E2E="$REPO_ROOT/tests/e2e"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "setup: node and npm are needed for tests/e2e (Node >= 20)" >&2
  exit 1
fi
# npm records what it installed in node_modules/.package-lock.json; when it equals the committed
# lock file's packages, `npm ci` (which deletes node_modules first) has nothing to do.
installed_matches_lock() {
  [ -f "$E2E/node_modules/.package-lock.json" ] &&
    node -e '
      const fs = require("fs");
      const [lock, installed] = process.argv.slice(1).map((p) => JSON.parse(fs.readFileSync(p, "utf8")));
      const strip = (pkgs) => JSON.stringify(Object.entries(pkgs).filter(([k]) => k !== "").map(([k, v]) => [k, v.version, v.integrity]).sort());
      process.exit(strip(lock.packages) === strip(installed.packages) ? 0 : 1);
    ' "$E2E/package-lock.json" "$E2E/node_modules/.package-lock.json"
}
if installed_matches_lock; then
  exit 0
fi
npm ci --prefix "$E2E" --no-audit --no-fund >&2
echo "setup: tests/e2e node_modules ready" >&2
