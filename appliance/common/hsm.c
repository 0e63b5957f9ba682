/* appliance/common/hsm.c: see hsm.h. */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/store.h>

#include "appliance/common/hsm.h"

struct capf_hsm {
	OSSL_LIB_CTX *libctx;
	OSSL_PROVIDER *capfhsm, *deflt;
	char dir[PATH_MAX];
};

static void ossl_msg(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();
	const char *data = NULL;
	int flags = 0;

	ERR_peek_last_error_data(&data, &flags);
	if (e == 0)
		snprintf(buf, len, "unknown OpenSSL error");
	else if (data != NULL && (flags & ERR_TXT_STRING) && *data)
		snprintf(buf, len, "%s (%s)", ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "error", data);
	else
		snprintf(buf, len, "%s", ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "error");
}

static int exists_provider(const char *dir)
{
	char p[PATH_MAX];

	return snprintf(p, sizeof(p), "%s/capfhsm.so", dir) < (int)sizeof(p) && access(p, R_OK) == 0;
}

static int find_dir(const char *given, char *out, size_t len)
{
	static const char *const rel[] = { "../lib", "../lib/capf-appliance" };
	char exe[PATH_MAX], *bindir;
	ssize_t n;

	if (given != NULL && *given != '\0')
		return snprintf(out, len, "%s", given) < (int)len ? 0 : -1;
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return -1;
	exe[n] = '\0';
	bindir = dirname(exe);
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		char cand[PATH_MAX], real[PATH_MAX];

		if (snprintf(cand, sizeof(cand), "%s/%s", bindir, rel[i]) < (int)sizeof(cand)
		    && realpath(cand, real) != NULL && exists_provider(real))
			return snprintf(out, len, "%s", real) < (int)len ? 0 : -1;
	}
	return -1;
}

int capf_hsm_open(const char *provider_dir, struct capf_hsm **out, char *err, size_t errlen)
{
	struct capf_hsm *h;
	char m[256];

	*out = NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (find_dir(provider_dir, h->dir, sizeof(h->dir)) < 0) {
		snprintf(err, errlen, "capfhsm provider not found (looked next to the program in ../lib and "
			 "../lib/capf-appliance); name its directory explicitly");
		goto fail;
	}
	if ((h->libctx = OSSL_LIB_CTX_new()) == NULL
	    || !OSSL_PROVIDER_set_default_search_path(h->libctx, h->dir)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if ((h->capfhsm = OSSL_PROVIDER_load(h->libctx, "capfhsm")) == NULL) {
		ossl_msg(m, sizeof(m));
		snprintf(err, errlen, "loading the capfhsm provider from %s: %s", h->dir, m);
		goto fail;
	}
	if ((h->deflt = OSSL_PROVIDER_load(h->libctx, "default")) == NULL) {
		ossl_msg(m, sizeof(m));
		snprintf(err, errlen, "loading OpenSSL's default provider: %s", m);
		goto fail;
	}
	*out = h;
	return 0;
fail:
	capf_hsm_close(h);
	return -1;
}

void capf_hsm_close(struct capf_hsm *h)
{
	if (h == NULL)
		return;
	if (h->capfhsm != NULL)
		OSSL_PROVIDER_unload(h->capfhsm);
	if (h->deflt != NULL)
		OSSL_PROVIDER_unload(h->deflt);
	OSSL_LIB_CTX_free(h->libctx);
	free(h);
}

OSSL_LIB_CTX *capf_hsm_libctx(const struct capf_hsm *h)
{
	return h->libctx;
}

const char *capf_hsm_provider_dir(const struct capf_hsm *h)
{
	return h->dir;
}

int capf_hsm_load_key(struct capf_hsm *h, const char *uri, EVP_PKEY **out, char *err, size_t errlen)
{
	OSSL_STORE_CTX *sc;
	EVP_PKEY *key = NULL;
	char m[256];
	int n = 0;

	*out = NULL;
	ERR_clear_error();
	sc = OSSL_STORE_open_ex(uri, h->libctx, NULL, NULL, NULL, NULL, NULL, NULL);
	if (sc == NULL) {
		ossl_msg(m, sizeof(m));
		snprintf(err, errlen, "opening the key: %s", m);
		return -1;
	}
	OSSL_STORE_expect(sc, OSSL_STORE_INFO_PKEY);
	while (!OSSL_STORE_eof(sc)) {
		OSSL_STORE_INFO *info = OSSL_STORE_load(sc);

		if (info == NULL) {
			if (OSSL_STORE_error(sc))
				break;
			continue;
		}
		if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY) {
			n++;
			if (key == NULL)
				key = OSSL_STORE_INFO_get1_PKEY(info);
		}
		OSSL_STORE_INFO_free(info);
	}
	OSSL_STORE_close(sc);
	if (n != 1) {
		EVP_PKEY_free(key);
		if (n == 0) {
			ossl_msg(m, sizeof(m));
			snprintf(err, errlen, "no private key found (%s)", ERR_peek_last_error() ? m : "check the URI's token and object");
		} else {
			snprintf(err, errlen, "%d private keys match; name one with object= or id=", n);
		}
		return -1;
	}
	*out = key;
	return 0;
}
