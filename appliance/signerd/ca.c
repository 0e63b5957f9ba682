/*
 * appliance/signerd/ca.c: the CAPF CA as capf-signerd holds it: refcounted
 * generations (certificate, chain, and the slot of its key in the key process,
 * keyops.c) swapped at run time, signing through the key process, and the
 * manufacturing CAs for MIC/SUDI checks. The token itself is never opened here.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "appliance/common/conffile.h"
#include "appliance/common/file.h"
#include "appliance/common/log.h"
#include "appliance/signerd/signerd_int.h"

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

int signerd_chain_der(STACK_OF(X509) * chain, unsigned char **der, size_t *len)
{
	unsigned char *buf = NULL, *p;
	size_t total = 0;
	int i, n;

	*der = NULL;
	*len = 0;
	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		if ((n = i2d_X509(sk_X509_value(chain, i), NULL)) <= 0)
			return -1;
		total += (size_t)n;
	}
	if (total == 0)
		return 0;
	if ((buf = malloc(total)) == NULL)
		return -1;
	p = buf;
	for (i = 0; i < sk_X509_num(chain); i++)
		if (i2d_X509(sk_X509_value(chain, i), &p) <= 0) {
			free(buf);
			return -1;
		}
	*der = buf;
	*len = total;
	return 0;
}

STACK_OF(X509) * signerd_chain_parse(const unsigned char *der, size_t len)
{
	STACK_OF(X509) *chain = sk_X509_new_null();
	const unsigned char *p = der, *end = der + len;

	if (chain == NULL)
		return NULL;
	while (der != NULL && p < end) {
		X509 *x = d2i_X509(NULL, &p, (long)(end - p));

		if (x == NULL || sk_X509_num(chain) >= CAPF_CA_CHAIN_MAX || sk_X509_push(chain, x) <= 0) {
			X509_free(x);
			ERR_clear_error();
			sk_X509_pop_free(chain, X509_free);
			return NULL;
		}
	}
	return chain;
}

static void ca_free(struct signerd_ca *g)
{
	if (g == NULL)
		return;
	signerd_key_unload(g->sd, g->slot);
	capf_ca_free(g->ca);
	free(g);
}

struct signerd_ca *signerd_ca_new(struct signerd *sd, struct capf_ca *ca, const char *key_uri, int *retry,
				  char *err, size_t errlen)
{
	struct signerd_ca *g;
	uint32_t slot;

	if (retry != NULL)
		*retry = 0;
	if (ca == NULL || key_uri == NULL) {
		snprintf(err, errlen, "signerd_ca_new: no certificate or key URI");
		capf_ca_free(ca);
		return NULL;
	}
	/* the key process checks the key matches the certificate, and signs */
	if (signerd_key_load(sd, CAPF_IPC_KEYCLASS_CA, key_uri, capf_ca_cert(ca), capf_ca_chain(ca), &slot,
			     NULL, retry, err, errlen) != 0) {
		capf_ca_free(ca);
		return NULL;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL) {
		snprintf(err, errlen, "out of memory");
		signerd_key_unload(sd, slot);
		capf_ca_free(ca);
		return NULL;
	}
	g->ca = ca;
	g->slot = slot;
	g->sd = sd;
	g->refs = 1;
	snprintf(g->key_uri, sizeof(g->key_uri), "%s", key_uri);
	if (signerd_cert_fp(capf_ca_cert(ca), g->fp) != 0) {
		snprintf(err, errlen, "cannot compute the CAPF CA fingerprint");
		ca_free(g);
		return NULL;
	}
	return g;
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

/* A signature refused or failed: counted; only the token's failures (r) make
 * it down, a lint refusal is not one. */
static void sign_failed(struct signerd *sd, int r, int *retry, const char *err)
{
	SIGNERD_STAT_INC(sd, sign_failures);
	if (r)
		signerd_token_failed(sd, err);
	if (retry != NULL)
		*retry = r;
}

X509 *signerd_ca_sign(struct signerd *sd, const struct signerd_ca *g, enum capf_ipc_sign_kind kind, X509 *tbs,
		      int *retry, char *err, size_t errlen)
{
	int r = 0;
	X509 *x;

	if (retry != NULL)
		*retry = 0;
	if (g == NULL || tbs == NULL) {
		snprintf(err, errlen, "signerd_ca_sign: missing argument");
		return NULL;
	}
	if ((x = signerd_key_sign_cert(sd, g->slot, kind, tbs, &r, err, errlen)) == NULL)
		sign_failed(sd, r, retry, err);
	return x;
}

int signerd_ca_sign_der(struct signerd *sd, const struct signerd_ca *g, enum capf_ipc_sign_kind kind,
			const uint8_t *der, size_t len, unsigned char **out, size_t *outlen, int *retry,
			char *err, size_t errlen)
{
	int r = 0;

	if (retry != NULL)
		*retry = 0;
	if (g == NULL || der == NULL) {
		snprintf(err, errlen, "signerd_ca_sign_der: missing argument");
		return -1;
	}
	if (signerd_key_sign_der(sd, g->slot, kind, der, len, out, outlen, &r, err, errlen) != 0) {
		sign_failed(sd, r, retry, err);
		return -1;
	}
	return 0;
}

/* The chain file of the active CAPF CA: ca.chain when configured, else
 * <ca.certificate>.chain (where an import writes it) when it exists; "" none. */
static void chain_path_of(struct signerd *sd, char *out, size_t len)
{
	struct stat st;

	out[0] = '\0';
	if (sd->conf.ca.chain[0] != '\0') {
		snprintf(out, len, "%s", sd->conf.ca.chain);
		return;
	}
	if (snprintf(out, len, "%s.chain", sd->conf.ca.certificate) >= (int)len || stat(out, &st) != 0 ||
	    !S_ISREG(st.st_mode))
		out[0] = '\0';
}

/* The PEM certificates of path (at most CAPF_CA_CHAIN_MAX). NULL with a
 * message (naming path only when reading it failed). */
static STACK_OF(X509) * read_chain(const char *path, char *err, size_t errlen)
{
	STACK_OF(X509) *chain = NULL;
	unsigned char *pem = NULL;
	size_t len = 0;
	BIO *b = NULL;
	X509 *x;

	if (capf_file_read(path, CAPF_CA_PEM_MAX, &pem, &len, err, errlen) != 0)
		return NULL;
	if ((b = BIO_new_mem_buf(pem, (int)len)) == NULL || (chain = sk_X509_new_null()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_num(chain) >= CAPF_CA_CHAIN_MAX || sk_X509_push(chain, x) <= 0) {
			X509_free(x);
			snprintf(err, errlen, "more than %d certificates", CAPF_CA_CHAIN_MAX);
			goto fail;
		}
	}
	ERR_clear_error();
	if (sk_X509_num(chain) == 0) {
		snprintf(err, errlen, "no PEM certificate in it");
		goto fail;
	}
	BIO_free(b);
	free(pem);
	return chain;
fail:
	sk_X509_pop_free(chain, X509_free);
	BIO_free(b);
	free(pem);
	return NULL;
}

/* The store's active CAPF CA (regenerated or imported since the config was
 * written, or recorded at the first start): its certificate, with the chain
 * file when it is not self-signed. */
static struct capf_ca *ca_from_store(struct signerd *sd, const struct capf_store_cert *sc, char *err,
				     size_t errlen)
{
	const unsigned char *p = sc->der;
	X509 *x = d2i_X509(NULL, &p, (long)sc->der_len);
	STACK_OF(X509) *chain = NULL;
	struct capf_ca *ca = NULL;
	char e1[512], e2[512], cpath[PATH_MAX];

	if (x == NULL || p != sc->der + sc->der_len) {
		ERR_clear_error();
		X509_free(x);
		snprintf(err, errlen, "the store's active CAPF CA %s is not a certificate", sc->fp);
		return NULL;
	}
	if (sc->chain_len > 0) {
		/* the chain recorded with it: no file needed */
		if ((chain = signerd_chain_parse(sc->chain, sc->chain_len)) == NULL) {
			snprintf(err, errlen,
				 "the store's active CAPF CA %s: its recorded chain is not a "
				 "sequence of DER certificates",
				 sc->fp);
			goto out;
		}
		if (capf_ca_from_x509(x, chain, time(NULL), &ca, e2, sizeof(e2)) != 0) {
			ca = NULL;
			snprintf(err, errlen, "the store's active CAPF CA %s with its recorded chain: %s",
				 sc->fp, e2);
		}
		goto out;
	}
	if (capf_ca_from_x509(x, NULL, time(NULL), &ca, e1, sizeof(e1)) == 0)
		goto out;
	ca = NULL;
	/* a store written before chains were recorded: the chain file once */
	chain_path_of(sd, cpath, sizeof(cpath));
	if (cpath[0] == '\0') {
		snprintf(err, errlen,
			 "the store's active CAPF CA %s: %s (no chain file: neither ca.chain "
			 "nor %s.chain exists; a third-party signed CA needs its chain there)",
			 sc->fp, e1, sd->conf.ca.certificate);
		goto out;
	}
	if ((chain = read_chain(cpath, e2, sizeof(e2))) == NULL) {
		snprintf(err, errlen, "the store's active CAPF CA %s needs its chain %s: %s", sc->fp, cpath,
			 e2);
		goto out;
	}
	if (capf_ca_from_x509(x, chain, time(NULL), &ca, e2, sizeof(e2)) != 0) {
		ca = NULL;
		snprintf(err, errlen, "the store's active CAPF CA %s with the chain %s: %s", sc->fp, cpath, e2);
	} else {
		/* recorded now, so that the next start needs no file */
		struct capf_store_actor who = { getuid(), "signer" };
		unsigned char *der = NULL;
		size_t dlen = 0;

		snprintf(e2, sizeof(e2), "out of memory");
		if (signerd_chain_der(chain, &der, &dlen) == 0 &&
		    capf_store_cert_set_chain(sd->store, sc->fp, der, dlen, &who, e2, sizeof(e2)) == 0)
			capf_log(LOG_NOTICE, "ca_chain_recorded", "fp=%s from=%s certificates=%d", sc->fp,
				 cpath, sk_X509_num(chain));
		else
			capf_log(LOG_WARNING, "ca_chain_not_recorded", "fp=%s from=%s why=\"%s\"", sc->fp,
				 cpath, e2);
		free(der);
	}
out:
	sk_X509_pop_free(chain, X509_free);
	X509_free(x);
	return ca;
}

/* SHA-256 of the first certificate in ca.certificate (no policy checks: it
 * may be an earlier CA). */
static int config_cert_fp(struct signerd *sd, char fp[SIGNERD_FP_HEX_LEN + 1], char *err, size_t errlen)
{
	const char *path = sd->conf.ca.certificate;
	unsigned char *pem = NULL;
	size_t len = 0;
	BIO *b;
	X509 *x = NULL;
	int rc = -1;

	if (capf_file_read(path, CAPF_CA_PEM_MAX, &pem, &len, err, errlen) != 0)
		return -1;
	if ((b = BIO_new_mem_buf(pem, (int)len)) != NULL)
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	ERR_clear_error();
	if (x == NULL)
		snprintf(err, errlen, "ca.certificate %s: no PEM certificate in it", path);
	else if (signerd_cert_fp(x, fp) != 0)
		snprintf(err, errlen, "ca.certificate %s: cannot fingerprint it", path);
	else
		rc = 0;
	X509_free(x);
	BIO_free(b);
	free(pem);
	return rc;
}

/*
 * The store has an active CAPF CA: it is the one to use (its key URI and
 * certificate; a regenerate or import changed them since capf.conf was
 * written). ca.certificate must be that certificate, or one the store knows
 * as an earlier CA (a rewrite that did not happen, an older copy): anything
 * else is not a rotation and is refused.
 */
static int startup_from_store(struct signerd *sd, const struct capf_store_cert *sc, struct capf_ca **ca,
			      char *key_uri, size_t key_uri_len, char *err, size_t errlen)
{
	const char *path = sd->conf.ca.certificate;
	struct capf_store_cert known;
	char fp[SIGNERD_FP_HEX_LEN + 1], e[1400];
	int rc;

	if (config_cert_fp(sd, fp, e, sizeof(e)) != 0) {
		snprintf(err, errlen,
			 "%s; the store %s records the active CAPF CA %s: restore ca.certificate "
			 "(`capfctl trust export --for capf-trust` prints it, or a %s.previous-* copy)",
			 e, sd->conf.store.path, sc->fp, path);
		return -1;
	}
	if (strcasecmp(fp, sc->fp) != 0) {
		memset(&known, 0, sizeof(known));
		rc = capf_store_cert_get(sd->store, fp, &known, e, sizeof(e));
		if (rc == CAPF_STORE_NOTFOUND) {
			snprintf(
				err, errlen,
				"ca.certificate %s (SHA-256 %s) is not the active CAPF CA of the "
				"store %s (SHA-256 %s) nor one it replaced: the CA changes only through "
				"`capfctl capf regenerate` or `capfctl capf import`. Put the active certificate "
				"back in %s (`capfctl trust export`, or the copy the daemon wrote), or import "
				"this one with capfctl; a new CA with a new key needs a new store.path",
				path, fp, sd->conf.store.path, sc->fp, path);
			return -1;
		}
		if (rc != CAPF_STORE_OK) {
			capf_store_cert_clear(&known);
			snprintf(err, errlen, "%s", e);
			return -1;
		}
		capf_log(LOG_WARNING, "ca_file_stale", "path=%s file_fp=%s file_role=%s active_fp=%s", path, fp,
			 capf_store_cert_role_name(known.role), sc->fp);
		capf_store_cert_clear(&known);
	}
	if ((*ca = ca_from_store(sd, sc, err, errlen)) == NULL)
		return -1;
	snprintf(key_uri, key_uri_len, "%s", sc->key_uri[0] != '\0' ? sc->key_uri : sd->conf.token.ca_key_uri);
	if (strcmp(key_uri, sd->conf.token.ca_key_uri) != 0)
		capf_log(LOG_NOTICE, "ca_from_store", "fp=%s key_uri=%s config_key_uri=%s", sc->fp, key_uri,
			 sd->conf.token.ca_key_uri);
	return 0;
}

int signerd_ca_startup(struct signerd *sd, char *err, size_t errlen)
{
	struct capf_ca *ca = NULL;
	struct capf_store_cert sc;
	struct signerd_ca *g;
	struct capf_store_actor who = { getuid(), "signer" };
	char key_uri[CAPF_CONF_STR_MAX], e[1024];
	int rc;

	memset(&sc, 0, sizeof(sc));
	rc = capf_store_cert_active(sd->store, &sc, err, errlen);
	if (rc != CAPF_STORE_OK && rc != CAPF_STORE_NOTFOUND)
		return -1;
	if (rc == CAPF_STORE_OK) {
		int r = startup_from_store(sd, &sc, &ca, key_uri, sizeof(key_uri), err, errlen);

		capf_store_cert_clear(&sc);
		if (r != 0)
			return -1;
		/* The key must match the certificate the store recorded with it. */
		if ((g = signerd_ca_new(sd, ca, key_uri, NULL, e, sizeof(e))) == NULL) {
			snprintf(err, errlen, "the store's active CAPF CA (%s): %s", sd->conf.store.path, e);
			return -1;
		}
		signerd_ca_replace(sd, g);
		return 0;
	}
	/* A fresh store: the CA of the configuration, recorded as active. */
	if (capf_ca_load(sd->conf.ca.certificate, sd->conf.ca.chain, time(NULL), &ca, err, errlen) != 0)
		return -1;
	snprintf(key_uri, sizeof(key_uri), "%s", sd->conf.token.ca_key_uri);
	/* The key must match before anything is recorded. */
	if ((g = signerd_ca_new(sd, ca, key_uri, NULL, err, errlen)) == NULL)
		return -1;
	{
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
		if (signerd_chain_der(capf_ca_chain(g->ca), &add.chain, &add.chain_len) != 0) {
			snprintf(err, errlen, "cannot encode the CAPF CA chain");
			OPENSSL_free(der);
			signerd_ca_put(g);
			return -1;
		}
		rc = capf_store_cert_add(sd->store, &add, &who, err, errlen);
		OPENSSL_free(der);
		free(add.chain);
		if (rc != CAPF_STORE_OK) {
			signerd_ca_put(g);
			return -1;
		}
	}
	capf_log(LOG_NOTICE, "ca_recorded", "fp=%s", g->fp);
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
}
