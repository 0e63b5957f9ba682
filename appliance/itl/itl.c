/*
 * appliance/itl/itl.c: the ITL/CTL TLV codec (see itl.h). Pure: no I/O.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "appliance/itl/itl.h"

enum {
	H_VERSION = 1,
	H_LENGTH = 2,
	H_SIGNER_INFO = 3,
	H_SIGNER_NAME = 4,
	H_SERIAL = 5,
	H_ISSUER = 6,
	H_SIGNATURE_INFO = 7,
	H_HASH_ALG = 8,
	H_SIGALG_INFO = 9,
	H_SIGALG = 10,
	H_SIG_MODULUS = 11,
	H_SIGNATURE = 12,
	H_PADDING = 13,
	H_FILENAME = 14,
	H_TIMESTAMP = 15,
	H_SIGNER_VERSION = 28,
};
enum {
	R_LENGTH = 1,
	R_DNS_NAME = 2,
	R_SUBJECT = 3,
	R_ROLE = 4,
	R_ISSUER = 5,
	R_SERIAL = 6,
	R_PUBLIC_KEY = 7,
	R_SIGNATURE = 8,
	R_CERTIFICATE = 9,
	R_IP_ADDRESS = 10,
	R_CERT_HASH = 11,
	R_HASH_ALG = 12,
};

static const struct {
	int role;
	const char *name;
} roles[] = {
	{ ITL_ROLE_SAST, "SAST" }, { ITL_ROLE_CCM, "CCM" },   { ITL_ROLE_CCM_TFTP, "CCM+TFTP" },
	{ ITL_ROLE_TFTP, "TFTP" }, { ITL_ROLE_CAPF, "CAPF" }, { ITL_ROLE_APP_SERVER, "APP-SERVER" },
	{ ITL_ROLE_TVS, "TVS" },
};

const char *itl_role_name(int role)
{
	size_t i;

	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (roles[i].role == role)
			return roles[i].name;
	return NULL;
}

int itl_role_from_name(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcasecmp(roles[i].name, name) == 0)
			return roles[i].role;
	return -1;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static unsigned be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* The TLV at *at inside [0, end): tag, value. -1 when it does not fit. */
static int tlv(const uint8_t *b, size_t end, size_t *at, unsigned *tag, struct itl_bytes *v)
{
	size_t n;

	if (*at + 3 > end)
		return -1;
	*tag = b[*at];
	n = be16(b + *at + 1);
	if (*at + 3 + n > end)
		return -1;
	v->p = b + *at + 3;
	v->n = n;
	*at += 3 + n;
	return 0;
}

/* A NUL-terminated name: n without the NUL; refused without its NUL or with one inside. */
static int name(struct itl_bytes *dst, struct itl_bytes v)
{
	if (v.n == 0 || v.p[v.n - 1] != 0 || memchr(v.p, 0, v.n - 1) != NULL)
		return -1;
	dst->p = v.p;
	dst->n = v.n - 1;
	return 0;
}

static int once(struct itl_bytes *dst, struct itl_bytes v)
{
	if (dst->p != NULL)
		return -1;
	*dst = v;
	return 0;
}

static int parse_header(const uint8_t *b, size_t len, struct itl_header *h, char *err, size_t errlen)
{
	struct itl_bytes v;
	unsigned tag;
	size_t at = 0, start;

	memset(h, 0, sizeof(*h));
	h->signer_major = h->signer_minor = h->hash_alg = h->sig_alg = h->sig_modulus = -1;
	h->timestamp = -1;
	if (tlv(b, len, &at, &tag, &v) != 0 || tag != H_VERSION || v.n != 2)
		return fail(err, errlen, "offset 0: not an ITL/CTL file (no HEADER_VERSION)");
	h->version_major = v.p[0];
	h->version_minor = v.p[1];
	if (tlv(b, len, &at, &tag, &v) != 0 || tag != H_LENGTH || v.n != 2)
		return fail(err, errlen, "offset 5: no HEADER_LENGTH");
	h->length = (uint16_t)be16(v.p);
	if (h->length < at || h->length > len)
		return fail(err, errlen, "HEADER_LENGTH %u outside the file (%zu bytes)", h->length, len);
	while (at < h->length) {
		start = at;
		if (b[at] == H_PADDING) {
			at++;
			continue;
		}
		tag = b[at];
		if (tag == H_SIGNER_INFO || tag == H_SIGNATURE_INFO || tag == H_SIGALG_INFO) {
			/* containers: their members follow as header TLVs */
			if (at + 3 > h->length || at + 3 + be16(b + at + 1) > h->length)
				return fail(err, errlen, "offset %zu: header tag %u runs past the header",
					    start, tag);
			at += 3;
			continue;
		}
		if (tlv(b, h->length, &at, &tag, &v) != 0)
			return fail(err, errlen, "offset %zu: header tag %u runs past the header", start, tag);
		switch (tag) {
		case H_SIGNER_VERSION:
			if (v.n != 2 || h->signer_major >= 0)
				goto bad;
			h->signer_major = v.p[0];
			h->signer_minor = v.p[1];
			break;
		case H_SIGNER_NAME:
			if (h->signer_name.p || name(&h->signer_name, v) != 0)
				goto bad;
			break;
		case H_ISSUER:
			if (h->issuer.p || name(&h->issuer, v) != 0)
				goto bad;
			break;
		case H_FILENAME:
			if (h->filename.p || name(&h->filename, v) != 0)
				goto bad;
			break;
		case H_SERIAL:
			if (v.n == 0 || once(&h->serial, v) != 0)
				goto bad;
			break;
		case H_SIGNATURE:
			if (v.n == 0 || once(&h->signature, v) != 0)
				goto bad;
			h->sig_offset = start;
			break;
		case H_HASH_ALG:
			if (v.n != 1 || h->hash_alg >= 0)
				goto bad;
			h->hash_alg = v.p[0];
			break;
		case H_SIGALG:
			if (v.n != 1 || h->sig_alg >= 0)
				goto bad;
			h->sig_alg = v.p[0];
			break;
		case H_SIG_MODULUS:
			if (v.n != 1 || h->sig_modulus >= 0)
				goto bad;
			h->sig_modulus = v.p[0];
			break;
		case H_TIMESTAMP:
			if (v.n != 4 || h->timestamp >= 0)
				goto bad;
			h->timestamp = (int64_t)be16(v.p) << 16 | be16(v.p + 2);
			break;
		default:
			return fail(err, errlen, "offset %zu: unknown header tag %u", start, tag);
		}
		continue;
bad:
		return fail(err, errlen, "offset %zu: header tag %u: bad length, value or repeated", start,
			    tag);
	}
	if (h->serial.p == NULL)
		return fail(err, errlen, "header: no SERIAL_NUMBER (the signer's certificate)");
	if (h->hash_alg != ITL_HASH_SHA1 && h->hash_alg != ITL_HASH_SHA512)
		return fail(err, errlen, "header: HASH_ALGORITHM %d: only 1 (SHA-1) and 3 (SHA-512)",
			    h->hash_alg);
	if (h->signature.p == NULL)
		return fail(err, errlen, "header: no SIGNATURE");
	return 0;
}

static int parse_record(const uint8_t *b, size_t len, size_t at, struct itl_record *r, char *err, size_t errlen)
{
	struct itl_bytes v, *dst;
	unsigned tag;
	size_t end, start = at;

	memset(r, 0, sizeof(*r));
	r->role = r->hash_alg = -1;
	r->offset = at;
	if (tlv(b, len, &at, &tag, &v) != 0 || tag != R_LENGTH || v.n != 2)
		return fail(err, errlen, "offset %zu: record without RECORD_LENGTH", start);
	r->length = be16(v.p);
	if (r->length < 5 || r->length > len - start)
		return fail(err, errlen, "offset %zu: RECORD_LENGTH %zu outside the file", start, r->length);
	end = start + r->length;
	while (at < end) {
		size_t here = at;

		if (tlv(b, end, &at, &tag, &v) != 0)
			return fail(err, errlen, "offset %zu: record field runs past its record", here);
		dst = NULL;
		switch (tag) {
		case R_DNS_NAME:
			if (r->dns_name.p || name(&r->dns_name, v) != 0)
				goto bad;
			continue;
		case R_SUBJECT:
			if (r->subject.p || name(&r->subject, v) != 0)
				goto bad;
			continue;
		case R_ISSUER:
			if (r->issuer.p || name(&r->issuer, v) != 0)
				goto bad;
			continue;
		case R_ROLE:
			if (v.n != 2 || r->role >= 0)
				goto bad;
			r->role = (int)be16(v.p);
			continue;
		case R_HASH_ALG:
			if (v.n != 1 || r->hash_alg >= 0)
				goto bad;
			r->hash_alg = v.p[0];
			continue;
		case R_SERIAL:
			dst = &r->serial;
			break;
		case R_PUBLIC_KEY:
			dst = &r->public_key;
			break;
		case R_SIGNATURE:
			dst = &r->signature;
			break;
		case R_CERTIFICATE:
			dst = &r->certificate;
			break;
		case R_IP_ADDRESS:
			dst = &r->ip_address;
			break;
		case R_CERT_HASH:
			dst = &r->cert_hash;
			break;
		default:
			return fail(err, errlen, "offset %zu: unknown record tag %u", here, tag);
		}
		if (once(dst, v) != 0)
			goto bad;
		continue;
bad:
		return fail(err, errlen, "offset %zu: record tag %u: bad length, value or repeated", here, tag);
	}
	if (r->role < 0)
		return fail(err, errlen, "offset %zu: record without ROLE", start);
	return 0;
}

int itl_parse(const uint8_t *buf, size_t len, struct itl_file *f, char *err, size_t errlen)
{
	size_t at;

	memset(f, 0, sizeof(*f));
	if (len > ITL_FILE_MAX)
		return fail(err, errlen, "%zu bytes: larger than %d", len, ITL_FILE_MAX);
	if (parse_header(buf, len, &f->h, err, errlen) != 0)
		return -1;
	for (at = f->h.length; at < len; at += f->r[f->nrec++].length) {
		if (f->nrec == ITL_RECORDS_MAX)
			return fail(err, errlen, "more than %d records", ITL_RECORDS_MAX);
		if (parse_record(buf, len, at, &f->r[f->nrec], err, errlen) != 0)
			return -1;
	}
	if (f->nrec == 0)
		return fail(err, errlen, "no records after the header");
	return 0;
}

int itl_signed_data(const uint8_t *buf, size_t len, const struct itl_file *f, uint8_t **out, size_t *outlen)
{
	size_t cut = 3 + f->h.signature.n, at = f->h.sig_offset;

	if (f->h.signature.p == NULL || at + cut > len || (*out = malloc(len - cut + 1)) == NULL)
		return -1;
	memcpy(*out, buf, at);
	memcpy(*out + at, buf + at + cut, len - at - cut);
	*outlen = len - cut;
	return 0;
}

/* ---- building --------------------------------------------------------------- */

struct buf {
	uint8_t *p;
	size_t n, cap;
	int bad;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->bad)
		return;
	if (b->n + n > ITL_FILE_MAX) {
		b->bad = 1;
		return;
	}
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		uint8_t *np;

		while (cap < b->n + n)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL) {
			b->bad = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void put_tl(struct buf *b, unsigned tag, size_t n)
{
	uint8_t t[3] = { (uint8_t)tag, (uint8_t)(n >> 8), (uint8_t)n };

	if (n > 0xffff)
		b->bad = 1;
	put(b, t, 3);
}

static void put_tlv(struct buf *b, unsigned tag, const void *p, size_t n)
{
	put_tl(b, tag, n);
	put(b, p, n);
}

static void put_name(struct buf *b, unsigned tag, const char *s)
{
	put_tlv(b, tag, s, strlen(s) + 1);
}

static void set16(struct buf *b, size_t at, size_t v)
{
	if (b->bad || v > 0xffff) {
		b->bad = 1;
		return;
	}
	b->p[at] = (uint8_t)(v >> 8);
	b->p[at + 1] = (uint8_t)v;
}

static int record_into(struct buf *b, const struct itl_cert_fields *r, char *err, size_t errlen)
{
	size_t start = b->n;
	uint8_t role[2] = { (uint8_t)(r->role >> 8), (uint8_t)r->role };

	if (itl_role_name(r->role) == NULL)
		return fail(err, errlen, "role %d: not an ITL role", r->role);
	if (r->subject == NULL || r->issuer == NULL || r->certificate.p == NULL || r->public_key.p == NULL ||
	    r->signature.p == NULL || r->serial.p == NULL)
		return fail(err, errlen,
			    "record: subject, issuer, serial, public key, signature and "
			    "certificate are all needed");
	put_tl(b, R_LENGTH, 2);
	put(b, "\0", 2);
	put_name(b, R_SUBJECT, r->subject);
	put_tlv(b, R_ROLE, role, 2);
	put_name(b, R_ISSUER, r->issuer);
	put_tlv(b, R_SERIAL, r->serial.p, r->serial.n);
	put_tlv(b, R_PUBLIC_KEY, r->public_key.p, r->public_key.n);
	put_tlv(b, R_SIGNATURE, r->signature.p, r->signature.n);
	put_tlv(b, R_CERTIFICATE, r->certificate.p, r->certificate.n);
	if (r->dns_name)
		put_name(b, R_DNS_NAME, r->dns_name);
	set16(b, start + 3, b->n - start);
	if (b->bad)
		return fail(err, errlen, "record too large (a field over 65535 bytes or the file over %d)",
			    ITL_FILE_MAX);
	return 0;
}

int itl_build_record(const struct itl_cert_fields *rec, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
	struct buf b = { 0 };

	if (record_into(&b, rec, err, errlen) != 0) {
		free(b.p);
		return -1;
	}
	*out = b.p;
	*outlen = b.n;
	return 0;
}

int itl_build_unsigned(const struct itl_signer *s, const struct itl_cert_fields *recs, size_t n, uint8_t **out,
		       size_t *outlen, size_t *sig_at, char *err, size_t errlen)
{
	static const size_t moduli[] = { 64, 128, 256, 512 };
	struct buf b = { 0 };
	size_t i, m, len_at, sn, in;
	uint8_t v[4];

	for (m = 0; m < 4 && moduli[m] != s->sig_len; m++)
		;
	if (m == 4)
		return fail(err, errlen,
			    "signature of %zu bytes: the SAST key must be RSA 512, 1024, "
			    "2048 or 4096 bits",
			    s->sig_len);
	if (s->hash_alg != ITL_HASH_SHA1 && s->hash_alg != ITL_HASH_SHA512)
		return fail(err, errlen, "hash algorithm %d: SHA-1 (1) or SHA-512 (3)", s->hash_alg);
	if (n == 0 || n > ITL_RECORDS_MAX)
		return fail(err, errlen, "%zu records: 1 to %d", n, ITL_RECORDS_MAX);
	if (s->serial.n == 0 || s->signer_name == NULL || s->issuer == NULL || s->filename == NULL)
		return fail(err, errlen, "signer: name, issuer, serial and file name are needed");
	v[0] = 1;
	v[1] = 2;
	put_tlv(&b, H_VERSION, v, 2);
	len_at = b.n + 3;
	put_tlv(&b, H_LENGTH, "\0", 2);
	v[0] = s->signer_major;
	v[1] = s->signer_minor;
	put_tlv(&b, H_SIGNER_VERSION, v, 2);
	sn = strlen(s->signer_name) + 1;
	in = strlen(s->issuer) + 1;
	put_tl(&b, H_SIGNER_INFO, 3 + sn + 3 + s->serial.n + 3 + in);
	put_name(&b, H_SIGNER_NAME, s->signer_name);
	put_tlv(&b, H_SERIAL, s->serial.p, s->serial.n);
	put_name(&b, H_ISSUER, s->issuer);
	put_tl(&b, H_SIGNATURE_INFO, 15);
	v[0] = (uint8_t)s->hash_alg;
	put_tlv(&b, H_HASH_ALG, v, 1);
	put_tl(&b, H_SIGALG_INFO, 8);
	v[0] = 0; /* RSA */
	put_tlv(&b, H_SIGALG, v, 1);
	v[0] = (uint8_t)m;
	put_tlv(&b, H_SIG_MODULUS, v, 1);
	*sig_at = b.n;
	put_name(&b, H_FILENAME, s->filename);
	v[0] = (uint8_t)(s->timestamp >> 24);
	v[1] = (uint8_t)(s->timestamp >> 16);
	v[2] = (uint8_t)(s->timestamp >> 8);
	v[3] = (uint8_t)s->timestamp;
	put_tlv(&b, H_TIMESTAMP, v, 4);
	while ((b.n + 3 + s->sig_len) % 4)
		put(&b, (uint8_t[]){ H_PADDING }, 1);
	set16(&b, len_at, b.n + 3 + s->sig_len);
	if (b.bad) {
		free(b.p);
		return fail(err, errlen, "header too large (names over 65535 bytes)");
	}
	for (i = 0; i < n; i++)
		if (record_into(&b, &recs[i], err, errlen) != 0) {
			free(b.p);
			return -1;
		}
	*out = b.p;
	*outlen = b.n;
	return 0;
}

int itl_insert_signature(const uint8_t *u, size_t ulen, size_t sig_at, const uint8_t *sig, size_t siglen,
			 uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
	struct buf b = { 0 };

	if (sig_at > ulen || siglen == 0)
		return fail(err, errlen, "signature: bad position or empty");
	put(&b, u, sig_at);
	put_tlv(&b, H_SIGNATURE, sig, siglen);
	put(&b, u + sig_at, ulen - sig_at);
	if (b.bad) {
		free(b.p);
		return fail(err, errlen, "signed file over %d bytes", ITL_FILE_MAX);
	}
	*out = b.p;
	*outlen = b.n;
	return 0;
}
