/* appliance/common/hsm.c: see hsm.h. */
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/conf.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/store.h>

#include "appliance/common/hsm.h"
#include "appliance/common/log.h"
#include "pkcs11/p11_uri.h"
#include "policy/osslerr.h"

struct capf_hsm {
	OSSL_LIB_CTX *libctx;
	char dir[PATH_MAX];
	char module[PATH_MAX];
};

/* Whether the provider's last error says the token is unavailable (down,
 * re-initialising, login refused: providers/store.c raises those as
 * ERR_R_OPERATION_FAIL) rather than a bad request. */
static int token_down(void)
{
	unsigned long e = ERR_peek_last_error();

	return e != 0 && ERR_GET_LIB(e) == ERR_LIB_PROV && ERR_GET_REASON(e) == ERR_R_OPERATION_FAIL;
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

	if (given != NULL && *given != '\0') {
		char real[PATH_MAX];

		if (realpath(given, real) == NULL || !exists_provider(real))
			return -1;
		return snprintf(out, len, "%s", real) < (int)len ? 0 : -1;
	}
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return -1;
	exe[n] = '\0';
	bindir = dirname(exe);
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		char cand[PATH_MAX], real[PATH_MAX];

		if (snprintf(cand, sizeof(cand), "%s/%s", bindir, rel[i]) < (int)sizeof(cand) &&
		    realpath(cand, real) != NULL && exists_provider(real))
			return snprintf(out, len, "%s", real) < (int)len ? 0 : -1;
	}
	return -1;
}

/* A value of the generated configuration: double-quoted, with backslash before
 * '"' and '\\' (inside quotes the syntax expands no $variable and sees no
 * comment). Control characters cannot be written and are refused. */
static int conf_quote(const char *what, const char *v, char *out, size_t len, char *err, size_t errlen)
{
	size_t o = 0;

	for (const char *p = v;; p++) {
		if (o + 3 > len) {
			snprintf(err, errlen, "%s \"%s\": too long", what, v);
			return -1;
		}
		if (o == 0)
			out[o++] = '"';
		if (*p == '\0')
			break;
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			snprintf(err, errlen, "%s: control characters are not supported in this path", what);
			return -1;
		}
		if (*p == '"' || *p == '\\')
			out[o++] = '\\';
		out[o++] = *p;
	}
	out[o++] = '"';
	out[o] = '\0';
	return 0;
}

/*
 * The library context's configuration, as an openssl.cnf would give it: the
 * default provider first (software keys, hashing, TLS key exchange), then
 * capfhsm with its parameters (only the token keys are its own).
 */
static int configure(struct capf_hsm *h, const struct capf_hsm_opts *o, char *err, size_t errlen)
{
	char cnf[6 * PATH_MAX], m[512], so[PATH_MAX + 16], qso[2 * PATH_MAX + 40], qmod[2 * PATH_MAX + 8];
	CONF *conf = NULL;
	BIO *b = NULL;
	long eline = 0;
	int n, rc = -1;

	snprintf(so, sizeof(so), "%s/capfhsm.so", h->dir);
	if (conf_quote("the capfhsm provider", so, qso, sizeof(qso), err, errlen) < 0 ||
	    conf_quote("token.module", h->module, qmod, sizeof(qmod), err, errlen) < 0)
		return -1;
	n = snprintf(cnf, sizeof(cnf),
		     "capf_hsm_conf = capf_hsm_init\n"
		     "[capf_hsm_init]\nproviders = capf_hsm_providers\n"
		     "[capf_hsm_providers]\ndefault = capf_hsm_default\ncapfhsm = capf_hsm_capfhsm\n"
		     "[capf_hsm_default]\nactivate = 1\n"
		     "[capf_hsm_capfhsm]\nmodule = %s\n%s%s%s"
		     "capfhsm-reinit-module = %d\ncapfhsm-recover-ms = %u\ncapfhsm-sessions = %u\n"
		     "activate = 1\n",
		     qso, h->module[0] ? "pkcs11-module-path = " : "", h->module[0] ? qmod : "",
		     h->module[0] ? "\n" : "", o->reinit_module ? 1 : 0, o->recover_ms, o->sessions);
	if (n < 0 || n >= (int)sizeof(cnf)) {
		snprintf(err, errlen, "provider configuration too long");
		return -1;
	}
	OPENSSL_load_builtin_modules();
	if ((b = BIO_new_mem_buf(cnf, n)) == NULL || (conf = NCONF_new_ex(h->libctx, NULL)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (NCONF_load_bio(conf, b, &eline) <= 0) {
		capf_ossl_errors(m, sizeof(m));
		snprintf(err, errlen, "the provider configuration (line %ld): %s", eline, m);
		goto out;
	}
	if (CONF_modules_load(conf, "capf_hsm_conf", 0) <= 0 ||
	    !OSSL_PROVIDER_available(h->libctx, "capfhsm") || !OSSL_PROVIDER_available(h->libctx, "default")) {
		capf_ossl_errors(m, sizeof(m));
		snprintf(err, errlen, "loading the capfhsm provider from %s: %s", h->dir, m);
		goto out;
	}
	rc = 0;
out:
	NCONF_free(conf);
	BIO_free(b);
	return rc;
}

/* The provider's token events into the program's log: capfhsm_set_log_fn,
 * the provider's one export besides OSSL_provider_init. */
static int set_log(struct capf_hsm *h, const struct capf_hsm_opts *o, char *err, size_t errlen)
{
	typedef void set_fn(capf_hsm_log_fn *, void *);
	char p[PATH_MAX + 16];
	set_fn *fn;
	void *dl;

	if (o->log == NULL)
		return 0;
	snprintf(p, sizeof(p), "%s/capfhsm.so", h->dir);
	if ((dl = dlopen(p, RTLD_NOW | RTLD_NOLOAD)) == NULL) {
		snprintf(err, errlen, "%s: loaded, but not found again (%s)", p, dlerror());
		return -1;
	}
	*(void **)&fn = dlsym(dl, "capfhsm_set_log_fn");
	if (fn == NULL) {
		snprintf(err, errlen, "%s: no capfhsm_set_log_fn: an older provider?", p);
		dlclose(dl);
		return -1;
	}
	fn(o->log, o->log_arg);
	dlclose(dl); /* only our extra reference: the library context holds it */
	return 0;
}

void capf_hsm_log(void *arg, int level, const char *msg)
{
	char q[1100];

	(void)arg;
	capf_log(level, "token_event", "msg=%s", capf_log_quote(q, sizeof(q), msg));
}

int capf_hsm_open(const struct capf_hsm_opts *o, struct capf_hsm **out, char *err, size_t errlen)
{
	static const struct capf_hsm_opts none;
	struct capf_hsm *h;

	*out = NULL;
	if (o == NULL)
		o = &none;
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (find_dir(o->provider_dir, h->dir, sizeof(h->dir)) < 0) {
		if (o->provider_dir != NULL && o->provider_dir[0] != '\0')
			snprintf(err, errlen, "%s: no capfhsm.so there", o->provider_dir);
		else
			snprintf(err, errlen,
				 "capfhsm provider not found (looked next to the program in "
				 "../lib and ../lib/capf-appliance); name its directory explicitly");
		goto fail;
	}
	if (o->module != NULL && o->module[0] != '\0') {
		if (o->module[0] != '/' ||
		    snprintf(h->module, sizeof(h->module), "%s", o->module) >= (int)sizeof(h->module)) {
			snprintf(err, errlen, "token.module \"%s\": not an absolute path", o->module);
			goto fail;
		}
	}
	if ((h->libctx = OSSL_LIB_CTX_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	ERR_clear_error();
	if (configure(h, o, err, errlen) < 0 || set_log(h, o, err, errlen) < 0)
		goto fail;
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
	OSSL_LIB_CTX_free(h->libctx);
	free(h);
}

const char *capf_hsm_module(const struct capf_hsm *h)
{
	return h->module;
}

int capf_hsm_key_uri(const struct capf_hsm *h, const char *uri, const char *pin_source, char *out, size_t len,
		     char *err, size_t errlen)
{
	struct p11_uri u;
	int rc = -1;

	err[0] = '\0';
	if (p11_uri_parse(uri, &u, err, errlen) != 0)
		return -1;
	if (u.pin_source == NULL && pin_source != NULL && pin_source[0] != '\0' &&
	    (u.pin_source = strdup(pin_source)) == NULL)
		goto out;
	if (u.module_path == NULL && u.module_name == NULL && h->module[0] != '\0' &&
	    (u.module_path = strdup(h->module)) == NULL)
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
		int down = token_down();

		snprintf(err, errlen, "opening the key: %s", capf_ossl_errors(m, sizeof(m)));
		return down ? CAPF_HSM_EDOWN : -1;
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
		int down = n == 0 && token_down();

		EVP_PKEY_free(key);
		if (down) {
			capf_ossl_errors(m, sizeof(m));
			snprintf(err, errlen, "the token is unavailable: %s", m);
			return CAPF_HSM_EDOWN;
		}
		if (n == 0) {
			int any = ERR_peek_last_error() != 0;

			capf_ossl_errors(m, sizeof(m));
			snprintf(err, errlen, "no private key found (%s)",
				 any ? m : "check the URI's token and object");
		} else {
			snprintf(err, errlen, "%d private keys match; name one with object= or id=", n);
		}
		return -1;
	}
	*out = key;
	return 0;
}
