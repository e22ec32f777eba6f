#!/usr/bin/env bash
# Checks the systemd units: `systemd-analyze verify` (with the man pages of Documentation=) and
# `systemd-analyze security --offline=true` exposure, with and without the exe-matching drop-in.
#   units_test.sh SOURCE_DIR DBPROXYD_BINARY
# Exit 77 (CTest: skipped) when systemd-analyze is missing.
set -euo pipefail

source_dir=$(realpath "$1")
dbproxyd=$(realpath "$2")
readonly max_exposure=1.5            # the unit as shipped
readonly max_exposure_exe=1.9        # with dbproxyd-exe-matching.conf (CAP_SYS_PTRACE)
readonly max_exposure_loopback=2.1   # with dbproxyd-loopback.conf (+ CAP_DAC_READ_SEARCH, AF_NETLINK)

if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze not found (apt-get install systemd)"
  exit 77
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# verify needs ExecStart= to exist: point it at the built binary. Documentation=man:... is
# checked against our own pages through MANPATH.
mkdir -p "$work/units/dbproxyd.service.d" "$work/man/man5" "$work/man/man8"
sed "s#/usr/sbin/dbproxyd#$dbproxyd#" "$source_dir/systemd/dbproxyd.service" \
  >"$work/units/dbproxyd.service"
cp "$source_dir/systemd/dbproxyd.socket" "$source_dir/systemd/dbproxyd-admin.socket" "$work/units/"
cp "$source_dir/packaging/man/"*.5 "$work/man/man5/"
cp "$source_dir/packaging/man/"*.8 "$work/man/man8/"

verify() {
  local out
  out=$(MANPATH="$work/man" systemd-analyze verify "$@" 2>&1) || {
    echo "FAIL: systemd-analyze verify $*"; echo "$out"; exit 1; }
  if [[ -n $out ]]; then
    echo "FAIL: systemd-analyze verify $* printed warnings:"; echo "$out"; exit 1
  fi
}

exposure() {
  systemd-analyze security --offline=true "$1" 2>&1 |
    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}

check_exposure() {
  local label=$1 unit=$2 limit=$3 value
  value=$(exposure "$unit")
  if [[ -z $value ]]; then
    echo "FAIL: no exposure from systemd-analyze security for $label"
    systemd-analyze security --offline=true "$unit" || true
    exit 1
  fi
  echo "systemd-analyze security --offline=true: $label exposure $value (limit $limit)"
  if awk -v v="$value" -v l="$limit" 'BEGIN { exit !(v > l) }'; then
    echo "FAIL: $label exposure $value is above $limit; the settings that cost exposure:"
    systemd-analyze security --offline=true "$unit" 2>&1 | grep '✗' || true
    exit 1
  fi
}

verify "$work/units/dbproxyd.service" "$work/units/dbproxyd.socket" \
  "$work/units/dbproxyd-admin.socket"
echo "systemd-analyze verify: dbproxyd.service dbproxyd.socket dbproxyd-admin.socket clean"
check_exposure "dbproxyd.service" "$work/units/dbproxyd.service" "$max_exposure"
systemd-analyze security --offline=true "$work/units/dbproxyd.service" 2>&1 | grep '✗' || true

# Socket activation: the agent takes the descriptors named "agent" and "admin"; the paths must be
# the defaults documented in the packaged agent.toml.
socket_setting() { sed -n "s/^$2=//p" "$source_dir/systemd/$1"; }
documented() { sed -n "s/^#$1 = \"\(.*\)\"$/\1/p" "$source_dir/packaging/agent.toml"; }
for pair in "dbproxyd.socket agent socket" "dbproxyd-admin.socket admin admin_socket"; do
  read -r unit name key <<<"$pair"
  [[ $(socket_setting "$unit" FileDescriptorName) == "$name" ]] ||
    { echo "FAIL: $unit: FileDescriptorName is not $name"; exit 1; }
  [[ $(socket_setting "$unit" ListenStream) == "$(documented "$key")" ]] ||
    { echo "FAIL: $unit listens on $(socket_setting "$unit" ListenStream), agent.toml says $(documented "$key")"; exit 1; }
done
echo "socket units: names agent/admin, paths as in agent.toml"

# The drop-ins shipped as examples must verify too; verify picks up <unit>.d/*.conf.
cp "$source_dir/systemd/dbproxyd-exe-matching.conf" "$work/units/dbproxyd.service.d/"
verify "$work/units/dbproxyd.service"
check_exposure "with dbproxyd-exe-matching.conf" "$work/units/dbproxyd.service" "$max_exposure_exe"
rm "$work/units/dbproxyd.service.d/dbproxyd-exe-matching.conf"
cp "$source_dir/systemd/dbproxyd-loopback.conf" "$work/units/dbproxyd.service.d/"
verify "$work/units/dbproxyd.service"
check_exposure "with dbproxyd-loopback.conf" "$work/units/dbproxyd.service" "$max_exposure_loopback"
rm "$work/units/dbproxyd.service.d/dbproxyd-loopback.conf"
cp "$source_dir/systemd/dbproxyd-encrypted-key.conf" "$work/units/dbproxyd.service.d/"
verify "$work/units/dbproxyd.service"
echo "systemd-analyze verify: drop-ins dbproxyd-exe-matching.conf dbproxyd-loopback.conf dbproxyd-encrypted-key.conf clean"
