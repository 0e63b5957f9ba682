/* policy/pubkey.c: strict decoding and checking of a phone's public key (see pubkey.h). */
#include <stdio.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "policy/der.h"
#include "policy/pubkey.h"

static int curve_of_group(const char *g)
{
	if (strcmp(g, "prime256v1") == 0 || strcmp(g, "P-256") == 0)
		return CAPF_CURVE_P256;
	if (strcmp(g, "secp384r1") == 0 || strcmp(g, "P-384") == 0)
		return CAPF_CURVE_P384;
	if (strcmp(g, "secp521r1") == 0 || strcmp(g, "P-521") == 0)
		return CAPF_CURVE_P521;
	return -1;
}

int capf_pubkey_param(EVP_PKEY *pk, struct capf_keyparam *out)
{
	char group[64];
	size_t glen = 0;
	int c;

	memset(out, 0, sizeof(*out));
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		out->type = CAPF_KEY_RSA;
		out->rsa_bits = (unsigned)EVP_PKEY_get_bits(pk);
		return 0;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
						   &glen) != 1)
			return -1;
		if ((c = curve_of_group(group)) < 0)
			return -1;
		out->type = CAPF_KEY_EC;
		out->curve = (enum capf_curve)c;
		return 0;
	default:
		return -1;
	}
}

/*
 * The smallest odd prime below 1000 that divides n, or 0. The primes are taken in
 * groups whose product fits a 32-bit word: one BN_mod_word per group (18 in all,
 * not 167), then each prime against that small remainder.
 */
static const BN_ULONG primes[] = {
	/* the odd primes below 1000 */
	3,   5,   7,   11,  13,  17,  19,  23,  29,  31,  37,  41,  43,  47,  53,  59,  61,  67,  71,  73,  79,
	83,  89,  97,  101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173, 179, 181, 191,
	193, 197, 199, 211, 223, 227, 229, 233, 239, 241, 251, 257, 263, 269, 271, 277, 281, 283, 293, 307, 311,
	313, 317, 331, 337, 347, 349, 353, 359, 367, 373, 379, 383, 389, 397, 401, 409, 419, 421, 431, 433, 439,
	443, 449, 457, 461, 463, 467, 479, 487, 491, 499, 503, 509, 521, 523, 541, 547, 557, 563, 569, 571, 577,
	587, 593, 599, 601, 607, 613, 617, 619, 631, 641, 643, 647, 653, 659, 661, 673, 677, 683, 691, 701, 709,
	719, 727, 733, 739, 743, 751, 757, 761, 769, 773, 787, 797, 809, 811, 821, 823, 827, 829, 839, 853, 857,
	859, 863, 877, 881, 883, 887, 907, 911, 919, 929, 937, 941, 947, 953, 967, 971, 977, 983, 991, 997,
};

static BN_ULONG small_factor(const BIGNUM *n)
{
	const size_t np = sizeof(primes) / sizeof(primes[0]);
	BN_ULONG group = 1, r;
	size_t first = 0;

	for (size_t i = 0; i <= np; i++) {
		if (i < np && group * primes[i] <= 0xffffffffUL) {
			group *= primes[i];
			continue;
		}
		if ((r = BN_mod_word(n, group)) == (BN_ULONG)-1)
			return 0;
		for (size_t j = first; j < i; j++)
			if (r % primes[j] == 0)
				return primes[j];
		if (i < np) {
			group = primes[i];
			first = i;
		}
	}
	return 0;
}

/* The RSA rules on the modulus and exponent. 0 or -1 with a message. */
static int rsa_rules(const struct capf_conf *c, const BIGNUM *n, const BIGNUM *e,
		     const struct capf_keyparam *want, char *err, size_t errlen)
{
	BN_ULONG p;
	int bits = BN_num_bits(n);

	if (want != NULL && (want->type != CAPF_KEY_RSA || (unsigned)bits != want->rsa_bits)) {
		char kbuf[32];
		snprintf(err, errlen, "the phone sent an RSA %d-bit key, but was asked for %s", bits,
			 capf_keyparam_str(want, kbuf, sizeof(kbuf)));
		return -1;
	}
	if (!capf_conf_rsa_allowed(c, (unsigned)bits)) {
		snprintf(err, errlen, "RSA %d-bit keys are not allowed by the policy (keys.rsa_bits)", bits);
		return -1;
	}
	if (!BN_is_odd(n)) {
		snprintf(err, errlen, "RSA modulus is even");
		return -1;
	}
	if ((p = small_factor(n)) != 0) {
		snprintf(err, errlen, "RSA modulus has the small factor %lu", (unsigned long)p);
		return -1;
	}
	if (!BN_is_odd(e) || BN_cmp(e, BN_value_one()) <= 0 || BN_get_word(e) == 3 || BN_num_bits(e) > 256 ||
	    BN_cmp(e, n) >= 0) {
		snprintf(err, errlen,
			 "RSA public exponent is not allowed (must be odd, 3 < e < 2^256; 65537 is usual)");
		return -1;
	}
	return 0;
}

static int check_rsa(const struct capf_conf *c, EVP_PKEY *pk, const struct capf_keyparam *want, char *err,
		     size_t errlen)
{
	BIGNUM *n = NULL, *e = NULL;
	int ret = -1;

	if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
		snprintf(err, errlen, "RSA key without modulus or exponent");
	else
		ret = rsa_rules(c, n, e, want, err, errlen);
	BN_free(n);
	BN_free(e);
	return ret;
}

/* The same on the parsed SubjectPublicKeyInfo: no key object is built. */
static int check_rsa_spki(const struct capf_conf *c, const struct capf_spki *k,
			  const struct capf_keyparam *want, char *err, size_t errlen)
{
	BIGNUM *n = BN_bin2bn(k->n, (int)k->n_len, NULL), *e = BN_bin2bn(k->e, (int)k->e_len, NULL);
	int ret = -1;

	if (n == NULL || e == NULL)
		snprintf(err, errlen, "RSA key cannot be loaded (out of memory?)");
	else
		ret = rsa_rules(c, n, e, want, err, errlen);
	BN_free(n);
	BN_free(e);
	return ret;
}

static int check_ec(const struct capf_conf *c, EVP_PKEY *pk, const struct capf_keyparam *want, char *err,
		    size_t errlen)
{
	char group[64] = "", enc[32] = "", form[32] = "";
	size_t l;
	EVP_PKEY_CTX *ctx;
	int curve, ok;

	if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_EC_ENCODING, enc, sizeof(enc), &l) == 1 &&
	    strcmp(enc, OSSL_PKEY_EC_ENCODING_GROUP) != 0) {
		snprintf(err, errlen, "EC key with explicit curve parameters (only named curves are accepted)");
		return -1;
	}
	if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &l) != 1 ||
	    (curve = curve_of_group(group)) < 0) {
		snprintf(err, errlen, "EC key on an unsupported curve (allowed: P-256, P-384, P-521)");
		return -1;
	}
	if (want != NULL && (want->type != CAPF_KEY_EC || (enum capf_curve)curve != want->curve)) {
		char kbuf[32];
		snprintf(err, errlen, "the phone sent an EC %s key, but was asked for %s",
			 capf_curve_name((enum capf_curve)curve), capf_keyparam_str(want, kbuf, sizeof(kbuf)));
		return -1;
	}
	if (!capf_conf_curve_allowed(c, (enum capf_curve)curve)) {
		snprintf(err, errlen, "EC curve %s is not allowed by the policy (keys.ec_curves)",
			 capf_curve_name((enum capf_curve)curve));
		return -1;
	}
	if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, form, sizeof(form),
					   &l) == 1 &&
	    strcmp(form, OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED) != 0) {
		snprintf(err, errlen, "EC point is not in uncompressed form");
		return -1;
	}
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ok = EVP_PKEY_public_check_quick(ctx);
	EVP_PKEY_CTX_free(ctx);
	if (ok != 1) {
		snprintf(err, errlen, "EC point is not a valid point of %s",
			 capf_curve_name((enum capf_curve)curve));
		return -1;
	}
	return 0;
}

int capf_pubkey_check(const struct capf_conf *c, EVP_PKEY *pk, const struct capf_keyparam *want, char *err,
		      size_t errlen)
{
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		return check_rsa(c, pk, want, err, errlen);
	case EVP_PKEY_EC:
		return check_ec(c, pk, want, err, errlen);
	default:
		snprintf(err, errlen, "public key type is not allowed (only rsaEncryption and id-ecPublicKey)");
		return -1;
	}
}

/* Parsed and checked; for EC, *pk (NULL: not wanted) is the key the point check
 * built. 0 or -1 with a message. */
static int validate(const struct capf_conf *c, const unsigned char *der, size_t len,
		    const struct capf_keyparam *want, struct capf_spki *k, EVP_PKEY **pk, char *err,
		    size_t errlen)
{
	EVP_PKEY *ec;

	if (der == NULL || len == 0) {
		snprintf(err, errlen, "public key is empty");
		return -1;
	}
	if (len > CAPF_PUBKEY_DER_MAX) {
		snprintf(err, errlen, "public key is %zu bytes (at most %d)", len, CAPF_PUBKEY_DER_MAX);
		return -1;
	}
	/* exact DER by construction: the parser accepts one encoding only */
	if (capf_spki_parse(der, len, k, err, errlen) != 0)
		return -1;
	if (k->type == CAPF_KEY_RSA)
		return check_rsa_spki(c, k, want, err, errlen);
	if ((ec = capf_spki_pkey(k)) == NULL) {
		snprintf(err, errlen, "EC point is not a valid point of %s", capf_curve_name(k->curve));
		return -1;
	}
	if (capf_pubkey_check(c, ec, want, err, errlen) < 0) {
		EVP_PKEY_free(ec);
		return -1;
	}
	if (pk != NULL)
		*pk = ec;
	else
		EVP_PKEY_free(ec);
	return 0;
}

int capf_pubkey_validate(const struct capf_conf *c, const unsigned char *der, size_t len,
			 const struct capf_keyparam *want, char *err, size_t errlen)
{
	struct capf_spki k;

	return validate(c, der, len, want, &k, NULL, err, errlen);
}

EVP_PKEY *capf_pubkey_decode(const struct capf_conf *c, const unsigned char *der, size_t len,
			     const struct capf_keyparam *want, char *err, size_t errlen)
{
	struct capf_spki k;
	EVP_PKEY *pk = NULL;

	if (validate(c, der, len, want, &k, &pk, err, errlen) != 0)
		return NULL;
	if (pk == NULL && (pk = capf_spki_pkey(&k)) == NULL)
		snprintf(err, errlen, "RSA key cannot be loaded (out of memory?)");
	return pk;
}
