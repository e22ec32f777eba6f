#!/usr/bin/env bash
# Runs dbproxyd under strace through a typical session (start, enrol against the fake
# workspace, whoami, token, admin calls, SIGHUP reload, SIGTERM) and checks what the unit's
# sandbox would refuse: every system call must be in the unit's SystemCallFilter= allow-list,
# and every /proc path outside /proc/<pid>/ and /proc/self/ would be hidden by ProcSubset=pid.
# Without systemd as PID 1 this is how the filter is tested; not run by CTest (needs strace).
#   syscall_check.sh SOURCE_DIR DBPROXYD DBPROXYCTL FAKE_WORKSPACE
set -euo pipefail

source_dir=$1 dbproxyd=$2 dbproxyctl=$3 fake=$4
for tool in strace systemd-analyze curl; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not found"; exit 77; }
done
work=$(mktemp -d)
pids=()
# shellcheck disable=SC2317  # called by the trap
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ -n ${KEEP:-} ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# The allow-list of dbproxyd.service: the first SystemCallFilter= line allows, "~" lines remove,
# later plain lines add back (systemd.exec(5)).
declare -A allowed=()
expand() {  # prints the system calls of a group, recursively
  local item
  for item in $(systemd-analyze syscall-filter "$1" 2>/dev/null | grep -v '^ *#' | tail -n +2); do
    if [[ $item == @* ]]; then expand "$item"; else echo "$item"; fi
  done
}
while read -r value; do
  remove=0
  [[ $value == "~"* ]] && { remove=1; value=${value#\~}; }
  for item in $value; do
    names=$item
    [[ $item == @* ]] && names=$(expand "$item")
    for name in $names; do
      if ((remove)); then unset "allowed[$name]"; else allowed[$name]=1; fi
    done
  done
done < <(sed -n 's/^SystemCallFilter=//p' "$source_dir/systemd/dbproxyd.service")
echo "allow-list from dbproxyd.service: ${#allowed[@]} system calls"

mkdir -p "$work/fake" "$work/policy.d"
secret=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf 'etl-sp-client dose%s\n' "$secret" >"$work/clients"
"$fake" --dir "$work/fake" --clients-file "$work/clients" >"$work/fake.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do [[ -s $work/fake/url ]] && break; sleep 0.1; done
host=$(cat "$work/fake/url") || { echo "FAIL: fake workspace did not start"; cat "$work/fake.log"; exit 1; }
head -c 32 /dev/urandom >"$work/master.key" && chmod 0400 "$work/master.key"
cat >"$work/agent.toml" <<TOML
[agent]
socket = "$work/agent.sock"
admin_socket = "$work/admin.sock"
admin_group = "root"
state_dir = "$work/state"
policy_dir = "$work/policy.d"
key_file = "$work/master.key"
[upstream]
ca_file = "$work/fake/ca.pem"
[audit]
file = "$work/audit.log"
TOML
cat >"$work/policy.d/10-root.toml" <<'TOML'
[[service]]
name = "root-tools"
match = { uid = 0 }
workspace = "prod"
roles = ["reader"]

[[role]]
name = "reader"
credential = "etl-sp"
actions = ["token:all-apis", "token:sql", "clusters.read"]
TOML

strace -f -qq -o "$work/trace" -e trace=all "$dbproxyd" --config "$work/agent.toml" \
  2>"$work/agent.log" &
pids+=($!)
for _ in $(seq 200); do [[ -S $work/admin.sock ]] && break; sleep 0.1; done
ctl() { "$dbproxyctl" --socket "$work/agent.sock" --admin-socket "$work/admin.sock" "$@"; }
printf 'dose%s\n' "$secret" | ctl enroll prod --host "$host" --credential etl-sp \
  --client-id etl-sp-client >/dev/null
ctl status >/dev/null
ctl whoami >/dev/null
ctl token --scope sql >/dev/null
ctl token --scope sql >/dev/null
curl -sf --unix-socket "$work/agent.sock" "http://localhost/api/2.1/clusters/list" \
  -H "X-Dbproxy-Workspace: prod" >/dev/null || echo "note: proxied call failed (proxy mode?)"
ctl explain --uid 0 token:sql >/dev/null || true
ctl reload >/dev/null
kill -HUP "$(pgrep -P "${pids[1]}" -x dbproxyd)"
sleep 0.5
kill -TERM "$(pgrep -P "${pids[1]}" -x dbproxyd)"
wait "${pids[1]}" || true

used=$(sed -n 's/^[0-9]* \([a-z_0-9]*\)(.*/\1/p' "$work/trace" | sort -u)
denied=()
for call in $used; do
  [[ -n ${allowed[$call]:-} ]] || denied+=("$call")
done
echo "system calls used: $(wc -w <<<"$used")"
status=0
if ((${#denied[@]})); then
  echo "FAIL: outside the unit's SystemCallFilter=: ${denied[*]}"
  status=1
fi
proc=$(grep -o '"/proc/[^"]*"' "$work/trace" | tr -d '"' | grep -Ev '^/proc/([0-9]+|self|thread-self)(/|$)' |
  sort -u || true)
if [[ -n $proc ]]; then
  echo "note: /proc paths hidden by ProcSubset=pid (the agent must cope without them):"
  echo "$proc"
fi
echo "attestation: $(grep -c 'openat(AT_FDCWD, "/proc/[0-9]*", O_RDONLY|O_CLOEXEC|O_DIRECTORY)' "$work/trace" || true)" \
  "opens of /proc/<pid> (then openat/readlinkat relative to it)"
exit $status
