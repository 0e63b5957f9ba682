/*
 * policy/decide.h: what a phone that just sent AUTH_RESPONSE may get, from the
 * device record (store) and the policy. The daemon then verifies the evidence of the
 * authentication mode returned here (this module only says which mode applies) and
 * runs the operation; on a failed key generation it asks for the next alternative.
 *
 * Order of the rules (first match wins):
 *   device name not allowed by the policy        -> REFUSE, END_SESSION reason 7
 *   no such device (dev == NULL)                 -> UNKNOWN, reason 9
 *   protocol version 0                           -> REFUSE, reason 7
 *   no pending operation                         -> NOTHING, reason 0
 *   now > deadline                               -> REFUSE, reason 7, record
 *                                                   "<Op> Failed: User Initiated Request Late/Timedout"
 *   failed_attempts >= auth.max_failed_attempts  -> REFUSE, reason 7 (locked out)
 *   By Authentication String without a PASSWORD  -> REFUSE, reason 7, record Invalid Authentication String
 *   install: key alternatives in key order, those the policy no longer allows dropped;
 *            version <= 2 (Jabber) gets RSA only; none left -> REFUSE, reason 7, record
 *            "Upgrade Failed: Key Generation Failed" (client cannot do it) or
 *            "Upgrade Failed: CA Rejected Connection" (the policy forbids it)
 *   otherwise                                    -> INSTALL / FETCH / DELETE
 */
#ifndef CAPF_POLICY_DECIDE_H
#define CAPF_POLICY_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "policy/config.h"
#include "policy/device.h"

#define CAPF_KEYALT_MAX 2

/* CAPF END_SESSION REASON values */
#define CAPF_REASON_NO_ACTION 0
#define CAPF_REASON_SUCCESS 1
#define CAPF_REASON_INVALID 7
#define CAPF_REASON_UNKNOWN_DEVICE 9

/* What the phone said in AUTH_RESPONSE (already decoded by the CAPF codec). */
struct capf_request {
	const char *device_name; /* DEVICE_NAME */
	unsigned version;        /* VERSION: 3 phones, 2 Jabber; >3 treated as 3 */
	bool sent_password;      /* a PASSWORD element was present (even empty) */
	time_t now;
};

enum capf_action {
	CAPF_ACT_NOTHING = 0, /* END_SESSION reason 0 */
	CAPF_ACT_UNKNOWN,     /* END_SESSION reason 9 */
	CAPF_ACT_REFUSE,      /* END_SESSION reason 7 */
	CAPF_ACT_INSTALL,     /* KEY_GENERATE_REQUEST with keys[0] */
	CAPF_ACT_FETCH,       /* FETCH_CERTIFICATE_REQUEST */
	CAPF_ACT_DELETE,      /* DELETE_CERTIFICATE_REQUEST */
};

struct capf_decision {
	enum capf_action action;
	unsigned reason;                            /* END_SESSION REASON for NOTHING/UNKNOWN/REFUSE */
	enum capf_auth_mode auth;                   /* INSTALL/FETCH/DELETE: the evidence to verify */
	struct capf_keyparam keys[CAPF_KEYALT_MAX]; /* INSTALL: alternatives, in key order */
	size_t n_keys;
	/* REFUSE: when record is true, the device's status becomes
	 * "<status_op> Failed: <cause>" (CAPF_ST_FAILED). */
	bool record;
	enum capf_operation status_op;
	enum capf_fail_cause cause;
	char why[256]; /* for the log and REASON_INFO; never holds a secret */
};

/* dev: the device record for req->device_name, NULL when the store has none.
 * Always fills *out; returns its action. */
enum capf_action capf_decide(const struct capf_conf *c, const struct capf_device *dev,
			     const struct capf_request *req, struct capf_decision *out);

/* The phone failed (or timed out, timed_out = true) generating cur->keys[0]: *next
 * is cur with that alternative removed, or, when none is left, a REFUSE recording
 * "Upgrade Failed: Key Generation Failed/Timeout". Returns next->action. */
enum capf_action capf_decide_fallback(const struct capf_decision *cur, bool timed_out,
				      struct capf_decision *next);

/* The cause to record when the evidence for mode did not verify
 * (Invalid Authentication String, Invalid LSC, Invalid MIC, Invalid Credentials). */
enum capf_fail_cause capf_auth_fail_cause(enum capf_auth_mode mode);

/* failed_attempts has reached auth.max_failed_attempts. */
bool capf_locked_out(const struct capf_conf *c, const struct capf_device *dev);

const char *capf_action_name(enum capf_action a); /* "nothing", "unknown", ... */

#endif
