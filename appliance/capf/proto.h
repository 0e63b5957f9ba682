/*
 * appliance/capf/proto.h: the vocabulary of the CAPF wire protocol (see
 * CAPF-PROTOCOL.md): commands, element tags, reasons, hash ids, key types,
 * curves, the size limits, and the error codes every capf_* codec function
 * returns. Names for logs. Pure data, no I/O.
 */
#ifndef CAPF_CAPF_PROTO_H
#define CAPF_CAPF_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "policy/device.h" /* enum capf_key_type (CAPF_KEY_RSA/EC), enum capf_curve */

#define CAPF_PROTOCOL_ID 0x55
#define CAPF_HEADER_LEN 8                  /* id 1, command 1, session id 4, body length 2 */
#define CAPF_ELEM_HEADER_LEN 3             /* tag 1, length 2 */
#define CAPF_BODY_MAX 65535                /* by format (2-byte body length) */
#define CAPF_BODY_CAP_DEFAULT 16384        /* the front end's default cap */
#define CAPF_NAME_MAX CAPF_DEVICE_NAME_MAX /* DEVICE_NAME bytes without the NUL (64) */
#define CAPF_PASSWORD_MAX 64               /* PASSWORD bytes without the NUL (policy checks 4-10 digits) */
#define CAPF_TEXT_MAX 1024                 /* REASON_INFO */
#define CAPF_PORT_DEFAULT 3804

enum capf_command {
	CAPF_CMD_AUTH_REQUEST = 1,
	CAPF_CMD_AUTH_RESPONSE = 2,
	CAPF_CMD_KEY_GENERATE_REQUEST = 3,
	CAPF_CMD_KEY_GENERATE_RESPONSE = 4,
	CAPF_CMD_ENCRYPT_RESPONSE = 5,
	CAPF_CMD_ENCRYPT_REQUEST = 6,
	CAPF_CMD_DECRYPT_REQUEST = 7,
	CAPF_CMD_DECRYPT_RESPONSE = 8,
	CAPF_CMD_STORE_CERTIFICATE_REQUEST = 9,
	CAPF_CMD_STORE_CERTIFICATE_RESPONSE = 10,
	CAPF_CMD_FETCH_CERTIFICATE_REQUEST = 11,
	CAPF_CMD_FETCH_CERTIFICATE_RESPONSE = 12,
	CAPF_CMD_DELETE_CERTIFICATE_REQUEST = 13,
	CAPF_CMD_DELETE_CERTIFICATE_RESPONSE = 14,
	CAPF_CMD_END_SESSION = 15,
	CAPF_CMD_RETRY_LATER = 16,
	CAPF_CMD_REQUEST_IN_PROGRESS = 17,
	CAPF_CMD_STATUS_REQUEST = 18,
	CAPF_CMD_STATUS_RESPONSE = 19,
	CAPF_CMD_ABORT_REQUEST = 20,
	CAPF_CMD_ABORT_RESPONSE = 21,
	CAPF_CMD_SIGN_CERTIFICATE_REQUEST = 22,
	CAPF_CMD_SIGN_CERTIFICATE_RESPONSE = 23,
};

enum capf_tag {
	CAPF_TAG_REASON = 1,           /* u8, CAPF_REASON_* */
	CAPF_TAG_REASON_INFO = 2,      /* text */
	CAPF_TAG_CERTIFICATE_TYPE = 3, /* u8, enum capf_cert_type */
	CAPF_TAG_CERTIFICATE = 4,      /* wrapped certificate, see evidence.h */
	CAPF_TAG_CERTIFICATE_ID = 5,
	CAPF_TAG_SIGNED_DATA = 6,  /* signature bytes */
	CAPF_TAG_VERSION = 7,      /* u8: 3 phones, 2 Jabber */
	CAPF_TAG_AUTH_TYPE = 8,    /* u8, enum capf_auth_type */
	CAPF_TAG_PUBLIC_KEY = 9,   /* DER SubjectPublicKeyInfo */
	CAPF_TAG_KEY_SIZE = 10,    /* u16, RSA bits */
	CAPF_TAG_PASSWORD = 11,    /* NUL-terminated string */
	CAPF_TAG_RETRY_DELAY = 12, /* seconds: written as u32, read as u8/u16/u32 */
	CAPF_TAG_DEVICE_NAME = 13, /* NUL-terminated string */
	CAPF_TAG_SUDI_DATA = 16,   /* see evidence.h */
	CAPF_TAG_KEY_TYPE = 17,    /* u8, enum capf_key_type (absent: RSA) */
	CAPF_TAG_CURVE = 18,       /* u8, enum capf_curve */
	CAPF_TAG_DIGEST_TYPE = 19,
	CAPF_TAG_SHA2_SIGNED_DATA = 20, /* hash id 1 | len 2 | signature */
};

/* REASON values; the same (identical) definitions as policy/decide.h. */
#define CAPF_REASON_NO_ACTION 0
#define CAPF_REASON_SUCCESS 1
#define CAPF_REASON_INVALID 7
#define CAPF_REASON_UNKNOWN_DEVICE 9

enum capf_hash_id {
	CAPF_HASH_SHA1 = 1,
	CAPF_HASH_SHA256 = 2,
	CAPF_HASH_SHA512 = 3,
};

/* KEY_TYPE values: enum capf_key_type (policy/device.h), CAPF_KEY_RSA 0, CAPF_KEY_EC 1.
 * CURVE values: enum capf_curve (policy/device.h), CAPF_CURVE_P256 0, _P384 1, _P521 2. */

enum capf_cert_type {
	CAPF_CERT_LSC = 1,
	CAPF_CERT_MIC = 2,
};

enum capf_auth_type {
	CAPF_AUTHTYPE_NONE = 0,
	CAPF_AUTHTYPE_PASSWORD = 1,
	CAPF_AUTHTYPE_NO_PASSWORD = 2,
	CAPF_AUTHTYPE_LSC = 3,
	CAPF_AUTHTYPE_MIC = 4,
};

/* Every capf_* function returns 0 (or a documented positive value) on success
 * and one of these (all negative) on failure, with a message in err. */
enum capf_err {
	CAPF_OK = 0,
	CAPF_E_TRUNCATED = -1, /* fewer bytes than the header or the body length says */
	CAPF_E_PROTO_ID = -2,  /* first byte is not 0x55 */
	CAPF_E_TOO_BIG = -3,   /* body length above the cap */
	CAPF_E_OVERRUN = -4,   /* an element (or its 3-byte header) runs past the body */
	CAPF_E_ELEMENT = -5,   /* an element's value is malformed for its type */
	CAPF_E_MISSING = -6,   /* a required element is absent */
	CAPF_E_DUPLICATE = -7, /* a known element that may appear once appears twice */
	CAPF_E_NOMEM = -8,
	CAPF_E_ARG = -9,       /* caller error: value too long for an element, bad argument */
	CAPF_E_TRAILING = -10, /* bytes after a complete message where none were expected */
};

/* "AUTH_REQUEST", ... or "UNKNOWN" */
const char *capf_command_name(unsigned cmd);
/* "DEVICE_NAME", ... or "UNKNOWN" */
const char *capf_tag_name(unsigned tag);
/* 1 when the tag is in the table above, 0 otherwise */
int capf_tag_known(unsigned tag);
const char *capf_reason_name(unsigned reason); /* "NO_ACTION","SUCCESS","INVALID","UNKNOWN_DEVICE" */
const char *capf_hash_name(unsigned hash_id);  /* "SHA-1","SHA-256","SHA-512" */
const char *capf_key_type_name(unsigned kt);   /* "RSA","EC" */
const char *capf_wire_curve_name(unsigned c);  /* "P-256","P-384","P-521" or "UNKNOWN" */
const char *capf_auth_type_name(unsigned a);   /* "NONE","PASSWORD",... */
/* "truncated", "bad protocol id", ... */
const char *capf_err_name(int rc);

#endif
