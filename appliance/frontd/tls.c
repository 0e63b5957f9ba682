/*
 * appliance/frontd/tls.c: the server SSL_CTX of capf-frontd.
 *
 * The CAPF TLS identity (not the CAPF CA: the front end never holds a key that
 * can mint certificates) comes from tls.certificate (PEM, with its chain) and
 * tls.key: a PEM file (owned by the front end's user, not readable by others)
 * or a pkcs11: URI. For a URI the capfhsm provider is loaded into a library
 * context of our own by appliance/common/hsm.c (never the default one: SoftHSM
 * uses that; the module is capf.conf's token.module), the SSL_CTX is made on it,
 * and the key is opened there.
 *
 * Versions: TLS 1.2 and 1.3 by default; tls.min_version "1.0"/"1.1" enables the
 * old versions for old phones and lowers the security level to 0 (OpenSSL 3
 * refuses the MD5/SHA-1 handshake signatures of TLS < 1.2 at level 1 and above).
 * Key exchange: ECDHE only (no static RSA: a token key must never decrypt),
 * named groups X25519, P-256, P-384, P-521. No client certificate is requested.
 * tls.legacy (old phones offering only TLSv1 with AES256-SHA:AES128-SHA): the
 * static-RSA suites AES128-SHA and AES256-SHA are offered after the ECDHE ones, TLS
 * 1.0 (min_version, see policy/config.c) at security level 0; it needs an RSA key in
 * a file (config.c refuses a pkcs11: key, front_tls_ctx an EC one). session.c logs
 * each handshake that used it (event=legacy_tls).
 * The chain sent is the file's minus its self-signed certificates (RFC 8446 4.4.2: a
 * root is the client's own trust anchor; sending it costs every phone a parse).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "appliance/common/hsm.h"
#include "appliance/common/log.h"
#include "appliance/frontd/frontd.h"
#include "policy/osslerr.h"

/* The chain without its self-signed certificates, and no chain built behind our back. */
static int drop_roots(SSL_CTX *ctx)
{
	STACK_OF(X509) *chain = NULL, *keep;
	int ok;

	if (SSL_CTX_get0_chain_certs(ctx, &chain) != 1 || (keep = sk_X509_new_null()) == NULL)
		return -1;
	for (int i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);

		if (X509_self_signed(x, 0) != 1 && !sk_X509_push(keep, x)) {
			sk_X509_free(keep);
			return -1;
		}
	}
	ok = SSL_CTX_set1_chain(ctx, keep) == 1; /* takes its own references */
	sk_X509_free(keep);
	SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
	return ok ? 0 : -1;
}

static OSSL_LIB_CTX *tls_libctx;
static struct capf_hsm *tls_hsm;

static EVP_PKEY *key_from_file(const char *path, char *err, size_t errlen)
{
	struct stat st;
	EVP_PKEY *k;
	BIO *bio;
	FILE *fp;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		snprintf(err, errlen, "tls.key %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > 65536) {
		snprintf(err, errlen, "tls.key %s: not a regular file of at most 64 KiB", path);
		close(fd);
		return NULL;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen,
			 "tls.key %s: mode %04o is readable by others "
			 "(chmod 0600 and chown it to the front end's user)",
			 path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return NULL;
	}
	fp = fdopen(fd, "r");
	if (fp == NULL || (bio = BIO_new_fp(fp, BIO_CLOSE)) == NULL) {
		snprintf(err, errlen, "tls.key %s: out of memory", path);
		if (fp != NULL)
			fclose(fp);
		else
			close(fd);
		return NULL;
	}
	k = PEM_read_bio_PrivateKey_ex(bio, NULL, NULL, NULL, NULL, NULL);
	BIO_free(bio);
	if (k == NULL)
		capf_ossl_error_msg(err, errlen, "tls.key: not a PEM private key");
	return k;
}

SSL_CTX *front_tls_ctx(const struct capf_conf *conf, const char *provider_dir, char *err, size_t errlen)
{
	SSL_CTX *ctx = NULL;
	EVP_PKEY *key = NULL;
	int token = strncmp(conf->tls.key, "pkcs11:", 7) == 0;

	if (token) {
		/* The front end is the module's only user in its process. */
		struct capf_hsm_opts ho = { .provider_dir = provider_dir,
					    .module = conf->token.module,
					    .reinit_module = 1,
					    .log = capf_hsm_log };
		char e[512];

		/* token.env's "NAME=VALUE" entries: what the module needs to find its
		 * HSM ("NAME" entries are taken from the environment as it is) */
		for (size_t i = 0; i < conf->token.n_env; i++) {
			const char *ent = conf->token.env[i], *eq = strchr(ent, '=');
			char name[CAPF_CONF_ENV_LEN];

			if (eq == NULL)
				continue;
			snprintf(name, sizeof(name), "%.*s", (int)(eq - ent), ent);
			if (setenv(name, eq + 1, 1) != 0) {
				snprintf(err, errlen, "token.env: setenv %s: %s", name, strerror(errno));
				goto fail;
			}
		}
		if (capf_hsm_open(&ho, &tls_hsm, e, sizeof(e)) != 0) {
			snprintf(err, errlen, "tls.key: %s (see --provider-dir)", e);
			goto fail;
		}
		tls_libctx = capf_hsm_libctx(tls_hsm);
	}
	ctx = SSL_CTX_new_ex(tls_libctx, NULL, TLS_server_method());
	if (ctx == NULL) {
		capf_ossl_error_msg(err, errlen, "SSL_CTX_new_ex");
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, conf->tls.certificate) != 1) {
		capf_ossl_error_msg(err, errlen, "tls.certificate: cannot read the PEM certificate (chain)");
		goto fail;
	}
	if (drop_roots(ctx) != 0) {
		capf_ossl_error_msg(err, errlen, "tls.certificate: the chain");
		goto fail;
	}
	if (token) {
		char full[2048], e[512];

		if (capf_hsm_key_uri(tls_hsm, conf->tls.key, NULL, full, sizeof(full), e, sizeof(e)) != 0 ||
		    capf_hsm_load_key(tls_hsm, full, &key, e, sizeof(e)) != 0) {
			OPENSSL_cleanse(full, sizeof(full));
			snprintf(err, errlen, "tls.key %s: %s", conf->tls.key, e);
			goto fail;
		}
		OPENSSL_cleanse(full, sizeof(full));
	} else if ((key = key_from_file(conf->tls.key, err, errlen)) == NULL) {
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		capf_ossl_error_msg(err, errlen, "tls.key does not match tls.certificate");
		goto fail;
	}
	if (conf->tls.legacy && !EVP_PKEY_is_a(key, "RSA")) {
		snprintf(err, errlen,
			 "tls.legacy = true needs an RSA TLS key (static-RSA key transport "
			 "decrypts with it); tls.key %s is %s: make an RSA-2048 key, certify it "
			 "(capfctl tls issue --pubkey), or set tls.legacy = false",
			 conf->tls.key,
			 EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "not RSA");
		goto fail;
	}
	EVP_PKEY_free(key);
	key = NULL;

	if (conf->tls.min_version < TLS1_2_VERSION || conf->tls.legacy)
		SSL_CTX_set_security_level(ctx, 0);
	if (SSL_CTX_set_min_proto_version(ctx, conf->tls.min_version) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
		capf_ossl_error_msg(err, errlen, "tls.min_version");
		goto fail;
	}
	/* ECDHE only, AEAD first; the CBC suites remain for TLS 1.0/1.1 phones; legacy:
	 * the two static-RSA suites last (server preference: only phones without ECDHE) */
	if (SSL_CTX_set_cipher_list(
		    ctx, conf->tls.legacy ?
				 "ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE+AES:AES128-SHA:AES256-SHA:!aNULL:!eNULL" :
				 "ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE+AES:!aNULL:!eNULL") != 1 ||
	    SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384:P-521") != 1) {
		capf_ossl_error_msg(err, errlen, "cipher or group list");
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
					 SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0); /* one operation per connection */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* thousands of idle phones: give buffers back between records */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* whole records per read(), not header then body; safe because every read
	 * path drains SSL_read until WANT_READ (session.c on_readable) */
	SSL_CTX_set_read_ahead(ctx, 1);
	return ctx;
fail:
	EVP_PKEY_free(key);
	SSL_CTX_free(ctx);
	front_tls_free();
	return NULL;
}

void front_tls_free(void)
{
	capf_hsm_close(tls_hsm);
	tls_hsm = NULL;
	tls_libctx = NULL;
}
