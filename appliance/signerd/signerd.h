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

struct signerd_sessions; /* front enrollment sessions (front.c) */

#define SIGNERD_FP_HEX_LEN 64 /* SHA-256, hex */

/* One generation of the CAPF CA: immutable once published, refcounted. */
struct signerd_ca {
	struct capf_ca *ca;              /* certificate + chain (policy/chain.h) */
	uint32_t slot;                   /* its token key in the key process (signerd_key_load) */
	struct signerd *sd;              /* private: unloads the slot when the last user puts it */
	char fp[SIGNERD_FP_HEX_LEN + 1]; /* SHA-256 of the certificate DER, lower-case hex */
	char key_uri[CAPF_CONF_STR_MAX]; /* pkcs11: URI of the key, without pin-source */
	unsigned refs;                   /* private: use signerd_ca_get/put */
};

/* Who is on the other end of a connection (SO_PEERCRED at accept). */
struct signerd_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	enum capf_role role; /* the socket it came in on (policy/config.h) */
	uint64_t conn_id;    /* unique per accepted connection in this process */
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
	struct capf_conf conf; /* capf.conf as loaded at start-up */
	const char *conf_path;
	struct capf_store *store;
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
int signerd_admin_dispatch(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
			   struct capf_ipc_builder *resp);

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
 * A new generation from ca (ownership taken, also on failure): its key, the
 * token key key_uri (a pkcs11: URI without PIN or module), is loaded into a
 * new slot of the key process, which checks that it matches the certificate
 * and signs. NULL with a message; *retry (may be NULL) is 1 when the token or
 * the key process is down.
 */
struct signerd_ca *signerd_ca_new(struct signerd *sd, struct capf_ca *ca, const char *key_uri, int *retry,
				  char *err, size_t errlen);

/* Publishes nca as the active generation (the reference passed in goes to the
 * daemon); the old one is freed when its last user puts it. The caller records
 * the change in the store (capf_store_cert_add/set_role) first. */
void signerd_ca_replace(struct signerd *sd, struct signerd_ca *nca);

/*
 * Has the key process lint, sign (the generation's key) and verify the
 * unsigned certificate tbs as kind (CAPF_IPC_SIGN_TLS): the signed
 * certificate, or NULL with a message; *retry (may be NULL) is 1 when the token
 * or the key process is down or busy (answer RETRY_LATER); a failure of the
 * token marks it down (tokstate.c).
 */
X509 *signerd_ca_sign(struct signerd *sd, const struct signerd_ca *ca, enum capf_ipc_sign_kind kind, X509 *tbs,
		      int *retry, char *err, size_t errlen);
/* The same for the DER of the unsigned certificate (CAPF_IPC_SIGN_LSC: LSCs are
 * handled as bytes): 0 and *out (the signed DER, with the same TBSCertificate;
 * free()), or -1. */
int signerd_ca_sign_der(struct signerd *sd, const struct signerd_ca *ca, enum capf_ipc_sign_kind kind,
			const uint8_t *der, size_t len, unsigned char **out, size_t *outlen, int *retry,
			char *err, size_t errlen);

/* SHA-256 of a certificate's DER as lower-case hex into fp (65 bytes). */
int signerd_cert_fp(X509 *cert, char fp[SIGNERD_FP_HEX_LEN + 1]);

/* A CAPF CA's chain as the store keeps it (capf_certs.chain): the DER
 * certificates concatenated, issuer first. Empty chain: *der NULL, *len 0.
 * signerd_chain_der returns 0 or -1 (out of memory); signerd_chain_parse
 * returns the certificates (an empty stack for len 0), or NULL when the bytes
 * are not a sequence of certificates. */
int signerd_chain_der(STACK_OF(X509) * chain, unsigned char **der, size_t *len);
STACK_OF(X509) * signerd_chain_parse(const unsigned char *der, size_t len);

/* ---- the key process (keyops.c): the only process with a token session ---- */

/* Loads the token key uri (class: CA key, audit key, HMAC key) into a new slot;
 * with cert (and chain) for a CA key, which must match. The slot is loaded
 * again into every later key process. *pub (may be NULL): the public key. */
int signerd_key_load(struct signerd *sd, enum capf_ipc_key_class cls, const char *uri, X509 *cert,
		     STACK_OF(X509) * chain, uint32_t *slot, EVP_PKEY **pub, int *retry, char *err,
		     size_t errlen);
void signerd_key_unload(struct signerd *sd, uint32_t slot);
/* The same as signerd_ca_sign on a slot: kind LSC, TLS or CA (a new key's own certificate). */
X509 *signerd_key_sign_cert(struct signerd *sd, uint32_t slot, enum capf_ipc_sign_kind kind, X509 *tbs,
			    int *retry, char *err, size_t errlen);
/* The same for a certificate's DER (*out: the signed DER, to free()): the
 * answer must carry the TBSCertificate sent, byte for byte. */
int signerd_key_sign_der(struct signerd *sd, uint32_t slot, enum capf_ipc_sign_kind kind, const uint8_t *der,
			 size_t len, unsigned char **out, size_t *outlen, int *retry, char *err, size_t errlen);
/* A CSR for the slot's own key, signed. */
X509_REQ *signerd_key_sign_req(struct signerd *sd, uint32_t slot, X509_REQ *req, int *retry, char *err,
			       size_t errlen);
/* A signature over msg (kind CAPF_IPC_SIGN_CHECKPOINT: an audit checkpoint message). */
int signerd_key_sign_data(struct signerd *sd, uint32_t slot, enum capf_ipc_sign_kind kind, const uint8_t *msg,
			  size_t len, uint8_t *sig, size_t *siglen, int *retry, char *err, size_t errlen);
int signerd_key_hmac(struct signerd *sd, uint32_t slot, const uint8_t *in, size_t inlen, uint8_t out[32],
		     char *err, size_t errlen);
/* One test signature (HMAC) with the slot's key: 0, or -1 (*retry: token down). */
int signerd_key_probe(struct signerd *sd, uint32_t slot, int *retry, char *err, size_t errlen);

/* Key generation, in a one-shot `capf-keyd --keygen` run in the CAPF CA's
 * token (regenerate): open, generate (key_type CAPF_KEY_RSA with bits, or
 * CAPF_KEY_EC with curve; label: the wanted CKA_LABEL, made unique with -2,
 * -3...), destroy it again if a later step fails, close. */
struct signerd_keygen;
struct signerd_keygen *signerd_keygen_open(struct signerd *sd, char *err, size_t errlen);
int signerd_keygen_generate(struct signerd_keygen *kg, uint8_t key_type, uint32_t bits, uint8_t curve,
			    const char *label, char *uri, size_t urilen, char *label_out, size_t lablen,
			    EVP_PKEY **pub, int *retry, char *err, size_t errlen);
int signerd_keygen_destroy(struct signerd_keygen *kg, const char *uri, char *err, size_t errlen);
void signerd_keygen_close(struct signerd_keygen *kg);

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
int signerd_audit(struct signerd *sd, const struct signerd_peer *peer, const char *action, const char *subject,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The same without waiting for the row to be durable: it commits, in order, with
 * the next store write that is waited for (capf_store_audit_append_deferred).
 * Only a failure to queue is returned; a failed write is logged by
 * signerd_store_deferred_error (capf_store_on_deferred_error). */
int signerd_audit_deferred(struct signerd *sd, const struct signerd_peer *peer, const char *action,
			   const char *subject, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
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
int signerd_reply(struct signerd *sd, struct capf_ipc_builder *resp, const struct capf_ipc_msg *req,
		  enum capf_ipc_status status, enum capf_fail_cause cause, const char *text);

void signerd_stats_get(struct signerd *sd, struct signerd_stats *out);

/* The token holding the CAPF CA key (tokstate.c): down after a signature failed
 * for want of it, up again once a probe signs. */
struct signerd_token_state {
	int down;
	uint64_t down_ms; /* this outage so far (down) */
	time_t since;     /* when it went down (down) */
	char why[300];    /* what failed (down) */
	uint64_t outages, recoveries, begin_retry_later, last_outage_ms;
};
void signerd_token_state_get(struct signerd *sd, struct signerd_token_state *out);
/* "token up (...)" or "token DOWN for N ms: why; ..." into buf. Returns buf. */
const char *signerd_token_state_text(struct signerd *sd, char *buf, size_t len);
/* An administrator changed or removed the device: its open enrollment
 * sessions end (front.c). */
void signerd_front_device_changed(struct signerd *sd, const char *name);

#endif
