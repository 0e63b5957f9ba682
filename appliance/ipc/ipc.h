/*
 * appliance/ipc/ipc.h: the messages between capf-frontd/capfctl and capf-signerd
 * over AF_UNIX SOCK_SEQPACKET (one datagram = one message). The wire format,
 * the verbs and their fields are in appliance/ipc/PROTOCOL.md.
 *
 *   version 1 | flags 1 | verb 2 | request id 4 | fields: tag 2 | length 2 | value
 *
 * Decoding is strict: a message that is not well framed, has an unknown verb
 * (or one the socket's role may not use), an unknown tag, a field of the wrong
 * size or type, a duplicate non-repeatable field, a field the verb does not
 * allow, or a missing required field is refused with a distinct error; the
 * receiver then closes the connection. Every length is checked before use or
 * allocation, a message is at most CAPF_IPC_MSG_MAX bytes.
 */
#ifndef CAPF_IPC_IPC_H
#define CAPF_IPC_IPC_H

#include <stddef.h>
#include <stdint.h>

#define CAPF_IPC_VERSION 1
#define CAPF_IPC_HEADER_LEN 8
#define CAPF_IPC_FIELD_HEADER 4
#define CAPF_IPC_MSG_MAX 65536 /* bytes, header included: size recv buffers with this */
#define CAPF_IPC_FLAG_RESPONSE 0x01

enum capf_ipc_role { /* bit mask: which socket a verb may arrive on */
		     CAPF_IPC_ROLE_FRONT = 1,
		     CAPF_IPC_ROLE_ADMIN = 2,
		     CAPF_IPC_ROLE_KEY = 4, /* capf-signerd to its key process (capf-keyd), a socketpair */
};

enum capf_ipc_verb {
	CAPF_IPC_PING = 0x0001, /* both roles */
	/* front role: one enrollment session; no verb signs caller-supplied bytes */
	CAPF_IPC_BEGIN = 0x0010,
	CAPF_IPC_ISSUE = 0x0011,
	CAPF_IPC_RESULT = 0x0012,
	CAPF_IPC_ABORT = 0x0013,
	/* admin role */
	CAPF_IPC_DEVICE_ADD = 0x0100,
	CAPF_IPC_DEVICE_SET = 0x0101,
	CAPF_IPC_DEVICE_SHOW = 0x0102,
	CAPF_IPC_DEVICE_REMOVE = 0x0103,
	CAPF_IPC_DEVICE_LIST = 0x0104,
	CAPF_IPC_DEVICE_RESET_LOCKOUT = 0x0105,
	CAPF_IPC_BULK_BEGIN = 0x0110,
	CAPF_IPC_BULK_ADD = 0x0111,
	CAPF_IPC_BULK_COMMIT = 0x0112,
	CAPF_IPC_BULK_ABORT = 0x0113,
	CAPF_IPC_REPORT = 0x0120,
	CAPF_IPC_CAPF_SHOW = 0x0130,
	CAPF_IPC_CAPF_REGENERATE = 0x0131,
	CAPF_IPC_CAPF_CSR = 0x0132,
	CAPF_IPC_CAPF_IMPORT = 0x0133,
	CAPF_IPC_TLS_ISSUE = 0x0134,
	CAPF_IPC_TRUST_EXPORT = 0x0135,
	CAPF_IPC_AUDIT_VERIFY = 0x0140,
	CAPF_IPC_STATS = 0x0141,
	CAPF_IPC_BACKUP_BEGIN = 0x0170, /* a checked snapshot of the store, held for this connection */
	CAPF_IPC_BACKUP_READ = 0x0171,  /* its bytes, from an offset */
	CAPF_IPC_BACKUP_END = 0x0172,   /* drops it */
	CAPF_IPC_CAPF_ADOPT = 0x0160,   /* a ceremony's key + its certificate become the CAPF CA */
	/* front role: the CAPF session id, chosen by the signer (before AUTH_REQUEST) */
	CAPF_IPC_SESSION_ID = 0x0014,
	CAPF_IPC_DEVICE_CERT = 0x01A0,       /* a device's fetched certificate or current LSC */
	CAPF_IPC_DEVICE_HISTORY = 0x01A1,    /* a device's issuances, fetches, deletes, refusals */
	CAPF_IPC_AUDIT_ROWS = 0x0198,        /* the audit trail, rows with their hashes, paged */
	CAPF_IPC_AUDIT_CHECKPOINTS = 0x0199, /* the signed checkpoints, paged */
	/* key role: capf-signerd to capf-keyd (appliance/keyd/keyd.h) */
	CAPF_IPC_KEY_LOAD = 0x0300,     /* open a token key into a slot, check it signs */
	CAPF_IPC_KEY_UNLOAD = 0x0301,   /* forget a slot */
	CAPF_IPC_KEY_SIGN = 0x0302,     /* lint, sign and verify: certificate, CSR or audit checkpoint */
	CAPF_IPC_KEY_HMAC = 0x0303,     /* HMAC-SHA-256 under a slot's secret key */
	CAPF_IPC_KEY_GENERATE = 0x0304, /* a new key pair in the token (one-shot capf-keyd --keygen) */
	CAPF_IPC_KEY_DESTROY = 0x0305,  /* destroy a key pair made by KEY_GENERATE (--keygen) */
	CAPF_IPC_KEY_PROBE = 0x0306,    /* a test signature with a slot's key (token health) */
					/* append new verbs here (and a row in ipc_schema.c) */
};

enum capf_ipc_tag {
	/* in every response */
	CAPF_IPC_T_STATUS = 1,      /* u8, enum capf_ipc_status; required in responses */
	CAPF_IPC_T_CAUSE = 2,       /* u8, enum capf_fail_cause (policy/device.h) */
	CAPF_IPC_T_TEXT = 3,        /* str <= 1024: error or refusal text for people */
	CAPF_IPC_T_RETRY_DELAY = 4, /* u32 seconds (RETRY_LATER) */
	/* enrollment */
	CAPF_IPC_T_DEVICE_NAME = 16,    /* str <= 64 */
	CAPF_IPC_T_CLIENT_VERSION = 17, /* u8: CAPF VERSION the phone sent (3, Jabber 2); absent: none sent */
	CAPF_IPC_T_CAPF_SESSION = 18,   /* u32: the CAPF session id (SUDI binding) */
	CAPF_IPC_T_PEER = 19,           /* str <= 128: "address:port" of the phone */
	CAPF_IPC_T_PASSWORD = 20,       /* str <= 64: PASSWORD as sent; absent = not sent, empty = lone NUL */
	CAPF_IPC_T_CERT = 21,           /* bytes <= 16384: a certificate DER */
	CAPF_IPC_T_CERT_TYPE = 22,      /* u8: enum capf_cert_type of the wrapped CERTIFICATE */
	CAPF_IPC_T_SIGNED_DATA = 23,    /* bytes <= 1024 */
	CAPF_IPC_T_SHA2_HASH = 24,      /* u8: hash id of SHA2_SIGNED_DATA */
	CAPF_IPC_T_SHA2_SIG = 25,       /* bytes <= 1024 */
	CAPF_IPC_T_SUDI_DATA = 26,      /* bytes <= 16384: SUDI_DATA value as sent (capf_sudi_parse) */
	CAPF_IPC_T_TOKEN = 27,          /* u64: the signer's session token */
	CAPF_IPC_T_DECISION = 28,       /* u8, enum capf_ipc_decision */
	CAPF_IPC_T_KEY_ALT = 29,        /* nested, repeatable, in key order: {KEY_TYPE, RSA_BITS | CURVE} */
	CAPF_IPC_T_KEY_TYPE = 30,       /* u8, enum capf_key_type (0 RSA, 1 EC) */
	CAPF_IPC_T_RSA_BITS = 31,       /* u32 */
	CAPF_IPC_T_CURVE = 32,          /* u8, enum capf_curve */
	CAPF_IPC_T_ALT_INDEX = 33,      /* u8: index into the KEY_ALT list */
	CAPF_IPC_T_PUBLIC_KEY = 34,     /* bytes <= 4096: DER SubjectPublicKeyInfo */
	CAPF_IPC_T_OUTCOME = 35,        /* u8, enum capf_ipc_outcome */
	/* devices */
	CAPF_IPC_T_DEVICE = 48,          /* nested, repeatable: a device record */
	CAPF_IPC_T_OPERATION = 49,       /* u8, enum capf_operation */
	CAPF_IPC_T_AUTH_MODE = 50,       /* u8, enum capf_auth_mode */
	CAPF_IPC_T_AUTH_STRING = 51,     /* str <= 64: requests only, never in a response */
	CAPF_IPC_T_KEY_ORDER = 52,       /* u8, enum capf_key_order */
	CAPF_IPC_T_DEADLINE = 53,        /* i64, Unix time */
	CAPF_IPC_T_DEV_STATUS = 54,      /* u8, enum capf_status */
	CAPF_IPC_T_STATUS_OP = 55,       /* u8, enum capf_operation the status speaks of */
	CAPF_IPC_T_FAILED_ATTEMPTS = 56, /* u32 */
	CAPF_IPC_T_LAST_SEEN = 57,       /* i64 */
	CAPF_IPC_T_LSC_SERIAL = 58,      /* str <= 64, hex */
	CAPF_IPC_T_LSC_ISSUER = 59,      /* str <= 1024 */
	CAPF_IPC_T_LSC_NOT_AFTER = 60,   /* i64 */
	/* listing, reports, bulk */
	CAPF_IPC_T_FILTER_NAME = 64,      /* str <= 64: glob pattern */
	CAPF_IPC_T_FILTER_STATUS = 65,    /* u8, enum capf_status; repeatable */
	CAPF_IPC_T_FILTER_OPERATION = 66, /* u8, enum capf_operation; repeatable */
	CAPF_IPC_T_FILTER_EXPIRING = 67,  /* u32: LSC expiring within N days */
	CAPF_IPC_T_FILTER_ISSUER = 68,    /* bytes <= 64: SHA-256 fingerprint of an issuing CAPF CA */
	CAPF_IPC_T_CURSOR = 69,           /* bytes <= 256: opaque; response: more to come */
	CAPF_IPC_T_LIMIT = 70,            /* u32: at most this many records in the response */
	CAPF_IPC_T_BULK = 71,             /* u64: bulk transaction token */
	CAPF_IPC_T_DRY_RUN = 72,          /* u8: 1 = validate everything, change nothing */
	CAPF_IPC_T_COUNT = 73,            /* u32 */
	CAPF_IPC_T_ITEM_ERROR = 74,       /* nested, repeatable: {DEVICE_NAME, TEXT} */
	/* CAPF certificates, trust, audit, stats */
	CAPF_IPC_T_CAPF_CERT = 80,     /* nested, repeatable: a CAPF CA/TLS certificate record */
	CAPF_IPC_T_CERT_ROLE = 81,     /* u8, enum capf_ipc_cert_role */
	CAPF_IPC_T_FINGERPRINT = 82,   /* bytes <= 64 */
	CAPF_IPC_T_SUBJECT = 83,       /* str <= 1024, RFC 4514 */
	CAPF_IPC_T_NOT_BEFORE = 84,    /* i64 */
	CAPF_IPC_T_NOT_AFTER = 85,     /* i64 */
	CAPF_IPC_T_CHAIN_CERT = 86,    /* bytes <= 16384, repeatable: chain, leaf first after CERT */
	CAPF_IPC_T_CSR = 87,           /* bytes <= 16384: PKCS#10 DER */
	CAPF_IPC_T_VALIDITY_DAYS = 88, /* u32 */
	CAPF_IPC_T_CONFIRM = 89,       /* u8: must be 1 for verbs that change a CAPF certificate */
	CAPF_IPC_T_TARGET = 90,        /* u8, enum capf_ipc_trust_target */
	CAPF_IPC_T_SAN_DNS = 91,       /* str <= 255, repeatable */
	CAPF_IPC_T_AUDIT_ROW = 92,     /* u64 */
	CAPF_IPC_T_STAT = 93,          /* nested, repeatable: {STAT_NAME, STAT_VALUE} */
	CAPF_IPC_T_STAT_NAME = 94,     /* str <= 64 */
	CAPF_IPC_T_STAT_VALUE = 95,    /* u64 */
	CAPF_IPC_T_LSC_COUNT = 96,     /* u32: LSCs still valid under a CAPF certificate */
	CAPF_IPC_T_KEY_URI = 97,       /* str <= 1024: pkcs11: URI of a CAPF CA key (no PIN) */
	CAPF_IPC_T_SAN_IP = 98,        /* str <= 45, repeatable: IPv4/IPv6 address, text */
	CAPF_IPC_T_TOKEN_STATE = 100,  /* str <= 512: PING's answer: "token up (...)" / "token DOWN ..." */
	CAPF_IPC_T_TOKEN_UP = 101,     /* u8: PING's answer: 1 the CAPF CA token is usable, 0 down */
	CAPF_IPC_T_BACKUP = 140,       /* u64: a backup snapshot's handle (BACKUP_BEGIN) */
	CAPF_IPC_T_OFFSET = 141,       /* u64: byte offset into the snapshot */
	CAPF_IPC_T_DATA = 142,         /* bytes <= 49152: a piece of the snapshot */
	CAPF_IPC_T_SIZE = 143,         /* u64: the snapshot's size in bytes */
	CAPF_IPC_T_SHA256 = 144,       /* bytes <= 32: SHA-256 of the whole snapshot */
	CAPF_IPC_T_EXPORT_ERROR = 120, /* str <= 1024: the change is made, an export file was not written */
	/* device certificates, history, list filters */
	CAPF_IPC_T_CERT_KIND = 210,        /* u8, enum capf_ipc_cert_kind */
	CAPF_IPC_T_EVENT = 211,            /* nested, repeatable: {EVENT_TIME, EVENT_KIND, ...} */
	CAPF_IPC_T_EVENT_TIME = 212,       /* i64, Unix time */
	CAPF_IPC_T_EVENT_KIND = 213,       /* str <= 32: "issued", "fetched", "deleted", "refused", ... */
	CAPF_IPC_T_EVENT_OUTCOME = 214,    /* str <= 1024: the outcome in words */
	CAPF_IPC_T_FILTER_AUTH_MODE = 215, /* u8, enum capf_auth_mode; repeatable */
	CAPF_IPC_T_FILTER_KEY_ORDER = 216, /* u8, enum capf_key_order; repeatable */
	CAPF_IPC_T_FILTER_FLAGS = 217,     /* u8, CAPF_IPC_DEVF_* that must all be set */
	CAPF_IPC_T_DEV_FLAGS = 218,        /* u8, CAPF_IPC_DEVF_* of a device record */
	CAPF_IPC_T_LSC_DAYS_LEFT = 219,    /* i64: whole days left on the LSC, by the signer's clock */
	CAPF_IPC_T_ISSUER_NAME = 220,      /* str <= 1024: a certificate's issuer, RFC 2253 */
	/* audit trail and checkpoints (AUDIT_ROWS, AUDIT_CHECKPOINTS) */
	CAPF_IPC_T_AUDIT_ENTRY = 190,     /* nested, repeatable: {AUDIT_ROW, AUDIT_TIME, ...} */
	CAPF_IPC_T_AUDIT_TIME = 191,      /* i64, Unix time */
	CAPF_IPC_T_AUDIT_UID = 192,       /* u32 */
	CAPF_IPC_T_AUDIT_ROLE = 193,      /* str <= 32 */
	CAPF_IPC_T_AUDIT_ACTION = 194,    /* str <= 4096 */
	CAPF_IPC_T_AUDIT_SUBJECT = 195,   /* str <= 4096 */
	CAPF_IPC_T_AUDIT_DETAIL = 196,    /* str <= 4096 */
	CAPF_IPC_T_AUDIT_PREV_HASH = 197, /* bytes <= 32 */
	CAPF_IPC_T_AUDIT_HASH = 198,      /* bytes <= 32 */
	CAPF_IPC_T_AUDIT_CHECKPOINT =
		199, /* nested, repeatable: {AUDIT_CP_ID, AUDIT_TIME, AUDIT_ROW, AUDIT_HASH, AUDIT_KEY_ID, AUDIT_SIG} */
	CAPF_IPC_T_AUDIT_CP_ID = 200,   /* u64 */
	CAPF_IPC_T_AUDIT_SIG = 201,     /* bytes <= 1024 */
	CAPF_IPC_T_AUDIT_KEY_ID = 202,  /* str <= 64: SHA-256 of the audit public key, hex */
	CAPF_IPC_T_AUDIT_AFTER = 203,   /* u64: request: start after this id; response: the last id looked at */
	CAPF_IPC_T_AUDIT_SINCE = 204,   /* i64: only rows at or after this Unix time */
	CAPF_IPC_T_AUDIT_MORE = 205,    /* u8 1: the page is full, ask again from AUDIT_AFTER */
	CAPF_IPC_T_AUDIT_CP_ROWS = 206, /* u32: audit.checkpoint_rows */
	CAPF_IPC_T_AUDIT_CP_INTERVAL = 207, /* u32: audit.checkpoint_interval, seconds */
	/* key role */
	CAPF_IPC_T_KEY_SLOT = 230,  /* u32: a key loaded in capf-keyd, chosen by capf-signerd */
	CAPF_IPC_T_KEY_CLASS = 231, /* u8, enum capf_ipc_key_class */
	CAPF_IPC_T_SIGN_KIND = 232, /* u8, enum capf_ipc_sign_kind: what the key signs, how it is linted */
	CAPF_IPC_T_KEY_DATA = 233,  /* bytes <= 4096: an audit checkpoint message, an HMAC input */
	CAPF_IPC_T_KEY_SIG = 234,   /* bytes <= 1024: a signature over KEY_DATA */
	CAPF_IPC_T_KEY_LABEL = 235, /* str <= 64: CKA_LABEL of a generated key */
	CAPF_IPC_T_KEY_MAC = 236,   /* bytes <= 32: HMAC-SHA-256 */

	/* append new tags above (and a row in ipc_schema.c) */
};

enum capf_ipc_status {
	CAPF_IPC_OK = 0,
	CAPF_IPC_REFUSED = 1,     /* CAUSE required, TEXT optional */
	CAPF_IPC_RETRY_LATER = 2, /* RETRY_DELAY required: signer saturated, token down */
	CAPF_IPC_ERROR = 3,       /* TEXT required */
};

enum capf_ipc_decision {                          /* BEGIN's answer */
			 CAPF_IPC_DO_INSTALL = 1, /* KEY_ALT list follows, in key order */
			 CAPF_IPC_DO_FETCH = 2,
			 CAPF_IPC_DO_DELETE = 3,
			 CAPF_IPC_DO_NOTHING = 4,        /* END_SESSION REASON 0 */
			 CAPF_IPC_DO_UNKNOWN_DEVICE = 5, /* END_SESSION REASON 9 */
};

enum capf_ipc_outcome { /* RESULT: what the phone answered */
			CAPF_IPC_STORED = 1,
			CAPF_IPC_STORE_FAILED = 2,
			CAPF_IPC_KEYGEN_FAILED = 3, /* ALT_INDEX: the alternative that failed */
			CAPF_IPC_FETCHED = 4,       /* CERT: the certificate the phone holds */
			CAPF_IPC_FETCH_NONE = 5,
			CAPF_IPC_DELETED = 6,
			CAPF_IPC_DELETE_FAILED = 7,
			CAPF_IPC_COMM_FAILURE = 8, /* timeout, TLS error, malformed message */
			CAPF_IPC_KEYGEN_TIMEOUT = 9,
};

enum capf_ipc_cert_role {
	CAPF_IPC_CERT_ACTIVE = 0,   /* the CAPF CA signing now */
	CAPF_IPC_CERT_PREVIOUS = 1, /* still trusted for LSC authentication */
	CAPF_IPC_CERT_RETIRED = 2,
	CAPF_IPC_CERT_TLS = 3,     /* the front end's TLS certificate */
	CAPF_IPC_CERT_PENDING = 4, /* CSR exported, waiting for CAPF_IMPORT */
};

enum capf_ipc_cert_kind {                            /* DEVICE_CERT: which certificate */
			  CAPF_IPC_CERT_FETCHED = 0, /* the last one a phone returned to Troubleshoot */
			  CAPF_IPC_CERT_LSC = 1,     /* the current LSC as issued */
};

/* DEV_FLAGS / FILTER_FLAGS bits */
#define CAPF_IPC_DEVF_NO_LSC 0x01          /* no current LSC */
#define CAPF_IPC_DEVF_DEADLINE_PASSED 0x02 /* an operation pending past its deadline */
#define CAPF_IPC_DEVF_LOCKED_OUT 0x04      /* failed attempts reached auth.max_failed_attempts */
#define CAPF_IPC_DEVF_ALL 0x07

enum capf_ipc_key_class {                              /* KEY_LOAD: what the key is for */
			  CAPF_IPC_KEYCLASS_CA = 0,    /* a CAPF CA key: certificates and CSRs */
			  CAPF_IPC_KEYCLASS_AUDIT = 1, /* the audit key: checkpoint messages only */
			  CAPF_IPC_KEYCLASS_HMAC = 2,  /* the secret key of authentication strings: HMAC only */
};

enum capf_ipc_sign_kind {                        /* KEY_SIGN: what is signed, and its lint */
			  CAPF_IPC_SIGN_LSC = 1, /* CERT: an unsigned LSC (policy/lsc.h) */
			  CAPF_IPC_SIGN_TLS = 2, /* CERT: the front end's TLS server certificate */
			  CAPF_IPC_SIGN_CA =
				  3, /* CERT: a self-signed CAPF CA certificate for the slot's own key */
			  CAPF_IPC_SIGN_CSR = 4,        /* CSR: a PKCS#10 request for the slot's own key */
			  CAPF_IPC_SIGN_CHECKPOINT = 5, /* KEY_DATA: an audit checkpoint message */
};

enum capf_ipc_trust_target {
	CAPF_IPC_TRUST_ALL = 0,
	CAPF_IPC_TRUST_CALLMANAGER = 1, /* CallManager-trust */
	CAPF_IPC_TRUST_CAPF = 2,        /* CAPF-trust */
	CAPF_IPC_TRUST_8021X = 3,       /* 802.1X / RADIUS servers */
	CAPF_IPC_TRUST_ASA = 4,
	CAPF_IPC_TRUST_ITL = 5, /* the TLS certificate for the ITL's CAPF record */
};

enum capf_ipc_err {
	CAPF_IPC_E_OK = 0,
	CAPF_IPC_E_MALFORMED = -1,   /* short header, field overrunning, nesting broken */
	CAPF_IPC_E_VERSION = -2,     /* version byte not 1, unknown flags */
	CAPF_IPC_E_VERB = -3,        /* unknown verb, or not allowed for this role */
	CAPF_IPC_E_TAG = -4,         /* unknown tag */
	CAPF_IPC_E_FIELD = -5,       /* wrong size/type, NUL inside a string, above the cap */
	CAPF_IPC_E_NOT_ALLOWED = -6, /* a field the verb (or nesting) does not allow */
	CAPF_IPC_E_DUPLICATE = -7,   /* non-repeatable field twice */
	CAPF_IPC_E_MISSING = -8,     /* required field absent */
	CAPF_IPC_E_TOO_BIG = -9,     /* message above CAPF_IPC_MSG_MAX */
	CAPF_IPC_E_MISMATCH = -10,   /* response does not echo the request's verb/id */
	CAPF_IPC_E_NOMEM = -11,
	CAPF_IPC_E_ARG = -12, /* caller error (builder misuse) */
};

struct capf_ipc_field {
	uint16_t tag;
	uint16_t len;
	const uint8_t *val; /* into the decoded buffer */
};

struct capf_ipc_msg {
	uint8_t version;
	uint8_t flags;
	uint16_t verb;
	uint32_t id;
	uint8_t status; /* responses: the STATUS field */
	size_t nfields;
	struct capf_ipc_field *fields; /* allocated by decode; free with capf_ipc_msg_free */
};

/*
 * Decodes a request that arrived on a socket of the given roles (mask of enum
 * capf_ipc_role). buf must stay valid while m is used; m is overwritten (free
 * an earlier decode first) and holds nothing to free after an error. Returns 0
 * or a negative enum capf_ipc_err (then close the connection).
 */
int capf_ipc_decode_request(struct capf_ipc_msg *m, const uint8_t *buf, size_t len, unsigned roles, char *err,
			    size_t errlen);
/* Decodes the response to the request (verb, id): CAPF_IPC_E_MISMATCH unless
 * both are echoed. Fields required for the verb are checked only with status OK. */
int capf_ipc_decode_response(struct capf_ipc_msg *m, const uint8_t *buf, size_t len, uint16_t verb, uint32_t id,
			     char *err, size_t errlen);
/* Decodes a nested field (KEY_ALT, DEVICE, ITEM_ERROR, CAPF_CERT, STAT) into
 * sub (sub->verb = 0); it was already validated by the top-level decode. */
int capf_ipc_decode_nested(const struct capf_ipc_field *f, struct capf_ipc_msg *sub, char *err, size_t errlen);
void capf_ipc_msg_free(struct capf_ipc_msg *m);

/* Lookup. find: the first field with tag after `after` (NULL: from the start). */
const struct capf_ipc_field *capf_ipc_find(const struct capf_ipc_msg *m, uint16_t tag,
					   const struct capf_ipc_field *after);
unsigned capf_ipc_count(const struct capf_ipc_msg *m, uint16_t tag);
/* Typed getters: 0 when present (types were checked by decode), -1 when absent. */
int capf_ipc_get_u8(const struct capf_ipc_msg *m, uint16_t tag, uint8_t *v);
int capf_ipc_get_u32(const struct capf_ipc_msg *m, uint16_t tag, uint32_t *v);
int capf_ipc_get_u64(const struct capf_ipc_msg *m, uint16_t tag, uint64_t *v);
int capf_ipc_get_i64(const struct capf_ipc_msg *m, uint16_t tag, int64_t *v);
int capf_ipc_get_bytes(const struct capf_ipc_msg *m, uint16_t tag, const uint8_t **p, size_t *len);
/* Copies a string field into buf with a NUL: 0, -1 absent, -2 buf too small. */
int capf_ipc_get_str(const struct capf_ipc_msg *m, uint16_t tag, char *buf, size_t buflen);
/* The same on one field (for repeated ones). */
uint8_t capf_ipc_field_u8(const struct capf_ipc_field *f);
uint32_t capf_ipc_field_u32(const struct capf_ipc_field *f);
uint64_t capf_ipc_field_u64(const struct capf_ipc_field *f);
int64_t capf_ipc_field_i64(const struct capf_ipc_field *f);
int capf_ipc_field_str(const struct capf_ipc_field *f, char *buf, size_t buflen);

/*
 * Builder. One CAPF_IPC_MSG_MAX buffer, wiped on free as far as it was written
 * (it may carry an authentication string or a PASSWORD), then kept as the
 * calling thread's spare for its next builder. Errors are sticky; finish reports the
 * first one and validates the message against the schema, so that a sender
 * never puts on the wire what the receiver would refuse.
 */
struct capf_ipc_builder {
	uint8_t *buf;
	size_t len;
	size_t nest_at; /* offset of the open nested field header, 0: none */
	int error;
	char errmsg[160];
};
int capf_ipc_build_request(struct capf_ipc_builder *b, uint16_t verb, uint32_t id);
/* A response to req with a status; put CAUSE/TEXT/RETRY_DELAY and verb fields after. */
int capf_ipc_build_response(struct capf_ipc_builder *b, const struct capf_ipc_msg *req, uint8_t status);
int capf_ipc_put_u8(struct capf_ipc_builder *b, uint16_t tag, uint8_t v);
int capf_ipc_put_u32(struct capf_ipc_builder *b, uint16_t tag, uint32_t v);
int capf_ipc_put_u64(struct capf_ipc_builder *b, uint16_t tag, uint64_t v);
int capf_ipc_put_i64(struct capf_ipc_builder *b, uint16_t tag, int64_t v);
int capf_ipc_put_str(struct capf_ipc_builder *b, uint16_t tag, const char *s);
int capf_ipc_put_bytes(struct capf_ipc_builder *b, uint16_t tag, const void *p, size_t len);
/* Nested fields: begin, put the inner fields, end. One level of nesting. */
int capf_ipc_nest_begin(struct capf_ipc_builder *b, uint16_t tag);
int capf_ipc_nest_end(struct capf_ipc_builder *b);
/* *out and *outlen: the message (owned by b), ready for one send(). */
int capf_ipc_build_finish(struct capf_ipc_builder *b, const uint8_t **out, size_t *outlen, char *err,
			  size_t errlen);
void capf_ipc_builder_free(struct capf_ipc_builder *b);

/* Names for logs: "BEGIN", "DEVICE_NAME", "REFUSED", "install", "stored", "malformed"... */
const char *capf_ipc_verb_name(unsigned verb);
const char *capf_ipc_tag_name(unsigned tag);
const char *capf_ipc_status_name(unsigned status);
const char *capf_ipc_decision_name(unsigned d);
const char *capf_ipc_outcome_name(unsigned o);
const char *capf_ipc_cert_role_name(unsigned r);
const char *capf_ipc_trust_target_name(unsigned t);
const char *capf_ipc_err_name(int rc);
/* The roles (enum capf_ipc_role mask) allowed to send verb; 0 when unknown. */
unsigned capf_ipc_verb_roles(unsigned verb);

#endif
