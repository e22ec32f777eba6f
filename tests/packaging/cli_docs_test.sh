#!/usr/bin/env bash
# Every dbproxyctl subcommand (from --help) must be described in dbproxyctl(8) and offered by
# the bash completion. Drift is reported as a skipped test (exit 77) rather than a failure, so
# a new command does not break CI before its documentation lands; the message names it.
#   cli_docs_test.sh SOURCE_DIR DBPROXYCTL
set -euo pipefail

source_dir=$(realpath "$1")
dbproxyctl=$2
help=$("$dbproxyctl" --help)
commands=$(awk '/^Subcommands:/ { on = 1; next } on && NF { print $1 }' <<<"$help")
if [[ -z $commands ]]; then
  echo "FAIL: no subcommands in dbproxyctl --help"; exit 1
fi
man_page="$source_dir/packaging/man/dbproxyctl.8"
completion="$source_dir/packaging/completion/dbproxyctl"
completed=$(sed -n '/local commands="/,/"$/p' "$completion" | sed 's/local commands=//' | tr -d '"')
missing=()
for command in $commands; do
  grep -q "^\.B $command\b" "$man_page" || missing+=("$command (man page)")
  [[ " $(tr -s ' \n' ' ' <<<"$completed") " == *" $command "* ]] || missing+=("$command (completion)")
done
if ((${#missing[@]})); then
  echo "SKIP (documentation drift): not documented: ${missing[*]}"
  exit 77
fi
echo "ok: $(wc -w <<<"$commands") subcommands documented and completed: $(tr '\n' ' ' <<<"$commands")"
