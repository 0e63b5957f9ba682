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

int capf_deadline_check(const struct capf_conf *c, time_t deadline, time_t now, time_t *rounded,
			char *err, size_t errlen)
{
	time_t lead = (time_t)c->deadline.min_lead_hours * 3600;
	time_t max = (time_t)c->deadline.max_days * 86400;
	time_t t;

	/* far-off values are refused before any arithmetic on them */
	if (deadline > now + max) {
		snprintf(err, errlen, "the deadline (Operation Completes By) must be at most %u days in the "
			 "future (deadline.max_days)", c->deadline.max_days);
		return -1;
	}
	t = round_up_hour(deadline);
	if (deadline <= 0 || t < now + lead) {
		snprintf(err, errlen, "the deadline (Operation Completes By) must be at least %u hour%s in the "
			 "future (deadline.min_lead_hours)", c->deadline.min_lead_hours,
			 c->deadline.min_lead_hours == 1 ? "" : "s");
		return -1;
	}
	if (t > round_up_hour(now + max)) {
		snprintf(err, errlen, "the deadline (Operation Completes By) must be at most %u days in the "
			 "future (deadline.max_days)", c->deadline.max_days);
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

int capf_device_settings_check(const struct capf_conf *c, const struct capf_device *d, time_t now,
			       char *err, size_t errlen)
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
		snprintf(err, errlen, "%s is a Jabber client: it cannot generate EC keys (CAPF version 2); "
			 "use key order RSA Only or EC Preferred RSA Backup", d->name);
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
