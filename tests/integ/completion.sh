#!/usr/bin/env bash
# The bash completion of capfctl (dist/bash-completion/capfctl), sourced into
# this bash: COMPREPLY for a few command lines, against the built capfctl.
. tests/lib.sh
. dist/bash-completion/capfctl

# comp WORD...: completes the last word; the candidates, sorted, space-separated.
comp() {
  COMP_WORDS=("$@")
  COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
  COMPREPLY=()
  _capfctl
  printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}
# expect "what" WANTED WORD...: the candidates are exactly WANTED
expect() {
  local what=$1 want=$2; shift 2
  local got
  got=$(comp "$@")
  if [ "$got" = "$want" ]; then ok "$what"; else not_ok "$what: got [$got], wanted [$want]"; fi
}
# expect_has "what" WORD-IN-CANDIDATES WORD...
expect_has() {
  local what=$1 want=$2; shift 2
  local got
  got=$(comp "$@")
  if [[ " $got " == *" $want "* ]]; then ok "$what"; else not_ok "$what: [$want] not in [$got]"; fi
}
C=$BIN/capfctl

check "registered for capfctl" bash -c '. dist/bash-completion/capfctl; complete -p capfctl | grep -q _capfctl'
expect_has "commands: device" device "$C" ""
expect_has "commands: tls" tls "$C" ""
expect_has "commands: report" report "$C" ""
expect "a prefix: de -> device" "device" "$C" de
expect "device's sub-commands" "add cert history list remove reset-lockout set show" "$C" device ""
expect "capf's sub-commands" "adopt csr import regenerate show" "$C" capf ""
expect "audit's sub-commands" "show verify" "$C" audit ""
expect "itl's sub-commands" "build record show" "$C" itl ""
expect "global options skipped: --socket X tls -> issue" "issue" "$C" --socket /x tls ""
expect "--op values from the help" "delete fetch install none" "$C" device add SEP58971ECC97C1 --op ""
expect "--key-order values" "ec ec-rsa rsa" "$C" device set SEP58971ECC97C1 --key-order ""
expect "--curve values with a prefix" "P-384" "$C" device add SEP58971ECC97C1 --curve P-3
expect "an option of tls issue" "--pubkey" "$C" tls issue --pub
expect_has "report --format json" json "$C" report --format ""
expect "global options" "--socket" "$C" --so
mkdir -p "$T_TMP/comp" && : >"$T_TMP/comp/tls.pem" && : >"$T_TMP/comp/tls.key"
expect "a file after --out" "$T_TMP/comp/tls.key $T_TMP/comp/tls.pem" "$C" tls issue --out "$T_TMP/comp/tls."
expect "nothing for a device name" "" "$C" device show SEP
finish
