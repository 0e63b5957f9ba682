/*
 * appliance/signerd/ca.c: the CAPF CA as capf-signerd holds it: its own
 * OSSL_LIB_CTX with the capfhsm and default providers (never the global
 * context: SoftHSM uses that one), the token key opened through OSSL_STORE,
 * refcounted generations swapped at run time, signing with verification, the
 * rw token for key generation, and the manufacturing CAs for MIC/SUDI checks.
 */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include <openssl/x509.h>

#include "appliance/common/log.h"
#include "appliance/signerd/signerd_int.h"
#include "pkcs11/p11.h"
#include "pkcs11/p11_uri.h"

/* The last OpenSSL error as text (drains the queue). */
static void ossl_err(char *buf, size_t len)
{
	unsigned long e;
	const char *data = NULL;
	int flags = 0;
	size_t o = 0;

	buf[0] = '\0';
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		char one[256];

		/* the system openssl.cnf's engines: noise, not the cause */
		if (ERR_GET_LIB(e) == ERR_LIB_DSO || ERR_GET_LIB(e) == ERR_LIB_ENGINE)
			continue;
		ERR_error_string_n(e, one, sizeof(one));
		if (o < len)
			o += (size_t)snprintf(buf + o, len - o, "%s%s%s%s", o ? "; " : "", one,
					      (flags & ERR_TXT_STRING) && data && *data ? ": " : "",
					      (flags & ERR_TXT_STRING) && data ? data : "");
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "no OpenSSL error recorded");
}

static int file_exists(const char *dir, const char *name)
{
	char p[PATH_MAX];
	struct stat st;

	if (snprintf(p, sizeof(p), "%s/%s", dir, name) >= (int)sizeof(p))
		return 0;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* --provider-dir, else <exe dir>/../lib, else <exe dir>/../lib/capf-appliance. */
static int find_provider_dir(const char *given, char *out, size_t len, char *err, size_t errlen)
{
	char exe[PATH_MAX], cand[PATH_MAX];
	ssize_t n;
	char *dir;

	if (given != NULL && *given != '\0') {
		if (!file_exists(given, "capfhsm.so")) {
			snprintf(err, errlen, "--provider-dir %s: no capfhsm.so there", given);
			return -1;
		}
		snprintf(out, len, "%s", given);
		return 0;
	}
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) < 0) {
		snprintf(err, errlen, "readlink /proc/self/exe: %s", strerror(errno));
		return -1;
	}
	exe[n] = '\0';
	dir = dirname(exe);
	snprintf(cand, sizeof(cand), "%s/../lib", dir);
	if (file_exists(cand, "capfhsm.so")) {
		snprintf(out, len, "%s", cand);
		return 0;
	}
	snprintf(cand, sizeof(cand), "%s/../lib/capf-appliance", dir);
	if (file_exists(cand, "capfhsm.so")) {
		snprintf(out, len, "%s", cand);
		return 0;
	}
	snprintf(err, errlen, "capfhsm.so not found in %s/../lib nor %s/../lib/capf-appliance "
		 "(install it there or pass --provider-dir DIR)", dir, dir);
	return -1;
}

int signerd_crypto_init(struct signerd *sd, const char *provider_dir, char *err, size_t errlen)
{
	struct signerd_core *c = signerd_core(sd);
	char oe[512];

	if (find_provider_dir(provider_dir, c->provider_dir, sizeof(c->provider_dir), err, errlen) != 0)
		return -1;
	if ((sd->libctx = OSSL_LIB_CTX_new()) == NULL) {
		snprintf(err, errlen, "OSSL_LIB_CTX_new failed");
		return -1;
	}
	if (!OSSL_PROVIDER_set_default_search_path(sd->libctx, c->provider_dir) ||
	    (c->prov_capfhsm = OSSL_PROVIDER_load(sd->libctx, "capfhsm")) == NULL) {
		ossl_err(oe, sizeof(oe));
		snprintf(err, errlen, "loading provider capfhsm from %s: %s", c->provider_dir, oe);
		return -1;
	}
	if ((c->prov_default = OSSL_PROVIDER_load(sd->libctx, "default")) == NULL) {
		ossl_err(oe, sizeof(oe));
		snprintf(err, errlen, "loading provider default: %s", oe);
		return -1;
	}
	return 0;
}

/* The URI with pin-source (token.pin_source) and module-path (token.module)
 * added when it has none. */
static int key_uri_full(struct signerd *sd, const char *uri, char *out, size_t len,
			char *err, size_t errlen)
{
	struct p11_uri u;
	int rc = -1;

	if (p11_uri_parse(uri, &u, err, errlen) != 0)
		return -1;
	if (u.pin_source == NULL && sd->conf.token.pin_source[0] != '\0' &&
	    (u.pin_source = strdup(sd->conf.token.pin_source)) == NULL)
		goto out;
	if (u.module_path == NULL && u.module_name == NULL && sd->conf.token.module[0] != '\0' &&
	    (u.module_path = strdup(sd->conf.token.module)) == NULL)
		goto out;
	if (p11_uri_format(&u, 1, out, len) != 0) {
		snprintf(err, errlen, "pkcs11 URI too long");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0 && err[0] == '\0')
		snprintf(err, errlen, "out of memory");
	p11_uri_clear(&u);
	return rc;
}

EVP_PKEY *signerd_key_open(struct signerd *sd, const char *uri, int *retry, char *err, size_t errlen)
{
	char full[P11_URI_MAX + 1], oe[768];
	OSSL_STORE_CTX *sc;
	EVP_PKEY *pk = NULL;

	if (retry != NULL)
		*retry = 0;
	err[0] = '\0';
	if (key_uri_full(sd, uri, full, sizeof(full), err, errlen) != 0)
		return NULL;
	ERR_clear_error();
	sc = OSSL_STORE_open_ex(full, sd->libctx, NULL, NULL, NULL, NULL, NULL, NULL);
	OPENSSL_cleanse(full, sizeof(full));
	if (sc == NULL) {
		ossl_err(oe, sizeof(oe));
		snprintf(err, errlen, "opening %s: %s", uri, oe);
		if (retry != NULL)
			*retry = 1;
		return NULL;
	}
	OSSL_STORE_expect(sc, OSSL_STORE_INFO_PKEY);
	while (pk == NULL && !OSSL_STORE_eof(sc)) {
		OSSL_STORE_INFO *info = OSSL_STORE_load(sc);

		if (info == NULL)
			break;
		if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
			pk = OSSL_STORE_INFO_get1_PKEY(info);
		OSSL_STORE_INFO_free(info);
	}
	if (pk == NULL) {
		ossl_err(oe, sizeof(oe));
		snprintf(err, errlen, "%s: no private key found (%s)", uri, oe);
	}
	OSSL_STORE_close(sc);
	return pk;
}

int signerd_cert_fp(X509 *cert, char fp[SIGNERD_FP_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!X509_digest(cert, EVP_sha256(), md, &n) || n != 32)
		return -1;
	for (unsigned i = 0; i < n; i++)
		snprintf(fp + 2 * i, 3, "%02x", md[i]);
	return 0;
}

static void ca_free(struct signerd_ca *g)
{
	if (g == NULL)
		return;
	capf_ca_free(g->ca);
	EVP_PKEY_free(g->key);
	free(g);
}

/* Does the token key match the certificate? EVP_PKEY_eq first (keymgmt
 * export), then the encoded public keys. */
static int key_matches(X509 *cert, EVP_PKEY *key)
{
	EVP_PKEY *pub = X509_get0_pubkey(cert);
	unsigned char *a = NULL, *b = NULL;
	int la, lb, ok;

	if (pub == NULL)
		return 0;
	if (EVP_PKEY_eq(pub, key) == 1)
		return 1;
	ERR_clear_error();
	la = i2d_PUBKEY(pub, &a);
	lb = i2d_PUBKEY(key, &b);
	ok = la > 0 && la == lb && memcmp(a, b, (size_t)la) == 0;
	OPENSSL_free(a);
	OPENSSL_free(b);
	ERR_clear_error();
	return ok;
}

struct signerd_ca *signerd_ca_new(struct signerd *sd, struct capf_ca *ca, EVP_PKEY *key,
				  const char *key_uri, char *err, size_t errlen)
{
	struct signerd_ca *g;

	if (ca == NULL || key_uri == NULL) {
		snprintf(err, errlen, "signerd_ca_new: no certificate or key URI");
		goto fail;
	}
	if (key == NULL && (key = signerd_key_open(sd, key_uri, NULL, err, errlen)) == NULL)
		goto fail;
	if (!key_matches(capf_ca_cert(ca), key)) {
		snprintf(err, errlen, "the key %s does not match the CAPF CA certificate (its public key "
			 "differs): check token.ca_key_uri and ca.certificate", key_uri);
		goto fail;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	g->ca = ca;
	g->key = key;
	g->refs = 1;
	snprintf(g->key_uri, sizeof(g->key_uri), "%s", key_uri);
	if (signerd_cert_fp(capf_ca_cert(ca), g->fp) != 0) {
		snprintf(err, errlen, "cannot compute the CAPF CA fingerprint");
		ca_free(g);
		return NULL;
	}
	return g;
fail:
	capf_ca_free(ca);
	EVP_PKEY_free(key);
	return NULL;
}

struct signerd_ca *signerd_ca_get(struct signerd *sd)
{
	struct signerd_core *c = signerd_core(sd);
	struct signerd_ca *g;

	pthread_mutex_lock(&c->ca_lock);
	g = c->active;
	if (g != NULL)
		__atomic_add_fetch(&g->refs, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&c->ca_lock);
	return g;
}

void signerd_ca_put(struct signerd_ca *g)
{
	if (g != NULL && __atomic_sub_fetch(&g->refs, 1, __ATOMIC_ACQ_REL) == 0)
		ca_free(g);
}

void signerd_ca_replace(struct signerd *sd, struct signerd_ca *nca)
{
	struct signerd_core *c = signerd_core(sd);
	struct signerd_ca *old;

	pthread_mutex_lock(&c->ca_lock);
	old = c->active;
	c->active = nca;
	pthread_mutex_unlock(&c->ca_lock);
	capf_log(LOG_NOTICE, "ca_active", "fp=%s key_uri=%s previous=%s", nca->fp, nca->key_uri,
		 old != NULL ? old->fp : "none");
	signerd_ca_put(old);
}

int signerd_ca_sign(struct signerd *sd, const struct signerd_ca *g, X509 *tbs,
		    const EVP_MD *md, int *retry, char *err, size_t errlen)
{
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY *pub;
	char oe[768];
	int rc = -1;

	if (retry != NULL)
		*retry = 0;
	if (g == NULL || tbs == NULL || md == NULL) {
		snprintf(err, errlen, "signerd_ca_sign: missing argument");
		return -1;
	}
	ERR_clear_error();
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    !EVP_DigestSignInit_ex(mctx, NULL, EVP_MD_get0_name(md), sd->libctx, NULL, g->key, NULL) ||
	    X509_sign_ctx(tbs, mctx) <= 0) {
		ossl_err(oe, sizeof(oe));
		snprintf(err, errlen, "signing with the CAPF CA key %s failed: %s", g->key_uri, oe);
		/* Everything before this point was checked (lint): a failure
		 * here is the token's (down, busy, re-initialising). */
		if (retry != NULL)
			*retry = 1;
		SIGNERD_STAT_INC(sd, sign_failures);
		goto out;
	}
	pub = X509_get0_pubkey(capf_ca_cert(g->ca));
	if (pub == NULL || X509_verify(tbs, pub) != 1) {
		ossl_err(oe, sizeof(oe));
		snprintf(err, errlen, "the signature made with %s does not verify with the CAPF CA "
			 "certificate's public key: %s", g->key_uri, oe);
		SIGNERD_STAT_INC(sd, sign_failures);
		goto out;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(mctx);
	return rc;
}

struct p11_token *signerd_token(struct signerd *sd, int *retry, char *err, size_t errlen)
{
	struct signerd_core *c = signerd_core(sd);
	struct p11_token_opts opts = { 0 };
	struct p11_token *t;
	struct p11_uri u;
	char full[P11_URI_MAX + 1];
	int rc;

	if (retry != NULL)
		*retry = 0;
	pthread_mutex_lock(&c->token_lock);
	if ((t = c->token) != NULL) {
		pthread_mutex_unlock(&c->token_lock);
		return t;
	}
	err[0] = '\0';
	if (key_uri_full(sd, sd->conf.token.ca_key_uri, full, sizeof(full), err, errlen) != 0 ||
	    p11_uri_parse(full, &u, err, errlen) != 0) {
		OPENSSL_cleanse(full, sizeof(full));
		pthread_mutex_unlock(&c->token_lock);
		return NULL;
	}
	OPENSSL_cleanse(full, sizeof(full));
	opts.rw = 1;
	opts.pool_size = 2;
	opts.module_path = sd->conf.token.module[0] != '\0' ? sd->conf.token.module : NULL;
	rc = p11_token_open(&u, &opts, &t, err, errlen);
	p11_uri_clear(&u);
	if (rc != P11_OK) {
		if (retry != NULL)
			*retry = rc == P11_EDOWN;
		t = NULL;
	} else {
		c->token = t;
	}
	pthread_mutex_unlock(&c->token_lock);
	return t;
}

/* A certificate stored as the active CAPF CA that differs from ca.certificate
 * (an admin regenerated or imported one): it wins; the chain file is used
 * when the certificate needs it. */
static struct capf_ca *ca_from_store(struct signerd *sd, const struct capf_store_cert *sc,
				     char *err, size_t errlen)
{
	const unsigned char *p = sc->der;
	X509 *x = d2i_X509(NULL, &p, (long)sc->der_len);
	struct capf_ca *ca = NULL;
	char e1[512];

	if (x == NULL) {
		snprintf(err, errlen, "the store's active CAPF CA %s is not a certificate", sc->fp);
		return NULL;
	}
	if (capf_ca_from_x509(x, NULL, time(NULL), &ca, e1, sizeof(e1)) != 0) {
		struct capf_ca *withchain = NULL;

		if (sd->conf.ca.chain[0] != '\0' &&
		    capf_ca_load(sd->conf.ca.certificate, sd->conf.ca.chain, time(NULL), &withchain,
				 err, errlen) == 0) {
			STACK_OF(X509) *chain = capf_ca_chain(withchain);

			if (capf_ca_from_x509(x, chain, time(NULL), &ca, err, errlen) != 0)
				ca = NULL;
			capf_ca_free(withchain);
		} else {
			snprintf(err, errlen, "the store's active CAPF CA %s: %s", sc->fp, e1);
		}
	}
	X509_free(x);
	return ca;
}

int signerd_ca_startup(struct signerd *sd, char *err, size_t errlen)
{
	struct capf_ca *ca = NULL;
	struct capf_store_cert sc;
	struct signerd_ca *g;
	struct capf_store_actor who = { getuid(), "signer" };
	char fp[SIGNERD_FP_HEX_LEN + 1], key_uri[CAPF_CONF_STR_MAX];
	int rc;

	if (capf_ca_load(sd->conf.ca.certificate, sd->conf.ca.chain, time(NULL), &ca, err, errlen) != 0)
		return -1;
	if (signerd_cert_fp(capf_ca_cert(ca), fp) != 0) {
		snprintf(err, errlen, "cannot fingerprint %s", sd->conf.ca.certificate);
		capf_ca_free(ca);
		return -1;
	}
	snprintf(key_uri, sizeof(key_uri), "%s", sd->conf.token.ca_key_uri);
	memset(&sc, 0, sizeof(sc));
	rc = capf_store_cert_active(sd->store, &sc, err, errlen);
	if (rc != CAPF_STORE_OK && rc != CAPF_STORE_NOTFOUND) {
		capf_ca_free(ca);
		return -1;
	}
	if (rc == CAPF_STORE_OK && strcasecmp(sc.fp, fp) != 0) {
		/* The store knows better (regenerate/import since the config was written). */
		capf_ca_free(ca);
		if ((ca = ca_from_store(sd, &sc, err, errlen)) == NULL) {
			capf_store_cert_clear(&sc);
			return -1;
		}
		if (sc.key_uri[0] != '\0')
			snprintf(key_uri, sizeof(key_uri), "%s", sc.key_uri);
		capf_log(LOG_NOTICE, "ca_from_store", "fp=%s config_fp=%s key_uri=%s", sc.fp, fp, key_uri);
	}
	capf_store_cert_clear(&sc);
	/* The key must match before anything is recorded. */
	if ((g = signerd_ca_new(sd, ca, NULL, key_uri, err, errlen)) == NULL)
		return -1;
	if (rc == CAPF_STORE_NOTFOUND) {
		unsigned char *der = NULL;
		int len = i2d_X509(capf_ca_cert(g->ca), &der);
		struct capf_store_cert add;

		memset(&add, 0, sizeof(add));
		if (len <= 0) {
			snprintf(err, errlen, "cannot encode the CAPF CA certificate");
			signerd_ca_put(g);
			return -1;
		}
		snprintf(add.fp, sizeof(add.fp), "%s", g->fp);
		add.role = CAPF_CERT_ACTIVE;
		add.der = der;
		add.der_len = (size_t)len;
		snprintf(add.key_uri, sizeof(add.key_uri), "%s", key_uri);
		add.not_after = capf_ca_not_after(g->ca);
		rc = capf_store_cert_add(sd->store, &add, &who, err, errlen);
		OPENSSL_free(der);
		if (rc != CAPF_STORE_OK) {
			signerd_ca_put(g);
			return -1;
		}
		capf_log(LOG_NOTICE, "ca_recorded", "fp=%s", g->fp);
	}
	signerd_ca_replace(sd, g);
	return 0;
}

/* Every PEM certificate in mic.ca_dir (regular files, any name). */
int signerd_mic_load(struct signerd *sd, char *err, size_t errlen)
{
	struct signerd_core *c = signerd_core(sd);
	const char *dir = sd->conf.mic.ca_dir;
	struct dirent *e;
	DIR *d;

	if (dir[0] == '\0')
		return 0;
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT) {
			capf_log(LOG_WARNING, "mic_ca_dir_missing", "dir=%s", dir);
			return 0;
		}
		snprintf(err, errlen, "mic.ca_dir %s: %s", dir, strerror(errno));
		return -1;
	}
	if ((c->mic_store = X509_STORE_new()) == NULL) {
		closedir(d);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char path[PATH_MAX];
		struct stat st;
		FILE *f;
		X509 *x;

		if (e->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path) ||
		    stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CAPF_CA_PEM_MAX)
			continue;
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
			if (X509_STORE_add_cert(c->mic_store, x) == 1)
				c->mic_count++;
			X509_free(x);
		}
		ERR_clear_error();
		fclose(f);
	}
	closedir(d);
	capf_log(LOG_INFO, "mic_cas_loaded", "dir=%s count=%u", dir, c->mic_count);
	return 0;
}

void signerd_crypto_fini(struct signerd *sd)
{
	struct signerd_core *c = signerd_core(sd);

	pthread_mutex_lock(&c->ca_lock);
	signerd_ca_put(c->active);
	c->active = NULL;
	pthread_mutex_unlock(&c->ca_lock);
	X509_STORE_free(c->mic_store);
	c->mic_store = NULL;
	if (c->token != NULL)
		p11_token_close(c->token);
	c->token = NULL;
	if (c->prov_capfhsm != NULL)
		OSSL_PROVIDER_unload(c->prov_capfhsm);
	if (c->prov_default != NULL)
		OSSL_PROVIDER_unload(c->prov_default);
	c->prov_capfhsm = c->prov_default = NULL;
	OSSL_LIB_CTX_free(sd->libctx);
	sd->libctx = NULL;
}
