/*
 * appliance/signerd/signerd_int.h: what the core files of capf-signerd share
 * (main.c, harden.c, ca.c, serve.c, front.c, authcheck.c, util.c). The admin
 * side uses signerd.h only.
 */
#ifndef CAPF_SIGNERD_SIGNERD_INT_H
#define CAPF_SIGNERD_SIGNERD_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <openssl/x509_vfy.h>

#include "appliance/signerd/signerd.h"

struct signerd_core {
	pthread_mutex_t ca_lock;
	struct signerd_ca *active;
	struct signerd_keyproc *keyproc; /* the key process (keyproc.c) */
	X509_STORE *mic_store;           /* manufacturing CAs (mic.ca_dir), NULL: none */
	unsigned mic_count;
	struct signerd_sessions *sessions;
	struct signerd_replay *replay; /* certificate proofs seen (replay.h), made by front.c */
	atomic_uint_fast64_t conn_seq;
	struct {
		atomic_uint_fast64_t connections, peers_refused, requests, protocol_errors;
		atomic_uint_fast64_t begins, refusals, issued, retry_later, sign_failures;
	} st;
	struct signerd_authkey *authkey; /* authkey.c: token.auth_key_uri, NULL none */
	struct signerd_checkpointer *cp; /* checkpoint.c: token.audit_key_uri, NULL none */
};

static inline struct signerd_core *signerd_core(struct signerd *sd)
{
	return sd->core;
}

/* Minimum gap between two recoveries of the token (provider, rate limit). */
#define SIGNERD_TOKEN_RECOVER_MS 1000
/* Health check of an up token (one test signature). */
#define SIGNERD_TOKEN_HEALTH_MS 5000

#define SIGNERD_STAT_INC(sd, f) atomic_fetch_add(&signerd_core(sd)->st.f, 1)

/* ---- harden.c ---- */
struct signerd_env_keep {
	char *softhsm2_conf, *capfhsm_module;
	char **all; /* the whole start-up environment until signerd_env_apply */
	size_t nall;
};
void signerd_env_capture(struct signerd_env_keep *k);
int signerd_env_scrub(struct signerd_env_keep *k, char *err, size_t errlen);
/* After capf.conf is read: token.env's variables ("NAME" from the start-up
 * environment, "NAME=VALUE" as written); then forgets the copy. */
int signerd_env_apply(struct signerd_env_keep *k, const struct capf_conf *c, char *err, size_t errlen);
/* The start-up copy wiped and freed, when capf-signerd exits before signerd_env_apply. */
void signerd_env_forget(struct signerd_env_keep *k);
/* The allow-list of the signer (the key process has its own: appliance/keyd/sandbox.c). */
int signerd_seccomp_install(char *err, size_t errlen);

/* ---- ca.c ---- */
/* Drops the active CA and the manufacturing CAs. */
void signerd_crypto_fini(struct signerd *sd);
/* Loads the CAPF CA from the config (or the store's active one) and its key. */
int signerd_ca_startup(struct signerd *sd, char *err, size_t errlen);
/* Manufacturing CAs from mic.ca_dir. */
int signerd_mic_load(struct signerd *sd, char *err, size_t errlen);

/* ---- authkey.c: the HMAC key of authentication strings ---- */
/* Loads token.auth_key_uri (a secret key, sensitive and never extractable) into
 * the key process when set, which checks one HMAC. 0 (also when not
 * configured) or -1 with a message. */
int signerd_authkey_init(struct signerd *sd, char *err, size_t errlen);
void signerd_authkey_fini(struct signerd *sd);

/* ---- checkpoint.c: signed audit checkpoints ---- */
/* Loads token.audit_key_uri into the key process when set, reads the newest
 * checkpoint and signs the head when rows are unsigned. 0 or -1. */
int signerd_checkpoint_init(struct signerd *sd, char *err, size_t errlen);
void signerd_checkpoint_fini(struct signerd *sd);

/* ---- tokstate.c: the token's state, recovery after an outage ---- */
/* A signature failed because the token is unavailable: mark it down (logged once). */
void signerd_token_failed(struct signerd *sd, const char *why);
/* 1 when the token is up; 0 (and counted) when a BEGIN must answer RETRY_LATER. */
int signerd_token_usable(struct signerd *sd);
/* The thread that probes a down token (after the CA is loaded) and its end. */
int signerd_token_watch_start(struct signerd *sd, char *err, size_t errlen);
void signerd_token_watch_stop(struct signerd *sd);

/* ---- front.c ---- */
int signerd_front_init(struct signerd *sd, char *err, size_t errlen);
void signerd_front_fini(struct signerd *sd);
/* The front verbs (dispatch.c's table calls them once the state is checked). */
int signerd_front_session_id(struct signerd *sd, const struct signerd_peer *peer,
			     const struct capf_ipc_msg *req, struct capf_ipc_builder *resp);
int signerd_front_begin(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
			struct capf_ipc_builder *resp);
int signerd_front_issue(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
			struct capf_ipc_builder *resp);
int signerd_front_result(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
			 struct capf_ipc_builder *resp);
int signerd_front_abort(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
			struct capf_ipc_builder *resp);
/* A certificate's serial number in upper-case hex (as the store keeps it): 0 or -1. */
int signerd_serial_hex(X509 *x, char *out, size_t len);
/* The session state a verb needs before it is served (dispatch.c's table). */
enum signerd_need {
	SIGNERD_NEED_NOTHING = 0,
	SIGNERD_NEED_SESSION_ID,      /* CAPF_SESSION handed to this peer, unused */
	SIGNERD_NEED_SESSION,         /* TOKEN of this peer's session (open, or ended lately) */
	SIGNERD_NEED_INSTALL_SESSION, /* ... an install not issued yet, when open */
};
int signerd_front_state_ok(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
			   enum signerd_need need, char *why, size_t whylen);
/* Expires old sessions (records them as failed); called about once a second
 * by front.c's own sweeper thread. */
void signerd_front_sweep(struct signerd *sd, time_t now);
unsigned signerd_front_active(struct signerd *sd);

/* ---- dispatch.c ---- */
/* Answers one decoded request (PING, front verbs, admin verbs). */
int signerd_dispatch(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
		     struct capf_ipc_builder *resp);
/* A connection is closing (after its last request): per-connection state goes. */
void signerd_conn_closed(struct signerd *sd, const struct signerd_peer *peer);

/* ---- serve.c ---- */
struct signerd_serve_opts {
	uid_t sock_uid;             /* owner of the directory and sockets (-1: leave) */
	gid_t front_gid, admin_gid; /* group of front.sock / admin.sock (-1: leave) */
};
struct signerd_server;
/* Creates the directory and both sockets (as root, before dropping privileges). */
struct signerd_server *signerd_server_new(struct signerd *sd, const struct signerd_serve_opts *o, char *err,
					  size_t errlen);
/* Starts the workers (before seccomp). */
int signerd_server_start(struct signerd_server *srv, char *err, size_t errlen);
/* Serves until SIGTERM/SIGINT, then drains; 0 on a clean stop. */
int signerd_server_run(struct signerd_server *srv);
void signerd_server_free(struct signerd_server *srv);

/* checkfiles.c: `--check-config`'s file checks: every file and folder c names,
 * tried as the user the daemon will run as (user; NULL: capf-signer when root,
 * else the caller). Prints one line per problem (file, setting, why) on stderr;
 * returns the number of problems (0: all usable). */
int signerd_check_files(const struct capf_conf *c, const char *conf_path, const char *user);
/* A certificate a phone returned to Troubleshoot (fetch): 0 when it chains to a
 * CAPF CA (active or previous) or to a manufacturing CA and names the device;
 * -1 with the reason. why gets what it is either way; issuer_fp the SHA-256 of the
 * CA certificate it chained to ("" when it did not) (authcheck.c). */
int signerd_fetched_check(struct signerd *sd, const char *name, X509 *cert,
			  char issuer_fp[SIGNERD_FP_HEX_LEN + 1], char *why, size_t whylen);

/* ---- authcheck.c: the authentication evidence of BEGIN ---- */
struct signerd_evidence {
	uint32_t capf_session;
	int has_password;
	const uint8_t *password; /* not NUL-terminated, in the request buffer */
	size_t password_len;
	const uint8_t *cert; /* CERT DER, NULL when absent */
	size_t cert_len;
	int cert_type;              /* enum capf_cert_type, -1 when absent */
	const uint8_t *signed_data; /* SHA-1 proof, NULL when absent */
	size_t signed_len;
	int sha2_hash; /* hash id, -1 when absent */
	const uint8_t *sha2_sig;
	size_t sha2_len;
	const uint8_t *sudi; /* SUDI_DATA value, NULL when absent */
	size_t sudi_len;
	int replay_exempt; /* fetch/delete: nothing is issued, no replay check */
	/* set by signerd_auth_check: the replay cache keys it added */
	uint8_t replay_keys[6][32];
	size_t n_replay, n_replay_checked; /* the first n_replay_checked had to be new */
};
/* 0 when the evidence for mode (and the SUDI data, when sent) verifies, is
 * fresh (auth.require_sudi) and was not seen before (the replay cache: its
 * signatures are added, ev->replay_keys); -1 with *cause (the Cisco cause to
 * record) and a message without secrets. The caller that cannot use the
 * evidence after all takes its keys out again (signerd_replay_remove). */
int signerd_auth_check(struct signerd *sd, const struct capf_store_device *dev, enum capf_auth_mode mode,
		       struct signerd_evidence *ev, enum capf_fail_cause *cause, char *why, size_t whylen);
/* Hard error verifying (store unreadable...): *cause is CAPF_FAIL_CA_COMMUNICATION
 * and the return -2. */

#endif
