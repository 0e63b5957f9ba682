/* providers/der.c: DigestInfo prefixes, signature AlgorithmIdentifiers, PSS salt rules (see der.h). */
#include <stdio.h>
#include <string.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include "providers/der.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct md_der {
	int nid;
	size_t size;           /* hash bytes */
	unsigned char oid[11]; /* full OID TLV of the hash */
	size_t oidlen;
	unsigned char rsa[11];   /* OID TLV of <hash>WithRSAEncryption */
	unsigned char ecdsa[10]; /* OID TLV of ecdsa-with-<hash> (len 0: none) */
	size_t ecdsalen;
};

#define PKCS1(n)                                                                \
	{                                                                       \
		0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, (n) \
	}
#define NISTHASH(n)                                                             \
	{                                                                       \
		0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, (n) \
	}
#define ECDSA_SHA2(n)                                                     \
	{                                                                 \
		0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, (n) \
	}

static const struct md_der mds[] = {
	{ NID_sha1,
	  20,
	  { 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a },
	  7,
	  PKCS1(5),
	  { 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01 },
	  9 },
	{ NID_sha224, 28, NISTHASH(4), 11, PKCS1(14), ECDSA_SHA2(1), 10 },
	{ NID_sha256, 32, NISTHASH(1), 11, PKCS1(11), ECDSA_SHA2(2), 10 },
	{ NID_sha384, 48, NISTHASH(2), 11, PKCS1(12), ECDSA_SHA2(3), 10 },
	{ NID_sha512, 64, NISTHASH(3), 11, PKCS1(13), ECDSA_SHA2(4), 10 },
};

static const unsigned char oid_pss[] = PKCS1(10);
static const unsigned char oid_mgf1[] = PKCS1(8);
static const unsigned char der_null[] = { 0x05, 0x00 };

static const struct md_der *md_find(int nid)
{
	for (size_t i = 0; i < NELEM(mds); i++)
		if (mds[i].nid == nid)
			return &mds[i];
	return NULL;
}

int chsm_md_can_sign(int md_nid)
{
	return md_nid == NID_sha256 || md_nid == NID_sha384 || md_nid == NID_sha512;
}

const unsigned char *chsm_digestinfo_prefix(int md_nid, size_t *len)
{
	/* SEQUENCE { SEQUENCE { OID, NULL }, OCTET STRING (hash follows) } */
	static const unsigned char sha1[] = { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
					      0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14 };
#define DI(h, n, l)                                                                                           \
	{                                                                                                     \
		0x30, (h), 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, (n), 0x05, \
			0x00, 0x04, (l)                                                                       \
	}
	static const unsigned char sha224[] = DI(0x2d, 0x04, 0x1c);
	static const unsigned char sha256[] = DI(0x31, 0x01, 0x20);
	static const unsigned char sha384[] = DI(0x41, 0x02, 0x30);
	static const unsigned char sha512[] = DI(0x51, 0x03, 0x40);
#undef DI
	switch (md_nid) {
	case NID_sha1:
		*len = sizeof(sha1);
		return sha1;
	case NID_sha224:
		*len = sizeof(sha224);
		return sha224;
	case NID_sha256:
		*len = sizeof(sha256);
		return sha256;
	case NID_sha384:
		*len = sizeof(sha384);
		return sha384;
	case NID_sha512:
		*len = sizeof(sha512);
		return sha512;
	default:
		*len = 0;
		return NULL;
	}
}

int chsm_pss_saltlen(int saltlen, unsigned modbits, size_t mdsize, char *err, size_t errlen)
{
	/* RFC 8017 9.1.1: emLen = ceil((modBits - 1) / 8) >= hLen + sLen + 2 */
	size_t emlen = modbits > 0 ? ((size_t)modbits - 1 + 7) / 8 : 0;
	long max = (long)emlen - (long)mdsize - 2;

	if (max < 0) {
		snprintf(err, errlen, "a %u-bit RSA key is too small for PSS with a %zu-byte hash", modbits,
			 mdsize);
		return -1;
	}
	switch (saltlen) {
	case RSA_PSS_SALTLEN_DIGEST:
		saltlen = (int)mdsize;
		break;
	case RSA_PSS_SALTLEN_AUTO:
	case RSA_PSS_SALTLEN_MAX:
		return (int)max;
	default:
		if (saltlen < 0) {
			snprintf(err, errlen,
				 "PSS salt length %d: use a byte count, \"digest\", \"max\" or \"auto\"",
				 saltlen);
			return -1;
		}
	}
	if ((long)saltlen > max) {
		snprintf(err, errlen,
			 "PSS salt length %d does not fit a %u-bit key with a %zu-byte hash (at most %ld)",
			 saltlen, modbits, mdsize, max);
		return -1;
	}
	return saltlen;
}

/* A small DER writer: everything here is well under 64 KiB, so lengths take at most 3 bytes. */
struct der {
	unsigned char *p;
	size_t len, cap;
	int bad;
};

static void put(struct der *d, const void *b, size_t n)
{
	if (d->bad || n > d->cap - d->len) {
		d->bad = 1;
		return;
	}
	memcpy(d->p + d->len, b, n);
	d->len += n;
}

static void put_tlv(struct der *d, unsigned char tag, const unsigned char *v, size_t n)
{
	unsigned char h[4] = { tag };
	size_t hl;

	if (n < 0x80) {
		h[1] = (unsigned char)n;
		hl = 2;
	} else if (n <= 0xff) {
		h[1] = 0x81;
		h[2] = (unsigned char)n;
		hl = 3;
	} else if (n <= 0xffff) {
		h[1] = 0x82;
		h[2] = (unsigned char)(n >> 8);
		h[3] = (unsigned char)n;
		hl = 4;
	} else {
		d->bad = 1;
		return;
	}
	put(d, h, hl);
	put(d, v, n);
}

/* INTEGER for 0 <= v < 2^31 */
static void put_uint(struct der *d, unsigned long v)
{
	unsigned char b[5];
	size_t n = 0;
	int started = 0;

	for (int shift = 24; shift >= 0; shift -= 8) {
		unsigned char c = (unsigned char)(v >> shift);
		if (!started && c == 0 && shift > 0)
			continue;
		if (!started && (c & 0x80))
			b[n++] = 0;
		started = 1;
		b[n++] = c;
	}
	put_tlv(d, 0x02, b, n);
}

size_t chsm_sig_algid(enum chsm_sig_scheme scheme, int md_nid, int mgf1_nid, int saltlen, unsigned char *out,
		      size_t outsz, char *err, size_t errlen)
{
	const struct md_der *md = md_find(md_nid), *mgf;
	unsigned char b1[CHSM_ALGID_MAX] = { 0 }, b2[CHSM_ALGID_MAX] = { 0 }, b3[CHSM_ALGID_MAX] = { 0 };
	struct der body = { b1, 0, sizeof(b1), 0 }, res = { out, 0, outsz, 0 };

	if (md == NULL || !chsm_md_can_sign(md_nid)) {
		snprintf(err, errlen, "digest %s cannot sign here: use SHA-256, SHA-384 or SHA-512",
			 OBJ_nid2sn(md_nid) != NULL ? OBJ_nid2sn(md_nid) : "(none)");
		return 0;
	}
	switch (scheme) {
	case CHSM_SIG_PKCS1:
		put(&body, md->rsa, sizeof(md->rsa));
		put(&body, der_null, sizeof(der_null));
		break;
	case CHSM_SIG_ECDSA:
		put(&body, md->ecdsa, md->ecdsalen);
		break;
	case CHSM_SIG_PSS: {
		struct der params = { b2, 0, sizeof(b2), 0 }, t = { b3, 0, sizeof(b3), 0 };
		unsigned char b4[CHSM_ALGID_MAX], b5[CHSM_ALGID_MAX];
		struct der u = { b4, 0, sizeof(b4), 0 }, v = { b5, 0, sizeof(b5), 0 };

		if ((mgf = md_find(mgf1_nid)) == NULL || !chsm_md_can_sign(mgf1_nid)) {
			snprintf(err, errlen, "MGF1 digest %s not allowed: use SHA-256, SHA-384 or SHA-512",
				 OBJ_nid2sn(mgf1_nid) != NULL ? OBJ_nid2sn(mgf1_nid) : "(none)");
			return 0;
		}
		if (saltlen < 0) {
			snprintf(err, errlen, "PSS salt length %d unresolved", saltlen);
			return 0;
		}
		/* [0] hashAlgorithm: SEQUENCE { OID, NULL } (NULL parameters, as OpenSSL writes them) */
		put(&u, md->oid, md->oidlen);
		put(&u, der_null, sizeof(der_null));
		put_tlv(&t, 0x30, u.p, u.len);
		put_tlv(&params, 0xa0, t.p, t.len);
		/* [1] maskGenAlgorithm: SEQUENCE { id-mgf1, SEQUENCE { OID, NULL } } */
		u.len = 0;
		put(&u, mgf->oid, mgf->oidlen);
		put(&u, der_null, sizeof(der_null));
		t.len = 0;
		put_tlv(&t, 0x30, u.p, u.len);
		put(&v, oid_mgf1, sizeof(oid_mgf1));
		put(&v, t.p, t.len);
		t.len = 0;
		put_tlv(&t, 0x30, v.p, v.len);
		put_tlv(&params, 0xa1, t.p, t.len);
		/* [2] saltLength, DEFAULT 20 */
		if (saltlen != 20) {
			t.len = 0;
			put_uint(&t, (unsigned long)saltlen);
			put_tlv(&params, 0xa2, t.p, t.len);
		}
		put(&body, oid_pss, sizeof(oid_pss));
		put_tlv(&body, 0x30, params.p, params.len);
		if (params.bad || t.bad || u.bad || v.bad)
			body.bad = 1;
		break;
	}
	default:
		snprintf(err, errlen, "unknown signature scheme %d", (int)scheme);
		return 0;
	}
	put_tlv(&res, 0x30, body.p, body.len);
	if (body.bad || res.bad) {
		snprintf(err, errlen, "AlgorithmIdentifier does not fit %zu bytes", outsz);
		return 0;
	}
	return res.len;
}
