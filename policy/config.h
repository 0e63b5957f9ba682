/*
 * policy/config.h: capf.conf, the one configuration file of the appliance
 * (libconfig syntax; every setting and its default in policy/capf.conf.example).
 *
 * Parsing is strict: unknown settings at any level, wrong types, out-of-range values
 * and libconfig syntax errors are all reported, each naming the file, the line, the
 * full setting path and what is allowed, e.g.
 *   /etc/capf/capf.conf:12: lsc.validity_days: 4000 is out of range (allowed: 1..1825)
 * Settings left out keep the embedded defaults, so a minimal (even empty) file is valid.
 * @include directives are refused. Files larger than CAPF_CONF_FILE_MAX are refused.
 * The reading and walking is policy/cfgwalk.h's, shared with the ceremony's file;
 * this module does no I/O (appliance/common/conffile.h reads the file).
 */
#ifndef CAPF_POLICY_CONFIG_H
#define CAPF_POLICY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy/device.h"
#include "policy/errlist.h"

#define CAPF_CONF_STR_MAX 1024 /* bytes of a string setting, with the NUL */
#define CAPF_CONF_IDS_MAX 32   /* entries of a uid/gid list */
#define CAPF_CONF_ENV_MAX 16   /* token.env entries */
#define CAPF_CONF_ENV_LEN 512  /* bytes of one token.env entry, with the NUL */
#define CAPF_CONF_RSA_MAX 16   /* entries of keys.rsa_bits */
#define CAPF_CONF_FILE_MAX (256 * 1024)

enum capf_beyond_ca {                              /* lsc.beyond_ca */
		      CAPF_BEYOND_CA_TRUNCATE = 0, /* "truncate": notAfter = the CA's notAfter */
		      CAPF_BEYOND_CA_REFUSE,       /* "refuse": no certificate */
};

enum capf_digest { /* lsc.digest */
		   CAPF_DIGEST_SHA256 = 0,
		   CAPF_DIGEST_SHA384,
		   CAPF_DIGEST_SHA512,
};

/* lsc.copy_subject: attributes of the CAPF CA subject copied into the LSC subject */
#define CAPF_SUBJ_O 0x01
#define CAPF_SUBJ_OU 0x02
#define CAPF_SUBJ_L 0x04
#define CAPF_SUBJ_ST 0x08
#define CAPF_SUBJ_C 0x10

enum capf_role { CAPF_ROLE_FRONT = 0, CAPF_ROLE_ADMIN };

struct capf_id_list {
	unsigned ids[CAPF_CONF_IDS_MAX]; /* numeric uids or gids (names are not resolved) */
	size_t n;
};

struct capf_conf {
	char source[CAPF_CONF_STR_MAX]; /* file it was read from, "(defaults)" */
	struct {
		char module[CAPF_CONF_STR_MAX];     /* PKCS#11 module path */
		char ca_key_uri[CAPF_CONF_STR_MAX]; /* "pkcs11:..." of the CAPF CA private key */
		char pin_source[CAPF_CONF_STR_MAX]; /* absolute path of the PIN file ("file:" stripped) */
		/* Environment variables the module needs, kept through the daemon's
		 * scrub: "NAME" (its value at start-up) or "NAME=VALUE" (set). */
		char env[CAPF_CONF_ENV_MAX][CAPF_CONF_ENV_LEN];
		size_t n_env;
		bool network;                          /* the module reaches its HSM over IP */
		char audit_key_uri[CAPF_CONF_STR_MAX]; /* "pkcs11:..." of the audit checkpoint key, "" none */
		char auth_key_uri
			[CAPF_CONF_STR_MAX]; /* "pkcs11:..." of the HMAC secret key, "" none (scrypt) */
	} token;
	struct {
		char certificate[CAPF_CONF_STR_MAX]; /* CAPF CA certificate (PEM) */
		char chain[CAPF_CONF_STR_MAX];       /* "" (self-signed) or its chain up to the root (PEM) */
	} ca;
	struct {
		char certificate[CAPF_CONF_STR_MAX]; /* front end's TLS certificate (PEM) */
		char key[CAPF_CONF_STR_MAX];         /* file path or "pkcs11:" URI */
		int min_version; /* 0x0301 (1.0) .. 0x0304 (1.3), OpenSSL's TLS1_x_VERSION */
		bool legacy;     /* also TLS 1.0/1.1 and static-RSA AES128-SHA, AES256-SHA */
	} tls;
	struct {
		char dir[CAPF_CONF_STR_MAX];
		struct capf_id_list front_uids, front_gids, admin_uids, admin_gids;
	} sockets;
	struct {
		char path[CAPF_CONF_STR_MAX]; /* SQLite database */
	} store;
	struct {
		unsigned validity_days; /* 1..1825 */
		enum capf_beyond_ca beyond_ca;
		enum capf_digest digest;
		unsigned serial_bits;      /* 64..159 CSPRNG bits */
		unsigned backdate_seconds; /* 0..86400 */
		unsigned copy_subject;     /* CAPF_SUBJ_* bits */
	} lsc;
	struct {
		unsigned rsa_bits[CAPF_CONF_RSA_MAX]; /* allowed modulus sizes, ascending */
		size_t n_rsa_bits;
		bool allow_weak_rsa; /* sizes below 2048 need this */
		unsigned ec_curves;  /* bit (1u << enum capf_curve) per allowed curve */
		enum capf_key_order default_key_order;
		unsigned default_rsa_bits;
		enum capf_curve default_curve;
	} keys;
	struct {
		bool sep;                 /* SEP + 12 hex digits */
		bool jabber;              /* CSF/BOT/TCT/TAB + name */
		unsigned max_name_length; /* 4..64, Jabber names */
	} devices;
	struct {
		unsigned string_min, string_max; /* authentication string length */
		bool digits_only;
		unsigned max_failed_attempts; /* lockout after this many failures */
		unsigned require_sudi;        /* bit 1 << enum capf_auth_mode: SUDI_DATA required */
	} auth;
	struct {
		unsigned min_lead_hours; /* a new deadline is at least this far ahead */
		unsigned default_days;   /* default deadline: now + this */
		unsigned max_days;       /* a deadline is at most this far ahead */
	} deadline;
	struct {
		char ca_dir[CAPF_CONF_STR_MAX]; /* manufacturing CA certificates (MIC), "" none */
	} mic;
	struct {
		char listen[CAPF_CONF_STR_MAX]; /* "IPV4:PORT" or "[IPV6]:PORT", numeric */
		unsigned max_connections;
		unsigned handshake_timeout, idle_timeout, keygen_timeout; /* seconds */
		unsigned retry_delay;                                     /* seconds, RETRY_LATER */
		unsigned max_per_address;                                 /* connections from one address */
		unsigned max_handshakes;  /* TLS handshakes in progress at once */
		unsigned session_timeout; /* seconds: a whole session, absolute */
	} front;
	struct {
		unsigned workers;  /* signing threads */
		unsigned sessions; /* token sessions */
	} signer;
	struct {
		unsigned checkpoint_rows;     /* sign the head at least every N rows */
		unsigned checkpoint_interval; /* ... and every M seconds with new rows */
	} audit;
};

/* The embedded defaults (what an empty file gives). */
void capf_conf_defaults(struct capf_conf *c);

/* Validates the text of a capf.conf (len bytes; no I/O: the caller reads the file,
 * appliance/common/conffile.h). On success fills *c (defaults overlaid by the text)
 * and returns 0. Otherwise returns -1, leaves *c with the defaults, and errs holds
 * every error (errs may be NULL), "name:line: setting: what". */
int capf_conf_parse(struct capf_conf *c, const char *text, size_t len, const char *name,
		    struct capf_errlist *errs);

/* front.listen syntax: "IPV4:PORT" or "[IPV6]:PORT", a numeric address and a port
 * 1..65535 (digits only). Fills *out and returns 0, or returns -1. */
struct capf_listen {
	bool v6;
	unsigned char addr[16]; /* network order: 4 bytes (IPv4) or 16 (IPv6) */
	uint16_t port;
};
int capf_listen_parse(const char *spec, struct capf_listen *out);

/* Policy look-ups. */
bool capf_conf_rsa_allowed(const struct capf_conf *c, unsigned bits);
bool capf_conf_curve_allowed(const struct capf_conf *c, enum capf_curve curve);
/* May a peer (SO_PEERCRED uid/gid) use the socket of role? Listed uid or listed gid. */
bool capf_conf_peer_allowed(const struct capf_conf *c, enum capf_role role, uid_t uid, gid_t gid);

/* Names as written in capf.conf. */
const char *capf_digest_name(enum capf_digest d);       /* "sha256", ... */
const char *capf_beyond_ca_name(enum capf_beyond_ca b); /* "truncate", "refuse" */
const char *capf_tls_version_name(int v);               /* "1.0" .. "1.3" */

#endif
