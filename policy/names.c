/* policy/names.c: device-name and authentication-string rules (see names.h). */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "policy/names.h"

static const char *const jabber_prefixes[] = { "CSF", "BOT", "TCT", "TAB" };

static int is_uhex(int ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'F');
}

static int is_jabber_char(int ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' ||
	       ch == '_' || ch == '-';
}

/* The name as it may appear in a message: printable ASCII, anything else as '?'
 * (the name comes from the network; messages end up in logs). */
static const char *shown(const char *name, char *buf, size_t len)
{
	size_t i;

	for (i = 0; name[i] != '\0' && i + 1 < len; i++)
		buf[i] = name[i] > 0x20 && name[i] < 0x7f ? name[i] : '?';
	buf[i] = '\0';
	return buf;
}

int capf_name_check(const struct capf_conf *c, const char *name, enum capf_device_kind *kind, char *err,
		    size_t errlen)
{
	char sb[CAPF_DEVICE_NAME_MAX + 1];
	size_t len;

	if (name == NULL || name[0] == '\0') {
		snprintf(err, errlen, "device name is empty");
		return -1;
	}
	len = strnlen(name, CAPF_DEVICE_NAME_MAX + 1);
	if (len > CAPF_DEVICE_NAME_MAX) {
		snprintf(err, errlen, "device name is longer than %d bytes", CAPF_DEVICE_NAME_MAX);
		return -1;
	}
	if (strncmp(name, "SEP", 3) == 0) {
		if (!c->devices.sep) {
			snprintf(err, errlen, "device name %s: SEP devices are disabled (devices.sep = false)",
				 shown(name, sb, sizeof(sb)));
			return -1;
		}
		if (len != 15) {
			snprintf(err, errlen,
				 "device name %s: a phone's name is SEP followed by exactly 12 "
				 "hexadecimal digits (its MAC address), e.g. SEP58971ECC97C1",
				 shown(name, sb, sizeof(sb)));
			return -1;
		}
		for (size_t i = 3; i < 15; i++) {
			if (!is_uhex((unsigned char)name[i])) {
				snprintf(err, errlen,
					 "device name %s: character %zu is not an uppercase "
					 "hexadecimal digit (0-9, A-F)",
					 shown(name, sb, sizeof(sb)), i + 1);
				return -1;
			}
		}
		if (kind != NULL)
			*kind = CAPF_DEVKIND_SEP;
		return 0;
	}
	for (size_t p = 0; p < sizeof(jabber_prefixes) / sizeof(jabber_prefixes[0]); p++) {
		if (strncmp(name, jabber_prefixes[p], 3) != 0)
			continue;
		if (!c->devices.jabber) {
			snprintf(err, errlen,
				 "device name %s: Jabber devices are disabled (devices.jabber = false)",
				 shown(name, sb, sizeof(sb)));
			return -1;
		}
		if (len < 4 || len > c->devices.max_name_length) {
			snprintf(err, errlen,
				 "device name %s: a Jabber name is %s followed by 1 to %u characters "
				 "(devices.max_name_length = %u)",
				 shown(name, sb, sizeof(sb)), jabber_prefixes[p],
				 c->devices.max_name_length > 3 ? c->devices.max_name_length - 3 : 0,
				 c->devices.max_name_length);
			return -1;
		}
		for (size_t i = 3; i < len; i++) {
			if (!is_jabber_char((unsigned char)name[i])) {
				snprintf(err, errlen,
					 "device name: character %zu is not allowed in a Jabber name "
					 "(allowed: A-Z a-z 0-9 . _ -)",
					 i + 1);
				return -1;
			}
		}
		if (kind != NULL)
			*kind = CAPF_DEVKIND_JABBER;
		return 0;
	}
	snprintf(err, errlen, "device name: must start with %s (allowed: %s%s%s)",
		 c->devices.sep && c->devices.jabber ? "SEP, CSF, BOT, TCT or TAB" :
		 c->devices.sep                      ? "SEP" :
						       "CSF, BOT, TCT or TAB",
		 c->devices.sep ? "SEP + 12 uppercase hex digits" : "",
		 c->devices.sep && c->devices.jabber ? "; " : "",
		 c->devices.jabber ? "CSF/BOT/TCT/TAB + a name of [A-Za-z0-9._-]" : "");
	return -1;
}

int capf_auth_string_check(const struct capf_conf *c, const char *s, char *err, size_t errlen)
{
	size_t len;

	if (s == NULL) {
		snprintf(err, errlen, "authentication string is missing");
		return -1;
	}
	len = strnlen(s, c->auth.string_max + 1);
	if (len < c->auth.string_min || len > c->auth.string_max) {
		snprintf(err, errlen,
			 "authentication string must be %u to %u %s long (auth.string_min, "
			 "auth.string_max)",
			 c->auth.string_min, c->auth.string_max, c->auth.digits_only ? "digits" : "characters");
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (c->auth.digits_only ? !(ch >= '0' && ch <= '9') : !(ch > 0x20 && ch < 0x7f)) {
			snprintf(err, errlen,
				 "authentication string: character %zu is not allowed (allowed: %s)", i + 1,
				 c->auth.digits_only ? "digits 0-9 (auth.digits_only = true)" :
						       "printable ASCII without spaces");
			return -1;
		}
	}
	return 0;
}

int capf_auth_string_generate(const struct capf_conf *c, char *buf, size_t len, char *err, size_t errlen)
{
	size_t n = c->auth.string_max;
	size_t i = 0;

	if (n == 0 || len < n + 1) {
		snprintf(err, errlen, "buffer too small for a %zu-digit authentication string", n);
		return -1;
	}
	while (i < n) {
		unsigned char r[32];
		if (RAND_priv_bytes(r, sizeof(r)) != 1) {
			OPENSSL_cleanse(buf, len);
			snprintf(err, errlen, "the random generator failed");
			return -1;
		}
		/* 250 = 25 * 10: bytes >= 250 are dropped, so every digit is equally likely */
		for (size_t j = 0; j < sizeof(r) && i < n; j++)
			if (r[j] < 250)
				buf[i++] = (char)('0' + r[j] % 10);
		OPENSSL_cleanse(r, sizeof(r));
	}
	buf[n] = '\0';
	return 0;
}
