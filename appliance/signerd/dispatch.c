/*
 * appliance/signerd/dispatch.c: which code answers a decoded request, and
 * which is told when a connection closes. One table for both roles: each verb
 * with the roles that may send it and the session state it needs (front.c
 * checks the state: a CAPF session id this signer handed to the peer for
 * BEGIN, the peer's own enrollment session for ISSUE and RESULT). A request
 * outside its state closes the connection and is logged (event=out_of_state),
 * as OpenSSH's monitor treats a request its state does not permit. The codec
 * already refused verbs the socket's role may not use; the table checks the
 * role again. Admin verbs go to admin.c's own table (one row here).
 */
#include <stdio.h>

#include "appliance/common/log.h"
#include "appliance/signerd/signerd_int.h"

typedef int (*verb_fn)(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
		       struct capf_ipc_builder *resp);

static int do_ping(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
		   struct capf_ipc_builder *resp)
{
	struct signerd_token_state ts;
	char t[512];

	(void)peer;
	if (signerd_reply(sd, resp, req, CAPF_IPC_OK, 0, NULL) != 0)
		return -1;
	capf_ipc_put_str(resp, CAPF_IPC_T_TEXT, "capf-signerd");
	signerd_token_state_get(sd, &ts);
	capf_ipc_put_u8(resp, CAPF_IPC_T_TOKEN_UP, ts.down ? 0 : 1);
	capf_ipc_put_str(resp, CAPF_IPC_T_TOKEN_STATE, signerd_token_state_text(sd, t, sizeof(t)));
	return 0;
}

static int do_admin(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
		    struct capf_ipc_builder *resp)
{
	return signerd_admin_dispatch(sd, peer, req, resp);
}

#define F CAPF_IPC_ROLE_FRONT
#define A CAPF_IPC_ROLE_ADMIN
#define ANY_ADMIN_VERB 0 /* the row for every admin verb (admin.c's table) */

static const struct {
	uint16_t verb;
	unsigned roles;
	enum signerd_need need;
	verb_fn fn;
} table[] = {
	{ CAPF_IPC_PING, F | A, SIGNERD_NEED_NOTHING, do_ping },
	{ CAPF_IPC_SESSION_ID, F, SIGNERD_NEED_NOTHING, signerd_front_session_id },
	{ CAPF_IPC_BEGIN, F, SIGNERD_NEED_SESSION_ID, signerd_front_begin },
	{ CAPF_IPC_ISSUE, F, SIGNERD_NEED_INSTALL_SESSION, signerd_front_issue },
	{ CAPF_IPC_RESULT, F, SIGNERD_NEED_SESSION, signerd_front_result },
	/* idempotent: the front aborts sessions the signer may have ended already */
	{ CAPF_IPC_ABORT, F, SIGNERD_NEED_NOTHING, signerd_front_abort },
	{ ANY_ADMIN_VERB, A, SIGNERD_NEED_NOTHING, do_admin },
};

static const char *need_name(enum signerd_need n)
{
	switch (n) {
	case SIGNERD_NEED_SESSION_ID:
		return "session_id";
	case SIGNERD_NEED_SESSION:
		return "session";
	case SIGNERD_NEED_INSTALL_SESSION:
		return "install_session";
	default:
		return "nothing";
	}
}

int signerd_dispatch(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
		     struct capf_ipc_builder *resp)
{
	unsigned role = peer->role == CAPF_ROLE_ADMIN ? A : F;
	char why[200], q[300];

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (!(table[i].roles & role) || (table[i].verb != req->verb && table[i].verb != ANY_ADMIN_VERB))
			continue;
		if (signerd_front_state_ok(sd, peer, req, table[i].need, why, sizeof(why)) != 0) {
			SIGNERD_STAT_INC(sd, protocol_errors);
			capf_log(LOG_WARNING, "out_of_state", "uid=%u pid=%ld role=%s verb=%s needs=%s why=%s",
				 (unsigned)peer->uid, (long)peer->pid, role == A ? "admin" : "front",
				 capf_ipc_verb_name(req->verb), need_name(table[i].need),
				 capf_log_quote(q, sizeof(q), why));
			return -1; /* the connection is closed */
		}
		return table[i].fn(sd, peer, req, resp);
	}
	SIGNERD_STAT_INC(sd, protocol_errors);
	capf_log(LOG_WARNING, "out_of_state", "uid=%u pid=%ld role=%s verb=%s needs=- why=\"not in the table\"",
		 (unsigned)peer->uid, (long)peer->pid, role == A ? "admin" : "front",
		 capf_ipc_verb_name(req->verb));
	return -1;
}

void signerd_conn_closed(struct signerd *sd, const struct signerd_peer *peer)
{
	if (peer->role == CAPF_ROLE_ADMIN)
		signerd_admin_closed(sd, peer);
}
