/*
 * appliance/signerd/admin.c: the ADMIN role's entry point. The core decoded
 * the request, checked it against the schema and the socket's role, and
 * checked the peer (SO_PEERCRED against sockets.admin_uids/gids); this file
 * checks the role once more and hands the request to its verb's handler.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "appliance/common/log.h"
#include "appliance/signerd/admin.h"

static int reply_text(struct admin_req *a, enum capf_ipc_status st, const char *fmt, va_list ap)
{
	char text[1024];

	vsnprintf(text, sizeof(text), fmt, ap);
	return signerd_reply(a->sd, a->resp, a->req, st, CAPF_FAIL_NONE, text);
}

int admin_refuse(struct admin_req *a, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = reply_text(a, CAPF_IPC_REFUSED, fmt, ap);
	va_end(ap);
	return rc;
}

int admin_error(struct admin_req *a, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = reply_text(a, CAPF_IPC_ERROR, fmt, ap);
	va_end(ap);
	return rc;
}

int admin_retry(struct admin_req *a, const char *text)
{
	return signerd_reply(a->sd, a->resp, a->req, CAPF_IPC_RETRY_LATER, CAPF_FAIL_NONE, text);
}

int admin_ok(struct admin_req *a)
{
	return signerd_reply(a->sd, a->resp, a->req, CAPF_IPC_OK, CAPF_FAIL_NONE, NULL);
}

int admin_store_fail(struct admin_req *a, int rc, const char *err)
{
	if (rc == CAPF_STORE_NOTFOUND || rc == CAPF_STORE_EXISTS)
		return admin_refuse(a, "%s", err);
	if (rc == CAPF_STORE_BUSY)
		return admin_retry(a, err);
	return admin_error(a, "%s", err);
}

int admin_need_confirm(struct admin_req *a, const char *what)
{
	uint8_t confirm = 0;

	capf_ipc_get_u8(a->req, CAPF_IPC_T_CONFIRM, &confirm);
	if (confirm == 1)
		return 0;
	signerd_audit(a->sd, a->peer, "refused", what, "no confirmation");
	admin_refuse(a,
		     "%s changes what phones trust: every phone resets when the ITL changes. "
		     "Nothing was changed: confirm explicitly (capfctl --yes)",
		     what);
	return -1;
}

static int admin_ping(struct admin_req *a)
{
	return admin_ok(a);
}

static const struct {
	uint16_t verb;
	admin_handler fn;
} handlers[] = {
	{ CAPF_IPC_PING, admin_ping },
	{ CAPF_IPC_DEVICE_ADD, admin_device_add },
	{ CAPF_IPC_DEVICE_SET, admin_device_set },
	{ CAPF_IPC_DEVICE_SHOW, admin_device_show },
	{ CAPF_IPC_DEVICE_REMOVE, admin_device_remove },
	{ CAPF_IPC_DEVICE_LIST, admin_device_list },
	{ CAPF_IPC_DEVICE_RESET_LOCKOUT, admin_device_reset_lockout },
	{ CAPF_IPC_BULK_BEGIN, admin_bulk_begin },
	{ CAPF_IPC_BULK_ADD, admin_bulk_add },
	{ CAPF_IPC_BULK_COMMIT, admin_bulk_commit },
	{ CAPF_IPC_BULK_ABORT, admin_bulk_abort },
	{ CAPF_IPC_REPORT, admin_report },
	{ CAPF_IPC_CAPF_SHOW, admin_capf_show },
	{ CAPF_IPC_CAPF_REGENERATE, admin_capf_regenerate },
	{ CAPF_IPC_CAPF_CSR, admin_capf_csr },
	{ CAPF_IPC_CAPF_IMPORT, admin_capf_import },
	{ CAPF_IPC_TLS_ISSUE, admin_tls_issue },
	{ CAPF_IPC_TRUST_EXPORT, admin_trust_export },
	{ CAPF_IPC_AUDIT_VERIFY, admin_audit_verify },
	{ CAPF_IPC_STATS, admin_stats },
	{ CAPF_IPC_BACKUP_BEGIN, admin_backup_begin },
	{ CAPF_IPC_BACKUP_READ, admin_backup_read },
	{ CAPF_IPC_BACKUP_END, admin_backup_end },
	{ CAPF_IPC_CAPF_ADOPT, admin_capf_adopt },
	{ CAPF_IPC_DEVICE_CERT, admin_device_cert },
	{ CAPF_IPC_DEVICE_HISTORY, admin_device_history },
	{ CAPF_IPC_AUDIT_ROWS, admin_audit_rows },
	{ CAPF_IPC_AUDIT_CHECKPOINTS, admin_audit_checkpoints },
};

/* Verbs that change nothing: no checkpoint is forced after them (every other
 * admin verb is followed by one when it appended audit rows). */
static int read_only_verb(uint16_t verb)
{
	static const uint16_t ro[] = {
		CAPF_IPC_PING,       CAPF_IPC_DEVICE_SHOW,       CAPF_IPC_DEVICE_LIST,  CAPF_IPC_REPORT,
		CAPF_IPC_CAPF_SHOW,  CAPF_IPC_TRUST_EXPORT,      CAPF_IPC_AUDIT_VERIFY, CAPF_IPC_STATS,
		CAPF_IPC_AUDIT_ROWS, CAPF_IPC_AUDIT_CHECKPOINTS, CAPF_IPC_BULK_BEGIN,   CAPF_IPC_BULK_ADD,
		CAPF_IPC_BULK_ABORT,
	};

	for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		if (ro[i] == verb)
			return 1;
	return 0;
}

void signerd_admin_closed(struct signerd *sd, const struct signerd_peer *peer)
{
	(void)sd;
	if (peer->role == CAPF_ROLE_ADMIN) {
		admin_bulk_conn_closed(peer->conn_id);
		admin_backup_conn_closed(peer->conn_id);
	}
}

int signerd_admin_dispatch(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
			   struct capf_ipc_builder *resp)
{
	struct admin_req a = { sd, peer, req, resp, signerd_actor(peer) };
	size_t i;

	if (peer->role != CAPF_ROLE_ADMIN) {
		/* the core routes by socket; never trust that alone */
		capf_log(LOG_ERR, "admin_refused", "verb=%s uid=%u reason=not_admin_socket",
			 capf_ipc_verb_name(req->verb), (unsigned)peer->uid);
		return -1;
	}
	a.who.role = "admin";
	for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (handlers[i].verb == req->verb) {
			char err[600];
			int rc = handlers[i].fn(&a);

			/* every admin change is signed before its answer leaves */
			if (!read_only_verb(req->verb))
				signerd_checkpoint(sd, 1, err, sizeof(err)); /* logged on failure */
			return rc;
		}
	capf_log(LOG_ERR, "admin_refused", "verb=%u uid=%u reason=unknown_verb", (unsigned)req->verb,
		 (unsigned)peer->uid);
	return -1;
}
