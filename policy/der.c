/* policy/der.c: strict DER reading for the policy (see der.h). */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/provider.h>

#include "policy/der.h"

#define T_INTEGER 0x02
#define T_BIT_STRING 0x03
#define T_NULL 0x05
#define T_OID 0x06
#define T_SEQUENCE 0x30

static const uint8_t oid_rsa[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
static const uint8_t oid_ec[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const struct {
	enum capf_curve curve;
	const char *group; /* OSSL_PKEY_PARAM_GROUP_NAME */
	size_t field;      /* octets per coordinate */
	uint8_t oid_len;
	uint8_t oid[8];
} curves[] = {
	{ CAPF_CURVE_P256, "prime256v1", 32, 8, { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 } },
	{ CAPF_CURVE_P384, "secp384r1", 48, 5, { 0x2b, 0x81, 0x04, 0x00, 0x22 } },
	{ CAPF_CURVE_P521, "secp521r1", 66, 5, { 0x2b, 0x81, 0x04, 0x00, 0x23 } },
};

/*
 * One element of type tag at *p (before end): the definite length in its shortest
 * form (short form below 128, no leading zero octet, at most 3 length octets).
 * *val and *len: the contents; *p moves past the element. 0 or -1.
 */
static int tlv(const uint8_t **p, const uint8_t *end, uint8_t tag, const uint8_t **val, size_t *len)
{
	const uint8_t *q = *p;
	size_t l, n;

	if (end - q < 2 || q[0] != tag)
		return -1;
	l = q[1];
	q += 2;
	if (l & 0x80) {
		n = l & 0x7f;
		if (n == 0 || n > 3 || (size_t)(end - q) < n || q[0] == 0)
			return -1;
		for (l = 0; n > 0; n--)
			l = l << 8 | *q++;
		if (l < 0x80)
			return -1;
	}
	if ((size_t)(end - q) < l)
		return -1;
	*val = q;
	*len = l;
	*p = q + l;
	return 0;
}

/* A positive INTEGER in its shortest form; *v and *len without the sign octet. */
static int uint_value(const uint8_t **p, const uint8_t *end, const uint8_t **v, size_t *len)
{
	const uint8_t *c;
	size_t l;

	if (tlv(p, end, T_INTEGER, &c, &l) != 0 || l == 0 || (c[0] & 0x80))
		return -1;
	if (l > 1 && c[0] == 0 && !(c[1] & 0x80))
		return -1; /* a zero octet that is not needed */
	if (l > 1 && c[0] == 0) {
		c++;
		l--;
	}
	*v = c;
	*len = l;
	return 0;
}

static unsigned bit_length(const uint8_t *v, size_t len)
{
	unsigned bits;
	uint8_t top;

	while (len > 0 && *v == 0) {
		v++;
		len--;
	}
	if (len == 0)
		return 0;
	for (bits = 0, top = *v; top != 0; top >>= 1)
		bits++;
	return bits + 8 * (unsigned)(len - 1);
}

#define FAIL(...)                                   \
	do {                                        \
		snprintf(err, errlen, __VA_ARGS__); \
		return -1;                          \
	} while (0)

static int parse_rsa(struct capf_spki *k, char *err, size_t errlen)
{
	const uint8_t *p = k->bits, *end = k->bits + k->bits_len, *c, *ce;
	size_t l;

	if (tlv(&p, end, T_SEQUENCE, &c, &l) != 0 || p != end)
		FAIL("public key is not a DER SubjectPublicKeyInfo (RSAPublicKey)");
	ce = c + l;
	if (uint_value(&c, ce, &k->n, &k->n_len) != 0 || uint_value(&c, ce, &k->e, &k->e_len) != 0 || c != ce)
		FAIL("public key is not a DER SubjectPublicKeyInfo (RSA modulus and exponent: positive "
		     "INTEGERs in their shortest form)");
	k->type = CAPF_KEY_RSA;
	k->rsa_bits = bit_length(k->n, k->n_len);
	return 0;
}

static int parse_ec(struct capf_spki *k, const uint8_t *params, size_t plen, char *err, size_t errlen)
{
	const uint8_t *p = params, *end = params + plen, *oid;
	size_t l, i;

	if (plen > 0 && params[0] == T_SEQUENCE)
		FAIL("EC key with explicit curve parameters (only named curves are accepted)");
	if (tlv(&p, end, T_OID, &oid, &l) != 0 || p != end)
		FAIL("public key is not a DER SubjectPublicKeyInfo (EC key without a named curve)");
	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (curves[i].oid_len == l && memcmp(curves[i].oid, oid, l) == 0)
			break;
	if (i == sizeof(curves) / sizeof(curves[0]))
		FAIL("EC key on an unsupported curve (allowed: P-256, P-384, P-521)");
	k->type = CAPF_KEY_EC;
	k->curve = curves[i].curve;
	k->point = k->bits;
	k->point_len = k->bits_len;
	if (k->point_len > 0 && (k->point[0] == 0x02 || k->point[0] == 0x03))
		FAIL("EC point is not in uncompressed form");
	if (k->point_len != 1 + 2 * curves[i].field || k->point[0] != 0x04)
		FAIL("EC point is not a valid point of %s", capf_curve_name(k->curve));
	return 0;
}

int capf_spki_parse(const uint8_t *der, size_t len, struct capf_spki *out, char *err, size_t errlen)
{
	const uint8_t *p = der, *end = der + len, *spki, *alg, *oid, *bits;
	size_t spki_len, alg_len, oid_len, bits_len;

	memset(out, 0, sizeof(*out));
	if (der == NULL || len == 0)
		FAIL("public key is empty");
	if (tlv(&p, end, T_SEQUENCE, &spki, &spki_len) != 0)
		FAIL("public key is not a DER SubjectPublicKeyInfo");
	if (p != end)
		FAIL("public key has %zu trailing bytes", (size_t)(end - p));
	p = spki;
	end = spki + spki_len;
	if (tlv(&p, end, T_SEQUENCE, &alg, &alg_len) != 0 ||
	    tlv(&p, end, T_BIT_STRING, &bits, &bits_len) != 0 || p != end)
		FAIL("public key is not a DER SubjectPublicKeyInfo");
	if (bits_len < 1 || bits[0] != 0)
		FAIL("public key is not a DER SubjectPublicKeyInfo (the key BIT STRING has unused bits)");
	out->bits = bits + 1;
	out->bits_len = bits_len - 1;
	p = alg;
	end = alg + alg_len;
	if (tlv(&p, end, T_OID, &oid, &oid_len) != 0)
		FAIL("public key is not a DER SubjectPublicKeyInfo (algorithm)");
	if (oid_len == sizeof(oid_rsa) && memcmp(oid, oid_rsa, oid_len) == 0) {
		const uint8_t *nul;
		size_t nlen;

		if (tlv(&p, end, T_NULL, &nul, &nlen) != 0 || nlen != 0 || p != end)
			FAIL("public key is not a DER SubjectPublicKeyInfo (rsaEncryption without NULL parameters)");
		return parse_rsa(out, err, errlen);
	}
	if (oid_len == sizeof(oid_ec) && memcmp(oid, oid_ec, oid_len) == 0)
		return parse_ec(out, p, (size_t)(end - p), err, errlen);
	FAIL("public key type is not allowed (only rsaEncryption and id-ecPublicKey)");
}

static const char *group_of(enum capf_curve c)
{
	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (curves[i].curve == c)
			return curves[i].group;
	return NULL;
}

EVP_PKEY *capf_spki_pkey(const struct capf_spki *k)
{
	OSSL_PARAM_BLD *b = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	BIGNUM *n = NULL, *e = NULL;
	const char *group;

	if ((b = OSSL_PARAM_BLD_new()) == NULL)
		return NULL;
	if (k->type == CAPF_KEY_RSA) {
		if ((n = BN_bin2bn(k->n, (int)k->n_len, NULL)) == NULL ||
		    (e = BN_bin2bn(k->e, (int)k->e_len, NULL)) == NULL ||
		    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e))
			goto out;
	} else {
		if ((group = group_of(k->curve)) == NULL ||
		    !OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, k->point, k->point_len))
			goto out;
	}
	if ((params = OSSL_PARAM_BLD_to_param(b)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, k->type == CAPF_KEY_RSA ? "RSA" : "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	BN_free(n);
	BN_free(e);
	return pk;
}

int capf_spki_set(X509_PUBKEY *pub, const struct capf_spki *k)
{
	ASN1_OBJECT *alg = OBJ_nid2obj(k->type == CAPF_KEY_RSA ? NID_rsaEncryption : NID_X9_62_id_ecPublicKey);
	ASN1_OBJECT *curve = k->type == CAPF_KEY_EC ? OBJ_nid2obj(capf_curve_nid(k->curve)) : NULL;
	unsigned char *bits;

	if (pub == NULL || alg == NULL || (k->type == CAPF_KEY_EC && curve == NULL) || k->bits_len > INT_MAX ||
	    (bits = OPENSSL_memdup(k->bits, k->bits_len)) == NULL)
		return 0;
	/* static objects; on success the BIT STRING owns bits */
	if (!X509_PUBKEY_set0_param(pub, alg, curve != NULL ? V_ASN1_OBJECT : V_ASN1_NULL, curve, bits,
				    (int)k->bits_len)) {
		OPENSSL_free(bits);
		return 0;
	}
	return 1;
}

/* A library context with the null provider only: d2i builds no key objects in it. */
static CRYPTO_ONCE parse_once = CRYPTO_ONCE_STATIC_INIT;
static OSSL_LIB_CTX *parse_ctx;

static void parse_ctx_init(void)
{
	OSSL_LIB_CTX *c = OSSL_LIB_CTX_new();

	if (c != NULL && OSSL_PROVIDER_load(c, "null") == NULL) {
		OSSL_LIB_CTX_free(c);
		c = NULL;
	}
	parse_ctx = c;
}

X509 *capf_der_x509(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x;

	if (der == NULL || len == 0 || len > LONG_MAX || !CRYPTO_THREAD_run_once(&parse_once, parse_ctx_init) ||
	    parse_ctx == NULL || (x = X509_new_ex(parse_ctx, NULL)) == NULL)
		return NULL;
	if (d2i_X509(&x, &p, (long)len) == NULL)
		return NULL; /* d2i freed x */
	if (p != der + len) {
		X509_free(x);
		return NULL;
	}
	return x;
}

int capf_der_tbs_sigalg(const uint8_t *tbs, size_t len, const uint8_t **alg, size_t *alg_len)
{
	const uint8_t *p = tbs, *end = tbs + len, *c, *v;
	size_t l, vl;

	if (tbs == NULL || tlv(&p, end, T_SEQUENCE, &c, &l) != 0 || p != end)
		return -1;
	p = c;
	end = c + l;
	if (p < end && p[0] == 0xa0 && tlv(&p, end, 0xa0, &v, &vl) != 0) /* [0] version */
		return -1;
	if (tlv(&p, end, 0x02, &v, &vl) != 0) /* serialNumber */
		return -1;
	*alg = p;
	if (tlv(&p, end, T_SEQUENCE, &v, &vl) != 0)
		return -1;
	*alg_len = (size_t)(p - *alg);
	return 0;
}

/* A DER length (at most 3 octets: below 16 MiB) at out; its size. */
static size_t put_len(uint8_t *out, size_t n)
{
	if (n < 0x80) {
		out[0] = (uint8_t)n;
		return 1;
	}
	if (n <= 0xff) {
		out[0] = 0x81;
		out[1] = (uint8_t)n;
		return 2;
	}
	if (n <= 0xffff) {
		out[0] = 0x82;
		out[1] = (uint8_t)(n >> 8);
		out[2] = (uint8_t)n;
		return 3;
	}
	out[0] = 0x83;
	out[1] = (uint8_t)(n >> 16);
	out[2] = (uint8_t)(n >> 8);
	out[3] = (uint8_t)n;
	return 4;
}

uint8_t *capf_der_cert_assemble(const uint8_t *tbs, size_t tbs_len, const uint8_t *alg, size_t alg_len,
				const uint8_t *sig, size_t sig_len, size_t *out_len)
{
	uint8_t lb[4], *out, *q;
	size_t bits = sig_len + 1, body, n;

	if (tbs == NULL || alg == NULL || sig == NULL || tbs_len + alg_len + sig_len > 0x100000)
		return NULL;
	body = tbs_len + alg_len + 1 + put_len(lb, bits) + bits;
	if ((out = malloc(1 + 4 + body)) == NULL)
		return NULL;
	q = out;
	*q++ = T_SEQUENCE;
	q += put_len(q, body);
	memcpy(q, tbs, tbs_len);
	q += tbs_len;
	memcpy(q, alg, alg_len);
	q += alg_len;
	*q++ = T_BIT_STRING;
	n = put_len(q, bits);
	q += n;
	*q++ = 0; /* no unused bits */
	memcpy(q, sig, sig_len);
	q += sig_len;
	*out_len = (size_t)(q - out);
	return out;
}

int capf_der_cert_tbs(const uint8_t *der, size_t len, const uint8_t **tbs, size_t *tbs_len)
{
	const uint8_t *p = der, *end = der + len, *c, *v, *t;
	size_t l, vl;

	if (der == NULL || tlv(&p, end, T_SEQUENCE, &c, &l) != 0 || p != end)
		return -1;
	p = c;
	if (tlv(&p, c + l, T_SEQUENCE, &v, &vl) != 0)
		return -1;
	t = p;
	/* signatureAlgorithm and signatureValue, and nothing after them */
	if (tlv(&p, c + l, T_SEQUENCE, &v, &vl) != 0 || tlv(&p, c + l, T_BIT_STRING, &v, &vl) != 0 ||
	    p != c + l)
		return -1;
	*tbs = c;
	*tbs_len = (size_t)(t - c);
	return 0;
}
