/*
 * policy/device.h: the device vocabulary shared by the policy, the store, the
 * signing daemon and capfctl. Pure data and string tables, in Cisco Unified CM's
 * own wording (see CAPF-PROTOCOL.md, "Administrator-side vocabulary").
 */
#ifndef CAPF_POLICY_DEVICE_H
#define CAPF_POLICY_DEVICE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define CAPF_DEVICE_NAME_MAX 64 /* bytes, without the NUL */

enum capf_operation {                   /* "Certificate Operation" */
		      CAPF_OP_NONE = 0, /* No Pending Operation */
		      CAPF_OP_INSTALL,  /* Install/Upgrade */
		      CAPF_OP_DELETE,   /* Delete */
		      CAPF_OP_FETCH,    /* Troubleshoot */
};

enum capf_auth_mode {                      /* "Authentication Mode"; capfAuthMode in () */
		      CAPF_AUTH_NULL = 0,  /* By Null String (2) */
		      CAPF_AUTH_STRING,    /* By Authentication String (1) */
		      CAPF_AUTH_LSC_FIRST, /* By Existing Certificate (Precedence to LSC) (3) */
		      CAPF_AUTH_MIC_FIRST, /* By Existing Certificate (Precedence to MIC) (4) */
};

enum capf_key_order { /* "Key Order" */
		      CAPF_KEYORDER_RSA_ONLY = 0,
		      CAPF_KEYORDER_EC_ONLY,
		      CAPF_KEYORDER_EC_PREFERRED, /* EC Preferred RSA Backup */
};

enum capf_curve { /* CAPF CURVE element values */
		  CAPF_CURVE_P256 = 0,
		  CAPF_CURVE_P384 = 1,
		  CAPF_CURVE_P521 = 2,
};

enum capf_status { /* "Certificate Operation Status" */
		   CAPF_ST_NONE = 0,
		   CAPF_ST_PENDING,
		   CAPF_ST_UPGRADE_SUCCESS,
		   CAPF_ST_DELETE_SUCCESS,
		   CAPF_ST_TROUBLESHOOT_SUCCESS,
		   CAPF_ST_FAILED, /* "<Operation> Failed: <cause>" */
};

enum capf_fail_cause {
	CAPF_FAIL_NONE = 0,
	CAPF_FAIL_INVALID_LSC,
	CAPF_FAIL_INVALID_AUTH_STRING,
	CAPF_FAIL_INVALID_MIC,
	CAPF_FAIL_INVALID_CREDENTIALS,
	CAPF_FAIL_PHONE_COMMUNICATION,
	CAPF_FAIL_KEYGEN_FAILED,
	CAPF_FAIL_KEYGEN_TIMEOUT,
	CAPF_FAIL_LATE, /* User Initiated Request Late/Timedout */
	CAPF_FAIL_CA_COMMUNICATION,
	CAPF_FAIL_CA_REJECTED,
};

enum capf_key_type { /* CAPF KEY_TYPE element values */
		     CAPF_KEY_RSA = 0,
		     CAPF_KEY_EC = 1,
};

/* One key the phone may be asked to generate (one KEY_GENERATE_REQUEST). */
struct capf_keyparam {
	enum capf_key_type type;
	unsigned rsa_bits;     /* CAPF_KEY_RSA: modulus bits */
	enum capf_curve curve; /* CAPF_KEY_EC */
};

/* A device as the administrator configured it, plus its operation state. */
struct capf_device {
	char name[CAPF_DEVICE_NAME_MAX + 1];
	enum capf_operation op;
	enum capf_auth_mode auth;
	enum capf_key_order key_order;
	unsigned rsa_bits; /* 0: the policy's default */
	enum capf_curve curve;
	time_t deadline; /* "Operation Completes By"; 0 when no operation */
	enum capf_status status;
	enum capf_operation status_op; /* which operation the status speaks of */
	enum capf_fail_cause cause;    /* when status == CAPF_ST_FAILED */
	unsigned failed_attempts;
	time_t last_seen; /* 0: never */
};

/* Names as operators type them (capfctl, CSV, JSON) and back: -1 when unknown. */
const char *capf_operation_name(enum capf_operation op); /* "none","install","delete","fetch" */
int capf_operation_parse(const char *s);
const char *capf_auth_mode_name(enum capf_auth_mode m); /* "null","string","lsc-first","mic-first" */
int capf_auth_mode_parse(const char *s);
const char *capf_key_order_name(enum capf_key_order k); /* "rsa","ec","ec-rsa" */
int capf_key_order_parse(const char *s);
const char *capf_curve_name(enum capf_curve c); /* "P-256","P-384","P-521" */
int capf_curve_parse(const char *s);            /* also "prime256v1","secp384r1",... */
int capf_curve_nid(enum capf_curve c);          /* OpenSSL NID */

/* "RSA 2048", "EC P-256" into buf. */
const char *capf_keyparam_str(const struct capf_keyparam *k, char *buf, size_t len);

/* Cisco's wording, for reports and status displays. */
const char *capf_operation_cisco(enum capf_operation op);  /* "Install/Upgrade", ... */
const char *capf_auth_mode_cisco(enum capf_auth_mode m);   /* "By Null String", ... */
const char *capf_key_order_cisco(enum capf_key_order k);   /* "EC Preferred RSA Backup", ... */
const char *capf_fail_cause_cisco(enum capf_fail_cause c); /* "Invalid Authentication String", ... */
/* "Upgrade Failed: Invalid Authentication String", "Operation Pending", ... into buf. */
const char *capf_status_cisco(const struct capf_device *d, char *buf, size_t len);

#endif
