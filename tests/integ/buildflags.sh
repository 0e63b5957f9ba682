#!/usr/bin/env bash
# The Makefile takes CPPFLAGS/CFLAGS/LDFLAGS from the command line and from the
# environment (dpkg-buildflags) and appends them to its own: the hardening flags
# and -Werror stay, the module's own target flags too. `make -n` prints the commands.
. tests/lib.sh
B=$T_TMP/b
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CFLAGS -u CPPFLAGS -u LDFLAGS -u SANITIZE "$@"; }

mk make -n -B BUILD="$B" CFLAGS="-O1 -DCAPF_USER_CFLAGS" CPPFLAGS=-DCAPF_USER_CPPFLAGS \
  "$B/obj/appliance/common/log.o" "$B/obj/appliance/common/version.o" >"$T_TMP/cc.out" 2>&1
grep -E ' -c -o [^ ]*/log\.o ' "$T_TMP/cc.out" >"$T_TMP/log.cmd"
grep -E ' -c -o [^ ]*/version\.o ' "$T_TMP/cc.out" >"$T_TMP/version.cmd"
for f in -Werror -Wall -Wextra -fstack-protector-strong -D_FORTIFY_SOURCE=2 -DCAPF_USER_CFLAGS -DCAPF_USER_CPPFLAGS; do
  check_grep "command line: compile has $f" " $f( |$)" "$T_TMP/log.cmd"
done
check_grep "user CFLAGS come after the project's (-O1 after -O2 wins)" ' -O2 .* -O1 ' "$T_TMP/log.cmd"
check_grep "a module's target flag stays with the user's CPPFLAGS" '-DCAPF_USER_CPPFLAGS.*-DCAPF_VERSION=' "$T_TMP/version.cmd"

mk env CFLAGS=-DCAPF_ENV_CFLAGS make -n -B BUILD="$B" "$B/obj/appliance/common/log.o" >"$T_TMP/env.out" 2>&1
check_grep "environment: CFLAGS appended, -Werror kept" ' -Werror .* -DCAPF_ENV_CFLAGS' "$T_TMP/env.out"

mk make -n -B BUILD="$B" LDFLAGS=-Wl,-z,capfuserflag "$B/bin/capf-token" "$B/lib/capfhsm.so" >"$T_TMP/ld.out" 2>&1
check_grep "link: relro/now kept, user LDFLAGS appended" '-pie .*-Wl,-z,relro,-z,now.* -Wl,-z,capfuserflag .*-o [^ ]*/capf-token ' "$T_TMP/ld.out"
check_grep "shared object: user LDFLAGS too" '-shared .* -Wl,-z,capfuserflag .*-o [^ ]*/capfhsm\.so ' "$T_TMP/ld.out"
finish
