/*
 * appliance/signerd/keyops.c: what capf-signerd asks of its key process
 * (signerd.h, "The key process"): load a key into a slot, have a certificate,
 * a CSR or a checkpoint signed, an HMAC made, a key generated. Each is one
 * request over keyproc.c's channels; the answers are checked here.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "appliance/signerd/keyproc.h"
#include "appliance/signerd/signerd_int.h"
#include "policy/der.h"

/* The answer buffer of this thread (one request at a time per thread), freed
 * when the thread ends. */
static pthread_key_t buf_key;
static pthread_once_t buf_once = PTHREAD_ONCE_INIT;

static void buf_free(void *p)
{
	if (p != NULL)
		OPENSSL_cleanse(p, CAPF_IPC_MSG_MAX);
	free(p);
}

static void buf_init(void)
{
	(void)pthread_key_create(&buf_key, buf_free);
}

static uint8_t *rbuf(void)
{
	uint8_t *buf;

	pthread_once(&buf_once, buf_init);
	if ((buf = pthread_getspecific(buf_key)) == NULL && (buf = malloc(CAPF_IPC_MSG_MAX)) != NULL &&
	    pthread_setspecific(buf_key, buf) != 0) {
		free(buf);
		buf = NULL;
	}
	return buf;
}

/* The outcome of a call: 0 when OK; else -1, *retry set for RETRY_LATER and a
 * lost key process, the reason in err. */
static int outcome(int rc, struct capf_ipc_msg *resp, int *retry, const char *what, char *err, size_t errlen)
{
	char text[1024] = "", e[768];

	if (retry != NULL)
		*retry = 0;
	if (rc == 0 && resp->status == CAPF_IPC_OK)
		return 0;
	if (rc == KP_DOWN || (rc == 0 && resp->status == CAPF_IPC_RETRY_LATER)) {
		if (retry != NULL)
			*retry = 1;
	}
	if (rc == 0)
		capf_ipc_get_str(resp, CAPF_IPC_T_TEXT, text, sizeof(text));
	snprintf(e, sizeof(e), "%s", err);
	snprintf(err, errlen, "%s: %s", what, rc == 0 ? text : e);
	return -1;
}

static int call(struct signerd *sd, struct capf_ipc_builder *b, uint16_t verb, struct capf_ipc_msg *resp,
		char *err, size_t errlen)
{
	uint8_t *buf = rbuf();

	if (buf == NULL) {
		snprintf(err, errlen, "out of memory");
		memset(resp, 0, sizeof(*resp));
		return -1;
	}
	err[0] = '\0';
	return signerd_key_call(sd, b, verb, buf, resp, err, errlen);
}

static EVP_PKEY *pub_of(const struct capf_ipc_msg *resp)
{
	const uint8_t *p;
	size_t len;

	if (capf_ipc_get_bytes(resp, CAPF_IPC_T_PUBLIC_KEY, &p, &len) != 0)
		return NULL;
	return d2i_PUBKEY(NULL, &p, (long)len);
}

int signerd_key_load(struct signerd *sd, enum capf_ipc_key_class cls, const char *uri, X509 *cert,
		     STACK_OF(X509) * chain, uint32_t *slot, EVP_PKEY **pub, int *retry, char *err,
		     size_t errlen)
{
	struct capf_ipc_builder b;
	struct capf_ipc_msg resp;
	uint32_t s = signerd_key_new_slot(sd);
	int rc;

	memset(&b, 0, sizeof(b));
	capf_ipc_build_request(&b, CAPF_IPC_KEY_LOAD, signerd_key_request_id(sd));
	capf_ipc_put_u32(&b, CAPF_IPC_T_KEY_SLOT, s);
	capf_ipc_put_u8(&b, CAPF_IPC_T_KEY_CLASS, (uint8_t)cls);
	capf_ipc_put_str(&b, CAPF_IPC_T_KEY_URI, uri);
	if (cert != NULL) {
		unsigned char *der = NULL;
		int n = i2d_X509(cert, &der);

		if (n > 0)
			capf_ipc_put_bytes(&b, CAPF_IPC_T_CERT, der, (size_t)n);
		OPENSSL_free(der);
		for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
			der = NULL;
			if ((n = i2d_X509(sk_X509_value(chain, i), &der)) > 0)
				capf_ipc_put_bytes(&b, CAPF_IPC_T_CHAIN_CERT, der, (size_t)n);
			OPENSSL_free(der);
		}
	}
	rc = outcome(call(sd, &b, CAPF_IPC_KEY_LOAD, &resp, err, errlen), &resp, retry, uri, err, errlen);
	if (rc == 0 && pub != NULL && (*pub = pub_of(&resp)) == NULL) {
		snprintf(err, errlen, "%s: the key process sent no public key", uri);
		rc = -1;
	}
	if (rc == 0 && signerd_key_register(sd, s, &b) != 0) {
		snprintf(err, errlen, "%s: too many keys loaded", uri);
		rc = -1;
	}
	capf_ipc_msg_free(&resp);
	capf_ipc_builder_free(&b);
	if (rc != 0) {
		if (pub != NULL) {
			EVP_PKEY_free(*pub);
			*pub = NULL;
		}
		return -1;
	}
	*slot = s;
	return 0;
}

void signerd_key_unload(struct signerd *sd, uint32_t slot)
{
	struct capf_ipc_builder b;
	struct capf_ipc_msg resp;
	char err[256];

	signerd_key_unregister(sd, slot);
	memset(&b, 0, sizeof(b));
	capf_ipc_build_request(&b, CAPF_IPC_KEY_UNLOAD, signerd_key_request_id(sd));
	capf_ipc_put_u32(&b, CAPF_IPC_T_KEY_SLOT, slot);
	(void)call(sd, &b, CAPF_IPC_KEY_UNLOAD, &resp, err, sizeof(err));
	capf_ipc_msg_free(&resp);
	capf_ipc_builder_free(&b);
}

/* KEY_SIGN with one DER field in (CERT, CSR or KEY_DATA), one out. */
static int sign(struct signerd *sd, uint32_t slot, uint8_t kind, uint16_t tag_in, const void *in, size_t inlen,
		uint16_t tag_out, unsigned char **out, size_t *outlen, int *retry, char *err, size_t errlen)
{
	struct capf_ipc_builder b;
	struct capf_ipc_msg resp;
	const uint8_t *p;
	size_t len;
	int rc;

	*out = NULL;
	memset(&b, 0, sizeof(b));
	capf_ipc_build_request(&b, CAPF_IPC_KEY_SIGN, signerd_key_request_id(sd));
	capf_ipc_put_u32(&b, CAPF_IPC_T_KEY_SLOT, slot);
	capf_ipc_put_u8(&b, CAPF_IPC_T_SIGN_KIND, kind);
	capf_ipc_put_bytes(&b, tag_in, in, inlen);
	rc = outcome(call(sd, &b, CAPF_IPC_KEY_SIGN, &resp, err, errlen), &resp, retry, "the key process", err,
		     errlen);
	if (rc == 0 && (capf_ipc_get_bytes(&resp, tag_out, &p, &len) != 0 || (*out = malloc(len)) == NULL)) {
		snprintf(err, errlen, "the key process: no %s in its answer", capf_ipc_tag_name(tag_out));
		rc = -1;
	}
	if (rc == 0) {
		memcpy(*out, p, len);
		*outlen = len;
	}
	capf_ipc_msg_free(&resp);
	capf_ipc_builder_free(&b);
	return rc;
}

/* An ASN.1 object (a certificate or a CSR, it) signed as kind: encoded, sent
 * in the field tag, the answer's same field decoded (whole). NULL with err. */
static void *sign_object(struct signerd *sd, uint32_t slot, enum capf_ipc_sign_kind kind, uint16_t tag,
			 const ASN1_ITEM *it, const void *obj, const char *what, int *retry, char *err,
			 size_t errlen)
{
	unsigned char *der = NULL, *out = NULL;
	const unsigned char *p;
	size_t outlen = 0;
	void *signed_obj = NULL;
	int n;

	if (retry != NULL)
		*retry = 0;
	if ((n = ASN1_item_i2d((const ASN1_VALUE *)obj, &der, it)) <= 0) {
		ERR_clear_error();
		snprintf(err, errlen, "cannot encode the %s to sign", what);
		return NULL;
	}
	if (sign(sd, slot, (uint8_t)kind, tag, der, (size_t)n, tag, &out, &outlen, retry, err, errlen) == 0) {
		p = out;
		signed_obj = ASN1_item_d2i(NULL, &p, (long)outlen, it);
		if (signed_obj == NULL || p != out + outlen) {
			ASN1_item_free(signed_obj, it);
			signed_obj = NULL;
			ERR_clear_error();
			snprintf(err, errlen, "the key process answered no %s", what);
		}
	}
	OPENSSL_free(der);
	free(out);
	return signed_obj;
}

int signerd_key_sign_der(struct signerd *sd, uint32_t slot, enum capf_ipc_sign_kind kind, const uint8_t *der,
			 size_t len, unsigned char **out, size_t *outlen, int *retry, char *err, size_t errlen)
{
	const uint8_t *ta, *tb;
	size_t la, lb;

	if (retry != NULL)
		*retry = 0;
	if (capf_der_cert_tbs(der, len, &ta, &la) != 0) {
		snprintf(err, errlen, "the certificate to sign is not DER");
		return -1;
	}
	if (sign(sd, slot, (uint8_t)kind, CAPF_IPC_T_CERT, der, len, CAPF_IPC_T_CERT, out, outlen, retry, err,
		 errlen) != 0)
		return -1;
	/* the key process linted, signed and verified it: what comes back must be
	 * that certificate, byte for byte, with a signature */
	if (capf_der_cert_tbs(*out, *outlen, &tb, &lb) != 0 || la != lb || memcmp(ta, tb, la) != 0) {
		free(*out);
		*out = NULL;
		snprintf(err, errlen, "the key process signed another certificate than the one sent");
		return -1;
	}
	return 0;
}

X509 *signerd_key_sign_cert(struct signerd *sd, uint32_t slot, enum capf_ipc_sign_kind kind, X509 *tbs,
			    int *retry, char *err, size_t errlen)
{
	return sign_object(sd, slot, kind, CAPF_IPC_T_CERT, ASN1_ITEM_rptr(X509), tbs, "certificate", retry,
			   err, errlen);
}

X509_REQ *signerd_key_sign_req(struct signerd *sd, uint32_t slot, X509_REQ *req, int *retry, char *err,
			       size_t errlen)
{
	return sign_object(sd, slot, CAPF_IPC_SIGN_CSR, CAPF_IPC_T_CSR, ASN1_ITEM_rptr(X509_REQ), req, "CSR",
			   retry, err, errlen);
}

int signerd_key_sign_data(struct signerd *sd, uint32_t slot, enum capf_ipc_sign_kind kind, const uint8_t *msg,
			  size_t len, uint8_t *sig, size_t *siglen, int *retry, char *err, size_t errlen)
{
	unsigned char *out = NULL;
	size_t outlen = 0;
	int rc = sign(sd, slot, (uint8_t)kind, CAPF_IPC_T_KEY_DATA, msg, len, CAPF_IPC_T_KEY_SIG, &out, &outlen,
		      retry, err, errlen);

	if (rc == 0 && outlen > *siglen) {
		snprintf(err, errlen, "the signature is longer than %zu bytes", *siglen);
		rc = -1;
	}
	if (rc == 0) {
		memcpy(sig, out, outlen);
		*siglen = outlen;
	}
	free(out);
	return rc;
}

int signerd_key_hmac(struct signerd *sd, uint32_t slot, const uint8_t *in, size_t inlen, uint8_t out[32],
		     char *err, size_t errlen)
{
	struct capf_ipc_builder b;
	struct capf_ipc_msg resp;
	const uint8_t *p;
	size_t len;
	int rc;

	memset(&b, 0, sizeof(b));
	capf_ipc_build_request(&b, CAPF_IPC_KEY_HMAC, signerd_key_request_id(sd));
	capf_ipc_put_u32(&b, CAPF_IPC_T_KEY_SLOT, slot);
	capf_ipc_put_bytes(&b, CAPF_IPC_T_KEY_DATA, in, inlen);
	rc = outcome(call(sd, &b, CAPF_IPC_KEY_HMAC, &resp, err, errlen), &resp, NULL, "HMAC", err, errlen);
	if (rc == 0 && (capf_ipc_get_bytes(&resp, CAPF_IPC_T_KEY_MAC, &p, &len) != 0 || len != 32)) {
		snprintf(err, errlen, "HMAC: the key process answered no MAC");
		rc = -1;
	}
	if (rc == 0)
		memcpy(out, p, 32);
	capf_ipc_msg_free(&resp);
	capf_ipc_builder_free(&b); /* wiped: the input is an authentication string */
	return rc;
}

int signerd_key_probe(struct signerd *sd, uint32_t slot, int *retry, char *err, size_t errlen)
{
	struct capf_ipc_builder b;
	struct capf_ipc_msg resp;
	int rc;

	memset(&b, 0, sizeof(b));
	capf_ipc_build_request(&b, CAPF_IPC_KEY_PROBE, signerd_key_request_id(sd));
	capf_ipc_put_u32(&b, CAPF_IPC_T_KEY_SLOT, slot);
	rc = outcome(call(sd, &b, CAPF_IPC_KEY_PROBE, &resp, err, errlen), &resp, retry, "probe", err, errlen);
	capf_ipc_msg_free(&resp);
	capf_ipc_builder_free(&b);
	return rc;
}

/* ---- key generation: a one-shot capf-keyd --keygen ------------------------ */

struct signerd_keygen {
	struct signerd *sd;
	int fd;
	uint8_t *buf;
};

struct signerd_keygen *signerd_keygen_open(struct signerd *sd, char *err, size_t errlen)
{
	struct signerd_keygen *kg = calloc(1, sizeof(*kg));

	if (kg == NULL || (kg->buf = malloc(CAPF_IPC_MSG_MAX)) == NULL) {
		free(kg);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	kg->sd = sd;
	if ((kg->fd = signerd_keyproc_keygen_fd(sd, err, errlen)) < 0) {
		free(kg->buf);
		free(kg);
		return NULL;
	}
	return kg;
}

void signerd_keygen_close(struct signerd_keygen *kg)
{
	if (kg == NULL)
		return;
	close(kg->fd);
	free(kg->buf);
	free(kg);
}

int signerd_keygen_generate(struct signerd_keygen *kg, uint8_t key_type, uint32_t bits, uint8_t curve,
			    const char *label, char *uri, size_t urilen, char *label_out, size_t lablen,
			    EVP_PKEY **pub, int *retry, char *err, size_t errlen)
{
	struct capf_ipc_builder b;
	struct capf_ipc_msg resp;
	int rc;

	*pub = NULL;
	memset(&b, 0, sizeof(b));
	capf_ipc_build_request(&b, CAPF_IPC_KEY_GENERATE, signerd_key_request_id(kg->sd));
	capf_ipc_put_u8(&b, CAPF_IPC_T_KEY_TYPE, key_type);
	if (bits != 0)
		capf_ipc_put_u32(&b, CAPF_IPC_T_RSA_BITS, bits);
	capf_ipc_put_u8(&b, CAPF_IPC_T_CURVE, curve);
	capf_ipc_put_str(&b, CAPF_IPC_T_KEY_LABEL, label);
	err[0] = '\0';
	rc = signerd_key_call_fd(kg->fd, &b, CAPF_IPC_KEY_GENERATE, kg->buf, &resp, err, errlen);
	rc = outcome(rc, &resp, retry, "key generation", err, errlen);
	if (rc == 0 && (capf_ipc_get_str(&resp, CAPF_IPC_T_KEY_URI, uri, urilen) != 0 ||
			capf_ipc_get_str(&resp, CAPF_IPC_T_KEY_LABEL, label_out, lablen) != 0 ||
			(*pub = pub_of(&resp)) == NULL)) {
		snprintf(err, errlen, "key generation: an incomplete answer");
		rc = -1;
	}
	capf_ipc_msg_free(&resp);
	capf_ipc_builder_free(&b);
	return rc;
}

int signerd_keygen_destroy(struct signerd_keygen *kg, const char *uri, char *err, size_t errlen)
{
	struct capf_ipc_builder b;
	struct capf_ipc_msg resp;
	int rc;

	memset(&b, 0, sizeof(b));
	capf_ipc_build_request(&b, CAPF_IPC_KEY_DESTROY, signerd_key_request_id(kg->sd));
	capf_ipc_put_str(&b, CAPF_IPC_T_KEY_URI, uri);
	err[0] = '\0';
	rc = signerd_key_call_fd(kg->fd, &b, CAPF_IPC_KEY_DESTROY, kg->buf, &resp, err, errlen);
	rc = outcome(rc, &resp, NULL, "destroying the key", err, errlen);
	capf_ipc_msg_free(&resp);
	capf_ipc_builder_free(&b);
	return rc;
}
