/*
 * appliance/capf/msg.c: CAPF message framing, element access and the builder
 * (see msg.h). Every length is checked against what is left before it is used.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appliance/capf/msg.h"
#include "appliance/capf/capf_int.h"

static int fail(int rc, char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(int rc, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t effective_cap(size_t body_cap)
{
	return body_cap == 0 || body_cap > CAPF_BODY_MAX ? CAPF_BODY_MAX : body_cap;
}

int capf_msg_parse(struct capf_msg *m, const uint8_t *buf, size_t len, size_t body_cap, size_t *used, char *err,
		   size_t errlen)
{
	size_t cap = effective_cap(body_cap), off, blen;
	unsigned n = 0, unknown = 0;

	memset(m, 0, sizeof(*m));
	if (len < 1 || buf == NULL)
		return fail(CAPF_E_TRUNCATED, err, errlen, "CAPF message: empty");
	if (buf[0] != CAPF_PROTOCOL_ID)
		return fail(CAPF_E_PROTO_ID, err, errlen, "CAPF message: protocol id 0x%02x, expected 0x%02x",
			    buf[0], CAPF_PROTOCOL_ID);
	if (len < CAPF_HEADER_LEN)
		return fail(CAPF_E_TRUNCATED, err, errlen,
			    "CAPF message: %zu bytes, shorter than the %d-byte header", len, CAPF_HEADER_LEN);
	blen = get16(buf + 6);
	if (blen > cap)
		return fail(CAPF_E_TOO_BIG, err, errlen,
			    "CAPF message %s: body of %zu bytes, at most %zu allowed",
			    capf_command_name(buf[1]), blen, cap);
	if (len - CAPF_HEADER_LEN < blen)
		return fail(CAPF_E_TRUNCATED, err, errlen,
			    "CAPF message %s: body length %zu but only %zu bytes follow the header",
			    capf_command_name(buf[1]), blen, len - CAPF_HEADER_LEN);
	if (used == NULL && len != CAPF_HEADER_LEN + blen)
		return fail(CAPF_E_TRAILING, err, errlen, "CAPF message %s: %zu bytes after the body",
			    capf_command_name(buf[1]), len - CAPF_HEADER_LEN - blen);

	const uint8_t *body = buf + CAPF_HEADER_LEN;
	for (off = 0; off < blen; n++) {
		size_t elen;

		if (blen - off < CAPF_ELEM_HEADER_LEN)
			return fail(
				CAPF_E_OVERRUN, err, errlen,
				"CAPF message %s: %zu stray bytes at body offset %zu, too short for an element header",
				capf_command_name(buf[1]), blen - off, off);
		elen = get16(body + off + 1);
		if (blen - off - CAPF_ELEM_HEADER_LEN < elen)
			return fail(
				CAPF_E_OVERRUN, err, errlen,
				"CAPF message %s: element %s (tag %u) at body offset %zu has length %zu, only %zu bytes left in the body",
				capf_command_name(buf[1]), capf_tag_name(body[off]), body[off], off, elen,
				blen - off - CAPF_ELEM_HEADER_LEN);
		if (!capf_tag_known(body[off]))
			unknown++;
		off += CAPF_ELEM_HEADER_LEN + elen;
	}

	m->command = buf[1];
	m->session_id = get32(buf + 2);
	m->body_len = (uint16_t)blen;
	m->body = body;
	m->nelem = n;
	m->unknown_tags = unknown;
	if (used != NULL)
		*used = CAPF_HEADER_LEN + blen;
	return 0;
}

int capf_msg_next(const struct capf_msg *m, size_t *pos, struct capf_elem *e)
{
	size_t off = *pos;

	/* The framing was checked by capf_msg_parse; stay defensive anyway. */
	if (m->body == NULL || off >= m->body_len || m->body_len - off < CAPF_ELEM_HEADER_LEN)
		return 0;
	e->tag = m->body[off];
	e->len = get16(m->body + off + 1);
	if (m->body_len - off - CAPF_ELEM_HEADER_LEN < e->len)
		return 0;
	e->val = m->body + off + CAPF_ELEM_HEADER_LEN;
	*pos = off + CAPF_ELEM_HEADER_LEN + e->len;
	return 1;
}

unsigned capf_msg_find(const struct capf_msg *m, uint8_t tag, struct capf_elem *e)
{
	struct capf_elem cur;
	size_t pos = 0;
	unsigned n = 0;

	while (capf_msg_next(m, &pos, &cur)) {
		if (cur.tag != tag)
			continue;
		if (n++ == 0 && e != NULL)
			*e = cur;
	}
	return n;
}

int capf_elem_u8(const struct capf_elem *e, uint8_t *v, char *err, size_t errlen)
{
	if (e->len != 1)
		return fail(CAPF_E_ELEMENT, err, errlen, "CAPF element %s: %u bytes, expected 1",
			    capf_tag_name(e->tag), e->len);
	*v = e->val[0];
	return 0;
}

int capf_elem_u16(const struct capf_elem *e, uint16_t *v, char *err, size_t errlen)
{
	if (e->len != 2)
		return fail(CAPF_E_ELEMENT, err, errlen, "CAPF element %s: %u bytes, expected 2",
			    capf_tag_name(e->tag), e->len);
	*v = get16(e->val);
	return 0;
}

int capf_elem_uint(const struct capf_elem *e, uint32_t *v, char *err, size_t errlen)
{
	switch (e->len) {
	case 1:
		*v = e->val[0];
		return 0;
	case 2:
		*v = get16(e->val);
		return 0;
	case 4:
		*v = get32(e->val);
		return 0;
	default:
		return fail(CAPF_E_ELEMENT, err, errlen, "CAPF element %s: %u bytes, expected 1, 2 or 4",
			    capf_tag_name(e->tag), e->len);
	}
}

int capf_elem_cstr(const struct capf_elem *e, size_t maxlen, const char **s, size_t *slen, char *err,
		   size_t errlen)
{
	const uint8_t *nul;

	if (e->len == 0)
		return fail(CAPF_E_ELEMENT, err, errlen,
			    "CAPF element %s: empty; a string is NUL-terminated (an empty one is a lone NUL)",
			    capf_tag_name(e->tag));
	nul = memchr(e->val, 0, e->len);
	if (nul == NULL)
		return fail(CAPF_E_ELEMENT, err, errlen, "CAPF element %s: %u bytes without a terminating NUL",
			    capf_tag_name(e->tag), e->len);
	if ((size_t)(nul - e->val) != (size_t)e->len - 1)
		return fail(CAPF_E_ELEMENT, err, errlen,
			    "CAPF element %s: NUL at offset %zu inside a %u-byte string", capf_tag_name(e->tag),
			    (size_t)(nul - e->val), e->len);
	if ((size_t)e->len - 1 > maxlen)
		return fail(CAPF_E_ELEMENT, err, errlen, "CAPF element %s: %u bytes long, at most %zu allowed",
			    capf_tag_name(e->tag), e->len - 1, maxlen);
	*s = (const char *)e->val;
	if (slen != NULL)
		*slen = (size_t)e->len - 1;
	return 0;
}

/* The single element with tag: 1 found, 0 absent, CAPF_E_DUPLICATE. */
static int find_once(const struct capf_msg *m, uint8_t tag, struct capf_elem *e, char *err, size_t errlen)
{
	unsigned n = capf_msg_find(m, tag, e);

	if (n > 1)
		return fail(CAPF_E_DUPLICATE, err, errlen, "CAPF message %s: element %s appears %u times",
			    capf_command_name(m->command), capf_tag_name(tag), n);
	return n == 1;
}

int capf_msg_u8(const struct capf_msg *m, uint8_t tag, uint8_t *v, char *err, size_t errlen)
{
	struct capf_elem e;
	int rc = find_once(m, tag, &e, err, errlen);

	if (rc <= 0)
		return rc;
	rc = capf_elem_u8(&e, v, err, errlen);
	return rc < 0 ? rc : 1;
}

int capf_msg_u16(const struct capf_msg *m, uint8_t tag, uint16_t *v, char *err, size_t errlen)
{
	struct capf_elem e;
	int rc = find_once(m, tag, &e, err, errlen);

	if (rc <= 0)
		return rc;
	rc = capf_elem_u16(&e, v, err, errlen);
	return rc < 0 ? rc : 1;
}

int capf_msg_uint(const struct capf_msg *m, uint8_t tag, uint32_t *v, char *err, size_t errlen)
{
	struct capf_elem e;
	int rc = find_once(m, tag, &e, err, errlen);

	if (rc <= 0)
		return rc;
	rc = capf_elem_uint(&e, v, err, errlen);
	return rc < 0 ? rc : 1;
}

int capf_msg_cstr(const struct capf_msg *m, uint8_t tag, size_t maxlen, const char **s, size_t *slen, char *err,
		  size_t errlen)
{
	struct capf_elem e;
	int rc = find_once(m, tag, &e, err, errlen);

	if (rc <= 0)
		return rc;
	rc = capf_elem_cstr(&e, maxlen, s, slen, err, errlen);
	return rc < 0 ? rc : 1;
}

int capf_msg_bytes(const struct capf_msg *m, uint8_t tag, const uint8_t **p, size_t *len, char *err,
		   size_t errlen)
{
	struct capf_elem e;
	int rc = find_once(m, tag, &e, err, errlen);

	if (rc <= 0)
		return rc;
	*p = e.val;
	*len = e.len;
	return 1;
}

/* Builder */

int capf_build_fail(struct capf_builder *b, int rc, const char *fmt, ...)
{
	va_list ap;

	if (b->error == 0) {
		b->error = rc;
		va_start(ap, fmt);
		vsnprintf(b->errmsg, sizeof(b->errmsg), fmt, ap);
		va_end(ap);
	}
	return b->error;
}

int capf_build_init(struct capf_builder *b, uint8_t command, uint32_t session_id, size_t body_cap)
{
	memset(b, 0, sizeof(*b));
	b->body_cap = effective_cap(body_cap);
	b->cap = 512;
	b->buf = malloc(b->cap);
	if (b->buf == NULL)
		return capf_build_fail(b, CAPF_E_NOMEM, "CAPF builder: out of memory");
	b->buf[0] = CAPF_PROTOCOL_ID;
	b->buf[1] = command;
	b->buf[2] = (uint8_t)(session_id >> 24);
	b->buf[3] = (uint8_t)(session_id >> 16);
	b->buf[4] = (uint8_t)(session_id >> 8);
	b->buf[5] = (uint8_t)session_id;
	b->buf[6] = b->buf[7] = 0;
	b->len = CAPF_HEADER_LEN;
	return 0;
}

/* Room for n more bytes in the body. Grows by copying into a fresh buffer and
 * wiping the old one, so that no stale copy of a PASSWORD is left behind. */
static int reserve(struct capf_builder *b, uint8_t tag, size_t n)
{
	size_t want, ncap;
	uint8_t *nb;

	if (b->error != 0)
		return b->error;
	if (b->buf == NULL)
		return capf_build_fail(b, CAPF_E_ARG, "CAPF builder: not initialised");
	if (n > b->body_cap || b->len - CAPF_HEADER_LEN > b->body_cap - n)
		return capf_build_fail(
			b, CAPF_E_ARG,
			"CAPF builder: element %s of %zu bytes would make the body longer than %zu",
			capf_tag_name(tag), n, b->body_cap);
	want = b->len + n;
	if (want <= b->cap)
		return 0;
	ncap = b->cap;
	while (ncap < want)
		ncap *= 2;
	if (ncap > CAPF_HEADER_LEN + CAPF_BODY_MAX)
		ncap = CAPF_HEADER_LEN + CAPF_BODY_MAX;
	nb = malloc(ncap);
	if (nb == NULL)
		return capf_build_fail(b, CAPF_E_NOMEM, "CAPF builder: out of memory");
	memcpy(nb, b->buf, b->len);
	explicit_bzero(b->buf, b->cap);
	free(b->buf);
	b->buf = nb;
	b->cap = ncap;
	return 0;
}

/* Appends the 3-byte element header; the caller appends exactly len value bytes. */
static int put_header(struct capf_builder *b, uint8_t tag, size_t len)
{
	int rc;

	if (len > 0xffff)
		return capf_build_fail(b, CAPF_E_ARG, "CAPF builder: element %s of %zu bytes, at most 65535",
				       capf_tag_name(tag), len);
	if ((rc = reserve(b, tag, CAPF_ELEM_HEADER_LEN + len)) != 0)
		return rc;
	b->buf[b->len++] = tag;
	b->buf[b->len++] = (uint8_t)(len >> 8);
	b->buf[b->len++] = (uint8_t)len;
	return 0;
}

static void append(struct capf_builder *b, const void *p, size_t n)
{
	if (n > 0)
		memcpy(b->buf + b->len, p, n);
	b->len += n;
}

uint8_t *capf_build_elem(struct capf_builder *b, uint8_t tag, size_t len)
{
	if (put_header(b, tag, len) != 0)
		return NULL;
	b->len += len;
	return b->buf + b->len - len;
}

int capf_build_put(struct capf_builder *b, uint8_t tag, const void *val, size_t len)
{
	int rc;

	if (val == NULL && len > 0)
		return capf_build_fail(b, CAPF_E_ARG, "CAPF builder: element %s: no value", capf_tag_name(tag));
	if ((rc = put_header(b, tag, len)) != 0)
		return rc;
	append(b, val, len);
	return 0;
}

int capf_build_u8(struct capf_builder *b, uint8_t tag, uint8_t v)
{
	return capf_build_put(b, tag, &v, 1);
}

int capf_build_u16(struct capf_builder *b, uint8_t tag, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	return capf_build_put(b, tag, x, sizeof(x));
}

int capf_build_u32(struct capf_builder *b, uint8_t tag, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	return capf_build_put(b, tag, x, sizeof(x));
}

int capf_build_cstr(struct capf_builder *b, uint8_t tag, const char *s, size_t maxlen)
{
	size_t n;
	int rc;

	if (s == NULL)
		return capf_build_fail(b, CAPF_E_ARG, "CAPF builder: element %s: no string",
				       capf_tag_name(tag));
	n = strnlen(s, 0x10000);
	if (n >= 0xffff || (maxlen > 0 && n > maxlen))
		return capf_build_fail(b, CAPF_E_ARG,
				       "CAPF builder: element %s: string of %zu bytes, at most %zu allowed",
				       capf_tag_name(tag), n, maxlen > 0 ? maxlen : (size_t)0xfffe);
	if ((rc = put_header(b, tag, n + 1)) != 0)
		return rc;
	append(b, s, n + 1);
	return 0;
}

int capf_build_retry_delay(struct capf_builder *b, uint32_t seconds)
{
	return capf_build_u32(b, CAPF_TAG_RETRY_DELAY, seconds);
}

int capf_build_finish(struct capf_builder *b, const uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
	size_t blen;

	if (b->buf == NULL && b->error == 0)
		capf_build_fail(b, CAPF_E_ARG, "CAPF builder: not initialised");
	if (b->error != 0)
		return fail(b->error, err, errlen, "%s", b->errmsg);
	blen = b->len - CAPF_HEADER_LEN;
	b->buf[6] = (uint8_t)(blen >> 8);
	b->buf[7] = (uint8_t)blen;
	*out = b->buf;
	*outlen = b->len;
	return 0;
}

void capf_build_free(struct capf_builder *b)
{
	if (b->buf != NULL) {
		explicit_bzero(b->buf, b->cap);
		free(b->buf);
	}
	memset(b, 0, sizeof(*b));
}
