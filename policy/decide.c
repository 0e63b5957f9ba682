/* policy/decide.c: what a phone may get after AUTH_RESPONSE (see decide.h for the rules). */
#include <stdio.h>
#include <string.h>

#include "policy/decide.h"
#include "policy/names.h"

static const char *const act_names[] = { "nothing", "unknown", "refuse", "install", "fetch", "delete" };

const char *capf_action_name(enum capf_action a)
{
	return (unsigned)a < sizeof(act_names) / sizeof(act_names[0]) ? act_names[a] : "invalid";
}

static enum capf_action finish(struct capf_decision *d, enum capf_action a, unsigned reason)
{
	d->action = a;
	d->reason = reason;
	return a;
}

static enum capf_action refuse(struct capf_decision *d, bool record, enum capf_operation op,
			       enum capf_fail_cause cause)
{
	d->record = record;
	d->status_op = op;
	d->cause = cause;
	d->n_keys = 0;
	return finish(d, CAPF_ACT_REFUSE, CAPF_REASON_INVALID);
}

enum capf_fail_cause capf_auth_fail_cause(enum capf_auth_mode mode)
{
	switch (mode) {
	case CAPF_AUTH_STRING:
		return CAPF_FAIL_INVALID_AUTH_STRING;
	case CAPF_AUTH_LSC_FIRST:
		return CAPF_FAIL_INVALID_LSC;
	case CAPF_AUTH_MIC_FIRST:
		return CAPF_FAIL_INVALID_MIC;
	case CAPF_AUTH_NULL:
	default:
		return CAPF_FAIL_INVALID_CREDENTIALS;
	}
}

bool capf_locked_out(const struct capf_conf *c, const struct capf_device *dev)
{
	return dev->failed_attempts >= c->auth.max_failed_attempts;
}

/* The install alternatives, in key order; REFUSE when none is left. */
static enum capf_action decide_keys(const struct capf_conf *c, const struct capf_device *dev, unsigned version,
				    struct capf_decision *d)
{
	struct capf_keyparam ec = { .type = CAPF_KEY_EC, .curve = dev->curve };
	struct capf_keyparam rsa = { .type = CAPF_KEY_RSA,
				     .rsa_bits = dev->rsa_bits ? dev->rsa_bits : c->keys.default_rsa_bits };
	bool want_ec = dev->key_order == CAPF_KEYORDER_EC_ONLY || dev->key_order == CAPF_KEYORDER_EC_PREFERRED;
	bool want_rsa =
		dev->key_order == CAPF_KEYORDER_RSA_ONLY || dev->key_order == CAPF_KEYORDER_EC_PREFERRED;
	bool can_ec = version >= 3;
	char kbuf[32];

	if ((unsigned)dev->key_order > CAPF_KEYORDER_EC_PREFERRED) {
		snprintf(d->why, sizeof(d->why), "%s: unknown key order %d", dev->name, (int)dev->key_order);
		return refuse(d, true, CAPF_OP_INSTALL, CAPF_FAIL_CA_REJECTED);
	}
	d->n_keys = 0;
	if (want_ec && can_ec && capf_conf_curve_allowed(c, ec.curve))
		d->keys[d->n_keys++] = ec;
	if (want_rsa && capf_conf_rsa_allowed(c, rsa.rsa_bits))
		d->keys[d->n_keys++] = rsa;
	if (d->n_keys > 0)
		return finish(d, CAPF_ACT_INSTALL, CAPF_REASON_SUCCESS);

	/* nothing left: say why */
	if (dev->key_order == CAPF_KEYORDER_EC_ONLY && !can_ec) {
		snprintf(d->why, sizeof(d->why),
			 "%s: key order EC Only, but the client speaks CAPF version %u "
			 "(Jabber), which cannot generate EC keys; set the key order to RSA Only or EC "
			 "Preferred RSA Backup",
			 dev->name, version);
		return refuse(d, true, CAPF_OP_INSTALL, CAPF_FAIL_KEYGEN_FAILED);
	}
	if (want_rsa)
		capf_keyparam_str(&rsa, kbuf, sizeof(kbuf));
	else
		capf_keyparam_str(&ec, kbuf, sizeof(kbuf));
	snprintf(d->why, sizeof(d->why),
		 "%s: %s (key order %s) is not allowed by the policy (keys.rsa_bits, "
		 "keys.ec_curves); reschedule the device with an allowed key",
		 dev->name, kbuf, capf_key_order_cisco(dev->key_order));
	return refuse(d, true, CAPF_OP_INSTALL, CAPF_FAIL_CA_REJECTED);
}

enum capf_action capf_decide(const struct capf_conf *c, const struct capf_device *dev,
			     const struct capf_request *req, struct capf_decision *d)
{
	char err[200];
	const char *name = req->device_name != NULL ? req->device_name : "";

	memset(d, 0, sizeof(*d));
	if (capf_name_check(c, name, NULL, err, sizeof(err)) < 0) {
		snprintf(d->why, sizeof(d->why), "%s", err);
		return refuse(d, false, CAPF_OP_NONE, CAPF_FAIL_NONE);
	}
	if (dev == NULL) {
		snprintf(d->why, sizeof(d->why), "%s: unknown device", name);
		return finish(d, CAPF_ACT_UNKNOWN, CAPF_REASON_UNKNOWN_DEVICE);
	}
	if (req->version == 0) {
		snprintf(d->why, sizeof(d->why), "%s: protocol version 0 is not a CAPF version", name);
		return refuse(d, false, CAPF_OP_NONE, CAPF_FAIL_NONE);
	}
	d->auth = dev->auth;
	switch (dev->op) {
	case CAPF_OP_NONE:
		snprintf(d->why, sizeof(d->why), "%s: no pending operation", name);
		return finish(d, CAPF_ACT_NOTHING, CAPF_REASON_NO_ACTION);
	case CAPF_OP_INSTALL:
	case CAPF_OP_DELETE:
	case CAPF_OP_FETCH:
		break;
	default:
		snprintf(d->why, sizeof(d->why), "%s: unknown operation %d in the device record", name,
			 (int)dev->op);
		return refuse(d, false, CAPF_OP_NONE, CAPF_FAIL_NONE);
	}
	if (dev->deadline != 0 && req->now > dev->deadline) {
		snprintf(d->why, sizeof(d->why),
			 "%s: %s requested after its deadline (Operation Completes By) "
			 "passed",
			 name, capf_operation_cisco(dev->op));
		return refuse(d, true, dev->op, CAPF_FAIL_LATE);
	}
	if (capf_locked_out(c, dev)) {
		snprintf(d->why, sizeof(d->why),
			 "%s: locked out after %u failed authentication attempts "
			 "(auth.max_failed_attempts = %u); reschedule the operation to unlock it",
			 name, dev->failed_attempts, c->auth.max_failed_attempts);
		return refuse(d, true, dev->op, capf_auth_fail_cause(dev->auth));
	}
	if ((unsigned)dev->auth > CAPF_AUTH_MIC_FIRST) {
		snprintf(d->why, sizeof(d->why), "%s: unknown authentication mode %d", name, (int)dev->auth);
		return refuse(d, true, dev->op, CAPF_FAIL_INVALID_CREDENTIALS);
	}
	if (dev->auth == CAPF_AUTH_STRING && !req->sent_password) {
		snprintf(d->why, sizeof(d->why),
			 "%s: authentication mode By Authentication String, but the client "
			 "sent no PASSWORD element (Jabber clients cannot: use By Null String or By Existing "
			 "Certificate for them)",
			 name);
		return refuse(d, true, dev->op, CAPF_FAIL_INVALID_AUTH_STRING);
	}
	snprintf(d->why, sizeof(d->why), "%s: %s, %s", name, capf_operation_cisco(dev->op),
		 capf_auth_mode_cisco(dev->auth));
	switch (dev->op) {
	case CAPF_OP_FETCH:
		return finish(d, CAPF_ACT_FETCH, CAPF_REASON_SUCCESS);
	case CAPF_OP_DELETE:
		return finish(d, CAPF_ACT_DELETE, CAPF_REASON_SUCCESS);
	default:
		return decide_keys(c, dev, req->version, d);
	}
}

enum capf_action capf_decide_fallback(const struct capf_decision *cur, bool timed_out,
				      struct capf_decision *next)
{
	char kbuf[32] = "no key";

	*next = *cur;
	if (cur->action != CAPF_ACT_INSTALL || cur->n_keys == 0) {
		snprintf(next->why, sizeof(next->why), "key generation fallback without an install decision");
		return refuse(next, false, CAPF_OP_NONE, CAPF_FAIL_NONE);
	}
	capf_keyparam_str(&cur->keys[0], kbuf, sizeof(kbuf));
	if (cur->n_keys > 1) {
		memmove(&next->keys[0], &cur->keys[1], (cur->n_keys - 1) * sizeof(cur->keys[0]));
		next->n_keys = cur->n_keys - 1;
		memset(&next->keys[next->n_keys], 0, sizeof(next->keys[0]));
		snprintf(next->why, sizeof(next->why), "key generation %s for %s; falling back",
			 timed_out ? "timed out" : "failed", kbuf);
		return next->action;
	}
	snprintf(next->why, sizeof(next->why), "key generation %s for %s, the last alternative",
		 timed_out ? "timed out" : "failed", kbuf);
	return refuse(next, true, CAPF_OP_INSTALL,
		      timed_out ? CAPF_FAIL_KEYGEN_TIMEOUT : CAPF_FAIL_KEYGEN_FAILED);
}
