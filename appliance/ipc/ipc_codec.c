/*
 * appliance/ipc/ipc_codec.c: decoding and building IPC messages (see ipc.h and
 * PROTOCOL.md). One validation walk checks framing, types, caps and the verb's
 * schema before anything is allocated; then one array of field views is
 * allocated, sized by the count the walk found.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appliance/ipc/ipc.h"
#include "appliance/ipc/ipc_int.h"

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

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static int rule_index(const struct ipc_rule *rules, uint16_t tag)
{
	for (int i = 0; rules != NULL && i < IPC_RULES_MAX && rules[i].tag != 0; i++)
		if (rules[i].tag == tag)
			return i;
	return -1;
}

/* Whether a list ends within IPC_RULES_MAX rules (NULL: an empty list). */
static int rules_fit(const struct ipc_rule *rules)
{
	for (int i = 0; rules != NULL && i < IPC_RULES_MAX; i++)
		if (rules[i].tag == 0)
			return 1;
	return rules == NULL;
}

struct walk {
	const char *where; /* "BEGIN request", "DEVICE in BULK_ADD request", ... */
	int response;
	int status_seen;
	uint8_t status;
	size_t nfields;
	char *err;
	size_t errlen;
};

/* The value of one field against its tag's type and cap. */
static int check_value(const struct ipc_tagdef *t, const uint8_t *v, size_t n, struct walk *w)
{
	size_t want = 0;

	switch (t->type) {
	case FT_U8:
		want = 1;
		break;
	case FT_U32:
		want = 4;
		break;
	case FT_U64:
	case FT_I64:
		want = 8;
		break;
	default:
		break;
	}
	if (want != 0 && n != want)
		return fail(CAPF_IPC_E_FIELD, w->err, w->errlen, "IPC %s: field %s has %zu bytes, expected %zu",
			    w->where, t->name, n, want);
	if (t->type == FT_U8 && v[0] > t->max)
		return fail(CAPF_IPC_E_FIELD, w->err, w->errlen, "IPC %s: field %s = %u, at most %u allowed",
			    w->where, t->name, v[0], (unsigned)t->max);
	if ((t->type == FT_STR || t->type == FT_BYTES || t->type == FT_NEST) && n > t->max)
		return fail(CAPF_IPC_E_FIELD, w->err, w->errlen,
			    "IPC %s: field %s has %zu bytes, at most %u allowed", w->where, t->name, n,
			    (unsigned)t->max);
	if (t->type == FT_STR && n > 0 && memchr(v, 0, n) != NULL)
		return fail(CAPF_IPC_E_FIELD, w->err, w->errlen, "IPC %s: string field %s contains a NUL byte",
			    w->where, t->name);
	return 0;
}

/*
 * Walks the fields in p[0..len) against rules (and, for a top-level response,
 * the common response fields); nested fields are walked against their own rules.
 */
static int walk_fields(const uint8_t *p, size_t len, const struct ipc_rule *rules,
		       const struct ipc_rule *common, int depth, struct walk *w)
{
	unsigned count[IPC_RULES_MAX] = { 0 }, ccount[IPC_RULES_MAX] = { 0 };
	size_t off = 0;
	int rc, i;

	if (!rules_fit(rules) || !rules_fit(common))
		return fail(CAPF_IPC_E_MALFORMED, w->err, w->errlen,
			    "IPC %s: the schema lists more than %d rules (ipc_schema_check)", w->where,
			    IPC_RULES_MAX);
	while (off < len) {
		const struct ipc_tagdef *t;
		const struct ipc_rule *r;
		uint16_t tag;
		size_t n;

		if (len - off < CAPF_IPC_FIELD_HEADER)
			return fail(CAPF_IPC_E_MALFORMED, w->err, w->errlen,
				    "IPC %s: %zu stray bytes at offset %zu, too short for a field header",
				    w->where, len - off, off);
		tag = get16(p + off);
		n = get16(p + off + 2);
		if (len - off - CAPF_IPC_FIELD_HEADER < n)
			return fail(CAPF_IPC_E_MALFORMED, w->err, w->errlen,
				    "IPC %s: field tag %u at offset %zu has length %zu, only %zu bytes left",
				    w->where, tag, off, n, len - off - CAPF_IPC_FIELD_HEADER);
		const uint8_t *v = p + off + CAPF_IPC_FIELD_HEADER;
		off += CAPF_IPC_FIELD_HEADER + n;

		if ((t = ipc_tagdef(tag)) == NULL)
			return fail(CAPF_IPC_E_TAG, w->err, w->errlen, "IPC %s: unknown field tag %u", w->where,
				    tag);
		if ((rc = check_value(t, v, n, w)) != 0)
			return rc;
		if ((t->flags & TF_REQUEST_ONLY) && w->response)
			return fail(CAPF_IPC_E_NOT_ALLOWED, w->err, w->errlen,
				    "IPC %s: field %s may only travel in requests", w->where, t->name);
		if ((i = rule_index(rules, tag)) >= 0) {
			r = &rules[i];
			count[i]++;
			if (count[i] > 1 && !(r->flags & RF_REPEAT))
				return fail(CAPF_IPC_E_DUPLICATE, w->err, w->errlen,
					    "IPC %s: field %s appears more than once", w->where, t->name);
		} else if ((i = rule_index(common, tag)) >= 0) {
			ccount[i]++;
			if (ccount[i] > 1)
				return fail(CAPF_IPC_E_DUPLICATE, w->err, w->errlen,
					    "IPC %s: field %s appears more than once", w->where, t->name);
		} else {
			return fail(CAPF_IPC_E_NOT_ALLOWED, w->err, w->errlen,
				    "IPC %s: field %s is not allowed here", w->where, t->name);
		}
		if (t->type == FT_NEST) {
			const struct ipc_rule *inner = ipc_nest_rules(tag);
			const char *outer = w->where;
			char where[96];

			if (depth > 0 || inner == NULL)
				return fail(CAPF_IPC_E_NOT_ALLOWED, w->err, w->errlen,
					    "IPC %s: nested field %s inside a nested field", w->where, t->name);
			snprintf(where, sizeof(where), "%s in %s", t->name, outer);
			w->where = where;
			rc = walk_fields(v, n, inner, NULL, depth + 1, w);
			w->where = outer;
			if (rc != 0)
				return rc;
		}
		if (depth == 0)
			w->nfields++;
		if (depth == 0 && tag == CAPF_IPC_T_STATUS && common != NULL) {
			w->status_seen = 1;
			w->status = v[0];
		}
	}

	/* required fields */
	if (common != NULL) {
		static const struct {
			uint8_t status;
			uint16_t tag;
		} need[] = {
			{ CAPF_IPC_REFUSED, CAPF_IPC_T_CAUSE },
			{ CAPF_IPC_RETRY_LATER, CAPF_IPC_T_RETRY_DELAY },
			{ CAPF_IPC_ERROR, CAPF_IPC_T_TEXT },
		};

		if (!w->status_seen)
			return fail(CAPF_IPC_E_MISSING, w->err, w->errlen, "IPC %s: no STATUS field", w->where);
		for (size_t k = 0; k < sizeof(need) / sizeof(need[0]); k++) {
			int c = rule_index(common, need[k].tag);

			if (w->status == need[k].status && (c < 0 || ccount[c] == 0))
				return fail(CAPF_IPC_E_MISSING, w->err, w->errlen,
					    "IPC %s: status %s without a %s field", w->where,
					    capf_ipc_status_name(w->status), capf_ipc_tag_name(need[k].tag));
		}
		if (w->status != CAPF_IPC_OK)
			return 0;
	}
	for (i = 0; rules != NULL && i < IPC_RULES_MAX && rules[i].tag != 0; i++)
		if ((rules[i].flags & RF_REQUIRED) && count[i] == 0)
			return fail(CAPF_IPC_E_MISSING, w->err, w->errlen,
				    "IPC %s: required field %s is missing", w->where,
				    capf_ipc_tag_name(rules[i].tag));
	return 0;
}

/* Header and schema checks shared by decoding and building. */
static int validate(const uint8_t *buf, size_t len, unsigned roles, int response, uint16_t verb_expected,
		    uint32_t id_expected, struct walk *w)
{
	const struct ipc_verbdef *vd;
	uint16_t verb;
	char where[64];

	if (len > CAPF_IPC_MSG_MAX)
		return fail(CAPF_IPC_E_TOO_BIG, w->err, w->errlen, "IPC message of %zu bytes, at most %d", len,
			    CAPF_IPC_MSG_MAX);
	if (buf == NULL || len < CAPF_IPC_HEADER_LEN)
		return fail(CAPF_IPC_E_MALFORMED, w->err, w->errlen,
			    "IPC message of %zu bytes, shorter than the %d-byte header", len,
			    CAPF_IPC_HEADER_LEN);
	if (buf[0] != CAPF_IPC_VERSION)
		return fail(CAPF_IPC_E_VERSION, w->err, w->errlen, "IPC message version %u, expected %d",
			    buf[0], CAPF_IPC_VERSION);
	if (buf[1] != (response ? CAPF_IPC_FLAG_RESPONSE : 0))
		return fail(CAPF_IPC_E_VERSION, w->err, w->errlen, "IPC message flags 0x%02x, expected a %s",
			    buf[1], response ? "response (0x01)" : "request (0x00)");
	verb = get16(buf + 2);
	if (response && (verb != verb_expected || get32(buf + 4) != id_expected))
		return fail(CAPF_IPC_E_MISMATCH, w->err, w->errlen,
			    "IPC response for %s id %u, but the request was %s id %u", capf_ipc_verb_name(verb),
			    get32(buf + 4), capf_ipc_verb_name(verb_expected), id_expected);
	vd = ipc_verbdef(verb);
	if (vd == NULL)
		return fail(CAPF_IPC_E_VERB, w->err, w->errlen, "IPC unknown verb 0x%04x", verb);
	if (!response && !(vd->roles & roles))
		return fail(CAPF_IPC_E_VERB, w->err, w->errlen, "IPC verb %s is not allowed on this socket",
			    vd->name);
	snprintf(where, sizeof(where), "%s %s", vd->name, response ? "response" : "request");
	w->where = where;
	w->response = response;
	return walk_fields(buf + CAPF_IPC_HEADER_LEN, len - CAPF_IPC_HEADER_LEN, response ? vd->rsp : vd->req,
			   response ? ipc_response_common : NULL, 0, w);
}

/* Fills m->fields from a validated field area. */
static int collect(struct capf_ipc_msg *m, const uint8_t *p, size_t len, size_t n, char *err, size_t errlen)
{
	size_t off = 0, k = 0;

	m->nfields = 0;
	m->fields = NULL;
	if (n == 0)
		return 0;
	if (n > len / CAPF_IPC_FIELD_HEADER)
		return fail(CAPF_IPC_E_MALFORMED, err, errlen, "IPC: field count inconsistent");
	m->fields = calloc(n, sizeof(*m->fields));
	if (m->fields == NULL)
		return fail(CAPF_IPC_E_NOMEM, err, errlen, "IPC: out of memory for %zu fields", n);
	while (off + CAPF_IPC_FIELD_HEADER <= len && k < n) {
		struct capf_ipc_field *f = &m->fields[k++];

		f->tag = get16(p + off);
		f->len = get16(p + off + 2);
		if (len - off - CAPF_IPC_FIELD_HEADER < f->len)
			break;
		f->val = p + off + CAPF_IPC_FIELD_HEADER;
		off += CAPF_IPC_FIELD_HEADER + f->len;
	}
	if (k != n || off != len) {
		free(m->fields);
		m->fields = NULL;
		return fail(CAPF_IPC_E_MALFORMED, err, errlen, "IPC: fields inconsistent");
	}
	m->nfields = n;
	return 0;
}

static int decode(struct capf_ipc_msg *m, const uint8_t *buf, size_t len, unsigned roles, int response,
		  uint16_t verb, uint32_t id, char *err, size_t errlen)
{
	struct walk w = { .err = err, .errlen = errlen };
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = validate(buf, len, roles, response, verb, id, &w)) != 0)
		return rc;
	m->version = buf[0];
	m->flags = buf[1];
	m->verb = get16(buf + 2);
	m->id = get32(buf + 4);
	m->status = w.status;
	return collect(m, buf + CAPF_IPC_HEADER_LEN, len - CAPF_IPC_HEADER_LEN, w.nfields, err, errlen);
}

int capf_ipc_decode_request(struct capf_ipc_msg *m, const uint8_t *buf, size_t len, unsigned roles, char *err,
			    size_t errlen)
{
	return decode(m, buf, len, roles, 0, 0, 0, err, errlen);
}

int capf_ipc_decode_response(struct capf_ipc_msg *m, const uint8_t *buf, size_t len, uint16_t verb, uint32_t id,
			     char *err, size_t errlen)
{
	return decode(m, buf, len, 0, 1, verb, id, err, errlen);
}

int capf_ipc_decode_nested(const struct capf_ipc_field *f, struct capf_ipc_msg *sub, char *err, size_t errlen)
{
	size_t off = 0, n = 0;

	memset(sub, 0, sizeof(*sub));
	if (ipc_nest_rules(f->tag) == NULL)
		return fail(CAPF_IPC_E_ARG, err, errlen, "IPC: field %s is not a nested field",
			    capf_ipc_tag_name(f->tag));
	/* count (framing was checked when the enclosing message was decoded; recheck) */
	while (off < f->len) {
		if (f->len - off < CAPF_IPC_FIELD_HEADER ||
		    f->len - off - CAPF_IPC_FIELD_HEADER < get16(f->val + off + 2))
			return fail(CAPF_IPC_E_MALFORMED, err, errlen, "IPC: nested field %s malformed",
				    capf_ipc_tag_name(f->tag));
		off += CAPF_IPC_FIELD_HEADER + get16(f->val + off + 2);
		n++;
	}
	return collect(sub, f->val, f->len, n, err, errlen);
}

void capf_ipc_msg_free(struct capf_ipc_msg *m)
{
	if (m == NULL)
		return;
	free(m->fields);
	memset(m, 0, sizeof(*m));
}

const struct capf_ipc_field *capf_ipc_find(const struct capf_ipc_msg *m, uint16_t tag,
					   const struct capf_ipc_field *after)
{
	size_t i = 0;

	if (after != NULL) {
		if (after < m->fields || after >= m->fields + m->nfields)
			return NULL;
		i = (size_t)(after - m->fields) + 1;
	}
	for (; i < m->nfields; i++)
		if (m->fields[i].tag == tag)
			return &m->fields[i];
	return NULL;
}

unsigned capf_ipc_count(const struct capf_ipc_msg *m, uint16_t tag)
{
	unsigned n = 0;

	for (size_t i = 0; i < m->nfields; i++)
		n += m->fields[i].tag == tag;
	return n;
}

/* The field with tag if present and of the expected size. */
static const struct capf_ipc_field *sized(const struct capf_ipc_msg *m, uint16_t tag, size_t n)
{
	const struct capf_ipc_field *f = capf_ipc_find(m, tag, NULL);

	return f != NULL && f->len == n ? f : NULL;
}

uint8_t capf_ipc_field_u8(const struct capf_ipc_field *f)
{
	return f->len == 1 ? f->val[0] : 0;
}
uint32_t capf_ipc_field_u32(const struct capf_ipc_field *f)
{
	return f->len == 4 ? get32(f->val) : 0;
}
uint64_t capf_ipc_field_u64(const struct capf_ipc_field *f)
{
	return f->len == 8 ? get64(f->val) : 0;
}
int64_t capf_ipc_field_i64(const struct capf_ipc_field *f)
{
	return (int64_t)capf_ipc_field_u64(f);
}

int capf_ipc_get_u8(const struct capf_ipc_msg *m, uint16_t tag, uint8_t *v)
{
	const struct capf_ipc_field *f = sized(m, tag, 1);

	if (f == NULL)
		return -1;
	*v = f->val[0];
	return 0;
}

int capf_ipc_get_u32(const struct capf_ipc_msg *m, uint16_t tag, uint32_t *v)
{
	const struct capf_ipc_field *f = sized(m, tag, 4);

	if (f == NULL)
		return -1;
	*v = get32(f->val);
	return 0;
}

int capf_ipc_get_u64(const struct capf_ipc_msg *m, uint16_t tag, uint64_t *v)
{
	const struct capf_ipc_field *f = sized(m, tag, 8);

	if (f == NULL)
		return -1;
	*v = get64(f->val);
	return 0;
}

int capf_ipc_get_i64(const struct capf_ipc_msg *m, uint16_t tag, int64_t *v)
{
	const struct capf_ipc_field *f = sized(m, tag, 8);

	if (f == NULL)
		return -1;
	*v = (int64_t)get64(f->val);
	return 0;
}

int capf_ipc_get_bytes(const struct capf_ipc_msg *m, uint16_t tag, const uint8_t **p, size_t *len)
{
	const struct capf_ipc_field *f = capf_ipc_find(m, tag, NULL);

	if (f == NULL)
		return -1;
	*p = f->val;
	*len = f->len;
	return 0;
}

int capf_ipc_field_str(const struct capf_ipc_field *f, char *buf, size_t buflen)
{
	if (buflen == 0 || f->len > buflen - 1)
		return -2;
	if (f->len > 0)
		memcpy(buf, f->val, f->len);
	buf[f->len] = '\0';
	return 0;
}

int capf_ipc_get_str(const struct capf_ipc_msg *m, uint16_t tag, char *buf, size_t buflen)
{
	const struct capf_ipc_field *f = capf_ipc_find(m, tag, NULL);

	if (f == NULL)
		return -1;
	return capf_ipc_field_str(f, buf, buflen);
}

/* Builder */

static int bfail(struct capf_ipc_builder *b, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bfail(struct capf_ipc_builder *b, int rc, const char *fmt, ...)
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

/*
 * One spare builder buffer per thread. A daemon builds a message or two per
 * request; a malloc and free of 64 KiB each time cost more than the message
 * (glibc consolidates its fast bins on every allocation of that size). A buffer
 * is wiped, as far as it was written, before it is kept; the thread's spare is
 * freed when the thread exits.
 */
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static int spare_ok;

static void spare_init(void)
{
	spare_ok = pthread_key_create(&spare_key, free) == 0;
}

static uint8_t *buf_take(void)
{
	uint8_t *p;

	pthread_once(&spare_once, spare_init);
	if (spare_ok && (p = pthread_getspecific(spare_key)) != NULL) {
		pthread_setspecific(spare_key, NULL);
		return p;
	}
	return malloc(CAPF_IPC_MSG_MAX);
}

static void buf_give(uint8_t *p, size_t used)
{
	explicit_bzero(p, used);
	if (spare_ok && pthread_getspecific(spare_key) == NULL && pthread_setspecific(spare_key, p) == 0)
		return;
	free(p);
}

static int begin(struct capf_ipc_builder *b, uint8_t flags, uint16_t verb, uint32_t id)
{
	memset(b, 0, sizeof(*b));
	b->buf = buf_take();
	if (b->buf == NULL)
		return bfail(b, CAPF_IPC_E_NOMEM, "IPC builder: out of memory");
	b->buf[0] = CAPF_IPC_VERSION;
	b->buf[1] = flags;
	b->buf[2] = (uint8_t)(verb >> 8);
	b->buf[3] = (uint8_t)verb;
	b->buf[4] = (uint8_t)(id >> 24);
	b->buf[5] = (uint8_t)(id >> 16);
	b->buf[6] = (uint8_t)(id >> 8);
	b->buf[7] = (uint8_t)id;
	b->len = CAPF_IPC_HEADER_LEN;
	return 0;
}

int capf_ipc_build_request(struct capf_ipc_builder *b, uint16_t verb, uint32_t id)
{
	int rc = begin(b, 0, verb, id);

	if (rc == 0 && ipc_verbdef(verb) == NULL)
		return bfail(b, CAPF_IPC_E_VERB, "IPC builder: unknown verb 0x%04x", verb);
	return rc;
}

int capf_ipc_build_response(struct capf_ipc_builder *b, const struct capf_ipc_msg *req, uint8_t status)
{
	int rc = begin(b, CAPF_IPC_FLAG_RESPONSE, req->verb, req->id);

	if (rc == 0)
		rc = capf_ipc_put_u8(b, CAPF_IPC_T_STATUS, status);
	return rc;
}

static int put(struct capf_ipc_builder *b, uint16_t tag, uint8_t type, const void *p, size_t n)
{
	const struct ipc_tagdef *t = ipc_tagdef(tag);

	if (b->error != 0)
		return b->error;
	if (b->buf == NULL)
		return bfail(b, CAPF_IPC_E_ARG, "IPC builder: not started");
	if (t == NULL)
		return bfail(b, CAPF_IPC_E_TAG, "IPC builder: unknown tag %u", tag);
	if (t->type != type)
		return bfail(b, CAPF_IPC_E_ARG, "IPC builder: field %s put with the wrong type", t->name);
	if (type == FT_NEST && b->nest_at != 0)
		return bfail(b, CAPF_IPC_E_ARG, "IPC builder: field %s nested inside a nested field", t->name);
	if (n > 0xffff || CAPF_IPC_MSG_MAX - b->len < CAPF_IPC_FIELD_HEADER + n)
		return bfail(b, CAPF_IPC_E_TOO_BIG,
			     "IPC builder: field %s of %zu bytes does not fit in the message", t->name, n);
	b->buf[b->len++] = (uint8_t)(tag >> 8);
	b->buf[b->len++] = (uint8_t)tag;
	b->buf[b->len++] = (uint8_t)(n >> 8);
	b->buf[b->len++] = (uint8_t)n;
	if (n > 0)
		memcpy(b->buf + b->len, p, n);
	b->len += n;
	return 0;
}

int capf_ipc_put_u8(struct capf_ipc_builder *b, uint16_t tag, uint8_t v)
{
	return put(b, tag, FT_U8, &v, 1);
}

int capf_ipc_put_u32(struct capf_ipc_builder *b, uint16_t tag, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	return put(b, tag, FT_U32, x, 4);
}

static void be64(uint8_t *x, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		x[i] = (uint8_t)v;
}

int capf_ipc_put_u64(struct capf_ipc_builder *b, uint16_t tag, uint64_t v)
{
	uint8_t x[8];

	be64(x, v);
	return put(b, tag, FT_U64, x, 8);
}

int capf_ipc_put_i64(struct capf_ipc_builder *b, uint16_t tag, int64_t v)
{
	uint8_t x[8];

	be64(x, (uint64_t)v);
	return put(b, tag, FT_I64, x, 8);
}

int capf_ipc_put_str(struct capf_ipc_builder *b, uint16_t tag, const char *s)
{
	if (s == NULL)
		return bfail(b, CAPF_IPC_E_ARG, "IPC builder: field %s: no string", capf_ipc_tag_name(tag));
	return put(b, tag, FT_STR, s, strnlen(s, 0x10000));
}

int capf_ipc_put_bytes(struct capf_ipc_builder *b, uint16_t tag, const void *p, size_t len)
{
	if (p == NULL && len > 0)
		return bfail(b, CAPF_IPC_E_ARG, "IPC builder: field %s: no value", capf_ipc_tag_name(tag));
	return put(b, tag, FT_BYTES, p, len);
}

int capf_ipc_nest_begin(struct capf_ipc_builder *b, uint16_t tag)
{
	int rc = put(b, tag, FT_NEST, NULL, 0);

	if (rc == 0)
		b->nest_at = b->len - CAPF_IPC_FIELD_HEADER;
	return rc;
}

int capf_ipc_nest_end(struct capf_ipc_builder *b)
{
	size_t n;

	if (b->error != 0)
		return b->error;
	if (b->nest_at == 0)
		return bfail(b, CAPF_IPC_E_ARG, "IPC builder: nest_end without nest_begin");
	n = b->len - b->nest_at - CAPF_IPC_FIELD_HEADER;
	if (n > 0xffff)
		return bfail(b, CAPF_IPC_E_TOO_BIG, "IPC builder: nested field of %zu bytes", n);
	b->buf[b->nest_at + 2] = (uint8_t)(n >> 8);
	b->buf[b->nest_at + 3] = (uint8_t)n;
	b->nest_at = 0;
	return 0;
}

int capf_ipc_build_finish(struct capf_ipc_builder *b, const uint8_t **out, size_t *outlen, char *err,
			  size_t errlen)
{
	struct walk w = { .err = err, .errlen = errlen };
	int response, rc;

	if (b->error == 0 && b->buf == NULL)
		bfail(b, CAPF_IPC_E_ARG, "IPC builder: not started");
	if (b->error == 0 && b->nest_at != 0)
		bfail(b, CAPF_IPC_E_ARG, "IPC builder: nested field %s not ended",
		      capf_ipc_tag_name(get16(b->buf + b->nest_at)));
	if (b->error != 0)
		return fail(b->error, err, errlen, "%s", b->errmsg);
	response = b->buf[1] & CAPF_IPC_FLAG_RESPONSE;
	rc = validate(b->buf, b->len, CAPF_IPC_ROLE_FRONT | CAPF_IPC_ROLE_ADMIN | CAPF_IPC_ROLE_KEY, response,
		      get16(b->buf + 2), get32(b->buf + 4), &w);
	if (rc != 0) {
		b->error = rc;
		snprintf(b->errmsg, sizeof(b->errmsg), "%s", err != NULL && errlen > 0 ? err : "invalid");
		return rc;
	}
	*out = b->buf;
	*outlen = b->len;
	return 0;
}

void capf_ipc_builder_free(struct capf_ipc_builder *b)
{
	/* len only grows: nothing past it was ever written */
	if (b->buf != NULL)
		buf_give(b->buf, b->len);
	memset(b, 0, sizeof(*b));
}
