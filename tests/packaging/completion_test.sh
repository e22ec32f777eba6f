#!/usr/bin/env bash
# Drives the bash completion of dbproxyctl with stand-ins for the bash-completion helpers it
# uses (_init_completion, _filedir), so the package bash-completion is not needed.
#   completion_test.sh SOURCE_DIR
set -uo pipefail

source_dir=$(realpath "$1")
# The stand-ins are called by the sourced completion function, which reads the variables.
# shellcheck disable=SC2034,SC2317
{
  _init_completion() {
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  }
  _filedir() { COMPREPLY=("<files>"); }
  compopt() { :; }
}
# shellcheck source=/dev/null
source "$source_dir/packaging/completion/dbproxyctl" || exit 1

status=0
# expect "COMMAND LINE (cursor at the end)" "words that must all be offered" ["words that must not"]
expect() {
  local line=$1 want=$2 unwanted=${3:-} word
  read -r -a COMP_WORDS <<<"$line"
  [[ $line == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _dbproxyctl
  for word in $want; do
    if [[ " ${COMPREPLY[*]} " != *" $word "* ]]; then
      echo "FAIL: '$line' does not offer '$word' (got: ${COMPREPLY[*]})"; status=1
    fi
  done
  for word in $unwanted; do
    if [[ " ${COMPREPLY[*]} " == *" $word "* ]]; then
      echo "FAIL: '$line' offers '$word' (got: ${COMPREPLY[*]})"; status=1
    fi
  done
}

expect "dbproxyctl " "enroll workspaces remove tokens status whoami token grant revoke grants maintenance policy explain reload rekey audit"
expect "dbproxyctl e" "enroll explain" "status"
expect "dbproxyctl --json st" "status"
expect "dbproxyctl --socket /tmp/x.sock to" "token tokens"
expect "dbproxyctl enroll prod --" "--host --credential --client-id --secret-file --json" "--scope"
expect "dbproxyctl enroll prod --secret-file " "<files>"
expect "dbproxyctl token --scope " "all-apis sql"
expect "dbproxyctl maintenance " "on off status"
expect "dbproxyctl maintenance on --" "--service --workspace --reason --for"
expect "dbproxyctl maintenance off --" "--service --workspace" "--reason"
expect "dbproxyctl policy " "lint keygen sign verify"
expect "dbproxyctl policy sign --" "--key"
expect "dbproxyctl policy lint " "<files>"
expect "dbproxyctl explain --unit x.service jobs." "jobs.read jobs.run jobs.manage jobs.submit"
expect "dbproxyctl explain --unit x.service files." "files.read files.write"
expect "dbproxyctl grant --" "--for --reason"
expect "dbproxyctl audit " "tail verify"
expect "dbproxyctl audit tail --" "--follow --service --decision --action"
expect "dbproxyctl audit tail --decision " "allow deny error"
expect "dbproxyctl audit verify " "<files>"
expect "dbproxyctl re" "reload rekey remove revoke"
# Every action of the vocabulary (kActions in common/policy/actions.cpp) is offered by explain
# and documented in the action table of docs/policy.md.
actions=$(sed -n '/kActions = {/,/^};/p' "$source_dir/common/policy/actions.cpp" |
  grep -o '"[a-z]*\.[a-z]*"' | tr -d '"' | tr '\n' ' ')
[[ -n $actions ]] || { echo "FAIL: no actions read from actions.cpp"; status=1; }
expect "dbproxyctl explain --unit x.service " "$actions"
for action in $actions; do
  if ! grep -q "\`$action\`" "$source_dir/docs/policy.md"; then
    echo "FAIL: docs/policy.md does not document '$action'"; status=1
  fi
done
[[ $status == 0 ]] && echo "ok: dbproxyctl completion"
exit $status
