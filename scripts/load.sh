#!/usr/bin/env bash
# Load test over real sockets: wrk against each route of examples/load_server.rs and against the
# MCP Python SDK's bearer gate (tests/parity/reference_server.py), all on 127.0.0.1, in one run, so
# every ratio divides two figures measured minutes apart at most.
#
#   scripts/load.sh                              # 10 s per route, 2 wrk threads, 50 connections
#   DURATION=30 CONNECTIONS=100 scripts/load.sh
#
# Environment (defaults):
#   DURATION=10       seconds of wrk per route with the valid token
#   CONNECTIONS=50    wrk connections
#   THREADS=2         wrk threads
#   BAD_DURATION=2    seconds of wrk per protected route with a bad token
#   WRK_TIMEOUT=2     wrk's per-request timeout, seconds (a request past it counts as an error)
#   NO_BUILD=1        use the release examples already built
#   LOAD_SERVER_KEYS=pem   JWT verifier with a PEM key instead of the issuer's JWKS (load_server)
#   PARITY_VENV       the Python venv (default target/parity-venv, made by
#                     tests/parity/setup-venv.sh, which this script runs: it is idempotent)
#
# Routes (load_server): /bare (no auth), /static (StaticVerifier), /rs256 (JwtVerifier, RS256),
# /rs256-cached (CachedVerifier<JwtVerifier>); Python: /mcp with the fixture token `tok-read`.
# Every answer is counted by status (scripts/load/status.lua): each run with the valid token must
# give only 200s, each run with a bad token only 401s, and no socket error or timeout; otherwise
# the script exits 1 after printing the table. Needs wrk (installed with apt-get when missing and
# running as root).
set -euo pipefail
# shellcheck source=scripts/load/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/load/common.sh"

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-2}
BAD_DURATION=${BAD_DURATION:-2}
WRK_TIMEOUT=${WRK_TIMEOUT:-2}
for name in DURATION CONNECTIONS THREADS BAD_DURATION WRK_TIMEOUT; do
  is_uint "${!name}" || die "$name must be a positive integer (got '${!name}')"
done
[ "$CONNECTIONS" -ge "$THREADS" ] || die "CONNECTIONS ($CONNECTIONS) must be at least THREADS ($THREADS)"
LUA="$REPO_ROOT/scripts/load/status.lua"

if ! command -v wrk >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "== installing wrk (apt-get install -y wrk)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2 ||
      { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2; }
  fi
  command -v wrk >/dev/null 2>&1 || die "wrk is missing: apt-get install wrk"
fi

raise_fd_limit
build_examples
start_load_server
start_reference_server

# Results, one entry per row.
ROW_NAMES=()
ROW_RPS=()
ROW_P99=()
ROW_VALID=()
ROW_BAD=()

# wrk_run URL AUTHORIZATION SECONDS EXPECTED_STATUS: one wrk run; sets RUN_RPS, RUN_P99_US,
# RUN_STATUSES (e.g. "200×123 401×4", with socket errors appended) and RUN_OK (1 when every answer
# had EXPECTED_STATUS, there was at least one, and no socket error or timeout).
wrk_run() {
  local url=$1 authorization=$2 seconds=$3 expected=$4 out=$WORK/wrk.out line status=0
  local requests duration_us p99_us statuses socket_errors counted=0 others=0 code count pair
  RUN_RPS=0 RUN_P99_US=0 RUN_STATUSES="-" RUN_OK=0
  run_bounded $((seconds + 30)) "$out" env WRK_AUTHORIZATION="$authorization" \
    wrk --threads "$THREADS" --connections "$CONNECTIONS" --duration "${seconds}s" \
    --timeout "${WRK_TIMEOUT}s" --script "$LUA" "$url" || status=$?
  line="$(grep -m 1 '^RESULT ' "$out" || true)"
  if [ "$status" != 0 ] || [ -z "$line" ]; then
    log "wrk $url exited with status $status:"
    cat "$out" >&2
    RUN_STATUSES="wrk failed ($status)"
    return 0
  fi
  requests="$(result_field "$line" requests)"
  duration_us="$(result_field "$line" duration_us)"
  p99_us="$(result_field "$line" p99_us)"
  statuses="$(result_field "$line" statuses)"
  socket_errors=$(($(result_field "$line" connect) + $(result_field "$line" read) + $(result_field "$line" write) + $(result_field "$line" timeout)))
  RUN_RPS="$(awk -v n="$requests" -v us="$duration_us" 'BEGIN { printf "%.0f", (us > 0 ? n / (us / 1e6) : 0) }')"
  RUN_P99_US="$p99_us"
  RUN_STATUSES=""
  for pair in ${statuses//,/ }; do
    code="${pair%%:*}"
    count="${pair##*:}"
    counted=$((counted + count))
    [ "$code" = "$expected" ] || others=$((others + count))
    RUN_STATUSES="${RUN_STATUSES:+$RUN_STATUSES }${code}×${count}"
  done
  [ -n "$RUN_STATUSES" ] || RUN_STATUSES="none"
  if [ "$socket_errors" -gt 0 ]; then
    RUN_STATUSES="$RUN_STATUSES; socket errors: connect $(result_field "$line" connect), read $(result_field "$line" read), write $(result_field "$line" write), timeout $(result_field "$line" timeout)"
  fi
  if [ "$requests" -gt 0 ] && [ "$others" = 0 ] && [ "$counted" = "$requests" ] && [ "$socket_errors" = 0 ]; then
    RUN_OK=1
  fi
}

# result_field LINE NAME: the value of NAME=… in a RESULT line.
result_field() {
  sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"
}

# measure NAME URL VALID_AUTHORIZATION [BAD_AUTHORIZATION]
measure() {
  local name=$1 url=$2 valid=$3 bad=${4:-} rps p99 valid_statuses bad_statuses="-"
  log "== $name: ${DURATION}s, valid token"
  wrk_run "$url" "$valid" "$DURATION" 200
  rps=$RUN_RPS
  p99=$RUN_P99_US
  valid_statuses=$RUN_STATUSES
  [ "$RUN_OK" = 1 ] || FAILURES+=("$name with a valid token: expected only 200, got $RUN_STATUSES")
  if [ -n "$bad" ]; then
    log "== $name: ${BAD_DURATION}s, bad token"
    wrk_run "$url" "$bad" "$BAD_DURATION" 401
    bad_statuses=$RUN_STATUSES
    [ "$RUN_OK" = 1 ] || FAILURES+=("$name with a bad token: expected only 401, got $RUN_STATUSES")
  fi
  ROW_NAMES+=("$name")
  ROW_RPS+=("$rps")
  ROW_P99+=("$p99")
  ROW_VALID+=("$valid_statuses")
  ROW_BAD+=("$bad_statuses")
}

BAD="Bearer not-a-valid-token-$RANDOM$RANDOM"
measure "/bare" "$SERVER_BASE/bare" ""
measure "/static" "$SERVER_BASE/static" "Bearer $STATIC_TOKEN" "$BAD"
measure "/rs256" "$SERVER_BASE/rs256" "Bearer $RS256_TOKEN" "$BAD"
measure "/rs256-cached" "$SERVER_BASE/rs256-cached" "Bearer $RS256_TOKEN" "$BAD"
measure "Python SDK /mcp" "$REFERENCE_BASE/mcp" "Bearer tok-read" "$BAD"

echo
echo "Load test: $(describe_run)"
echo "$(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2), $THREADS threads, $CONNECTIONS connections, ${DURATION} s per route (bad token: ${BAD_DURATION} s), 127.0.0.1; load_server release build; Python: mcp 2.3.0 gate on uvicorn (h11), one process"
echo
echo "| route | req/s | p99 ms | req/s ÷ /bare | p99 ÷ /bare | valid token: statuses | bad token: statuses |"
echo "|---|---:|---:|---:|---:|---|---|"
bare_rps=${ROW_RPS[0]}
bare_p99=${ROW_P99[0]}
for i in "${!ROW_NAMES[@]}"; do
  awk -v name="${ROW_NAMES[$i]}" -v rps="${ROW_RPS[$i]}" -v p99="${ROW_P99[$i]}" \
    -v brps="$bare_rps" -v bp99="$bare_p99" -v valid="${ROW_VALID[$i]}" -v bad="${ROW_BAD[$i]}" \
    'BEGIN {
      rr = (brps > 0 ? sprintf("%.2f", rps / brps) : "-")
      pr = (bp99 > 0 ? sprintf("%.2f", p99 / bp99) : "-")
      printf "| %s | %.0f | %.2f | %s | %s | %s | %s |\n", name, rps, p99 / 1000, rr, pr, valid, bad
    }'
done
echo
finish "every valid-token answer was 200 and every bad-token answer 401, with no socket error."
