#!/usr/bin/env bash
# Runs the packaged /etc/logrotate.d/dbproxy on a scratch audit file (path and su user
# substituted) twice with --force and checks the result: the live file is emptied in place
# (same inode: dbproxyd keeps it open), the first rotation is kept uncompressed
# (delaycompress), older ones are compressed.
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
  "$source_dir/packaging/logrotate/dbproxy" >"$work/dbproxy.conf"
grep -q "$work/log/audit.log" "$work/dbproxy.conf" || { echo "FAIL: no audit.log stanza"; exit 1; }

echo '{"seq":1}' >"$work/log/audit.log"
inode=$(stat -c %i "$work/log/audit.log")
"$logrotate" --force --state "$work/state" "$work/dbproxy.conf"
echo '{"seq":2}' >>"$work/log/audit.log"
"$logrotate" --force --state "$work/state" "$work/dbproxy.conf"

status=0
[[ $(stat -c %i "$work/log/audit.log") == "$inode" ]] || { echo "FAIL: audit.log was replaced"; status=1; }
[[ ! -s $work/log/audit.log ]] || { echo "FAIL: audit.log was not emptied"; status=1; }
[[ $(cat "$work/log/audit.log.1" 2>&1) == '{"seq":2}' ]] || { echo "FAIL: audit.log.1: $(ls "$work/log")"; status=1; }
[[ $(gzip -dc "$work/log/audit.log.2.gz" 2>&1) == '{"seq":1}' ]] || { echo "FAIL: audit.log.2.gz: $(ls "$work/log")"; status=1; }
if ((status == 0)); then
  files=("$work"/log/*)
  echo "ok: logrotate $($logrotate --version 2>&1 | head -1 | awk '{print $2}'): ${files[*]##*/}"
fi
exit $status
