#!/usr/bin/env bash
# A fuzzing campaign: each named target (default: all eight) runs for SECONDS (default 1800) on a
# working corpus seeded from fuzz/corpus/<target>; afterwards fuzz/corpus/<target> is replaced by
# the smallest set of inputs, old and new, that keeps every edge covered (libFuzzer
# -set_cover_merge=1 on edge coverage), plus the hand-written seeds (seed-*).
# Crashes are left in fuzz/artifacts/<target>/. Logs: target/fuzz-campaign/<target>.log, with
# libFuzzer's final statistics (executions, coverage, peak RSS) at the end.
#
#   scripts/fuzz-campaign.sh [SECONDS] [TARGET ...]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`); runs on stable with RUSTC_BOOTSTRAP=1.
# Set FUZZ_NO_BUILD=1 to use the binaries already built (a campaign then ignores later edits),
# FUZZ_MINIMISE_ONLY=1 to only fold a finished campaign's inputs into fuzz/corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-1800}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(authorization_header challenge jwt_claims metadata_url request jwt_differential dpop_proof dpop_request)
fi

if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
  (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz build)
fi
bin_dir=$root/fuzz/target/x86_64-unknown-linux-gnu/release
logs=$root/target/fuzz-campaign
mkdir -p "$logs"

for t in "${targets[@]}"; do
  work=$logs/corpus/$t
  mkdir -p "$work" "$root/fuzz/artifacts/$t"
  if [ "${FUZZ_MINIMISE_ONLY:-0}" = 1 ]; then
    echo "== $t: minimising only"
  else
    echo "== $t: ${seconds}s from $(date -u +%H:%M:%S)"
    set +e
    (cd fuzz && "$bin_dir/$t" "$work" "$root/fuzz/corpus/$t" \
      -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$root/fuzz/artifacts/$t/") >"$logs/$t.log" 2>&1
    status=$?
    set -e
    grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb|#[0-9]+ +DONE)' "$logs/$t.log" || true
    echo "   exit $status; artifacts: $(find "$root/fuzz/artifacts/$t" -type f | wc -l)"
  fi
  # The committed corpus: a minimal set covering every edge the old and new inputs cover.
  minimal=$logs/minimal/$t
  rm -rf "$minimal" && mkdir -p "$minimal"
  if (cd fuzz && "$bin_dir/$t" -set_cover_merge=1 -use_counters=0 "$minimal" \
    "$root/fuzz/corpus/$t" "$work") >"$logs/$t.merge.log" 2>&1; then
    find "$root/fuzz/corpus/$t" -maxdepth 1 -type f ! -name 'seed-*' -delete
    cp -n "$minimal"/* "$root/fuzz/corpus/$t"/ 2>/dev/null || true
  fi
  tail -n 1 "$logs/$t.merge.log"
  echo "   corpus: $(find "$root/fuzz/corpus/$t" -type f | wc -l) inputs"
done
