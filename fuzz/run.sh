#!/usr/bin/env bash
# Runs every fuzz target (CTI codec, GC parsers) for a while; see docs/FUZZING.md.
#
#   bash fuzz/run.sh [seconds]        # default 30 s per target
#
# FUZZ_SEED=n fixes libFuzzer's random seed and FUZZ_RUNS=n bounds each target to n
# executions (`make test` sets both, so CI replays one fixed, reproducible sequence of
# inputs: a run that passed here passes there; exploring new inputs is `make fuzz`).
#
# * installs cargo-fuzz into .tools/ on first use (pinned version);
# * builds all targets once (libFuzzer + SanitizerCoverage, no sanitizer by
#   default, so the stable toolchain suffices: FUZZ_SANITIZER=address uses ASan
#   through RUSTC_BOOTSTRAP=1 and builds into its own target directory);
# * runs the targets side by side, each for the given number of seconds, on a
#   working corpus under build/fuzz/ seeded from fuzz/corpus/ (which is never
#   written to), so the repository stays clean;
# * prints the executions each target reached and exits non-zero if any target
#   crashed, hung (over 10 s for one input) or ran out of memory. The failing
#   input is kept under build/fuzz/<target>/artifacts/ and printed in hex.
set -euo pipefail

secs=${1:-30}
seed=${FUZZ_SEED:-0}
runs=${FUZZ_RUNS:--1}
case $secs in '' | *[!0-9]*)
  echo "usage: $0 [seconds]" >&2
  exit 2
  ;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fuzz_dir=$root/fuzz
tools=$root/.tools
work=$root/build/fuzz
cargo=${CARGO:-cargo}
cargo_fuzz_version=0.13.2
sanitizer=${FUZZ_SANITIZER:-none}
targets=(frame_splitter decode json gc)
declare -A max_len=([frame_splitter]=32768 [decode]=13000 [json]=16384 [gc]=16384)

# --- cargo-fuzz -----------------------------------------------------------
if ! "$tools/bin/cargo-fuzz" --version 2>/dev/null | grep -qx "cargo-fuzz $cargo_fuzz_version"; then
  echo "fuzz: installing cargo-fuzz $cargo_fuzz_version into $tools"
  "$cargo" install --quiet --locked --force --root "$tools" cargo-fuzz --version "$cargo_fuzz_version"
fi
export PATH="$tools/bin:$PATH"

# --- lock file --------------------------------------------------------------
# fuzz/ is its own workspace with its own Cargo.lock; a build must not rewrite that
# tracked file, so a stale lock is an error here (refresh it with `make fuzz-lock`).
if ! "$cargo" metadata --locked --format-version 1 --manifest-path "$fuzz_dir/Cargo.toml" >/dev/null; then
  echo "fuzz: fuzz/Cargo.lock is stale: run 'make fuzz-lock' and commit it" >&2
  exit 1
fi

# --- build (once; later runs reuse it) ------------------------------------
target_dir=$fuzz_dir/target
if [ "$sanitizer" != none ]; then
  # Sanitizers need -Zsanitizer, a nightly flag; the stable compiler accepts it
  # with RUSTC_BOOTSTRAP=1 (the runtimes ship with the x86_64 Linux toolchain).
  export RUSTC_BOOTSTRAP=1
  target_dir=$fuzz_dir/target-$sanitizer
fi
triple=$(rustc -vV | sed -n 's/^host: //p')
echo "fuzz: building targets (sanitizer: $sanitizer)"
build_start=$SECONDS
(cd "$root" && "$cargo" fuzz build --fuzz-dir "$fuzz_dir" --target-dir "$target_dir" \
  --sanitizer "$sanitizer" --codegen-units 16 --target "$triple")
echo "fuzz: build took $((SECONDS - build_start)) s"
bin_dir=$target_dir/$triple/release

# --- run ------------------------------------------------------------------
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
}
trap cleanup INT TERM

for t in "${targets[@]}"; do
  d=$work/$t
  rm -rf "$d/artifacts" "$d/log.txt"
  mkdir -p "$d/corpus" "$d/artifacts"
  # The seeds are copied, never handed to libFuzzer, which writes new inputs
  # into its first corpus directory.
  cp "$fuzz_dir/corpus/$t"/* "$d/corpus/"
  dict=()
  [ -f "$fuzz_dir/$t.dict" ] && dict=("-dict=$fuzz_dir/$t.dict")
  "$bin_dir/$t" "$d/corpus" "${dict[@]}" \
    -max_total_time="$secs" -seed="$seed" -runs="$runs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -max_len="${max_len[$t]}" -artifact_prefix="$d/artifacts/" \
    >"$d/log.txt" 2>&1 &
  pids+=($!)
done
if [ "$runs" -ge 0 ]; then
  echo "fuzz: running ${targets[*]} for $runs executions each (seed $seed, at most $secs s), side by side on $(nproc) cores"
else
  echo "fuzz: running ${targets[*]} for $secs s each (seed ${seed/#0/random}), side by side on $(nproc) cores"
fi

failed=0
for i in "${!targets[@]}"; do
  t=${targets[$i]}
  d=$work/$t
  rc=0
  wait "${pids[$i]}" || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/log.txt" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$d/log.txt" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$d/log.txt" | tail -1 | cut -d' ' -f2)
  corpus=$(find "$d/corpus" -type f | wc -l)
  printf 'fuzz: %-15s %10s executions (%s/s), coverage %s, corpus %s inputs\n' \
    "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$corpus"
  if [ "$rc" -ne 0 ]; then
    failed=$((failed + 1))
    echo "fuzz: $t FAILED (exit $rc); from $d/log.txt:"
    grep -A2 -E 'panicked at|ERROR: libFuzzer|^SUMMARY' "$d/log.txt" |
      grep -v -E '^ +[0-9]+: |^ +at |^stack backtrace|^--$' | head -20 | sed 's/^/    /'
    for a in "$d"/artifacts/*; do
      [ -f "$a" ] || continue
      echo "fuzz: failing input $a ($(wc -c <"$a") bytes):"
      od -An -tx1 -v "$a" | tr -d ' \n' | fold -w 96 | sed 's/^/    /'
      echo
      echo "fuzz: reproduce with: $bin_dir/$t $a"
    done
  fi
done

passed=$((${#targets[@]} - failed))
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
