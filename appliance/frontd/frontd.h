/*
 * appliance/frontd/frontd.h: what the parts of capf-frontd share (not for use
 * outside appliance/frontd/).
 *
 *   main.c     options, configuration, privileges, hardening, the epoll loop
 *   tls.c      the server SSL_CTX (key from a file or a pkcs11: URI via capfhsm)
 *   session.c  one phone: non-blocking TLS and the CAPF state machine
 *   signer.c   the bounded pool of SOCK_SEQPACKET connections to front.sock
 *   peers.c    connections per remote address (front.max_per_address)
 *   sandbox.c  the seccomp allow-list installed after start-up
 *
 * Everything runs in one thread. Every descriptor registered with epoll carries
 * a struct front_ev as its first member; the loop dispatches on its kind.
 */
#ifndef CAPF_FRONTD_FRONTD_H
#define CAPF_FRONTD_FRONTD_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "appliance/ipc/ipc.h"
#include "policy/config.h"

enum front_ev_kind { EV_LISTEN = 1, EV_SESSION, EV_SIGNER };

struct front_ev {
	enum front_ev_kind kind;
	int fd;
};

/*
 * At the connection limit (front.max_connections, or front.max_per_address for
 * the phone's address) a connection is not served but told RETRY_LATER: a TLS
 * handshake bounded to REFUSE_HANDSHAKE_MS, the message, close. At most
 * REFUSE_SLOTS such connections at a time, REFUSE_PER_ADDRESS of them from one
 * address; beyond that a connection is closed at once (counted and logged).
 */
#define REFUSE_SLOTS 64
#define REFUSE_PER_ADDRESS 4
#define REFUSE_HANDSHAKE_MS 5000

/*
 * Handshakes in progress (TLS state, OpenSSL's handshake buffers: about 44 KiB
 * each) are bounded by front.max_handshakes (or --max-handshakes). A connection
 * takes no SSL object and no slot until its first TLS record (the ClientHello)
 * is complete in the socket; then it waits for a slot in its address's queue,
 * the addresses served in turn. When every slot is taken, a handshake that has
 * held its slot for HANDSHAKE_MIN_HOLD_MS is evicted (closed) for a waiting
 * address holding fewer than its fair share (slots / addresses with handshakes
 * or waiting ClientHellos), when its own address holds more than that share.
 */
#define HANDSHAKE_MIN_HOLD_MS 2000

/* ---- main.c: the loop ---- */
struct front {
	const struct capf_conf *conf;
	int epfd;
	SSL_CTX *ssl;
	struct signer_pool *signer;
	unsigned nsessions; /* open phone connections (served) */
	unsigned nrefusing; /* connections being told RETRY_LATER */
	unsigned max_sessions;
	unsigned max_per_address;
	unsigned peak_per_address; /* most connections served from one address at once */
	unsigned long long accepted, refused_full, refused_address, dropped;
	int stopping;
	/* handshakes (see above) */
	unsigned max_handshakes;
	unsigned nhandshakes;     /* holding a handshake slot */
	unsigned nwaiting;        /* ClientHello in, waiting for a slot */
	unsigned nssl;            /* SSL objects alive (every connection past its ClientHello) */
	unsigned hs_addrs;        /* addresses with a handshake slot or a waiting ClientHello */
	unsigned peak_handshakes; /* most slots held at once */
	unsigned peak_ssl;        /* most SSL objects at once */
	unsigned long long evicted;
	struct peer *rr; /* the next address whose ClientHello gets a slot */
};

int front_ev_add(struct front *f, struct front_ev *ev, uint32_t events);
int front_ev_mod(struct front *f, struct front_ev *ev, uint32_t events);
void front_ev_del(struct front *f, struct front_ev *ev);
/* Monotonic milliseconds. */
uint64_t front_now_ms(void);

/* ---- sandbox.c ---- */
/* The seccomp allow-list for the running loop (token_key: SoftHSM in-process). */
int front_sandbox(int token_key, char *err, size_t errlen);

/* ---- tls.c ---- */
/* The server context: certificate and key from conf->tls, versions from
 * tls.min_version (1.2 by default), ECDHE suites only, no client certificate.
 * provider_dir: where capfhsm.so lives (only used for a pkcs11: key). */
SSL_CTX *front_tls_ctx(const struct capf_conf *conf, const char *provider_dir, char *err, size_t errlen);
void front_tls_free(void);

/* ---- peers.c ---- */
struct session;
struct peer {
	unsigned sessions;                 /* served connections from this address */
	unsigned refusing;                 /* connections being told RETRY_LATER */
	unsigned handshakes;               /* of them holding a handshake slot */
	unsigned waiting;                  /* of them with a ClientHello waiting for a slot */
	struct session *wq_head, *wq_tail; /* those, first come first */
	struct peer *rr_prev, *rr_next;    /* the ring of addresses with waiting ClientHellos */
};
/* The counts of ss's address (zero for a new one), or NULL when out of memory. */
struct peer *peer_get(const struct sockaddr_storage *ss);
/* Forgets the address when both counts are zero again. */
void peer_release(struct peer *p);
/* Addresses with a connection open. */
unsigned peer_count(void);

/* ---- session.c ---- */
/* Takes an accepted, non-blocking socket (closes it on failure) and counts it in
 * f and pa (released when it closes). refuse: tell the phone RETRY_LATER right
 * after the TLS handshake (connection limit) instead of serving it. */
void session_new(struct front *f, int fd, const char *peer, struct peer *pa, int refuse);
/* Socket readiness (EPOLLIN/OUT/ERR/HUP bits). */
void session_event(struct session *s, uint32_t events);
/* Called every loop turn: ClientHellos waiting get the free handshake slots (one
 * address after the other). */
void session_admit(struct front *f, uint64_t now);
/* Called every TICK_MS: timeouts; stalled handshakes evicted for addresses below
 * their fair share of the slots. */
void session_tick(struct front *f, uint64_t now);
/* Logs event=front_load: connections by stage, SSL objects, slots, evictions. */
void session_log_load(const struct front *f, const char *why);
/* Frees the sessions closed during the last epoll batch. */
void session_reap(void);
/* Closes every session (shutdown). */
void session_close_all(struct front *f);

/* ---- signer.c ---- */
/*
 * A request handed to the pool. The pool owns it from signer_submit on and
 * frees it after calling done (or when cancelled before being sent).
 * done(arg, resp): resp is the decoded response (status in resp->status), or
 * NULL when the signer could not be reached, timed out, or answered something
 * that does not decode (the caller tells the phone to retry later).
 */
struct signer_req;
typedef void (*signer_done_fn)(void *arg, struct signer_req *r, const struct capf_ipc_msg *resp);

struct signer_pool *signer_pool_new(struct front *f, const char *sock_path, unsigned nconn, unsigned queue_max,
				    unsigned timeout_ms);
void signer_pool_free(struct signer_pool *p);
/* The message built by b (its request id is assigned here). Returns the request
 * (the caller keeps it to cancel), or NULL when the pool is saturated or the
 * signer is down (nothing was queued; the builder is not consumed either way). */
struct signer_req *signer_submit(struct signer_pool *p, struct capf_ipc_builder *b, uint16_t verb,
				 signer_done_fn done, void *arg);
/* The caller lost interest: done will not be called. When the request was
 * already sent and carries a signer session, abort_token (non-zero) is
 * ABORTed with cause once its answer is in (or the token of a BEGIN answer). */
void signer_cancel(struct signer_pool *p, struct signer_req *r, uint64_t abort_token, uint8_t cause);
/* Fire and forget (ABORT, RESULT after the phone is gone). Returns 0 or -1. */
int signer_send_orphan(struct signer_pool *p, struct capf_ipc_builder *b, uint16_t verb);
void signer_event(struct signer_pool *p, struct front_ev *ev, uint32_t events);
/* Reconnects with backoff, request timeouts. */
void signer_tick(struct signer_pool *p, uint64_t now);
/* For logs. */
void signer_stats(const struct signer_pool *p, unsigned *up, unsigned *busy, unsigned *queued);

#endif
