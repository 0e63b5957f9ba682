/*
 * policy/schedule.h: validation of what an administrator schedules for a device
 * (capfctl, bulk CSV): operation, authentication mode, key order, RSA size, curve
 * and the deadline ("Operation Completes By", hour granularity).
 */
#ifndef CAPF_POLICY_SCHEDULE_H
#define CAPF_POLICY_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "policy/config.h"
#include "policy/device.h"

/* The default deadline: now + deadline.default_days, rounded up to the hour (UTC). */
time_t capf_deadline_default(const struct capf_conf *c, time_t now);

/* Checks a requested deadline: rounded up to the next full hour (UTC) into *rounded
 * (may be NULL), it must be at least deadline.min_lead_hours and at most
 * deadline.max_days after now. 0 or -1 with a message. */
int capf_deadline_check(const struct capf_conf *c, time_t deadline, time_t now, time_t *rounded, char *err,
			size_t errlen);

/* Key order, RSA size (0: keys.default_rsa_bits) and curve allowed by the policy? */
int capf_keys_check(const struct capf_conf *c, enum capf_key_order order, unsigned rsa_bits,
		    enum capf_curve curve, char *err, size_t errlen);

/* Everything an administrator sets on a device: name syntax, enum ranges, keys and,
 * when an operation is scheduled, the deadline (which must already be on an hour
 * boundary: pass it through capf_deadline_check first). */
int capf_device_settings_check(const struct capf_conf *c, const struct capf_device *d, time_t now, char *err,
			       size_t errlen);

/* What an administrator asks to change on a device (capfctl device add/set, a
 * bulk row); -1 / false: left as it is (a new device: the policy's default). */
struct capf_device_change {
	int op, auth, key_order, curve; /* enum values, or -1 */
	long rsa_bits;                  /* -1: absent */
	bool has_deadline;
	time_t deadline;
	bool has_auth_string; /* a new authentication string comes with it */
};

/* What becomes of the stored authentication string hash. */
enum capf_auth_string_use {
	CAPF_AUTHSTR_CLEAR, /* the mode is not By Authentication String: none kept */
	CAPF_AUTHSTR_NEW,   /* the new string of the change */
	CAPF_AUTHSTR_KEEP,  /* the stored one */
};

/* The one merge of a change into a device: existing (NULL: a new device named
 * name, with the policy's defaults) plus what chg sets, with the rules of
 * scheduling (a new operation is pending with a fresh deadline, the same one
 * again keeps an acceptable deadline, none clears it; a deadline needs an
 * operation and is rounded to the hour), then validated with the policy at now
 * (a deadline the change did not touch is not judged again). existing_has_auth:
 * a string hash is stored. *out and *use, 0; or -1 with err naming the device. */
int capf_device_merge(const struct capf_conf *c, const char *name, const struct capf_device_change *chg,
		      const struct capf_device *existing, bool existing_has_auth, time_t now,
		      struct capf_device *out, enum capf_auth_string_use *use, char *err, size_t errlen);

#endif
