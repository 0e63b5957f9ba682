/*
 * appliance/capfctl/device_fields.c: a DEVICE record from the daemon, printed
 * for people (Cisco's wording) and as JSON (stable snake_case keys).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "appliance/capfctl/capfctl.h"
#include "appliance/common/x509.h"
#include "policy/device.h"

int ctl_device_decode(const struct capf_ipc_field *f, struct ctl_device *d)
{
	struct capf_ipc_msg sub;
	char err[160];
	uint8_t v8;
	uint32_t v32;
	int64_t v64;

	memset(d, 0, sizeof(*d));
	d->op = d->auth = d->key_order = d->curve = d->status = d->status_op = d->cause = -1;
	d->rsa_bits = -1;
	d->failed_attempts = -1;
	d->flags = -1;
	if (capf_ipc_decode_nested(f, &sub, err, sizeof(err)) != 0) {
		fprintf(stderr, "capfctl: malformed device record: %s\n", err);
		return -1;
	}
	capf_ipc_get_str(&sub, CAPF_IPC_T_DEVICE_NAME, d->name, sizeof(d->name));
	if (capf_ipc_get_u8(&sub, CAPF_IPC_T_OPERATION, &v8) == 0)
		d->op = v8;
	if (capf_ipc_get_u8(&sub, CAPF_IPC_T_AUTH_MODE, &v8) == 0)
		d->auth = v8;
	if (capf_ipc_get_u8(&sub, CAPF_IPC_T_KEY_ORDER, &v8) == 0)
		d->key_order = v8;
	if (capf_ipc_get_u8(&sub, CAPF_IPC_T_CURVE, &v8) == 0)
		d->curve = v8;
	if (capf_ipc_get_u8(&sub, CAPF_IPC_T_DEV_STATUS, &v8) == 0)
		d->status = v8;
	if (capf_ipc_get_u8(&sub, CAPF_IPC_T_STATUS_OP, &v8) == 0)
		d->status_op = v8;
	if (capf_ipc_get_u8(&sub, CAPF_IPC_T_CAUSE, &v8) == 0)
		d->cause = v8;
	if (capf_ipc_get_u32(&sub, CAPF_IPC_T_RSA_BITS, &v32) == 0)
		d->rsa_bits = v32;
	if (capf_ipc_get_u32(&sub, CAPF_IPC_T_FAILED_ATTEMPTS, &v32) == 0)
		d->failed_attempts = v32;
	if (capf_ipc_get_i64(&sub, CAPF_IPC_T_DEADLINE, &v64) == 0)
		d->deadline = v64;
	if (capf_ipc_get_i64(&sub, CAPF_IPC_T_LAST_SEEN, &v64) == 0)
		d->last_seen = v64;
	if (capf_ipc_get_i64(&sub, CAPF_IPC_T_LSC_NOT_AFTER, &v64) == 0)
		d->lsc_not_after = v64;
	capf_ipc_get_str(&sub, CAPF_IPC_T_LSC_SERIAL, d->serial, sizeof(d->serial));
	capf_ipc_get_str(&sub, CAPF_IPC_T_LSC_ISSUER, d->issuer, sizeof(d->issuer));
	if (capf_ipc_get_u8(&sub, CAPF_IPC_T_DEV_FLAGS, &v8) == 0)
		d->flags = v8;
	if (capf_ipc_get_i64(&sub, CAPF_IPC_T_EVENT_TIME, &v64) == 0)
		d->fetch_time = v64;
	capf_ipc_get_str(&sub, CAPF_IPC_T_EVENT_OUTCOME, d->fetch_outcome, sizeof(d->fetch_outcome));
	if (capf_ipc_get_i64(&sub, CAPF_IPC_T_LSC_DAYS_LEFT, &v64) == 0) {
		d->has_days_left = 1;
		d->days_left = (long)v64;
	}
	capf_ipc_msg_free(&sub);
	return 0;
}

const char *ctl_device_status(const struct ctl_device *d, char *buf, size_t len)
{
	struct capf_device dev;

	memset(&dev, 0, sizeof(dev));
	dev.status = d->status < 0 ? CAPF_ST_NONE : (enum capf_status)d->status;
	dev.status_op = d->status_op < 0 ? CAPF_OP_NONE : (enum capf_operation)d->status_op;
	dev.cause = d->cause < 0 ? CAPF_FAIL_NONE : (enum capf_fail_cause)d->cause;
	dev.op = d->op < 0 ? CAPF_OP_NONE : (enum capf_operation)d->op;
	return capf_status_cisco(&dev, buf, len);
}

int ctl_status_parse(const char *s)
{
	static const char *const names[] = {
		"none", "pending", "upgrade-success", "delete-success", "troubleshoot-success", "failed",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

static int flag(const struct ctl_device *d, int bit)
{
	return d->flags >= 0 && (d->flags & bit) != 0;
}

const char *ctl_device_status_long(const struct ctl_device *d, char *buf, size_t len)
{
	char st[160];

	ctl_device_status(d, st, sizeof(st));
	snprintf(buf, len, "%s%s%s", st, flag(d, CAPF_IPC_DEVF_DEADLINE_PASSED) ? "; deadline passed" : "",
		 flag(d, CAPF_IPC_DEVF_LOCKED_OUT) ? "; locked out" : "");
	return buf;
}

long ctl_device_days_left(const struct ctl_device *d)
{
	return d->has_days_left ? d->days_left : capf_days_left((time_t)d->lsc_not_after, time(NULL));
}

const char *ctl_device_lsc_state(const struct ctl_device *d)
{
	if (!d->serial[0])
		return "none";
	return ctl_device_days_left(d) < 0 || (time_t)d->lsc_not_after <= time(NULL) ? "expired" : "valid";
}

static const char *keyparams(const struct ctl_device *d, char *buf, size_t len)
{
	char bits[24] = "default";

	if (d->rsa_bits > 0)
		snprintf(bits, sizeof(bits), "%ld", d->rsa_bits);
	snprintf(buf, len, "RSA %s bits, EC %s", bits, d->curve >= 0 ? capf_curve_name(d->curve) : "default");
	return buf;
}

void ctl_device_print(FILE *f, const struct ctl_device *d)
{
	char t[64], st[160], kp[64];

	fprintf(f, "Device Name:                 %s\n", d->name);
	if (d->op >= 0)
		fprintf(f, "Certificate Operation:       %s\n", capf_operation_cisco(d->op));
	if (d->auth >= 0)
		fprintf(f, "Authentication Mode:         %s\n", capf_auth_mode_cisco(d->auth));
	if (d->key_order >= 0)
		fprintf(f, "Key Order:                   %s (%s)\n", capf_key_order_cisco(d->key_order),
			keyparams(d, kp, sizeof(kp)));
	if (d->op > 0)
		fprintf(f, "Operation Completes By:      %s%s\n",
			ctl_fmt_time((time_t)d->deadline, t, sizeof(t)),
			flag(d, CAPF_IPC_DEVF_DEADLINE_PASSED) ? " (deadline passed: the phone will be "
								 "refused; set a new deadline)" :
								 "");
	fprintf(f, "Certificate Operation Status: %s\n", ctl_device_status(d, st, sizeof(st)));
	if (d->failed_attempts >= 0)
		fprintf(f, "Failed Attempts:             %ld%s\n", d->failed_attempts,
			flag(d, CAPF_IPC_DEVF_LOCKED_OUT) ? " (locked out: clear it with `capfctl device "
							    "reset-lockout`)" :
							    "");
	if (flag(d, CAPF_IPC_DEVF_DEADLINE_PASSED))
		fprintf(f, "Deadline Passed:             yes\n");
	if (flag(d, CAPF_IPC_DEVF_LOCKED_OUT))
		fprintf(f, "Locked Out:                  yes\n");
	fprintf(f, "Last Seen:                   %s\n",
		d->last_seen ? ctl_fmt_time((time_t)d->last_seen, t, sizeof(t)) : "never");
	if (d->serial[0]) {
		fprintf(f, "LSC Serial:                  %s\n", d->serial);
		fprintf(f, "LSC Issuer:                  %s\n", d->issuer[0] ? d->issuer : "-");
		fprintf(f, "LSC Not After:               %s (%ld days left)\n",
			ctl_fmt_time((time_t)d->lsc_not_after, t, sizeof(t)), ctl_device_days_left(d));
	} else {
		fprintf(f, "LSC:                         none\n");
	}
	if (d->fetch_outcome[0])
		fprintf(f, "Last Troubleshoot:           %s, %s (capfctl device cert %s)\n",
			ctl_fmt_time((time_t)d->fetch_time, t, sizeof(t)), d->fetch_outcome, d->name);
}

static void jkey(FILE *f, int *first, const char *k)
{
	fprintf(f, "%s\"%s\": ", *first ? "" : ", ", k);
	*first = 0;
}

static void jstr(FILE *f, int *first, const char *k, const char *v)
{
	jkey(f, first, k);
	if (v == NULL)
		fputs("null", f);
	else
		ctl_json_str(f, v);
}

static void jtime(FILE *f, int *first, const char *k, int64_t v)
{
	jkey(f, first, k);
	ctl_json_time(f, (time_t)v);
}

static void jbool(FILE *f, int *first, const char *k, int v)
{
	jkey(f, first, k);
	fputs(v ? "true" : "false", f);
}

/* The device record of docs/json.md (schema 1). */
void ctl_device_json(FILE *f, const struct ctl_device *d)
{
	char st[160];
	int first = 1;

	fputc('{', f);
	jkey(f, &first, "schema");
	fprintf(f, "%d", CTL_JSON_SCHEMA);
	jstr(f, &first, "name", d->name);
	jstr(f, &first, "operation", d->op >= 0 ? capf_operation_name(d->op) : NULL);
	jstr(f, &first, "operation_cisco", d->op >= 0 ? capf_operation_cisco(d->op) : NULL);
	jstr(f, &first, "auth_mode", d->auth >= 0 ? capf_auth_mode_name(d->auth) : NULL);
	jstr(f, &first, "key_order", d->key_order >= 0 ? capf_key_order_name(d->key_order) : NULL);
	jkey(f, &first, "rsa_bits");
	fprintf(f, "%ld", d->rsa_bits > 0 ? d->rsa_bits : 0);
	jstr(f, &first, "curve", d->curve >= 0 ? capf_curve_name(d->curve) : NULL);
	jtime(f, &first, "deadline", d->op > 0 ? d->deadline : 0);
	jbool(f, &first, "deadline_passed", flag(d, CAPF_IPC_DEVF_DEADLINE_PASSED));
	jstr(f, &first, "status", ctl_device_status(d, st, sizeof(st)));
	jkey(f, &first, "failed_attempts");
	fprintf(f, "%ld", d->failed_attempts > 0 ? d->failed_attempts : 0);
	jbool(f, &first, "locked_out", flag(d, CAPF_IPC_DEVF_LOCKED_OUT));
	jtime(f, &first, "last_seen", d->last_seen);
	jbool(f, &first, "has_lsc", d->serial[0] != '\0');
	jstr(f, &first, "lsc_state", ctl_device_lsc_state(d));
	jstr(f, &first, "lsc_serial", d->serial[0] ? d->serial : NULL);
	jstr(f, &first, "lsc_issuer", d->serial[0] && d->issuer[0] ? d->issuer : NULL);
	jtime(f, &first, "lsc_not_after", d->serial[0] ? d->lsc_not_after : 0);
	jkey(f, &first, "lsc_days_left");
	if (d->serial[0])
		fprintf(f, "%ld", ctl_device_days_left(d));
	else
		fputs("null", f);
	/* device show only (null in lists): the last Troubleshoot */
	jtime(f, &first, "last_fetch_time", d->fetch_outcome[0] ? d->fetch_time : 0);
	jstr(f, &first, "last_fetch_outcome", d->fetch_outcome[0] ? d->fetch_outcome : NULL);
	fputc('}', f);
}
