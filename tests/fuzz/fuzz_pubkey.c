/* tests/fuzz/fuzz_pubkey.c: the phone public-key decoder on arbitrary bytes. The first
 * byte picks what the phone was asked for (nothing, RSA 2048, EC P-256/384/521).
 * Differential: what it accepts OpenSSL re-encodes to the same bytes; what it refuses
 * is not a canonical key OpenSSL decodes and the policy allows. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "policy/config.h"
#include "policy/pubkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct capf_conf c;
	static int init;
	struct capf_keyparam want, got;
	const struct capf_keyparam *wp = NULL;
	char err[256];
	EVP_PKEY *pk;

	if (!init) {
		capf_conf_defaults(&c);
		c.keys.rsa_bits[c.keys.n_rsa_bits++] = 1024;
		c.keys.rsa_bits[c.keys.n_rsa_bits++] = 512;
		c.keys.allow_weak_rsa = true;
		init = 1;
	}
	if (size < 1)
		return 0;
	switch (data[0] % 5) {
	case 1: want = (struct capf_keyparam){ .type = CAPF_KEY_RSA, .rsa_bits = 2048 }; wp = &want; break;
	case 2: want = (struct capf_keyparam){ .type = CAPF_KEY_EC, .curve = CAPF_CURVE_P256 }; wp = &want; break;
	case 3: want = (struct capf_keyparam){ .type = CAPF_KEY_EC, .curve = CAPF_CURVE_P384 }; wp = &want; break;
	case 4: want = (struct capf_keyparam){ .type = CAPF_KEY_EC, .curve = CAPF_CURVE_P521 }; wp = &want; break;
	default: break;
	}
	pk = capf_pubkey_decode(&c, data + 1, size - 1, wp, err, sizeof(err));
	if (pk != NULL) {
		unsigned char *der = NULL;
		int len = i2d_PUBKEY(pk, &der);
		/* accepted means: canonical, of the asked type, allowed */
		if (len != (int)(size - 1) || memcmp(der, data + 1, size - 1) != 0 ||
		    capf_pubkey_param(pk, &got) != 0 ||
		    (wp != NULL && (got.type != wp->type ||
				    (got.type == CAPF_KEY_RSA ? got.rsa_bits != wp->rsa_bits : got.curve != wp->curve))))
			abort();
		OPENSSL_free(der);
		EVP_PKEY_free(pk);
	} else if (err[0] == '\0') {
		abort();
	} else {
		/* refused: OpenSSL's own decoder must not see a canonical key the policy allows */
		const unsigned char *p = data + 1;
		unsigned char *der = NULL;
		char err2[256];
		EVP_PKEY *o = d2i_PUBKEY(NULL, &p, (long)(size - 1));
		int len = o != NULL && p == data + size ? i2d_PUBKEY(o, &der) : -1;

		if (len == (int)(size - 1) && memcmp(der, data + 1, size - 1) == 0 &&
		    (EVP_PKEY_get_id(o) == EVP_PKEY_RSA || EVP_PKEY_get_id(o) == EVP_PKEY_EC) &&
		    capf_pubkey_check(&c, o, wp, err2, sizeof(err2)) == 0)
			abort();
		OPENSSL_free(der);
		EVP_PKEY_free(o);
	}
	return 0;
}
