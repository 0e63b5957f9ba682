/*
 * appliance/capf/evidence.c: wrapped certificates, SHA2_SIGNED_DATA, SUDI_DATA
 * and AUTH_RESPONSE (see evidence.h). Structure and lengths only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "appliance/capf/evidence.h"
#include "appliance/capf/capf_int.h"

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return CAPF_E_ELEMENT;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

/* 0 when der[0..len) is exactly one DER SEQUENCE (tag and definite length only). */
static int der_sequence_exact(const uint8_t *der, size_t len)
{
	size_t hdr, body = 0, nlen;

	if (len < 2 || der[0] != 0x30)
		return -1;
	if (der[1] < 0x80) {
		hdr = 2;
		body = der[1];
	} else {
		nlen = der[1] & 0x7f;
		if (nlen == 0 || nlen > 3 || len < 2 + nlen)
			return -1;
		for (size_t i = 0; i < nlen; i++)
			body = body << 8 | der[2 + i];
		hdr = 2 + nlen;
	}
	return len - hdr == body ? 0 : -1;
}

int capf_cert_unwrap(const uint8_t *val, size_t len, struct capf_wrapped_cert *c, char *err, size_t errlen)
{
	size_t field;

	memset(c, 0, sizeof(*c));
	if (len < 7)
		return fail(err, errlen,
			    "CAPF CERTIFICATE: %zu bytes, too short for the 5-byte wrapping and a certificate",
			    len);
	field = get16(val + 1);
	if (field != len - 3)
		return fail(err, errlen, "CAPF CERTIFICATE: wrapping length %zu, but %zu bytes follow it",
			    field, len - 3);
	if (der_sequence_exact(val + 5, len - 5) != 0)
		return fail(err, errlen,
			    "CAPF CERTIFICATE: the %zu bytes after the wrapping are not one DER SEQUENCE",
			    len - 5);
	c->marker = val[0];
	c->pad = val[3];
	c->type = val[4];
	c->der = val + 5;
	c->der_len = len - 5;
	return 0;
}

int capf_build_cert(struct capf_builder *b, uint8_t type, const uint8_t *der, size_t der_len)
{
	uint8_t *v;

	if (der == NULL || der_len == 0 || der_len > 0xffff - 5)
		return capf_build_fail(b, CAPF_E_ARG, "CAPF builder: CERTIFICATE of %zu bytes, 1..%d allowed",
				       der_len, 0xffff - 5);
	if ((v = capf_build_elem(b, CAPF_TAG_CERTIFICATE, 5 + der_len)) == NULL)
		return b->error;
	v[0] = 0x01;
	v[1] = (uint8_t)((der_len + 2) >> 8);
	v[2] = (uint8_t)(der_len + 2);
	v[3] = 0x00;
	v[4] = type;
	memcpy(v + 5, der, der_len);
	return 0;
}

int capf_sha2_parse(const uint8_t *val, size_t len, struct capf_sha2_sig *s, char *err, size_t errlen)
{
	size_t n;

	memset(s, 0, sizeof(*s));
	if (len < 4)
		return fail(err, errlen, "CAPF SHA2_SIGNED_DATA: %zu bytes, too short", len);
	n = get16(val + 1);
	if (n != len - 3)
		return fail(err, errlen, "CAPF SHA2_SIGNED_DATA: signature length %zu, but %zu bytes follow", n,
			    len - 3);
	if (n > CAPF_SIG_MAX)
		return fail(err, errlen, "CAPF SHA2_SIGNED_DATA: signature of %zu bytes, at most %d", n,
			    CAPF_SIG_MAX);
	s->hash_id = val[0];
	s->sig = val + 3;
	s->sig_len = n;
	return 0;
}

static uint8_t *part(uint8_t *v, uint8_t id, const uint8_t *p, size_t n)
{
	v[0] = id;
	v[1] = (uint8_t)(n >> 8);
	v[2] = (uint8_t)n;
	memcpy(v + 3, p, n);
	return v + 3 + n;
}

int capf_build_sha2(struct capf_builder *b, uint8_t hash_id, const uint8_t *sig, size_t sig_len)
{
	uint8_t *v;

	if (sig == NULL || sig_len == 0 || sig_len > CAPF_SIG_MAX)
		return capf_build_fail(b, CAPF_E_ARG,
				       "CAPF builder: SHA2_SIGNED_DATA signature of %zu bytes, 1..%d allowed",
				       sig_len, CAPF_SIG_MAX);
	if ((v = capf_build_elem(b, CAPF_TAG_SHA2_SIGNED_DATA, 3 + sig_len)) == NULL)
		return b->error;
	part(v, hash_id, sig, sig_len);
	return 0;
}

int capf_sudi_parse(const uint8_t *val, size_t len, struct capf_sudi *s, char *err, size_t errlen)
{
	size_t off = 0, n;
	unsigned nsig = 0;

	memset(s, 0, sizeof(*s));
	while (off < len) {
		uint8_t id;

		if (len - off < 3)
			return fail(err, errlen, "CAPF SUDI_DATA: %zu stray bytes at offset %zu", len - off,
				    off);
		id = val[off];
		n = get16(val + off + 1);
		if (len - off - 3 < n)
			return fail(err, errlen,
				    "CAPF SUDI_DATA: part %u at offset %zu has length %zu, only %zu bytes left",
				    id, off, n, len - off - 3);
		const uint8_t *p = val + off + 3;
		off += 3 + n;
		if (id == 0) {
			if (s->cert != NULL)
				return fail(err, errlen, "CAPF SUDI_DATA: two certificates");
			if (der_sequence_exact(p, n) != 0)
				return fail(
					err, errlen,
					"CAPF SUDI_DATA: the certificate (%zu bytes) is not one DER SEQUENCE",
					n);
			s->cert = p;
			s->cert_len = n;
		} else if (id <= CAPF_HASH_SHA512) {
			if (s->sig[id] != NULL)
				return fail(err, errlen, "CAPF SUDI_DATA: two %s signatures",
					    capf_hash_name(id));
			if (n == 0 || n > CAPF_SIG_MAX)
				return fail(err, errlen,
					    "CAPF SUDI_DATA: %s signature of %zu bytes, 1..%d allowed",
					    capf_hash_name(id), n, CAPF_SIG_MAX);
			s->sig[id] = p;
			s->sig_len[id] = n;
			nsig++;
		} else {
			s->unknown_parts++;
		}
	}
	if (s->cert == NULL)
		return fail(err, errlen, "CAPF SUDI_DATA: no certificate (part 0)");
	if (nsig == 0)
		return fail(err, errlen, "CAPF SUDI_DATA: no signature (parts 1, 2, 3)");
	return 0;
}

int capf_build_sudi(struct capf_builder *b, const uint8_t *cert, size_t cert_len, const uint8_t *sig_sha1,
		    size_t sig_sha1_len, const uint8_t *sig_sha512, size_t sig_sha512_len)
{
	size_t total;
	uint8_t *v;

	if (cert == NULL || cert_len == 0 || cert_len > 0xffff || (sig_sha1 == NULL && sig_sha512 == NULL) ||
	    (sig_sha1 != NULL && (sig_sha1_len == 0 || sig_sha1_len > CAPF_SIG_MAX)) ||
	    (sig_sha512 != NULL && (sig_sha512_len == 0 || sig_sha512_len > CAPF_SIG_MAX)))
		return capf_build_fail(b, CAPF_E_ARG,
				       "CAPF builder: SUDI_DATA needs a certificate and 1..%d-byte signatures",
				       CAPF_SIG_MAX);
	total = 3 + cert_len + (sig_sha1 ? 3 + sig_sha1_len : 0) + (sig_sha512 ? 3 + sig_sha512_len : 0);
	if (total > 0xffff)
		return capf_build_fail(b, CAPF_E_ARG, "CAPF builder: SUDI_DATA of %zu bytes, at most 65535",
				       total);
	if ((v = capf_build_elem(b, CAPF_TAG_SUDI_DATA, total)) == NULL)
		return b->error;
	v = part(v, 0, cert, cert_len);
	if (sig_sha1 != NULL)
		v = part(v, CAPF_HASH_SHA1, sig_sha1, sig_sha1_len);
	if (sig_sha512 != NULL)
		part(v, CAPF_HASH_SHA512, sig_sha512, sig_sha512_len);
	return 0;
}

int capf_sudi_signed_data(uint32_t session_id, const uint8_t *cert, size_t cert_len, uint8_t *out,
			  size_t outlen)
{
	if (cert == NULL || cert_len > 0xffff || outlen < 4 + cert_len)
		return CAPF_E_ARG;
	out[0] = (uint8_t)session_id;
	out[1] = (uint8_t)(session_id >> 8);
	out[2] = (uint8_t)(session_id >> 16);
	out[3] = (uint8_t)(session_id >> 24);
	memcpy(out + 4, cert, cert_len);
	return (int)(4 + cert_len);
}

static int once(const struct capf_elem *e, int *seen, char *err, size_t errlen)
{
	if (*seen) {
		snprintf(err, errlen, "CAPF AUTH_RESPONSE: element %s appears more than once",
			 capf_tag_name(e->tag));
		return CAPF_E_DUPLICATE;
	}
	*seen = 1;
	return 0;
}

int capf_auth_response_parse(const struct capf_msg *m, struct capf_auth_response *a, char *err, size_t errlen)
{
	struct capf_elem e;
	size_t pos = 0;
	int have_name = 0, have_signed = 0, rc;
	const char *s;
	size_t slen;
	char dummy[1];

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	memset(a, 0, sizeof(*a));
	while (capf_msg_next(m, &pos, &e)) {
		switch (e.tag) {
		case CAPF_TAG_REASON:
			if ((rc = once(&e, &a->has_reason, err, errlen)) != 0 ||
			    (rc = capf_elem_u8(&e, &a->reason, err, errlen)) != 0)
				goto out;
			break;
		case CAPF_TAG_VERSION:
			if ((rc = once(&e, &a->has_version, err, errlen)) != 0 ||
			    (rc = capf_elem_u8(&e, &a->version, err, errlen)) != 0)
				goto out;
			break;
		case CAPF_TAG_DEVICE_NAME:
			if ((rc = once(&e, &have_name, err, errlen)) != 0 ||
			    (rc = capf_elem_cstr(&e, CAPF_NAME_MAX, &s, &slen, err, errlen)) != 0)
				goto out;
			if (slen == 0) {
				rc = fail(err, errlen, "CAPF AUTH_RESPONSE: empty DEVICE_NAME");
				goto out;
			}
			memcpy(a->device_name, s, slen + 1);
			a->device_name_len = slen;
			break;
		case CAPF_TAG_PASSWORD:
			if ((rc = once(&e, &a->has_password, err, errlen)) != 0 ||
			    (rc = capf_elem_cstr(&e, CAPF_PASSWORD_MAX, &a->password, &a->password_len, err,
						 errlen)) != 0)
				goto out;
			break;
		case CAPF_TAG_CERTIFICATE:
			if ((rc = once(&e, &a->has_cert, err, errlen)) != 0 ||
			    (rc = capf_cert_unwrap(e.val, e.len, &a->cert, err, errlen)) != 0)
				goto out;
			break;
		case CAPF_TAG_SIGNED_DATA:
			if ((rc = once(&e, &have_signed, err, errlen)) != 0)
				goto out;
			if (e.len == 0 || e.len > CAPF_SIG_MAX) {
				rc = fail(err, errlen, "CAPF SIGNED_DATA: %u bytes, 1..%d allowed", e.len,
					  CAPF_SIG_MAX);
				goto out;
			}
			a->signed_data = e.val;
			a->signed_data_len = e.len;
			break;
		case CAPF_TAG_SHA2_SIGNED_DATA:
			if ((rc = once(&e, &a->has_sha2, err, errlen)) != 0 ||
			    (rc = capf_sha2_parse(e.val, e.len, &a->sha2, err, errlen)) != 0)
				goto out;
			break;
		case CAPF_TAG_SUDI_DATA:
			if ((rc = once(&e, &a->has_sudi, err, errlen)) != 0 ||
			    (rc = capf_sudi_parse(e.val, e.len, &a->sudi, err, errlen)) != 0)
				goto out;
			a->sudi_raw = e.val;
			a->sudi_raw_len = e.len;
			break;
		default:
			if (!capf_tag_known(e.tag))
				a->unknown_tags++;
			break;
		}
	}
	if (!have_name) {
		rc = CAPF_E_MISSING;
		snprintf(err, errlen, "CAPF AUTH_RESPONSE: no DEVICE_NAME element");
		goto out;
	}
	return 0;
out:
	memset(a, 0, sizeof(*a));
	return rc;
}
