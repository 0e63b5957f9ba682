/* appliance/capf/proto.c: names of the CAPF vocabulary, for logs (see proto.h). */
#include <stddef.h>

#include "appliance/capf/proto.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const cmd_names[] = {
	NULL,
	"AUTH_REQUEST",
	"AUTH_RESPONSE",
	"KEY_GENERATE_REQUEST",
	"KEY_GENERATE_RESPONSE",
	"ENCRYPT_RESPONSE",
	"ENCRYPT_REQUEST",
	"DECRYPT_REQUEST",
	"DECRYPT_RESPONSE",
	"STORE_CERTIFICATE_REQUEST",
	"STORE_CERTIFICATE_RESPONSE",
	"FETCH_CERTIFICATE_REQUEST",
	"FETCH_CERTIFICATE_RESPONSE",
	"DELETE_CERTIFICATE_REQUEST",
	"DELETE_CERTIFICATE_RESPONSE",
	"END_SESSION",
	"RETRY_LATER",
	"REQUEST_IN_PROGRESS",
	"STATUS_REQUEST",
	"STATUS_RESPONSE",
	"ABORT_REQUEST",
	"ABORT_RESPONSE",
	"SIGN_CERTIFICATE_REQUEST",
	"SIGN_CERTIFICATE_RESPONSE",
};

static const char *const tag_names[] = {
	NULL,
	"REASON",
	"REASON_INFO",
	"CERTIFICATE_TYPE",
	"CERTIFICATE",
	"CERTIFICATE_ID",
	"SIGNED_DATA",
	"VERSION",
	"AUTH_TYPE",
	"PUBLIC_KEY",
	"KEY_SIZE",
	"PASSWORD",
	"RETRY_DELAY",
	"DEVICE_NAME",
	NULL,
	NULL,
	"SUDI_DATA",
	"KEY_TYPE",
	"CURVE",
	"DIGEST_TYPE",
	"SHA2_SIGNED_DATA",
};

static const char *const hash_names[] = { NULL, "SHA-1", "SHA-256", "SHA-512" };
static const char *const keytype_names[] = { "RSA", "EC" };
static const char *const curve_names[] = { "P-256", "P-384", "P-521" };
static const char *const authtype_names[] = { "NONE", "PASSWORD", "NO_PASSWORD", "LSC", "MIC" };

static const char *lookup(const char *const *t, size_t n, unsigned v)
{
	return v < n && t[v] != NULL ? t[v] : "UNKNOWN";
}

const char *capf_command_name(unsigned cmd)
{
	return lookup(cmd_names, NELEM(cmd_names), cmd);
}
const char *capf_tag_name(unsigned tag)
{
	return lookup(tag_names, NELEM(tag_names), tag);
}
const char *capf_hash_name(unsigned h)
{
	return lookup(hash_names, NELEM(hash_names), h);
}
const char *capf_key_type_name(unsigned kt)
{
	return lookup(keytype_names, NELEM(keytype_names), kt);
}
const char *capf_wire_curve_name(unsigned c)
{
	return lookup(curve_names, NELEM(curve_names), c);
}
const char *capf_auth_type_name(unsigned a)
{
	return lookup(authtype_names, NELEM(authtype_names), a);
}

int capf_tag_known(unsigned tag)
{
	return tag < NELEM(tag_names) && tag_names[tag] != NULL;
}

const char *capf_reason_name(unsigned reason)
{
	switch (reason) {
	case CAPF_REASON_NO_ACTION:
		return "NO_ACTION";
	case CAPF_REASON_SUCCESS:
		return "SUCCESS";
	case CAPF_REASON_INVALID:
		return "INVALID";
	case CAPF_REASON_UNKNOWN_DEVICE:
		return "UNKNOWN_DEVICE";
	default:
		return "UNKNOWN";
	}
}

const char *capf_err_name(int rc)
{
	switch (rc) {
	case CAPF_OK:
		return "ok";
	case CAPF_E_TRUNCATED:
		return "truncated";
	case CAPF_E_PROTO_ID:
		return "bad protocol id";
	case CAPF_E_TOO_BIG:
		return "body too long";
	case CAPF_E_OVERRUN:
		return "element overruns the body";
	case CAPF_E_ELEMENT:
		return "malformed element";
	case CAPF_E_MISSING:
		return "missing element";
	case CAPF_E_DUPLICATE:
		return "duplicate element";
	case CAPF_E_NOMEM:
		return "out of memory";
	case CAPF_E_ARG:
		return "bad argument";
	case CAPF_E_TRAILING:
		return "trailing bytes";
	default:
		return "unknown error";
	}
}
