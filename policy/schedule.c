/* policy/schedule.c: validation of what an administrator schedules (see schedule.h). */
#include <stdio.h>
#include <string.h>

#include "policy/names.h"
#include "policy/schedule.h"

static time_t round_up_hour(time_t t)
{
	time_t r = t % 3600;

	if (r < 0)
		r += 3600;
	return r == 0 ? t : t + (3600 - r);
}

time_t capf_deadline_default(const struct capf_conf *c, time_t now)
{
	return round_up_hour(now + (time_t)c->deadline.default_days * 86400);
}

int capf_deadline_check(const struct capf_conf *c, time_t deadline, time_t now, time_t *rounded, char *err,
			size_t errlen)
{
	time_t lead = (time_t)c->deadline.min_lead_hours * 3600;
	time_t max = (time_t)c->deadline.max_days * 86400;
	time_t t;

	/* far-off values are refused before any arithmetic on them */
	if (deadline > now + max) {
		snprintf(err, errlen,
			 "the deadline (Operation Completes By) must be at most %u days in the "
			 "future (deadline.max_days)",
			 c->deadline.max_days);
		return -1;
	}
	t = round_up_hour(deadline);
	if (deadline <= 0 || t < now + lead) {
		snprintf(err, errlen,
			 "the deadline (Operation Completes By) must be at least %u hour%s in the "
			 "future (deadline.min_lead_hours)",
			 c->deadline.min_lead_hours, c->deadline.min_lead_hours == 1 ? "" : "s");
		return -1;
	}
	if (t > round_up_hour(now + max)) {
		snprintf(err, errlen,
			 "the deadline (Operation Completes By) must be at most %u days in the "
			 "future (deadline.max_days)",
			 c->deadline.max_days);
		return -1;
	}
	if (rounded != NULL)
		*rounded = t;
	return 0;
}

int capf_keys_check(const struct capf_conf *c, enum capf_key_order order, unsigned rsa_bits,
		    enum capf_curve curve, char *err, size_t errlen)
{
	unsigned bits = rsa_bits != 0 ? rsa_bits : c->keys.default_rsa_bits;
	bool need_rsa = order == CAPF_KEYORDER_RSA_ONLY || order == CAPF_KEYORDER_EC_PREFERRED;
	bool need_ec = order == CAPF_KEYORDER_EC_ONLY || order == CAPF_KEYORDER_EC_PREFERRED;

	if ((unsigned)order > CAPF_KEYORDER_EC_PREFERRED) {
		snprintf(err, errlen, "unknown key order %d (allowed: rsa, ec, ec-rsa)", (int)order);
		return -1;
	}
	if (need_rsa && !capf_conf_rsa_allowed(c, bits)) {
		snprintf(err, errlen, "RSA %u bits is not allowed by the policy (keys.rsa_bits)", bits);
		return -1;
	}
	if (need_ec && !capf_conf_curve_allowed(c, curve)) {
		snprintf(err, errlen, "curve %s is not allowed by the policy (keys.ec_curves)",
			 capf_curve_name(curve));
		return -1;
	}
	return 0;
}

int capf_device_settings_check(const struct capf_conf *c, const struct capf_device *d, time_t now, char *err,
			       size_t errlen)
{
	enum capf_device_kind kind;

	if (memchr(d->name, '\0', sizeof(d->name)) == NULL) {
		snprintf(err, errlen, "device name is not terminated");
		return -1;
	}
	if (capf_name_check(c, d->name, &kind, err, errlen) < 0)
		return -1;
	if ((unsigned)d->op > CAPF_OP_FETCH) {
		snprintf(err, errlen, "unknown certificate operation %d", (int)d->op);
		return -1;
	}
	if ((unsigned)d->auth > CAPF_AUTH_MIC_FIRST) {
		snprintf(err, errlen, "unknown authentication mode %d", (int)d->auth);
		return -1;
	}
	if (capf_keys_check(c, d->key_order, d->rsa_bits, d->curve, err, errlen) < 0)
		return -1;
	if (kind == CAPF_DEVKIND_JABBER && d->key_order == CAPF_KEYORDER_EC_ONLY) {
		snprintf(err, errlen,
			 "%s is a Jabber client: it cannot generate EC keys (CAPF version 2); "
			 "use key order RSA Only or EC Preferred RSA Backup",
			 d->name);
		return -1;
	}
	if (d->op != CAPF_OP_NONE) {
		if (d->deadline % 3600 != 0) {
			snprintf(err, errlen, "the deadline must be on a full hour (hour granularity)");
			return -1;
		}
		if (capf_deadline_check(c, d->deadline, now, NULL, err, errlen) < 0)
			return -1;
	}
	return 0;
}

int capf_device_merge(const struct capf_conf *c, const char *name, const struct capf_device_change *chg,
		      const struct capf_device *existing, bool existing_has_auth, time_t now,
		      struct capf_device *d, enum capf_auth_string_use *use, char *err, size_t errlen)
{
	char e[512];

	if (existing != NULL) {
		*d = *existing;
	} else {
		memset(d, 0, sizeof(*d));
		snprintf(d->name, sizeof(d->name), "%s", name);
		d->op = CAPF_OP_NONE;
		d->auth = CAPF_AUTH_NULL;
		d->key_order = c->keys.default_key_order;
		d->rsa_bits = 0;
		d->curve = c->keys.default_curve;
		d->status = CAPF_ST_NONE;
		d->status_op = CAPF_OP_NONE;
	}
	if (capf_name_check(c, name, NULL, e, sizeof(e)) != 0) {
		snprintf(err, errlen, "%s", e);
		return -1;
	}
	if (chg->key_order >= 0)
		d->key_order = (enum capf_key_order)chg->key_order;
	if (chg->rsa_bits >= 0)
		d->rsa_bits = (unsigned)chg->rsa_bits;
	if (chg->curve >= 0)
		d->curve = (enum capf_curve)chg->curve;
	if (chg->auth >= 0)
		d->auth = (enum capf_auth_mode)chg->auth;
	if (chg->op >= 0) {
		enum capf_operation prev = existing ? existing->op : CAPF_OP_NONE;
		time_t prev_deadline = existing ? existing->deadline : 0;

		d->op = (enum capf_operation)chg->op;
		if (d->op == CAPF_OP_NONE) {
			d->deadline = 0;
			if (d->status == CAPF_ST_PENDING)
				d->status = CAPF_ST_NONE;
		} else {
			/* the same operation again keeps its deadline while that is
			 * still acceptable; otherwise the policy's default */
			time_t kept;

			if (!chg->has_deadline)
				d->deadline = prev == d->op && prev_deadline > now &&
							      capf_deadline_check(c, prev_deadline, now, &kept,
										  e, sizeof(e)) == 0 ?
						      kept :
						      capf_deadline_default(c, now);
			d->status = CAPF_ST_PENDING;
			d->status_op = d->op;
			d->cause = CAPF_FAIL_NONE;
			d->failed_attempts = 0;
		}
	}
	if (chg->has_deadline) {
		time_t rounded;

		if (d->op == CAPF_OP_NONE) {
			snprintf(err, errlen,
				 "%s: a deadline (Operation Completes By) needs a pending "
				 "operation: set the operation (install, delete or fetch) too",
				 name);
			return -1;
		}
		if (capf_deadline_check(c, chg->deadline, now, &rounded, e, sizeof(e)) != 0) {
			snprintf(err, errlen, "%s: Operation Completes By: %s", name, e);
			return -1;
		}
		d->deadline = rounded;
	}
	if (d->auth == CAPF_AUTH_STRING) {
		if (chg->has_auth_string) {
			*use = CAPF_AUTHSTR_NEW;
		} else if (existing != NULL && existing_has_auth) {
			*use = CAPF_AUTHSTR_KEEP;
		} else {
			snprintf(err, errlen,
				 "%s: By Authentication String needs a string "
				 "(capfctl: --auth-string-file FILE or --generate-auth-string)",
				 name);
			return -1;
		}
	} else {
		if (chg->has_auth_string) {
			snprintf(err, errlen,
				 "%s: an authentication string is only used with By "
				 "Authentication String (auth string), not %s",
				 name, capf_auth_mode_cisco(d->auth));
			return -1;
		}
		*use = CAPF_AUTHSTR_CLEAR;
	}
	{
		/* A deadline this change did not touch (an operation already
		 * scheduled) is not judged again: changing, say, the key order of
		 * a device whose deadline is near must not be refused for it. */
		struct capf_device chk = *d;

		if (existing != NULL && chg->op < 0 && !chg->has_deadline)
			chk.op = CAPF_OP_NONE;
		if (capf_device_settings_check(c, &chk, now, e, sizeof(e)) != 0) {
			snprintf(err, errlen, "%s: %s", name, e);
			return -1;
		}
	}
	return 0;
}
