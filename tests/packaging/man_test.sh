#!/usr/bin/env bash
# Renders each man page with `man -l` and fails on any warning from man or groff.
#   man_test.sh SOURCE_DIR
# Exit 77 (CTest: skipped) when man(1) is missing.
set -euo pipefail

source_dir=$(realpath "$1")
if ! command -v man >/dev/null; then
  echo "SKIP: man not found (apt-get install man-db groff-base)"
  exit 77
fi

status=0
for page in "$source_dir"/packaging/man/*.[1-8]; do
  name=$(basename "$page")
  # --warnings turns on groff's warnings; man exits 0 even with them, so stderr decides.
  if ! errors=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$page" 2>&1 >/dev/null); then
    errors=${errors:-"man exited non-zero"}
  fi
  lines=$(MANWIDTH=80 LC_ALL=C.UTF-8 man -l "$page" 2>/dev/null | wc -l)
  if [[ -n $errors ]]; then
    echo "FAIL: $name:"; echo "$errors"; status=1
  elif ((lines < 20)); then
    echo "FAIL: $name renders to only $lines lines"; status=1
  else
    echo "ok: $name ($lines lines at 80 columns)"
  fi
done
exit $status
