/* policy/osslerr.c: OpenSSL's error queue as one message (see osslerr.h). */
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>

#include "policy/osslerr.h"

static const char none[] = "no OpenSSL error recorded";

const char *capf_ossl_errors(char *buf, size_t len)
{
	/* OpenSSL keeps at most 16 (ERR_NUM_ERRORS); older ones were already dropped */
	struct {
		unsigned long e;
		const char *data;
	} q[16];
	size_t n = 0, used = 0;
	unsigned long e;
	const char *data = NULL;
	int flags = 0;

	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		/* the system openssl.cnf's engines: noise, not the cause */
		if (ERR_GET_LIB(e) == ERR_LIB_DSO || ERR_GET_LIB(e) == ERR_LIB_ENGINE)
			continue;
		if (n == sizeof(q) / sizeof(q[0]))
			memmove(q, q + 1, --n * sizeof(q[0]));
		q[n].e = e;
		q[n++].data = (flags & ERR_TXT_STRING) && data != NULL && *data ? data : NULL;
	}
	if (len == 0)
		return buf;
	buf[0] = '\0';
	/* newest first: the last error is what the failing call said, the ones
	 * before it how it came to that (and a short buffer keeps the newest) */
	while (n-- > 0 && used + 1 < len) {
		char one[256];

		ERR_error_string_n(q[n].e, one, sizeof(one));
		used += (size_t)snprintf(buf + used, len - used, "%s%s%s%s", used ? "; " : "", one,
					 q[n].data ? ": " : "", q[n].data ? q[n].data : "");
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "%s", none);
	return buf;
}

void capf_ossl_error_msg(char *err, size_t errlen, const char *what)
{
	char m[512];

	if (ERR_peek_error() == 0) {
		snprintf(err, errlen, "%s", what);
		return;
	}
	capf_ossl_errors(m, sizeof(m));
	snprintf(err, errlen, "%s: %s", what, m);
}
