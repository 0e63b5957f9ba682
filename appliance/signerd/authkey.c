/*
 * appliance/signerd/authkey.c: the token's secret key under which
 * authentication strings are stored (HMAC-SHA-256 through C_Sign with
 * CKM_SHA256_HMAC, pkcs11/ directly: the provider has no MAC for token keys).
 * Opened once at start-up from token.auth_key_uri; the key must be sensitive
 * and never extractable. Its token handle has its own small session pool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "appliance/common/log.h"
#include "appliance/signerd/signerd_int.h"
#include "pkcs11/p11.h"
#include "pkcs11/p11_uri.h"

struct signerd_authkey {
	struct p11_token *tok;
	struct p11_object *key;
	struct capf_authhash_mac mac;
};

static int mac_fn(void *ctx, const unsigned char *in, size_t inlen,
		  unsigned char out[CAPF_AUTHHASH_LEN], char *err, size_t errlen)
{
	struct signerd_authkey *k = ctx;

	return p11_hmac_sha256(k->key, in, inlen, out, err, errlen) == P11_OK ? 0 : -1;
}

const struct capf_authhash_mac *signerd_auth_mac(struct signerd *sd)
{
	struct signerd_authkey *k = signerd_core(sd)->authkey;

	return k != NULL ? &k->mac : NULL;
}

int signerd_authkey_init(struct signerd *sd, char *err, size_t errlen)
{
	const char *uri = sd->conf.token.auth_key_uri;
	struct p11_token_opts opts = { 0 };
	struct signerd_authkey *k;
	struct p11_uri u;
	char full[P11_URI_MAX + 1], e[512];
	unsigned char probe[CAPF_AUTHHASH_LEN];
	int sens = 0, extr = 1, rc;

	if (uri[0] == '\0') {
		capf_log(LOG_NOTICE, "auth_strings", "storage=scrypt reason=no_token.auth_key_uri");
		return 0;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = signerd_key_uri_full(sd, uri, full, sizeof(full), e, sizeof(e));
	if (rc == 0)
		rc = p11_uri_parse(full, &u, e, sizeof(e)) == P11_OK ? 0 : -1;
	OPENSSL_cleanse(full, sizeof(full));
	if (rc != 0) {
		snprintf(err, errlen, "token.auth_key_uri %s: %s", uri, e);
		free(k);
		return -1;
	}
	opts.pool_size = sd->conf.signer.workers;
	opts.module_path = sd->conf.token.module[0] != '\0' ? sd->conf.token.module : NULL;
	rc = p11_token_open(&u, &opts, &k->tok, e, sizeof(e));
	if (rc == P11_OK)
		rc = p11_find_one(k->tok, &u, CKO_SECRET_KEY, &k->key, e, sizeof(e));
	p11_uri_clear(&u);
	if (rc == P11_OK &&
	    (p11_object_bool(k->key, CKA_SENSITIVE, &sens, e, sizeof(e)) != P11_OK ||
	     p11_object_bool(k->key, CKA_EXTRACTABLE, &extr, e, sizeof(e)) != P11_OK))
		rc = P11_ERR;
	else if (rc == P11_OK && (!sens || extr)) {
		snprintf(e, sizeof(e), "the key must be CKA_SENSITIVE and not CKA_EXTRACTABLE "
			 "(it is sensitive=%d extractable=%d): generate one with the key ceremony", sens,
			 extr);
		rc = P11_ERR;
	}
	k->mac.fn = mac_fn;
	k->mac.ctx = k;
	if (rc == P11_OK && mac_fn(k, (const unsigned char *)"probe", 5, probe, e, sizeof(e)) != 0)
		rc = P11_ERR;
	if (rc != P11_OK) {
		snprintf(err, errlen, "token.auth_key_uri %s: %s", uri, e);
		p11_object_free(k->key);
		p11_token_close(k->tok);
		free(k);
		return -1;
	}
	signerd_core(sd)->authkey = k;
	capf_log(LOG_NOTICE, "auth_strings", "storage=hmac-sha256 key_uri=%s", uri);
	return 0;
}

void signerd_authkey_fini(struct signerd *sd)
{
	struct signerd_authkey *k = signerd_core(sd)->authkey;

	if (k == NULL)
		return;
	signerd_core(sd)->authkey = NULL;
	p11_object_free(k->key);
	p11_token_close(k->tok);
	free(k);
}
