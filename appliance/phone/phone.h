/*
 * appliance/phone/phone.h: capf-phone, a CAPF client that behaves like a Cisco
 * phone or a Jabber client (for tests, benchmarks and operators).
 *
 * The protocol side (phone_session_*) is a pure state machine over the CAPF
 * codec: feed it each server message, it returns the messages to send (each to
 * be written with one TLS write). Proof-of-possession signatures and key
 * generation use OpenSSL; the TLS context lives in tls.c, the event-driven driver
 * running sessions over sockets in loop.c, the command line in main.c.
 */
#ifndef CAPF_PHONE_PHONE_H
#define CAPF_PHONE_PHONE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "appliance/capf/msg.h"
#include "appliance/capf/proto.h"

enum phone_auth {
	PHONE_AUTH_NULL = 0, /* PASSWORD: a lone NUL */
	PHONE_AUTH_STRING,   /* PASSWORD: the authentication string */
	PHONE_AUTH_LSC,      /* CERTIFICATE (LSC) + signatures */
	PHONE_AUTH_MIC,      /* CERTIFICATE (MIC) + signatures */
};

#define PHONE_FAIL_RSA 0x01 /* --fail-keygen rsa */
#define PHONE_FAIL_EC 0x02  /* --fail-keygen ec */

/* Pre-generated keys, so that a load test measures the server, not the phone. */
struct phone_keypool;
struct phone_keypool *phone_keypool_new(void);
/* Adds n keys of one kind ("rsa:2048", "ec:P-256"...); 0 or -1 with err. */
int phone_keypool_fill(struct phone_keypool *p, const char *spec, unsigned n, char *err, size_t errlen);
/* Takes a key matching the request (NULL when none is left: generate one). */
EVP_PKEY *phone_keypool_take(struct phone_keypool *p, int key_type, unsigned rsa_bits, int curve);
/* on: phone_keypool_take hands out the keys round robin (shared) instead of once each. */
void phone_keypool_reuse(struct phone_keypool *p, int on);
void phone_keypool_free(struct phone_keypool *p);

struct phone_config {
	const char *name; /* DEVICE_NAME */
	int protocol;     /* 3 (phone) or 2 (Jabber: no PASSWORD, RSA only) */
	enum phone_auth auth;
	const char *auth_string; /* PHONE_AUTH_STRING; not owned */
	X509 *cert;              /* LSC or MIC for authentication, and what FETCH returns */
	EVP_PKEY *cert_key;
	X509 *sudi_cert; /* optional SUDI_DATA */
	EVP_PKEY *sudi_key;
	int send_in_progress;       /* REQUEST_IN_PROGRESS before KEY_GENERATE_RESPONSE */
	unsigned fail_keygen;       /* PHONE_FAIL_* */
	struct phone_keypool *pool; /* optional */
};

enum phone_result {
	PHONE_RUNNING = 0,
	PHONE_SUCCESS, /* END_SESSION reason 1 after an operation */
	PHONE_NOTHING, /* END_SESSION reason 0 */
	PHONE_UNKNOWN, /* END_SESSION reason 9 */
	PHONE_REFUSED, /* END_SESSION reason 7 (or any other) */
	PHONE_RETRY,   /* RETRY_LATER */
	PHONE_ERROR,   /* protocol error, TLS error, timeout */
};

/* Exit codes of capf-phone, one per result. */
#define PHONE_EXIT_SUCCESS 0
#define PHONE_EXIT_NOTHING 10
#define PHONE_EXIT_UNKNOWN 11
#define PHONE_EXIT_REFUSED 12
#define PHONE_EXIT_RETRY 13
#define PHONE_EXIT_ERROR 1
#define PHONE_EXIT_USAGE 2

struct phone_session {
	const struct phone_config *cfg;
	uint32_t session_id;
	int authed; /* AUTH_RESPONSE sent */
	enum phone_result result;
	uint8_t end_reason;
	uint32_t retry_delay;
	unsigned keygen_requests, keygen_failed, in_progress_sent;
	const char *operation; /* "install", "fetch", "delete" or NULL */
	EVP_PKEY *key;         /* the key generated for the LSC */
	X509 *lsc;             /* the certificate stored */
	char error[256];
	/* messages to send after a phone_session_input call, in order */
	struct {
		uint8_t *buf;
		size_t len;
	} out[2];
	unsigned nout;
};

void phone_session_init(struct phone_session *s, const struct phone_config *cfg);
/* Handles one server message. Returns 0 (continue; send s->out[0..nout)), 1 when the
 * session is over (s->result), -1 on a protocol error (s->error, result PHONE_ERROR). */
int phone_session_input(struct phone_session *s, const struct capf_msg *m);
void phone_session_clear_out(struct phone_session *s);
void phone_session_free(struct phone_session *s);
const char *phone_result_name(enum phone_result r);
int phone_result_exit(enum phone_result r);

/*
 * Proof of possession: signs data as phones do. hash_id CAPF_HASH_SHA1 or
 * CAPF_HASH_SHA512 (or SHA256). RSA: PKCS#1 v1.5 type 1 over the bare digest (no
 * DigestInfo); EC: DER ECDSA over the digest. *sig is malloc'd.
 */
int phone_sign(EVP_PKEY *key, int hash_id, const uint8_t *data, size_t len, uint8_t **sig, size_t *siglen,
	       char *err, size_t errlen);

/* The AUTH_RESPONSE the configuration produces for a session id (one buffer, malloc'd). */
int phone_auth_response(const struct phone_config *cfg, uint32_t session_id, uint8_t **out, size_t *outlen,
			char *err, size_t errlen);

/*
 * Device name patterns for the load mode: one conversion %[0][width]X|x|d|u
 * ("SEP%012X"), "%%" for a percent sign, nothing else. Returns 0 or -1 with err.
 */
struct phone_pattern {
	char prefix[64], suffix[64];
	int width, zero;
	char conv;
};
int phone_pattern_parse(struct phone_pattern *p, const char *s, char *err, size_t errlen);
/* Writes the name for n; -1 when it does not fit in len. */
int phone_pattern_format(const struct phone_pattern *p, unsigned long n, char *buf, size_t len);

/* TLS: a client context that trusts only the CAPF certificate file (PEM, one or
 * more certificates; the server's leaf must be one of them or chain to one;
 * partial chains accepted, no host name check, as phones pin the ITL's record). */
SSL_CTX *phone_tls_ctx(const char *capf_cert_file, char *err, size_t errlen);
/*
 * Running sessions (loop.c): count sessions, concurrency at a time, on threads
 * threads each running an epoll loop over its share with non-blocking sockets
 * and TLS. A session's deadline (timeout_ms from its start) covers connect,
 * handshake and the whole exchange. host:port is resolved once per run.
 */
struct phone_load {
	SSL_CTX *ctx; /* from phone_tls_ctx */
	const char *host, *port;
	const char *bind; /* numeric source address, or NULL */
	int timeout_ms;
	unsigned long count;                 /* sessions to run */
	unsigned concurrency;                /* at a time */
	unsigned threads;                    /* at most concurrency; 1 runs in the calling thread only */
	const struct phone_config *cfg;      /* every session's configuration, but for its name: */
	const struct phone_pattern *pattern; /* NULL: cfg->name; else session i is first + i */
	unsigned long first;
	/* Session i is over (s->result, s->error, s->cfg->name), ms from its connect to its
	 * end. Called on the session's thread; s is freed after it returns (a caller keeping
	 * s->key or s->lsc takes them and sets them to NULL). */
	void (*done)(void *arg, unsigned long i, struct phone_session *s, double ms);
	void *arg;
	/* > 0: a session told RETRY_LATER waits the delay the server gave (at most this
	 * many ms, jittered down to half of it, as a fleet of phones would spread) and
	 * starts again in its slot, while timeout_ms from its first connect allows;
	 * done is called once, for its last attempt, with ms from its first connect.
	 * 0: RETRY_LATER is the session's result. */
	int retry_max_ms;
	atomic_ulong *retries; /* with retry_max_ms: RETRY_LATER answers retried */
};
/* Runs every session to its end (each reported through done). 0, or -1 with err when
 * the run itself failed (no epoll, no thread): some sessions may not have run. */
int phone_load_run(const struct phone_load *l, char *err, size_t errlen);

#endif
