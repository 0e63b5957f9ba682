/*
 * appliance/signerd/signerd.h: capf-signerd's internals shared between its
 * core (socket serving, hardening, the FRONT role's enrollment verbs) and the
 * ADMIN role's verbs (appliance/signerd/admin*.c). Nothing outside
 * appliance/signerd/ includes this.
 *
 * Threads: a bounded pool of workers serves connections; every function here
 * is thread-safe unless it says otherwise. The active CAPF CA (certificate,
 * chain, token key) is a refcounted generation: a request takes a reference
 * with signerd_ca_get(), uses it, drops it with signerd_ca_put(); an admin
 * regenerate/import builds a new generation and swaps it in with
 * signerd_ca_replace() while front requests keep using the one they hold.
 *
 * Errors: 0 / -1 (or NULL) with a message for people in err, like the libraries.
 * Stable: this header only grows.
 */
#ifndef CAPF_SIGNERD_SIGNERD_H
#define CAPF_SIGNERD_SIGNERD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "policy/config.h"
#include "policy/chain.h"
#include "appliance/store/store.h"
#include "appliance/ipc/ipc.h"

struct p11_token;
struct signerd_sessions;        /* front enrollment sessions (front.c) */

#define SIGNERD_FP_HEX_LEN 64   /* SHA-256, hex */

/* One generation of the CAPF CA: immutable once published, refcounted. */
struct signerd_ca {
	struct capf_ca *ca;             /* certificate + chain (policy/chain.h) */
	EVP_PKEY *key;                  /* the token key, opened in sd->libctx via capfhsm */
	char fp[SIGNERD_FP_HEX_LEN + 1];/* SHA-256 of the certificate DER, lower-case hex */
	char key_uri[CAPF_CONF_STR_MAX];/* pkcs11: URI of the key, without pin-source */
	unsigned refs;                  /* private: use signerd_ca_get/put */
};

/* Who is on the other end of a connection (SO_PEERCRED at accept). */
struct signerd_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	enum capf_role role;            /* the socket it came in on (policy/config.h) */
	uint64_t conn_id;               /* unique per accepted connection in this process */
};

/* Counters for the STATS verb (read with signerd_stats_get). */
struct signerd_stats {
	uint64_t connections, peers_refused, requests, protocol_errors;
	uint64_t begins, refusals, issued, retry_later, sign_failures;
	uint64_t sessions_active;
};

/* The daemon. Set up by main before the workers start; read-only afterwards
 * except through the functions below. */
struct signerd {
	struct capf_conf conf;          /* capf.conf as loaded at start-up */
	const char *conf_path;
	struct capf_store *store;
	OSSL_LIB_CTX *libctx;           /* own context with "capfhsm" + "default" */
	/* private to the core: */
	void *core;
};

/* ---- the admin role: implemented in appliance/signerd/admin*.c ------- */

/*
 * Answers one ADMIN-role request (already decoded and checked against the
 * schema and the role by the core; verbs are the CAPF_IPC_* admin verbs;
 * PING is answered by the core). resp is zero-initialised: call
 * capf_ipc_build_response(resp, req, status) once, then the fields. The core
 * finishes, sends and frees it; when finishing fails it answers ERROR.
 * Return 0 to send resp, -1 to close the connection without an answer (log
 * why first). When no admin*.c is built, the core answers every admin verb
 * with ERROR "admin verbs not built". State of its own (bulk tables...)
 * is set up lazily (pthread_once).
 */
int signerd_admin_dispatch(struct signerd *sd, const struct signerd_peer *peer,
			   const struct capf_ipc_msg *req, struct capf_ipc_builder *resp);

/*
 * Called once when an ADMIN-role connection closes (peer->conn_id is never
 * seen again; no request of it is running): drops what the admin side keeps
 * for that connection (staged bulk changes). Any thread.
 */
void signerd_admin_closed(struct signerd *sd, const struct signerd_peer *peer);

/* ---- the CAPF CA ------------------------------------------------------ */

/* The active generation with a reference taken (never NULL once running). */
struct signerd_ca *signerd_ca_get(struct signerd *sd);
void signerd_ca_put(struct signerd_ca *ca);

/*
 * Opens a private key through capfhsm in sd->libctx: uri is a pkcs11: URI;
 * ";pin-source=file:<token.pin_source>" is appended when it has none (at most
 * CAPF_CONF_STR_MAX bytes in all). P11-down style failures are reported as
 * *retry = 1 (retry may be NULL).
 */
EVP_PKEY *signerd_key_open(struct signerd *sd, const char *uri, int *retry,
			   char *err, size_t errlen);

/*
 * A new generation from ca (ownership taken, also on failure) and key
 * (ownership taken, also on failure; NULL: open key_uri with
 * signerd_key_open). Checks the key matches the certificate (EVP_PKEY_eq).
 * Returns NULL with a message.
 */
struct signerd_ca *signerd_ca_new(struct signerd *sd, struct capf_ca *ca, EVP_PKEY *key,
				  const char *key_uri, char *err, size_t errlen);

/* Publishes nca as the active generation (the reference passed in goes to the
 * daemon); the old one is freed when its last user puts it. The caller records
 * the change in the store (capf_store_cert_add/set_role) first. */
void signerd_ca_replace(struct signerd *sd, struct signerd_ca *nca);

/*
 * Signs the to-be-signed certificate tbs with the generation's key (X509_sign
 * through the provider, digest md: capf_lsc_digest() for LSCs) and verifies the
 * signature with the CA certificate's public key before returning 0. On -1,
 * *retry (may be NULL) is 1 when the token is down or busy (answer RETRY_LATER).
 * Used by ISSUE and by the admin TLS issuance; never on caller-supplied bytes.
 */
int signerd_ca_sign(struct signerd *sd, const struct signerd_ca *ca, X509 *tbs,
		    const EVP_MD *md, int *retry, char *err, size_t errlen);

/* SHA-256 of a certificate's DER as lower-case hex into fp (65 bytes). */
int signerd_cert_fp(X509 *cert, char fp[SIGNERD_FP_HEX_LEN + 1]);

/* A CAPF CA's chain as the store keeps it (capf_certs.chain): the DER
 * certificates concatenated, issuer first. Empty chain: *der NULL, *len 0.
 * signerd_chain_der returns 0 or -1 (out of memory); signerd_chain_parse
 * returns the certificates (an empty stack for len 0), or NULL when the bytes
 * are not a sequence of certificates. */
int signerd_chain_der(STACK_OF(X509) *chain, unsigned char **der, size_t *len);
STACK_OF(X509) *signerd_chain_parse(const unsigned char *der, size_t len);

/* ---- the token (keygen for regenerate) -------------------------------- */

/*
 * The rw, logged-in token of token.ca_key_uri (with the PIN from
 * token.pin_source), opened for the caller, who closes it with
 * p11_token_close when done. Not kept: this is a second copy of the token
 * layer beside the provider's, which may re-initialise the module after an
 * outage (ca.c); sessions kept here across that would be stale. NULL with a
 * message (*retry = 1 when it is down; retry may be NULL).
 */
struct p11_token *signerd_token(struct signerd *sd, int *retry, char *err, size_t errlen);

/* ---- audit and logging ------------------------------------------------ */

/* The store actor for a peer ("front"/"admin" and its uid). */
struct capf_store_actor signerd_actor(const struct signerd_peer *peer);

/* "uid:998 gid:998 pid:1234" into buf (issuance rows, logs). Returns buf. */
const char *signerd_peer_str(const struct signerd_peer *peer, char *buf, size_t len);

/*
 * A stand-alone audit row (capf_store_audit_append) for peer; detail is
 * printf-formatted (never a PIN or an authentication string). Failure to
 * append is logged (event=audit_failed) and returned as -1.
 */
int signerd_audit(struct signerd *sd, const struct signerd_peer *peer, const char *action,
		  const char *subject, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* The same without waiting for the row to be durable: it commits, in order, with
 * the next store write that is waited for (capf_store_audit_append_deferred).
 * Only a failure to queue is returned; a failed write is logged by
 * signerd_store_deferred_error (capf_store_on_deferred_error). */
int signerd_audit_deferred(struct signerd *sd, const struct signerd_peer *peer, const char *action,
			   const char *subject, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void signerd_store_deferred_error(const char *msg, void *ctx);

/* ---- authentication strings and audit checkpoints ---------------------- */

/* The token's HMAC for capf_authhash_make_mac/verify_mac, NULL when
 * token.auth_key_uri is not set (then strings are stored with scrypt). */
const struct capf_authhash_mac *signerd_auth_mac(struct signerd *sd);

/*
 * Signs the audit trail's head with the audit key and records the checkpoint,
 * when there are unsigned rows and force is set (an admin change), or
 * audit.checkpoint_rows rows are unsigned, or audit.checkpoint_interval
 * seconds passed since the last checkpoint. 0 (also when nothing was due or
 * no audit key is configured), -1 with a message (logged too). Thread-safe.
 */
int signerd_checkpoint(struct signerd *sd, int force, char *err, size_t errlen);
/* The configured audit key's id (SHA-256 of its SubjectPublicKeyInfo, hex) or
 * "" when none. */
const char *signerd_checkpoint_key_id(struct signerd *sd);

/* ---- responses and counters ------------------------------------------- */

/* Builds a response with status (REFUSED: cause; RETRY_LATER: the configured
 * front.retry_delay; ERROR: text) in resp. 0 or -1. text may be NULL except
 * for ERROR. */
int signerd_reply(struct signerd *sd, struct capf_ipc_builder *resp,
		  const struct capf_ipc_msg *req, enum capf_ipc_status status,
		  enum capf_fail_cause cause, const char *text);

void signerd_stats_get(struct signerd *sd, struct signerd_stats *out);

/* The token holding the CAPF CA key (tokstate.c): down after a signature failed
 * for want of it, up again once a probe signs. */
struct signerd_token_state {
	int down;
	uint64_t down_ms;		/* this outage so far (down) */
	time_t since;			/* when it went down (down) */
	char why[300];			/* what failed (down) */
	uint64_t outages, recoveries, begin_retry_later, last_outage_ms;
};
void signerd_token_state_get(struct signerd *sd, struct signerd_token_state *out);
/* "token up (...)" or "token DOWN for N ms: why; ..." into buf. Returns buf. */
const char *signerd_token_state_text(struct signerd *sd, char *buf, size_t len);
/* An administrator changed or removed the device: its open enrollment
 * sessions end (front.c). */
void signerd_front_device_changed(struct signerd *sd, const char *name);

#endif
