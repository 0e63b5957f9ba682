/*
 * appliance/signerd/authkey.c: the token's secret key under which
 * authentication strings are stored (HMAC-SHA-256, CKM_SHA256_HMAC), held by
 * the key process (KEY_LOAD class HMAC, KEY_HMAC). Loaded once at start-up from
 * token.auth_key_uri; the key process refuses a key that is not sensitive or is
 * extractable, and checks one HMAC.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appliance/common/log.h"
#include "appliance/signerd/signerd_int.h"

struct signerd_authkey {
	struct signerd *sd;
	uint32_t slot;
	struct capf_authhash_mac mac;
};

static int mac_fn(void *ctx, const unsigned char *in, size_t inlen, unsigned char out[CAPF_AUTHHASH_LEN],
		  char *err, size_t errlen)
{
	struct signerd_authkey *k = ctx;

	return signerd_key_hmac(k->sd, k->slot, in, inlen, out, err, errlen);
}

const struct capf_authhash_mac *signerd_auth_mac(struct signerd *sd)
{
	struct signerd_authkey *k = signerd_core(sd)->authkey;

	return k != NULL ? &k->mac : NULL;
}

int signerd_authkey_init(struct signerd *sd, char *err, size_t errlen)
{
	const char *uri = sd->conf.token.auth_key_uri;
	struct signerd_authkey *k;
	char e[1024];

	if (uri[0] == '\0') {
		capf_log(LOG_NOTICE, "auth_strings", "storage=scrypt reason=no_token.auth_key_uri");
		return 0;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (signerd_key_load(sd, CAPF_IPC_KEYCLASS_HMAC, uri, NULL, NULL, &k->slot, NULL, NULL, e, sizeof(e)) !=
	    0) {
		snprintf(err, errlen, "token.auth_key_uri: %s", e);
		free(k);
		return -1;
	}
	k->sd = sd;
	k->mac.fn = mac_fn;
	k->mac.ctx = k;
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
	signerd_key_unload(sd, k->slot);
	free(k);
}
