/* tests/fuzz/fuzz_pubkey.c: the phone public-key decoder on arbitrary bytes. The first
 * byte picks what the phone was asked for (nothing, RSA 2048, EC P-256/384/521).
 * Differential against OpenSSL's own decoder: what the policy accepts OpenSSL decodes
 * to an equal key whose canonical encoding is the input; what it refuses is not a
 * canonical RSA or EC key OpenSSL decodes and the policy's checks allow.
 *
 * Speed: d2i_PUBKEY and i2d_PUBKEY build a decoder or encoder chain on every call
 * (OpenSSL 3.0: ~900 and ~500 allocations, 100 us and 70 us without ASan), which made
 * this target run at a few hundred inputs/s under ASan, most of it in the allocator and
 * in the leak checks libFuzzer runs after inputs that allocate more than they free. The
 * oracle therefore uses one decoder context made once (OSSL_DECODER_from_data on it
 * decodes with the chain already built), and encodes the canonical
 * SubjectPublicKeyInfo from the decoded key's numbers with OpenSSL's ASN.1 encoders
 * (INTEGER, OBJECT, X509_PUBKEY's template): no encoder chain. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "policy/config.h"
#include "policy/pubkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *dec_key; /* where dec writes what it decoded */
static OSSL_DECODER_CTX *dec;

/* OpenSSL's decoding of der[0..len) (all of it: nothing trailing), or NULL. */
static EVP_PKEY *openssl_decode(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	size_t left = len;
	EVP_PKEY *pk;

	dec_key = NULL;
	if (OSSL_DECODER_from_data(dec, &p, &left) != 1 || left != 0) {
		EVP_PKEY_free(dec_key);
		dec_key = NULL;
	}
	pk = dec_key;
	dec_key = NULL;
	return pk;
}

/* An INTEGER's DER appended at *p (advanced); its length, or -1. */
static int put_integer(const BIGNUM *bn, unsigned char **p)
{
	ASN1_INTEGER *i = BN_to_ASN1_INTEGER(bn, NULL);
	int len = i != NULL ? i2d_ASN1_INTEGER(i, p) : -1;

	ASN1_INTEGER_free(i);
	return len;
}

/* The canonical SubjectPublicKeyInfo of an RSA key or an EC key on a named curve
 * (OPENSSL_malloc'd into *out), from the key's numbers; its length, or -1. */
static int canonical_spki(EVP_PKEY *pk, unsigned char **out)
{
	X509_PUBKEY *pub = X509_PUBKEY_new();
	unsigned char *bits = NULL, *p;
	BIGNUM *n = NULL, *e = NULL;
	ASN1_OBJECT *curve = NULL;
	char group[64];
	size_t glen, blen = 0;
	int len = -1, nl, el;

	*out = NULL;
	if (pub == NULL)
		goto out;
	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA) {
		if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
		    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e) != 1 ||
		    (nl = put_integer(n, NULL)) < 0 || (el = put_integer(e, NULL)) < 0)
			goto out;
		blen = (size_t)ASN1_object_size(1, nl + el, V_ASN1_SEQUENCE);
		if ((bits = p = OPENSSL_malloc(blen)) == NULL)
			goto out;
		ASN1_put_object(&p, 1, nl + el, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
		put_integer(n, &p);
		put_integer(e, &p);
		if (!X509_PUBKEY_set0_param(pub, OBJ_nid2obj(NID_rsaEncryption), V_ASN1_NULL, NULL, bits,
					    (int)blen))
			goto out;
	} else if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC) {
		if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
						   &glen) != 1 ||
		    (curve = OBJ_nid2obj(OBJ_sn2nid(group))) == NULL || OBJ_length(curve) == 0 ||
		    EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, NULL, 0, &blen) != 1 ||
		    (bits = OPENSSL_malloc(blen)) == NULL ||
		    EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, bits, blen, &blen) != 1 ||
		    !X509_PUBKEY_set0_param(pub, OBJ_nid2obj(NID_X9_62_id_ecPublicKey), V_ASN1_OBJECT, curve,
					    bits, (int)blen))
			goto out;
	} else {
		goto out;
	}
	bits = NULL; /* pub owns it */
	len = i2d_X509_PUBKEY(pub, out);
out:
	OPENSSL_free(bits);
	X509_PUBKEY_free(pub);
	BN_free(n);
	BN_free(e);
	return len;
}

/* 1 when OpenSSL's canonical encoding of pk is exactly der[0..len). */
static int is_canonical(EVP_PKEY *pk, const uint8_t *der, size_t len)
{
	unsigned char *enc = NULL;
	int l = canonical_spki(pk, &enc);
	int same = l >= 0 && (size_t)l == len && memcmp(enc, der, len) == 0;

	OPENSSL_free(enc);
	return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct capf_conf c;
	struct capf_keyparam want, got;
	const struct capf_keyparam *wp = NULL;
	char err[256], err2[256];
	EVP_PKEY *pk, *o;

	if (dec == NULL) {
		capf_conf_defaults(&c);
		c.keys.rsa_bits[c.keys.n_rsa_bits++] = 1024;
		c.keys.rsa_bits[c.keys.n_rsa_bits++] = 512;
		c.keys.allow_weak_rsa = true;
		dec = OSSL_DECODER_CTX_new_for_pkey(&dec_key, "DER", "SubjectPublicKeyInfo", NULL,
						    EVP_PKEY_PUBLIC_KEY, NULL, NULL);
		if (dec == NULL)
			abort();
	}
	if (size < 1)
		return 0;
	switch (data[0] % 5) {
	case 1:
		want = (struct capf_keyparam){ .type = CAPF_KEY_RSA, .rsa_bits = 2048 };
		wp = &want;
		break;
	case 2:
		want = (struct capf_keyparam){ .type = CAPF_KEY_EC, .curve = CAPF_CURVE_P256 };
		wp = &want;
		break;
	case 3:
		want = (struct capf_keyparam){ .type = CAPF_KEY_EC, .curve = CAPF_CURVE_P384 };
		wp = &want;
		break;
	case 4:
		want = (struct capf_keyparam){ .type = CAPF_KEY_EC, .curve = CAPF_CURVE_P521 };
		wp = &want;
		break;
	default:
		break;
	}
	pk = capf_pubkey_decode(&c, data + 1, size - 1, wp, err, sizeof(err));
	/* the check without a key object decides the same */
	if ((capf_pubkey_validate(&c, data + 1, size - 1, wp, err2, sizeof(err2)) == 0) != (pk != NULL))
		abort();
	o = openssl_decode(data + 1, size - 1);
	if (pk != NULL) {
		/* accepted means: OpenSSL decodes the same key, the input is its canonical
		 * encoding, of the asked type */
		if (o == NULL || EVP_PKEY_eq(o, pk) != 1 || !is_canonical(o, data + 1, size - 1) ||
		    capf_pubkey_param(pk, &got) != 0 ||
		    (wp != NULL &&
		     (got.type != wp->type ||
		      (got.type == CAPF_KEY_RSA ? got.rsa_bits != wp->rsa_bits : got.curve != wp->curve))))
			abort();
		EVP_PKEY_free(pk);
	} else if (err[0] == '\0') {
		abort();
	} else if (o != NULL &&
		   (EVP_PKEY_get_base_id(o) == EVP_PKEY_RSA || EVP_PKEY_get_base_id(o) == EVP_PKEY_EC) &&
		   capf_pubkey_check(&c, o, wp, err2, sizeof(err2)) == 0 &&
		   is_canonical(o, data + 1, size - 1)) {
		/* refused: OpenSSL's own decoder must not see a canonical key the policy allows */
		abort();
	}
	EVP_PKEY_free(o);
	ERR_clear_error(); /* the failed decodes' errors: not kept from one input to the next */
	return 0;
}
