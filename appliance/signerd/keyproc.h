/*
 * appliance/signerd/keyproc.h: capf-signerd's link to its key process
 * (keyproc.c: the supervisor, the channels, restarts) and the key operations
 * built on it (keyops.c). The signer never opens the token itself.
 */
#ifndef CAPF_SIGNERD_KEYPROC_H
#define CAPF_SIGNERD_KEYPROC_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>

#include "appliance/ipc/ipc.h"

struct signerd;

#define KP_DOWN (-2) /* no key process right now (it died, restarts): retry later */

struct signerd_keyproc_opts {
	const char *keyd_path;    /* NULL: next to the program */
	const char *provider_dir; /* NULL: capf-keyd looks next to itself */
	int foreground, verbose, seccomp;
};

/* Forks the supervisor (before anything from outside is read) and the watcher. */
int signerd_keyproc_start(struct signerd *sd, const struct signerd_keyproc_opts *o, char *err, size_t errlen);
/* Waits until the first key process answers: 0, or -1 with a message. */
int signerd_keyproc_wait(struct signerd *sd, unsigned ms, char *err, size_t errlen);
void signerd_keyproc_stop(struct signerd *sd);
void signerd_keyproc_stats(struct signerd *sd, uint64_t *restarts, uint64_t *calls_down, int *up);

/* The request plumbing (keyops.c). b is finished here; resp decoded from rbuf
 * (CAPF_IPC_MSG_MAX bytes). 0 (look at resp->status), -1 error, KP_DOWN. */
int signerd_key_call(struct signerd *sd, struct capf_ipc_builder *b, uint16_t verb, uint8_t *rbuf,
		     struct capf_ipc_msg *resp, char *err, size_t errlen);
int signerd_key_call_fd(int fd, struct capf_ipc_builder *b, uint16_t verb, uint8_t *rbuf,
			struct capf_ipc_msg *resp, char *err, size_t errlen);
uint32_t signerd_key_request_id(struct signerd *sd);
uint32_t signerd_key_new_slot(struct signerd *sd);
/* A KEY_LOAD that succeeded, replayed into every later key process. */
int signerd_key_register(struct signerd *sd, uint32_t slot, struct capf_ipc_builder *load);
void signerd_key_unregister(struct signerd *sd, uint32_t slot);
/* A channel to a fresh `capf-keyd --keygen` (close it when done), or -1. */
int signerd_keyproc_keygen_fd(struct signerd *sd, char *err, size_t errlen);

#endif
