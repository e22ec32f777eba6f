#!/bin/sh
# Runs one libFuzzer target for a few seconds over a temporary copy of its seed corpus, so that
# the inputs it finds never land in the repository. Used by the fuzz_<target> CTest tests.
#   run_fuzz_test.sh BINARY SEED_DIR DICT_OR_EMPTY SECONDS WORK_DIR
set -eu
binary=$1 seeds=$2 dict=$3 seconds=$4 work=$5

if [ ! -x "$binary" ]; then
  echo "fuzz target $binary was not built (see the fuzz_build test)" >&2
  exit 1
fi
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
if [ -d "$seeds" ]; then cp "$seeds"/* "$work/corpus/" 2>/dev/null || true; fi

set -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/"
if [ -n "$dict" ]; then set -- "$@" -dict="$dict"; fi
status=0
"$binary" "$@" "$work/corpus" || status=$?
if [ "$status" -ne 0 ]; then
  echo "FUZZ FINDING in $(basename "$binary"): reproduce with $binary <artifact>; artifacts:" >&2
  ls -l "$work/artifacts" >&2
fi
exit "$status"
