/* appliance/signerd/util.c: audit rows, peers as text, responses, counters. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "appliance/common/log.h"
#include "appliance/signerd/signerd_int.h"

struct capf_store_actor signerd_actor(const struct signerd_peer *peer)
{
	struct capf_store_actor a;

	a.uid = peer != NULL ? peer->uid : getuid();
	a.role = peer == NULL ? "signer" : peer->role == CAPF_ROLE_ADMIN ? "admin" : "front";
	return a;
}

const char *signerd_peer_str(const struct signerd_peer *peer, char *buf, size_t len)
{
	snprintf(buf, len, "uid:%u gid:%u pid:%ld", (unsigned)peer->uid, (unsigned)peer->gid, (long)peer->pid);
	return buf;
}

static int audit_v(struct signerd *sd, const struct signerd_peer *peer, int deferred, const char *action,
		   const char *subject, const char *fmt, va_list ap)
{
	struct capf_store_actor who = signerd_actor(peer);
	char detail[1024], err[256];
	int rc;

	vsnprintf(detail, sizeof(detail), fmt, ap);
	if (subject == NULL)
		subject = "";
	rc = deferred ? capf_store_audit_append_deferred(sd->store, &who, action, subject, detail, err,
							 sizeof(err)) :
			capf_store_audit_append(sd->store, &who, action, subject, detail, err, sizeof(err));
	if (rc != 0) {
		char q[300];

		capf_log(LOG_ERR, "audit_failed", "action=%s error=%s", action,
			 capf_log_quote(q, sizeof(q), err));
		return -1;
	}
	return 0;
}

int signerd_audit(struct signerd *sd, const struct signerd_peer *peer, const char *action, const char *subject,
		  const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = audit_v(sd, peer, 0, action, subject, fmt, ap);
	va_end(ap);
	return rc;
}

int signerd_audit_deferred(struct signerd *sd, const struct signerd_peer *peer, const char *action,
			   const char *subject, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = audit_v(sd, peer, 1, action, subject, fmt, ap);
	va_end(ap);
	return rc;
}

/* The store's writer thread: a deferred write (audit row, LSC state) failed. */
void signerd_store_deferred_error(const char *msg, void *ctx)
{
	char q[600];

	(void)ctx;
	capf_log(LOG_ERR, "store_failed", "what=deferred_write error=%s", capf_log_quote(q, sizeof(q), msg));
}

int signerd_reply(struct signerd *sd, struct capf_ipc_builder *resp, const struct capf_ipc_msg *req,
		  enum capf_ipc_status status, enum capf_fail_cause cause, const char *text)
{
	if (capf_ipc_build_response(resp, req, (uint8_t)status) != 0)
		return -1;
	switch (status) {
	case CAPF_IPC_REFUSED:
		capf_ipc_put_u8(resp, CAPF_IPC_T_CAUSE, (uint8_t)cause);
		break;
	case CAPF_IPC_RETRY_LATER:
		capf_ipc_put_u32(resp, CAPF_IPC_T_RETRY_DELAY, sd->conf.front.retry_delay);
		SIGNERD_STAT_INC(sd, retry_later);
		break;
	case CAPF_IPC_ERROR:
		if (text == NULL)
			text = "internal error";
		break;
	default:
		break;
	}
	if (text != NULL) {
		char t[1025];

		snprintf(t, sizeof(t), "%s", text);
		capf_ipc_put_str(resp, CAPF_IPC_T_TEXT, t);
	}
	return resp->error ? -1 : 0;
}

void signerd_stats_get(struct signerd *sd, struct signerd_stats *out)
{
	struct signerd_core *c = signerd_core(sd);

	out->connections = atomic_load(&c->st.connections);
	out->peers_refused = atomic_load(&c->st.peers_refused);
	out->requests = atomic_load(&c->st.requests);
	out->protocol_errors = atomic_load(&c->st.protocol_errors);
	out->begins = atomic_load(&c->st.begins);
	out->refusals = atomic_load(&c->st.refusals);
	out->issued = atomic_load(&c->st.issued);
	out->retry_later = atomic_load(&c->st.retry_later);
	out->sign_failures = atomic_load(&c->st.sign_failures);
	out->sessions_active = signerd_front_active(sd);
}
