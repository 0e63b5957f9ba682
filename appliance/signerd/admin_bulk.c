/*
 * appliance/signerd/admin_bulk.c: BULK_BEGIN/ADD/COMMIT/ABORT. Records are
 * staged per transaction (bound to the connection that opened it; strings
 * already hashed), each checked on arrival; COMMIT checks the whole set again
 * against the store as it is now and applies it in one store transaction
 * (capf_store_device_bulk), or refuses listing every offending device and
 * changes nothing. A transaction goes when its connection closes (the core's
 * close hook); the idle expiry is a backstop.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "appliance/common/log.h"
#include "appliance/signerd/admin.h"

#define BULK_SLOTS 8            /* open transactions */
#define BULK_RECORDS_MAX 100000 /* records per transaction */
#define BULK_IDLE_MAX 600       /* seconds before an idle transaction is dropped */

struct bulk_tx {
	uint64_t token; /* 0: free slot */
	uint64_t conn_id;
	uid_t uid;
	time_t used;
	char what[128];
	struct admin_devreq *rec;
	size_t n, cap;
	unsigned errors; /* records refused by BULK_ADD */
	int busy;        /* a request is working on it */
};

static pthread_mutex_t bulk_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bulk_tx bulk_tx[BULK_SLOTS];

static void tx_free(struct bulk_tx *t)
{
	if (t->rec) {
		OPENSSL_cleanse(t->rec, t->cap * sizeof(*t->rec));
		free(t->rec);
	}
	memset(t, 0, sizeof(*t));
}

/* Drops transactions idle too long (a backstop: closing the connection drops them). */
static void expire_locked(time_t now)
{
	int i;

	for (i = 0; i < BULK_SLOTS; i++)
		if (bulk_tx[i].token && !bulk_tx[i].busy && now - bulk_tx[i].used > BULK_IDLE_MAX) {
			capf_log(LOG_NOTICE, "bulk_expired", "records=%zu", bulk_tx[i].n);
			tx_free(&bulk_tx[i]);
		}
}

/* Takes the transaction named by the request's BULK for this connection. */
static struct bulk_tx *tx_take(struct admin_req *a)
{
	uint64_t token;
	int i;

	if (capf_ipc_get_u64(a->req, CAPF_IPC_T_BULK, &token) != 0 || token == 0)
		return NULL;
	pthread_mutex_lock(&bulk_lock);
	expire_locked(time(NULL));
	for (i = 0; i < BULK_SLOTS; i++) {
		struct bulk_tx *t = &bulk_tx[i];

		if (t->token == token && t->conn_id == a->peer->conn_id && !t->busy) {
			t->busy = 1;
			pthread_mutex_unlock(&bulk_lock);
			return t;
		}
	}
	pthread_mutex_unlock(&bulk_lock);
	return NULL;
}

static void tx_release(struct bulk_tx *t, int drop)
{
	pthread_mutex_lock(&bulk_lock);
	if (drop) {
		tx_free(t);
	} else {
		t->busy = 0;
		t->used = time(NULL);
	}
	pthread_mutex_unlock(&bulk_lock);
}

void admin_bulk_conn_closed(uint64_t conn_id)
{
	int i;

	pthread_mutex_lock(&bulk_lock);
	for (i = 0; i < BULK_SLOTS; i++)
		if (bulk_tx[i].token && bulk_tx[i].conn_id == conn_id && !bulk_tx[i].busy) {
			capf_log(LOG_NOTICE, "bulk_dropped",
				 "conn=%llu uid=%u records=%zu "
				 "reason=connection_closed",
				 (unsigned long long)conn_id, (unsigned)bulk_tx[i].uid, bulk_tx[i].n);
			tx_free(&bulk_tx[i]);
		}
	pthread_mutex_unlock(&bulk_lock);
}

unsigned admin_bulk_staged(void)
{
	unsigned n = 0;
	int i;

	pthread_mutex_lock(&bulk_lock);
	for (i = 0; i < BULK_SLOTS; i++)
		n += bulk_tx[i].token != 0;
	pthread_mutex_unlock(&bulk_lock);
	return n;
}

int admin_bulk_begin(struct admin_req *a)
{
	struct bulk_tx *t = NULL;
	uint64_t token = 0;
	int i;

	while (token == 0)
		if (RAND_bytes((unsigned char *)&token, sizeof(token)) != 1)
			return admin_error(a, "no random bytes for the bulk token");
	pthread_mutex_lock(&bulk_lock);
	expire_locked(time(NULL));
	for (i = 0; i < BULK_SLOTS; i++)
		if (bulk_tx[i].token == 0) {
			t = &bulk_tx[i];
			break;
		}
	if (t == NULL) {
		pthread_mutex_unlock(&bulk_lock);
		return admin_retry(a, "too many bulk changes in progress; retry later");
	}
	memset(t, 0, sizeof(*t));
	t->token = token;
	t->conn_id = a->peer->conn_id;
	t->uid = a->peer->uid;
	t->used = time(NULL);
	capf_ipc_get_str(a->req, CAPF_IPC_T_TEXT, t->what, sizeof(t->what));
	pthread_mutex_unlock(&bulk_lock);
	if (admin_ok(a) != 0)
		return -1;
	capf_ipc_put_u64(a->resp, CAPF_IPC_T_BULK, token);
	return 0;
}

static void put_item_error(struct capf_ipc_builder *b, const char *name, const char *text, unsigned *n)
{
	char t[1024];

	if (++*n > ADMIN_ITEM_ERRORS_MAX)
		return;
	snprintf(t, sizeof(t), "%s", text);
	capf_ipc_nest_begin(b, CAPF_IPC_T_ITEM_ERROR);
	capf_ipc_put_str(b, CAPF_IPC_T_DEVICE_NAME, name[0] ? name : "?");
	capf_ipc_put_str(b, CAPF_IPC_T_TEXT, t);
	capf_ipc_nest_end(b);
}

/* Checks r against the store as it is now; fills ch. */
static int check_one(struct admin_req *a, const struct admin_devreq *r, time_t now,
		     struct capf_store_device_change *ch, char *err, size_t errlen)
{
	struct capf_store_device cur;
	int rc, have;

	memset(&cur, 0, sizeof(cur));
	memset(ch, 0, sizeof(*ch));
	rc = strcmp(r->name, ADMIN_TLS_DEVICE) == 0 ?
		     CAPF_STORE_NOTFOUND :
		     capf_store_device_get(a->sd->store, r->name, &cur, err, errlen);
	if (rc != 0 && rc != CAPF_STORE_NOTFOUND)
		return -2;
	have = rc == 0;
	ch->kind = CAPF_STORE_CHANGE_PUT;
	rc = admin_devreq_apply(a->sd, r, have ? &cur : NULL, now, &ch->rec, &ch->put_flags, err, errlen);
	OPENSSL_cleanse(&cur, sizeof(cur));
	return rc;
}

int admin_bulk_add(struct admin_req *a)
{
	const struct capf_ipc_field *f = NULL;
	struct capf_store_device_change ch;
	struct bulk_tx *t;
	struct admin_devreq r;
	char err[768];
	unsigned nerr = 0;
	time_t now = time(NULL);
	size_t i;
	int rc;

	if ((t = tx_take(a)) == NULL)
		return admin_refuse(a, "no such bulk change on this connection (it was aborted, "
				       "committed or expired)");
	if (admin_ok(a) != 0) {
		tx_release(t, 0);
		return -1;
	}
	while ((f = capf_ipc_find(a->req, CAPF_IPC_T_DEVICE, f)) != NULL) {
		if (t->n >= BULK_RECORDS_MAX) {
			put_item_error(a->resp, "", "too many devices in one bulk change", &nerr);
			t->errors++;
			break;
		}
		if (admin_devreq_parse(a->sd, f, &r, err, sizeof(err)) != 0) {
			put_item_error(a->resp, r.name, err, &nerr);
			t->errors++;
			continue;
		}
		for (i = 0; i < t->n; i++)
			if (strcmp(t->rec[i].name, r.name) == 0)
				break;
		if (i < t->n) {
			put_item_error(a->resp, r.name, "the device appears twice in this bulk change", &nerr);
			t->errors++;
			OPENSSL_cleanse(&r, sizeof(r));
			continue;
		}
		rc = check_one(a, &r, now, &ch, err, sizeof(err));
		OPENSSL_cleanse(&ch, sizeof(ch));
		if (rc == -2) {
			OPENSSL_cleanse(&r, sizeof(r));
			tx_release(t, 0);
			capf_ipc_builder_free(a->resp);
			memset(a->resp, 0, sizeof(*a->resp));
			return admin_error(a, "%s", err);
		}
		if (rc != 0) {
			put_item_error(a->resp, r.name, err, &nerr);
			t->errors++;
			OPENSSL_cleanse(&r, sizeof(r));
			continue;
		}
		if (t->n == t->cap) {
			size_t ncap = t->cap ? t->cap * 2 : 256;
			struct admin_devreq *nr = calloc(ncap, sizeof(*nr));

			if (nr == NULL) {
				OPENSSL_cleanse(&r, sizeof(r));
				tx_release(t, 1);
				capf_ipc_builder_free(a->resp);
				memset(a->resp, 0, sizeof(*a->resp));
				return admin_error(a, "out of memory staging the bulk change");
			}
			if (t->rec) {
				memcpy(nr, t->rec, t->n * sizeof(*nr));
				OPENSSL_cleanse(t->rec, t->cap * sizeof(*t->rec));
				free(t->rec);
			}
			t->rec = nr;
			t->cap = ncap;
		}
		t->rec[t->n++] = r;
		OPENSSL_cleanse(&r, sizeof(r));
	}
	capf_ipc_put_u32(a->resp, CAPF_IPC_T_COUNT, (uint32_t)t->n);
	if (nerr > ADMIN_ITEM_ERRORS_MAX) {
		char text[128];

		snprintf(text, sizeof(text), "%u more refused devices not listed",
			 nerr - ADMIN_ITEM_ERRORS_MAX);
		capf_ipc_put_str(a->resp, CAPF_IPC_T_TEXT, text);
	}
	tx_release(t, 0);
	return 0;
}

int admin_bulk_commit(struct admin_req *a)
{
	struct capf_store_device_change *ch = NULL;
	struct bulk_tx *t;
	char err[768];
	uint8_t dry = 0;
	unsigned nerr = 0;
	size_t i, failed = 0;
	time_t now = time(NULL);
	int rc;

	if ((t = tx_take(a)) == NULL)
		return admin_refuse(a, "no such bulk change on this connection (it was aborted, "
				       "committed or expired)");
	capf_ipc_get_u8(a->req, CAPF_IPC_T_DRY_RUN, &dry);
	if (t->errors) {
		rc = admin_refuse(a, "%u device%s refused while staging: nothing was changed", t->errors,
				  t->errors == 1 ? "" : "s");
		tx_release(t, 1);
		return rc;
	}
	if (t->n == 0) {
		tx_release(t, 1);
		return admin_refuse(a, "the bulk change holds no device");
	}
	if ((ch = calloc(t->n, sizeof(*ch))) == NULL) {
		tx_release(t, 1);
		return admin_error(a, "out of memory");
	}
	/* Everything again, against the store as it is now: the refusal lists
	 * every offending device. */
	if (signerd_reply(a->sd, a->resp, a->req, CAPF_IPC_REFUSED, CAPF_FAIL_NONE, NULL) != 0)
		goto fail_mem;
	for (i = 0; i < t->n; i++) {
		rc = check_one(a, &t->rec[i], now, &ch[i], err, sizeof(err));
		if (rc == -2) {
			capf_ipc_builder_free(a->resp);
			memset(a->resp, 0, sizeof(*a->resp));
			admin_error(a, "%s", err);
			goto out;
		}
		if (rc != 0)
			put_item_error(a->resp, t->rec[i].name, err, &nerr);
	}
	if (nerr) {
		char text[160];

		snprintf(text, sizeof(text), "%u device%s refused: nothing was changed%s", nerr,
			 nerr == 1 ? "" : "s", nerr > ADMIN_ITEM_ERRORS_MAX ? " (list truncated)" : "");
		capf_ipc_put_str(a->resp, CAPF_IPC_T_TEXT, text);
		goto out;
	}
	capf_ipc_builder_free(a->resp);
	memset(a->resp, 0, sizeof(*a->resp));
	if (!dry) {
		rc = capf_store_device_bulk(a->sd->store, ch, t->n, &a->who, &failed, err, sizeof(err));
		if (rc != 0) {
			if (admin_store_fail(a, rc, err) == 0 && failed < t->n && a->resp->buf != NULL)
				put_item_error(a->resp, ch[failed].rec.dev.name, err, &nerr);
			goto out;
		}
		signerd_audit(a->sd, a->peer, "bulk.commit", t->what[0] ? t->what : "bulk", "devices=%zu",
			      t->n);
		for (size_t k = 0; k < t->n; k++)
			signerd_front_device_changed(a->sd, ch[k].rec.dev.name);
		capf_log(LOG_NOTICE, "bulk_applied", "devices=%zu uid=%u", t->n, (unsigned)a->peer->uid);
	}
	if (admin_ok(a) == 0)
		capf_ipc_put_u32(a->resp, CAPF_IPC_T_COUNT, (uint32_t)t->n);
out:
	OPENSSL_cleanse(ch, t->n * sizeof(*ch));
	free(ch);
	tx_release(t, 1);
	return 0;
fail_mem:
	free(ch);
	tx_release(t, 1);
	return -1;
}

int admin_bulk_abort(struct admin_req *a)
{
	struct bulk_tx *t = tx_take(a);

	if (t == NULL)
		return admin_refuse(a, "no such bulk change on this connection");
	tx_release(t, 1);
	return admin_ok(a);
}
