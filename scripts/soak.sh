#!/usr/bin/env bash
# Hardening run against examples/load_server.rs on 127.0.0.1, with examples/load_client.rs:
#
#   (a) junk flood: FLOOD_CONCURRENCY (1 000) connections each carry one request with a junk
#       credential (random and control bytes, overlong, malformed JWTs, unknown kid, alg none,
#       HS256 with the RSA kid, tampered claims/signature, wrong scheme, two headers, none, a
#       token in the query, expired and foreign-audience tokens, …), all pending on the server at
#       once, against /rs256 and then /static: every answer must be 400 or 401 and all must come
#       within FLOOD_TIMEOUT seconds (the time taken is printed);
#   (b) soak: valid RS256 tokens at a fixed rate (SOAK_RATE per route, open loop) on /rs256-cached
#       and /rs256 at once for SOAK_SECONDS, after a warm-up: every answer must be 200, and the
#       server's resident memory (VmRSS from /proc/<pid>/status), sampled after the warm-up, every
#       SAMPLE_EVERY seconds and at the end, may not end above
#       start × (1 + RSS_GROWTH_PCT/100) + RSS_SLACK_MIB.
#
#   scripts/soak.sh
#   DURATION=2 SOAK_SECONDS=10 scripts/soak.sh      # a quick check that it all works
#
# Environment (defaults):
#   FLOOD_CONCURRENCY=1000  FLOOD_TIMEOUT=30  FLOOD_SEED=<now> (printed; set it to replay a flood)
#   SOAK_SECONDS=60  SOAK_RATE=2000 (requests/s per route)  SOAK_CONNECTIONS=32 (per route)
#   WARMUP_SECONDS=5 (DURATION, when set, is used as the warm-up)  SAMPLE_EVERY=10
#   RSS_GROWTH_PCT=20  RSS_SLACK_MIB=8
#   NO_BUILD=1              use the release examples already built
#   LOAD_SERVER_KEYS=pem    JWT verifier with a PEM key instead of the issuer's JWKS
#
# Exits 1 when a check fails (after printing everything), 2 on a usage error.
set -euo pipefail
# shellcheck source=scripts/load/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/load/common.sh"

FLOOD_CONCURRENCY=${FLOOD_CONCURRENCY:-1000}
FLOOD_TIMEOUT=${FLOOD_TIMEOUT:-30}
FLOOD_SEED=${FLOOD_SEED:-$(date +%s)}
SOAK_SECONDS=${SOAK_SECONDS:-60}
SOAK_RATE=${SOAK_RATE:-2000}
SOAK_CONNECTIONS=${SOAK_CONNECTIONS:-32}
WARMUP_SECONDS=${WARMUP_SECONDS:-${DURATION:-5}}
SAMPLE_EVERY=${SAMPLE_EVERY:-10}
RSS_GROWTH_PCT=${RSS_GROWTH_PCT:-20}
RSS_SLACK_MIB=${RSS_SLACK_MIB:-8}
for name in FLOOD_CONCURRENCY FLOOD_TIMEOUT FLOOD_SEED SOAK_SECONDS SOAK_RATE SOAK_CONNECTIONS \
  WARMUP_SECONDS SAMPLE_EVERY RSS_GROWTH_PCT RSS_SLACK_MIB; do
  is_uint "${!name}" || { log "error: $name must be a positive integer (got '${!name}')"; exit 2; }
done

raise_fd_limit
build_examples
start_load_server
CLIENT=$EXAMPLES_DIR/load_client
REPORT=$WORK/report.txt
: >"$REPORT"

# report LINE…: appends to the report printed at the end.
report() {
  printf '%s\n' "$@" >>"$REPORT"
}

mib() {
  awk -v kib="$1" 'BEGIN { printf "%.1f", kib / 1024 }'
}

# ---- (a) the junk flood --------------------------------------------------------------------

# flood ROUTE VALID_TOKEN JUNK_TOKEN…
flood() {
  local route=$1 valid=$2 out=$WORK/flood.out status=0 before after junk=()
  shift 2
  for token in "$@"; do
    junk+=(--junk "$token")
  done
  before="$(rss_kib "$SERVER_PID")"
  log "== (a) $FLOOD_CONCURRENCY junk requests at once on $route"
  run_bounded $((FLOOD_TIMEOUT + 30)) "$out" "$CLIENT" flood --url "$SERVER_BASE$route" \
    --jwt "$RS256_TOKEN" --valid "$valid" "${junk[@]}" \
    --concurrency "$FLOOD_CONCURRENCY" --timeout "$FLOOD_TIMEOUT" --seed "$FLOOD_SEED" \
    --expect 400,401 || status=$?
  after="$(rss_kib "$SERVER_PID")"
  report "" "### Junk flood on $route" ""
  report "$(cat "$out")"
  report "" "server VmRSS $(mib "$before") MiB before, $(mib "$after") MiB after"
  if [ "$status" != 0 ]; then
    FAILURES+=("junk flood on $route: load_client exited $status (see above)")
  fi
}

# On /rs256 every other route's token is junk, and so are correctly signed tokens that are
# expired or for another audience; on /static the RS256 tokens are.
flood /rs256 "$RS256_TOKEN" "$STATIC_TOKEN" "$RS256_EXPIRED" "$RS256_FOREIGN_AUD"
flood /static "$STATIC_TOKEN" "$RS256_TOKEN" "$RS256_EXPIRED" "$RS256_FOREIGN_AUD"

# ---- (b) the fixed-rate soak ---------------------------------------------------------------

rate_args=(rate --url "$SERVER_BASE/rs256-cached" --url "$SERVER_BASE/rs256" --token "$RS256_TOKEN"
  --rate "$SOAK_RATE" --connections "$SOAK_CONNECTIONS" --expect 200)

log "== (b) warm-up: ${WARMUP_SECONDS}s at $SOAK_RATE requests/s per route"
status=0
run_bounded $((WARMUP_SECONDS + 30)) "$WORK/warmup.out" "$CLIENT" "${rate_args[@]}" \
  --seconds "$WARMUP_SECONDS" || status=$?
report "" "### Warm-up: ${WARMUP_SECONDS} s at $SOAK_RATE requests/s per route" ""
report "$(cat "$WORK/warmup.out")"
[ "$status" = 0 ] || FAILURES+=("warm-up: load_client exited $status (see above)")

log "== (b) soak: ${SOAK_SECONDS}s at $SOAK_RATE requests/s per route, VmRSS every ${SAMPLE_EVERY}s"
SAMPLE_T=(0)
SAMPLE_KIB=("$(rss_kib "$SERVER_PID")")
timeout --kill-after=5 $((SOAK_SECONDS + 60)) "$CLIENT" "${rate_args[@]}" --seconds "$SOAK_SECONDS" \
  >"$WORK/soak.out" 2>&1 7>&- 8>&- &
soak_pid=$!
STARTED_PIDS+=("$soak_pid")
started=$SECONDS
next=$SAMPLE_EVERY
while kill -0 "$soak_pid" 2>/dev/null && [ $((SECONDS - started)) -le $((SOAK_SECONDS + 70)) ]; do
  sleep 0.5
  elapsed=$((SECONDS - started))
  if [ "$elapsed" -ge "$next" ] && [ "$elapsed" -lt "$SOAK_SECONDS" ]; then
    SAMPLE_T+=("$elapsed")
    SAMPLE_KIB+=("$(rss_kib "$SERVER_PID")")
    next=$((next + SAMPLE_EVERY))
  fi
done
status=0
wait "$soak_pid" || status=$?
forget_pid "$soak_pid"
SAMPLE_T+=("$((SECONDS - started)) (end)")
SAMPLE_KIB+=("$(rss_kib "$SERVER_PID")")
report "" "### Soak: ${SOAK_SECONDS} s at $SOAK_RATE requests/s per route ($SOAK_CONNECTIONS connections each), latency from the time each request was due" ""
report "$(cat "$WORK/soak.out")"
[ "$status" = 0 ] || FAILURES+=("soak: load_client exited $status (see above)")

start_kib=${SAMPLE_KIB[0]}
end_kib=${SAMPLE_KIB[${#SAMPLE_KIB[@]} - 1]}
limit_kib=$((start_kib + start_kib * RSS_GROWTH_PCT / 100 + RSS_SLACK_MIB * 1024))
report "" "### Server resident memory (VmRSS, pid $SERVER_PID)" "" "| t (s) | VmRSS MiB | change MiB |" "|---|---:|---:|"
for i in "${!SAMPLE_T[@]}"; do
  report "| ${SAMPLE_T[$i]} | $(mib "${SAMPLE_KIB[$i]}") | $(awk -v a="${SAMPLE_KIB[$i]}" -v b="$start_kib" 'BEGIN { printf "%+.1f", (a - b) / 1024 }') |"
done
report "" "bound: end ≤ start × (1 + ${RSS_GROWTH_PCT} %) + ${RSS_SLACK_MIB} MiB = $(mib "$limit_kib") MiB; end $(mib "$end_kib") MiB"
if [ "$end_kib" -gt "$limit_kib" ]; then
  FAILURES+=("memory: VmRSS grew from $(mib "$start_kib") MiB to $(mib "$end_kib") MiB, above the bound of $(mib "$limit_kib") MiB")
fi

echo
echo "Soak: $(describe_run)"
cat "$REPORT"
echo
finish "junk floods answered only 400/401 within ${FLOOD_TIMEOUT} s; the soak answered only 200; memory within the bound."
