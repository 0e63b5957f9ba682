/*
 * appliance/keyd/keyd.h: capf-keyd, the key process of capf-signerd: the only
 * process with a token session. What its files share.
 *
 * capf-signerd's supervisor (appliance/signerd/keyproc.c) starts it with its
 * channels on descriptors 3 .. 3+N-1 (AF_UNIX SOCK_SEQPACKET socketpairs, one
 * request at a time each) and the signer's capf.conf. Requests use the IPC
 * codec in the KEY role (appliance/ipc/PROTOCOL.md, "Key process"):
 *   KEY_LOAD     open a token key (pin-source and module from capf.conf) into
 *                a slot the signer numbers; with CERT (+ CHAIN_CERT) the key
 *                must match that certificate; one test signature, verified
 *   KEY_SIGN     lint (policy/certlint.h, policy/lsc.h), sign, verify, answer
 *   KEY_HMAC     HMAC-SHA-256 under a secret key slot
 *   KEY_PROBE    a test signature (the signer's token health check)
 *   KEY_UNLOAD   forget a slot
 * With --keygen it serves one channel: KEY_GENERATE (a new key pair in the
 * CAPF CA's token) and KEY_DESTROY (only of a pair it generated itself), then
 * exits when the channel closes.
 *
 * Once set up it runs under a seccomp allow-list that kills the process on any
 * other call (appliance/keyd/sandbox.c); it exits when a channel closes.
 */
#ifndef CAPF_KEYD_KEYD_H
#define CAPF_KEYD_KEYD_H

#include <stddef.h>
#include <openssl/types.h>

#include "policy/config.h"

#define CAPF_KEYD_FD_FIRST 3
#define CAPF_KEYD_CHANNELS_MAX 64
#define CAPF_KEYD_SLOTS_MAX 64

struct capf_hsm;

struct keyd {
	struct capf_conf conf;
	struct capf_hsm *hsm; /* NULL in --keygen */
	OSSL_LIB_CTX *libctx;
	int keygen;
};

/* keys.c: the slots and the signing verbs. Thread-safe. keyd_keys_init opens
 * token.ca_key_uri once, before the sandbox, so that the provider loads and
 * initialises the token's module (a later dlopen would map executable code). */
int keyd_keys_init(struct keyd *k, char *err, size_t errlen);
void keyd_keys_fini(struct keyd *k);
/* Answers one decoded request into resp (PING, KEY_*): 0 to send it. */
struct capf_ipc_msg;
struct capf_ipc_builder;
int keyd_serve_one(struct keyd *k, const struct capf_ipc_msg *req, struct capf_ipc_builder *resp);

/* keygen.c: KEY_GENERATE and KEY_DESTROY (--keygen only). */
/* Opens the rw token before the sandbox (the module is loaded now, not later). */
int keyd_keygen_init(struct keyd *k, char *err, size_t errlen);
int keyd_keygen_serve(struct keyd *k, const struct capf_ipc_msg *req, struct capf_ipc_builder *resp);
void keyd_keygen_fini(void);

/* sandbox.c: the allow-list. network: token.network; keygen: the module may
 * write its token files (key generation). 0 or -1 with a message. */
int keyd_sandbox(int network, int keygen, char *err, size_t errlen);
/* --seccomp-selftest NAME: performs the forbidden call NAME ("open-write",
 * "socket", "exec-map", "connect", "unlink") after the filter is installed;
 * returns only when the call was not stopped. */
void keyd_selftest(const char *name);

#endif
