/*
 * appliance/signerd/signerd_int.h: what the core files of capf-signerd share
 * (main.c, harden.c, ca.c, serve.c, front.c, authcheck.c, util.c). The admin
 * side uses signerd.h only.
 */
#ifndef CAPF_SIGNERD_SIGNERD_INT_H
#define CAPF_SIGNERD_SIGNERD_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <openssl/x509_vfy.h>

#include "appliance/signerd/signerd.h"

struct signerd_core {
	pthread_mutex_t ca_lock;
	struct signerd_ca *active;
	pthread_mutex_t token_lock;
	struct p11_token *token;        /* opened by signerd_token() */
	OSSL_PROVIDER *prov_capfhsm, *prov_default;
	char provider_dir[4200];
	X509_STORE *mic_store;          /* manufacturing CAs (mic.ca_dir), NULL: none */
	unsigned mic_count;
	struct signerd_sessions *sessions;
	atomic_uint_fast64_t conn_seq;
	struct {
		atomic_uint_fast64_t connections, peers_refused, requests, protocol_errors;
		atomic_uint_fast64_t begins, refusals, issued, retry_later, sign_failures;
	} st;
	struct signerd_authkey *authkey;        /* authkey.c: token.auth_key_uri, NULL none */
	struct signerd_checkpointer *cp;        /* checkpoint.c: token.audit_key_uri, NULL none */
};

static inline struct signerd_core *signerd_core(struct signerd *sd)
{
	return sd->core;
}

#define SIGNERD_STAT_INC(sd, f) atomic_fetch_add(&signerd_core(sd)->st.f, 1)

/* ---- harden.c ---- */
struct signerd_env_keep {
	char *softhsm2_conf, *capfhsm_module;
};
void signerd_env_capture(struct signerd_env_keep *k);
int signerd_env_scrub(struct signerd_env_keep *k, char *err, size_t errlen);
int signerd_seccomp_install(char *err, size_t errlen);

/* ---- ca.c ---- */
/* Own library context with capfhsm + default; provider_dir: NULL to search. */
int signerd_crypto_init(struct signerd *sd, const char *provider_dir, char *err, size_t errlen);
void signerd_crypto_fini(struct signerd *sd);
/* Loads the CAPF CA from the config (or the store's active one) and its key. */
int signerd_ca_startup(struct signerd *sd, char *err, size_t errlen);
/* Manufacturing CAs from mic.ca_dir. */
int signerd_mic_load(struct signerd *sd, char *err, size_t errlen);
/* uri with pin-source (token.pin_source) and module-path (token.module) added
 * when it has none; it then holds a PIN path: wipe it after use. */
int signerd_key_uri_full(struct signerd *sd, const char *uri, char *out, size_t len, char *err,
			 size_t errlen);

/* ---- authkey.c: the HMAC key of authentication strings ---- */
/* Opens token.auth_key_uri (a secret key, sensitive and never extractable) when
 * set; checks one HMAC. 0 (also when not configured) or -1 with a message. */
int signerd_authkey_init(struct signerd *sd, char *err, size_t errlen);
void signerd_authkey_fini(struct signerd *sd);

/* ---- checkpoint.c: signed audit checkpoints ---- */
/* Opens token.audit_key_uri through capfhsm when set, reads the newest
 * checkpoint and signs the head when rows are unsigned. 0 or -1. */
int signerd_checkpoint_init(struct signerd *sd, char *err, size_t errlen);
void signerd_checkpoint_fini(struct signerd *sd);

/* ---- front.c ---- */
int signerd_front_init(struct signerd *sd, char *err, size_t errlen);
void signerd_front_fini(struct signerd *sd);
int signerd_front_dispatch(struct signerd *sd, const struct signerd_peer *peer,
			   const struct capf_ipc_msg *req, struct capf_ipc_builder *resp);
/* Expires old sessions (records them as failed); called about once a second. */
void signerd_front_sweep(struct signerd *sd, time_t now);
unsigned signerd_front_active(struct signerd *sd);

/* ---- dispatch.c ---- */
/* Answers one decoded request (PING, front verbs, admin verbs). */
int signerd_dispatch(struct signerd *sd, const struct signerd_peer *peer,
		     const struct capf_ipc_msg *req, struct capf_ipc_builder *resp);
/* A connection is closing (after its last request): per-connection state goes. */
void signerd_conn_closed(struct signerd *sd, const struct signerd_peer *peer);

/* ---- serve.c ---- */
struct signerd_serve_opts {
	uid_t sock_uid;                 /* owner of the directory and sockets (-1: leave) */
	gid_t front_gid, admin_gid;     /* group of front.sock / admin.sock (-1: leave) */
};
struct signerd_server;
/* Creates the directory and both sockets (as root, before dropping privileges). */
struct signerd_server *signerd_server_new(struct signerd *sd, const struct signerd_serve_opts *o,
					  char *err, size_t errlen);
/* Starts the workers (before seccomp). */
int signerd_server_start(struct signerd_server *srv, char *err, size_t errlen);
/* Serves until SIGTERM/SIGINT, then drains; 0 on a clean stop. */
int signerd_server_run(struct signerd_server *srv);
void signerd_server_free(struct signerd_server *srv);

#endif

/* ---- authcheck.c: the authentication evidence of BEGIN ---- */
struct signerd_evidence {
	uint32_t capf_session;
	int has_password;
	const uint8_t *password;        /* not NUL-terminated, in the request buffer */
	size_t password_len;
	const uint8_t *cert;            /* CERT DER, NULL when absent */
	size_t cert_len;
	int cert_type;                  /* enum capf_cert_type, -1 when absent */
	const uint8_t *signed_data;     /* SHA-1 proof, NULL when absent */
	size_t signed_len;
	int sha2_hash;                  /* hash id, -1 when absent */
	const uint8_t *sha2_sig;
	size_t sha2_len;
	const uint8_t *sudi;            /* SUDI_DATA value, NULL when absent */
	size_t sudi_len;
};
/* 0 when the evidence for mode (and the SUDI data, when sent) verifies; -1
 * with *cause (the Cisco cause to record) and a message without secrets. */
int signerd_auth_check(struct signerd *sd, const struct capf_store_device *dev,
		       enum capf_auth_mode mode, const struct signerd_evidence *ev,
		       enum capf_fail_cause *cause, char *why, size_t whylen);
/* Hard error verifying (store unreadable...): *cause is CAPF_FAIL_CA_COMMUNICATION
 * and the return -2. */
