/*
 * appliance/phone/crypto.c: what a phone computes: proof-of-possession
 * signatures (bare-digest PKCS#1 v1.5 type 1 for RSA, DER ECDSA for EC), the
 * AUTH_RESPONSE, key generation and the pre-generated key pool of the load mode.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "appliance/capf/evidence.h"
#include "appliance/common/argnum.h"
#include "appliance/phone/phone.h"
#include "appliance/phone/phone_int.h"

static const char *curve_group(int curve)
{
	switch (curve) {
	case CAPF_CURVE_P256:
		return "P-256";
	case CAPF_CURVE_P384:
		return "P-384";
	case CAPF_CURVE_P521:
		return "P-521";
	default:
		return NULL;
	}
}

int phone_sign(EVP_PKEY *key, int hash_id, const uint8_t *data, size_t len, uint8_t **sig, size_t *siglen,
	       char *err, size_t errlen)
{
	const char *mdname = hash_id == CAPF_HASH_SHA1   ? "SHA1" :
			     hash_id == CAPF_HASH_SHA256 ? "SHA256" :
			     hash_id == CAPF_HASH_SHA512 ? "SHA512" :
							   NULL;
	unsigned char dg[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	EVP_PKEY_CTX *ctx = NULL;
	size_t n = 0;
	int ok = 0;

	*sig = NULL;
	*siglen = 0;
	if (mdname == NULL) {
		snprintf(err, errlen, "hash id %d: only 1 (SHA-1), 2 (SHA-256), 3 (SHA-512)", hash_id);
		return -1;
	}
	if (!EVP_Digest(data, len, dg, &dlen, EVP_get_digestbyname(mdname), NULL)) {
		capf_ossl_error_msg(err, errlen, "digest");
		return -1;
	}
	if ((ctx = EVP_PKEY_CTX_new(key, NULL)) == NULL || EVP_PKEY_sign_init(ctx) <= 0) {
		capf_ossl_error_msg(err, errlen, "sign init");
		goto out;
	}
	/* No signature digest is set: RSA pads the bare digest (type 1), ECDSA signs it as is. */
	if (EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0) {
		capf_ossl_error_msg(err, errlen, "RSA padding");
		goto out;
	}
	if (EVP_PKEY_sign(ctx, NULL, &n, dg, dlen) <= 0 || (*sig = malloc(n)) == NULL ||
	    EVP_PKEY_sign(ctx, *sig, &n, dg, dlen) <= 0) {
		capf_ossl_error_msg(err, errlen, "sign");
		free(*sig);
		*sig = NULL;
		goto out;
	}
	*siglen = n;
	ok = 1;
out:
	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : -1;
}

EVP_PKEY *phone_keygen(int key_type, unsigned rsa_bits, int curve, char *err, size_t errlen)
{
	EVP_PKEY *k = NULL;

	if (key_type == CAPF_KEY_RSA) {
		if (rsa_bits < 512 || rsa_bits > 8192) {
			snprintf(err, errlen, "RSA key of %u bits requested (512..8192)", rsa_bits);
			return NULL;
		}
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)rsa_bits);
	} else if (key_type == CAPF_KEY_EC) {
		const char *g = curve_group(curve);

		if (g == NULL) {
			snprintf(err, errlen, "unknown CURVE %d requested", curve);
			return NULL;
		}
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", g);
	} else {
		snprintf(err, errlen, "unknown KEY_TYPE %d requested", key_type);
		return NULL;
	}
	if (k == NULL)
		capf_ossl_error_msg(err, errlen, "key generation");
	return k;
}

/* Appends one signature element over data with hash hash_id. */
static int put_sig(struct capf_builder *b, EVP_PKEY *key, int sha2, const uint8_t *data, size_t len, char *err,
		   size_t errlen)
{
	uint8_t *sig;
	size_t siglen;
	int rc;

	if (phone_sign(key, sha2 ? CAPF_HASH_SHA512 : CAPF_HASH_SHA1, data, len, &sig, &siglen, err, errlen) !=
	    0)
		return -1;
	if (sha2)
		rc = capf_build_sha2(b, CAPF_HASH_SHA512, sig, siglen);
	else
		rc = capf_build_put(b, CAPF_TAG_SIGNED_DATA, sig, siglen);
	free(sig);
	return rc;
}

static int der_of(X509 *x, uint8_t **der, size_t *len, char *err, size_t errlen)
{
	int n = i2d_X509(x, NULL);
	unsigned char *p;

	*der = NULL;
	if (n <= 0 || (*der = malloc((size_t)n)) == NULL) {
		snprintf(err, errlen, "cannot encode a certificate");
		return -1;
	}
	p = *der;
	i2d_X509(x, &p);
	*len = (size_t)n;
	return 0;
}

int phone_auth_response(const struct phone_config *cfg, uint32_t session_id, uint8_t **out, size_t *outlen,
			char *err, size_t errlen)
{
	struct capf_builder b;
	uint8_t *der = NULL, *data = NULL, *sdata = NULL, *s1 = NULL, *s3 = NULL;
	size_t der_len = 0, name_len = strlen(cfg->name), l1 = 0, l3 = 0;
	const uint8_t *msg;
	size_t msglen;
	int rc = -1;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (capf_build_init(&b, CAPF_CMD_AUTH_RESPONSE, session_id, 0) != 0)
		goto out;
	capf_build_u8(&b, CAPF_TAG_REASON, CAPF_REASON_SUCCESS);
	capf_build_u8(&b, CAPF_TAG_VERSION, (uint8_t)cfg->protocol);
	capf_build_cstr(&b, CAPF_TAG_DEVICE_NAME, cfg->name, CAPF_NAME_MAX);
	if (cfg->protocol >= 3)
		capf_build_cstr(&b, CAPF_TAG_PASSWORD,
				cfg->auth == PHONE_AUTH_STRING && cfg->auth_string ? cfg->auth_string : "",
				CAPF_PASSWORD_MAX);
	if (cfg->auth == PHONE_AUTH_LSC || cfg->auth == PHONE_AUTH_MIC) {
		if (cfg->cert == NULL || cfg->cert_key == NULL) {
			snprintf(err, errlen, "certificate authentication needs --cert and --key");
			goto out;
		}
		if (der_of(cfg->cert, &der, &der_len, err, errlen) != 0)
			goto out;
		capf_build_cert(&b, cfg->auth == PHONE_AUTH_LSC ? CAPF_CERT_LSC : CAPF_CERT_MIC, der, der_len);
		/* data = DEVICE_NAME | 0x00 | certificate DER */
		if ((data = malloc(name_len + 1 + der_len)) == NULL)
			goto out;
		memcpy(data, cfg->name, name_len + 1);
		memcpy(data + name_len + 1, der, der_len);
		if (put_sig(&b, cfg->cert_key, 0, data, name_len + 1 + der_len, err, errlen) != 0 ||
		    put_sig(&b, cfg->cert_key, 1, data, name_len + 1 + der_len, err, errlen) != 0)
			goto out;
	}
	if (cfg->sudi_cert != NULL && cfg->sudi_key != NULL) {
		free(der);
		if (der_of(cfg->sudi_cert, &der, &der_len, err, errlen) != 0)
			goto out;
		if ((sdata = malloc(4 + der_len)) == NULL)
			goto out;
		capf_sudi_signed_data(session_id, der, der_len, sdata, 4 + der_len);
		if (phone_sign(cfg->sudi_key, CAPF_HASH_SHA1, sdata, 4 + der_len, &s1, &l1, err, errlen) != 0 ||
		    phone_sign(cfg->sudi_key, CAPF_HASH_SHA512, sdata, 4 + der_len, &s3, &l3, err, errlen) != 0)
			goto out;
		capf_build_sudi(&b, der, der_len, s1, l1, s3, l3);
	}
	if (capf_build_finish(&b, &msg, &msglen, err, errlen) != 0)
		goto out;
	if ((*out = malloc(msglen)) == NULL)
		goto out;
	memcpy(*out, msg, msglen);
	*outlen = msglen;
	rc = 0;
out:
	if (rc != 0 && err[0] == '\0')
		snprintf(err, errlen, "cannot build AUTH_RESPONSE");
	capf_build_free(&b);
	free(der);
	free(data);
	free(sdata);
	free(s1);
	free(s3);
	return rc;
}

/*
 * A pooled key's SubjectPublicKeyInfo, encoded when the key is made (before the
 * clock), kept with the key as ex_data and freed with it.
 */
struct spki {
	size_t len;
	uint8_t der[];
};

static int spki_idx = -1;
static pthread_once_t spki_once = PTHREAD_ONCE_INIT;

static void spki_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	free(ptr);
}

static void spki_init(void)
{
	spki_idx = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_EVP_PKEY, 0, NULL, NULL, NULL, spki_free);
}

/* Best effort: without it the session encodes the key itself. */
static void spki_attach(EVP_PKEY *key)
{
	struct spki *sp;
	unsigned char *p;
	int n;

	pthread_once(&spki_once, spki_init);
	if (spki_idx < 0 || (n = i2d_PUBKEY(key, NULL)) <= 0 || (sp = malloc(sizeof(*sp) + (size_t)n)) == NULL)
		return;
	p = sp->der;
	sp->len = (size_t)n;
	if (i2d_PUBKEY(key, &p) != n || EVP_PKEY_set_ex_data(key, spki_idx, sp) != 1)
		free(sp);
}

const uint8_t *phone_key_spki(EVP_PKEY *key, size_t *len)
{
	struct spki *sp;

	if (spki_idx < 0 || (sp = EVP_PKEY_get_ex_data(key, spki_idx)) == NULL)
		return NULL;
	*len = sp->len;
	return sp->der;
}

/* Key pool: a list per kind, taken under a lock. */
struct pool_kind {
	int key_type;
	unsigned rsa_bits;
	int curve;
	EVP_PKEY **keys;
	size_t n;
};

struct phone_keypool {
	pthread_mutex_t lock;
	int reuse;
	size_t turn;
	struct pool_kind kinds[8];
	size_t nkinds;
};

struct phone_keypool *phone_keypool_new(void)
{
	struct phone_keypool *p = calloc(1, sizeof(*p));

	if (p != NULL)
		pthread_mutex_init(&p->lock, NULL);
	return p;
}

int phone_key_spec(const char *spec, int *key_type, unsigned *rsa_bits, int *curve)
{
	unsigned long v;

	if (strncmp(spec, "rsa:", 4) == 0) {
		if (capf_parse_uint(spec + 4, 512, 8192, &v) != 0)
			return -1;
		*key_type = CAPF_KEY_RSA;
		*rsa_bits = (unsigned)v;
		*curve = 0;
		return 0;
	}
	if (strncmp(spec, "ec:", 3) == 0) {
		*key_type = CAPF_KEY_EC;
		*rsa_bits = 0;
		for (int c = CAPF_CURVE_P256; c <= CAPF_CURVE_P521; c++)
			if (strcmp(spec + 3, curve_group(c)) == 0) {
				*curve = c;
				return 0;
			}
	}
	return -1;
}

int phone_keypool_fill(struct phone_keypool *p, const char *spec, unsigned n, char *err, size_t errlen)
{
	struct pool_kind *k = NULL;
	EVP_PKEY **fresh;
	int kt, curve, rc = -1;
	unsigned bits, made = 0;

	if (phone_key_spec(spec, &kt, &bits, &curve) != 0) {
		snprintf(err, errlen, "key kind \"%s\": expected rsa:BITS (512..8192) or ec:P-256|P-384|P-521",
			 spec);
		return -1;
	}
	/* generate outside the lock (several threads fill one pool), then append */
	if ((fresh = calloc(n ? n : 1, sizeof(*fresh))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (; made < n; made++) {
		if ((fresh[made] = phone_keygen(kt, bits, curve, err, errlen)) == NULL)
			goto out;
		spki_attach(fresh[made]);
	}
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->nkinds; i++)
		if (p->kinds[i].key_type == kt && p->kinds[i].rsa_bits == bits && p->kinds[i].curve == curve)
			k = &p->kinds[i];
	if (k == NULL && p->nkinds < sizeof(p->kinds) / sizeof(p->kinds[0])) {
		k = &p->kinds[p->nkinds++];
		k->key_type = kt;
		k->rsa_bits = bits;
		k->curve = curve;
	}
	EVP_PKEY **nk = k != NULL ? realloc(k->keys, (k->n + n + 1) * sizeof(*nk)) : NULL;
	if (nk != NULL) {
		k->keys = nk;
		memcpy(k->keys + k->n, fresh, n * sizeof(*fresh));
		k->n += n;
		made = 0; /* owned by the pool now */
		rc = 0;
	} else {
		snprintf(err, errlen, k == NULL ? "too many key kinds" : "out of memory");
	}
	pthread_mutex_unlock(&p->lock);
out:
	for (unsigned i = 0; i < made; i++)
		EVP_PKEY_free(fresh[i]);
	free(fresh);
	return rc;
}

EVP_PKEY *phone_keypool_take(struct phone_keypool *p, int key_type, unsigned rsa_bits, int curve)
{
	EVP_PKEY *key = NULL;

	if (p == NULL)
		return NULL;
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->nkinds && key == NULL; i++) {
		struct pool_kind *k = &p->kinds[i];

		if (k->key_type != key_type || k->n == 0 ||
		    (key_type == CAPF_KEY_RSA ? k->rsa_bits != rsa_bits : k->curve != curve))
			continue;
		if (p->reuse) {
			key = k->keys[p->turn++ % k->n];
			EVP_PKEY_up_ref(key);
		} else {
			key = k->keys[--k->n];
		}
	}
	pthread_mutex_unlock(&p->lock);
	return key;
}

void phone_keypool_reuse(struct phone_keypool *p, int on)
{
	p->reuse = on;
}

void phone_keypool_free(struct phone_keypool *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nkinds; i++) {
		for (size_t j = 0; j < p->kinds[i].n; j++)
			EVP_PKEY_free(p->kinds[i].keys[j]);
		free(p->kinds[i].keys);
	}
	pthread_mutex_destroy(&p->lock);
	free(p);
}
