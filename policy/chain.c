/* policy/chain.c: the CAPF CA certificate and its chain (see chain.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "policy/certutil.h"
#include "policy/chain.h"

struct capf_ca {
	X509 *cert;
	STACK_OF(X509) * chain; /* intermediates then root; empty when self-signed */
	X509 *root;             /* borrowed from chain, or cert */
	bool self_signed;
	time_t not_before, not_after;
	time_t chain_not_after; /* the earliest notAfter of cert and everything above it */
};

/* findings joined with "; " */
struct findings {
	char *buf;
	size_t len, off;
	int n;
};

static void add(struct findings *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct findings *f, const char *fmt, ...)
{
	va_list ap;
	int r;

	f->n++;
	if (f->len == 0 || f->off >= f->len - 1)
		return;
	if (f->off > 0) {
		r = snprintf(f->buf + f->off, f->len - f->off, "; ");
		f->off += r > 0 ? (size_t)r : 0;
		if (f->off >= f->len - 1)
			return;
	}
	va_start(ap, fmt);
	r = vsnprintf(f->buf + f->off, f->len - f->off, fmt, ap);
	va_end(ap);
	f->off += r > 0 ? (size_t)r : 0;
}

static void subject_str(X509 *x, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	long n;
	char *p;

	snprintf(buf, len, "?");
	if (b == NULL)
		return;
	if (X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    (n = BIO_get_mem_data(b, &p)) > 0)
		snprintf(buf, len, "%.*s", (int)(n > 200 ? 200 : n), p);
	BIO_free(b);
}

static void check_ca_profile(X509 *cert, time_t now, struct findings *f, time_t *nb, time_t *na)
{
	uint32_t flags = X509_get_extension_flags(cert);
	int idx, kt;

	if (X509_get_version(cert) != X509_VERSION_3)
		add(f, "the CAPF CA certificate is not an X.509 version 3 certificate");
	if (!(flags & EXFLAG_CA)) {
		add(f, "the CAPF CA certificate lacks basicConstraints CA:TRUE");
	} else {
		idx = X509_get_ext_by_NID(cert, NID_basic_constraints, -1);
		if (idx < 0 || !X509_EXTENSION_get_critical(X509_get_ext(cert, idx)))
			add(f, "the CAPF CA certificate's basicConstraints is not critical");
		if (X509_get_pathlen(cert) != 0)
			add(f,
			    "the CAPF CA certificate's basicConstraints lacks pathlen:0 (it must not sign other CAs)");
	}
	if (!(flags & EXFLAG_KUSAGE))
		add(f, "the CAPF CA certificate has no keyUsage (needs keyCertSign, digitalSignature)");
	else {
		if (!(X509_get_key_usage(cert) & KU_KEY_CERT_SIGN))
			add(f, "the CAPF CA certificate's keyUsage lacks keyCertSign");
		if (!(X509_get_key_usage(cert) & KU_DIGITAL_SIGNATURE))
			add(f, "the CAPF CA certificate's keyUsage lacks digitalSignature");
	}
	if (X509_get0_subject_key_id(cert) == NULL)
		add(f,
		    "the CAPF CA certificate has no subjectKeyIdentifier (LSCs need it as authority key id)");
	kt = X509_get0_pubkey(cert) != NULL ? EVP_PKEY_get_base_id(X509_get0_pubkey(cert)) : 0;
	if (kt != EVP_PKEY_RSA && kt != EVP_PKEY_EC)
		add(f, "the CAPF CA key is neither RSA nor EC");
	if (capf_asn1_to_time(X509_get0_notBefore(cert), nb) < 0 ||
	    capf_asn1_to_time(X509_get0_notAfter(cert), na) < 0) {
		add(f, "the CAPF CA certificate's validity cannot be read");
		return;
	}
	if (now < *nb)
		add(f,
		    "the CAPF CA certificate is not yet valid (notBefore is %lld seconds from now; check the clock)",
		    (long long)(*nb - now));
	if (now > *na)
		add(f, "the CAPF CA certificate expired %lld days ago; renew it",
		    (long long)((now - *na) / 86400));
}

/* check_ss: also verify the root's self-signature (at load; not again per LSC) */
static X509_STORE_CTX *verify_ctx(X509 *anchor, STACK_OF(X509) * untrusted, X509 *target, time_t now,
				  int check_ss, X509_STORE **store)
{
	X509_STORE_CTX *ctx = NULL;
	X509_VERIFY_PARAM *vp;

	if ((*store = X509_STORE_new()) == NULL || X509_STORE_add_cert(*store, anchor) != 1)
		return NULL;
	if ((ctx = X509_STORE_CTX_new()) == NULL || X509_STORE_CTX_init(ctx, *store, target, untrusted) != 1) {
		X509_STORE_CTX_free(ctx);
		return NULL;
	}
	vp = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(vp, now);
	X509_VERIFY_PARAM_set_flags(vp,
				    X509_V_FLAG_X509_STRICT | (check_ss ? X509_V_FLAG_CHECK_SS_SIGNATURE : 0));
	return ctx;
}

int capf_ca_from_x509(X509 *cert, STACK_OF(X509) * chain, time_t now, struct capf_ca **out, char *err,
		      size_t errlen)
{
	struct findings f = { .buf = err, .len = errlen };
	struct capf_ca *ca = NULL;
	STACK_OF(X509) *untrusted = NULL, *verified = NULL;
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509 *root = NULL;
	int nchain = chain != NULL ? sk_X509_num(chain) : 0;
	char subj[256];
	time_t nb = 0, na = 0;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (cert == NULL) {
		add(&f, "no CAPF CA certificate");
		return -1;
	}
	if (nchain > CAPF_CA_CHAIN_MAX) {
		add(&f, "the chain has %d certificates (at most %d)", nchain, CAPF_CA_CHAIN_MAX);
		return -1;
	}
	check_ca_profile(cert, now, &f, &nb, &na);

	if ((untrusted = sk_X509_new_null()) == NULL)
		goto oom;
	if (nchain == 0) {
		if (X509_self_signed(cert, 1) != 1)
			add(&f,
			    "the CAPF CA certificate is not self-signed, and no chain was given (ca.chain): "
			    "give the chain of its issuer up to the root");
		root = cert;
	} else {
		if (X509_self_signed(cert, 0) == 1)
			add(&f,
			    "the CAPF CA certificate is self-signed, but a chain was given: leave ca.chain empty");
		for (int i = 0; i < nchain; i++) {
			X509 *x = sk_X509_value(chain, i);
			if (X509_self_signed(x, 0) == 1) {
				if (root != NULL) {
					add(&f, "the chain holds more than one self-signed (root) certificate");
					continue;
				}
				root = x;
			} else if (!sk_X509_push(untrusted, x))
				goto oom;
		}
		if (root == NULL) {
			add(&f,
			    "the chain holds no root (self-signed) certificate: append the root CA to ca.chain");
			root = NULL;
		}
	}
	if (root != NULL) {
		if ((ctx = verify_ctx(root, untrusted, cert, now, 1, &store)) == NULL)
			goto oom;
		if (X509_verify_cert(ctx) != 1) {
			int e = X509_STORE_CTX_get_error(ctx);
			X509 *at = X509_STORE_CTX_get_current_cert(ctx);
			if (at != NULL)
				subject_str(at, subj, sizeof(subj));
			else
				snprintf(subj, sizeof(subj), "?");
			add(&f, "the CAPF CA chain does not verify: %s (at depth %d, %s)",
			    X509_verify_cert_error_string(e), X509_STORE_CTX_get_error_depth(ctx), subj);
		} else if ((verified = X509_STORE_CTX_get1_chain(ctx)) == NULL)
			goto oom;
	}
	if (f.n != 0)
		goto fail;

	if ((ca = calloc(1, sizeof(*ca))) == NULL)
		goto oom;
	X509_up_ref(cert);
	ca->cert = cert;
	/* the verified chain: cert, intermediates..., root */
	X509_free(sk_X509_shift(verified));
	ca->chain = verified;
	verified = NULL;
	ca->self_signed = nchain == 0;
	ca->root = ca->self_signed ? ca->cert : sk_X509_value(ca->chain, sk_X509_num(ca->chain) - 1);
	ca->not_before = nb;
	ca->not_after = na;
	ca->chain_not_after = na;
	for (int i = 0; i < sk_X509_num(ca->chain); i++) {
		time_t t;

		if (capf_asn1_to_time(X509_get0_notAfter(sk_X509_value(ca->chain, i)), &t) == 0 &&
		    t < ca->chain_not_after)
			ca->chain_not_after = t;
	}
	*out = ca;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_free(untrusted);
	return 0;
oom:
	add(&f, "out of memory");
fail:
	sk_X509_pop_free(verified, X509_free);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_free(untrusted);
	return -1;
}

/* Every certificate of a PEM text; NULL with a message. */
static STACK_OF(X509) *
	parse_pem(const char *what, const char *pem, size_t len, int max, char *err, size_t errlen)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	BIO *b;
	X509 *x;

	if (sk == NULL || len > CAPF_CA_PEM_MAX || (b = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		sk_X509_free(sk);
		snprintf(err, errlen, "%s: out of memory or too large", what);
		return NULL;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_num(sk) >= max || !sk_X509_push(sk, x)) {
			X509_free(x);
			snprintf(err, errlen, "%s: more than %d certificates", what, max);
			goto fail;
		}
	}
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) {
		snprintf(err, errlen, "%s: a PEM certificate is malformed", what);
		goto fail;
	}
	ERR_clear_error();
	BIO_free(b);
	return sk;
fail:
	ERR_clear_error();
	BIO_free(b);
	sk_X509_pop_free(sk, X509_free);
	return NULL;
}

int capf_ca_from_pem(const char *cert_pem, size_t cert_len, const char *chain_pem, size_t chain_len, time_t now,
		     struct capf_ca **out, char *err, size_t errlen)
{
	STACK_OF(X509) * certs, *chain = NULL;
	int r = -1;

	*out = NULL;
	if ((certs = parse_pem("CAPF CA certificate", cert_pem, cert_len, 1, err, errlen)) == NULL)
		return -1;
	if (sk_X509_num(certs) != 1) {
		snprintf(err, errlen, "CAPF CA certificate: no PEM certificate found");
		goto out;
	}
	if (chain_pem != NULL && chain_len > 0) {
		if ((chain = parse_pem("CAPF CA chain", chain_pem, chain_len, CAPF_CA_CHAIN_MAX, err,
				       errlen)) == NULL)
			goto out;
		if (sk_X509_num(chain) == 0) {
			snprintf(err, errlen, "CAPF CA chain: no PEM certificate found");
			goto out;
		}
	}
	r = capf_ca_from_x509(sk_X509_value(certs, 0), chain, now, out, err, errlen);
out:
	sk_X509_pop_free(certs, X509_free);
	sk_X509_pop_free(chain, X509_free);
	return r;
}

void capf_ca_free(struct capf_ca *ca)
{
	if (ca == NULL)
		return;
	X509_free(ca->cert);
	sk_X509_pop_free(ca->chain, X509_free);
	free(ca);
}

X509 *capf_ca_cert(const struct capf_ca *ca)
{
	return ca->cert;
}
STACK_OF(X509) * capf_ca_chain(const struct capf_ca *ca)
{
	return ca->chain;
}
X509 *capf_ca_root(const struct capf_ca *ca)
{
	return ca->root;
}
bool capf_ca_self_signed(const struct capf_ca *ca)
{
	return ca->self_signed;
}
time_t capf_ca_not_before(const struct capf_ca *ca)
{
	return ca->not_before;
}
time_t capf_ca_not_after(const struct capf_ca *ca)
{
	return ca->not_after;
}
time_t capf_ca_chain_not_after(const struct capf_ca *ca)
{
	return ca->chain_not_after;
}

long capf_ca_days_left(const struct capf_ca *ca, time_t now)
{
	time_t d = ca->not_after - now;
	/* floor division */
	return (long)(d >= 0 ? d / 86400 : -((-d + 86399) / 86400));
}

int capf_ca_verify(const struct capf_ca *ca, X509 *leaf, time_t now, char *err, size_t errlen)
{
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509 *parsed = NULL;
	int r = -1;

	/* capf_lsc_build's certificates carry their key as bytes only: parse it back */
	if (leaf != NULL && X509_get0_pubkey(leaf) == NULL) {
		unsigned char *der = NULL;
		const unsigned char *p;
		int len = i2d_X509(leaf, &der);

		ERR_clear_error();
		p = der;
		if (len <= 0 || (parsed = d2i_X509(NULL, &p, len)) == NULL ||
		    X509_get0_pubkey(parsed) == NULL) {
			OPENSSL_free(der);
			snprintf(err, errlen, "the certificate's public key is unreadable");
			goto out;
		}
		OPENSSL_free(der);
		leaf = parsed;
	}
	if (untrusted == NULL || !sk_X509_push(untrusted, ca->cert)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (int i = 0; i < sk_X509_num(ca->chain); i++)
		if (sk_X509_value(ca->chain, i) != ca->root &&
		    !sk_X509_push(untrusted, sk_X509_value(ca->chain, i))) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	if ((ctx = verify_ctx(ca->root, untrusted, leaf, now, 0, &store)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (X509_verify_cert(ctx) != 1) {
		snprintf(err, errlen, "the certificate does not verify up to the root: %s (at depth %d)",
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)),
			 X509_STORE_CTX_get_error_depth(ctx));
		goto out;
	}
	r = 0;
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_free(untrusted);
	X509_free(parsed);
	return r;
}
