/*
 * appliance/capf/reader.c: incremental CAPF reader (see reader.h). The header is
 * collected first; the body buffer is sized from the announced length only after
 * that length was checked against the cap.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appliance/capf/reader.h"

struct capf_reader {
	size_t body_cap;
	uint8_t *buf;  /* header + body of the message being read */
	size_t cap;    /* allocated bytes in buf */
	size_t have;   /* bytes collected */
	size_t need;   /* total bytes of the current message once known, else header */
	int dead;      /* a framing error was reported */
	int delivered; /* buf holds a delivered message; reset at the next feed */
};

static int fail(struct capf_reader *r, int rc, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int fail(struct capf_reader *r, int rc, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	r->dead = rc;
	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

struct capf_reader *capf_reader_new(size_t body_cap)
{
	struct capf_reader *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->body_cap = body_cap == 0 || body_cap > CAPF_BODY_MAX ? CAPF_BODY_MAX : body_cap;
	r->cap = 256;
	r->buf = malloc(r->cap);
	if (r->buf == NULL) {
		free(r);
		return NULL;
	}
	r->need = CAPF_HEADER_LEN;
	return r;
}

void capf_reader_free(struct capf_reader *r)
{
	if (r == NULL)
		return;
	explicit_bzero(r->buf, r->cap);
	free(r->buf);
	free(r);
}

size_t capf_reader_want(const struct capf_reader *r)
{
	if (r->delivered)
		return CAPF_HEADER_LEN;
	return r->need - r->have;
}

size_t capf_reader_pending(const struct capf_reader *r)
{
	return r->delivered ? 0 : r->have;
}

static int grow(struct capf_reader *r, size_t total)
{
	uint8_t *nb;

	if (total <= r->cap)
		return 0;
	nb = malloc(total);
	if (nb == NULL)
		return -1;
	memcpy(nb, r->buf, r->have);
	explicit_bzero(r->buf, r->cap);
	free(r->buf);
	r->buf = nb;
	r->cap = total;
	return 0;
}

int capf_reader_feed(struct capf_reader *r, const uint8_t *p, size_t len, size_t *used, struct capf_msg *msg,
		     char *err, size_t errlen)
{
	size_t off = 0, n;
	int rc;

	*used = 0;
	if (r->dead)
		return fail(r, r->dead, err, errlen, "CAPF reader: the stream already failed");
	if (r->delivered) {
		explicit_bzero(r->buf, r->have);
		r->have = 0;
		r->need = CAPF_HEADER_LEN;
		r->delivered = 0;
	}
	while (off < len) {
		n = r->need - r->have;
		if (n > len - off)
			n = len - off;
		memcpy(r->buf + r->have, p + off, n);
		if (r->have == 0 && r->buf[0] != CAPF_PROTOCOL_ID) {
			*used = off + 1;
			return fail(r, CAPF_E_PROTO_ID, err, errlen,
				    "CAPF message: protocol id 0x%02x, expected 0x%02x", r->buf[0],
				    CAPF_PROTOCOL_ID);
		}
		r->have += n;
		off += n;
		if (r->have < r->need)
			break;
		if (r->need == CAPF_HEADER_LEN) {
			size_t blen = (size_t)r->buf[6] << 8 | r->buf[7];

			if (blen > r->body_cap) {
				*used = off;
				return fail(r, CAPF_E_TOO_BIG, err, errlen,
					    "CAPF message %s: body of %zu bytes, at most %zu allowed",
					    capf_command_name(r->buf[1]), blen, r->body_cap);
			}
			if (grow(r, CAPF_HEADER_LEN + blen) != 0) {
				*used = off;
				return fail(r, CAPF_E_NOMEM, err, errlen, "CAPF reader: out of memory");
			}
			r->need = CAPF_HEADER_LEN + blen;
			if (blen > 0)
				continue;
		}
		/* Complete: check the elements. */
		*used = off;
		rc = capf_msg_parse(msg, r->buf, r->have, r->body_cap, NULL, err, errlen);
		if (rc < 0)
			return fail(r, rc, NULL, 0, "%s", "");
		r->delivered = 1;
		return 1;
	}
	*used = off;
	return 0;
}
