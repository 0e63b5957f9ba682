/* tests/fuzz/p11_uri.c: libFuzzer target for the pkcs11: URI parser and writer.
 * Whatever it accepts must format and parse again to the same URI. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pkcs11/p11_uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct p11_uri u, v;
	char *s, err[256], out[3 * P11_URI_MAX + 64], out2[3 * P11_URI_MAX + 64];

	if (size > P11_URI_MAX + 16)
		return 0;
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (p11_uri_parse(s, &u, err, sizeof(err)) == 0) {
		if (p11_uri_format(&u, 1, out, sizeof(out)) == 0) {
			if (p11_uri_parse(out, &v, err, sizeof(err)) != 0)
				abort();
			if (p11_uri_format(&v, 1, out2, sizeof(out2)) != 0 || strcmp(out, out2) != 0)
				abort();
			p11_uri_clear(&v);
		}
		p11_uri_clear(&u);
	}
	free(s);
	return 0;
}
