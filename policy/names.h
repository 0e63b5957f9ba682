/*
 * policy/names.h: what a device name and an authentication string may look like,
 * per capf.conf (devices { sep, jabber, max_name_length }, auth { string_* }).
 *   SEP names:    "SEP" + 12 hex digits, uppercase (SEP58971ECC97C1), 15 bytes.
 *   Jabber names: "CSF" / "BOT" / "TCT" / "TAB" + 1..(max_name_length - 3) of [A-Za-z0-9._-].
 *   Authentication strings: string_min..string_max bytes; digits only when
 *   auth.digits_only, else printable ASCII without spaces.
 */
#ifndef CAPF_POLICY_NAMES_H
#define CAPF_POLICY_NAMES_H

#include <stddef.h>

#include "policy/config.h"

enum capf_device_kind {
	CAPF_DEVKIND_SEP = 1, /* a phone: CAPF protocol version 3 */
	CAPF_DEVKIND_JABBER,  /* a Jabber softphone: version 2, RSA only */
};

/* 0 and *kind (may be NULL) when name is allowed; -1 and a message naming what is
 * wrong and what is allowed. */
int capf_name_check(const struct capf_conf *c, const char *name, enum capf_device_kind *kind, char *err,
		    size_t errlen);

/* 0 when s is an acceptable authentication string, -1 with a message (which never
 * quotes the string). */
int capf_auth_string_check(const struct capf_conf *c, const char *s, char *err, size_t errlen);

/* A fresh authentication string from the CSPRNG: auth.string_max decimal digits
 * (uniform, no modulo bias), valid under every auth setting. buf needs
 * string_max + 1 bytes. The caller wipes it (OPENSSL_cleanse) after use. */
int capf_auth_string_generate(const struct capf_conf *c, char *buf, size_t len, char *err, size_t errlen);

#endif
