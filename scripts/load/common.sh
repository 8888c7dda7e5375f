# shellcheck shell=bash
# Shared by scripts/load.sh and scripts/soak.sh (sourced, not run): building the load examples,
# starting the servers, and cleaning up after them.
#
# Safety rules both scripts keep:
#   - everything is on 127.0.0.1: the servers bind loopback, the clients refuse other hosts;
#   - every client run is wrapped in `timeout`;
#   - the servers exit on stdin EOF: their stdin is a FIFO whose only writer is this shell (fd 7
#     for load_server, fd 8 for the Python reference), so they go when the script goes, even if
#     it is killed with SIGKILL;
#   - the EXIT trap signals exactly the PIDs this script started (STARTED_PIDS), never a name.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
EXAMPLES_DIR="$TARGET_DIR/release/examples"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/axum-bearer-load.XXXXXX")"
STARTED_PIDS=()

cleanup() {
  local pid status=$?
  # Closing the FIFOs' write ends makes both servers exit on their own; the signals are for
  # anything still running (a client under `timeout`, a server that ignores its stdin).
  exec 7>&- 8>&-
  for pid in "${STARTED_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${STARTED_PIDS[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
  return "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log() {
  printf '%s\n' "$*" >&2
}

die() {
  log "error: $*"
  exit 1
}

# Enough file descriptors for 1 000 connections on each side.
raise_fd_limit() {
  local soft hard
  soft="$(ulimit -Sn)"
  hard="$(ulimit -Hn)"
  if [ "$soft" != unlimited ] && [ "$soft" -lt 8192 ]; then
    if [ "$hard" = unlimited ] || [ "$hard" -ge 8192 ]; then
      ulimit -Sn 8192
    else
      ulimit -Sn "$hard"
    fi
  fi
}

# Builds load_server and load_client (release) unless NO_BUILD=1.
build_examples() {
  if [ "${NO_BUILD:-0}" = 1 ]; then
    log "== NO_BUILD=1: using $EXAMPLES_DIR as built"
  else
    log "== cargo build --release --features testing,cache --example load_server --example load_client"
    (cd "$REPO_ROOT" && cargo build --release --features testing,cache \
      --example load_server --example load_client) 7>&- 8>&-
  fi
  [ -x "$EXAMPLES_DIR/load_server" ] || die "$EXAMPLES_DIR/load_server is missing"
  [ -x "$EXAMPLES_DIR/load_client" ] || die "$EXAMPLES_DIR/load_client is missing"
}

# wait_for_line FILE PATTERN PID SECONDS: waits until FILE has a line matching PATTERN (ERE)
# while PID lives; fails after SECONDS.
wait_for_line() {
  local file=$1 pattern=$2 pid=$3 seconds=$4 tries
  tries=$((seconds * 10))
  while [ "$tries" -gt 0 ]; do
    if grep -Eq "$pattern" "$file" 2>/dev/null; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
    tries=$((tries - 1))
  done
  return 1
}

# json_field NAME FILE: a string or number field of the one-line JSON in FILE (values without
# quotes, commas or braces, as load_server prints them).
json_field() {
  sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" "$2" | head -n 1
}

# Starts load_server; sets SERVER_PID, SERVER_BASE, STATIC_TOKEN, RS256_TOKEN, RS256_EXPIRED,
# RS256_FOREIGN_AUD.
start_load_server() {
  local fifo=$WORK/load_server.stdin out=$WORK/load_server.json
  mkfifo "$fifo"
  exec 7<>"$fifo"
  "$EXAMPLES_DIR/load_server" <"$fifo" >"$out" 2>"$WORK/load_server.log" 7>&- 8>&- &
  SERVER_PID=$!
  STARTED_PIDS+=("$SERVER_PID")
  if ! wait_for_line "$out" '"port":' "$SERVER_PID" 60; then
    cat "$WORK/load_server.log" >&2 || true
    die "load_server did not start"
  fi
  SERVER_BASE="$(json_field base "$out")"
  STATIC_TOKEN="$(json_field static_token "$out")"
  RS256_TOKEN="$(json_field rs256_token "$out")"
  # shellcheck disable=SC2034 # for soak.sh
  RS256_EXPIRED="$(json_field rs256_expired "$out")"
  # shellcheck disable=SC2034 # for soak.sh
  RS256_FOREIGN_AUD="$(json_field rs256_foreign_aud "$out")"
  case "$SERVER_BASE" in
    http://127.0.0.1:*) ;;
    *) die "load_server printed an unexpected base URL: $SERVER_BASE" ;;
  esac
  if [ -z "$RS256_TOKEN" ] || [ -z "$STATIC_TOKEN" ]; then
    die "load_server printed no tokens"
  fi
  log "== load_server pid $SERVER_PID on $SERVER_BASE (keys: $(json_field keys "$out"))"
}

# Starts the MCP Python SDK reference server (tests/parity/reference_server.py) with the venv of
# tests/parity/setup-venv.sh; sets REFERENCE_PID and REFERENCE_BASE. Its verifier accepts the
# fixture tokens of that file (`tok-read` has the scope `/mcp` requires).
start_reference_server() {
  local fifo=$WORK/reference.stdin out=$WORK/reference.out port
  local venv="${PARITY_VENV:-$TARGET_DIR/parity-venv}"
  PARITY_VENV="$venv" bash "$REPO_ROOT/tests/parity/setup-venv.sh" 7>&- 8>&- ||
    die "tests/parity/setup-venv.sh failed"
  mkfifo "$fifo"
  exec 8<>"$fifo"
  "$venv/bin/python" "$REPO_ROOT/tests/parity/reference_server.py" \
    <"$fifo" >"$out" 2>"$WORK/reference.log" 7>&- 8>&- &
  REFERENCE_PID=$!
  STARTED_PIDS+=("$REFERENCE_PID")
  if ! wait_for_line "$out" '^LISTENING [0-9]+$' "$REFERENCE_PID" 60; then
    cat "$WORK/reference.log" >&2 || true
    die "the Python reference server did not start"
  fi
  port="$(sed -n 's/^LISTENING \([0-9][0-9]*\)$/\1/p' "$out" | head -n 1)"
  REFERENCE_BASE="http://127.0.0.1:$port"
  log "== Python reference server pid $REFERENCE_PID on $REFERENCE_BASE"
}

# VmRSS of PID in KiB.
rss_kib() {
  awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# A header for the results: when, where, what.
describe_run() {
  local commit
  commit="$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  if [ -n "$(git -C "$REPO_ROOT" status --porcelain -- src Cargo.toml 2>/dev/null)" ]; then
    commit="$commit (src/ or Cargo.toml modified)"
  fi
  echo "$(date -u '+%Y-%m-%d %H:%M:%S UTC'), commit $commit, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

# forget_pid PID: drops PID from STARTED_PIDS once it has been waited for (it may be reused).
forget_pid() {
  local kept=() pid
  for pid in "${STARTED_PIDS[@]}"; do
    [ "$pid" = "$1" ] || kept+=("$pid")
  done
  STARTED_PIDS=("${kept[@]}")
}

# run_bounded SECONDS OUT COMMAND...: runs COMMAND under `timeout SECONDS`, stdout and stderr to
# OUT, as a tracked background job (so a signal to this script stops it at once); returns its
# exit status (124 on timeout).
run_bounded() {
  local seconds=$1 out=$2 pid status=0
  shift 2
  timeout --kill-after=5 "$seconds" "$@" >"$out" 2>&1 7>&- 8>&- &
  pid=$!
  STARTED_PIDS+=("$pid")
  wait "$pid" || status=$?
  forget_pid "$pid"
  return "$status"
}

# is_uint VALUE: a positive integer.
is_uint() {
  case "$1" in
    '' | *[!0-9]* | 0*) return 1 ;;
    *) return 0 ;;
  esac
}

# The checks that failed, each a line; `finish` reports them.
FAILURES=()

# Prints every failed check and exits 1, or prints "OK: <what held>".
finish() {
  if [ "${#FAILURES[@]}" -gt 0 ]; then
    for failure in "${FAILURES[@]}"; do
      echo "FAIL: $failure"
    done
    exit 1
  fi
  echo "OK: $1"
}
