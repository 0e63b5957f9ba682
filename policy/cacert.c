/* policy/cacert.c: the CAPF CA certificate profile (see cacert.h). */
#include <stdio.h>
#include <string.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "policy/certutil.h"
#include "policy/cacert.h"
#include "policy/osslerr.h"

static const char *const subj_attrs[] = {
	"C", "ST", "L", "O", "OU", "CN", "emailAddress", "serialNumber",
};

/* One "ATTR=value" into name (at the end), the attribute checked against the list. */
static int add_rdn(X509_NAME *name, char *p, char *err, size_t errlen)
{
	char *val;
	size_t i;

	while (*p == ' ')
		p++;
	if ((val = strchr(p, '=')) == NULL || val == p || val[1] == '\0') {
		snprintf(err, errlen, "subject: \"%s\" is not ATTR=value", p);
		return -1;
	}
	*val++ = '\0';
	for (i = 0; i < sizeof(subj_attrs) / sizeof(subj_attrs[0]); i++)
		if (strcmp(p, subj_attrs[i]) == 0)
			break;
	if (i == sizeof(subj_attrs) / sizeof(subj_attrs[0])) {
		snprintf(err, errlen,
			 "subject: attribute \"%s\" not allowed (C ST L O OU CN emailAddress serialNumber)", p);
		return -1;
	}
	if (strcmp(p, "C") == 0 && strlen(val) != 2) {
		snprintf(err, errlen, "subject: C=%s must be a two-letter country code", val);
		return -1;
	}
	if (!X509_NAME_add_entry_by_txt(name, p, MBSTRING_UTF8, (unsigned char *)val, -1, -1, 0)) {
		ERR_clear_error();
		snprintf(err, errlen, "subject: %s=%s: not accepted by OpenSSL (too long?)", p, val);
		return -1;
	}
	return 0;
}

X509_NAME *capf_subject_parse(const char *subject, char *err, size_t errlen)
{
	X509_NAME *name = NULL;
	char buf[1024], *rdn[64], *p, *w;
	int slash, n = 0;
	size_t len;

	if (subject == NULL || subject[0] == '\0') {
		snprintf(err, errlen, "subject: empty (e.g. /O=Example/CN=CAPF or CN=CAPF,O=Example)");
		return NULL;
	}
	if ((len = strlen(subject)) >= sizeof(buf)) {
		snprintf(err, errlen, "subject: longer than %zu bytes", sizeof(buf) - 1);
		return NULL;
	}
	/* "/A=x/B=y" in order, or RFC 4514 "B=y,A=x" (the last RDN first); a
	 * backslash escapes the separator or itself; one attribute per RDN */
	slash = subject[0] == '/';
	if (!slash && strchr(subject, '+') != NULL) {
		snprintf(err, errlen, "subject: multi-valued RDNs ('+') are not supported");
		return NULL;
	}
	memcpy(buf, subject + slash, len + 1 - (size_t)slash);
	for (p = buf, w = buf, rdn[n++] = buf; *p != '\0'; p++) {
		if (*p == '\\' && (p[1] == (slash ? '/' : ',') || p[1] == '\\')) {
			*w++ = *++p;
		} else if (*p == (slash ? '/' : ',')) {
			*w++ = '\0';
			if (n == (int)(sizeof(rdn) / sizeof(rdn[0]))) {
				snprintf(err, errlen, "subject: more than %zu attributes",
					 sizeof(rdn) / sizeof(rdn[0]));
				return NULL;
			}
			rdn[n++] = w;
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
	if ((name = X509_NAME_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (int k = 0; k < n; k++)
		if (!(slash && k == n - 1 && rdn[k][0] == '\0') /* "/CN=x/" */
		    && add_rdn(name, rdn[slash ? k : n - 1 - k], err, errlen) != 0) {
			X509_NAME_free(name);
			return NULL;
		}
	if (X509_NAME_entry_count(name) == 0) {
		snprintf(err, errlen, "subject: empty");
		X509_NAME_free(name);
		return NULL;
	}
	return name;
}

X509 *capf_cacert_build(OSSL_LIB_CTX *libctx, const X509_NAME *subject, EVP_PKEY *pub, unsigned days,
			time_t now, char *err, size_t errlen)
{
	X509V3_CTX ctx;
	X509 *x;

	if (days == 0 || days > CAPF_CACERT_DAYS_MAX) {
		snprintf(err, errlen, "validity %u days: allowed 1..%u", days, CAPF_CACERT_DAYS_MAX);
		return NULL;
	}
	if ((x = X509_new_ex(libctx, NULL)) == NULL)
		goto ossl;
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !capf_serial_random(X509_get_serialNumber(x), 127, NULL, NULL) ||
	    !X509_set_subject_name(x, subject) || !X509_set_issuer_name(x, subject) ||
	    !capf_cert_set_validity(x, now - 300, now + (time_t)days * 86400) || !X509_set_pubkey(x, pub))
		goto ossl;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if (!capf_cert_add_ext(&ctx, NULL, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
	    !capf_cert_add_ext(&ctx, NULL, x, NID_key_usage, "critical,digitalSignature,keyCertSign") ||
	    !capf_cert_add_ext(&ctx, NULL, x, NID_subject_key_identifier, "hash") ||
	    !capf_cert_add_ext(&ctx, NULL, x, NID_authority_key_identifier, "keyid:always"))
		goto ossl;
	return x;
ossl:
	capf_ossl_error_msg(err, errlen, "building the CAPF CA certificate");
	X509_free(x);
	return NULL;
}

X509_REQ *capf_cacert_build_csr(OSSL_LIB_CTX *libctx, const X509_NAME *subject, EVP_PKEY *pub, char *err,
				size_t errlen)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509V3_CTX ctx;
	X509_REQ *req;

	if ((req = X509_REQ_new_ex(libctx, NULL)) == NULL)
		goto ossl;
	if (!X509_REQ_set_version(req, X509_REQ_VERSION_1) || !X509_REQ_set_subject_name(req, subject) ||
	    !X509_REQ_set_pubkey(req, pub))
		goto ossl;
	X509V3_set_ctx(&ctx, NULL, NULL, req, NULL, 0);
	if (!capf_cert_add_ext(&ctx, &exts, NULL, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
	    !capf_cert_add_ext(&ctx, &exts, NULL, NID_key_usage, "critical,digitalSignature,keyCertSign") ||
	    !X509_REQ_add_extensions(req, exts))
		goto ossl;
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return req;
ossl:
	capf_ossl_error_msg(err, errlen, "building the CAPF CA CSR");
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	return NULL;
}

X509 *capf_tlscert_build(X509 *ca_cert, const X509_NAME *subject, EVP_PKEY *pub, unsigned days,
			 time_t not_after_max, const char *san, time_t now, char *err, size_t errlen)
{
	X509V3_CTX ctx;
	time_t na = now + (time_t)days * 86400;
	X509 *x;

	if (days == 0 || days > CAPF_TLSCERT_DAYS_MAX) {
		snprintf(err, errlen, "validity: 1..%d days", CAPF_TLSCERT_DAYS_MAX);
		return NULL;
	}
	if (X509_NAME_get_index_by_NID(subject, NID_commonName, -1) < 0) {
		snprintf(err, errlen, "the TLS certificate needs a subject with a CN");
		return NULL;
	}
	if (na > not_after_max)
		na = not_after_max; /* never beyond the issuer and its chain */
	if ((x = X509_new()) == NULL)
		goto ossl;
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !capf_serial_random(X509_get_serialNumber(x), 128, NULL, NULL) ||
	    !X509_set_subject_name(x, subject) || !X509_set_issuer_name(x, X509_get_subject_name(ca_cert)) ||
	    !capf_cert_set_validity(x, now, na) || !X509_set_pubkey(x, pub))
		goto ossl;
	X509V3_set_ctx(&ctx, ca_cert, x, NULL, NULL, 0);
	if (!capf_cert_add_ext(&ctx, NULL, x, NID_basic_constraints, "critical,CA:FALSE") ||
	    !capf_cert_add_ext(&ctx, NULL, x, NID_key_usage,
			       EVP_PKEY_is_a(pub, "RSA") ? "critical,digitalSignature,keyEncipherment" :
							   "critical,digitalSignature") ||
	    !capf_cert_add_ext(&ctx, NULL, x, NID_ext_key_usage, "serverAuth") ||
	    !capf_cert_add_ext(&ctx, NULL, x, NID_subject_key_identifier, "hash") ||
	    !capf_cert_add_ext(&ctx, NULL, x, NID_authority_key_identifier, "keyid:always") ||
	    (san != NULL && san[0] != '\0' && !capf_cert_add_ext(&ctx, NULL, x, NID_subject_alt_name, san)))
		goto ossl;
	return x;
ossl:
	capf_ossl_error_msg(err, errlen, "building the TLS certificate");
	X509_free(x);
	return NULL;
}
