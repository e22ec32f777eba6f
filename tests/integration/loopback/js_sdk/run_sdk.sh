#!/usr/bin/env bash
# run_sdk.sh INSTALL_DIR [sdk_client.mjs args...]
#
# Installs the pinned @databricks/sdk-experimental into INSTALL_DIR (never into the source tree),
# then runs sdk_client.mjs from there with the caller's environment. Prints the client's one
# JSON line on stdout and exits with its status. Exits 77 (CTest's skip code) when node or npm is
# missing, 2 on a bad call or a failed install (npm's output goes to stderr).
set -euo pipefail

if [ $# -lt 1 ] || [ -z "$1" ]; then
  echo "usage: run_sdk.sh INSTALL_DIR [--install-only | --jobs] [--timeout=SECONDS]" >&2
  exit 2
fi
install_dir=$1
shift

for tool in node npm; do
  if ! command -v "$tool" > /dev/null 2>&1; then
    echo "run_sdk.sh: $tool not found on PATH; skipping the JavaScript SDK test" >&2
    exit 77
  fi
done

src_dir=$(realpath "$(dirname "${BASH_SOURCE[0]}")")
install_dir=$(realpath -m "$install_dir")
case "$install_dir/" in
  "$src_dir"/*)
    echo "run_sdk.sh: INSTALL_DIR must be outside $src_dir" >&2
    exit 2
    ;;
esac
mkdir -p "$install_dir"

# Tests may share one INSTALL_DIR: install under a lock, and rewrite a file only when it changed
# so that a client already starting from it never reads a half-copied script.
(
  flock 9
  for f in package.json package-lock.json sdk_client.mjs; do
    cmp -s "$src_dir/$f" "$install_dir/$f" || cp "$src_dir/$f" "$install_dir/$f"
  done
  locked_version=$(node -p \
    'require(process.argv[1]).packages["node_modules/@databricks/sdk-experimental"].version' \
    "$install_dir/package-lock.json")
  installed_version=$(node -p 'try { require(process.argv[1]).version } catch { "" }' \
    "$install_dir/node_modules/@databricks/sdk-experimental/package.json")
  if [ "$installed_version" != "$locked_version" ]; then
    # The package declares engines node>=22 but works on node 20 (see README.md); npm only warns.
    if ! (cd "$install_dir" && npm ci --omit=dev --no-audit --no-fund --engine-strict=false \
          --loglevel=error) >&2; then
      echo "run_sdk.sh: npm ci failed in $install_dir" >&2
      exit 2
    fi
  fi
) 9> "$install_dir/.install.lock"

# --install-only: prepare INSTALL_DIR (as root, say) for clients run later as other users,
# which then start `node INSTALL_DIR/sdk_client.mjs` themselves.
if [ "${1:-}" = "--install-only" ]; then exit 0; fi
exec node "$install_dir/sdk_client.mjs" "$@"
