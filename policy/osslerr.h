/*
 * policy/osslerr.h: OpenSSL's error queue as one message, the one way every
 * program and library of the tree reports it (no I/O: it only reads and
 * empties the calling thread's queue).
 */
#ifndef CAPF_POLICY_OSSLERR_H
#define CAPF_POLICY_OSSLERR_H

#include <stddef.h>

/* Every error in the thread's queue, newest first (what the failing call said,
 * then what led to it), "c; b; a", each with its data text ("...: text"), cut
 * at len; the noise of the system openssl.cnf's engines (DSO, ENGINE) is left
 * out. Empties the queue. "no OpenSSL error recorded" when there was none.
 * Returns buf. */
const char *capf_ossl_errors(char *buf, size_t len);
/* "what: <capf_ossl_errors>" into err, or only what when the queue was empty. */
void capf_ossl_error_msg(char *err, size_t errlen, const char *what);

#endif
