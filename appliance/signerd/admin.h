/*
 * appliance/signerd/admin.h: what the ADMIN role's files share (admin*.c).
 * Each handler answers one verb: it validates with the policy, changes the
 * store (every change audited with the peer's uid and role "admin"), and
 * builds the response. No response ever carries an authentication string or
 * its hash.
 */
#ifndef CAPF_SIGNERD_ADMIN_H
#define CAPF_SIGNERD_ADMIN_H

#include <stdarg.h>

#include "appliance/signerd/signerd.h"

/* The store's "device" under which the CAPF TLS certificate issuances are
 * recorded; not a valid device name for the policy (lower case), never listed. */
#define ADMIN_TLS_DEVICE "capf-tls"

#define ADMIN_PAGE_RECORDS 1000   /* DEVICE records per DEVICE_LIST/REPORT page (the 56 KB bound comes first) */
#define ADMIN_ITEM_ERRORS_MAX 150 /* ITEM_ERRORs per response */

struct admin_req {
	struct signerd *sd;
	const struct signerd_peer *peer;
	const struct capf_ipc_msg *req;
	struct capf_ipc_builder *resp;
	struct capf_store_actor who;
};

typedef int (*admin_handler)(struct admin_req *a);

/* REFUSED (cause NONE) with a printf-formatted text; returns 0 (send it). */
int admin_refuse(struct admin_req *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ERROR with a text; returns 0. */
int admin_error(struct admin_req *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* RETRY_LATER with a text; returns 0. */
int admin_retry(struct admin_req *a, const char *text);
/* OK response started; returns 0 or -1. */
int admin_ok(struct admin_req *a);
/* A store error: NOTFOUND/EXISTS refused, others ERROR. */
int admin_store_fail(struct admin_req *a, int rc, const char *err);

/* admin_devices.c */
int admin_device_add(struct admin_req *a);
int admin_device_set(struct admin_req *a);
int admin_device_show(struct admin_req *a);
int admin_device_remove(struct admin_req *a);
int admin_device_list(struct admin_req *a);
int admin_device_reset_lockout(struct admin_req *a);
int admin_report(struct admin_req *a);
/* Upper-cases a device name or name pattern in place (names are case-insensitive). */
void admin_name_upcase(char *s);

/* admin_history.c */
int admin_device_cert(struct admin_req *a);
int admin_device_history(struct admin_req *a);

/* The settings a DEVICE record asks for, parsed (the string hashed at once). */
struct admin_devreq {
	char name[CAPF_DEVICE_NAME_MAX + 1];
	int op, auth, key_order, curve; /* -1: absent */
	long rsa_bits;                  /* -1: absent */
	int has_deadline;
	time_t deadline;
	int has_auth_string;
	struct capf_authhash hash; /* when has_auth_string */
};
/* Parses a DEVICE nest; hashes (and wipes) the authentication string after
 * checking it against the policy. 0 or -1 with a message. */
int admin_devreq_parse(struct signerd *sd, const struct capf_ipc_field *f, struct admin_devreq *r, char *err,
		       size_t errlen);
/* Merges r into *out: existing (NULL for a new device) plus what r sets,
 * validated with the policy at now. put_flags gets CAPF_STORE_PUT_*. */
int admin_devreq_apply(struct signerd *sd, const struct admin_devreq *r,
		       const struct capf_store_device *existing, time_t now, struct capf_store_device *out,
		       unsigned *put_flags, char *err, size_t errlen);

/* admin_bulk.c */
int admin_bulk_begin(struct admin_req *a);
int admin_bulk_add(struct admin_req *a);
int admin_bulk_commit(struct admin_req *a);
int admin_bulk_abort(struct admin_req *a);
/* Drops the bulk changes staged by connection conn_id (it closed). */
void admin_bulk_conn_closed(uint64_t conn_id);

/* admin_backup.c: BACKUP_BEGIN/READ/END; a connection's snapshot goes when it closes. */
int admin_backup_begin(struct admin_req *a);
int admin_backup_read(struct admin_req *a);
int admin_backup_end(struct admin_req *a);
void admin_backup_conn_closed(uint64_t conn_id);
/* Bulk changes staged now (open transactions). */
unsigned admin_bulk_staged(void);

/* admin_capf.c */
int admin_capf_show(struct admin_req *a);
int admin_capf_csr(struct admin_req *a);
int admin_trust_export(struct admin_req *a);

/* admin_ca.c */
int admin_capf_regenerate(struct admin_req *a);
int admin_capf_import(struct admin_req *a);
int admin_capf_adopt(struct admin_req *a);

/* admin_audit.c */
int admin_audit_verify(struct admin_req *a);
int admin_stats(struct admin_req *a);
int admin_audit_rows(struct admin_req *a);
int admin_audit_checkpoints(struct admin_req *a);
/* Writes cert as the new ca.certificate (atomically, 0644; the old file kept as
 * <path>.previous-<fp8>) and chain (PEM) as ca.chain when one is configured,
 * else <ca.certificate>.chain. Returns 0, or -1 with a message. */
int admin_ca_files_write(struct signerd *sd, X509 *cert, STACK_OF(X509) * chain, char *err, size_t errlen);
/* Puts one CAPF_CERT record (role, cert, subject, fingerprint, validity,
 * key parameters; lsc_count < 0: none; key_uri and chain optional). */
int admin_put_cert(struct admin_req *a, int role, X509 *x, long lsc_count, const char *key_uri,
		   STACK_OF(X509) * chain);
/* The current CAPF TLS certificate from the store (NULL: none). */
X509 *admin_tls_current(struct signerd *sd);

/* Valid LSCs of phones issued by the CA fp (the TLS record excluded); -1 on error. */
long admin_valid_lscs(struct signerd *sd, const char *fp);
/* 0 when the request has CONFIRM = 1; else answers REFUSED (audited), -1. */
int admin_need_confirm(struct admin_req *a, const char *what);

/* admin_tls.c */
int admin_tls_issue(struct admin_req *a);

#endif
