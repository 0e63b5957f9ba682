/*
 * appliance/signerd/admin_audit.c: AUDIT_VERIFY (the store's hash chain),
 * STATS (the daemon's counters), and AUDIT_ROWS / AUDIT_CHECKPOINTS (the trail
 * with its hashes and the signed checkpoints, paged, for capfctl to verify on
 * its own against the audit public key).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "appliance/common/log.h"
#include "appliance/signerd/admin.h"
#include "appliance/signerd/keyproc.h"

/* ---- AUDIT_VERIFY, STATS ---------------------------------------------------------- */

int admin_audit_verify(struct admin_req *a)
{
	int64_t bad = 0;
	uint64_t rows = 0;
	char err[768];
	int rc;

	err[0] = '\0';
	rc = capf_store_audit_verify(a->sd->store, &bad, &rows, err, sizeof(err));
	if (rc != 0 && bad <= 0)
		return admin_error(a, "cannot verify the audit trail: %s", err);
	if (admin_ok(a) != 0)
		return -1;
	capf_ipc_put_u32(a->resp, CAPF_IPC_T_COUNT, rows > UINT32_MAX ? UINT32_MAX : (uint32_t)rows);
	if (rc != 0) {
		capf_ipc_put_u64(a->resp, CAPF_IPC_T_AUDIT_ROW, (uint64_t)bad);
		capf_ipc_put_str(a->resp, CAPF_IPC_T_TEXT, err);
		capf_log(LOG_CRIT, "audit_broken", "row=%lld uid=%u", (long long)bad, (unsigned)a->peer->uid);
	}
	return 0;
}

int admin_stats(struct admin_req *a)
{
	struct signerd_stats s;
	const char *names[] = {
		"connections",
		"peers_refused",
		"requests",
		"protocol_errors",
		"begins",
		"refusals",
		"issued",
		"retry_later",
		"sign_failures",
		"sessions_active",
		"bulk_staged",
		"token_up",
		"token_down_ms",
		"token_outages",
		"token_recoveries",
		"token_retry_later",
		"token_last_outage_ms",
		"key_process_up",
		"key_process_restarts",
		"key_process_lost_calls",
		"store_writes",
		"store_commits",
		"store_syncs",
	};
	struct signerd_token_state ts;
	struct capf_store_stats ss;
	uint64_t v[23];
	size_t i;
	int kup = 0;

	signerd_stats_get(a->sd, &s);
	v[0] = s.connections;
	v[1] = s.peers_refused;
	v[2] = s.requests;
	v[3] = s.protocol_errors;
	v[4] = s.begins;
	v[5] = s.refusals;
	v[6] = s.issued;
	v[7] = s.retry_later;
	v[8] = s.sign_failures;
	v[9] = s.sessions_active;
	v[10] = admin_bulk_staged();
	signerd_token_state_get(a->sd, &ts);
	v[11] = !ts.down;
	v[12] = ts.down_ms;
	v[13] = ts.outages;
	v[14] = ts.recoveries;
	v[15] = ts.begin_retry_later;
	v[16] = ts.last_outage_ms;
	signerd_keyproc_stats(a->sd, &v[18], &v[19], &kup);
	v[17] = (uint64_t)kup;
	capf_store_get_stats(a->sd->store, &ss);
	v[20] = ss.writes;
	v[21] = ss.commits;
	v[22] = ss.syncs;
	if (admin_ok(a) != 0)
		return -1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		capf_ipc_nest_begin(a->resp, CAPF_IPC_T_STAT);
		capf_ipc_put_str(a->resp, CAPF_IPC_T_STAT_NAME, names[i]);
		capf_ipc_put_u64(a->resp, CAPF_IPC_T_STAT_VALUE, v[i]);
		capf_ipc_nest_end(a->resp);
	}
	return 0;
}

/* ---- AUDIT_ROWS, AUDIT_CHECKPOINTS ------------------------------------------------ */

/* Room kept free in a response for one more entry (3 texts of 4096 bytes, hashes,
 * headers) and the trailing fields. */
#define ENTRY_ROOM (3 * (CAPF_STORE_AUDIT_TEXT_MAX + 4) + 512)
#define ROWS_DEFAULT_LIMIT 1000

struct rows_walk {
	struct admin_req *a;
	int64_t since;
	const char *device;
	uint32_t limit, sent;
	uint64_t last;
	int more;
};

static int rows_cb(const struct capf_store_audit_row *r, void *arg)
{
	struct rows_walk *w = arg;
	struct capf_ipc_builder *b = w->a->resp;
	static const unsigned char zero[32];

	if (w->sent >= w->limit || b->len + ENTRY_ROOM > CAPF_IPC_MSG_MAX) {
		w->more = 1;
		return 1;
	}
	w->last = (uint64_t)r->id;
	if ((int64_t)r->time < w->since ||
	    (w->device != NULL && strcasecmp(w->device, r->subject != NULL ? r->subject : "") != 0))
		return 0;
	capf_ipc_nest_begin(b, CAPF_IPC_T_AUDIT_ENTRY);
	capf_ipc_put_u64(b, CAPF_IPC_T_AUDIT_ROW, (uint64_t)r->id);
	capf_ipc_put_i64(b, CAPF_IPC_T_AUDIT_TIME, (int64_t)r->time);
	capf_ipc_put_u32(b, CAPF_IPC_T_AUDIT_UID, (uint32_t)r->uid);
	capf_ipc_put_str(b, CAPF_IPC_T_AUDIT_ROLE, r->role != NULL ? r->role : "");
	capf_ipc_put_str(b, CAPF_IPC_T_AUDIT_ACTION, r->action != NULL ? r->action : "");
	capf_ipc_put_str(b, CAPF_IPC_T_AUDIT_SUBJECT, r->subject != NULL ? r->subject : "");
	capf_ipc_put_str(b, CAPF_IPC_T_AUDIT_DETAIL, r->detail != NULL ? r->detail : "");
	/* a malformed hash goes out as zeros: the client's check names the row */
	capf_ipc_put_bytes(b, CAPF_IPC_T_AUDIT_PREV_HASH, r->prev_hash != NULL ? r->prev_hash : zero, 32);
	capf_ipc_put_bytes(b, CAPF_IPC_T_AUDIT_HASH, r->hash != NULL ? r->hash : zero, 32);
	capf_ipc_nest_end(b);
	w->sent++;
	return 0;
}

int admin_audit_rows(struct admin_req *a)
{
	struct rows_walk w = { .a = a, .since = INT64_MIN, .limit = ROWS_DEFAULT_LIMIT };
	char device[CAPF_DEVICE_NAME_MAX + 1], err[768];
	uint64_t after = 0;
	int rc;

	capf_ipc_get_u64(a->req, CAPF_IPC_T_AUDIT_AFTER, &after);
	capf_ipc_get_u32(a->req, CAPF_IPC_T_LIMIT, &w.limit);
	capf_ipc_get_i64(a->req, CAPF_IPC_T_AUDIT_SINCE, &w.since);
	if (capf_ipc_get_str(a->req, CAPF_IPC_T_DEVICE_NAME, device, sizeof(device)) == 0)
		w.device = device;
	if (w.limit == 0 || w.limit > ROWS_DEFAULT_LIMIT)
		w.limit = ROWS_DEFAULT_LIMIT;
	if (after > INT64_MAX)
		return admin_refuse(a, "AUDIT_AFTER %llu is out of range", (unsigned long long)after);
	w.last = after;
	if (admin_ok(a) != 0)
		return -1;
	err[0] = '\0';
	rc = capf_store_audit_list(a->sd->store, (int64_t)after, rows_cb, &w, err, sizeof(err));
	if (rc != 0) {
		capf_ipc_builder_free(a->resp);
		memset(a->resp, 0, sizeof(*a->resp));
		return admin_error(a, "cannot read the audit trail: %s", err);
	}
	capf_ipc_put_u64(a->resp, CAPF_IPC_T_AUDIT_AFTER, w.last);
	if (w.more)
		capf_ipc_put_u8(a->resp, CAPF_IPC_T_AUDIT_MORE, 1);
	return 0;
}

struct cps_walk {
	struct admin_req *a;
	uint64_t last;
	int more;
};

static int cps_cb(const struct capf_store_checkpoint *cp, void *arg)
{
	struct cps_walk *w = arg;
	struct capf_ipc_builder *b = w->a->resp;

	if (b->len + CAPF_STORE_SIG_MAX + 512 > CAPF_IPC_MSG_MAX) {
		w->more = 1;
		return 1;
	}
	w->last = (uint64_t)cp->id;
	capf_ipc_nest_begin(b, CAPF_IPC_T_AUDIT_CHECKPOINT);
	capf_ipc_put_u64(b, CAPF_IPC_T_AUDIT_CP_ID, (uint64_t)cp->id);
	capf_ipc_put_i64(b, CAPF_IPC_T_AUDIT_TIME, (int64_t)cp->time);
	capf_ipc_put_u64(b, CAPF_IPC_T_AUDIT_ROW, (uint64_t)cp->row_id);
	capf_ipc_put_bytes(b, CAPF_IPC_T_AUDIT_HASH, cp->head, sizeof(cp->head));
	capf_ipc_put_str(b, CAPF_IPC_T_AUDIT_KEY_ID, cp->key_id);
	capf_ipc_put_bytes(b, CAPF_IPC_T_AUDIT_SIG, cp->sig, cp->sig_len);
	capf_ipc_nest_end(b);
	return 0;
}

int admin_audit_checkpoints(struct admin_req *a)
{
	struct cps_walk w = { .a = a };
	uint64_t after = 0;
	char err[768];
	int rc;

	capf_ipc_get_u64(a->req, CAPF_IPC_T_AUDIT_AFTER, &after);
	if (after > INT64_MAX)
		return admin_refuse(a, "AUDIT_AFTER %llu is out of range", (unsigned long long)after);
	w.last = after;
	if (admin_ok(a) != 0)
		return -1;
	capf_ipc_put_str(a->resp, CAPF_IPC_T_AUDIT_KEY_ID, signerd_checkpoint_key_id(a->sd));
	capf_ipc_put_u32(a->resp, CAPF_IPC_T_AUDIT_CP_ROWS, a->sd->conf.audit.checkpoint_rows);
	capf_ipc_put_u32(a->resp, CAPF_IPC_T_AUDIT_CP_INTERVAL, a->sd->conf.audit.checkpoint_interval);
	err[0] = '\0';
	rc = capf_store_checkpoint_list(a->sd->store, (int64_t)after, cps_cb, &w, err, sizeof(err));
	if (rc != 0) {
		capf_ipc_builder_free(a->resp);
		memset(a->resp, 0, sizeof(*a->resp));
		return admin_error(a, "cannot read the audit checkpoints: %s", err);
	}
	capf_ipc_put_u64(a->resp, CAPF_IPC_T_AUDIT_AFTER, w.last);
	if (w.more)
		capf_ipc_put_u8(a->resp, CAPF_IPC_T_AUDIT_MORE, 1);
	return 0;
}
