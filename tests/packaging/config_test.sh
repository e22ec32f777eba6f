#!/usr/bin/env bash
# The packaged /etc/dbproxy/agent.toml and example policy: the file as shipped (all comments) and
# the file with every documented "#key = value" line (and "#[table]" or "#[[table]]" header)
# uncommented must pass
# `dbproxyd check-config`, so each documented key exists and each documented value is accepted.
#   config_test.sh SOURCE_DIR DBPROXYD_BINARY
set -euo pipefail

source_dir=$(realpath "$1")
dbproxyd=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

example_policy="$source_dir/packaging/policy"
check() {
  local config=$1 out
  if ! out=$("$dbproxyd" check-config --config "$config" 2>&1); then
    echo "FAIL: dbproxyd check-config --config $config"; echo "$out"
    echo "--- $config:"; cat -n "$config"
    exit 1
  fi
  echo "ok: $out"
}

# As shipped, but with the example policy directory instead of /etc/dbproxy/policy.d.
sed "s|^\[agent\]|[agent]\npolicy_dir = \"$example_policy\"|" \
  "$source_dir/packaging/agent.toml" >"$work/shipped.toml"
check "$work/shipped.toml"

# The [[saml_idp]] certificate_file is read by check-config: a test certificate stands in.
sed -e 's/^#\([a-z_]* = \)/\1/' -e 's/^#\(\[\{1,2\}[a-z_]*\]\{1,2\}\)$/\1/' \
  -e "s|^policy_dir = .*|policy_dir = \"$example_policy\"|" \
  -e "s|^certificate_file = .*|certificate_file = \"$source_dir/tests/packaging/saml_idp_certificate.pem\"|" \
  "$source_dir/packaging/agent.toml" >"$work/uncommented.toml"
documented=$(grep -c '^[a-z_]* = ' "$work/uncommented.toml")
if ((documented < 20)); then
  echo "FAIL: only $documented documented keys found in agent.toml"; exit 1
fi
check "$work/uncommented.toml"
echo "ok: $documented documented keys accepted"
