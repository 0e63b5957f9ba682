#!/usr/bin/env bash
# Every program answers --version with "NAME VERSION" (VERSION: the top-level file the
# Debian package reads too), exit 0, nothing on stderr; --help mentions --version.
. tests/lib.sh
want=$(cat VERSION)
check "VERSION holds one dotted version" grep -qxE '[0-9]+\.[0-9]+\.[0-9]+' VERSION
for p in capf-signerd capf-frontd capfctl capf-phone capf-token capf-ceremony; do
  "$BIN/$p" --version >"$T_TMP/$p.out" 2>"$T_TMP/$p.err"
  rc=$?
  if [ "$rc" = 0 ] && [ "$(cat "$T_TMP/$p.out")" = "$p $want" ] && [ ! -s "$T_TMP/$p.err" ]; then
    ok "$p --version: $p $want"
  else
    not_ok "$p --version: exit $rc, printed '$(cat "$T_TMP/$p.out" "$T_TMP/$p.err")'"
  fi
  "$BIN/$p" --help >"$T_TMP/$p.help" 2>&1
  check_grep "$p --help mentions --version" '--version' "$T_TMP/$p.help"
done
# a daemon given --version does not start (no config read, no socket)
check "capf-signerd --version reads no configuration" "$BIN/capf-signerd" --version --config /nonexistent/capf.conf
finish
