/* tests/unit/policy_pki.c: see policy_pki.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "tests/unit/policy_pki.h"

static struct {
	char spec[32];
	EVP_PKEY *k;
} cache[32];
static struct {
	EVP_PKEY *k;
	unsigned char *der;
	size_t len;
} spkis[64];

static void free_cache(void)
{
	for (size_t i = 0; i < sizeof(cache) / sizeof(cache[0]); i++)
		EVP_PKEY_free(cache[i].k);
	for (size_t i = 0; i < sizeof(spkis) / sizeof(spkis[0]); i++) {
		EVP_PKEY_free(spkis[i].k);
		OPENSSL_free(spkis[i].der);
	}
}

const unsigned char *pki_spki(EVP_PKEY *k, size_t *len)
{
	size_t i;
	int n;

	for (i = 0; i < sizeof(spkis) / sizeof(spkis[0]) && spkis[i].k != NULL; i++)
		if (spkis[i].k == k) {
			*len = spkis[i].len;
			return spkis[i].der;
		}
	/* the key is held (up_ref) while its encoding is cached: no address is reused */
	if (i == sizeof(spkis) / sizeof(spkis[0]) || (n = i2d_PUBKEY(k, &spkis[i].der)) <= 0 ||
	    !EVP_PKEY_up_ref(k)) {
		fprintf(stderr, "pki_spki failed\n");
		abort();
	}
	spkis[i].k = k;
	spkis[i].len = (size_t)n;
	*len = spkis[i].len;
	return spkis[i].der;
}

struct capf_lsc_input pki_input(const char *name, EVP_PKEY *k, time_t now)
{
	struct capf_lsc_input in = { .device_name = name, .now = now };

	in.spki = pki_spki(k, &in.spki_len);
	return in;
}

EVP_PKEY *pki_key(const char *spec)
{
	const char *orig = spec;
	static int registered;
	EVP_PKEY *k = NULL;
	size_t i;

	if (!registered) {
		atexit(free_cache);
		registered = 1;
	}
	for (i = 0; i < sizeof(cache) / sizeof(cache[0]) && cache[i].k != NULL; i++)
		if (strcmp(cache[i].spec, spec) == 0)
			return cache[i].k;
	char gen[32];
	snprintf(gen, sizeof(gen), "%s", spec);
	gen[strcspn(gen, "#")] = '\0'; /* "EC:P-256#2": another key of that kind */
	spec = gen;
	if (strncmp(spec, "RSA:", 4) == 0)
		k = EVP_RSA_gen((unsigned)atoi(spec + 4));
	else if (strncmp(spec, "EC:", 3) == 0)
		k = EVP_EC_gen(spec + 3);
	else if (strcmp(spec, "ED25519") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else if (strncmp(spec, "RSA-PSS:", 8) == 0) {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
		if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 ||
		    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, atoi(spec + 8)) != 1 || EVP_PKEY_keygen(ctx, &k) != 1)
			k = NULL;
		EVP_PKEY_CTX_free(ctx);
	}
	if (k == NULL || i == sizeof(cache) / sizeof(cache[0])) {
		fprintf(stderr, "pki_key(%s) failed\n", spec);
		abort();
	}
	snprintf(cache[i].spec, sizeof(cache[i].spec), "%s", orig);
	cache[i].k = k;
	return k;
}

EVP_PKEY *pki_rsa_pub(unsigned bits, unsigned long e, int add)
{
	char spec[32];
	BIGNUM *n = NULL, *be = BN_new();
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *p = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *k = NULL;

	snprintf(spec, sizeof(spec), "RSA:%u", bits);
	if (EVP_PKEY_get_bn_param(pki_key(spec), OSSL_PKEY_PARAM_RSA_N, &n) != 1 || be == NULL ||
	    !(e == 0 ? BN_set_word(be, 1) && BN_lshift(be, be, 256) && BN_add_word(be, 1) :
		       BN_set_word(be, e)) ||
	    (add > 0 && !BN_add_word(n, (BN_ULONG)add)) ||
	    (add < 0 && !(BN_sub_word(n, BN_mod_word(n, (BN_ULONG)-add)) &&
			  (BN_is_odd(n) || BN_add_word(n, (BN_ULONG)-add)))) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be) || (p = OSSL_PARAM_BLD_to_param(b)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, p) != 1)
		abort();
	OSSL_PARAM_free(p);
	OSSL_PARAM_BLD_free(b);
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(be);
	return k;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ex;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL || !X509_add_ext(x, ex, -1))
		abort();
	X509_EXTENSION_free(ex);
}

X509 *pki_cert(const struct pki_cert *p)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	char *s = strdup(p->subject), *tok, *save = NULL;
	unsigned char serial[12];
	BIGNUM *bn;

	if (x == NULL || n == NULL || s == NULL)
		abort();
	for (tok = strtok_r(s, "/", &save); tok != NULL; tok = strtok_r(NULL, "/", &save)) {
		char *eq = strchr(tok, '=');
		*eq = '\0';
		if (!X509_NAME_add_entry_by_txt(n, tok, MBSTRING_UTF8, (unsigned char *)eq + 1, -1, -1, 0))
			abort();
	}
	free(s);
	RAND_bytes(serial, sizeof(serial));
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_set_version(x, X509_VERSION_3);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, p->issuer != NULL ? X509_get_subject_name(p->issuer) : n);
	ASN1_TIME_set(X509_getm_notBefore(x), p->not_before);
	ASN1_TIME_set(X509_getm_notAfter(x), p->not_after);
	X509_set_pubkey(x, p->key);
	if (p->bc != NULL)
		add_ext(x, p->issuer ? p->issuer : x, NID_basic_constraints, p->bc);
	if (p->ku != NULL)
		add_ext(x, p->issuer ? p->issuer : x, NID_key_usage, p->ku);
	if (!p->no_ski)
		add_ext(x, p->issuer ? p->issuer : x, NID_subject_key_identifier, "hash");
	if (p->issuer != NULL)
		add_ext(x, p->issuer, NID_authority_key_identifier, "keyid:always");
	if (!X509_sign(x, p->issuer_key != NULL ? p->issuer_key : p->key, EVP_sha256()))
		abort();
	X509_NAME_free(n);
	return x;
}

char *pki_pem(X509 *const *certs, int n, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long l;

	for (int i = 0; i < n; i++)
		PEM_write_bio_X509(b, certs[i]);
	l = BIO_get_mem_data(b, &data);
	out = malloc((size_t)l + 1);
	memcpy(out, data, (size_t)l);
	out[l] = '\0';
	*len = (size_t)l;
	BIO_free(b);
	return out;
}

void pki_conf(struct capf_conf *c)
{
	capf_conf_defaults(c);
}

void pki_world_make(struct pki_world *w, time_t now, const char *capf_key_spec, long capf_days)
{
	pki_world_make_tagged(w, now, capf_key_spec, capf_days, "");
}

void pki_world_make_tagged(struct pki_world *w, time_t now, const char *capf_key_spec, long capf_days,
			   const char *tag)
{
	pki_world_make_ex(w, now, capf_key_spec, capf_days, tag, 5000);
}

void pki_world_make_ex(struct pki_world *w, time_t now, const char *capf_key_spec, long capf_days,
		       const char *tag, long inter_days)
{
	char k1[32], k2[32];

	snprintf(k1, sizeof(k1), "EC:P-384%s", tag);
	snprintf(k2, sizeof(k2), "EC:P-256%s", tag);
	struct pki_cert r = {
		.subject = "/C=US/O=Third Party Trust/CN=Third Party Root",
		.key = pki_key(k1),
		.not_before = now - 86400 * 30,
		.not_after = now + 86400L * 7300,
		.bc = "critical,CA:TRUE",
		.ku = "critical,keyCertSign,cRLSign",
	};
	w->root_key = r.key;
	w->root = pki_cert(&r);
	struct pki_cert i = {
		.subject = "/C=US/O=Third Party Trust/CN=Third Party Issuing CA",
		.issuer = w->root,
		.issuer_key = w->root_key,
		.key = pki_key(k2),
		.not_before = now - 86400 * 20,
		.not_after = now + 86400L * inter_days,
		.bc = "critical,CA:TRUE,pathlen:1",
		.ku = "critical,keyCertSign,cRLSign",
	};
	w->inter_key = i.key;
	w->inter = pki_cert(&i);
	struct pki_cert c = {
		.subject = PKI_CAPF_SUBJECT,
		.issuer = w->inter,
		.issuer_key = w->inter_key,
		.key = pki_key(capf_key_spec),
		.not_before = now - 86400,
		.not_after = now + 86400L * capf_days,
		.bc = "critical,CA:TRUE,pathlen:0",
		.ku = "critical,keyCertSign,digitalSignature",
	};
	w->capf_key = c.key;
	w->capf = pki_cert(&c);
}

void pki_world_free(struct pki_world *w)
{
	X509_free(w->root);
	X509_free(w->inter);
	X509_free(w->capf);
}

int pki_errs_have(const struct capf_errlist *l, const char *want)
{
	for (size_t i = 0; i < capf_errlist_count(l); i++)
		if (strstr(capf_errlist_get(l, i), want) != NULL)
			return 1;
	return 0;
}
