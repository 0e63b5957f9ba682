/* policy/certutil.c: times and serial numbers for every certificate profile (see certutil.h). */
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/rand.h>

#include "policy/certutil.h"

int capf_asn1_to_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;
	time_t v;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	if ((v = timegm(&tm)) == (time_t)-1 && !(tm.tm_year == 69 && tm.tm_mon == 11 && tm.tm_mday == 31 &&
						 tm.tm_hour == 23 && tm.tm_min == 59 && tm.tm_sec == 59))
		return -1;
	*out = v;
	return 0;
}

int capf_cert_set_validity(X509 *x, time_t not_before, time_t not_after)
{
	return ASN1_TIME_set(X509_getm_notBefore(x), not_before) != NULL &&
	       ASN1_TIME_set(X509_getm_notAfter(x), not_after) != NULL;
}

int capf_cert_add_ext(X509V3_CTX *ctx, STACK_OF(X509_EXTENSION) * *sk, X509 *x, int nid, const char *val)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, val);
	int ok;

	if (ext == NULL)
		return 0;
	ok = x != NULL ? X509_add_ext(x, ext, -1) : X509v3_add_ext(sk, ext, -1) != NULL;
	X509_EXTENSION_free(ext);
	return ok;
}

static int csprng(void *arg, unsigned char *buf, size_t n)
{
	return n <= 64 && RAND_bytes(buf, (int)n) == 1;
}

int capf_serial_random(ASN1_INTEGER *serial, unsigned bits, capf_random_fn *rnd, void *arg)
{
	unsigned char buf[20];
	size_t n = (bits + 7) / 8;
	BIGNUM *bn = NULL;
	int ok = 0, tries = 0;

	if (bits < 64 || bits > 159)
		return 0;
	if (rnd == NULL)
		rnd = csprng;
	do {
		/* a source that keeps giving small numbers is broken, not unlucky */
		if (++tries > 64 || rnd(arg, buf, n) != 1)
			goto out;
		buf[0] &= (unsigned char)(0xff >> (n * 8 - bits));
		BN_free(bn);
		if ((bn = BN_bin2bn(buf, (int)n, NULL)) == NULL)
			goto out;
	} while (BN_num_bits(bn) <= (int)bits - 32);
	ok = BN_to_ASN1_INTEGER(bn, serial) != NULL;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	BN_free(bn);
	return ok;
}
