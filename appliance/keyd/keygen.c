/*
 * appliance/keyd/keygen.c: `capf-keyd --keygen`, the short-lived key process
 * that generates a new CAPF CA key pair in the token of token.ca_key_uri (rw
 * session, PIN from token.pin_source) for `capfctl capf regenerate`, and
 * destroys it again when a later step fails. It destroys only pairs it
 * generated itself: a KEY_DESTROY of any other key is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "appliance/common/hsm.h"
#include "appliance/ipc/ipc.h"
#include "appliance/common/log.h"
#include "appliance/keyd/keyd.h"
#include "pkcs11/p11.h"
#include "pkcs11/p11_uri.h"
#include "policy/device.h"

#define GENERATED_MAX 8

static struct p11_token *tok;
static struct {
	struct p11_object *priv;
	char uri[CAPF_CONF_STR_MAX];
} made[GENERATED_MAX];
static size_t nmade;

static int answer(const struct capf_ipc_msg *req, struct capf_ipc_builder *resp, int status, const char *text)
{
	capf_ipc_build_response(resp, req, (uint8_t)status);
	if (text != NULL)
		capf_ipc_put_str(resp, CAPF_IPC_T_TEXT, text);
	if (status == CAPF_IPC_RETRY_LATER)
		capf_ipc_put_u32(resp, CAPF_IPC_T_RETRY_DELAY, 1);
	return 0;
}

/* The rw token of token.ca_key_uri, logged in. */
static int open_token(struct keyd *k, int *down, char *err, size_t errlen)
{
	struct p11_token_opts opts = { 0 };
	struct p11_uri u;
	int rc;

	if (tok != NULL)
		return 0;
	if (p11_uri_parse(k->conf.token.ca_key_uri, &u, err, errlen) != P11_OK)
		return -1;
	if (u.pin_source == NULL && k->conf.token.pin_source[0] != '\0' &&
	    (u.pin_source = strdup(k->conf.token.pin_source)) == NULL) {
		p11_uri_clear(&u);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	opts.rw = 1;
	opts.pool_size = 1;
	opts.module_path = k->conf.token.module[0] != '\0' ? k->conf.token.module : NULL;
	rc = p11_token_open(&u, &opts, &tok, err, errlen);
	p11_uri_clear(&u);
	if (rc != P11_OK) {
		*down = rc == P11_EDOWN;
		tok = NULL;
		return -1;
	}
	return 0;
}

static int generate(struct keyd *k, const struct capf_ipc_msg *req, struct capf_ipc_builder *resp)
{
	struct p11_keyspec spec;
	struct p11_object *priv = NULL;
	EVP_PKEY *pub = NULL;
	unsigned char *der = NULL;
	char base[65] = "", label[80], uri[CAPF_CONF_STR_MAX], err[768], msg[1024];
	uint8_t kt = 0, curve = CAPF_CURVE_P256;
	uint32_t bits = 2048;
	int down = 0, in_use = 1, n;

	if (nmade >= GENERATED_MAX)
		return answer(req, resp, CAPF_IPC_ERROR, "this key process generated enough keys already");
	memset(&spec, 0, sizeof(spec));
	capf_ipc_get_u8(req, CAPF_IPC_T_KEY_TYPE, &kt);
	capf_ipc_get_u32(req, CAPF_IPC_T_RSA_BITS, &bits);
	capf_ipc_get_u8(req, CAPF_IPC_T_CURVE, &curve);
	capf_ipc_get_str(req, CAPF_IPC_T_KEY_LABEL, base, sizeof(base));
	if (kt == CAPF_KEY_RSA) {
		if (bits != 2048 && bits != 3072 && bits != 4096)
			return answer(req, resp, CAPF_IPC_ERROR, "RSA: 2048, 3072 or 4096 bits");
		spec.type = CKK_RSA;
		spec.bits = bits;
	} else {
		spec.type = CKK_EC;
		if ((spec.curve_nid = capf_curve_nid(curve)) == 0)
			return answer(req, resp, CAPF_IPC_ERROR, "CURVE: unknown");
	}
	if (open_token(k, &down, err, sizeof(err)) != 0) {
		snprintf(msg, sizeof(msg), "the token of token.ca_key_uri: %s", err);
		return answer(req, resp, down ? CAPF_IPC_RETRY_LATER : CAPF_IPC_ERROR, msg);
	}
	/* a free label before generating (two in one second: -2, -3...) */
	snprintf(label, sizeof(label), "%s", base);
	for (int i = 2; in_use; i++) {
		if (p11_label_in_use(tok, label, &in_use, err, sizeof(err)) != P11_OK) {
			snprintf(msg, sizeof(msg), "looking for a free key label in the token: %s", err);
			return answer(req, resp, CAPF_IPC_ERROR, msg);
		}
		if (in_use && i > 99)
			return answer(req, resp, CAPF_IPC_ERROR, "no free key label <label>-N in the token");
		if (in_use)
			snprintf(label, sizeof(label), "%s-%d", base, i);
	}
	if (p11_keygen(tok, &spec, label, NULL, 0, &priv, err, sizeof(err)) != P11_OK) {
		snprintf(msg, sizeof(msg), "generating the key %s in the token: %s", label, err);
		return answer(req, resp, CAPF_IPC_ERROR, msg);
	}
	if (p11_object_uri(priv, uri, sizeof(uri)) != 0 ||
	    p11_object_public_key(priv, NULL, NULL, &pub, err, sizeof(err)) != P11_OK ||
	    (n = i2d_PUBKEY(pub, &der)) <= 0) {
		snprintf(msg, sizeof(msg), "the new key %s: %s", label, err);
		if (p11_keypair_destroy(priv, err, sizeof(err)) != P11_OK)
			capf_log(LOG_ERR, "keygen_left", "label=%s error=\"%s\"", label, err);
		p11_object_free(priv);
		EVP_PKEY_free(pub);
		return answer(req, resp, CAPF_IPC_ERROR, msg);
	}
	made[nmade].priv = priv;
	snprintf(made[nmade].uri, sizeof(made[nmade].uri), "%s", uri);
	nmade++;
	capf_log(LOG_NOTICE, "key_generated", "label=%s uri=%s", label, uri);
	answer(req, resp, CAPF_IPC_OK, NULL);
	capf_ipc_put_str(resp, CAPF_IPC_T_KEY_URI, uri);
	capf_ipc_put_str(resp, CAPF_IPC_T_KEY_LABEL, label);
	capf_ipc_put_bytes(resp, CAPF_IPC_T_PUBLIC_KEY, der, (size_t)n);
	OPENSSL_free(der);
	EVP_PKEY_free(pub);
	return 0;
}

static int destroy(const struct capf_ipc_msg *req, struct capf_ipc_builder *resp)
{
	char uri[CAPF_CONF_STR_MAX], err[512], msg[1700];

	if (capf_ipc_get_str(req, CAPF_IPC_T_KEY_URI, uri, sizeof(uri)) != 0)
		return answer(req, resp, CAPF_IPC_ERROR, "KEY_URI missing");
	for (size_t i = 0; i < nmade; i++) {
		if (made[i].priv == NULL || strcmp(made[i].uri, uri) != 0)
			continue;
		if (p11_keypair_destroy(made[i].priv, err, sizeof(err)) != P11_OK) {
			snprintf(msg, sizeof(msg), "the token refused to destroy %s: %s", uri, err);
			return answer(req, resp, CAPF_IPC_ERROR, msg);
		}
		p11_object_free(made[i].priv);
		made[i].priv = NULL;
		capf_log(LOG_NOTICE, "key_destroyed", "uri=%s", uri);
		return answer(req, resp, CAPF_IPC_OK, NULL);
	}
	return answer(req, resp, CAPF_IPC_ERROR, "only a key this process generated can be destroyed");
}

int keyd_keygen_serve(struct keyd *k, const struct capf_ipc_msg *req, struct capf_ipc_builder *resp)
{
	switch (req->verb) {
	case CAPF_IPC_KEY_GENERATE:
		return generate(k, req, resp);
	case CAPF_IPC_KEY_DESTROY:
		return destroy(req, resp);
	default:
		return answer(req, resp, CAPF_IPC_ERROR, "not served by the key generation process");
	}
}

int keyd_keygen_init(struct keyd *k, char *err, size_t errlen)
{
	int down = 0;

	return open_token(k, &down, err, errlen);
}

void keyd_keygen_fini(void)
{
	for (size_t i = 0; i < nmade; i++)
		if (made[i].priv != NULL)
			p11_object_free(made[i].priv);
	nmade = 0;
	if (tok != NULL)
		p11_token_close(tok);
	tok = NULL;
}
