/*
 * appliance/ipc/ipc_schema.c: every tag with its type and cap, every verb with
 * its roles and its request and response fields (see PROTOCOL.md). To extend:
 * append to the enums in ipc.h, add rows here, a line to PROTOCOL.md.
 */
#include <stddef.h>
#include <stdio.h>

#include "appliance/ipc/ipc.h"
#include "appliance/ipc/ipc_int.h"
#include "policy/device.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct ipc_tagdef tags[] = {
	{ CAPF_IPC_T_STATUS, FT_U8, 0, CAPF_IPC_ERROR, "STATUS" },
	{ CAPF_IPC_T_CAUSE, FT_U8, 0, CAPF_FAIL_CA_REJECTED, "CAUSE" },
	{ CAPF_IPC_T_TEXT, FT_STR, 0, 1024, "TEXT" },
	{ CAPF_IPC_T_RETRY_DELAY, FT_U32, 0, 0, "RETRY_DELAY" },
	{ CAPF_IPC_T_DEVICE_NAME, FT_STR, 0, CAPF_DEVICE_NAME_MAX, "DEVICE_NAME" },
	{ CAPF_IPC_T_CLIENT_VERSION, FT_U8, 0, 255, "CLIENT_VERSION" },
	{ CAPF_IPC_T_CAPF_SESSION, FT_U32, 0, 0, "CAPF_SESSION" },
	{ CAPF_IPC_T_PEER, FT_STR, 0, 128, "PEER" },
	{ CAPF_IPC_T_PASSWORD, FT_STR, TF_REQUEST_ONLY, 64, "PASSWORD" },
	{ CAPF_IPC_T_CERT, FT_BYTES, 0, 16384, "CERT" },
	{ CAPF_IPC_T_CERT_TYPE, FT_U8, 0, 255, "CERT_TYPE" },
	{ CAPF_IPC_T_SIGNED_DATA, FT_BYTES, 0, 1024, "SIGNED_DATA" },
	{ CAPF_IPC_T_SHA2_HASH, FT_U8, 0, 255, "SHA2_HASH" },
	{ CAPF_IPC_T_SHA2_SIG, FT_BYTES, 0, 1024, "SHA2_SIG" },
	{ CAPF_IPC_T_SUDI_DATA, FT_BYTES, 0, 16384, "SUDI_DATA" },
	{ CAPF_IPC_T_TOKEN, FT_U64, 0, 0, "TOKEN" },
	{ CAPF_IPC_T_DECISION, FT_U8, 0, CAPF_IPC_DO_UNKNOWN_DEVICE, "DECISION" },
	{ CAPF_IPC_T_KEY_ALT, FT_NEST, 0, 65535, "KEY_ALT" },
	{ CAPF_IPC_T_KEY_TYPE, FT_U8, 0, CAPF_KEY_EC, "KEY_TYPE" },
	{ CAPF_IPC_T_RSA_BITS, FT_U32, 0, 0, "RSA_BITS" },
	{ CAPF_IPC_T_CURVE, FT_U8, 0, CAPF_CURVE_P521, "CURVE" },
	{ CAPF_IPC_T_ALT_INDEX, FT_U8, 0, 255, "ALT_INDEX" },
	{ CAPF_IPC_T_PUBLIC_KEY, FT_BYTES, 0, 4096, "PUBLIC_KEY" },
	{ CAPF_IPC_T_OUTCOME, FT_U8, 0, CAPF_IPC_KEYGEN_TIMEOUT, "OUTCOME" },
	{ CAPF_IPC_T_DEVICE, FT_NEST, 0, 65535, "DEVICE" },
	{ CAPF_IPC_T_OPERATION, FT_U8, 0, CAPF_OP_FETCH, "OPERATION" },
	{ CAPF_IPC_T_AUTH_MODE, FT_U8, 0, CAPF_AUTH_MIC_FIRST, "AUTH_MODE" },
	{ CAPF_IPC_T_AUTH_STRING, FT_STR, TF_REQUEST_ONLY, 64, "AUTH_STRING" },
	{ CAPF_IPC_T_KEY_ORDER, FT_U8, 0, CAPF_KEYORDER_EC_PREFERRED, "KEY_ORDER" },
	{ CAPF_IPC_T_DEADLINE, FT_I64, 0, 0, "DEADLINE" },
	{ CAPF_IPC_T_DEV_STATUS, FT_U8, 0, CAPF_ST_FAILED, "DEV_STATUS" },
	{ CAPF_IPC_T_STATUS_OP, FT_U8, 0, CAPF_OP_FETCH, "STATUS_OP" },
	{ CAPF_IPC_T_FAILED_ATTEMPTS, FT_U32, 0, 0, "FAILED_ATTEMPTS" },
	{ CAPF_IPC_T_LAST_SEEN, FT_I64, 0, 0, "LAST_SEEN" },
	{ CAPF_IPC_T_LSC_SERIAL, FT_STR, 0, 64, "LSC_SERIAL" },
	{ CAPF_IPC_T_LSC_ISSUER, FT_STR, 0, 1024, "LSC_ISSUER" },
	{ CAPF_IPC_T_LSC_NOT_AFTER, FT_I64, 0, 0, "LSC_NOT_AFTER" },
	{ CAPF_IPC_T_FILTER_NAME, FT_STR, 0, 64, "FILTER_NAME" },
	{ CAPF_IPC_T_FILTER_STATUS, FT_U8, 0, CAPF_ST_FAILED, "FILTER_STATUS" },
	{ CAPF_IPC_T_FILTER_OPERATION, FT_U8, 0, CAPF_OP_FETCH, "FILTER_OPERATION" },
	{ CAPF_IPC_T_FILTER_EXPIRING, FT_U32, 0, 0, "FILTER_EXPIRING" },
	{ CAPF_IPC_T_FILTER_ISSUER, FT_BYTES, 0, 64, "FILTER_ISSUER" },
	{ CAPF_IPC_T_CURSOR, FT_BYTES, 0, 256, "CURSOR" },
	{ CAPF_IPC_T_LIMIT, FT_U32, 0, 0, "LIMIT" },
	{ CAPF_IPC_T_BULK, FT_U64, 0, 0, "BULK" },
	{ CAPF_IPC_T_DRY_RUN, FT_U8, 0, 1, "DRY_RUN" },
	{ CAPF_IPC_T_COUNT, FT_U32, 0, 0, "COUNT" },
	{ CAPF_IPC_T_ITEM_ERROR, FT_NEST, 0, 65535, "ITEM_ERROR" },
	{ CAPF_IPC_T_CAPF_CERT, FT_NEST, 0, 65535, "CAPF_CERT" },
	{ CAPF_IPC_T_CERT_ROLE, FT_U8, 0, CAPF_IPC_CERT_PENDING, "CERT_ROLE" },
	{ CAPF_IPC_T_FINGERPRINT, FT_BYTES, 0, 64, "FINGERPRINT" },
	{ CAPF_IPC_T_SUBJECT, FT_STR, 0, 1024, "SUBJECT" },
	{ CAPF_IPC_T_NOT_BEFORE, FT_I64, 0, 0, "NOT_BEFORE" },
	{ CAPF_IPC_T_NOT_AFTER, FT_I64, 0, 0, "NOT_AFTER" },
	{ CAPF_IPC_T_CHAIN_CERT, FT_BYTES, 0, 16384, "CHAIN_CERT" },
	{ CAPF_IPC_T_CSR, FT_BYTES, 0, 16384, "CSR" },
	{ CAPF_IPC_T_VALIDITY_DAYS, FT_U32, 0, 0, "VALIDITY_DAYS" },
	{ CAPF_IPC_T_CONFIRM, FT_U8, 0, 1, "CONFIRM" },
	{ CAPF_IPC_T_TARGET, FT_U8, 0, CAPF_IPC_TRUST_ITL, "TARGET" },
	{ CAPF_IPC_T_SAN_DNS, FT_STR, 0, 255, "SAN_DNS" },
	{ CAPF_IPC_T_AUDIT_ROW, FT_U64, 0, 0, "AUDIT_ROW" },
	{ CAPF_IPC_T_STAT, FT_NEST, 0, 65535, "STAT" },
	{ CAPF_IPC_T_STAT_NAME, FT_STR, 0, 64, "STAT_NAME" },
	{ CAPF_IPC_T_STAT_VALUE, FT_U64, 0, 0, "STAT_VALUE" },
	{ CAPF_IPC_T_LSC_COUNT, FT_U32, 0, 0, "LSC_COUNT" },
	{ CAPF_IPC_T_KEY_URI, FT_STR, 0, 1024, "KEY_URI" },
	{ CAPF_IPC_T_SAN_IP, FT_STR, 0, 45, "SAN_IP" },
	{ CAPF_IPC_T_TOKEN_STATE, FT_STR, 0, 512, "TOKEN_STATE" },
	{ CAPF_IPC_T_TOKEN_UP, FT_U8, 0, 1, "TOKEN_UP" },
	{ CAPF_IPC_T_BACKUP, FT_U64, 0, 0, "BACKUP" },
	{ CAPF_IPC_T_OFFSET, FT_U64, 0, 0, "OFFSET" },
	{ CAPF_IPC_T_DATA, FT_BYTES, 0, 49152, "DATA" },
	{ CAPF_IPC_T_SIZE, FT_U64, 0, 0, "SIZE" },
	{ CAPF_IPC_T_SHA256, FT_BYTES, 0, 32, "SHA256" },
	{ CAPF_IPC_T_EXPORT_ERROR, FT_STR, 0, 1024, "EXPORT_ERROR" },
	{ CAPF_IPC_T_CERT_KIND, FT_U8, 0, CAPF_IPC_CERT_LSC, "CERT_KIND" },
	{ CAPF_IPC_T_EVENT, FT_NEST, 0, 65535, "EVENT" },
	{ CAPF_IPC_T_EVENT_TIME, FT_I64, 0, 0, "EVENT_TIME" },
	{ CAPF_IPC_T_EVENT_KIND, FT_STR, 0, 32, "EVENT_KIND" },
	{ CAPF_IPC_T_EVENT_OUTCOME, FT_STR, 0, 1024, "EVENT_OUTCOME" },
	{ CAPF_IPC_T_FILTER_AUTH_MODE, FT_U8, 0, CAPF_AUTH_MIC_FIRST, "FILTER_AUTH_MODE" },
	{ CAPF_IPC_T_FILTER_KEY_ORDER, FT_U8, 0, CAPF_KEYORDER_EC_PREFERRED, "FILTER_KEY_ORDER" },
	{ CAPF_IPC_T_FILTER_FLAGS, FT_U8, 0, CAPF_IPC_DEVF_ALL, "FILTER_FLAGS" },
	{ CAPF_IPC_T_DEV_FLAGS, FT_U8, 0, CAPF_IPC_DEVF_ALL, "DEV_FLAGS" },
	{ CAPF_IPC_T_LSC_DAYS_LEFT, FT_I64, 0, 0, "LSC_DAYS_LEFT" },
	{ CAPF_IPC_T_ISSUER_NAME, FT_STR, 0, 1024, "ISSUER_NAME" },
	{ CAPF_IPC_T_AUDIT_ENTRY, FT_NEST, 0, 65535, "AUDIT_ENTRY" },
	{ CAPF_IPC_T_AUDIT_TIME, FT_I64, 0, 0, "AUDIT_TIME" },
	{ CAPF_IPC_T_AUDIT_UID, FT_U32, 0, 0, "AUDIT_UID" },
	{ CAPF_IPC_T_AUDIT_ROLE, FT_STR, 0, 32, "AUDIT_ROLE" },
	{ CAPF_IPC_T_AUDIT_ACTION, FT_STR, 0, 4096, "AUDIT_ACTION" },
	{ CAPF_IPC_T_AUDIT_SUBJECT, FT_STR, 0, 4096, "AUDIT_SUBJECT" },
	{ CAPF_IPC_T_AUDIT_DETAIL, FT_STR, 0, 4096, "AUDIT_DETAIL" },
	{ CAPF_IPC_T_AUDIT_PREV_HASH, FT_BYTES, 0, 32, "AUDIT_PREV_HASH" },
	{ CAPF_IPC_T_AUDIT_HASH, FT_BYTES, 0, 32, "AUDIT_HASH" },
	{ CAPF_IPC_T_AUDIT_CHECKPOINT, FT_NEST, 0, 65535, "AUDIT_CHECKPOINT" },
	{ CAPF_IPC_T_AUDIT_CP_ID, FT_U64, 0, 0, "AUDIT_CP_ID" },
	{ CAPF_IPC_T_AUDIT_SIG, FT_BYTES, 0, 1024, "AUDIT_SIG" },
	{ CAPF_IPC_T_AUDIT_KEY_ID, FT_STR, 0, 64, "AUDIT_KEY_ID" },
	{ CAPF_IPC_T_AUDIT_AFTER, FT_U64, 0, 0, "AUDIT_AFTER" },
	{ CAPF_IPC_T_AUDIT_SINCE, FT_I64, 0, 0, "AUDIT_SINCE" },
	{ CAPF_IPC_T_AUDIT_MORE, FT_U8, 0, 1, "AUDIT_MORE" },
	{ CAPF_IPC_T_AUDIT_CP_ROWS, FT_U32, 0, 0, "AUDIT_CP_ROWS" },
	{ CAPF_IPC_T_AUDIT_CP_INTERVAL, FT_U32, 0, 0, "AUDIT_CP_INTERVAL" },
	{ CAPF_IPC_T_KEY_SLOT, FT_U32, 0, 0, "KEY_SLOT" },
	{ CAPF_IPC_T_KEY_CLASS, FT_U8, 0, CAPF_IPC_KEYCLASS_HMAC, "KEY_CLASS" },
	{ CAPF_IPC_T_SIGN_KIND, FT_U8, 0, CAPF_IPC_SIGN_CHECKPOINT, "SIGN_KIND" },
	{ CAPF_IPC_T_KEY_DATA, FT_BYTES, 0, 4096, "KEY_DATA" },
	{ CAPF_IPC_T_KEY_SIG, FT_BYTES, 0, 1024, "KEY_SIG" },
	{ CAPF_IPC_T_KEY_LABEL, FT_STR, 0, 64, "KEY_LABEL" },
	{ CAPF_IPC_T_KEY_MAC, FT_BYTES, 0, 32, "KEY_MAC" },
};

#define R(t)                                \
	{                                   \
		CAPF_IPC_T_##t, RF_REQUIRED \
	}
#define O(t)                      \
	{                         \
		CAPF_IPC_T_##t, 0 \
	}
#define M(t)                              \
	{                                 \
		CAPF_IPC_T_##t, RF_REPEAT \
	}
#define END          \
	{            \
		0, 0 \
	}

const struct ipc_rule ipc_response_common[] = { O(STATUS), O(CAUSE), O(TEXT), O(RETRY_DELAY), END };
static const struct ipc_rule none[] = { END };

/* front role */
static const struct ipc_rule begin_req[] = { R(DEVICE_NAME), R(CAPF_SESSION), R(PEER),      O(CLIENT_VERSION),
					     O(PASSWORD),    O(CERT),         O(CERT_TYPE), O(SIGNED_DATA),
					     O(SHA2_HASH),   O(SHA2_SIG),     O(SUDI_DATA), END };
static const struct ipc_rule begin_rsp[] = { R(DECISION), R(TOKEN), M(KEY_ALT), END };
static const struct ipc_rule issue_req[] = { R(TOKEN), R(PUBLIC_KEY), R(ALT_INDEX), END };
static const struct ipc_rule issue_rsp[] = { R(CERT), END };
static const struct ipc_rule result_req[] = { R(TOKEN), R(OUTCOME), O(ALT_INDEX), O(CERT), O(TEXT), END };
static const struct ipc_rule result_rsp[] = { O(KEY_ALT), O(ALT_INDEX), END };
static const struct ipc_rule abort_req[] = { R(TOKEN), R(CAUSE), O(TEXT), END };
static const struct ipc_rule session_id_req[] = { R(PEER), END };
static const struct ipc_rule session_id_rsp[] = { R(CAPF_SESSION), END };

/* admin role */
static const struct ipc_rule device_req[] = { R(DEVICE), END };
static const struct ipc_rule device_rsp[] = { O(DEVICE), END };
static const struct ipc_rule device_rsp_req[] = { R(DEVICE), END };
static const struct ipc_rule name_req[] = { R(DEVICE_NAME), END };
static const struct ipc_rule list_req[] = { O(FILTER_NAME),      M(FILTER_STATUS), M(FILTER_OPERATION),
					    O(CURSOR),           O(LIMIT),         M(FILTER_AUTH_MODE),
					    M(FILTER_KEY_ORDER), O(FILTER_FLAGS),  END };
static const struct ipc_rule list_rsp[] = { M(DEVICE), O(CURSOR), O(COUNT), END };
static const struct ipc_rule bulk_begin_req[] = { O(TEXT), END };
static const struct ipc_rule bulk_begin_rsp[] = { R(BULK), END };
static const struct ipc_rule bulk_add_req[] = { R(BULK), M(DEVICE), END };
static const struct ipc_rule bulk_rsp[] = { O(COUNT), M(ITEM_ERROR), END };
static const struct ipc_rule bulk_commit_req[] = { R(BULK), O(DRY_RUN), END };
static const struct ipc_rule bulk_abort_req[] = { R(BULK), END };
static const struct ipc_rule report_req[] = { O(FILTER_NAME),
					      M(FILTER_STATUS),
					      M(FILTER_OPERATION),
					      O(FILTER_EXPIRING),
					      O(FILTER_ISSUER),
					      O(CURSOR),
					      O(LIMIT),
					      M(FILTER_AUTH_MODE),
					      M(FILTER_KEY_ORDER),
					      O(FILTER_FLAGS),
					      END };
static const struct ipc_rule capf_certs_rsp[] = { M(CAPF_CERT), END };
static const struct ipc_rule capf_cert_rsp[] = { O(CAPF_CERT), O(EXPORT_ERROR), END };
static const struct ipc_rule regen_req[] = { R(CONFIRM), O(KEY_TYPE),      O(RSA_BITS), O(CURVE),
					     O(SUBJECT), O(VALIDITY_DAYS), END };
static const struct ipc_rule csr_req[] = { O(KEY_TYPE), O(RSA_BITS), O(CURVE), O(SUBJECT), END };
static const struct ipc_rule csr_rsp[] = { R(CSR), END };
static const struct ipc_rule import_req[] = { R(CONFIRM), R(CERT), M(CHAIN_CERT), END };
static const struct ipc_rule tls_req[] = { O(PUBLIC_KEY),    O(CSR),     O(SUBJECT), M(SAN_DNS),
					   O(VALIDITY_DAYS), O(CONFIRM), M(SAN_IP),  END };
static const struct ipc_rule tls_rsp[] = { R(CERT), M(CHAIN_CERT), END };
static const struct ipc_rule trust_req[] = { R(TARGET), END };
static const struct ipc_rule audit_rsp[] = { O(COUNT), O(AUDIT_ROW), END };
static const struct ipc_rule stats_rsp[] = { M(STAT), END };
static const struct ipc_rule ping_rsp[] = { O(TOKEN_UP), O(TOKEN_STATE), END };
static const struct ipc_rule backup_begin_rsp[] = { R(BACKUP), R(SIZE), R(SHA256), O(COUNT), END };
static const struct ipc_rule backup_read_req[] = { R(BACKUP), R(OFFSET), END };
static const struct ipc_rule backup_read_rsp[] = { R(DATA), END };
static const struct ipc_rule backup_end_req[] = { R(BACKUP), END };
static const struct ipc_rule adopt_req[] = { R(CONFIRM), R(KEY_URI), R(CERT), M(CHAIN_CERT), END };
static const struct ipc_rule dev_cert_req[] = { R(DEVICE_NAME), O(CERT_KIND), END };
static const struct ipc_rule dev_cert_rsp[] = {
	R(CERT), O(EVENT_TIME), O(EVENT_OUTCOME), O(LSC_SERIAL), O(LSC_ISSUER), O(ISSUER_NAME), END
};
static const struct ipc_rule history_req[] = { R(DEVICE_NAME), O(CURSOR), END };
static const struct ipc_rule history_rsp[] = { M(EVENT), O(CURSOR), END };
static const struct ipc_rule audit_rows_req[] = { O(AUDIT_AFTER), O(LIMIT), O(AUDIT_SINCE), O(DEVICE_NAME),
						  END };
static const struct ipc_rule audit_rows_rsp[] = { M(AUDIT_ENTRY), O(AUDIT_AFTER), O(AUDIT_MORE), END };
static const struct ipc_rule audit_cps_req[] = { O(AUDIT_AFTER), END };
static const struct ipc_rule audit_cps_rsp[] = { M(AUDIT_CHECKPOINT),
						 O(AUDIT_AFTER),
						 O(AUDIT_MORE),
						 O(AUDIT_KEY_ID),
						 O(AUDIT_CP_ROWS),
						 O(AUDIT_CP_INTERVAL),
						 END };

/* key role (capf-signerd -> capf-keyd) */
static const struct ipc_rule key_load_req[] = { R(KEY_SLOT), R(KEY_CLASS),  R(KEY_URI),
						O(CERT),     M(CHAIN_CERT), END };
static const struct ipc_rule key_load_rsp[] = { O(PUBLIC_KEY), END };
static const struct ipc_rule key_slot_req[] = { R(KEY_SLOT), END };
static const struct ipc_rule key_sign_req[] = { R(KEY_SLOT), R(SIGN_KIND), O(CERT), O(CSR), O(KEY_DATA), END };
static const struct ipc_rule key_sign_rsp[] = { O(CERT), O(CSR), O(KEY_SIG), END };
static const struct ipc_rule key_hmac_req[] = { R(KEY_SLOT), R(KEY_DATA), END };
static const struct ipc_rule key_hmac_rsp[] = { R(KEY_MAC), END };
static const struct ipc_rule key_gen_req[] = { R(KEY_TYPE), O(RSA_BITS), O(CURVE), R(KEY_LABEL), END };
static const struct ipc_rule key_gen_rsp[] = { R(KEY_URI), R(KEY_LABEL), R(PUBLIC_KEY), END };
static const struct ipc_rule key_destroy_req[] = { R(KEY_URI), END };

/* nested */
static const struct ipc_rule key_alt[] = { R(KEY_TYPE), O(RSA_BITS), O(CURVE), END };
static const struct ipc_rule device_rec[] = { R(DEVICE_NAME),   O(OPERATION),     O(AUTH_MODE),
					      O(AUTH_STRING),   O(KEY_ORDER),     O(RSA_BITS),
					      O(CURVE),         O(DEADLINE),      O(DEV_STATUS),
					      O(STATUS_OP),     O(CAUSE),         O(FAILED_ATTEMPTS),
					      O(LAST_SEEN),     O(LSC_SERIAL),    O(LSC_ISSUER),
					      O(LSC_NOT_AFTER), O(DEV_FLAGS),     O(LSC_DAYS_LEFT),
					      O(EVENT_TIME),    O(EVENT_OUTCOME), END };
static const struct ipc_rule item_error[] = { R(DEVICE_NAME), R(TEXT), END };
static const struct ipc_rule capf_cert_rec[] = {
	R(CERT_ROLE), O(CERT),     O(SUBJECT), O(FINGERPRINT), O(NOT_BEFORE), O(NOT_AFTER), O(LSC_COUNT),
	O(KEY_TYPE),  O(RSA_BITS), O(CURVE),   O(KEY_URI),     M(CHAIN_CERT), END
};
static const struct ipc_rule stat_rec[] = { R(STAT_NAME), R(STAT_VALUE), END };
static const struct ipc_rule event_rec[] = { R(EVENT_TIME),  R(EVENT_KIND),    O(LSC_SERIAL), O(LSC_ISSUER),
					     O(ISSUER_NAME), O(EVENT_OUTCOME), O(TEXT),       END };
static const struct ipc_rule audit_entry[] = {
	R(AUDIT_ROW),     R(AUDIT_TIME),   R(AUDIT_UID),       R(AUDIT_ROLE), R(AUDIT_ACTION),
	R(AUDIT_SUBJECT), R(AUDIT_DETAIL), R(AUDIT_PREV_HASH), R(AUDIT_HASH), END
};
static const struct ipc_rule audit_cp[] = { R(AUDIT_CP_ID),  R(AUDIT_TIME), R(AUDIT_ROW), R(AUDIT_HASH),
					    R(AUDIT_KEY_ID), R(AUDIT_SIG),  END };

#define F CAPF_IPC_ROLE_FRONT
#define A CAPF_IPC_ROLE_ADMIN
#define K CAPF_IPC_ROLE_KEY
#define V(v) CAPF_IPC_##v, #v

static const struct ipc_verbdef verbs[] = {
	{ V(PING), F | A | K, none, ping_rsp },
	{ V(BEGIN), F, begin_req, begin_rsp },
	{ V(ISSUE), F, issue_req, issue_rsp },
	{ V(RESULT), F, result_req, result_rsp },
	{ V(ABORT), F, abort_req, none },
	{ V(DEVICE_ADD), A, device_req, device_rsp },
	{ V(DEVICE_SET), A, device_req, device_rsp },
	{ V(DEVICE_SHOW), A, name_req, device_rsp_req },
	{ V(DEVICE_REMOVE), A, name_req, none },
	{ V(DEVICE_LIST), A, list_req, list_rsp },
	{ V(DEVICE_RESET_LOCKOUT), A, name_req, device_rsp },
	{ V(BULK_BEGIN), A, bulk_begin_req, bulk_begin_rsp },
	{ V(BULK_ADD), A, bulk_add_req, bulk_rsp },
	{ V(BULK_COMMIT), A, bulk_commit_req, bulk_rsp },
	{ V(BULK_ABORT), A, bulk_abort_req, none },
	{ V(REPORT), A, report_req, list_rsp },
	{ V(CAPF_SHOW), A, none, capf_certs_rsp },
	{ V(CAPF_REGENERATE), A, regen_req, capf_cert_rsp },
	{ V(CAPF_CSR), A, csr_req, csr_rsp },
	{ V(CAPF_IMPORT), A, import_req, capf_cert_rsp },
	{ V(TLS_ISSUE), A, tls_req, tls_rsp },
	{ V(TRUST_EXPORT), A, trust_req, capf_certs_rsp },
	{ V(AUDIT_VERIFY), A, none, audit_rsp },
	{ V(STATS), A, none, stats_rsp },
	{ V(BACKUP_BEGIN), A, none, backup_begin_rsp },
	{ V(BACKUP_READ), A, backup_read_req, backup_read_rsp },
	{ V(BACKUP_END), A, backup_end_req, none },
	{ V(CAPF_ADOPT), A, adopt_req, capf_cert_rsp },
	{ V(SESSION_ID), F, session_id_req, session_id_rsp },
	{ V(DEVICE_CERT), A, dev_cert_req, dev_cert_rsp },
	{ V(DEVICE_HISTORY), A, history_req, history_rsp },
	{ V(AUDIT_ROWS), A, audit_rows_req, audit_rows_rsp },
	{ V(AUDIT_CHECKPOINTS), A, audit_cps_req, audit_cps_rsp },
	{ V(KEY_LOAD), K, key_load_req, key_load_rsp },
	{ V(KEY_UNLOAD), K, key_slot_req, none },
	{ V(KEY_SIGN), K, key_sign_req, key_sign_rsp },
	{ V(KEY_HMAC), K, key_hmac_req, key_hmac_rsp },
	{ V(KEY_GENERATE), K, key_gen_req, key_gen_rsp },
	{ V(KEY_DESTROY), K, key_destroy_req, none },
	{ V(KEY_PROBE), K, key_slot_req, none },
};

static const struct {
	uint16_t tag;
	const struct ipc_rule *rules;
} nests[] = {
	{ CAPF_IPC_T_KEY_ALT, key_alt },         { CAPF_IPC_T_DEVICE, device_rec },
	{ CAPF_IPC_T_ITEM_ERROR, item_error },   { CAPF_IPC_T_CAPF_CERT, capf_cert_rec },
	{ CAPF_IPC_T_STAT, stat_rec },           { CAPF_IPC_T_EVENT, event_rec },
	{ CAPF_IPC_T_AUDIT_ENTRY, audit_entry }, { CAPF_IPC_T_AUDIT_CHECKPOINT, audit_cp },
};

const struct ipc_tagdef *ipc_tagdef(uint16_t tag)
{
	for (size_t i = 0; i < NELEM(tags); i++)
		if (tags[i].tag == tag)
			return &tags[i];
	return NULL;
}

const struct ipc_verbdef *ipc_verbdef(uint16_t verb)
{
	for (size_t i = 0; i < NELEM(verbs); i++)
		if (verbs[i].verb == verb)
			return &verbs[i];
	return NULL;
}

const struct ipc_rule *ipc_nest_rules(uint16_t tag)
{
	for (size_t i = 0; i < NELEM(nests); i++)
		if (nests[i].tag == tag)
			return nests[i].rules;
	return NULL;
}

unsigned capf_ipc_verb_roles(unsigned verb)
{
	const struct ipc_verbdef *v = verb <= 0xffff ? ipc_verbdef((uint16_t)verb) : NULL;

	return v != NULL ? v->roles : 0;
}

const char *capf_ipc_verb_name(unsigned verb)
{
	const struct ipc_verbdef *v = verb <= 0xffff ? ipc_verbdef((uint16_t)verb) : NULL;

	return v != NULL ? v->name : "UNKNOWN";
}

const char *capf_ipc_tag_name(unsigned tag)
{
	const struct ipc_tagdef *t = tag <= 0xffff ? ipc_tagdef((uint16_t)tag) : NULL;

	return t != NULL ? t->name : "UNKNOWN";
}

static const char *lookup(const char *const *t, size_t n, unsigned v)
{
	return v < n && t[v] != NULL ? t[v] : "unknown";
}

const char *capf_ipc_status_name(unsigned s)
{
	static const char *const n[] = { "OK", "REFUSED", "RETRY_LATER", "ERROR" };

	return s < NELEM(n) ? n[s] : "UNKNOWN";
}

const char *capf_ipc_decision_name(unsigned d)
{
	static const char *const n[] = { NULL, "install", "fetch", "delete", "nothing", "unknown-device" };

	return lookup(n, NELEM(n), d);
}

const char *capf_ipc_outcome_name(unsigned o)
{
	static const char *const n[] = { NULL,           "stored",        "store-failed", "keygen-failed",
					 "fetched",      "fetch-none",    "deleted",      "delete-failed",
					 "comm-failure", "keygen-timeout" };

	return lookup(n, NELEM(n), o);
}

const char *capf_ipc_cert_role_name(unsigned r)
{
	static const char *const n[] = { "active", "previous", "retired", "tls", "pending" };

	return lookup(n, NELEM(n), r);
}

const char *capf_ipc_trust_target_name(unsigned t)
{
	static const char *const n[] = { "all", "callmanager-trust", "capf-trust", "8021x", "asa", "itl" };

	return lookup(n, NELEM(n), t);
}

const char *capf_ipc_err_name(int rc)
{
	static const char *const n[] = { "ok",
					 "malformed",
					 "bad version",
					 "unknown verb",
					 "unknown tag",
					 "bad field",
					 "field not allowed",
					 "duplicate field",
					 "missing field",
					 "too big",
					 "reply mismatch",
					 "out of memory",
					 "bad argument" };

	return rc <= 0 && (size_t)-rc < NELEM(n) ? n[-rc] : "unknown error";
}

/* One rule list: ended within IPC_RULES_MAX, tags defined and listed once, a
 * nested tag with its own rules. */
static int check_rules(const struct ipc_rule *rules, const char *what, const char *side, char *err,
		       size_t errlen)
{
	int i;

	for (i = 0; i < IPC_RULES_MAX && rules[i].tag != 0; i++) {
		const struct ipc_tagdef *t = ipc_tagdef(rules[i].tag);

		if (t == NULL) {
			snprintf(err, errlen, "%s %s: tag %u has no definition", what, side, rules[i].tag);
			return -1;
		}
		for (int j = 0; j < i; j++)
			if (rules[j].tag == rules[i].tag) {
				snprintf(err, errlen, "%s %s: %s listed twice", what, side, t->name);
				return -1;
			}
		if (t->type == FT_NEST && ipc_nest_rules(t->tag) == NULL) {
			snprintf(err, errlen, "%s %s: nested %s has no rules", what, side, t->name);
			return -1;
		}
	}
	if (i == IPC_RULES_MAX) {
		snprintf(err, errlen, "%s %s: more than %d rules (raise IPC_RULES_MAX)", what, side,
			 IPC_RULES_MAX - 1);
		return -1;
	}
	return 0;
}

int ipc_schema_check(char *err, size_t errlen)
{
	static const uint16_t common_tags[] = { CAPF_IPC_T_STATUS, CAPF_IPC_T_CAUSE, CAPF_IPC_T_TEXT,
						CAPF_IPC_T_RETRY_DELAY };

	for (size_t i = 0; i < NELEM(verbs); i++)
		if (check_rules(verbs[i].req, verbs[i].name, "request", err, errlen) != 0 ||
		    check_rules(verbs[i].rsp, verbs[i].name, "response", err, errlen) != 0)
			return -1;
	for (size_t i = 0; i < NELEM(nests); i++) {
		const struct ipc_tagdef *t = ipc_tagdef(nests[i].tag);

		if (t == NULL || t->type != FT_NEST) {
			snprintf(err, errlen, "nested rules for tag %u, which is not a nested field",
				 nests[i].tag);
			return -1;
		}
		if (check_rules(nests[i].rules, t->name, "(nested)", err, errlen) != 0)
			return -1;
	}
	if (check_rules(ipc_response_common, "every", "response", err, errlen) != 0)
		return -1;
	for (size_t k = 0; k < NELEM(common_tags); k++) {
		int found = 0;

		for (size_t i = 0; ipc_response_common[i].tag != 0; i++)
			found |= ipc_response_common[i].tag == common_tags[k];
		if (!found) {
			snprintf(err, errlen, "the common response rules lack %s",
				 capf_ipc_tag_name(common_tags[k]));
			return -1;
		}
	}
	return 0;
}
