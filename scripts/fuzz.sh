#!/usr/bin/env bash
# Fuzzing with cargo-fuzz (libFuzzer) on the nightly toolchain; the targets are in
# fuzz/fuzz_targets, their corpora in fuzz/corpus/<target> (docs/testing.md,
# "Fuzzing").
#
#   bash scripts/fuzz.sh brief                    build every target, replay its corpus
#                                                 and fuzz it for BRIEF_SECONDS (15) more;
#                                                 fails on any crash, hang or OOM
#   bash scripts/fuzz.sh long <target> [seconds]  a campaign (default 1800 s) that grows
#                                                 fuzz/corpus/<target>; prints execs and
#                                                 coverage (RUNS=N: stop after N execs)
#   bash scripts/fuzz.sh cmin <target>            minimise fuzz/corpus/<target> (edges)
#   bash scripts/fuzz.sh list                     the targets
#
# Built without a sanitizer: the code is safe Rust (unsafe_code is denied), so
# AddressSanitizer would only check the dependencies' unsafe code, for instrumenting
# every memory access and a second full build. Debug assertions and overflow checks
# stay on.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT/fuzz"

CARGO_FUZZ_VERSION=0.13.2
BRIEF_SECONDS="${BRIEF_SECONDS:-15}"
BUILD_FLAGS=(--sanitizer none --debug-assertions)
TRIPLE="$(rustc +nightly -vV | sed -n 's/^host: //p')"
BIN_DIR="$ROOT/fuzz/target/$TRIPLE/release"
# A hang is an input taking this long; libFuzzer's default memory limit (2 GiB) stays.
LIBFUZZER_FLAGS=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1)

if ! cargo +nightly fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  cargo +nightly install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

targets() {
  cargo +nightly fuzz list
}

# The libFuzzer flags and dictionary of one target.
flags_for() {
  local target="$1"
  local flags=("${LIBFUZZER_FLAGS[@]}" "-artifact_prefix=$ROOT/fuzz/artifacts/$target/")
  if [ -f "$ROOT/fuzz/dict/$target.dict" ]; then
    flags+=("-dict=$ROOT/fuzz/dict/$target.dict")
  fi
  mkdir -p "$ROOT/fuzz/artifacts/$target"
  printf '%s\n' "${flags[@]}"
}

# The figures of a finished run: executions and final coverage.
summarise() {
  local target="$1" log="$2"
  local execs cov ft
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  cov="$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)"
  ft="$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)"
  echo "fuzz: $target: ${execs:-?} execs, cov ${cov:-?}, ft ${ft:-?}"
}

case "${1:-}" in
  brief)
    started=$(date +%s)
    cargo +nightly fuzz build "${BUILD_FLAGS[@]}"
    echo "fuzz: built every target in $(( $(date +%s) - started )) s"
    # New inputs go to a scratch directory: the committed corpora change only by a
    # long campaign and cmin.
    for target in $(targets); do
      scratch="$ROOT/fuzz/target/brief-corpus/$target"
      rm -rf "$scratch" && mkdir -p "$scratch"
      log="$ROOT/fuzz/target/brief-$target.log"
      mapfile -t flags < <(flags_for "$target")
      if ! "$BIN_DIR/$target" "${flags[@]}" -max_total_time="$BRIEF_SECONDS" \
        "$scratch" "$ROOT/fuzz/corpus/$target" >"$log" 2>&1; then
        tail -40 "$log"
        echo "fuzz: $target failed; the input is in fuzz/artifacts/$target/ (log: $log)"
        exit 1
      fi
      summarise "$target" "$log"
    done
    echo "fuzz: brief run passed in $(( $(date +%s) - started )) s"
    ;;
  long)
    target="${2:?usage: fuzz.sh long <target> [seconds]}"
    seconds="${3:-1800}"
    cargo +nightly fuzz build "${BUILD_FLAGS[@]}" "$target"
    mkdir -p "$ROOT/fuzz/corpus/$target"
    log="$ROOT/fuzz/target/long-$target.log"
    mapfile -t flags < <(flags_for "$target")
    echo "fuzz: $target for $seconds s; follow it with: tail -f $log"
    status=0
    # RUNS=10000000 stops at that many executions if it comes first.
    if [ -n "${RUNS:-}" ]; then flags+=("-runs=$RUNS"); fi
    "$BIN_DIR/$target" "${flags[@]}" -max_total_time="$seconds" \
      "$ROOT/fuzz/corpus/$target" >"$log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
      tail -40 "$log"
      echo "fuzz: $target failed; the input is in fuzz/artifacts/$target/"
    fi
    summarise "$target" "$log"
    echo "fuzz: $target: ${seconds} s of one core (log: $log)"
    exit "$status"
    ;;
  cmin)
    # The smallest set of inputs covering every edge the corpus covers (hit counts
    # ignored: keeping an input per count class made corpora ten times larger), so
    # the committed corpora stay small; crash reproducers stay in as they are.
    target="${2:?usage: fuzz.sh cmin <target>}"
    cargo +nightly fuzz build "${BUILD_FLAGS[@]}" "$target"
    corpus="$ROOT/fuzz/corpus/$target"
    minimised="$ROOT/fuzz/target/cmin-$target"
    rm -rf "$minimised" && mkdir -p "$minimised"
    # From fuzz/target: a merge leaves the inputs that crash it in its directory.
    (cd "$ROOT/fuzz/target" && "$BIN_DIR/$target" -set_cover_merge=1 -use_counters=0 \
      -timeout=10 -rss_limit_mb=2048 "$minimised" "$corpus")
    cp "$corpus"/crash-* "$minimised"/ 2>/dev/null || true
    before=$(find "$corpus" -type f | wc -l)
    rm -rf "$corpus" && mv "$minimised" "$corpus"
    echo "fuzz: $target corpus: $before inputs -> $(find "$corpus" -type f | wc -l)"
    ;;
  list)
    targets
    ;;
  *)
    sed -n '2,13p' "$ROOT/scripts/fuzz.sh"
    exit 2
    ;;
esac
