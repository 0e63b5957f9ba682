/*
 * policy/schedule.h: validation of what an administrator schedules for a device
 * (capfctl, bulk CSV): operation, authentication mode, key order, RSA size, curve
 * and the deadline ("Operation Completes By", hour granularity).
 */
#ifndef CAPF_POLICY_SCHEDULE_H
#define CAPF_POLICY_SCHEDULE_H

#include <stddef.h>
#include <time.h>

#include "policy/config.h"
#include "policy/device.h"

/* The default deadline: now + deadline.default_days, rounded up to the hour (UTC). */
time_t capf_deadline_default(const struct capf_conf *c, time_t now);

/* Checks a requested deadline: rounded up to the next full hour (UTC) into *rounded
 * (may be NULL), it must be at least deadline.min_lead_hours and at most
 * deadline.max_days after now. 0 or -1 with a message. */
int capf_deadline_check(const struct capf_conf *c, time_t deadline, time_t now, time_t *rounded,
			char *err, size_t errlen);

/* Key order, RSA size (0: keys.default_rsa_bits) and curve allowed by the policy? */
int capf_keys_check(const struct capf_conf *c, enum capf_key_order order, unsigned rsa_bits,
		    enum capf_curve curve, char *err, size_t errlen);

/* Everything an administrator sets on a device: name syntax, enum ranges, keys and,
 * when an operation is scheduled, the deadline (which must already be on an hour
 * boundary: pass it through capf_deadline_check first). */
int capf_device_settings_check(const struct capf_conf *c, const struct capf_device *d, time_t now,
			       char *err, size_t errlen);

#endif
