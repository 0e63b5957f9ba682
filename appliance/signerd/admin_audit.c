/*
 * appliance/signerd/admin_audit.c: AUDIT_VERIFY (the store's hash chain) and
 * STATS (the daemon's counters).
 */
#include <stdint.h>
#include <stdio.h>

#include "appliance/common/log.h"
#include "appliance/signerd/admin.h"

/* ---- AUDIT_VERIFY, STATS ---------------------------------------------------------- */

int
admin_audit_verify(struct admin_req *a)
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
		capf_log(LOG_CRIT, "audit_broken", "row=%lld uid=%u", (long long)bad,
			 (unsigned)a->peer->uid);
	}
	return 0;
}

int
admin_stats(struct admin_req *a)
{
	struct signerd_stats s;
	const char *names[] = {
		"connections", "peers_refused", "requests", "protocol_errors", "begins",
		"refusals", "issued", "retry_later", "sign_failures", "sessions_active",
		"bulk_staged", "token_up", "token_down_ms", "token_outages", "token_recoveries",
		"token_retry_later", "token_last_outage_ms",
	};
	struct signerd_token_state ts;
	uint64_t v[17];
	size_t i;

	signerd_stats_get(a->sd, &s);
	v[0] = s.connections; v[1] = s.peers_refused; v[2] = s.requests;
	v[3] = s.protocol_errors; v[4] = s.begins; v[5] = s.refusals; v[6] = s.issued;
	v[7] = s.retry_later; v[8] = s.sign_failures; v[9] = s.sessions_active;
	v[10] = admin_bulk_staged();
	signerd_token_state_get(a->sd, &ts);
	v[11] = !ts.down; v[12] = ts.down_ms; v[13] = ts.outages; v[14] = ts.recoveries;
	v[15] = ts.begin_retry_later; v[16] = ts.last_outage_ms;
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
