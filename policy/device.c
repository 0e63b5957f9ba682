/* policy/device.c: string tables for the device vocabulary (see device.h). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/obj_mac.h>

#include "policy/device.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const op_names[] = { "none", "install", "delete", "fetch" };
static const char *const op_cisco[] = { "No Pending Operation", "Install/Upgrade", "Delete", "Troubleshoot" };
static const char *const auth_names[] = { "null", "string", "lsc-first", "mic-first" };
static const char *const auth_cisco[] = {
	"By Null String",
	"By Authentication String",
	"By Existing Certificate (Precedence to LSC)",
	"By Existing Certificate (Precedence to MIC)",
};
static const char *const ko_names[] = { "rsa", "ec", "ec-rsa" };
static const char *const ko_cisco[] = { "RSA Only", "EC Only", "EC Preferred RSA Backup" };
static const char *const curve_names[] = { "P-256", "P-384", "P-521" };
static const char *const curve_alt[] = { "prime256v1", "secp384r1", "secp521r1" };
static const char *const curve_alt2[] = { "secp256r1", "P384", "P521" };
static const int curve_nids[] = { NID_X9_62_prime256v1, NID_secp384r1, NID_secp521r1 };
static const char *const cause_cisco[] = {
	"",
	"Invalid LSC",
	"Invalid Authentication String",
	"Invalid MIC",
	"Invalid Credentials",
	"Phone Communication Failure",
	"Key Generation Failed",
	"Key Generation Timeout",
	"User Initiated Request Late/Timedout",
	"CA Communication Failure",
	"CA Rejected Connection",
};
static const char *const op_verb[] = { "", "Upgrade", "Delete", "Troubleshoot" };

static const char *name_of(const char *const *t, size_t n, int v)
{
	return v >= 0 && (size_t)v < n ? t[v] : "unknown";
}

static int parse_in(const char *const *t, size_t n, const char *s)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (strcasecmp(t[i], s) == 0)
			return (int)i;
	return -1;
}

const char *capf_operation_name(enum capf_operation v)
{
	return name_of(op_names, NELEM(op_names), v);
}
int capf_operation_parse(const char *s)
{
	return parse_in(op_names, NELEM(op_names), s);
}
const char *capf_operation_cisco(enum capf_operation v)
{
	return name_of(op_cisco, NELEM(op_cisco), v);
}
const char *capf_auth_mode_name(enum capf_auth_mode v)
{
	return name_of(auth_names, NELEM(auth_names), v);
}
int capf_auth_mode_parse(const char *s)
{
	return parse_in(auth_names, NELEM(auth_names), s);
}
const char *capf_auth_mode_cisco(enum capf_auth_mode v)
{
	return name_of(auth_cisco, NELEM(auth_cisco), v);
}
const char *capf_key_order_name(enum capf_key_order v)
{
	return name_of(ko_names, NELEM(ko_names), v);
}
int capf_key_order_parse(const char *s)
{
	return parse_in(ko_names, NELEM(ko_names), s);
}
const char *capf_key_order_cisco(enum capf_key_order v)
{
	return name_of(ko_cisco, NELEM(ko_cisco), v);
}
const char *capf_curve_name(enum capf_curve v)
{
	return name_of(curve_names, NELEM(curve_names), v);
}
const char *capf_fail_cause_cisco(enum capf_fail_cause v)
{
	return name_of(cause_cisco, NELEM(cause_cisco), v);
}

int capf_curve_parse(const char *s)
{
	int v = parse_in(curve_names, NELEM(curve_names), s);
	if (v < 0)
		v = parse_in(curve_alt, NELEM(curve_alt), s);
	if (v < 0)
		v = parse_in(curve_alt2, NELEM(curve_alt2), s);
	return v;
}

int capf_curve_nid(enum capf_curve c)
{
	return (int)c >= 0 && (size_t)c < NELEM(curve_nids) ? curve_nids[c] : 0;
}

const char *capf_status_cisco(const struct capf_device *d, char *buf, size_t len)
{
	switch (d->status) {
	case CAPF_ST_NONE:
		snprintf(buf, len, "None");
		break;
	case CAPF_ST_PENDING:
		snprintf(buf, len, "Operation Pending");
		break;
	case CAPF_ST_UPGRADE_SUCCESS:
		snprintf(buf, len, "Upgrade Success");
		break;
	case CAPF_ST_DELETE_SUCCESS:
		snprintf(buf, len, "Delete Success");
		break;
	case CAPF_ST_TROUBLESHOOT_SUCCESS:
		snprintf(buf, len, "Troubleshoot Success");
		break;
	case CAPF_ST_FAILED:
		snprintf(buf, len, "%s Failed: %s",
			 d->status_op >= CAPF_OP_INSTALL ? name_of(op_verb, NELEM(op_verb), d->status_op) :
							   "Upgrade",
			 capf_fail_cause_cisco(d->cause));
		break;
	default:
		snprintf(buf, len, "Unknown");
		break;
	}
	return buf;
}

const char *capf_keyparam_str(const struct capf_keyparam *k, char *buf, size_t len)
{
	if (k->type == CAPF_KEY_EC)
		snprintf(buf, len, "EC %s", capf_curve_name(k->curve));
	else if (k->type == CAPF_KEY_RSA)
		snprintf(buf, len, "RSA %u", k->rsa_bits);
	else
		snprintf(buf, len, "unknown key type");
	return buf;
}
