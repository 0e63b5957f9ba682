/*
 * appliance/signerd/admin_devices.c: DEVICE_ADD/SET/SHOW/REMOVE/LIST/
 * RESET_LOCKOUT and REPORT. Settings are validated with the policy
 * (policy/names.h, policy/schedule.h) before the store sees them; the store
 * appends the audit row (uid, role admin) in the same transaction as the
 * change. Authentication strings are checked, hashed (scrypt) and wiped at
 * once; no response carries one or its hash.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "appliance/common/log.h"
#include "appliance/common/x509.h"
#include "appliance/signerd/admin.h"
#include "policy/decide.h"
#include "policy/names.h"
#include "policy/schedule.h"

/* Device names are case-insensitive for people: normalised to upper case on input
 * (names and name patterns), as the policy's SEP names are. */
void admin_name_upcase(char *s)
{
	for (; *s; s++)
		*s = (char)toupper((unsigned char)*s);
}

/* ---- parsing and merging --------------------------------------------------- */

int admin_devreq_parse(struct signerd *sd, const struct capf_ipc_field *f, struct admin_devreq *r, char *err,
		       size_t errlen)
{
	struct capf_ipc_msg m;
	char s[CAPF_AUTHHASH_SECRET_MAX + 1], e[256];
	uint8_t v8;
	uint32_t v32;
	int64_t v64;
	int rc = -1, src;

	memset(r, 0, sizeof(*r));
	r->op = r->auth = r->key_order = r->curve = -1;
	r->rsa_bits = -1;
	if (capf_ipc_decode_nested(f, &m, e, sizeof(e)) != 0) {
		snprintf(err, errlen, "malformed device record: %s", e);
		return -1;
	}
	if (capf_ipc_get_str(&m, CAPF_IPC_T_DEVICE_NAME, r->name, sizeof(r->name)) != 0 || r->name[0] == '\0') {
		snprintf(err, errlen, "a device name is required");
		goto out;
	}
	if (strcasecmp(r->name, ADMIN_TLS_DEVICE) != 0)
		admin_name_upcase(r->name);
	if (capf_ipc_get_u8(&m, CAPF_IPC_T_OPERATION, &v8) == 0)
		r->op = v8;
	if (capf_ipc_get_u8(&m, CAPF_IPC_T_AUTH_MODE, &v8) == 0)
		r->auth = v8;
	if (capf_ipc_get_u8(&m, CAPF_IPC_T_KEY_ORDER, &v8) == 0)
		r->key_order = v8;
	if (capf_ipc_get_u8(&m, CAPF_IPC_T_CURVE, &v8) == 0)
		r->curve = v8;
	if (capf_ipc_get_u32(&m, CAPF_IPC_T_RSA_BITS, &v32) == 0)
		r->rsa_bits = v32;
	if (capf_ipc_get_i64(&m, CAPF_IPC_T_DEADLINE, &v64) == 0) {
		r->has_deadline = 1;
		r->deadline = (time_t)v64;
	}
	if (capf_ipc_find(&m, CAPF_IPC_T_DEV_STATUS, NULL) || capf_ipc_find(&m, CAPF_IPC_T_STATUS_OP, NULL) ||
	    capf_ipc_find(&m, CAPF_IPC_T_FAILED_ATTEMPTS, NULL) ||
	    capf_ipc_find(&m, CAPF_IPC_T_LAST_SEEN, NULL) || capf_ipc_find(&m, CAPF_IPC_T_LSC_SERIAL, NULL)) {
		snprintf(err, errlen, "%s: status, counters and LSC fields are the daemon's, not settable",
			 r->name);
		goto out;
	}
	src = capf_ipc_get_str(&m, CAPF_IPC_T_AUTH_STRING, s, sizeof(s));
	if (src == 0) {
		if (capf_auth_string_check(&sd->conf, s, e, sizeof(e)) != 0) {
			snprintf(err, errlen, "%s: authentication string refused: %s", r->name, e);
			goto out;
		}
		if ((signerd_auth_mac(sd) != NULL ?
			     capf_authhash_make_mac(&r->hash, s, strlen(s), signerd_auth_mac(sd), e,
						    sizeof(e)) :
			     capf_authhash_make(&r->hash, s, strlen(s), NULL, e, sizeof(e))) != 0) {
			snprintf(err, errlen, "%s: cannot hash the authentication string: %s", r->name, e);
			goto out;
		}
		r->has_auth_string = 1;
	} else if (src == -2) {
		snprintf(err, errlen, "%s: authentication string too long", r->name);
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(s, sizeof(s));
	capf_ipc_msg_free(&m);
	return rc;
}

int admin_devreq_apply(struct signerd *sd, const struct admin_devreq *r,
		       const struct capf_store_device *existing, time_t now, struct capf_store_device *out,
		       unsigned *put_flags, char *err, size_t errlen)
{
	struct capf_device_change chg = {
		.op = r->op,
		.auth = r->auth,
		.key_order = r->key_order,
		.curve = r->curve,
		.rsa_bits = r->rsa_bits,
		.has_deadline = r->has_deadline,
		.deadline = r->deadline,
		.has_auth_string = r->has_auth_string != 0,
	};
	enum capf_auth_string_use use;

	if (strcmp(r->name, ADMIN_TLS_DEVICE) == 0) {
		snprintf(err, errlen, "%s: reserved for the CAPF TLS certificate's records", r->name);
		return -1;
	}
	if (existing)
		*out = *existing;
	else
		memset(out, 0, sizeof(*out));
	*put_flags = existing ? CAPF_STORE_PUT_EXISTING : CAPF_STORE_PUT_NEW;
	if (capf_device_merge(&sd->conf, r->name, &chg, existing ? &existing->dev : NULL,
			      existing && existing->has_auth, now, &out->dev, &use, err, errlen) != 0)
		return -1;
	switch (use) {
	case CAPF_AUTHSTR_NEW:
		out->has_auth = 1;
		out->auth = r->hash;
		break;
	case CAPF_AUTHSTR_KEEP:
		*put_flags |= CAPF_STORE_PUT_KEEP_AUTH;
		break;
	case CAPF_AUTHSTR_CLEAR:
		out->has_auth = 0;
		memset(&out->auth, 0, sizeof(out->auth));
		break;
	}
	return 0;
}

/* ---- responses ------------------------------------------------------------ */

/* DEV_FLAGS of d: a pending operation past its deadline, a lockout, no LSC. */
static uint8_t device_flags(const struct signerd *sd, const struct capf_device *d, int has_lsc, time_t now)
{
	uint8_t f = 0;

	if (!has_lsc)
		f |= CAPF_IPC_DEVF_NO_LSC;
	if (d->op != CAPF_OP_NONE && d->deadline != 0 && d->deadline <= now)
		f |= CAPF_IPC_DEVF_DEADLINE_PASSED;
	if (d->failed_attempts > 0 && capf_locked_out(&sd->conf, d))
		f |= CAPF_IPC_DEVF_LOCKED_OUT;
	return f;
}

static void put_device_fields(struct capf_ipc_builder *b, const struct capf_device *d)
{
	capf_ipc_put_str(b, CAPF_IPC_T_DEVICE_NAME, d->name);
	capf_ipc_put_u8(b, CAPF_IPC_T_OPERATION, (uint8_t)d->op);
	capf_ipc_put_u8(b, CAPF_IPC_T_AUTH_MODE, (uint8_t)d->auth);
	capf_ipc_put_u8(b, CAPF_IPC_T_KEY_ORDER, (uint8_t)d->key_order);
	capf_ipc_put_u32(b, CAPF_IPC_T_RSA_BITS, d->rsa_bits);
	capf_ipc_put_u8(b, CAPF_IPC_T_CURVE, (uint8_t)d->curve);
	if (d->op != CAPF_OP_NONE)
		capf_ipc_put_i64(b, CAPF_IPC_T_DEADLINE, (int64_t)d->deadline);
	capf_ipc_put_u8(b, CAPF_IPC_T_DEV_STATUS, (uint8_t)d->status);
	capf_ipc_put_u8(b, CAPF_IPC_T_STATUS_OP, (uint8_t)d->status_op);
	capf_ipc_put_u8(b, CAPF_IPC_T_CAUSE, (uint8_t)d->cause);
	capf_ipc_put_u32(b, CAPF_IPC_T_FAILED_ATTEMPTS, d->failed_attempts);
	if (d->last_seen)
		capf_ipc_put_i64(b, CAPF_IPC_T_LAST_SEEN, (int64_t)d->last_seen);
}

/* The DEVICE record of name with its current LSC. */
static int put_device_by_name(struct admin_req *a, const char *name)
{
	struct capf_store_device d;
	struct capf_store_issuance is;
	char err[512];
	time_t now = time(NULL);
	int rc, has_lsc;

	memset(&d, 0, sizeof(d));
	if ((rc = capf_store_device_get(a->sd->store, name, &d, err, sizeof(err))) != 0) {
		if (rc == CAPF_STORE_NOTFOUND)
			return admin_refuse(a, "%s: no such device", name);
		return admin_store_fail(a, rc, err);
	}
	memset(&is, 0, sizeof(is));
	rc = capf_store_issuance_latest_for_device(a->sd->store, name, &is, err, sizeof(err));
	if (admin_ok(a) != 0) {
		capf_store_issuance_clear(&is);
		OPENSSL_cleanse(&d, sizeof(d));
		return -1;
	}
	has_lsc = rc == 0 && (is.state == CAPF_ISS_ISSUED || is.state == CAPF_ISS_DELIVERED);
	capf_ipc_nest_begin(a->resp, CAPF_IPC_T_DEVICE);
	put_device_fields(a->resp, &d.dev);
	capf_ipc_put_u8(a->resp, CAPF_IPC_T_DEV_FLAGS, device_flags(a->sd, &d.dev, has_lsc, now));
	if (has_lsc) {
		capf_ipc_put_str(a->resp, CAPF_IPC_T_LSC_SERIAL, is.serial);
		capf_ipc_put_str(a->resp, CAPF_IPC_T_LSC_ISSUER, is.issuer_fp);
		capf_ipc_put_i64(a->resp, CAPF_IPC_T_LSC_NOT_AFTER, (int64_t)is.not_after);
		capf_ipc_put_i64(a->resp, CAPF_IPC_T_LSC_DAYS_LEFT, (int64_t)capf_days_left(is.not_after, now));
	}
	{
		/* the verdict on the certificate the phone last returned to Troubleshoot */
		struct capf_store_fetched f;
		char o[CAPF_STORE_REASON_MAX + 16];

		if (capf_store_fetched_latest(a->sd->store, name, &f, err, sizeof(err)) == 0) {
			snprintf(o, sizeof(o), "%s: %s", f.accepted ? "accepted" : "refused", f.reason);
			capf_ipc_put_i64(a->resp, CAPF_IPC_T_EVENT_TIME, (int64_t)f.fetched_at);
			capf_ipc_put_str(a->resp, CAPF_IPC_T_EVENT_OUTCOME, o);
		}
		capf_store_fetched_clear(&f);
	}
	capf_ipc_nest_end(a->resp);
	capf_store_issuance_clear(&is);
	OPENSSL_cleanse(&d, sizeof(d));
	return 0;
}

static int get_name(struct admin_req *a, char *name, size_t len)
{
	if (capf_ipc_get_str(a->req, CAPF_IPC_T_DEVICE_NAME, name, len) != 0 || name[0] == '\0')
		return admin_refuse(a, "a device name is required"), -1;
	if (strcasecmp(name, ADMIN_TLS_DEVICE) != 0)
		admin_name_upcase(name);
	if (strcmp(name, ADMIN_TLS_DEVICE) == 0)
		return admin_refuse(a, "%s: no such device (the name is reserved)", name), -1;
	return 0;
}

/* ---- ADD / SET ------------------------------------------------------------- */

static int device_put(struct admin_req *a, int add)
{
	const struct capf_ipc_field *f = capf_ipc_find(a->req, CAPF_IPC_T_DEVICE, NULL);
	struct capf_store_device cur, out;
	struct admin_devreq r;
	char err[768];
	unsigned flags;
	time_t now = time(NULL);
	int rc, have = 0;

	if (f == NULL)
		return admin_refuse(a, "a device record is required");
	if (admin_devreq_parse(a->sd, f, &r, err, sizeof(err)) != 0)
		return admin_refuse(a, "%s", err);
	memset(&cur, 0, sizeof(cur));
	if (!add) {
		if (strcmp(r.name, ADMIN_TLS_DEVICE) != 0 &&
		    (rc = capf_store_device_get(a->sd->store, r.name, &cur, err, sizeof(err))) != 0) {
			char name[sizeof(r.name)];

			memcpy(name, r.name, sizeof(name));
			OPENSSL_cleanse(&r, sizeof(r));
			if (rc == CAPF_STORE_NOTFOUND)
				return admin_refuse(a,
						    "%s: no such device (add it with `capfctl device "
						    "add`)",
						    name);
			return admin_store_fail(a, rc, err);
		}
		have = 1;
	}
	rc = admin_devreq_apply(a->sd, &r, have ? &cur : NULL, now, &out, &flags, err, sizeof(err));
	OPENSSL_cleanse(&r, sizeof(r));
	OPENSSL_cleanse(&cur, sizeof(cur));
	if (rc != 0)
		return admin_refuse(a, "%s", err);
	rc = capf_store_device_put(a->sd->store, &out, flags, &a->who, err, sizeof(err));
	OPENSSL_cleanse(&out.auth, sizeof(out.auth));
	if (rc != 0) {
		if (rc == CAPF_STORE_EXISTS)
			return admin_refuse(a,
					    "%s: the device exists already (change it with "
					    "`capfctl device set`)",
					    out.dev.name);
		return admin_store_fail(a, rc, err);
	}
	capf_log(LOG_NOTICE, add ? "device_added" : "device_changed", "device=%s op=%s auth=%s uid=%u",
		 out.dev.name, capf_operation_name(out.dev.op), capf_auth_mode_name(out.dev.auth),
		 (unsigned)a->peer->uid);
	signerd_front_device_changed(a->sd, out.dev.name);
	return put_device_by_name(a, out.dev.name);
}

int admin_device_add(struct admin_req *a)
{
	return device_put(a, 1);
}

int admin_device_set(struct admin_req *a)
{
	return device_put(a, 0);
}

int admin_device_show(struct admin_req *a)
{
	char name[CAPF_DEVICE_NAME_MAX + 1];

	if (get_name(a, name, sizeof(name)) != 0)
		return 0;
	return put_device_by_name(a, name);
}

int admin_device_remove(struct admin_req *a)
{
	char name[CAPF_DEVICE_NAME_MAX + 1], err[512];
	int rc;

	if (get_name(a, name, sizeof(name)) != 0)
		return 0;
	if ((rc = capf_store_device_delete(a->sd->store, name, &a->who, err, sizeof(err))) != 0) {
		if (rc == CAPF_STORE_NOTFOUND)
			return admin_refuse(a, "%s: no such device", name);
		return admin_store_fail(a, rc, err);
	}
	capf_log(LOG_NOTICE, "device_removed", "device=%s uid=%u", name, (unsigned)a->peer->uid);
	signerd_front_device_changed(a->sd, name);
	return admin_ok(a);
}

int admin_device_reset_lockout(struct admin_req *a)
{
	char name[CAPF_DEVICE_NAME_MAX + 1], err[512];
	int rc;

	if (get_name(a, name, sizeof(name)) != 0)
		return 0;
	rc = capf_store_device_reset_lockout(a->sd->store, name, &a->who, err, sizeof(err));
	if (rc != 0) {
		if (rc == CAPF_STORE_NOTFOUND)
			return admin_refuse(a, "%s: no such device", name);
		return admin_store_fail(a, rc, err);
	}
	signerd_front_device_changed(a->sd, name);
	return put_device_by_name(a, name);
}

/* ---- LIST and REPORT: pages of DEVICE records ------------------------------- */

#define PAGE_BYTES_MAX 56000 /* stop filling a page here (64 KiB messages) */

struct page {
	struct admin_req *a;
	char after[CAPF_DEVICE_NAME_MAX + 1]; /* cursor: names > this */
	char last[CAPF_DEVICE_NAME_MAX + 1];
	unsigned limit, put, total;
	int full;
	int count_all;                      /* the first page: walk every match for COUNT */
	unsigned status_mask, op_mask;      /* 0: any */
	unsigned auth_mask, key_order_mask; /* 0: any */
	uint8_t flags;                      /* CAPF_IPC_DEVF_* all required */
	time_t now;
};

static int page_wants(struct page *p, const struct capf_device *d, uint8_t flags)
{
	if (strcmp(d->name, ADMIN_TLS_DEVICE) == 0)
		return 0;
	if (p->status_mask && !(p->status_mask & (1u << d->status)))
		return 0;
	if (p->op_mask && !(p->op_mask & (1u << d->op)))
		return 0;
	if (p->auth_mask && !(p->auth_mask & (1u << d->auth)))
		return 0;
	if (p->key_order_mask && !(p->key_order_mask & (1u << d->key_order)))
		return 0;
	if ((flags & p->flags) != p->flags)
		return 0;
	p->total++;
	if (p->full || strcmp(d->name, p->after) <= 0)
		return 0;
	if (p->put >= p->limit || p->a->resp->len > PAGE_BYTES_MAX) {
		p->full = 1;
		return 0;
	}
	return 1;
}

/* Pages after the first start at their cursor in the store and end the walk once
 * full: a listing of N devices costs one walk for the first page's COUNT and one
 * more across all the pages, not a walk per page. */

/* One device of the page (with its LSC columns for a report row). */
static int put_row(struct page *p, const struct capf_device *dev, const struct capf_store_report_row *r)
{
	uint8_t flags = device_flags(p->a->sd, dev, r->has_lsc, p->now);

	if (!page_wants(p, dev, flags))
		return p->full && !p->count_all;
	capf_ipc_nest_begin(p->a->resp, CAPF_IPC_T_DEVICE);
	put_device_fields(p->a->resp, dev);
	capf_ipc_put_u8(p->a->resp, CAPF_IPC_T_DEV_FLAGS, flags);
	if (r->has_lsc) {
		capf_ipc_put_str(p->a->resp, CAPF_IPC_T_LSC_SERIAL, r->serial);
		capf_ipc_put_str(p->a->resp, CAPF_IPC_T_LSC_ISSUER, r->issuer_fp);
		capf_ipc_put_i64(p->a->resp, CAPF_IPC_T_LSC_NOT_AFTER, (int64_t)r->not_after);
		capf_ipc_put_i64(p->a->resp, CAPF_IPC_T_LSC_DAYS_LEFT, (int64_t)r->days_left);
	}
	capf_ipc_nest_end(p->a->resp);
	snprintf(p->last, sizeof(p->last), "%s", dev->name);
	p->put++;
	return 0;
}

static int report_cb(const struct capf_store_report_row *r, void *arg)
{
	return put_row(arg, &r->dev, r);
}

static int page_init(struct admin_req *a, struct page *p, char *pattern, size_t plen)
{
	const struct capf_ipc_field *f = NULL;
	const uint8_t *cur;
	size_t clen;
	uint32_t lim;

	memset(p, 0, sizeof(*p));
	p->a = a;
	p->now = time(NULL);
	p->limit = ADMIN_PAGE_RECORDS;
	if (capf_ipc_get_u32(a->req, CAPF_IPC_T_LIMIT, &lim) == 0 && lim > 0 && lim < p->limit)
		p->limit = lim;
	if (capf_ipc_get_bytes(a->req, CAPF_IPC_T_CURSOR, &cur, &clen) == 0) {
		if (clen == 0 || clen > CAPF_DEVICE_NAME_MAX || memchr(cur, '\0', clen))
			return admin_refuse(a, "bad cursor"), -1;
		memcpy(p->after, cur, clen);
	}
	p->count_all = p->after[0] == '\0';
	while ((f = capf_ipc_find(a->req, CAPF_IPC_T_FILTER_STATUS, f)) != NULL)
		p->status_mask |= 1u << capf_ipc_field_u8(f);
	while ((f = capf_ipc_find(a->req, CAPF_IPC_T_FILTER_OPERATION, f)) != NULL)
		p->op_mask |= 1u << capf_ipc_field_u8(f);
	while ((f = capf_ipc_find(a->req, CAPF_IPC_T_FILTER_AUTH_MODE, f)) != NULL)
		p->auth_mask |= 1u << capf_ipc_field_u8(f);
	while ((f = capf_ipc_find(a->req, CAPF_IPC_T_FILTER_KEY_ORDER, f)) != NULL)
		p->key_order_mask |= 1u << capf_ipc_field_u8(f);
	capf_ipc_get_u8(a->req, CAPF_IPC_T_FILTER_FLAGS, &p->flags);
	pattern[0] = '\0';
	if (capf_ipc_get_str(a->req, CAPF_IPC_T_FILTER_NAME, pattern, plen) == -2)
		return admin_refuse(a, "name pattern too long"), -1;
	admin_name_upcase(pattern);
	return admin_ok(a);
}

/* Ends the page after the store's walk returned rc: its cursor and count, or when
 * the walk failed, the store's failure alone (nothing of the page goes out). */
static int page_finish(struct page *p, int rc, const char *err)
{
	if (rc != 0) {
		capf_ipc_builder_free(p->a->resp);
		memset(p->a->resp, 0, sizeof(*p->a->resp));
		return admin_store_fail(p->a, rc, err);
	}
	if (p->full && p->last[0])
		capf_ipc_put_bytes(p->a->resp, CAPF_IPC_T_CURSOR, p->last, strlen(p->last));
	if (p->count_all)
		capf_ipc_put_u32(p->a->resp, CAPF_IPC_T_COUNT, p->total);
	return 0;
}

/* A list is a report without its LSC filters: every record says whether the
 * device has an LSC, so that "no LSC" can be filtered on. */
int admin_device_list(struct admin_req *a)
{
	struct capf_store_report_filter f = CAPF_STORE_REPORT_FILTER_INIT;
	struct page p;
	char pattern[CAPF_DEVICE_NAME_MAX + 1], err[512];
	int rc;

	if (page_init(a, &p, pattern, sizeof(pattern)) != 0)
		return 0;
	if (pattern[0])
		f.pattern = pattern;
	f.now = p.now;
	f.after = p.after[0] ? p.after : NULL;
	rc = capf_store_report(a->sd->store, &f, report_cb, &p, err, sizeof(err));
	return page_finish(&p, rc, err);
}

int admin_report(struct admin_req *a)
{
	struct capf_store_report_filter f = CAPF_STORE_REPORT_FILTER_INIT;
	struct page p;
	char pattern[CAPF_DEVICE_NAME_MAX + 1], err[512], fp[CAPF_STORE_FP_HEX_LEN + 1];
	const uint8_t *raw;
	size_t rawlen, i;
	uint32_t days;
	int rc;

	if (capf_ipc_get_bytes(a->req, CAPF_IPC_T_FILTER_ISSUER, &raw, &rawlen) == 0) {
		if (rawlen != 32)
			return admin_refuse(a, "the issuer filter is a SHA-256 fingerprint (32 bytes)");
		for (i = 0; i < 32; i++)
			snprintf(fp + 2 * i, 3, "%02x", raw[i]);
		f.issuer_fp = fp;
	}
	if (capf_ipc_get_u32(a->req, CAPF_IPC_T_FILTER_EXPIRING, &days) == 0) {
		if (days > 100000)
			return admin_refuse(a, "expiring within: at most 100000 days");
		f.expiring_within_days = (int)days;
	}
	if (page_init(a, &p, pattern, sizeof(pattern)) != 0)
		return 0;
	if (pattern[0])
		f.pattern = pattern;
	f.now = p.now;
	f.after = p.after[0] ? p.after : NULL;
	rc = capf_store_report(a->sd->store, &f, report_cb, &p, err, sizeof(err));
	return page_finish(&p, rc, err);
}
