/*
 * appliance/signerd/checkpoint.c: signed checkpoints of the audit trail. The
 * audit key (token.audit_key_uri, a private key the key process holds like
 * the CAPF CA key, which signs nothing but checkpoint messages with it) signs "capf-audit-checkpoint-v1" || row id || that row's
 * hash || time (appliance/store/audit_chain.h) after every admin change, and
 * otherwise when audit.checkpoint_rows rows are unsigned or
 * audit.checkpoint_interval seconds passed (the dispatcher asks once a
 * second). Each signature is verified with the public key before it is stored.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "appliance/common/log.h"
#include "appliance/signerd/signerd_int.h"
#include "appliance/store/audit_chain.h"

#define RETRY_AFTER_FAILURE 10 /* seconds before a due (not forced) checkpoint is retried */

struct signerd_checkpointer {
	pthread_mutex_t mu;
	uint32_t slot; /* the audit key in the key process */
	EVP_PKEY *pub; /* its public half */
	char key_id[65];
	int64_t last_row;
	time_t last_time, failed_at;
};

const char *signerd_checkpoint_key_id(struct signerd *sd)
{
	struct signerd_checkpointer *c = signerd_core(sd)->cp;

	return c != NULL ? c->key_id : "";
}

static int sign_head(struct signerd *sd, struct signerd_checkpointer *c, int64_t row,
		     const unsigned char head[CAPF_AUDIT_HASH_LEN], time_t now,
		     struct capf_store_checkpoint *cp, char *err, size_t errlen)
{
	unsigned char msg[CAPF_AUDIT_CP_MSG_LEN];
	size_t mlen = capf_audit_checkpoint_msg(row, head, (int64_t)now, msg);
	EVP_MD_CTX *v = EVP_MD_CTX_new();
	char e[400];
	int ok;

	memset(cp, 0, sizeof(*cp));
	cp->sig_len = sizeof(cp->sig);
	ERR_clear_error();
	ok = v != NULL && signerd_key_sign_data(sd, c->slot, CAPF_IPC_SIGN_CHECKPOINT, msg, mlen, cp->sig,
						&cp->sig_len, NULL, e, sizeof(e)) == 0;
	if (!ok)
		snprintf(err, errlen, "signing with the audit key (token.audit_key_uri) failed: %s", e);
	else if (EVP_DigestVerifyInit_ex(v, NULL, "SHA256", NULL, NULL, c->pub, NULL) != 1 ||
		 EVP_DigestVerify(v, cp->sig, cp->sig_len, msg, mlen) != 1) {
		snprintf(err, errlen, "the audit key's signature does not verify with its public key");
		ok = 0;
	}
	ERR_clear_error();
	EVP_MD_CTX_free(v);
	cp->time = now;
	cp->row_id = row;
	memcpy(cp->head, head, CAPF_AUDIT_HASH_LEN);
	snprintf(cp->key_id, sizeof(cp->key_id), "%s", c->key_id);
	return ok ? 0 : -1;
}

int signerd_checkpoint(struct signerd *sd, int force, char *err, size_t errlen)
{
	struct signerd_checkpointer *c = signerd_core(sd)->cp;
	struct capf_store_checkpoint cp;
	unsigned char head[CAPF_AUDIT_HASH_LEN];
	int64_t row = 0;
	time_t now;
	char e[600];
	int rc = 0;

	if (c == NULL)
		return 0;
	pthread_mutex_lock(&c->mu);
	now = time(NULL);
	if (!force && c->failed_at != 0 && now - c->failed_at < RETRY_AFTER_FAILURE)
		goto out;
	if (capf_store_audit_head(sd->store, &row, head, e, sizeof(e)) != 0) {
		rc = -1;
		goto fail;
	}
	if (row <= c->last_row)
		goto out;
	if (!force && (uint64_t)(row - c->last_row) < sd->conf.audit.checkpoint_rows &&
	    now - c->last_time < (time_t)sd->conf.audit.checkpoint_interval)
		goto out;
	if (sign_head(sd, c, row, head, now, &cp, e, sizeof(e)) != 0 ||
	    capf_store_checkpoint_add(sd->store, &cp, e, sizeof(e)) != 0) {
		rc = -1;
		goto fail;
	}
	capf_log(LOG_INFO, "audit_checkpoint", "row=%lld unsigned_rows=%lld forced=%d", (long long)row,
		 (long long)(row - c->last_row), force);
	c->last_row = row;
	c->last_time = now;
	c->failed_at = 0;
	goto out;
fail:
	c->failed_at = now;
	capf_log(LOG_ERR, "audit_checkpoint_failed", "row=%lld error=%s", (long long)row, e);
	snprintf(err, errlen, "%s", e);
out:
	pthread_mutex_unlock(&c->mu);
	return rc;
}

static int key_id_of(EVP_PKEY *pub, char id[65])
{
	unsigned char *der = NULL, md[32];
	unsigned int mdlen = 0;
	int n = i2d_PUBKEY(pub, &der), ok;

	if (n <= 0)
		return -1;
	ok = EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen == 32;
	OPENSSL_free(der);
	for (unsigned i = 0; ok && i < 32; i++)
		snprintf(id + 2 * i, 3, "%02x", md[i]);
	return ok ? 0 : -1;
}

int signerd_checkpoint_init(struct signerd *sd, char *err, size_t errlen)
{
	const char *uri = sd->conf.token.audit_key_uri;
	struct signerd_checkpointer *c;
	struct capf_store_checkpoint last;
	char e[768];
	int rc;

	if (uri[0] == '\0') {
		capf_log(LOG_WARNING, "audit_checkpoints", "enabled=0 reason=no_token.audit_key_uri");
		return 0;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&c->mu, NULL);
	if (signerd_key_load(sd, CAPF_IPC_KEYCLASS_AUDIT, uri, NULL, NULL, &c->slot, &c->pub, NULL, e,
			     sizeof(e)) != 0) {
		snprintf(err, errlen, "token.audit_key_uri: %s", e);
		goto fail;
	}
	if (key_id_of(c->pub, c->key_id) != 0) {
		snprintf(err, errlen, "token.audit_key_uri %s: cannot read its public key", uri);
		goto fail;
	}
	rc = capf_store_checkpoint_last(sd->store, &last, e, sizeof(e));
	if (rc == 0) {
		c->last_row = last.row_id;
		c->last_time = last.time;
	} else if (rc == CAPF_STORE_NOTFOUND) {
		c->last_time = 0;
	} else {
		snprintf(err, errlen, "reading the newest audit checkpoint: %s", e);
		goto fail;
	}
	signerd_core(sd)->cp = c;
	capf_log(LOG_NOTICE, "audit_checkpoints",
		 "enabled=1 key_uri=%s key_id=%s rows=%u "
		 "interval=%u last_row=%lld",
		 uri, c->key_id, sd->conf.audit.checkpoint_rows, sd->conf.audit.checkpoint_interval,
		 (long long)c->last_row);
	/* Rows written while no signer ran are signed now (and the key proven). */
	if (signerd_checkpoint(sd, 1, e, sizeof(e)) != 0) {
		snprintf(err, errlen, "the first audit checkpoint failed: %s", e);
		signerd_core(sd)->cp = NULL;
		goto fail;
	}
	return 0;
fail:
	if (c->slot != 0)
		signerd_key_unload(sd, c->slot);
	EVP_PKEY_free(c->pub);
	pthread_mutex_destroy(&c->mu);
	free(c);
	return -1;
}

void signerd_checkpoint_fini(struct signerd *sd)
{
	struct signerd_checkpointer *c = signerd_core(sd)->cp;

	if (c == NULL)
		return;
	signerd_core(sd)->cp = NULL;
	signerd_key_unload(sd, c->slot);
	EVP_PKEY_free(c->pub);
	pthread_mutex_destroy(&c->mu);
	free(c);
}
