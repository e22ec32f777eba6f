#!/usr/bin/env bash
# Runs the packaged /etc/logrotate.d/dbproxy on a scratch audit file (path, su and create owner
# substituted, the postrotate signal replaced by a marker) twice with --force and checks: the
# live file is renamed and recreated 0640, the newest rotation stays uncompressed
# (delaycompress, the agent may still append to it until it reopens), older ones are
# compressed, and the postrotate script ran once per rotation.
#   logrotate_test.sh SOURCE_DIR
# Exit 77 (CTest: skipped) when logrotate is missing.
set -euo pipefail

source_dir=$(realpath "$1")
logrotate=$(command -v logrotate || true)
[[ -z $logrotate && -x /usr/sbin/logrotate ]] && logrotate=/usr/sbin/logrotate
if [[ -z $logrotate ]]; then
  echo "SKIP: logrotate not found (apt-get install logrotate)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 0750 "$work"
mkdir "$work/log"

user=$(id -un) group=$(id -gn)
sed -e "s|/var/log/dbproxy/audit.log|$work/log/audit.log|" \
  -e "s|su dbproxy dbproxy-admin|su $user $group|" \
  -e "s|create 0640 dbproxy dbproxy-admin|create 0640 $user $group|" \
  -e "s|kill -USR1 \"\$pid\"|:|" \
  -e "s|^\(\t*\)pid=.*|\1echo rotated >>$work/signalled; pid=1|" \
  "$source_dir/packaging/logrotate/dbproxy" >"$work/dbproxy.conf"
grep -q "$work/signalled" "$work/dbproxy.conf" || { echo "FAIL: no postrotate MainPID line"; exit 1; }

echo '{"seq":1}' >"$work/log/audit.log"
"$logrotate" --force --state "$work/state" "$work/dbproxy.conf"
echo '{"seq":2}' >>"$work/log/audit.log"
"$logrotate" --force --state "$work/state" "$work/dbproxy.conf"

status=0
check() { [[ $2 == "$3" ]] || { echo "FAIL: $1: '$2', want '$3'"; status=1; }; }
check "audit.log" "$(stat -c '%a %s' "$work/log/audit.log" 2>&1)" "640 0"
check "audit.log.1" "$(cat "$work/log/audit.log.1" 2>&1)" '{"seq":2}'
check "audit.log.2.gz" "$(gzip -dc "$work/log/audit.log.2.gz" 2>&1)" '{"seq":1}'
check "postrotate runs" "$(wc -l <"$work/signalled" 2>&1)" "2"
if ((status == 0)); then
  files=("$work"/log/*)
  echo "ok: logrotate $($logrotate --version 2>&1 | head -1 | awk '{print $2}'): ${files[*]##*/}"
fi
exit $status
