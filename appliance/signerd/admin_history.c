/*
 * appliance/signerd/admin_history.c: DEVICE_CERT (the certificate a phone last
 * returned to Troubleshoot, with the signer's verdict, or the device's current
 * LSC) and DEVICE_HISTORY (every issuance, delivery, fetch, delete, refusal and
 * settings change of a device, from the audit rows that name it). Both work for
 * a removed device too: its history stays.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "appliance/signerd/admin.h"
#include "policy/device.h"

#define HISTORY_PAGE 200    /* EVENTs per response, at most */
#define HISTORY_BYTES 56000 /* stop filling a response here (64 KiB messages) */

static int get_device_name(struct admin_req *a, char *name, size_t len)
{
	if (capf_ipc_get_str(a->req, CAPF_IPC_T_DEVICE_NAME, name, len) != 0 || name[0] == '\0')
		return admin_refuse(a, "a device name is required"), -1;
	admin_name_upcase(name);
	return 0;
}

/* ---- DEVICE_CERT -------------------------------------------------------------- */

static int cert_fetched(struct admin_req *a, const char *name)
{
	struct capf_store_fetched f;
	char err[512], outcome[CAPF_STORE_REASON_MAX + 16];
	int rc;

	if ((rc = capf_store_fetched_latest(a->sd->store, name, &f, err, sizeof(err))) != 0) {
		if (rc == CAPF_STORE_NOTFOUND)
			return admin_refuse(a,
					    "%s: no certificate was fetched from this device (schedule "
					    "Troubleshoot: capfctl device set %s --op fetch)",
					    name, name);
		return admin_store_fail(a, rc, err);
	}
	snprintf(outcome, sizeof(outcome), "%s: %s", f.accepted ? "accepted" : "refused", f.reason);
	if (admin_ok(a) == 0) {
		capf_ipc_put_bytes(a->resp, CAPF_IPC_T_CERT, f.der, f.der_len);
		capf_ipc_put_i64(a->resp, CAPF_IPC_T_EVENT_TIME, (int64_t)f.fetched_at);
		capf_ipc_put_str(a->resp, CAPF_IPC_T_EVENT_OUTCOME, outcome);
		if (f.serial[0])
			capf_ipc_put_str(a->resp, CAPF_IPC_T_LSC_SERIAL, f.serial);
		if (f.issuer_fp[0])
			capf_ipc_put_str(a->resp, CAPF_IPC_T_LSC_ISSUER, f.issuer_fp);
		capf_ipc_put_str(a->resp, CAPF_IPC_T_ISSUER_NAME, f.issuer);
	}
	capf_store_fetched_clear(&f);
	return 0;
}

static int cert_lsc(struct admin_req *a, const char *name)
{
	struct capf_store_issuance is;
	char err[512];
	int rc;

	memset(&is, 0, sizeof(is));
	rc = capf_store_issuance_latest_for_device(a->sd->store, name, &is, err, sizeof(err));
	if (rc == 0 && is.state != CAPF_ISS_ISSUED && is.state != CAPF_ISS_DELIVERED)
		rc = CAPF_STORE_NOTFOUND;
	if (rc != 0) {
		capf_store_issuance_clear(&is);
		if (rc == CAPF_STORE_NOTFOUND)
			return admin_refuse(a, "%s: no current LSC", name);
		return admin_store_fail(a, rc, err);
	}
	if (admin_ok(a) == 0) {
		capf_ipc_put_bytes(a->resp, CAPF_IPC_T_CERT, is.der, is.der_len);
		capf_ipc_put_i64(a->resp, CAPF_IPC_T_EVENT_TIME, (int64_t)is.issued_at);
		capf_ipc_put_str(a->resp, CAPF_IPC_T_EVENT_OUTCOME, capf_store_issuance_state_name(is.state));
		capf_ipc_put_str(a->resp, CAPF_IPC_T_LSC_SERIAL, is.serial);
		capf_ipc_put_str(a->resp, CAPF_IPC_T_LSC_ISSUER, is.issuer_fp);
	}
	capf_store_issuance_clear(&is);
	return 0;
}

int admin_device_cert(struct admin_req *a)
{
	char name[CAPF_DEVICE_NAME_MAX + 1];
	uint8_t kind = CAPF_IPC_CERT_FETCHED;

	if (get_device_name(a, name, sizeof(name)) != 0)
		return 0;
	capf_ipc_get_u8(a->req, CAPF_IPC_T_CERT_KIND, &kind);
	return kind == CAPF_IPC_CERT_LSC ? cert_lsc(a, name) : cert_fetched(a, name);
}

/* ---- DEVICE_HISTORY ------------------------------------------------------------- */

/* The value of key in an audit detail "k1=v1 k2=v2 ...": up to " next=" of the
 * keys that can follow it (values may hold spaces), or the end. "" when absent. */
static const char *detail_get(const char *detail, const char *key, const char *const *next, char *buf,
			      size_t len)
{
	size_t kl = strlen(key), vl;
	const char *p = detail, *v = NULL, *end;

	buf[0] = '\0';
	while ((p = strstr(p, key)) != NULL) {
		if ((p == detail || p[-1] == ' ') && p[kl] == '=') {
			v = p + kl + 1;
			break;
		}
		p += kl;
	}
	if (v == NULL)
		return buf;
	end = v + strlen(v);
	for (; next != NULL && *next != NULL; next++) {
		char pat[40];
		const char *e;

		snprintf(pat, sizeof(pat), " %s=", *next);
		if ((e = strstr(v, pat)) != NULL && e < end)
			end = e;
	}
	vl = (size_t)(end - v);
	if (vl >= len)
		vl = len - 1;
	memcpy(buf, v, vl);
	buf[vl] = '\0';
	return buf;
}

struct hist {
	struct admin_req *a;
	unsigned n;
	int full;
	int64_t last_id;
	struct {
		char serial[CAPF_STORE_SERIAL_HEX_MAX + 1], issuer[CAPF_STORE_FP_HEX_LEN + 1];
	} seen[32];
	unsigned nseen;
};

static const char *issuer_of(const struct hist *h, const char *serial)
{
	for (unsigned i = 0; i < h->nseen && i < 32; i++)
		if (strcmp(h->seen[i].serial, serial) == 0)
			return h->seen[i].issuer;
	return "";
}

static const char *const status_names[] = {
	"none", "pending", "upgrade-success", "delete-success", "troubleshoot-success", "failed",
};

/* "status=failed status_op=fetch cause=1" -> "Troubleshoot Failed: Invalid LSC"; kind
 * "refused" for a refusal of the phone's credentials or timing, "failed" for other
 * failures, "status" otherwise. */
static const char *status_event(const char *detail, char *out, size_t len)
{
	static const char *const keys[] = { "status", "status_op", "cause", "operation", NULL };
	struct capf_device d;
	char v[64];
	int op;

	memset(&d, 0, sizeof(d));
	detail_get(detail, "status", keys, v, sizeof(v));
	for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (strcmp(v, status_names[i]) == 0)
			d.status = (enum capf_status)i;
	detail_get(detail, "status_op", keys, v, sizeof(v));
	if ((op = capf_operation_parse(v)) >= 0)
		d.status_op = (enum capf_operation)op;
	d.op = d.status == CAPF_ST_PENDING ? d.status_op : CAPF_OP_NONE;
	detail_get(detail, "cause", keys, v, sizeof(v));
	d.cause = (enum capf_fail_cause)atoi(v);
	if ((unsigned)d.cause > CAPF_FAIL_CA_REJECTED)
		d.cause = CAPF_FAIL_NONE;
	capf_status_cisco(&d, out, len);
	if (d.status != CAPF_ST_FAILED)
		return "status";
	switch (d.cause) {
	case CAPF_FAIL_INVALID_AUTH_STRING:
	case CAPF_FAIL_INVALID_MIC:
	case CAPF_FAIL_INVALID_CREDENTIALS:
	case CAPF_FAIL_LATE:
	case CAPF_FAIL_CA_REJECTED:
		return "refused";
	case CAPF_FAIL_INVALID_LSC:
		return d.status_op == CAPF_OP_INSTALL ? "refused" : "failed";
	default:
		return "failed";
	}
}

static int history_cb(const struct capf_store_audit_row *r, void *arg)
{
	static const char *const fetch_keys[] = { "serial", "issuer_fp", "fp", "outcome",
						  "issuer", "reason",    NULL };
	static const char *const issue_keys[] = { "serial", "issuer", "spki", "not_after", "peer", NULL };
	static const char *const state_keys[] = { "serial", "state", NULL };
	struct hist *h = arg;
	struct capf_ipc_builder *b = h->a->resp;
	char serial[CAPF_STORE_SERIAL_HEX_MAX + 1] = "", issuer[1100] = "", outcome[1100] = "";
	char issuer_name[1100] = "";
	char v[600];
	const char *kind, *action = r->action ? r->action : "", *detail = r->detail ? r->detail : "";

	if (b->len > HISTORY_BYTES) {
		h->full = 1; /* the rest on the next page */
		return 1;
	}

	if (strcmp(action, "lsc.issue") == 0) {
		kind = "issued";
		detail_get(detail, "serial", issue_keys, serial, sizeof(serial));
		detail_get(detail, "issuer", issue_keys, issuer, sizeof(issuer));
		detail_get(detail, "not_after", issue_keys, v, sizeof(v));
		{
			time_t na = (time_t)strtoll(v, NULL, 10);
			struct tm tm;
			char t[40] = "?";

			if (na > 0 && gmtime_r(&na, &tm) != NULL)
				strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
			snprintf(outcome, sizeof(outcome), "issued (not after %s)", t);
		}
		if (h->nseen < 32) {
			snprintf(h->seen[h->nseen].serial, sizeof(h->seen[0].serial), "%s", serial);
			snprintf(h->seen[h->nseen].issuer, sizeof(h->seen[0].issuer), "%.64s", issuer);
			h->nseen++;
		}
	} else if (strcmp(action, "lsc.state") == 0) {
		detail_get(detail, "serial", state_keys, serial, sizeof(serial));
		detail_get(detail, "state", state_keys, v, sizeof(v));
		kind = strcmp(v, "deleted") == 0   ? "deleted" :
		       strcmp(v, "delivered") == 0 ? "delivered" :
						     "superseded";
		snprintf(issuer, sizeof(issuer), "%s", issuer_of(h, serial));
		snprintf(outcome, sizeof(outcome), "LSC %s", v);
	} else if (strcmp(action, "lsc.fetch") == 0 || strcmp(action, "fetched") == 0) {
		kind = "fetched";
		detail_get(detail, "serial", fetch_keys, serial, sizeof(serial));
		if (strcmp(serial, "-") == 0)
			serial[0] = '\0';
		detail_get(detail, "issuer_fp", fetch_keys, issuer, sizeof(issuer));
		if (strcmp(issuer, "-") == 0)
			issuer[0] = '\0';
		detail_get(detail, "issuer", fetch_keys, issuer_name, sizeof(issuer_name));
		if (strcmp(issuer_name, "-") == 0)
			issuer_name[0] = '\0';
		detail_get(detail, "outcome", fetch_keys, v, sizeof(v));
		detail_get(detail, "reason", fetch_keys, outcome, sizeof(outcome));
		if (v[0]) {
			char o[sizeof(outcome)];

			snprintf(o, sizeof(o), "%s", outcome);
			snprintf(outcome, sizeof(outcome), "%.32s: %.1000s", v, o);
		}
	} else if (strcmp(action, "device.status") == 0) {
		kind = status_event(detail, outcome, sizeof(outcome));
	} else if (strcmp(action, "device.auth-failed") == 0) {
		kind = "refused";
		detail_get(detail, "failed_attempts", NULL, v, sizeof(v));
		snprintf(outcome, sizeof(outcome), "authentication failed (failed attempts: %s)", v);
	} else if (strcmp(action, "device.add") == 0) {
		kind = "added";
		snprintf(outcome, sizeof(outcome), "%s", detail);
	} else if (strcmp(action, "device.update") == 0) {
		kind = "changed";
		snprintf(outcome, sizeof(outcome), "%s", detail);
	} else if (strcmp(action, "device.delete") == 0) {
		kind = "removed";
	} else if (strcmp(action, "device.reset-lockout") == 0) {
		kind = "lockout-reset";
	} else {
		kind = "other";
		snprintf(outcome, sizeof(outcome), "%s %s", action, detail);
	}
	if (strlen(outcome) > 1024)
		outcome[1024] = '\0';
	if (strlen(issuer) > 1024)
		issuer[1024] = '\0';
	if (strlen(issuer_name) > 1024)
		issuer_name[1024] = '\0';
	capf_ipc_nest_begin(b, CAPF_IPC_T_EVENT);
	capf_ipc_put_i64(b, CAPF_IPC_T_EVENT_TIME, (int64_t)r->time);
	capf_ipc_put_str(b, CAPF_IPC_T_EVENT_KIND, kind);
	if (serial[0])
		capf_ipc_put_str(b, CAPF_IPC_T_LSC_SERIAL, serial);
	if (issuer[0])
		capf_ipc_put_str(b, CAPF_IPC_T_LSC_ISSUER, issuer);
	if (issuer_name[0])
		capf_ipc_put_str(b, CAPF_IPC_T_ISSUER_NAME, issuer_name);
	if (outcome[0])
		capf_ipc_put_str(b, CAPF_IPC_T_EVENT_OUTCOME, outcome);
	snprintf(v, sizeof(v), "uid %u (%s)", (unsigned)r->uid, r->role ? r->role : "?");
	capf_ipc_put_str(b, CAPF_IPC_T_TEXT, v);
	capf_ipc_nest_end(b);
	h->n++;
	h->last_id = r->id;
	return 0;
}

int admin_device_history(struct admin_req *a)
{
	char name[CAPF_DEVICE_NAME_MAX + 1], err[512];
	struct hist h;
	const uint8_t *cur;
	size_t clen;
	int64_t after = 0;
	int rc;

	if (get_device_name(a, name, sizeof(name)) != 0)
		return 0;
	if (capf_ipc_get_bytes(a->req, CAPF_IPC_T_CURSOR, &cur, &clen) == 0) {
		if (clen != 8)
			return admin_refuse(a, "bad cursor");
		for (size_t i = 0; i < 8; i++)
			after = (int64_t)(((uint64_t)after << 8) | cur[i]);
	}
	memset(&h, 0, sizeof(h));
	h.a = a;
	if (admin_ok(a) != 0)
		return -1;
	rc = capf_store_audit_for_subject(a->sd->store, name, after, HISTORY_PAGE, history_cb, &h, err,
					  sizeof(err));
	if (rc != 0) {
		capf_ipc_builder_free(a->resp);
		memset(a->resp, 0, sizeof(*a->resp));
		return admin_store_fail(a, rc, err);
	}
	if (h.n > 0 && (h.full || h.n == HISTORY_PAGE)) {
		uint8_t c[8];

		for (size_t i = 0; i < 8; i++)
			c[i] = (uint8_t)((uint64_t)h.last_id >> (56 - 8 * i));
		capf_ipc_put_bytes(a->resp, CAPF_IPC_T_CURSOR, c, sizeof(c));
	}
	return 0;
}
