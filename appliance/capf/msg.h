/*
 * appliance/capf/msg.h: one CAPF message, parsed and built.
 *
 * Parsing is zero-copy: a struct capf_msg points into the caller's buffer and is
 * valid as long as that buffer is. capf_msg_parse checks the whole framing
 * (protocol id, body length against the cap, every element inside the body), so
 * that walking the elements afterwards cannot fail. Unknown tags are kept and
 * counted; unknown commands are returned as they are (the state machine decides).
 *
 * Building: a capf_builder collects elements into one contiguous buffer, header
 * and body, so the caller writes it with ONE TLS write. The buffer is wiped on
 * free (it may hold a PASSWORD).
 */
#ifndef CAPF_CAPF_MSG_H
#define CAPF_CAPF_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "appliance/capf/proto.h"

struct capf_elem {
	uint8_t tag;
	uint16_t len;
	const uint8_t *val;
};

struct capf_msg {
	uint8_t command;
	uint32_t session_id;
	uint16_t body_len;
	const uint8_t *body;   /* body_len bytes, framing checked */
	unsigned nelem;        /* elements in the body */
	unsigned unknown_tags; /* of which with a tag not in enum capf_tag */
};

/*
 * Parses the message at buf[0..len). body_cap (<= CAPF_BODY_MAX; 0 means
 * CAPF_BODY_MAX) is the largest body accepted. When used is NULL the message
 * must fill buf exactly (else CAPF_E_TRAILING); otherwise *used gets its size.
 * Returns 0, or CAPF_E_TRUNCATED / _PROTO_ID / _TOO_BIG / _OVERRUN / _TRAILING.
 */
int capf_msg_parse(struct capf_msg *m, const uint8_t *buf, size_t len, size_t body_cap, size_t *used, char *err,
		   size_t errlen);

/* Iteration: *pos starts at 0; returns 1 and the next element, 0 at the end. */
int capf_msg_next(const struct capf_msg *m, size_t *pos, struct capf_elem *e);
/* First element with tag into *e (may be NULL); returns how many carry that tag. */
unsigned capf_msg_find(const struct capf_msg *m, uint8_t tag, struct capf_elem *e);

/*
 * Typed values of one element. Each returns 0 or CAPF_E_ELEMENT (message in err
 * names the tag and what was expected).
 *  u8: length 1; u16: length 2; uint: length 1, 2 or 4 (RETRY_DELAY tolerance).
 *  cstr: the value must end with its only NUL, 1 + at most maxlen bytes; *s points
 *        into the message (NUL-terminated there), *slen excludes the NUL.
 */
int capf_elem_u8(const struct capf_elem *e, uint8_t *v, char *err, size_t errlen);
int capf_elem_u16(const struct capf_elem *e, uint16_t *v, char *err, size_t errlen);
int capf_elem_uint(const struct capf_elem *e, uint32_t *v, char *err, size_t errlen);
int capf_elem_cstr(const struct capf_elem *e, size_t maxlen, const char **s, size_t *slen, char *err,
		   size_t errlen);

/*
 * Message-level shortcuts for an element that may appear at most once:
 * return 1 when found and valid, 0 when absent, CAPF_E_DUPLICATE when it is
 * there twice, CAPF_E_ELEMENT when malformed.
 */
int capf_msg_u8(const struct capf_msg *m, uint8_t tag, uint8_t *v, char *err, size_t errlen);
int capf_msg_u16(const struct capf_msg *m, uint8_t tag, uint16_t *v, char *err, size_t errlen);
int capf_msg_uint(const struct capf_msg *m, uint8_t tag, uint32_t *v, char *err, size_t errlen);
int capf_msg_cstr(const struct capf_msg *m, uint8_t tag, size_t maxlen, const char **s, size_t *slen, char *err,
		  size_t errlen);
int capf_msg_bytes(const struct capf_msg *m, uint8_t tag, const uint8_t **p, size_t *len, char *err,
		   size_t errlen);

/*
 * Builder. Errors are sticky: after the first failing put every later call
 * fails too and capf_build_finish reports the first error.
 */
struct capf_builder {
	uint8_t *buf; /* header + body */
	size_t len, cap;
	size_t body_cap;
	int error; /* first error (enum capf_err), 0 if none */
	char errmsg[160];
};

/* body_cap: 0 means CAPF_BODY_MAX. */
int capf_build_init(struct capf_builder *b, uint8_t command, uint32_t session_id, size_t body_cap);
int capf_build_put(struct capf_builder *b, uint8_t tag, const void *val, size_t len);
int capf_build_u8(struct capf_builder *b, uint8_t tag, uint8_t v);
int capf_build_u16(struct capf_builder *b, uint8_t tag, uint16_t v);
int capf_build_u32(struct capf_builder *b, uint8_t tag, uint32_t v);
/* s plus its NUL; refuses an s longer than maxlen (0: no limit but the body's). */
int capf_build_cstr(struct capf_builder *b, uint8_t tag, const char *s, size_t maxlen);
/* RETRY_DELAY, written as 4 bytes big-endian. */
int capf_build_retry_delay(struct capf_builder *b, uint32_t seconds);
/* Writes the body length; *out and *outlen: the whole message (owned by b). */
int capf_build_finish(struct capf_builder *b, const uint8_t **out, size_t *outlen, char *err, size_t errlen);
/* Wipes and frees the buffer; b may be reused with capf_build_init. */
void capf_build_free(struct capf_builder *b);

#endif
