/*
 * tests/integ/test_p11_token.c: the token layer against a real SoftHSM token in
 * a temporary directory (own SOFTHSM2_CONF). The module is loaded through
 * tests/integ/p11spy.c, a pass-through that only counts C_Login calls.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <dlfcn.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "pkcs11/p11.h"

#define LABEL "P11TEST"
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static char dir[128], spy_path[PATH_MAX], pin_file[256], sopin_file[256], bad_pin_file[256];
static unsigned long (*spy_logins)(int);

/* ---- log capture ------------------------------------------------------- */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char logbuf[1 << 20];
static size_t loglen;

static void log_cb(void *arg, int level, const char *msg)
{
	pthread_mutex_lock(&log_mu);
	int n = snprintf(logbuf + loglen, sizeof(logbuf) - loglen, "<%d>%s\n", level, msg);
	if (n > 0 && (size_t)n < sizeof(logbuf) - loglen)
		loglen += (size_t)n;
	pthread_mutex_unlock(&log_mu);
}

static void log_clear(void)
{
	pthread_mutex_lock(&log_mu);
	loglen = 0;
	logbuf[0] = '\0';
	pthread_mutex_unlock(&log_mu);
}

static int log_has(const char *s)
{
	int r;

	pthread_mutex_lock(&log_mu);
	r = strstr(logbuf, s) != NULL;
	pthread_mutex_unlock(&log_mu);
	return r;
}

/* ---- fixture ----------------------------------------------------------- */

static void write_file(const char *path, const char *content, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static int group_setup(void **state)
{
	char conf[256], body[512], exe[PATH_MAX], err[512];
	ssize_t n;
	void *dl;

	snprintf(dir, sizeof(dir), "/tmp/test_p11_token.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(conf, sizeof(conf), "%s/softhsm2.conf", dir);
	snprintf(body, sizeof(body),
		 "directories.tokendir = %s/tokens\nobjectstore.backend = file\n"
		 "log.level = ERROR\nslots.removable = false\n",
		 dir);
	snprintf(exe, sizeof(exe), "%s/tokens", dir);
	mkdir(exe, 0700);
	write_file(conf, body, 0600);
	setenv("SOFTHSM2_CONF", conf, 1);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	snprintf(spy_path, sizeof(spy_path), "%s/libp11spy.so", dirname(exe));
	if ((dl = dlopen(spy_path, RTLD_NOW)) == NULL) {
		fprintf(stderr, "%s\n", dlerror());
		return -1;
	}
	spy_logins = (unsigned long (*)(int))dlsym(dl, "p11spy_logins");
	if (spy_logins == NULL)
		return -1;
	snprintf(pin_file, sizeof(pin_file), "%s/user.pin", dir);
	snprintf(sopin_file, sizeof(sopin_file), "%s/so.pin", dir);
	snprintf(bad_pin_file, sizeof(bad_pin_file), "%s/bad.pin", dir);
	write_file(pin_file, "31415926\n", 0600);
	write_file(sopin_file, "27182818\n", 0600);
	write_file(bad_pin_file, "00000000\n", 0600);
	p11_set_log_fn(log_cb, NULL);
	if (p11_token_init(spy_path, LABEL, sopin_file, pin_file, NULL, err, sizeof(err)) != P11_OK) {
		fprintf(stderr, "token init: %s\n", err);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct p11_token *open_token(const char *pin, const struct p11_token_opts *opts)
{
	struct p11_token_opts o = { 0 };
	struct p11_token *t = NULL;
	struct p11_uri u;
	char s[512], err[512];

	if (opts != NULL)
		o = *opts;
	o.module_path = spy_path;
	snprintf(s, sizeof(s), "pkcs11:token=" LABEL "?pin-source=file:%s", pin);
	assert_int_equal(p11_uri_parse(s, &u, err, sizeof(err)), 0);
	if (p11_token_open(&u, &o, &t, err, sizeof(err)) != P11_OK)
		fail_msg("open: %s", err);
	p11_uri_clear(&u);
	return t;
}

static struct p11_object *find_key(struct p11_token *t, const char *label, CK_OBJECT_CLASS cls)
{
	struct p11_object *o = NULL;
	struct p11_uri u;
	char s[256], err[512];

	snprintf(s, sizeof(s), "pkcs11:object=%s", label);
	assert_int_equal(p11_uri_parse(s, &u, err, sizeof(err)), 0);
	if (p11_find_one(t, &u, cls, &o, err, sizeof(err)) != P11_OK)
		fail_msg("find %s: %s", label, err);
	p11_uri_clear(&u);
	return o;
}

static const struct {
	const char *spec;
	const char *label;
	unsigned bits;
	int nid;
} keys[] = {
	{ "rsa:2048", "k-rsa2048", 2048, NID_undef }, { "rsa:3072", "k-rsa3072", 3072, NID_undef },
	{ "rsa:4096", "k-rsa4096", 4096, NID_undef }, { "ec:P-256", "k-p256", 256, NID_X9_62_prime256v1 },
	{ "ec:P-384", "k-p384", 384, NID_secp384r1 }, { "ec:P-521", "k-p521", 521, NID_secp521r1 },
};

static void kill_sessions(struct p11_token *t);

/* ---- key generation and lookup ----------------------------------------- */

static void test_keygen_and_lookup(void **state)
{
	struct p11_token_opts opts = { .rw = 1 };
	struct p11_token *t = open_token(pin_file, &opts);
	char err[512];

	for (size_t i = 0; i < NELEM(keys); i++) {
		struct p11_keyspec spec;
		struct p11_object *k, *byid, *pub;
		const unsigned char *id;
		size_t idlen;
		struct p11_uri u;
		char s[P11_URI_MAX];

		assert_int_equal(p11_keyspec_parse(keys[i].spec, &spec, err, sizeof(err)), 0);
		if (p11_keygen(t, &spec, keys[i].label, NULL, 0, &k, err, sizeof(err)) != P11_OK)
			fail_msg("keygen %s: %s", keys[i].spec, err);
		assert_int_equal(p11_object_class(k), CKO_PRIVATE_KEY);
		assert_int_equal(p11_object_key_type(k), keys[i].nid == NID_undef ? CKK_RSA : CKK_EC);
		assert_int_equal(p11_object_bits(k), keys[i].bits);
		assert_int_equal(p11_object_curve_nid(k), keys[i].nid);
		assert_string_equal(p11_object_label(k), keys[i].label);
		id = p11_object_id(k, &idlen);
		assert_int_equal(idlen, 16);
		assert_int_equal(p11_sign_size(k),
				 keys[i].nid == NID_undef ? keys[i].bits / 8 : 2 * ((keys[i].bits + 7) / 8));

		/* By id alone: the private key and the public key share it. */
		memset(&u, 0, sizeof(u));
		u.id = (unsigned char *)id;
		u.idlen = idlen;
		u.has_id = 1;
		assert_int_equal(p11_find_one(t, &u, CKO_PRIVATE_KEY, &byid, err, sizeof(err)), P11_OK);
		assert_string_equal(p11_object_label(byid), keys[i].label);
		assert_int_equal(p11_find_one(t, &u, CKO_PUBLIC_KEY, &pub, err, sizeof(err)), P11_OK);
		assert_string_equal(p11_object_label(pub), keys[i].label);
		assert_int_equal(p11_object_bits(pub), keys[i].bits);
		/* By the URI the object reports. */
		assert_int_equal(p11_object_uri(k, s, sizeof(s)), 0);
		assert_non_null(strstr(s, "type=private"));
		p11_object_free(byid);
		p11_object_free(pub);
		assert_int_equal(p11_uri_parse(s, &u, err, sizeof(err)), 0);
		assert_int_equal(p11_find_one(t, &u, CKO_PRIVATE_KEY, &byid, err, sizeof(err)), P11_OK);
		p11_uri_clear(&u);
		p11_object_free(byid);
		p11_object_free(k);
	}
	/* By label, and the ambiguity/absence messages. */
	{
		struct p11_object *k = find_key(t, "k-p256", CKO_PRIVATE_KEY), *o;
		struct p11_object **all;
		size_t n;
		struct p11_uri u;

		p11_object_free(k);
		assert_int_equal(p11_uri_parse("pkcs11:object=nope", &u, err, sizeof(err)), 0);
		assert_int_equal(p11_find_one(t, &u, CKO_PRIVATE_KEY, &o, err, sizeof(err)), P11_ERR);
		assert_non_null(strstr(err, "no private key matches pkcs11:"));
		p11_uri_clear(&u);
		assert_int_equal(p11_uri_parse("pkcs11:object=k-p256;type=public", &u, err, sizeof(err)), 0);
		assert_int_equal(p11_find_one(t, &u, CKO_PRIVATE_KEY, &o, err, sizeof(err)), P11_ERR);
		assert_non_null(strstr(err, "type=public"));
		assert_int_equal(p11_find(t, &u, 10, &all, &n, err, sizeof(err)), P11_OK);
		assert_int_equal(n, 1);
		assert_int_equal(p11_object_class(all[0]), CKO_PUBLIC_KEY);
		p11_objects_free(all, n);
		p11_uri_clear(&u);
		assert_int_equal(p11_uri_parse("pkcs11:", &u, err, sizeof(err)), 0);
		assert_int_equal(p11_find(t, &u, 100, &all, &n, err, sizeof(err)), P11_OK);
		assert_int_equal(n, 2 * NELEM(keys));
		p11_objects_free(all, n);
		assert_int_equal(p11_find(t, &u, 3, &all, &n, err, sizeof(err)), P11_OK);
		assert_int_equal(n, 3);
		p11_objects_free(all, n);
		p11_uri_clear(&u);
	}
	p11_token_close(t);
}

static void test_keygen_refuses(void **state)
{
	struct p11_token_opts opts = { .rw = 1 };
	struct p11_token *t = open_token(pin_file, &opts), *ro;
	struct p11_keyspec spec = { CKK_EC, 256, NID_X9_62_prime256v1 };
	struct p11_object **all;
	struct p11_uri u;
	size_t n;
	char err[512];

	/* An existing label (of a key pair) is refused before anything is generated. */
	assert_int_equal(p11_keygen(t, &spec, "k-rsa2048", NULL, 0, NULL, err, sizeof(err)), P11_ERR);
	assert_non_null(strstr(err, "'k-rsa2048' already exists"));
	assert_int_equal(p11_uri_parse("pkcs11:object=k-rsa2048", &u, err, sizeof(err)), 0);
	assert_int_equal(p11_find(t, &u, 10, &all, &n, err, sizeof(err)), P11_OK);
	assert_int_equal(n, 2);
	p11_objects_free(all, n);
	p11_uri_clear(&u);
	/* Bad specs and labels. */
	spec.bits = 1024;
	spec.type = CKK_RSA;
	assert_int_equal(p11_keygen(t, &spec, "x", NULL, 0, NULL, err, sizeof(err)), P11_ERR);
	assert_non_null(strstr(err, "RSA key size 1024"));
	spec = (struct p11_keyspec){ CKK_EC, 256, NID_X9_62_prime256v1 };
	assert_int_equal(p11_keygen(t, &spec, "", NULL, 0, NULL, err, sizeof(err)), P11_ERR);
	assert_int_equal(p11_keygen(t, &spec, "a\nb", NULL, 0, NULL, err, sizeof(err)), P11_ERR);
	/* Sessions gone: keygen recovers first and generates once. */
	{
		struct p11_object *k;

		kill_sessions(t);
		if (p11_keygen(t, &spec, "k-after-fault", NULL, 0, &k, err, sizeof(err)) != P11_OK)
			fail_msg("keygen after fault: %s", err);
		assert_string_equal(p11_object_label(k), "k-after-fault");
		assert_int_equal(p11_token_recoveries(t), 1);
		p11_object_free(k);
		assert_int_equal(p11_uri_parse("pkcs11:object=k-after-fault", &u, err, sizeof(err)), 0);
		assert_int_equal(p11_find(t, &u, 10, &all, &n, err, sizeof(err)), P11_OK);
		assert_int_equal(n, 2);
		p11_objects_free(all, n);
		p11_uri_clear(&u);
	}
	/* A given id is used. */
	{
		struct p11_object *k;
		const unsigned char *id;
		size_t idlen;

		assert_int_equal(p11_keygen(t, &spec, "k-given-id", (const unsigned char *)"\x01\x02\x03", 3,
					    &k, err, sizeof(err)),
				 P11_OK);
		id = p11_object_id(k, &idlen);
		assert_int_equal(idlen, 3);
		assert_memory_equal(id, "\x01\x02\x03", 3);
		p11_object_free(k);
	}
	p11_token_close(t);
	/* Read-only sessions cannot generate. */
	ro = open_token(pin_file, NULL);
	assert_int_equal(p11_keygen(ro, &spec, "k-ro", NULL, 0, NULL, err, sizeof(err)), P11_ERR);
	assert_non_null(strstr(err, "read-write"));
	p11_token_close(ro);
}

static void test_key_attributes(void **state)
{
	struct p11_token *t = open_token(pin_file, NULL);
	char err[512];

	for (size_t i = 0; i < NELEM(keys); i++) {
		struct p11_object *k = find_key(t, keys[i].label, CKO_PRIVATE_KEY);
		static const struct {
			CK_ATTRIBUTE_TYPE a;
			int want;
		} bools[] = {
			{ CKA_TOKEN, 1 },       { CKA_PRIVATE, 1 },           { CKA_SENSITIVE, 1 },
			{ CKA_EXTRACTABLE, 0 }, { CKA_NEVER_EXTRACTABLE, 1 }, { CKA_ALWAYS_SENSITIVE, 1 },
			{ CKA_SIGN, 1 },        { CKA_DECRYPT, 0 },           { CKA_UNWRAP, 0 },
			{ CKA_DERIVE, 0 },
		};
		unsigned char *v;
		size_t len;
		CK_RV rv;
		int b;

		for (size_t j = 0; j < NELEM(bools); j++) {
			if (p11_object_bool(k, bools[j].a, &b, err, sizeof(err)) != P11_OK)
				fail_msg("%s attr 0x%lx: %s", keys[i].label, bools[j].a, err);
			if (b != bools[j].want)
				fail_msg("%s attr 0x%lx is %d", keys[i].label, bools[j].a, b);
		}
		/* The secret half cannot be read. */
		if (keys[i].nid == NID_undef) {
			static const CK_ATTRIBUTE_TYPE secret[] = {
				CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2, CKA_EXPONENT_1, CKA_COEFFICIENT,
			};
			for (size_t j = 0; j < NELEM(secret); j++) {
				assert_int_equal(p11_object_attr(k, secret[j], &v, &len, &rv, err, sizeof(err)),
						 P11_ERR);
				assert_int_equal(rv, CKR_ATTRIBUTE_SENSITIVE);
				assert_non_null(strstr(err, "CKR_ATTRIBUTE_SENSITIVE"));
			}
		} else {
			assert_int_equal(p11_object_attr(k, CKA_VALUE, &v, &len, &rv, err, sizeof(err)),
					 P11_ERR);
			assert_int_equal(rv, CKR_ATTRIBUTE_SENSITIVE);
		}
		/* The public key object verifies and is public. */
		{
			struct p11_object *pub = find_key(t, keys[i].label, CKO_PUBLIC_KEY);

			assert_int_equal(p11_object_bool(pub, CKA_VERIFY, &b, err, sizeof(err)), P11_OK);
			assert_true(b);
			assert_int_equal(p11_object_bool(pub, CKA_TOKEN, &b, err, sizeof(err)), P11_OK);
			assert_true(b);
			p11_object_free(pub);
		}
		p11_object_free(k);
	}
	p11_token_close(t);
}

/* ---- signatures --------------------------------------------------------- */

static const unsigned char sha256_prefix[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
};

/* Signs msg with key using mech; verifies with OpenSSL against pub. Returns 1 when valid. */
static int sign_verify(struct p11_object *k, EVP_PKEY *pub, CK_MECHANISM_TYPE mech, const char *msg, char *err,
		       size_t errlen, int *rc_out)
{
	unsigned char hash[64], in[128], sig[1024], der[P11_ECDSA_DER_MAX];
	const EVP_MD *md = EVP_sha256();
	CK_RSA_PKCS_PSS_PARAMS pss = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
	unsigned hlen;
	size_t inlen, siglen = sizeof(sig), derlen = sizeof(der);
	EVP_PKEY_CTX *ctx;
	int ok, rc;

	if (mech == CKM_ECDSA && p11_object_bits(k) == 384)
		md = EVP_sha384();
	else if (mech == CKM_ECDSA && p11_object_bits(k) == 521)
		md = EVP_sha512();
	EVP_Digest(msg, strlen(msg), hash, &hlen, md, NULL);
	if (mech == CKM_RSA_PKCS) {
		memcpy(in, sha256_prefix, sizeof(sha256_prefix));
		memcpy(in + sizeof(sha256_prefix), hash, hlen);
		inlen = sizeof(sha256_prefix) + hlen;
	} else {
		memcpy(in, hash, hlen);
		inlen = hlen;
	}
	rc = p11_sign(k, mech, mech == CKM_RSA_PKCS_PSS ? &pss : NULL,
		      mech == CKM_RSA_PKCS_PSS ? sizeof(pss) : 0, in, inlen, sig, &siglen, err, errlen);
	if (rc_out != NULL)
		*rc_out = rc;
	if (rc != P11_OK)
		return 0;
	if (mech == CKM_ECDSA) {
		if (siglen != p11_sign_size(k) ||
		    p11_ecdsa_raw_to_der(sig, siglen, der, &derlen, err, errlen) != P11_OK)
			return 0;
		memcpy(sig, der, derlen);
		siglen = derlen;
	}
	ctx = EVP_PKEY_CTX_new(pub, NULL);
	ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1;
	if (ok && mech == CKM_RSA_PKCS)
		ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_signature_md(ctx, md) == 1;
	if (ok && mech == CKM_RSA_PKCS_PSS)
		ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_signature_md(ctx, md) == 1 &&
		     EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) == 1 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, 32) == 1;
	ok = ok && EVP_PKEY_verify(ctx, sig, siglen, hash, hlen) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok)
		snprintf(err, errlen, "signature does not verify");
	return ok;
}

static void test_sign_verify(void **state)
{
	struct p11_token *t = open_token(pin_file, NULL);
	char err[512];

	for (size_t i = 0; i < NELEM(keys); i++) {
		struct p11_object *k = find_key(t, keys[i].label, CKO_PRIVATE_KEY);
		EVP_PKEY *pub;
		size_t sz;

		assert_int_equal(p11_object_public_key(k, NULL, NULL, &pub, err, sizeof(err)), P11_OK);
		assert_int_equal(EVP_PKEY_get_bits(pub), (int)keys[i].bits);
		assert_int_equal(p11_sign(k, CKM_ECDSA, NULL, 0, NULL, 0, NULL, &sz, err, sizeof(err)),
				 keys[i].nid == NID_undef ? P11_ERR : P11_OK);
		if (keys[i].nid == NID_undef) {
			if (!sign_verify(k, pub, CKM_RSA_PKCS, "hello", err, sizeof(err), NULL))
				fail_msg("%s PKCS#1: %s", keys[i].label, err);
			if (!sign_verify(k, pub, CKM_RSA_PKCS_PSS, "hello", err, sizeof(err), NULL))
				fail_msg("%s PSS: %s", keys[i].label, err);
			/* ECDSA with an RSA key: refused before the token. */
			assert_int_equal(sign_verify(k, pub, CKM_ECDSA, "x", err, sizeof(err), NULL), 0);
			assert_non_null(strstr(err, "needs an EC key"));
		} else {
			assert_int_equal(sz, p11_sign_size(k));
			if (!sign_verify(k, pub, CKM_ECDSA, "hello", err, sizeof(err), NULL))
				fail_msg("%s ECDSA: %s", keys[i].label, err);
			assert_int_equal(sign_verify(k, pub, CKM_RSA_PKCS_PSS, "x", err, sizeof(err), NULL), 0);
			assert_non_null(strstr(err, "needs an RSA key"));
		}
		/* The public key object gives the same key. */
		{
			struct p11_object *po = find_key(t, keys[i].label, CKO_PUBLIC_KEY);
			EVP_PKEY *pub2;

			assert_int_equal(p11_object_public_key(po, NULL, NULL, &pub2, err, sizeof(err)),
					 P11_OK);
			assert_int_equal(EVP_PKEY_eq(pub, pub2), 1);
			EVP_PKEY_free(pub2);
			p11_object_free(po);
		}
		EVP_PKEY_free(pub);
		p11_object_free(k);
	}
	/* A wrong signature does not verify (the check can fail). */
	{
		struct p11_object *k = find_key(t, "k-p256", CKO_PRIVATE_KEY);
		struct p11_object *other = find_key(t, "k-p384", CKO_PUBLIC_KEY);
		EVP_PKEY *pub;

		assert_int_equal(p11_object_public_key(other, NULL, NULL, &pub, err, sizeof(err)), P11_OK);
		assert_int_equal(sign_verify(k, pub, CKM_ECDSA, "hello", err, sizeof(err), NULL), 0);
		EVP_PKEY_free(pub);
		p11_object_free(other);
		p11_object_free(k);
	}
	/* Bad requests are P11_ERR, not "token down". */
	{
		struct p11_object *k = find_key(t, "k-rsa2048", CKO_PRIVATE_KEY), *pub;
		unsigned char in[300] = { 0 }, sig[256];
		size_t siglen = sizeof(sig);

		assert_int_equal(p11_sign(k, CKM_RSA_PKCS, NULL, 0, in, 300, sig, &siglen, err, sizeof(err)),
				 P11_ERR);
		siglen = 10;
		assert_int_equal(p11_sign(k, CKM_RSA_PKCS, NULL, 0, in, 32, sig, &siglen, err, sizeof(err)),
				 P11_ERR);
		assert_non_null(strstr(err, "256 needed"));
		siglen = sizeof(sig);
		assert_int_equal(p11_sign(k, CKM_RSA_PKCS_PSS, NULL, 0, in, 32, sig, &siglen, err, sizeof(err)),
				 P11_ERR);
		assert_int_equal(p11_sign(k, CKM_SHA256_RSA_PKCS, NULL, 0, in, 32, sig, &siglen, err,
					  sizeof(err)),
				 P11_ERR);
		assert_non_null(strstr(err, "not supported"));
		/* PSS parameters the token refuses: the CK_RV is in the message. */
		{
			CK_RSA_PKCS_PSS_PARAMS pss = { CKM_SHA256, CKG_MGF1_SHA256, 32 };

			assert_int_equal(p11_sign(k, CKM_RSA_PKCS_PSS, &pss, sizeof(pss), in, 20, sig, &siglen,
						  err, sizeof(err)),
					 P11_ERR);
			assert_non_null(strstr(err, "C_Sign"));
		}
		pub = find_key(t, "k-rsa2048", CKO_PUBLIC_KEY);
		assert_int_equal(p11_sign(pub, CKM_RSA_PKCS, NULL, 0, in, 32, sig, &siglen, err, sizeof(err)),
				 P11_ERR);
		assert_non_null(strstr(err, "not a private key"));
		p11_object_free(pub);
		p11_object_free(k);
		assert_false(p11_token_is_down(t));
	}
	p11_token_close(t);
}

/* ---- parallel signing --------------------------------------------------- */

struct worker {
	struct p11_object *key;
	EVP_PKEY *pub;
	CK_MECHANISM_TYPE mech;
	int n, ok, down, other;
	pthread_barrier_t *bar; /* when set: the first signature, then two waits, then the rest */
	char err[512];
};

static void *work(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < w->n; i++) {
		char msg[64], err[512];
		int rc;

		snprintf(msg, sizeof(msg), "message %d from %p", i, (void *)w);
		if (sign_verify(w->key, w->pub, w->mech, msg, err, sizeof(err), &rc))
			w->ok++;
		else if (rc == P11_EDOWN)
			w->down++;
		else {
			w->other++;
			snprintf(w->err, sizeof(w->err), "%s", err);
		}
		if (i == 0 && w->bar != NULL) {
			pthread_barrier_wait(w->bar);
			pthread_barrier_wait(w->bar);
		}
	}
	return NULL;
}

static void run_workers(struct p11_token *t, struct worker *w, int nthreads, int per_thread,
			void (*meanwhile)(struct p11_token *))
{
	pthread_barrier_t bar;
	pthread_t th[16];
	char err[512];
	struct p11_object *rsa = find_key(t, "k-rsa2048", CKO_PRIVATE_KEY);
	struct p11_object *ec = find_key(t, "k-p256", CKO_PRIVATE_KEY);
	EVP_PKEY *rpub, *epub;

	if (meanwhile != NULL)
		pthread_barrier_init(&bar, NULL, (unsigned)nthreads + 1);
	assert_int_equal(p11_object_public_key(rsa, NULL, NULL, &rpub, err, sizeof(err)), P11_OK);
	assert_int_equal(p11_object_public_key(ec, NULL, NULL, &epub, err, sizeof(err)), P11_OK);
	for (int i = 0; i < nthreads; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].key = i % 2 ? rsa : ec;
		w[i].pub = i % 2 ? rpub : epub;
		w[i].mech = i % 4 == 1 ? CKM_RSA_PKCS : i % 4 == 3 ? CKM_RSA_PKCS_PSS : CKM_ECDSA;
		w[i].n = per_thread;
		w[i].bar = meanwhile != NULL ? &bar : NULL;
		assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	/* Between the two waits every thread is outside the token: SoftHSM 2.6
	 * crashes when a session is closed under a C_Sign running in it. */
	if (meanwhile != NULL) {
		pthread_barrier_wait(&bar);
		meanwhile(t);
		pthread_barrier_wait(&bar);
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	if (meanwhile != NULL)
		pthread_barrier_destroy(&bar);
	EVP_PKEY_free(rpub);
	EVP_PKEY_free(epub);
	p11_object_free(rsa);
	p11_object_free(ec);
}

static void test_parallel(void **state)
{
	struct p11_token_opts opts = { .pool_size = 8 };
	struct p11_token *t = open_token(pin_file, &opts);
	struct worker w[8];

	run_workers(t, w, 8, 25, NULL);
	for (int i = 0; i < 8; i++) {
		if (w[i].ok != 25)
			fail_msg("thread %d: %d valid of 25 (%d down, %d other: %s)", i, w[i].ok, w[i].down,
				 w[i].other, w[i].err);
	}
	p11_token_close(t);
	/* A pool smaller than the number of threads: they queue, none fails. */
	opts.pool_size = 2;
	t = open_token(pin_file, &opts);
	run_workers(t, w, 8, 10, NULL);
	for (int i = 0; i < 8; i++)
		assert_int_equal(w[i].ok, 10);
	p11_token_close(t);
}

/* ---- tracing ----------------------------------------------------------- */

static void test_trace(void **state)
{
	struct p11_token *t = open_token(pin_file, NULL);
	struct worker w[1];

	log_clear();
	p11_set_trace(1);
	run_workers(t, w, 1, 1, NULL);
	p11_set_trace(0);
	assert_int_equal(w[0].ok, 1);
	assert_true(log_has("<7>pkcs11 call C_SignInit -> CKR_OK"));
	assert_true(log_has("<7>pkcs11 call C_Sign -> CKR_OK"));
	/* Never a PIN in the log. */
	assert_false(log_has("31415926"));
	log_clear();
	run_workers(t, w, 1, 1, NULL);
	assert_false(log_has("C_Sign"));
	p11_token_close(t);
}

/* ---- public key from a certificate -------------------------------------- */

static void test_pubkey_from_cert(void **state)
{
	struct p11_token_opts opts = { .rw = 1 };
	struct p11_token *t = open_token(pin_file, &opts);
	struct p11_keyspec spec = { CKK_EC, 256, NID_X9_62_prime256v1 };
	struct p11_object *k, *pubo, *cert;
	CK_FUNCTION_LIST *f = p11_module_functions(p11_token_module(t));
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE ph, ch;
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ct = CKC_X_509;
	CK_BBOOL yes = CK_TRUE;
	EVP_PKEY *pub, *signer = EVP_EC_gen("P-256"), *got;
	X509 *x = X509_new();
	unsigned char *der = NULL, *der2;
	size_t idlen, der2len;
	const unsigned char *id;
	struct p11_uri u;
	int derlen;
	char err[512], s[P11_URI_MAX];

	assert_int_equal(p11_keygen(t, &spec, "k-certonly", NULL, 0, &k, err, sizeof(err)), P11_OK);
	assert_int_equal(p11_object_public_key(k, NULL, NULL, &pub, err, sizeof(err)), P11_OK);
	id = p11_object_id(k, &idlen);
	/* A certificate for the token key (issuer and signature do not matter here). */
	assert_non_null(signer);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"k-certonly", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pub);
	assert_true(X509_sign(x, signer, EVP_sha256()) > 0);
	derlen = i2d_X509(x, &der);
	assert_true(derlen > 0);
	{
		CK_ATTRIBUTE tmpl[] = {
			{ CKA_CLASS, &cls, sizeof(cls) }, { CKA_CERTIFICATE_TYPE, &ct, sizeof(ct) },
			{ CKA_TOKEN, &yes, sizeof(yes) }, { CKA_ID, (void *)id, idlen },
			{ CKA_LABEL, "k-certonly", 10 },  { CKA_VALUE, der, (CK_ULONG)derlen },
			{ CKA_SUBJECT, "", 0 },
		};
		assert_int_equal(f->C_OpenSession(p11_token_slot(t), CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
						  NULL, &h),
				 CKR_OK);
		/* SoftHSM wants a real DER subject. */
		unsigned char *subj = NULL;
		int sl = i2d_X509_NAME(X509_get_subject_name(x), &subj);
		tmpl[6].pValue = subj;
		tmpl[6].ulValueLen = (CK_ULONG)sl;
		assert_int_equal(f->C_CreateObject(h, tmpl, NELEM(tmpl), &ch), CKR_OK);
		OPENSSL_free(subj);
	}
	/* Remove the public key object: the public half must now come from the certificate. */
	pubo = find_key(t, "k-certonly", CKO_PUBLIC_KEY);
	{
		CK_ATTRIBUTE tmpl[] = { { CKA_CLASS, &(CK_OBJECT_CLASS){ CKO_PUBLIC_KEY },
					  sizeof(CK_OBJECT_CLASS) },
					{ CKA_ID, (void *)id, idlen } };
		CK_ULONG n;

		assert_int_equal(f->C_FindObjectsInit(h, tmpl, 2), CKR_OK);
		assert_int_equal(f->C_FindObjects(h, &ph, 1, &n), CKR_OK);
		assert_int_equal(f->C_FindObjectsFinal(h), CKR_OK);
		assert_int_equal(n, 1);
		assert_int_equal(f->C_DestroyObject(h, ph), CKR_OK);
	}
	f->C_CloseSession(h);
	p11_object_free(pubo);
	assert_int_equal(p11_object_public_key(k, NULL, NULL, &got, err, sizeof(err)), P11_OK);
	assert_int_equal(EVP_PKEY_eq(got, pub), 1);
	EVP_PKEY_free(got);
	/* The certificate itself, by type=cert. */
	assert_int_equal(p11_uri_parse("pkcs11:object=k-certonly;type=cert", &u, err, sizeof(err)), 0);
	assert_int_equal(p11_find_one(t, &u, CKO_CERTIFICATE, &cert, err, sizeof(err)), P11_OK);
	assert_int_equal(p11_object_cert_der(cert, &der2, &der2len, err, sizeof(err)), P11_OK);
	assert_int_equal(der2len, (size_t)derlen);
	assert_memory_equal(der2, der, der2len);
	OPENSSL_free(der2);
	assert_int_equal(p11_object_cert_der(k, &der2, &der2len, err, sizeof(err)), P11_ERR);
	assert_non_null(strstr(err, "not a certificate"));
	assert_int_equal(p11_object_public_key(cert, NULL, NULL, &got, err, sizeof(err)), P11_OK);
	assert_int_equal(EVP_PKEY_eq(got, pub), 1);
	assert_int_equal(p11_object_uri(cert, s, sizeof(s)), 0);
	assert_non_null(strstr(s, "type=cert"));
	EVP_PKEY_free(got);
	p11_object_free(cert);
	p11_uri_clear(&u);
	/* The key still signs, and verifies against the certificate's key. */
	assert_int_equal(sign_verify(k, pub, CKM_ECDSA, "m", err, sizeof(err), NULL), 1);
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(signer);
	EVP_PKEY_free(pub);
	p11_object_free(k);
	p11_token_close(t);
}

/* ---- fault recovery ----------------------------------------------------- */

/* Kills every session of this application on the token, behind the layer's back. */
static void kill_sessions(struct p11_token *t)
{
	CK_FUNCTION_LIST *f = p11_module_functions(p11_token_module(t));

	assert_int_equal(f->C_CloseAllSessions(p11_token_slot(t)), CKR_OK);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void test_recovery(void **state)
{
	/* A long interval, so that "inside the interval" holds however slow the machine is. */
	struct p11_token_opts opts = { .pool_size = 4, .recover_ms = 600000 };
	struct p11_token *t = open_token(pin_file, &opts), *t2;
	struct p11_object *k = find_key(t, "k-p256", CKO_PRIVATE_KEY), *k2;
	unsigned long logins0;
	EVP_PKEY *pub;
	char err[512];
	int rc, tries;

	assert_int_equal(p11_object_public_key(k, NULL, NULL, &pub, err, sizeof(err)), P11_OK);
	assert_int_equal(sign_verify(k, pub, CKM_ECDSA, "before", err, sizeof(err), NULL), 1);
	assert_int_equal(p11_token_recoveries(t), 0);
	logins0 = spy_logins(0);

	/* Sessions closed behind our back: the next sign recovers and succeeds. */
	log_clear();
	kill_sessions(t);
	if (!sign_verify(k, pub, CKM_ECDSA, "after", err, sizeof(err), &rc))
		fail_msg("sign after fault: %s", err);
	assert_int_equal(p11_token_recoveries(t), 1);
	assert_true(log_has("<4>token " LABEL ": fault (C_SignInit: CKR_SESSION_HANDLE_INVALID"));
	assert_true(log_has("<5>token " LABEL ": recovered (recovery 1)"));
	assert_false(log_has("31415926"));
	/* It logged in again, once, with the PIN re-read from the file. */
	assert_int_equal(spy_logins(0), logins0 + 1);
	assert_false(p11_token_is_down(t));

	/* A second fault inside the interval: "token down, retry later", no login. */
	kill_sessions(t);
	assert_int_equal(sign_verify(k, pub, CKM_ECDSA, "x", err, sizeof(err), &rc), 0);
	assert_int_equal(rc, P11_EDOWN);
	assert_non_null(strstr(err, "is down"));
	assert_non_null(strstr(err, "retry later"));
	assert_true(p11_token_is_down(t));
	assert_int_equal(sign_verify(k, pub, CKM_ECDSA, "x", err, sizeof(err), &rc), 0);
	assert_int_equal(rc, P11_EDOWN);
	assert_int_equal(spy_logins(0), logins0 + 1);
	assert_int_equal(p11_token_recoveries(t), 1);
	p11_object_free(k);
	p11_token_close(t);

	/* A short interval: once it has passed, the token recovers by itself. */
	opts.recover_ms = 100;
	t2 = open_token(pin_file, &opts);
	k2 = find_key(t2, "k-p256", CKO_PRIVATE_KEY);
	kill_sessions(t2);
	assert_int_equal(sign_verify(k2, pub, CKM_ECDSA, "one", err, sizeof(err), &rc), 1);
	kill_sessions(t2);
	for (tries = 0; tries < 200; tries++) {
		if (sign_verify(k2, pub, CKM_ECDSA, "later", err, sizeof(err), &rc))
			break;
		assert_int_equal(rc, P11_EDOWN);
		sleep_ms(20);
	}
	assert_true(tries < 200);
	assert_int_equal(p11_token_recoveries(t2), 2);
	assert_false(p11_token_is_down(t2));

	/* Logged out behind our back (sessions stay): a relogin. */
	sleep_ms(opts.recover_ms + 20);
	{
		CK_FUNCTION_LIST *f = p11_module_functions(p11_token_module(t2));
		CK_SESSION_HANDLE h;

		assert_int_equal(f->C_OpenSession(p11_token_slot(t2), CKF_SERIAL_SESSION, NULL, NULL, &h),
				 CKR_OK);
		assert_int_equal(f->C_Logout(h), CKR_OK);
		log_clear();
		if (!sign_verify(k2, pub, CKM_ECDSA, "relogin", err, sizeof(err), &rc))
			fail_msg("sign after logout: %s", err);
		/* SoftHSM hides private objects when logged out: it says
		 * CKR_OBJECT_HANDLE_INVALID rather than CKR_USER_NOT_LOGGED_IN. */
		if (!log_has("recovered (recovery 3)"))
			fail_msg("log: %s", logbuf);
		assert_int_equal(p11_token_recoveries(t2), 3);
		f->C_CloseSession(h);
	}
	EVP_PKEY_free(pub);
	p11_object_free(k2);
	p11_token_close(t2);
}

static void kill_midway(struct p11_token *t)
{
	kill_sessions(t);
}

static void test_recovery_parallel(void **state)
{
	struct p11_token_opts opts = { .pool_size = 8, .recover_ms = 200 };
	struct p11_token *t = open_token(pin_file, &opts);
	struct worker w[8];
	int ok = 0, down = 0;

	/* Eight threads meet the dead sessions at once: one recovers, the others
	 * see that it did and retry; every signature is made and valid. */
	log_clear();
	run_workers(t, w, 8, 20, kill_midway);
	for (int i = 0; i < 8; i++) {
		if (w[i].other != 0 || w[i].down != 0)
			fail_msg("thread %d: %d down, %d other failures: %s", i, w[i].down, w[i].other,
				 w[i].err);
		ok += w[i].ok;
		down += w[i].down;
	}
	assert_int_equal(ok, 160);
	assert_int_equal(down, 0);
	assert_int_equal(p11_token_recoveries(t), 1);
	assert_true(log_has("recovered (recovery 1)"));
	/* Afterwards the token works again (at most one interval later). */
	sleep_ms(opts.recover_ms + 50);
	run_workers(t, w, 2, 2, NULL);
	assert_int_equal(w[0].ok + w[1].ok, 4);
	p11_token_close(t);
}

/* A key deleted behind the layer's back: a bad request for that key, the
 * token is not "down" and the other keys keep working. */
static void test_deleted_key(void **state)
{
	struct p11_token_opts opts = { .rw = 1, .recover_ms = 600000 };
	struct p11_token *t = open_token(pin_file, &opts);
	struct p11_keyspec spec = { CKK_EC, 256, NID_X9_62_prime256v1 };
	CK_FUNCTION_LIST *f = p11_module_functions(p11_token_module(t));
	struct p11_object *doomed, *other;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE oh;
	CK_ULONG n;
	EVP_PKEY *pub, *opub;
	char err[512];
	int rc;

	assert_int_equal(p11_keygen(t, &spec, "k-doomed", NULL, 0, &doomed, err, sizeof(err)), P11_OK);
	other = find_key(t, "k-p384", CKO_PRIVATE_KEY);
	assert_int_equal(p11_object_public_key(doomed, NULL, NULL, &pub, err, sizeof(err)), P11_OK);
	assert_int_equal(p11_object_public_key(other, NULL, NULL, &opub, err, sizeof(err)), P11_OK);
	assert_int_equal(sign_verify(doomed, pub, CKM_ECDSA, "m", err, sizeof(err), NULL), 1);
	{
		CK_ATTRIBUTE tmpl[] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_LABEL, "k-doomed", 8 } };

		assert_int_equal(f->C_OpenSession(p11_token_slot(t), CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
						  NULL, &h),
				 CKR_OK);
		assert_int_equal(f->C_FindObjectsInit(h, tmpl, 2), CKR_OK);
		assert_int_equal(f->C_FindObjects(h, &oh, 1, &n), CKR_OK);
		assert_int_equal(f->C_FindObjectsFinal(h), CKR_OK);
		assert_int_equal(n, 1);
		assert_int_equal(f->C_DestroyObject(h, oh), CKR_OK);
		f->C_CloseSession(h);
	}
	for (int i = 0; i < 3; i++) {
		assert_int_equal(sign_verify(doomed, pub, CKM_ECDSA, "m", err, sizeof(err), &rc), 0);
		if (rc != P11_ERR || strstr(err, "no longer on the token") == NULL)
			fail_msg("attempt %d: rc %d: %s", i, rc, err);
	}
	assert_false(p11_token_is_down(t));
	assert_int_equal(sign_verify(other, opub, CKM_ECDSA, "m", err, sizeof(err), NULL), 1);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(opub);
	p11_object_free(doomed);
	p11_object_free(other);
	p11_token_close(t);
}

/* A key whose CKA_ID and CKA_LABEL are longer than a URI value (255 bytes) is
 * found again after a recovery: the layer keeps both whole. */
static void test_long_id_label_recovery(void **state)
{
	struct p11_token_opts opts = { .rw = 1, .recover_ms = 600000 };
	struct p11_token *t = open_token(pin_file, &opts);
	struct p11_keyspec spec = { CKK_EC, 256, NID_X9_62_prime256v1 };
	CK_FUNCTION_LIST *f = p11_module_functions(p11_token_module(t));
	struct p11_object *k, *found = NULL, **objs = NULL;
	CK_OBJECT_CLASS cls;
	unsigned char id[300];
	char label[301], err[512];
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE oh;
	CK_ULONG n;
	struct p11_uri u;
	size_t nobj = 0, idlen;
	EVP_PKEY *pub;

	assert_int_equal(p11_keygen(t, &spec, "k-long", NULL, 0, &k, err, sizeof(err)), P11_OK);
	p11_object_free(k);
	memset(label, 'L', 300);
	label[300] = '\0';
	for (size_t i = 0; i < sizeof(id); i++)
		id[i] = (unsigned char)i;
	/* both halves get the long label and id (the public half is found by id) */
	assert_int_equal(f->C_OpenSession(p11_token_slot(t), CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
					  &h),
			 CKR_OK);
	for (int half = 0; half < 2; half++) {
		CK_ATTRIBUTE tmpl[] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_LABEL, "k-long", 6 } };
		CK_ATTRIBUTE set[] = { { CKA_LABEL, label, 300 }, { CKA_ID, id, sizeof(id) } };

		cls = half ? CKO_PUBLIC_KEY : CKO_PRIVATE_KEY;
		assert_int_equal(f->C_FindObjectsInit(h, tmpl, 2), CKR_OK);
		assert_int_equal(f->C_FindObjects(h, &oh, 1, &n), CKR_OK);
		assert_int_equal(f->C_FindObjectsFinal(h), CKR_OK);
		assert_int_equal(n, 1);
		assert_int_equal(f->C_SetAttributeValue(h, oh, set, 2), CKR_OK);
	}
	f->C_CloseSession(h);
	assert_int_equal(p11_uri_parse("pkcs11:type=private", &u, err, sizeof(err)), 0);
	assert_int_equal(p11_find(t, &u, 64, &objs, &nobj, err, sizeof(err)), P11_OK);
	p11_uri_clear(&u);
	for (size_t i = 0; i < nobj; i++)
		if (strcmp(p11_object_label(objs[i]), label) == 0)
			found = p11_object_ref(objs[i]);
	p11_objects_free(objs, nobj);
	assert_non_null(found);
	assert_memory_equal(p11_object_id(found, &idlen), id, sizeof(id));
	assert_int_equal(idlen, sizeof(id));
	assert_int_equal(p11_object_public_key(found, NULL, NULL, &pub, err, sizeof(err)), P11_OK);
	assert_int_equal(sign_verify(found, pub, CKM_ECDSA, "before", err, sizeof(err), NULL), 1);
	kill_sessions(t);
	if (!sign_verify(found, pub, CKM_ECDSA, "after", err, sizeof(err), NULL))
		fail_msg("sign after the recovery: %s", err);
	assert_true(p11_token_recoveries(t) >= 1);
	assert_int_equal(p11_keypair_destroy(found, err, sizeof(err)), P11_OK);
	EVP_PKEY_free(pub);
	p11_object_free(found);
	p11_token_close(t);
}

/* A session whose operation failed half-way (C_SignInit accepted, C_Sign
 * refused the input) is discarded, not pooled: with a pool of one session the
 * next signature runs on a fresh session, still logged in. */
static void test_failed_session_discarded(void **state)
{
	struct p11_token_opts opts = { .pool_size = 1, .recover_ms = 600000 };
	struct p11_token *t = open_token(pin_file, &opts);
	struct p11_object *k = find_key(t, "k-rsa2048", CKO_PRIVATE_KEY), *pubo;
	CK_RSA_PKCS_PSS_PARAMS pss = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
	unsigned char in[20] = { 1 }, sig[512];
	size_t siglen = sizeof(sig);
	EVP_PKEY *pub;
	char err[512];

	pubo = find_key(t, "k-rsa2048", CKO_PUBLIC_KEY);
	assert_int_equal(p11_object_public_key(pubo, NULL, NULL, &pub, err, sizeof(err)), P11_OK);
	assert_int_equal(p11_token_discarded(t), 0);
	/* 20 bytes are not a SHA-256 hash: the token refuses the operation */
	assert_int_equal(p11_sign(k, CKM_RSA_PKCS_PSS, &pss, sizeof(pss), in, sizeof(in), sig, &siglen, err,
				  sizeof(err)),
			 P11_ERR);
	assert_int_equal(p11_token_discarded(t), 1);
	assert_false(p11_token_is_down(t));
	for (int i = 0; i < 3; i++)
		if (!sign_verify(k, pub, CKM_RSA_PKCS_PSS, "after", err, sizeof(err), NULL))
			fail_msg("signature %d after the discarded session: %s", i, err);
	assert_int_equal(p11_token_discarded(t), 1);
	EVP_PKEY_free(pub);
	p11_object_free(k);
	p11_object_free(pubo);
	p11_token_close(t);
}

/* ---- PINs --------------------------------------------------------------- */

static void test_pin_file_mode(void **state)
{
	char path[256], s[512], err[512];
	struct p11_token_opts o = { .module_path = spy_path };
	struct p11_token *t;
	struct p11_uri u;
	unsigned long before = spy_logins(1);

	snprintf(path, sizeof(path), "%s/open.pin", dir);
	write_file(path, "31415926\n", 0644);
	snprintf(s, sizeof(s), "pkcs11:token=" LABEL "?pin-source=file:%s", path);
	assert_int_equal(p11_uri_parse(s, &u, err, sizeof(err)), 0);
	assert_int_equal(p11_token_open(&u, &o, &t, err, sizeof(err)), P11_ERR);
	assert_non_null(strstr(err, "chmod 600"));
	assert_null(t);
	assert_int_equal(spy_logins(1), before); /* the token never saw the PIN */
	p11_uri_clear(&u);
	/* No such token. */
	assert_int_equal(p11_uri_parse("pkcs11:token=NOSUCH", &u, err, sizeof(err)), 0);
	assert_int_equal(p11_token_open(&u, &o, &t, err, sizeof(err)), P11_ERR);
	assert_non_null(strstr(err, "no initialised token matches the URI (token=NOSUCH)"));
	p11_uri_clear(&u);
	/* Without pin-source: public objects only, private keys need a login. */
	assert_int_equal(p11_uri_parse("pkcs11:token=" LABEL, &u, err, sizeof(err)), 0);
	assert_int_equal(p11_token_open(&u, &o, &t, err, sizeof(err)), P11_OK);
	{
		struct p11_uri k;
		struct p11_object *obj;

		assert_int_equal(p11_uri_parse("pkcs11:object=k-p256", &k, err, sizeof(err)), 0);
		assert_int_equal(p11_find_one(t, &k, CKO_PRIVATE_KEY, &obj, err, sizeof(err)), P11_ERR);
		assert_non_null(strstr(err, "need a login"));
		assert_int_equal(p11_find_one(t, &k, CKO_PUBLIC_KEY, &obj, err, sizeof(err)), P11_OK);
		p11_object_free(obj);
		p11_uri_clear(&k);
	}
	p11_token_close(t);
	p11_uri_clear(&u);
}

static void test_wrong_pin(void **state)
{
	char s[512], err[512];
	struct p11_token_opts o = { .module_path = spy_path };
	struct p11_token *t = NULL;
	struct p11_uri u;
	unsigned long before = spy_logins(1);
	CK_TOKEN_INFO ti;

	snprintf(s, sizeof(s), "pkcs11:token=" LABEL "?pin-source=file:%s", bad_pin_file);
	assert_int_equal(p11_uri_parse(s, &u, err, sizeof(err)), 0);
	log_clear();
	assert_int_equal(p11_token_open(&u, &o, &t, err, sizeof(err)), P11_EPIN);
	assert_null(t);
	assert_non_null(strstr(err, "wrong PIN for token " LABEL " (from file "));
	assert_non_null(strstr(err, bad_pin_file));
	assert_non_null(strstr(err, "not retried: tokens lock after a few failures"));
	assert_false(strstr(err, "00000000"));
	assert_int_equal(spy_logins(1), before + 1); /* exactly one attempt */
	assert_true(log_has("<3>wrong PIN for token"));
	/* Opening again with the same, unchanged file: refused without trying. */
	assert_int_equal(p11_token_open(&u, &o, &t, err, sizeof(err)), P11_EPIN);
	assert_non_null(strstr(err, "already refused in this process"));
	assert_int_equal(spy_logins(1), before + 1);
	p11_uri_clear(&u);
	/* The token itself says a login failed. */
	{
		struct p11_uri pu;

		assert_int_equal(p11_uri_parse("pkcs11:token=" LABEL, &pu, err, sizeof(err)), 0);
		assert_int_equal(p11_token_open(&pu, &o, &t, err, sizeof(err)), P11_OK);
		assert_int_equal(p11_token_info(t, &ti, err, sizeof(err)), P11_OK);
		assert_true(ti.flags & CKF_USER_PIN_COUNT_LOW);
		p11_token_close(t);
		p11_uri_clear(&pu);
	}
}

static void test_wrong_pin_at_recovery(void **state)
{
	char path[256], s[512], err[512];
	struct p11_token_opts o = { .module_path = spy_path, .recover_ms = 100 };
	struct p11_token *t = NULL;
	struct p11_object *k;
	struct p11_uri u;
	unsigned long before;
	EVP_PKEY *pub;
	int rc;

	snprintf(path, sizeof(path), "%s/changing.pin", dir);
	write_file(path, "31415926\n", 0600);
	snprintf(s, sizeof(s), "pkcs11:token=" LABEL "?pin-source=file:%s", path);
	assert_int_equal(p11_uri_parse(s, &u, err, sizeof(err)), 0);
	assert_int_equal(p11_token_open(&u, &o, &t, err, sizeof(err)), P11_OK);
	k = find_key(t, "k-p256", CKO_PRIVATE_KEY);
	assert_int_equal(p11_object_public_key(k, NULL, NULL, &pub, err, sizeof(err)), P11_OK);
	/* The PIN file now holds a wrong PIN; the sessions die. */
	write_file(path, "11111111\n", 0600);
	before = spy_logins(1);
	log_clear();
	kill_sessions(t);
	assert_int_equal(sign_verify(k, pub, CKM_ECDSA, "x", err, sizeof(err), &rc), 0);
	assert_int_equal(rc, P11_EPIN);
	assert_non_null(strstr(err, "wrong PIN"));
	assert_int_equal(spy_logins(1), before + 1);
	/* Never again, however long we wait and however often we ask. */
	sleep_ms(150);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(sign_verify(k, pub, CKM_ECDSA, "x", err, sizeof(err), &rc), 0);
		assert_int_equal(rc, P11_EPIN);
	}
	assert_int_equal(spy_logins(1), before + 1);
	assert_true(p11_token_is_down(t));
	/* A PIN failure never re-initialises the module. */
	if (log_has("C_Finalize") || log_has("re-initialised"))
		fail_msg("log: %s", logbuf);
	EVP_PKEY_free(pub);
	p11_object_free(k);
	p11_token_close(t);
	p11_uri_clear(&u);
}

/*
 * The token directory vanishes and comes back: SoftHSM 2.6 then answers
 * CKR_GENERAL_ERROR to every C_Login until it is finalized and initialised
 * again. The layer re-initialises the module (it initialised it, no session
 * is in use, reinit_module) and the token recovers once the interval has
 * passed; another token of the same module (not logged in: a logged-in one
 * would keep the login alive), idle meanwhile, re-opens its sessions and
 * re-finds its objects.
 */
static char tokdir[256], awaydir[256];

/* pkcs11/p11_int.h (internal to pkcs11/): the re-initialisation guard itself. */
void p11_module_use(struct p11_module *m);
void p11_module_unuse(struct p11_module *m);
int p11_module_reinit(struct p11_module *m, const char *label, const char *why, char *msg, size_t msglen);

static int restore_tokdir(void **state)
{
	struct stat st;

	if (stat(awaydir, &st) == 0)
		return rename(awaydir, tokdir);
	return 0;
}

/* Without reinit_module: SoftHSM stays wedged after the directory is back
 * (what the re-initialisation cures), and the module is never finalized. */
static void test_module_wedged(void **state)
{
	struct p11_token_opts opts = { .pool_size = 2, .recover_ms = 50 };
	struct p11_token *t = open_token(pin_file, &opts);
	struct p11_object *k = find_key(t, "k-p256", CKO_PRIVATE_KEY);
	EVP_PKEY *pub;
	char err[512];
	int rc;

	snprintf(tokdir, sizeof(tokdir), "%s/tokens", dir);
	snprintf(awaydir, sizeof(awaydir), "%s/tokens.away", dir);
	assert_int_equal(p11_object_public_key(k, NULL, NULL, &pub, err, sizeof(err)), P11_OK);
	assert_int_equal(sign_verify(k, pub, CKM_ECDSA, "before", err, sizeof(err), NULL), 1);
	log_clear();
	assert_int_equal(rename(tokdir, awaydir), 0);
	assert_int_equal(sign_verify(k, pub, CKM_ECDSA, "gone", err, sizeof(err), &rc), 0);
	assert_int_equal(rc, P11_EDOWN);
	assert_int_equal(rename(awaydir, tokdir), 0);
	for (int i = 0; i < 3; i++) {
		sleep_ms(opts.recover_ms + 20);
		assert_int_equal(sign_verify(k, pub, CKM_ECDSA, "back", err, sizeof(err), &rc), 0);
		assert_int_equal(rc, P11_EDOWN);
		assert_non_null(strstr(err, "C_Login: CKR_GENERAL_ERROR"));
	}
	if (log_has("C_Finalize") || log_has("re-initialised") || !log_has("C_Login: CKR_GENERAL_ERROR"))
		fail_msg("log:\n%s", logbuf);
	EVP_PKEY_free(pub);
	p11_object_free(k);
	p11_token_close(t); /* the last reference: C_Finalize, so the next test starts afresh */
}

/* Moves the token directory away, checks that signing with k is refused
 * (P11_EDOWN) and that the module could not be initialised again meanwhile,
 * brings it back and waits for a signature. Returns the tries it took. */
static int vanish_and_return(struct p11_token *t, struct p11_object *k, EVP_PKEY *pub, unsigned recover_ms,
			     struct p11_token *also_kill)
{
	unsigned long logins;
	char err[512];
	int rc, tries;

	log_clear();
	assert_int_equal(rename(tokdir, awaydir), 0);
	if (also_kill != NULL)
		kill_sessions(also_kill);
	assert_int_equal(sign_verify(k, pub, CKM_ECDSA, "gone", err, sizeof(err), &rc), 0);
	if (rc != P11_EDOWN)
		fail_msg("rc %d: %s\nlog:\n%s", rc, err, logbuf);
	assert_true(p11_token_is_down(t));
	assert_null(strstr(err, "PIN"));
	/* It tried: C_Login failed, the module was finalized, and could not be
	 * initialised while the directory is gone. */
	if (!log_has("C_Login: CKR_GENERAL_ERROR") ||
	    !log_has("re-initialisation failed: C_Initialize: CKR_GENERAL_ERROR"))
		fail_msg("log:\n%s", logbuf);
	/* Inside the interval: refused without touching the token. */
	logins = spy_logins(1);
	assert_int_equal(sign_verify(k, pub, CKM_ECDSA, "gone", err, sizeof(err), &rc), 0);
	assert_int_equal(rc, P11_EDOWN);
	assert_non_null(strstr(err, "retry later"));
	assert_int_equal(spy_logins(1), logins);
	/* After the interval, still gone: still down. */
	sleep_ms(recover_ms + 20);
	assert_int_equal(sign_verify(k, pub, CKM_ECDSA, "gone", err, sizeof(err), &rc), 0);
	assert_int_equal(rc, P11_EDOWN);

	/* Back: a sign succeeds once the interval has passed. */
	assert_int_equal(rename(awaydir, tokdir), 0);
	for (tries = 0; tries < 200; tries++) {
		if (sign_verify(k, pub, CKM_ECDSA, "back", err, sizeof(err), &rc))
			break;
		if (rc != P11_EDOWN)
			fail_msg("rc %d: %s", rc, err);
		sleep_ms(20);
	}
	if (tries >= 200)
		fail_msg("never recovered: %s\nlog:\n%s", err, logbuf);
	assert_false(p11_token_is_down(t));
	/* Reported through the log callback. */
	if (!log_has("<4>token " LABEL ": PKCS#11 module ") ||
	    !log_has(" re-initialised (C_Finalize, C_Initialize) after: ") ||
	    !log_has("<5>token " LABEL ": recovered (recovery "))
		fail_msg("log:\n%s", logbuf);
	assert_false(log_has("31415926"));
	assert_int_equal(sign_verify(k, pub, CKM_ECDSA, "again", err, sizeof(err), NULL), 1);
	return tries;
}

static void test_module_reinit(void **state)
{
	struct p11_token_opts opts = { .pool_size = 2, .recover_ms = 100, .reinit_module = 1 };
	struct p11_token_opts popts = { .module_path = spy_path,
					.pool_size = 2,
					.recover_ms = 100,
					.reinit_module = 1 };
	struct p11_token *t = open_token(pin_file, &opts), *t2 = NULL;
	struct p11_object *k = find_key(t, "k-p256", CKO_PRIVATE_KEY), *k2;
	unsigned char *val = NULL;
	unsigned long rec0;
	EVP_PKEY *pub, *pub2;
	struct p11_uri u;
	char err[512];
	size_t len;
	CK_RV arv;

	snprintf(tokdir, sizeof(tokdir), "%s/tokens", dir);
	snprintf(awaydir, sizeof(awaydir), "%s/tokens.away", dir);
	assert_int_equal(p11_object_public_key(k, NULL, NULL, &pub, err, sizeof(err)), P11_OK);
	assert_int_equal(sign_verify(k, pub, CKM_ECDSA, "before", err, sizeof(err), NULL), 1);
	rec0 = p11_token_recoveries(t);

	/* One token. */
	vanish_and_return(t, k, pub, opts.recover_ms, NULL);
	assert_true(p11_token_recoveries(t) > rec0);

	/* Two tokens of the module; the other one idle. Its open session would
	 * keep the application logged in (C_Login: CKR_USER_ALREADY_LOGGED_IN,
	 * docs/TOKEN.md, "Recovery"), so every session dies with the directory here. */
	assert_int_equal(p11_uri_parse("pkcs11:token=" LABEL, &u, err, sizeof(err)), 0);
	assert_int_equal(p11_token_open(&u, &popts, &t2, err, sizeof(err)), P11_OK);
	p11_uri_clear(&u);
	k2 = find_key(t2, "k-p384", CKO_PUBLIC_KEY);
	sleep_ms(opts.recover_ms + 20);
	vanish_and_return(t, k, pub, opts.recover_ms, t);
	/* Its sessions died with the module: it opens new ones and re-finds its
	 * object (its old handles are never used). */
	if (p11_object_public_key(k2, NULL, NULL, &pub2, err, sizeof(err)) != P11_OK)
		fail_msg("other token: %s\nlog:\n%s", err, logbuf);
	assert_int_equal(EVP_PKEY_get_bits(pub2), 384);
	assert_int_equal(p11_object_attr(k2, CKA_LABEL, &val, &len, &arv, err, sizeof(err)), P11_OK);
	assert_int_equal(len, 6);
	assert_memory_equal(val, "k-p384", 6);
	OPENSSL_free(val);
	assert_true(log_has("fault (the PKCS#11 module was re-initialised)"));
	assert_false(p11_token_is_down(t2));
	/* Never while the module is in use, nor with finalizing turned off. */
	{
		struct p11_module *m = p11_token_module(t);
		char msg[256];

		p11_module_use(m);
		assert_int_equal(p11_module_reinit(m, LABEL, "test", msg, sizeof(msg)), -1);
		assert_non_null(strstr(msg, "in use"));
		p11_module_unuse(m);
		p11_set_finalize(0);
		assert_int_equal(p11_module_reinit(m, LABEL, "test", msg, sizeof(msg)), -1);
		assert_non_null(strstr(msg, "p11_set_finalize(0)"));
		p11_set_finalize(1);
		assert_int_equal(sign_verify(k, pub, CKM_ECDSA, "still", err, sizeof(err), NULL), 1);
	}
	EVP_PKEY_free(pub);
	EVP_PKEY_free(pub2);
	p11_object_free(k);
	p11_object_free(k2);
	p11_token_close(t);
	p11_token_close(t2);
}

/* ---- process exit ------------------------------------------------------- */
/*
 * A fresh process (this binary run again with "exit-child MODE"): it registers
 * its own exit handler first, as OpenSSL's OPENSSL_cleanup is registered before
 * any module is loaded, then opens the token and signs. At exit its handler
 * closes the token after SoftHSM's own exit handlers ran: the layer must not
 * call into the module any more (every Cryptoki call is traced to stdout).
 */
static struct p11_token *exit_tok;
static struct p11_object *exit_key;

static void exit_log(void *arg, int level, const char *msg)
{
	printf("<%d>%s\n", level, msg);
	fflush(stdout);
}

static void exit_close(void)
{
	printf("handler: closing\n");
	fflush(stdout);
	p11_object_free(exit_key);
	p11_token_close(exit_tok);
	printf("handler: closed\n");
	fflush(stdout);
}

static int exit_child(const char *mode, const char *module, const char *pin)
{
	struct p11_token_opts o = { .module_path = module };
	struct p11_token *other = NULL;
	struct p11_uri u, k;
	unsigned char hash[32] = { 1 }, sig[256];
	size_t siglen = sizeof(sig);
	char s[512], err[512];
	int rc;

	atexit(exit_close);
	p11_set_log_fn(exit_log, NULL);
	snprintf(s, sizeof(s), "pkcs11:token=" LABEL ";pin-source=file:%s", pin);
	if (p11_uri_parse(s, &u, err, sizeof(err)) != 0 ||
	    p11_uri_parse("pkcs11:object=k-p256", &k, err, sizeof(err)) != 0 ||
	    p11_token_open(&u, &o, &exit_tok, err, sizeof(err)) != P11_OK ||
	    p11_token_open(&u, &o, &other, err, sizeof(err)) != P11_OK ||
	    p11_find_one(exit_tok, &k, CKO_PRIVATE_KEY, &exit_key, err, sizeof(err)) != P11_OK ||
	    p11_sign(exit_key, CKM_ECDSA, NULL, 0, hash, sizeof(hash), sig, &siglen, err, sizeof(err)) !=
		    P11_OK) {
		printf("setup failed: %s\n", err);
		return 3;
	}
	p11_uri_clear(&u);
	p11_uri_clear(&k);
	p11_set_trace(1);
	/* Before exit, closing a token does close its sessions. */
	p11_token_close(other);
	printf("main: other closed\n");
	if (strcmp(mode, "explicit") == 0) {
		/* p11_set_exiting(): from now on nothing reaches the module. */
		p11_set_exiting();
		siglen = sizeof(sig);
		rc = p11_sign(exit_key, CKM_ECDSA, NULL, 0, hash, sizeof(hash), sig, &siglen, err, sizeof(err));
		printf("main: sign after p11_set_exiting: rc %d: %s\n", rc, err);
		if (p11_token_open(&u, &o, &other, err, sizeof(err)) == P11_OK)
			return 4;
		printf("main: open after p11_set_exiting: %s\n", err);
	}
	printf("main: exit\n");
	fflush(stdout);
	exit(0);
}

/* Runs the exit child; its output in out; returns its wait status. */
static int run_exit_child(const char *mode, char *out, size_t outlen)
{
	char exe[PATH_MAX];
	int fds[2], status;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	r = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(r > 0);
	exe[r] = '\0';
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execl(exe, exe, "exit-child", mode, spy_path, pin_file, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while (n + 1 < outlen && (r = read(fds[0], out + n, outlen - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void test_exit_teardown(void **state)
{
	static char out[65536];
	const char *handler;
	int status;

	status = run_exit_child("implicit", out, sizeof(out));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child: status 0x%x:\n%s", status, out);
	/* Closing a token before exit: its session is closed. */
	assert_non_null(strstr(out, "pkcs11 call C_CloseSession -> CKR_OK\nmain: other closed\n"));
	/* At exit: the token is freed without a single Cryptoki call. */
	assert_non_null(handler = strstr(out, "handler: closing\nhandler: closed\n"));
	if (strstr(strstr(out, "main: exit\n"), "pkcs11 call") != NULL)
		fail_msg("a Cryptoki call at exit:\n%s", out);
}

static void test_set_exiting(void **state)
{
	static char out[65536];
	const char *after;
	int status;

	status = run_exit_child("explicit", out, sizeof(out));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child: status 0x%x:\n%s", status, out);
	assert_non_null(strstr(out, "main: sign after p11_set_exiting: rc -2: "));
	assert_non_null(strstr(out, "process is exiting"));
	assert_non_null(strstr(out, "main: open after p11_set_exiting: "));
	assert_non_null(strstr(out, "handler: closing\nhandler: closed\n"));
	after = strstr(out, "main: other closed\n");
	assert_non_null(after);
	if (strstr(after, "pkcs11 call") != NULL)
		fail_msg("a Cryptoki call after p11_set_exiting:\n%s", out);
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "exit-child") == 0)
		return exit_child(argv[2], argv[3], argv[4]);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keygen_and_lookup),
		cmocka_unit_test(test_keygen_refuses),
		cmocka_unit_test(test_key_attributes),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_parallel),
		cmocka_unit_test(test_trace),
		cmocka_unit_test(test_pubkey_from_cert),
		cmocka_unit_test(test_recovery),
		cmocka_unit_test(test_recovery_parallel),
		cmocka_unit_test(test_deleted_key),
		cmocka_unit_test(test_failed_session_discarded),
		cmocka_unit_test(test_pin_file_mode),
		cmocka_unit_test(test_wrong_pin),
		cmocka_unit_test(test_wrong_pin_at_recovery),
		cmocka_unit_test(test_long_id_label_recovery),
		cmocka_unit_test_teardown(test_module_wedged, restore_tokdir),
		cmocka_unit_test_teardown(test_module_reinit, restore_tokdir),
		cmocka_unit_test(test_exit_teardown),
		cmocka_unit_test(test_set_exiting),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
