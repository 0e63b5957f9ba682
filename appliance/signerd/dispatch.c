/*
 * appliance/signerd/dispatch.c: which code answers a decoded request, and
 * which is told when a connection closes. The codec already refused verbs the
 * socket's role may not use. Built with
 * -DSIGNERD_HAVE_ADMIN=1 when appliance/signerd/admin*.c exist (module.mk).
 */
#include "appliance/signerd/signerd_int.h"

#ifndef SIGNERD_HAVE_ADMIN
#define SIGNERD_HAVE_ADMIN 0
#endif

int signerd_dispatch(struct signerd *sd, const struct signerd_peer *peer,
		     const struct capf_ipc_msg *req, struct capf_ipc_builder *resp)
{
	if (req->verb == CAPF_IPC_PING) {
		struct signerd_token_state ts;
		char t[512];

		if (signerd_reply(sd, resp, req, CAPF_IPC_OK, 0, NULL) != 0)
			return -1;
		capf_ipc_put_str(resp, CAPF_IPC_T_TEXT, "capf-signerd");
		signerd_token_state_get(sd, &ts);
		capf_ipc_put_u8(resp, CAPF_IPC_T_TOKEN_UP, ts.down ? 0 : 1);
		capf_ipc_put_str(resp, CAPF_IPC_T_TOKEN_STATE, signerd_token_state_text(sd, t, sizeof(t)));
		return 0;
	}
	if (peer->role == CAPF_ROLE_FRONT)
		return signerd_front_dispatch(sd, peer, req, resp);
#if SIGNERD_HAVE_ADMIN
	return signerd_admin_dispatch(sd, peer, req, resp);
#else
	return signerd_reply(sd, resp, req, CAPF_IPC_ERROR, 0, "admin verbs not built");
#endif
}

void signerd_conn_closed(struct signerd *sd, const struct signerd_peer *peer)
{
#if SIGNERD_HAVE_ADMIN
	if (peer->role == CAPF_ROLE_ADMIN)
		signerd_admin_closed(sd, peer);
#else
	(void)sd;
	(void)peer;
#endif
}
