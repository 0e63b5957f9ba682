/* policy/cacert.c: the CAPF CA certificate profile (see cacert.h). */
#include <stdio.h>
#include <string.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "policy/cacert.h"
#include "policy/osslerr.h"

static const char *const subj_attrs[] = {
	"C", "ST", "L", "O", "OU", "CN", "emailAddress", "serialNumber",
};

X509_NAME *capf_subject_parse(const char *subject, char *err, size_t errlen)
{
	X509_NAME *name = NULL;
	char buf[1024], *p, *q;
	size_t n;

	if (subject == NULL || subject[0] != '/') {
		snprintf(err, errlen, "subject \"%s\": must start with '/', e.g. /O=Example/CN=CAPF",
			 subject ? subject : "");
		return NULL;
	}
	if ((n = strlen(subject)) >= sizeof(buf)) {
		snprintf(err, errlen, "subject: longer than %zu bytes", sizeof(buf) - 1);
		return NULL;
	}
	if ((name = X509_NAME_new()) == NULL)
		goto oom;
	p = buf;
	memcpy(buf, subject + 1, n);    /* with the NUL */
	while (*p != '\0') {
		char *val, *w;
		size_t i;

		/* one "ATTR=value" up to an unescaped '/' */
		for (q = p, w = p; *q != '\0' && *q != '/'; q++) {
			if (*q == '\\' && (q[1] == '/' || q[1] == '\\'))
				q++;
			*w++ = *q;
		}
		if (*q == '/')
			q++;
		*w = '\0';
		if ((val = strchr(p, '=')) == NULL || val == p || val[1] == '\0') {
			snprintf(err, errlen, "subject: \"%s\" is not ATTR=value", p);
			goto fail;
		}
		*val++ = '\0';
		for (i = 0; i < sizeof(subj_attrs) / sizeof(subj_attrs[0]); i++)
			if (strcmp(p, subj_attrs[i]) == 0)
				break;
		if (i == sizeof(subj_attrs) / sizeof(subj_attrs[0])) {
			snprintf(err, errlen, "subject: attribute \"%s\" not allowed (C ST L O OU CN emailAddress serialNumber)", p);
			goto fail;
		}
		if (strcmp(p, "C") == 0 && strlen(val) != 2) {
			snprintf(err, errlen, "subject: C=%s must be a two-letter country code", val);
			goto fail;
		}
		if (!X509_NAME_add_entry_by_txt(name, p, MBSTRING_UTF8, (unsigned char *)val, -1, -1, 0)) {
			snprintf(err, errlen, "subject: %s=%s: not accepted by OpenSSL (too long?)", p, val);
			goto fail;
		}
		p = q;
	}
	if (X509_NAME_entry_count(name) == 0) {
		snprintf(err, errlen, "subject: empty");
		goto fail;
	}
	return name;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	X509_NAME_free(name);
	return NULL;
}

static int add_ext(X509V3_CTX *ctx, STACK_OF(X509_EXTENSION) **sk, X509 *x, int nid, const char *val)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, val);
	int ok;

	if (ext == NULL)
		return 0;
	ok = x != NULL ? X509_add_ext(x, ext, -1) : X509v3_add_ext(sk, ext, -1) != NULL;
	X509_EXTENSION_free(ext);
	return ok;
}

static int random_serial(ASN1_INTEGER *serial)
{
	unsigned char b[16];
	BIGNUM *bn = NULL;
	int ok = 0;

	do {
		if (RAND_bytes(b, sizeof(b)) != 1)
			return 0;
		b[0] &= 0x7f;   /* positive in DER without a leading zero octet */
	} while (b[0] == 0);
	if ((bn = BN_bin2bn(b, sizeof(b), NULL)) != NULL && BN_to_ASN1_INTEGER(bn, serial) != NULL)
		ok = 1;
	BN_free(bn);
	return ok;
}

X509 *capf_cacert_build(OSSL_LIB_CTX *libctx, const X509_NAME *subject, EVP_PKEY *pub,
			unsigned days, time_t now, char *err, size_t errlen)
{
	X509V3_CTX ctx;
	X509 *x;

	if (days == 0 || days > CAPF_CACERT_DAYS_MAX) {
		snprintf(err, errlen, "validity %u days: allowed 1..%u", days, CAPF_CACERT_DAYS_MAX);
		return NULL;
	}
	if ((x = X509_new_ex(libctx, NULL)) == NULL)
		goto ossl;
	if (!X509_set_version(x, X509_VERSION_3) || !random_serial(X509_get_serialNumber(x))
	    || !X509_set_subject_name(x, subject) || !X509_set_issuer_name(x, subject)
	    || X509_time_adj_ex(X509_getm_notBefore(x), 0, -300, &now) == NULL
	    || X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, &now) == NULL
	    || !X509_set_pubkey(x, pub))
		goto ossl;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if (!add_ext(&ctx, NULL, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0")
	    || !add_ext(&ctx, NULL, x, NID_key_usage, "critical,digitalSignature,keyCertSign")
	    || !add_ext(&ctx, NULL, x, NID_subject_key_identifier, "hash")
	    || !add_ext(&ctx, NULL, x, NID_authority_key_identifier, "keyid:always"))
		goto ossl;
	return x;
ossl:
	capf_ossl_error_msg(err, errlen, "building the CAPF CA certificate");
	X509_free(x);
	return NULL;
}

X509_REQ *capf_cacert_build_csr(OSSL_LIB_CTX *libctx, const X509_NAME *subject, EVP_PKEY *pub,
				char *err, size_t errlen)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509V3_CTX ctx;
	X509_REQ *req;

	if ((req = X509_REQ_new_ex(libctx, NULL)) == NULL)
		goto ossl;
	if (!X509_REQ_set_version(req, X509_REQ_VERSION_1) || !X509_REQ_set_subject_name(req, subject)
	    || !X509_REQ_set_pubkey(req, pub))
		goto ossl;
	X509V3_set_ctx(&ctx, NULL, NULL, req, NULL, 0);
	if (!add_ext(&ctx, &exts, NULL, NID_basic_constraints, "critical,CA:TRUE,pathlen:0")
	    || !add_ext(&ctx, &exts, NULL, NID_key_usage, "critical,digitalSignature,keyCertSign")
	    || !X509_REQ_add_extensions(req, exts))
		goto ossl;
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return req;
ossl:
	capf_ossl_error_msg(err, errlen, "building the CAPF CA CSR");
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	return NULL;
}
