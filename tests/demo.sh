#!/usr/bin/env bash
# The main job, end to end, on this machine:
#   a fake Databricks workspace (HTTPS, its own CA) -> a real dbproxyd -> dbproxyctl enroll
#   -> a client process in the "billing-etl.service" cgroup, under its own uid, gets a token
#   over the Unix socket with nothing but curl -> uses it against the workspace -> makes the same
#   call through dbproxyd (proxy mode: no token in the client) -> audit lines.
# Installs build dependencies and builds first (preset "dev"). Run as root from the repo root.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${DBPROXY_DEMO_BIN:-}  # an existing build tree skips install and build (for development)
if [ -z "$bin" ]; then
  .ci/install-deps
  cmake --preset dev >/dev/null
  cmake --build --preset dev --target dbproxyd dbproxyctl dbproxy-fake-workspace
  bin=build/dev
fi
work=$(mktemp -d /tmp/dbproxy-demo.XXXXXX)
chmod 755 "$work"
cgroup=""
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$cgroup" ] && [ -d "$cgroup" ]; then
    rmdir "$cgroup" "$(dirname "$cgroup")" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. fake Databricks workspace (HTTPS on 127.0.0.1, CA generated now)"
mkdir -p "$work/fake"
secret=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf 'billing-etl-sp dose%s\n' "$secret" > "$work/clients"
"$bin/tests/fake_workspace/dbproxy-fake-workspace" --dir "$work/fake" \
  --clients-file "$work/clients" > "$work/fake.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/fake/url" ] && break; sleep 0.1; done
host=$(cat "$work/fake/url")
echo "workspace: $host"

step "2. dbproxyd with a policy for billing-etl.service"
mkdir -p "$work/policy.d"
cat > "$work/agent.toml" <<TOML
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
cat > "$work/policy.d/billing.toml" <<'TOML'
[[service]]
name = "billing-etl"
match = { unit = "billing-etl.service" }
attributes = { env = "production" }
workspace = "prod"
roles = ["etl"]

[[role]]
name = "etl"
credential = "etl-sp"
actions = ["token:all-apis", "token:sql", "clusters.read"]
TOML
cat "$work/policy.d/billing.toml"
"$bin/agent/dbproxyd" --config "$work/agent.toml" 2> "$work/agent.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$work/admin.sock" ] && break; sleep 0.1; done

ctl() { "$bin/cli/dbproxyctl" --socket "$work/agent.sock" --admin-socket "$work/admin.sock" "$@"; }

step "3. dbproxyctl enroll (secret from stdin, never argv; validated against the workspace)"
printf 'dose%s\n' "$secret" | ctl enroll prod --host "$host" --credential etl-sp --client-id billing-etl-sp
ctl workspaces
echo "credentials.enc contains the secret in clear? $(grep -c "$secret" "$work/state/credentials.enc" || true) matches"

step "4. a client in billing-etl.service (uid 4242) asks for a token with curl"
client='
  set -e
  curl -s --unix-socket "$1/agent.sock" http://localhost/v1/whoami; echo
  answer=$(curl -s --unix-socket "$1/agent.sock" -X POST -d "{}" http://localhost/v1/token)
  token=$(printf "%s" "$answer" | sed -n "s/.*\"access_token\":\"\([^\"]*\)\".*/\1/p")
  echo "token: ${token:0:12}... ($(printf "%s" "$answer" | sed "s/\"access_token\":\"[^\"]*\"/\"access_token\":\"<redacted>\"/"))"
  echo "clusters/list with that token:"
  curl -s --cacert "$1/fake/ca.pem" -H "Authorization: Bearer $token" "$2/api/2.1/clusters/list"; echo
  echo "proxy mode: the same call through dbproxyd, no token in the client at all:"
  curl -s --unix-socket "$1/agent.sock" http://localhost/api/2.1/clusters/list; echo
  echo "proxy mode: clusters/delete is clusters.manage, which the role does not allow:"
  curl -s --unix-socket "$1/agent.sock" -X POST -d "{\"cluster_id\":\"x\"}" http://localhost/api/2.1/clusters/delete; echo
'
for root in /sys/fs/cgroup/unified /sys/fs/cgroup; do
  if [ -f "$root/cgroup.procs" ] && mkdir -p "$root/dbproxy-demo.slice/billing-etl.service" 2>/dev/null; then
    cgroup="$root/dbproxy-demo.slice/billing-etl.service"
    break
  fi
done
if [ -z "$cgroup" ]; then
  echo "cannot create a cgroup here: matching the demo service by uid instead"
  sed -i 's/match = { unit = "billing-etl.service" }/match = { uid = 4242 }/' "$work/policy.d/billing.toml"
  kill -HUP "${pids[1]}"; sleep 0.5
  setpriv --reuid 4242 --regid 4242 --clear-groups bash -c "$client" demo "$work" "$host"
else
  bash -c 'echo $$ > "$0/cgroup.procs"; exec setpriv --reuid 4242 --regid 4242 --clear-groups bash -c "$1" demo "$2" "$3"' \
    "$cgroup" "$client" "$work" "$host"
fi

step "5. a process outside that unit is refused"
setpriv --reuid 4343 --regid 4343 --clear-groups \
  curl -s --unix-socket "$work/agent.sock" -X POST -d '{}' http://localhost/v1/token; echo

step "6. policy: explain a decision; switch the service off for maintenance and back on"
ctl explain --unit billing-etl.service token:sql || true
ctl maintenance on --service billing-etl --reason "demo: rotating the secret" --for 10m
bash -c 'echo $$ > "$0/cgroup.procs" 2>/dev/null; exec setpriv --reuid 4242 --regid 4242 --clear-groups curl -s --unix-socket "$1/agent.sock" -X POST -d "{}" http://localhost/v1/token' \
  "${cgroup:-/nonexistent}" "$work"; echo
ctl maintenance off --service billing-etl

step "7. operators see token metadata, never values"
ctl tokens

step "8. the audit trail: hash-chained JSON lines (last three shown), a table, the chain checked"
tail -n 3 "$work/audit.log"
ctl audit tail -n 12
ctl audit verify "$work/audit.log"
