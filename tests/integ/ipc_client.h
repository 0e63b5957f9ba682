/*
 * tests/integ/ipc_client.h: the IPC client the test peers of capf-signerd share
 * (signerd-client, and capf-hostile's ipc-* cases): they talk to front.sock as
 * capf-frontd would, or as a compromised one would.
 *   die             prints "PROGRAM: message" on stderr and exits 2
 *   sock_connect    a SOCK_SEQPACKET connection to a socket path (dies on failure)
 *   roundtrip       sends a built request, decodes the response
 *   print_status    a refused / retry_later / error response as "refused cause=N text=..."
 *   session_id      SESSION_ID: the CAPF session id the signer chose (exits on failure)
 * next_id numbers the requests; save_begin (a path) makes roundtrip write every BEGIN
 * it sends there (signerd-client enroll --save-begin, for capf-hostile ipc-replay).
 */
#ifndef CAPF_TESTS_IPC_CLIENT_H
#define CAPF_TESTS_IPC_CLIENT_H

#include <stdint.h>

#include "appliance/ipc/ipc.h"

extern uint32_t next_id;
extern const char *save_begin;

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
int sock_connect(const char *path);
/* Sends b's request (b is freed) and decodes the response into *m (buf keeps the bytes,
 * CAPF_IPC_MSG_MAX of them). 0, or 1 when the daemon closed the connection. */
int roundtrip(int fd, struct capf_ipc_builder *b, uint16_t verb, uint32_t id, uint8_t *buf,
	      struct capf_ipc_msg *m);
void print_status(const struct capf_ipc_msg *m);
/* buf: CAPF_IPC_MSG_MAX bytes of scratch. Prints closed=1 and exits 1 when refused. */
uint32_t session_id(int fd, uint8_t *buf);

#endif
