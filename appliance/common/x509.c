/* appliance/common/x509.c: see x509.h. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "appliance/common/x509.h"
#include "policy/certutil.h"

static const char *name_line(const X509_NAME *name, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n;

	buf[0] = '\0';
	if (b == NULL)
		return buf;
	X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	n = BIO_read(b, buf, (int)len - 1);
	buf[n > 0 ? n : 0] = '\0';
	BIO_free(b);
	return buf;
}

const char *capf_x509_subject(const X509 *x, char *buf, size_t len)
{
	return name_line(X509_get_subject_name(x), buf, len);
}

const char *capf_x509_issuer(const X509 *x, char *buf, size_t len)
{
	return name_line(X509_get_issuer_name(x), buf, len);
}

unsigned capf_x509_fp_raw(const X509 *x, const EVP_MD *md, unsigned char *out)
{
	unsigned n = 0;

	if (X509_digest(x, md, out, &n) != 1)
		return 0;
	return n;
}

const char *capf_hex(const uint8_t *p, size_t n, char sep, char *buf, size_t len)
{
	static const char hx[] = "0123456789ABCDEF";
	size_t i, o = 0;

	if (len == 0)
		return buf;
	for (i = 0; i < n && o + 3 + (sep != 0) < len; i++) {
		if (sep && i)
			buf[o++] = sep;
		buf[o++] = hx[p[i] >> 4];
		buf[o++] = hx[p[i] & 15];
	}
	buf[o] = '\0';
	return buf;
}

const char *capf_x509_fp_hex(const X509 *x, const EVP_MD *md, char sep, char *buf, size_t len)
{
	unsigned char d[EVP_MAX_MD_SIZE];

	return capf_hex(d, capf_x509_fp_raw(x, md, d), sep, buf, len);
}

int capf_x509_serial_hex(const X509 *x, char *buf, size_t len)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *h = bn ? BN_bn2hex(bn) : NULL;
	int n = h ? snprintf(buf, len, "%s", h) : -1;

	OPENSSL_free(h);
	BN_free(bn);
	return n;
}

time_t capf_asn1_time(const ASN1_TIME *t)
{
	time_t v = 0;

	return capf_asn1_to_time(t, &v) == 0 ? v : 0;
}

time_t capf_x509_not_before(const X509 *x)
{
	return capf_asn1_time(X509_get0_notBefore(x));
}

time_t capf_x509_not_after(const X509 *x)
{
	return capf_asn1_time(X509_get0_notAfter(x));
}

long capf_days_left(time_t t, time_t now)
{
	double s = difftime(t, now);

	return s < 0 ? -(long)((-s + 86399) / 86400) : (long)(s / 86400);
}

X509 *capf_x509_from_der(const uint8_t *p, size_t n)
{
	const unsigned char *q = p;
	X509 *x = d2i_X509(NULL, &q, (long)n);

	if (x != NULL && q != p + n) {
		X509_free(x);
		return NULL;
	}
	return x;
}
