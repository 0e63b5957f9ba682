/*
 * appliance/store/store.h: capf-signerd's durable state in one SQLite file
 * (WAL, synchronous=FULL, foreign keys, versioned migrations): devices and
 * their pending operations, every LSC issued, the CAPF CA certificates, and a
 * hash-chained audit trail.
 *
 * Threads: one struct capf_store per process, shared by every worker thread.
 * Every write is handed to one writer thread, which applies all queued writes
 * in one transaction (each inside its own SAVEPOINT, so a failing write rolls
 * back alone), commits once (one fsync for the batch: group commit) and then
 * wakes each caller with its own result. A write function returns only after
 * its transaction is durably committed (or has failed). Reads use a small pool
 * of reader connections and never wait for the writer (WAL snapshots).
 *
 * Audit: every write function that takes a `who` appends an audit row in the
 * same transaction as the change (who NULL: no row; for bookkeeping only).
 *
 * Return values: 0 on success; a negative CAPF_STORE_E* with a message for
 * people in err (which file, which device/serial, what to do). err may be NULL.
 * Nothing here ever sees an authentication string: only struct capf_authhash.
 *
 * Callbacks (list/report) run on the calling thread inside a read snapshot;
 * they must not call back into the store. Returning nonzero stops the walk
 * (the list function then returns 0).
 */
#ifndef CAPF_STORE_STORE_H
#define CAPF_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "policy/device.h"
#include "appliance/store/authhash.h"

#define CAPF_STORE_SCHEMA_VERSION 5 /* what this build creates and understands */

enum {
	CAPF_STORE_OK = 0,
	CAPF_STORE_ERROR = -1,    /* I/O, SQLite, corrupt data, bad argument */
	CAPF_STORE_NOTFOUND = -2, /* no such device / serial / certificate */
	CAPF_STORE_EXISTS = -3,   /* duplicate name, serial or fingerprint */
	CAPF_STORE_BUSY = -4,     /* lock held too long by another process */
};

struct capf_store;

/* Who caused a change, for the audit trail. role: "admin", "front", "signer",
 * "capfctl", ... (<= 32 bytes). */
struct capf_store_actor {
	uid_t uid;
	const char *role;
};

/* ---- opening ---------------------------------------------------------- */

#define CAPF_STORE_OPEN_NO_GROUP_COMMIT 0x1 /* one transaction per write (baseline) */
#define CAPF_STORE_OPEN_READONLY 0x2        /* reads only; no writer thread */

/* Opens (creating when missing, mode 0600) the database at path and applies
 * pending migrations, each in one transaction. The directory must be owned by
 * the effective uid and not writable by group or others. Refuses a database
 * whose schema is newer than CAPF_STORE_SCHEMA_VERSION, or that is not a CAPF
 * store. Returns NULL with a message in err. */
struct capf_store *capf_store_open(const char *path, unsigned flags, char *err, size_t errlen);
/* Waits for queued writes, stops the writer, closes every connection. NULL ok.
 * Call it once no other thread uses the store any more. Not fork-safe: a child
 * process opens its own store. */
void capf_store_close(struct capf_store *st);

struct capf_store_stats {
	uint64_t writes;  /* write requests completed (ok or failed) */
	uint64_t commits; /* write transactions committed */
	uint64_t syncs;   /* fsync calls SQLite made on this store's files */
};
void capf_store_get_stats(struct capf_store *st, struct capf_store_stats *out);

/* Where a deferred write's failure is reported (called on the writer thread, with
 * the message); without it such failures are counted in writes only. */
void capf_store_on_deferred_error(struct capf_store *st, void (*cb)(const char *msg, void *ctx), void *ctx);

/* ---- devices ---------------------------------------------------------- */

struct capf_store_device {
	struct capf_device dev; /* policy/device.h */
	int has_auth;           /* auth below holds the authentication string hash */
	struct capf_authhash auth;
	time_t created, updated; /* set by the store; ignored on put */
};

#define CAPF_STORE_PUT_NEW 0x1       /* fail with CAPF_STORE_EXISTS when it exists */
#define CAPF_STORE_PUT_EXISTING 0x2  /* fail with CAPF_STORE_NOTFOUND when it does not */
#define CAPF_STORE_PUT_KEEP_AUTH 0x4 /* on update, keep the stored hash (ignore has_auth/auth) */

/* Inserts or updates (every field of rec->dev, including status and counters). */
int capf_store_device_put(struct capf_store *st, const struct capf_store_device *rec, unsigned flags,
			  const struct capf_store_actor *who, char *err, size_t errlen);
int capf_store_device_get(struct capf_store *st, const char *name, struct capf_store_device *out, char *err,
			  size_t errlen);
/* Removes the device; its issuance history stays. */
int capf_store_device_delete(struct capf_store *st, const char *name, const struct capf_store_actor *who,
			     char *err, size_t errlen);

/* Filters: fields left at CAPF_STORE_DEVICE_FILTER_INIT values match anything. */
struct capf_store_device_filter {
	const char *pattern;    /* name glob, case-sensitive: '*', '?', [A-F]; NULL any */
	int op;                 /* enum capf_operation, -1 any */
	int status;             /* enum capf_status, -1 any */
	int auth;               /* enum capf_auth_mode, -1 any */
	time_t deadline_before; /* pending operations whose deadline < this; 0 any */
	int locked_min;         /* failed_attempts >= this; 0 any */
};
#define CAPF_STORE_DEVICE_FILTER_INIT  \
	{                              \
		NULL, -1, -1, -1, 0, 0 \
	}

typedef int (*capf_store_device_cb)(const struct capf_store_device *d, void *arg);
/* Calls cb for each matching device, in name order. f NULL: all. */
int capf_store_device_list(struct capf_store *st, const struct capf_store_device_filter *f,
			   capf_store_device_cb cb, void *arg, char *err, size_t errlen);

/* Failed authentication: failed_attempts += 1, last_seen = now; *count gets the
 * new value (NULL ok). The caller compares it with the policy's limit. */
int capf_store_device_record_attempt(struct capf_store *st, const char *name,
				     const struct capf_store_actor *who, unsigned *count, char *err,
				     size_t errlen);
int capf_store_device_reset_lockout(struct capf_store *st, const char *name, const struct capf_store_actor *who,
				    char *err, size_t errlen);

#define CAPF_STORE_STATUS_CLEAR_OP \
	0x1 /* operation done: op = none, deadline = 0,
					   authentication hash erased, attempts = 0 */
/* Sets status/status_op/cause and last_seen = now. */
int capf_store_device_set_status(struct capf_store *st, const char *name, enum capf_status status,
				 enum capf_operation status_op, enum capf_fail_cause cause, unsigned flags,
				 const struct capf_store_actor *who, char *err, size_t errlen);

/* ---- bulk: all or nothing --------------------------------------------- */

enum capf_store_change_kind { CAPF_STORE_CHANGE_PUT = 0, CAPF_STORE_CHANGE_DELETE };
struct capf_store_device_change {
	enum capf_store_change_kind kind;
	unsigned put_flags;           /* CAPF_STORE_PUT_* for PUT */
	struct capf_store_device rec; /* DELETE: only rec.dev.name is used */
};
/* Applies every change in one transaction; on the first failure nothing is
 * changed, *failed (NULL ok) gets its index and err names the device. The whole
 * batch is one audit row per change. */
int capf_store_device_bulk(struct capf_store *st, const struct capf_store_device_change *ch, size_t n,
			   const struct capf_store_actor *who, size_t *failed, char *err, size_t errlen);

/* ---- issuances -------------------------------------------------------- */

#define CAPF_STORE_SERIAL_HEX_MAX 40 /* 20 octets (RFC 5280) */
#define CAPF_STORE_FP_HEX_LEN 64     /* SHA-256, hex */
#define CAPF_STORE_PEER_MAX 127
#define CAPF_STORE_DER_MAX (64 * 1024)

enum capf_store_issuance_state {
	CAPF_ISS_ISSUED = 0, /* signed, about to leave the daemon */
	CAPF_ISS_DELIVERED,  /* the phone confirmed */
	CAPF_ISS_SUPERSEDED, /* a newer LSC was issued to the device */
	CAPF_ISS_DELETED,    /* deleted from the phone (Delete operation) */
};
const char *capf_store_issuance_state_name(enum capf_store_issuance_state s); /* "issued", ... */

struct capf_store_issuance {
	char serial[CAPF_STORE_SERIAL_HEX_MAX + 1]; /* hex; stored upper-case */
	char device[CAPF_DEVICE_NAME_MAX + 1];
	char issuer_fp[CAPF_STORE_FP_HEX_LEN + 1];   /* SHA-256 of the CAPF CA cert, hex */
	char spki_sha256[CAPF_STORE_FP_HEX_LEN + 1]; /* SHA-256 of the subject public key, hex */
	time_t not_before, not_after;
	time_t issued_at;                     /* 0 on record: now */
	char peer[CAPF_STORE_PEER_MAX + 1];   /* "uid:998 pid:1234", address, ... */
	enum capf_store_issuance_state state; /* ignored on record (issued) */
	unsigned char *der;                   /* certificate; read: malloc'd */
	size_t der_len;
};
/* Frees what a read put in *is (der). */
void capf_store_issuance_clear(struct capf_store_issuance *is);

/* Records an LSC before it leaves the daemon: durably committed when this
 * returns 0. The device's earlier issued/delivered LSCs become superseded in the
 * same transaction. The issuer must be in capf_certs (CAPF_STORE_NOTFOUND else);
 * a duplicate serial gives CAPF_STORE_EXISTS. */
int capf_store_issuance_record(struct capf_store *st, const struct capf_store_issuance *is,
			       const struct capf_store_actor *who, char *err, size_t errlen);
/* DELIVERED or DELETED (or SUPERSEDED) for one serial. Only a current LSC
 * (issued or delivered) changes state: superseded and deleted are final
 * (CAPF_STORE_ERROR). */
int capf_store_issuance_set_state(struct capf_store *st, const char *serial,
				  enum capf_store_issuance_state state, const struct capf_store_actor *who,
				  char *err, size_t errlen);
/* The same without waiting: it commits, in order, with the writes queued after it,
 * so the next write that is waited for is durable after it (deferred writes). */
int capf_store_issuance_set_state_deferred(struct capf_store *st, const char *serial,
					   enum capf_store_issuance_state state,
					   const struct capf_store_actor *who, char *err, size_t errlen);
int capf_store_issuance_get(struct capf_store *st, const char *serial, struct capf_store_issuance *out,
			    char *err, size_t errlen);
/* The most recently issued LSC of the device, whatever its state. */
int capf_store_issuance_latest_for_device(struct capf_store *st, const char *device,
					  struct capf_store_issuance *out, char *err, size_t errlen);

/* Report: every device with its current LSC (issued or delivered), if any. */
struct capf_store_report_row {
	struct capf_device dev;
	int has_lsc;
	char serial[CAPF_STORE_SERIAL_HEX_MAX + 1];
	char issuer_fp[CAPF_STORE_FP_HEX_LEN + 1];
	time_t not_after;
	long days_left; /* floor((not_after - now) / 86400); < 0 expired */
	enum capf_store_issuance_state lsc_state;
};
struct capf_store_report_filter {
	const char *pattern;      /* name glob; NULL any */
	int expiring_within_days; /* has an LSC with days_left <= this (expired too): the
					   report's DAYS column agrees; -1 any */
	const char *issuer_fp;    /* current LSC issued by this CA; NULL any */
	int status;               /* enum capf_status; -1 any */
	int without_lsc;          /* 1: only devices with no current LSC */
	time_t now;               /* 0: time(NULL) */
	const char *after;        /* only names after this one (a page's cursor); NULL
					   from the first; the walk is in name order and stops
					   when cb returns non-zero */
};
#define CAPF_STORE_REPORT_FILTER_INIT          \
	{                                      \
		NULL, -1, NULL, -1, 0, 0, NULL \
	}
typedef int (*capf_store_report_cb)(const struct capf_store_report_row *r, void *arg);
int capf_store_report(struct capf_store *st, const struct capf_store_report_filter *f, capf_store_report_cb cb,
		      void *arg, char *err, size_t errlen);

/* Devices whose current LSC was issued by issuer_fp and is valid at now (0:
 * time(NULL)): the N phones of the phone-reset warning. */
int capf_store_count_valid_lsc(struct capf_store *st, const char *issuer_fp, time_t now, unsigned long *count,
			       char *err, size_t errlen);

/* ---- CAPF CA certificates --------------------------------------------- */

#define CAPF_STORE_KEY_URI_MAX 1023

enum capf_store_cert_role {
	CAPF_CERT_ACTIVE = 0, /* signs new LSCs; at most one */
	CAPF_CERT_PREVIOUS,   /* still trusted for LSC authentication, reported */
	CAPF_CERT_RETIRED,
};
const char *capf_store_cert_role_name(enum capf_store_cert_role r); /* "active", ... */

struct capf_store_cert {
	char fp[CAPF_STORE_FP_HEX_LEN + 1]; /* SHA-256 of der, hex (checked on add) */
	enum capf_store_cert_role role;
	unsigned char *der; /* read: malloc'd */
	size_t der_len;
	char key_uri[CAPF_STORE_KEY_URI_MAX + 1]; /* pkcs:... of the CA key ("" none) */
	time_t created;                           /* 0 on add: now */
	time_t not_after;
	unsigned char *chain; /* the certificates above it, DER, issuer first,
						 * concatenated (NULL/0: none); read: malloc'd */
	size_t chain_len;     /* at most CAPF_STORE_DER_MAX */
};
void capf_store_cert_clear(struct capf_store_cert *c);

/* Adding or promoting a certificate to ACTIVE demotes the current active one to
 * PREVIOUS in the same transaction. */
int capf_store_cert_add(struct capf_store *st, const struct capf_store_cert *c,
			const struct capf_store_actor *who, char *err, size_t errlen);
int capf_store_cert_set_role(struct capf_store *st, const char *fp, enum capf_store_cert_role role,
			     const struct capf_store_actor *who, char *err, size_t errlen);
/* Replaces the chain recorded with fp (a store written before chains were kept,
 * or a certificate adopted again with another chain). */
int capf_store_cert_set_chain(struct capf_store *st, const char *fp, const unsigned char *chain, size_t len,
			      const struct capf_store_actor *who, char *err, size_t errlen);
int capf_store_cert_get(struct capf_store *st, const char *fp, struct capf_store_cert *out, char *err,
			size_t errlen);
int capf_store_cert_active(struct capf_store *st, struct capf_store_cert *out, char *err, size_t errlen);
typedef int (*capf_store_cert_cb)(const struct capf_store_cert *c, void *arg);
/* In role order (active, previous, retired), then newest first. */
int capf_store_cert_list(struct capf_store *st, capf_store_cert_cb cb, void *arg, char *err, size_t errlen);

/* ---- audit ------------------------------------------------------------ */

#define CAPF_STORE_AUDIT_TEXT_MAX 4096 /* action, subject, detail: bytes each */

/* A stand-alone event (no other change in the transaction): a refused peer, a
 * login failure, a ceremony step. */
int capf_store_audit_append(struct capf_store *st, const struct capf_store_actor *who, const char *action,
			    const char *subject, const char *detail, char *err, size_t errlen);
/* Deferred (see capf_store_issuance_set_state_deferred); copies its arguments. */
int capf_store_audit_append_deferred(struct capf_store *st, const struct capf_store_actor *who,
				     const char *action, const char *subject, const char *detail, char *err,
				     size_t errlen);

struct capf_store_audit_row {
	int64_t id;
	time_t time;
	uid_t uid;
	const char *role, *action, *subject, *detail; /* valid during the callback */
	const unsigned char *prev_hash, *hash;        /* 32 bytes each (NULL: malformed) */
};
typedef int (*capf_store_audit_cb)(const struct capf_store_audit_row *r, void *arg);
/* Rows with id > after_id, in id order. */
int capf_store_audit_list(struct capf_store *st, int64_t after_id, capf_store_audit_cb cb, void *arg, char *err,
			  size_t errlen);

/* Walks the chain: hash = SHA-256(prev_hash || canonical row). 0 when intact
 * (*rows counted); CAPF_STORE_ERROR with *bad_id = the first row whose hash or
 * link is wrong (a deleted row shows as the row after the gap; a deleted last
 * row as the recorded head id). bad_id and rows may be NULL. */
int capf_store_audit_verify(struct capf_store *st, int64_t *bad_id, uint64_t *rows, char *err, size_t errlen);

/* ---- signed audit checkpoints ----------------------------------------- */
/*
 * A checkpoint is the audit key's signature over the head of the chain (a row
 * id and that row's hash; appliance/store/audit_chain.h says what is signed).
 * The store keeps them append-only; it never signs (capf-signerd does, with the
 * token). Rows below a checkpoint cannot be rewritten unnoticed by anyone
 * without the audit key, even with the hashes recomputed.
 */
#define CAPF_STORE_SIG_MAX 1024
struct capf_store_checkpoint {
	int64_t id;             /* set by the store (1, 2, ...) */
	time_t time;            /* signed */
	int64_t row_id;         /* signed: the audit row it covers (and all before) */
	unsigned char head[32]; /* signed: that row's hash */
	char key_id[65];        /* SHA-256 of the audit public key (SPKI DER), hex */
	unsigned char sig[CAPF_STORE_SIG_MAX];
	size_t sig_len;
};
/* The last audit row's id and hash (*row_id 0 when the trail is empty). */
int capf_store_audit_head(struct capf_store *st, int64_t *row_id, unsigned char head[32], char *err,
			  size_t errlen);
/* Appends a checkpoint; refused (CAPF_STORE_ERROR) when cp->head is not the
 * stored hash of row cp->row_id. cp->id is ignored. */
int capf_store_checkpoint_add(struct capf_store *st, const struct capf_store_checkpoint *cp, char *err,
			      size_t errlen);
typedef int (*capf_store_checkpoint_cb)(const struct capf_store_checkpoint *cp, void *arg);
/* Checkpoints with id > after_id, in id order. */
int capf_store_checkpoint_list(struct capf_store *st, int64_t after_id, capf_store_checkpoint_cb cb, void *arg,
			       char *err, size_t errlen);
/* The newest checkpoint; CAPF_STORE_NOTFOUND when there is none. */
int capf_store_checkpoint_last(struct capf_store *st, struct capf_store_checkpoint *out, char *err,
			       size_t errlen);

/* ---- meta: small named values (text) ---------------------------------- */

#define CAPF_STORE_META_MAX 1024
/* Keys starting with "capf." are the store's own and refused here. Values are
 * copied into the audit trail: never a secret. */
int capf_store_meta_set(struct capf_store *st, const char *key, const char *value,
			const struct capf_store_actor *who, char *err, size_t errlen);
int capf_store_meta_get(struct capf_store *st, const char *key, char *value, size_t len, char *err,
			size_t errlen);

/* ---- Troubleshoot and history (store_history.c) ------------------------ */

#define CAPF_STORE_REASON_MAX 511

/* A certificate a phone returned to Troubleshoot (fetch), with the signer's
 * verdict: accepted (it names the device and chains to a CAPF CA or a
 * manufacturing CA) or refused, and why. Every fetch is kept. */
struct capf_store_fetched {
	char device[CAPF_DEVICE_NAME_MAX + 1];
	time_t fetched_at;                          /* 0 on record: now */
	char serial[CAPF_STORE_SERIAL_HEX_MAX + 1]; /* hex, "" when unreadable */
	char issuer[1025];                          /* issuer name, RFC 2253 */
	char issuer_fp[CAPF_STORE_FP_HEX_LEN + 1];  /* SHA-256 of the CA it chained to, "" none */
	char fp[CAPF_STORE_FP_HEX_LEN + 1];         /* SHA-256 of der, hex */
	int accepted;
	char reason[CAPF_STORE_REASON_MAX + 1];
	unsigned char *der; /* read: malloc'd */
	size_t der_len;
};
void capf_store_fetched_clear(struct capf_store_fetched *f);
/* Records it with an audit row "lsc.fetch" (subject: the device) in one transaction. */
int capf_store_fetched_record(struct capf_store *st, const struct capf_store_fetched *f,
			      const struct capf_store_actor *who, char *err, size_t errlen);
/* The device's most recent fetch: CAPF_STORE_NOTFOUND when none. */
int capf_store_fetched_latest(struct capf_store *st, const char *device, struct capf_store_fetched *out,
			      char *err, size_t errlen);
/* Audit rows whose subject is subject (a device name), id > after_id, in id
 * order, at most limit of them (0: all). */
int capf_store_audit_for_subject(struct capf_store *st, const char *subject, int64_t after_id, unsigned limit,
				 capf_store_audit_cb cb, void *arg, char *err, size_t errlen);

#endif
