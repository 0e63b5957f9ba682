/*
 * appliance/capf/reader.h: incremental CAPF message reader for non-blocking
 * servers and clients. Feed it whatever bytes arrived, split anywhere (even one
 * at a time); it yields each complete message. It never assumes one recv is one
 * message. A framing error is final: the stream is dead, close the connection.
 *
 *   while (n > 0) {
 *           rc = capf_reader_feed(r, p, n, &used, &msg, err, sizeof(err));
 *           if (rc < 0) -> close;  p += used; n -= used;
 *           if (rc == 1) -> handle msg (valid until the next feed)
 *   }
 */
#ifndef CAPF_CAPF_READER_H
#define CAPF_CAPF_READER_H

#include <stddef.h>
#include <stdint.h>

#include "appliance/capf/msg.h"

struct capf_reader;

/* body_cap: the largest body accepted (0: CAPF_BODY_MAX). NULL when out of memory. */
struct capf_reader *capf_reader_new(size_t body_cap);
/* Wipes buffered bytes and frees. NULL is fine. */
void capf_reader_free(struct capf_reader *r);

/*
 * Consumes up to len bytes, stopping right after the end of a message.
 * *used: bytes consumed. Returns 1 when *msg holds a complete message (pointing
 * into the reader; valid until the next feed or free), 0 when all bytes were
 * consumed and more are needed, or a negative enum capf_err (CAPF_E_PROTO_ID
 * as soon as the first byte is wrong, CAPF_E_TOO_BIG as soon as the header is
 * complete, CAPF_E_OVERRUN when the body is).
 */
int capf_reader_feed(struct capf_reader *r, const uint8_t *p, size_t len, size_t *used, struct capf_msg *msg,
		     char *err, size_t errlen);

/* Bytes still needed to finish the current header or body (8 when idle), so a
 * client may read exactly that much. */
size_t capf_reader_want(const struct capf_reader *r);
/* Bytes of an unfinished message held (0 between messages): EOF now is truncation. */
size_t capf_reader_pending(const struct capf_reader *r);

#endif
