#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan, coverage over the whole
# tree) in build-fuzz/ and runs each for ${FUZZ_SECONDS:-60} seconds on its
# corpus: the seeds and regression inputs of fuzz/corpus/<target>/ (read only)
# plus build-fuzz/corpus/<target>/ (what the fuzzer finds, kept between runs).
# Crash inputs land in build-fuzz/artifacts/; copy one to
# fuzz/corpus/<target>/crash-<what> once fixed and it becomes part of the
# fuzz_corpus_<target> unit test. Usage: fuzz/run-all.sh [target...]
# Env: FUZZ_SECONDS, FUZZ_BUILD (build dir), FUZZ_JOBS (build -j, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
B=${FUZZ_BUILD:-$SRC/build-fuzz}
SECS=${FUZZ_SECONDS:-60}
ALL="qcow2 virtqueue virtio_blk virtio_net virtio_scsi boot fw_cfg qmp iso9660 bootcfg"
TARGETS=${*:-$ALL}

mkdir -p "$B"
cmake -S "$SRC" -B "$B" -DCMAKE_C_COMPILER=clang -DVMM_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -Wno-error" \
  >"$B/fuzz-cmake.log" 2>&1 || { cat "$B/fuzz-cmake.log"; exit 1; }
build_targets=""
for t in $TARGETS; do build_targets="$build_targets --target fuzz_$t"; done
# shellcheck disable=SC2086
cmake --build "$B" -j"${FUZZ_JOBS:-2}" $build_targets >"$B/fuzz-build.log" 2>&1 || { tail -50 "$B/fuzz-build.log"; exit 1; }

mkdir -p "$B/artifacts"
failed=""
for t in $TARGETS; do
  mkdir -p "$B/corpus/$t"
  log="$B/fuzz_$t.log"
  echo "fuzz_$t: ${SECS}s"
  if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
      "$B/fuzz/fuzz_$t" -max_total_time="$SECS" -timeout=20 -rss_limit_mb=2560 -max_len=1100000 \
      -print_final_stats=1 -artifact_prefix="$B/artifacts/$t-" \
      "$B/corpus/$t" "$SRC/fuzz/corpus/$t" >"$log" 2>&1; then
    echo "fuzz_$t: FAILED (log $log)"; grep -m5 -E 'ERROR|runtime error|SUMMARY' "$log" || tail -20 "$log"
    failed="$failed $t"
  else
    grep -E 'stat::number_of_executed_units|cov:' "$log" | tail -2 | tr '\n' ' '; echo
  fi
done
if [ -n "$failed" ]; then
  echo "fuzz: crashes in:$failed (inputs in $B/artifacts/)"
  exit 1
fi
echo "fuzz: all targets ran ${SECS}s without a crash"
