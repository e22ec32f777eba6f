#!/usr/bin/env bash
# Tests the dbproxy .deb: control fields, conffiles, contents and modes, stripped and hardened
# binaries, lintian (no errors or warnings), then install, reinstall and purge in a throwaway
# root (dpkg --root with --force-script-chrootless: the maintainer scripts run on this host
# with DPKG_ROOT set, and must touch nothing outside it).
#   deb_test.sh PACKAGE.deb
#   deb_test.sh --build SOURCE_DIR      build it first with packaging/build-deb
# Must run as root (dpkg --root). Exit 77 (skipped) when dpkg-deb or root is missing.
set -euo pipefail

if [[ ${1:-} == --build ]]; then
  deb=$("$2/packaging/build-deb")
else
  deb=$1
fi
if ! command -v dpkg-deb >/dev/null || [[ $(id -u) != 0 ]]; then
  echo "SKIP: needs dpkg-deb and root"
  exit 77
fi
deb=$(realpath "$deb")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

echo "== $deb"
# --- control ---------------------------------------------------------------------------------
field() { dpkg-deb --field "$deb" "$1"; }
[[ $(field Package) == dbproxy ]] || fail "Package is $(field Package)"
[[ $(field Version) == 0.1.0-1 ]] || fail "Version is $(field Version)"
[[ $(field Section) == admin ]] || fail "Section is $(field Section)"
depends=$(field Depends)
for dep in libc6 libsodium23 libcurl4 libsystemd0 libtomlplusplus3 libxmlsec1 libxmlsec1-openssl \
    libxml2 adduser; do
  # A whole package name ("libxmlsec1" must not be satisfied by "libxmlsec1-openssl").
  [[ " $depends," =~ [[:space:]]${dep}[[:space:],] ]] || fail "Depends lacks $dep: $depends"
done
ok "control: $(field Package) $(field Version) $(field Architecture); Depends: $depends"

mkdir "$work/control" && dpkg-deb --ctrl-tarfile "$deb" | tar -x -C "$work/control"
expected_conffiles=$'/etc/dbproxy/agent.toml\n/etc/dbproxy/policy.d/00-example.toml\n/etc/logrotate.d/dbproxy'
[[ $(cat "$work/control/conffiles") == "$expected_conffiles" ]] ||
  fail "conffiles: $(cat "$work/control/conffiles")"
for script in postinst prerm postrm; do
  [[ $(stat -c %a "$work/control/$script") == 755 ]] || fail "$script is not 0755"
done
ok "conffiles and maintainer scripts"

# --- contents --------------------------------------------------------------------------------
listing=$(dpkg-deb --contents "$deb")
expect_file() {  # MODE PATH
  local line
  line=$(awk -v p="./${2#/}" '$6 == p { print $1 " " $2 }' <<<"$listing")
  if [[ -z $line ]]; then
    fail "missing $2"
  elif [[ $line != "$1 root/root" ]]; then
    fail "$2 is '$line', want '$1 root/root'"
  fi
}
expect_file -rwxr-xr-x /usr/sbin/dbproxyd
expect_file -rwxr-xr-x /usr/bin/dbproxyctl
expect_file -rw-r--r-- /lib/systemd/system/dbproxyd.service
expect_file -rw-r--r-- /lib/systemd/system/dbproxyd.socket
expect_file -rw-r--r-- /lib/systemd/system/dbproxyd-admin.socket
expect_file -rw-r--r-- /usr/lib/sysusers.d/dbproxy.conf
expect_file -rw-r--r-- /usr/lib/tmpfiles.d/dbproxy.conf
expect_file -rw-r--r-- /etc/dbproxy/agent.toml
expect_file -rw-r--r-- /etc/dbproxy/policy.d/00-example.toml
expect_file -rw-r--r-- /etc/logrotate.d/dbproxy
expect_file -rw-r--r-- /usr/share/man/man8/dbproxyd.8.gz
expect_file -rw-r--r-- /usr/share/man/man8/dbproxyctl.8.gz
expect_file -rw-r--r-- /usr/share/man/man5/dbproxy-policy.5.gz
expect_file -rw-r--r-- /usr/share/bash-completion/completions/dbproxyctl
expect_file -rw-r--r-- /usr/share/doc/dbproxy/copyright
expect_file -rw-r--r-- /usr/share/lintian/overrides/dbproxy
expect_file -rw-r--r-- /usr/share/doc/dbproxy/changelog.Debian.gz
expect_file -rw-r--r-- /usr/share/doc/dbproxy/examples/dbproxyd-exe-matching.conf
expect_file -rw-r--r-- /usr/share/doc/dbproxy/examples/dbproxyd-loopback.conf
expect_file -rw-r--r-- /usr/share/doc/dbproxy/examples/dbproxy-client-example.conf
expect_file -rw-r--r-- /usr/share/doc/dbproxy/examples/dbproxyd-encrypted-key.conf
expect_file -rw-r--r-- /usr/share/doc/dbproxy/README.md
expect_file -rw-r--r-- /usr/share/doc/dbproxy/docs/policy.md
if grep -v '^d' <<<"$listing" | grep -q 'master.key'; then fail "the package ships a master key"; fi
bad_dirs=$(awk '$1 ~ /^d/ && $1 != "drwxr-xr-x" { print $1, $6 }' <<<"$listing")
[[ -z $bad_dirs ]] || fail "directories not 0755: $bad_dirs"
ok "contents: $(grep -vc '^d' <<<"$listing") files"

dpkg-deb --extract "$deb" "$work/data"
for binary in usr/sbin/dbproxyd usr/bin/dbproxyctl; do
  sections=$(readelf -S --wide "$work/data/$binary")
  dynamic=$(readelf -d "$work/data/$binary")
  grep -q '\.debug_\|\.symtab' <<<"$sections" && fail "$binary is not stripped"
  grep -q 'BIND_NOW\|FLAGS.*NOW' <<<"$dynamic" || fail "$binary lacks -z now"
  # Captured first: grep -q closing a pipe early would fail the pipeline (pipefail).
  segments=$(readelf -l "$work/data/$binary")
  header=$(readelf -h "$work/data/$binary")
  symbols=$(readelf --dyn-syms --wide "$work/data/$binary")
  grep -q GNU_RELRO <<<"$segments" || fail "$binary lacks RELRO"
  grep -q 'DYN (Position-Independent' <<<"$header" || fail "$binary is not PIE"
  grep -q '__stack_chk_fail' <<<"$symbols" || fail "$binary lacks the stack protector"
  grep -q '__[a-z]*_chk@' <<<"$symbols" || fail "$binary has no _FORTIFY_SOURCE calls"
done
ok "binaries stripped, PIE, full RELRO, stack protector, fortified"

# --- lintian ---------------------------------------------------------------------------------
if command -v lintian >/dev/null; then
  lintian_out=$(lintian --tag-display-limit 0 "$deb" 2>&1) || true
  if grep -q '^[EW]:' <<<"$lintian_out"; then
    fail "lintian:"; echo "$lintian_out"
  else
    ok "lintian $(lintian --version | awk '{print $2}'): no errors or warnings${lintian_out:+ (${lintian_out//$'\n'/; })}"
  fi
else
  echo "note: lintian not installed, skipped (apt-get install lintian)"
fi

# --- install, reinstall, purge in a throwaway root --------------------------------------------
root="$work/root"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/etc"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
# The host's libraries are not in the root, so dependencies cannot be satisfied there.
dpkg_root() { dpkg --root="$root" --force-script-chrootless --force-depends "$@"; }

# Snapshot of host state the scripts must not touch.
host_state() {
  getent passwd dbproxy || true
  ls -l /etc/dbproxy /var/lib/dbproxy /var/log/dbproxy 2>/dev/null || true
  ls /etc/systemd/system/multi-user.target.wants 2>/dev/null || true
}
host_before=$(host_state)

if ! out=$(dpkg_root --install "$deb" 2>&1); then
  fail "dpkg --install:"; echo "$out"
fi
grep -q '^dbproxy:x:[0-9]*:[0-9]*:dbproxy credential agent:/var/lib/dbproxy:/usr/sbin/nologin$' \
  "$root/etc/passwd" || fail "no dbproxy user in $root/etc/passwd: $(cat "$root/etc/passwd" 2>&1)"
admin_gid=$(awk -F: '$1 == "dbproxy-admin" { print $3 }' "$root/etc/group")
[[ -n $admin_gid ]] || fail "no dbproxy-admin group"
[[ $(awk -F: '$1 == "dbproxy" { print $4 }' "$root/etc/passwd") == "$admin_gid" ]] ||
  fail "dbproxy's primary group is not dbproxy-admin"
key="$root/etc/dbproxy/master.key"
[[ $(stat -c '%a %U %s' "$key" 2>&1) == "400 root 32" ]] || fail "master key: $(stat -c '%a %U %s' "$key" 2>&1)"
dbproxy_uid=$(awk -F: '$1 == "dbproxy" { print $3 }' "$root/etc/passwd")
for dir in "700 var/lib/dbproxy" "750 var/log/dbproxy" "755 run/dbproxy"; do
  want="${dir%% *} $dbproxy_uid $admin_gid"
  got=$(stat -c '%a %u %g' "$root/${dir#* }" 2>&1)
  [[ $got == "$want" ]] || fail "/${dir#* }: '$got', want '$want'"
done
[[ -L $root/etc/systemd/system/multi-user.target.wants/dbproxyd.service ]] ||
  fail "dbproxyd.service is not enabled"
[[ -e $root/etc/systemd/system/sockets.target.wants/dbproxyd.socket ]] &&
  fail "dbproxyd.socket is enabled (it is optional)"
ok "install: user, group, directories, master key, service enabled"

# A reinstall (postinst configure with the old version) keeps the key and edited conffiles.
key_sum=$(sha256sum <"$key")
echo '# local edit' >>"$root/etc/dbproxy/agent.toml"
if ! out=$(dpkg_root --install "$deb" 2>&1); then
  fail "dpkg --install (again):"; echo "$out"
fi
[[ $(sha256sum <"$key") == "$key_sum" ]] || fail "reinstall replaced the master key"
grep -q '^# local edit' "$root/etc/dbproxy/agent.toml" || fail "reinstall lost a conffile edit"
ok "reinstall keeps the master key and conffile edits"

if ! out=$(dpkg_root --purge dbproxy 2>&1); then
  fail "dpkg --purge:"; echo "$out"
fi
left=$(cd "$root" && { find etc/dbproxy var/lib/dbproxy var/log/dbproxy run/dbproxy usr lib \
  etc/systemd etc/logrotate.d -mindepth 0 ! -type d 2>/dev/null || true; })
[[ -z $left ]] || fail "left after purge: $left"
ok "purge removes files, key, state, logs and the enablement"

[[ $(host_state) == "$host_before" ]] || fail "the maintainer scripts changed the host"

if ((failures)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "deb_test: all checks passed"
