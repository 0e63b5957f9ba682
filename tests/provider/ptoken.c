/* tests/provider/ptoken.c: see ptoken.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/store.h>
#include <openssl/x509.h>

#include "pkcs11/p11.h"
#include "tests/provider/ptoken.h"

static int write_secret(const char *path, char *err, size_t errlen)
{
	unsigned char r[6];
	char pin[16];
	int fd, n;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	n = snprintf(pin, sizeof(pin), "%02x%02x%02x%02x%02x%02x\n", r[0], r[1], r[2], r[3], r[4], r[5]);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
	    write(fd, pin, (size_t)n) != n) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* In the child: init the token and generate the keys, then _exit. */
static int child_make(struct ptoken *t, const char *module, const char *const *specs, size_t n, char *err,
		      size_t errlen)
{
	char so[320], uri[600];
	struct p11_uri u;
	struct p11_token *tok = NULL;
	struct p11_token_opts opts = { .module_path = module, .rw = 1 };
	CK_SLOT_ID slot;

	snprintf(so, sizeof(so), "%s/%s.sopin", t->dir, t->label);
	if (write_secret(so, err, errlen) != 0 ||
	    p11_token_init(module, t->label, so, t->pin_file, &slot, err, errlen) != P11_OK)
		return -1;
	snprintf(uri, sizeof(uri), "pkcs11:token=%s?pin-source=file:%s", t->label, t->pin_file);
	if (p11_uri_parse(uri, &u, err, errlen) != 0)
		return -1;
	if (p11_token_open(&u, &opts, &tok, err, errlen) != P11_OK) {
		p11_uri_clear(&u);
		return -1;
	}
	p11_uri_clear(&u);
	for (size_t i = 0; i < n; i++) {
		struct p11_keyspec spec;
		char label[32];

		snprintf(label, sizeof(label), "%s", specs[i]);
		for (char *c = label; *c != '\0'; c++)
			if (*c == ':')
				*c = '-';
		if (p11_keyspec_parse(specs[i], &spec, err, errlen) != 0 ||
		    p11_keygen(tok, &spec, label, NULL, 0, NULL, err, errlen) != P11_OK) {
			p11_token_close(tok);
			return -1;
		}
	}
	p11_token_close(tok);
	return 0;
}

int ptoken_make(struct ptoken *t, const char *label, const char *const *specs, size_t nspecs, char *err,
		size_t errlen)
{
	char path[400];
	const char *module = getenv("SOFTHSM_MODULE");
	int pfd[2], status;
	pid_t pid;
	FILE *f;

	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "%s/capf-ptoken.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(t->dir) == NULL) {
		snprintf(err, errlen, "mkdtemp: %s", strerror(errno));
		return -1;
	}
	snprintf(t->label, sizeof(t->label), "%s", label);
	snprintf(t->pin_file, sizeof(t->pin_file), "%s/%s.pin", t->dir, label);
	snprintf(path, sizeof(path), "%s/tokens", t->dir);
	if (mkdir(path, 0700) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/softhsm2.conf", t->dir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f,
		"directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n"
		"slots.removable = false\n",
		t->dir);
	fclose(f);
	setenv("SOFTHSM2_CONF", path, 1);
	if (module == NULL || *module == '\0')
		module = P11_DEFAULT_MODULE;
	if (write_secret(t->pin_file, err, errlen) != 0 || pipe(pfd) != 0)
		return -1;
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		char cerr[512] = "";
		int rc;

		close(pfd[0]);
		rc = child_make(t, module, specs, nspecs, cerr, sizeof(cerr));
		if (rc != 0 && write(pfd[1], cerr, strlen(cerr)) < 0)
			rc = 2;
		_exit(rc == 0 ? 0 : 1);
	}
	close(pfd[1]);
	memset(err, 0, errlen);
	if (errlen > 1 && read(pfd[0], err, errlen - 1) < 0)
		err[0] = '\0';
	close(pfd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "token set-up child failed");
		return -1;
	}
	return 0;
}

void ptoken_remove(struct ptoken *t)
{
	char cmd[300];

	if (t->dir[0] == '\0' || getenv("KEEP_TMP") != NULL)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", t->dir);
}

void ptoken_uri(const struct ptoken *t, const char *object, char *buf, size_t len)
{
	snprintf(buf, len, "pkcs11:token=%s;object=%s?pin-source=file:%s", t->label, object, t->pin_file);
}

OSSL_LIB_CTX *ptoken_libctx(int default_first)
{
	OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();
	const char *build = getenv("BUILD");
	char dir[PATH_MAX], real[PATH_MAX];
	const char *names[2] = { "capfhsm", "default" };

	if (ctx == NULL)
		return NULL;
	snprintf(dir, sizeof(dir), "%s/lib", build != NULL && *build != '\0' ? build : "build");
	if (realpath(dir, real) == NULL || !OSSL_PROVIDER_set_default_search_path(ctx, real))
		goto fail;
	if (default_first) {
		names[0] = "default";
		names[1] = "capfhsm";
	}
	for (int i = 0; i < 2; i++)
		if (OSSL_PROVIDER_load(ctx, names[i]) == NULL)
			goto fail;
	return ctx;
fail:
	ptoken_libctx_free(ctx);
	return NULL;
}

static int unload_one(OSSL_PROVIDER *p, void *arg)
{
	(void)arg;
	OSSL_PROVIDER_unload(p);
	return 1;
}

void ptoken_libctx_free(OSSL_LIB_CTX *ctx)
{
	if (ctx == NULL)
		return;
	OSSL_PROVIDER_do_all(ctx, unload_one, NULL);
	OSSL_LIB_CTX_free(ctx);
}

EVP_PKEY *ptoken_load(OSSL_LIB_CTX *ctx, const char *uri, int expect)
{
	OSSL_STORE_CTX *s = OSSL_STORE_open_ex(uri, ctx, NULL, NULL, NULL, NULL, NULL, NULL);
	EVP_PKEY *pkey = NULL;

	if (s == NULL)
		return NULL;
	if (OSSL_STORE_expect(s, expect) != 1)
		goto done;
	while (pkey == NULL && !OSSL_STORE_eof(s)) {
		OSSL_STORE_INFO *info = OSSL_STORE_load(s);

		if (info == NULL)
			break;
		if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
			pkey = OSSL_STORE_INFO_get1_PKEY(info);
		else if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PUBKEY)
			pkey = OSSL_STORE_INFO_get1_PUBKEY(info);
		OSSL_STORE_INFO_free(info);
	}
done:
	OSSL_STORE_close(s);
	return pkey;
}

EVP_PKEY *ptoken_public_copy(OSSL_LIB_CTX *defctx, const EVP_PKEY *pkey)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pub;
	int len = i2d_PUBKEY(pkey, &der);

	if (len <= 0)
		return NULL;
	p = der;
	pub = d2i_PUBKEY_ex(NULL, &p, len, defctx, NULL);
	OPENSSL_free(der);
	return pub;
}
