/*
 * appliance/signerd/admin_capf.c: the CAPF CA through the admin socket:
 * CAPF_SHOW, CAPF_REGENERATE (a new key inside the token and a new
 * self-signed certificate), CAPF_CSR, CAPF_IMPORT (a third-party signed
 * certificate for the token key), TRUST_EXPORT, plus AUDIT_VERIFY and STATS.
 * Verbs that change the CA refuse without CONFIRM = 1 (capfctl asks the
 * operator after the phone-reset warning; this check does not trust it).
 * The store is the record of which CA is active (capf_certs, key URI
 * included); ca.certificate is rewritten for operators and restarts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "appliance/common/file.h"
#include "appliance/common/log.h"
#include "appliance/signerd/admin.h"
#include "pkcs11/p11.h"
#include "policy/chain.h"

#define CA_DAYS_DEFAULT 3650
#define CA_DAYS_MAX     9125
#define SHOW_CERTS_MAX  24

static time_t
asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

static X509 *
der_x509(const uint8_t *p, size_t n)
{
	const unsigned char *q = p;
	X509 *x = d2i_X509(NULL, &q, (long)n);

	if (x != NULL && q != p + n) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static void
put_key_params(struct capf_ipc_builder *b, EVP_PKEY *k)
{
	char group[64];
	size_t gl;

	if (k == NULL)
		return;
	if (EVP_PKEY_is_a(k, "RSA")) {
		capf_ipc_put_u8(b, CAPF_IPC_T_KEY_TYPE, CAPF_KEY_RSA);
		capf_ipc_put_u32(b, CAPF_IPC_T_RSA_BITS, (uint32_t)EVP_PKEY_get_bits(k));
	} else if (EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof(group), &gl) == 1) {
		int c = capf_curve_parse(group);

		capf_ipc_put_u8(b, CAPF_IPC_T_KEY_TYPE, CAPF_KEY_EC);
		if (c >= 0)
			capf_ipc_put_u8(b, CAPF_IPC_T_CURVE, (uint8_t)c);
	}
}

int
admin_put_cert(struct admin_req *a, int role, X509 *x, long lsc_count, const char *key_uri,
	       STACK_OF(X509) *chain)
{
	struct capf_ipc_builder *b = a->resp;
	unsigned char *der = NULL, fp[32];
	char subj[1025];
	int n, i;

	if ((n = i2d_X509(x, &der)) <= 0 || admin_x509_fp_raw(x, fp) != 0) {
		OPENSSL_free(der);
		return -1;
	}
	capf_ipc_nest_begin(b, CAPF_IPC_T_CAPF_CERT);
	capf_ipc_put_u8(b, CAPF_IPC_T_CERT_ROLE, (uint8_t)role);
	capf_ipc_put_bytes(b, CAPF_IPC_T_CERT, der, (size_t)n);
	capf_ipc_put_str(b, CAPF_IPC_T_SUBJECT, admin_x509_subject(x, subj, sizeof(subj)));
	capf_ipc_put_bytes(b, CAPF_IPC_T_FINGERPRINT, fp, sizeof(fp));
	capf_ipc_put_i64(b, CAPF_IPC_T_NOT_BEFORE, (int64_t)asn1_time(X509_get0_notBefore(x)));
	capf_ipc_put_i64(b, CAPF_IPC_T_NOT_AFTER, (int64_t)asn1_time(X509_get0_notAfter(x)));
	if (lsc_count >= 0)
		capf_ipc_put_u32(b, CAPF_IPC_T_LSC_COUNT, (uint32_t)lsc_count);
	put_key_params(b, X509_get0_pubkey(x));
	if (key_uri && key_uri[0])
		capf_ipc_put_str(b, CAPF_IPC_T_KEY_URI, key_uri);
	for (i = 0; chain && i < sk_X509_num(chain); i++) {
		unsigned char *cd = NULL;
		int cn = i2d_X509(sk_X509_value(chain, i), &cd);

		if (cn > 0)
			capf_ipc_put_bytes(b, CAPF_IPC_T_CHAIN_CERT, cd, (size_t)cn);
		OPENSSL_free(cd);
	}
	capf_ipc_nest_end(b);
	OPENSSL_free(der);
	return b->error ? -1 : 0;
}

X509 *
admin_tls_current(struct signerd *sd)
{
	struct capf_store_issuance is;
	char err[256];
	X509 *x = NULL;

	memset(&is, 0, sizeof(is));
	if (capf_store_issuance_latest_for_device(sd->store, ADMIN_TLS_DEVICE, &is, err,
						  sizeof(err)) == 0 &&
	    (is.state == CAPF_ISS_ISSUED || is.state == CAPF_ISS_DELIVERED))
		x = der_x509(is.der, is.der_len);
	capf_store_issuance_clear(&is);
	return x;
}

long
admin_valid_lscs(struct signerd *sd, const char *fp)
{
	unsigned long n = 0;
	char err[256];

	struct capf_store_issuance is;
	time_t now = time(NULL);

	if (capf_store_count_valid_lsc(sd->store, fp, now, &n, err, sizeof(err)) != 0)
		return -1;
	/* the CAPF TLS certificate is recorded as an issuance too: not a phone */
	memset(&is, 0, sizeof(is));
	if (n > 0 && capf_store_issuance_latest_for_device(sd->store, ADMIN_TLS_DEVICE, &is, err,
							   sizeof(err)) == 0 &&
	    (is.state == CAPF_ISS_ISSUED || is.state == CAPF_ISS_DELIVERED) &&
	    strcasecmp(is.issuer_fp, fp) == 0 && is.not_before <= now && is.not_after >= now)
		n--;
	capf_store_issuance_clear(&is);
	return (long)n;
}

/* ---- CAPF_SHOW and TRUST_EXPORT ------------------------------------------- */

/* The store's CAPF certificates into an array first (LSC counts need the store). */
struct certrow {
	char fp[CAPF_STORE_FP_HEX_LEN + 1];
	enum capf_store_cert_role role;
	X509 *x;
	char key_uri[CAPF_STORE_KEY_URI_MAX + 1];
};
struct certrows {
	struct certrow r[SHOW_CERTS_MAX];
	int n;
};

static int
collect_cb(const struct capf_store_cert *c, void *arg)
{
	struct certrows *rs = arg;
	struct certrow *r;

	if (rs->n >= SHOW_CERTS_MAX)
		return 1;
	r = &rs->r[rs->n];
	if ((r->x = der_x509(c->der, c->der_len)) == NULL)
		return 0;
	snprintf(r->fp, sizeof(r->fp), "%s", c->fp);
	snprintf(r->key_uri, sizeof(r->key_uri), "%s", c->key_uri);
	r->role = c->role;
	rs->n++;
	return 0;
}

static void
rows_clear(struct certrows *rs)
{
	int i;

	for (i = 0; i < rs->n; i++)
		X509_free(rs->r[i].x);
	rs->n = 0;
}

/* Puts the CA certificates of the store: the active one (with its chain),
 * previous ones (only those still holding valid LSCs when lsc_only), retired
 * ones when retired. */
static int
put_store_certs(struct admin_req *a, int lsc_only, int retired)
{
	struct signerd_ca *g = signerd_ca_get(a->sd);
	struct certrows rs;
	char err[512];
	int i, rc = 0;

	memset(&rs, 0, sizeof(rs));
	if (capf_store_cert_list(a->sd->store, collect_cb, &rs, err, sizeof(err)) != 0) {
		signerd_ca_put(g);
		return -1;
	}
	for (i = 0; i < rs.n && rc == 0; i++) {
		struct certrow *r = &rs.r[i];
		long cnt = admin_valid_lscs(a->sd, r->fp);
		STACK_OF(X509) *chain = NULL;
		int role;

		if (r->role == CAPF_CERT_ACTIVE) {
			role = CAPF_IPC_CERT_ACTIVE;
		} else if (r->role == CAPF_CERT_PREVIOUS) {
			role = CAPF_IPC_CERT_PREVIOUS;
			if (lsc_only && cnt <= 0)
				continue;
		} else {
			role = CAPF_IPC_CERT_RETIRED;
			if (!retired)
				continue;
		}
		if (g && strcasecmp(g->fp, r->fp) == 0)
			chain = capf_ca_chain(g->ca);
		if (a->resp->len > 48000)
			break;
		rc = admin_put_cert(a, role, r->x, cnt, r->key_uri, chain);
	}
	rows_clear(&rs);
	signerd_ca_put(g);
	return rc;
}

int
admin_capf_show(struct admin_req *a)
{
	X509 *tls;

	if (admin_ok(a) != 0)
		return -1;
	if (put_store_certs(a, 0, 1) != 0) {
		capf_ipc_builder_free(a->resp);
		memset(a->resp, 0, sizeof(*a->resp));
		return admin_error(a, "cannot read the CAPF certificates from the store");
	}
	if ((tls = admin_tls_current(a->sd)) != NULL) {
		admin_put_cert(a, CAPF_IPC_CERT_TLS, tls, -1, NULL, NULL);
		X509_free(tls);
	}
	return 0;
}

int
admin_trust_export(struct admin_req *a)
{
	uint8_t target = 0;
	X509 *tls = NULL;

	capf_ipc_get_u8(a->req, CAPF_IPC_T_TARGET, &target);
	if (target == CAPF_IPC_TRUST_ITL || target == CAPF_IPC_TRUST_ALL) {
		tls = admin_tls_current(a->sd);
		if (tls == NULL && target == CAPF_IPC_TRUST_ITL)
			return admin_refuse(a, "no CAPF TLS certificate recorded: issue one with "
					    "`capfctl tls issue`");
	}
	if (admin_ok(a) != 0) {
		X509_free(tls);
		return -1;
	}
	if (tls) {
		admin_put_cert(a, CAPF_IPC_CERT_TLS, tls, -1, NULL, NULL);
		X509_free(tls);
	}
	if (target != CAPF_IPC_TRUST_ITL && put_store_certs(a, 1, 0) != 0) {
		capf_ipc_builder_free(a->resp);
		memset(a->resp, 0, sizeof(*a->resp));
		return admin_error(a, "cannot read the CAPF certificates from the store");
	}
	signerd_audit(a->sd, a->peer, "trust.export", capf_ipc_trust_target_name(target), "exported");
	return 0;
}

/* ---- files --------------------------------------------------------------- */

static int
pem_of(X509 *x, STACK_OF(X509) *chain, char **out, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int i, ok = b != NULL;

	if (ok && x)
		ok = PEM_write_bio_X509(b, x) == 1;
	for (i = 0; ok && chain && i < sk_X509_num(chain); i++)
		ok = PEM_write_bio_X509(b, sk_X509_value(chain, i)) == 1;
	if (!ok) {
		BIO_free(b);
		return -1;
	}
	n = BIO_get_mem_data(b, &p);
	*out = malloc((size_t)n + 1);
	if (*out == NULL) {
		BIO_free(b);
		return -1;
	}
	memcpy(*out, p, (size_t)n);
	(*out)[n] = '\0';
	*len = (size_t)n;
	BIO_free(b);
	return 0;
}

int
admin_ca_files_write(struct signerd *sd, X509 *cert, STACK_OF(X509) *chain,
		     char *err, size_t errlen)
{
	const char *path = sd->conf.ca.certificate;
	unsigned char *old = NULL;
	size_t oldlen = 0, len;
	char *pem = NULL, e[512], keep[CAPF_CONF_STR_MAX + 32], chainpath[CAPF_CONF_STR_MAX + 8];
	int rc = -1;

	if (path[0] == '\0')
		return 0;
	/* keep the outgoing certificate next to it: <path>.previous-<fp8> */
	if (capf_file_read(path, CAPF_CA_PEM_MAX, &old, &oldlen, e, sizeof(e)) == 0) {
		BIO *b = BIO_new_mem_buf(old, (int)oldlen);
		X509 *ox = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		char fp[SIGNERD_FP_HEX_LEN + 1];

		ERR_clear_error();
		if (ox && signerd_cert_fp(ox, fp) == 0) {
			snprintf(keep, sizeof(keep), "%s.previous-%.8s", path, fp);
			if (admin_file_put(keep, old, oldlen, 1, e, sizeof(e)) != 0 &&
			    access(keep, F_OK) != 0) {
				snprintf(err, errlen, "cannot keep the outgoing CA certificate: %s", e);
				X509_free(ox);
				BIO_free(b);
				goto out;
			}
		}
		X509_free(ox);
		BIO_free(b);
	}
	if (pem_of(cert, NULL, &pem, &len) != 0) {
		snprintf(err, errlen, "cannot encode the certificate");
		goto out;
	}
	if (admin_file_put(path, pem, len, 0, e, sizeof(e)) != 0) {
		snprintf(err, errlen, "%s", e);
		goto out;
	}
	free(pem);
	pem = NULL;
	if (chain && sk_X509_num(chain) > 0) {
		if (sd->conf.ca.chain[0])
			snprintf(chainpath, sizeof(chainpath), "%s", sd->conf.ca.chain);
		else
			snprintf(chainpath, sizeof(chainpath), "%s.chain", path);
		if (pem_of(NULL, chain, &pem, &len) != 0 ||
		    admin_file_put(chainpath, pem, len, 0, e, sizeof(e)) != 0) {
			snprintf(err, errlen, "%s: %s", chainpath, e);
			goto out;
		}
	}
	rc = 0;
out:
	free(pem);
	free(old);
	return rc;
}

/* ---- publishing a new CA --------------------------------------------------- */

/* Records nca (certificate x) as active in the store, writes the files,
 * swaps it in, audits; answers with the new CAPF_CERT. Takes nca. */
static int
publish(struct admin_req *a, struct signerd_ca *nca, const char *action, const char *old_fp,
	long old_lscs)
{
	X509 *x = capf_ca_cert(nca->ca);
	STACK_OF(X509) *chain;
	char key_uri[CAPF_CONF_STR_MAX];
	struct capf_store_cert sc;
	unsigned char *der = NULL;
	char err[768], ferr[768] = "";
	int n, rc;

	memset(&sc, 0, sizeof(sc));
	if ((n = i2d_X509(x, &der)) <= 0) {
		signerd_ca_put(nca);
		return admin_error(a, "cannot encode the new CAPF CA certificate");
	}
	snprintf(sc.fp, sizeof(sc.fp), "%s", nca->fp);
	sc.role = CAPF_CERT_ACTIVE;
	sc.der = der;
	sc.der_len = (size_t)n;
	snprintf(sc.key_uri, sizeof(sc.key_uri), "%s", nca->key_uri);
	sc.not_after = capf_ca_not_after(nca->ca);
	rc = capf_store_cert_add(a->sd->store, &sc, &a->who, err, sizeof(err));
	if (rc == CAPF_STORE_EXISTS)
		rc = capf_store_cert_set_role(a->sd->store, nca->fp, CAPF_CERT_ACTIVE, &a->who,
					      err, sizeof(err));
	OPENSSL_free(der);
	if (rc != 0) {
		signerd_ca_put(nca);
		return admin_store_fail(a, rc, err);
	}
	if (admin_ca_files_write(a->sd, x, capf_ca_chain(nca->ca), ferr, sizeof(ferr)) != 0)
		capf_log(LOG_WARNING, "ca_file_not_written", "path=%s why=\"%s\"",
			 a->sd->conf.ca.certificate, ferr);
	signerd_audit(a->sd, a->peer, action, nca->fp,
		      "key_uri=%s previous=%s previous_valid_lscs=%ld", nca->key_uri,
		      old_fp ? old_fp : "none", old_lscs);
	/* what the answer needs, before the daemon takes nca */
	snprintf(key_uri, sizeof(key_uri), "%s", nca->key_uri);
	X509_up_ref(x);
	chain = X509_chain_up_ref(capf_ca_chain(nca->ca));
	signerd_ca_replace(a->sd, nca);
	if (admin_ok(a) == 0) {
		admin_put_cert(a, CAPF_IPC_CERT_ACTIVE, x, 0, key_uri, chain);
		if (ferr[0]) {
			char t[2048];

			snprintf(t, sizeof(t), "the CA is active (recorded in the store) but %s could not "
				 "be rewritten: %s", a->sd->conf.ca.certificate, ferr);
			t[1023] = '\0';
			capf_ipc_put_str(a->resp, CAPF_IPC_T_TEXT, t);
		}
	}
	X509_free(x);
	sk_X509_pop_free(chain, X509_free);
	return 0;
}

/* "CN=x,O=y" (RFC 4514 order: the last RDN first) into a name; no escapes. */
X509_NAME *
admin_parse_subject(const char *s, char *err, size_t errlen)
{
	X509_NAME *nm = X509_NAME_new();
	char buf[1025], *parts[32], *p;
	int n = 0, i;

	if (strlen(s) >= sizeof(buf) || strchr(s, '\\') || strchr(s, '+')) {
		snprintf(err, errlen, "subject: plain \"CN=...,O=...\" without escapes or '+'");
		X509_NAME_free(nm);
		return NULL;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	for (p = strtok(buf, ","); p && n < 32; p = strtok(NULL, ","))
		parts[n++] = p;
	for (i = n - 1; i >= 0 && nm; i--) {
		char *eq = strchr(parts[i], '=');

		while (*parts[i] == ' ')
			parts[i]++;
		if (eq == NULL || eq == parts[i] || eq[1] == '\0' ||
		    (*eq = '\0', X509_NAME_add_entry_by_txt(nm, parts[i], MBSTRING_UTF8,
							    (unsigned char *)eq + 1, -1, -1, 0) != 1)) {
			snprintf(err, errlen, "subject: \"%s\" is not ATTRIBUTE=value with a known "
				 "attribute (CN, O, OU, L, ST, C)", parts[i]);
			X509_NAME_free(nm);
			nm = NULL;
		}
	}
	ERR_clear_error();
	if (nm && X509_NAME_entry_count(nm) == 0) {
		snprintf(err, errlen, "subject: empty");
		X509_NAME_free(nm);
		nm = NULL;
	}
	return nm;
}

/* ---- CAPF_REGENERATE --------------------------------------------------------- */

int
admin_capf_regenerate(struct admin_req *a)
{
	struct signerd *sd = a->sd;
	struct signerd_ca *g = NULL, *nca;
	struct p11_keyspec spec;
	struct p11_object *priv = NULL;
	struct p11_token *tok;
	struct capf_ca *ca = NULL;
	X509_NAME *name = NULL;
	EVP_PKEY *key = NULL, *pub = NULL;
	X509 *x = NULL;
	char err[768], label[64], uri[CAPF_CONF_STR_MAX], subj[1025], old_fp[SIGNERD_FP_HEX_LEN + 1];
	uint8_t kt;
	uint32_t bits = 0, days = CA_DAYS_DEFAULT;
	uint8_t curve;
	time_t now = time(NULL);
	struct tm tm;
	long old_lscs;
	int retry = 0, rc = 0;

	if (admin_need_confirm(a, "Regenerating the CAPF CA") != 0)
		return 0;
	if ((g = signerd_ca_get(sd)) == NULL)
		return admin_error(a, "no active CAPF CA");
	snprintf(old_fp, sizeof(old_fp), "%s", g->fp);
	old_lscs = admin_valid_lscs(sd, g->fp);
	memset(&spec, 0, sizeof(spec));
	if (capf_ipc_get_u8(a->req, CAPF_IPC_T_KEY_TYPE, &kt) == 0) {
		if (kt == CAPF_KEY_RSA) {
			spec.type = CKK_RSA;
			if (capf_ipc_get_u32(a->req, CAPF_IPC_T_RSA_BITS, &bits) != 0)
				bits = 2048;
			spec.bits = bits;
			if (bits != 2048 && bits != 3072 && bits != 4096) {
				rc = admin_refuse(a, "RSA %u: the CAPF CA key is RSA 2048, 3072 or 4096", bits);
				goto out;
			}
		} else {
			spec.type = CKK_EC;
			if (capf_ipc_get_u8(a->req, CAPF_IPC_T_CURVE, &curve) != 0)
				curve = CAPF_CURVE_P256;
			spec.curve_nid = capf_curve_nid(curve);
		}
	} else {
		/* the same kind of key as now */
		EVP_PKEY *cur = X509_get0_pubkey(capf_ca_cert(g->ca));
		char group[64];
		size_t gl;

		if (cur && EVP_PKEY_is_a(cur, "RSA")) {
			spec.type = CKK_RSA;
			spec.bits = (unsigned)EVP_PKEY_get_bits(cur);
		} else if (cur && EVP_PKEY_get_utf8_string_param(cur, "group", group, sizeof(group),
								  &gl) == 1) {
			spec.type = CKK_EC;
			spec.curve_nid = OBJ_sn2nid(group);
			if (spec.curve_nid == NID_undef)
				spec.curve_nid = OBJ_txt2nid(group);
		} else {
			spec.type = CKK_RSA;
			spec.bits = 2048;
		}
	}
	if (capf_ipc_get_u32(a->req, CAPF_IPC_T_VALIDITY_DAYS, &days) == 0 &&
	    (days < 1 || days > CA_DAYS_MAX)) {
		rc = admin_refuse(a, "validity: 1..%u days", CA_DAYS_MAX);
		goto out;
	}
	if (capf_ipc_get_str(a->req, CAPF_IPC_T_SUBJECT, subj, sizeof(subj)) == 0) {
		if ((name = admin_parse_subject(subj, err, sizeof(err))) == NULL) {
			rc = admin_refuse(a, "%s", err);
			goto out;
		}
	} else if ((name = X509_NAME_dup(X509_get_subject_name(capf_ca_cert(g->ca)))) == NULL) {
		rc = admin_error(a, "out of memory");
		goto out;
	}

	/* the key, inside the token */
	if ((tok = signerd_token(sd, &retry, err, sizeof(err))) == NULL) {
		rc = retry ? admin_retry(a, err) : admin_error(a, "token: %s", err);
		goto out;
	}
	gmtime_r(&now, &tm);
	strftime(label, sizeof(label), "capf-ca-%Y%m%d%H%M%S", &tm);
	if (p11_keygen(tok, &spec, label, NULL, 0, &priv, err, sizeof(err)) != P11_OK) {
		rc = admin_error(a, "generating the new CAPF CA key %s in the token: %s", label, err);
		goto out;
	}
	if (p11_object_uri(priv, uri, sizeof(uri)) != 0 ||
	    p11_object_public_key(priv, NULL, NULL, &pub, err, sizeof(err)) != P11_OK) {
		rc = admin_error(a, "the new key %s: %s", label, err);
		goto out;
	}
	if ((key = signerd_key_open(sd, uri, &retry, err, sizeof(err))) == NULL) {
		rc = admin_error(a, "opening the new key: %s", err);
		goto out;
	}

	/* the self-signed certificate */
	if ((x = X509_new()) == NULL || X509_set_version(x, 2) != 1 || admin_x509_serial(x) != 0 ||
	    X509_set_subject_name(x, name) != 1 || X509_set_issuer_name(x, name) != 1 ||
	    ASN1_TIME_set(X509_getm_notBefore(x), now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, &now) == NULL ||
	    X509_set_pubkey(x, pub) != 1 ||
	    admin_x509_ext(x, x, NULL, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") != 0 ||
	    admin_x509_ext(x, x, NULL, NID_key_usage, "critical,digitalSignature,keyCertSign") != 0 ||
	    admin_x509_ext(x, x, NULL, NID_subject_key_identifier, "hash") != 0 ||
	    admin_x509_ext(x, x, NULL, NID_authority_key_identifier, "keyid:always") != 0) {
		admin_ossl_err(err, sizeof(err));
		rc = admin_error(a, "building the CAPF CA certificate: %s", err);
		goto out;
	}
	if (admin_sign_x509(sd, x, key, err, sizeof(err)) != 0) {
		rc = admin_error(a, "%s", err);
		goto out;
	}
	if (X509_verify(x, pub) != 1) {
		admin_ossl_err(err, sizeof(err));
		rc = admin_error(a, "the new CAPF CA certificate does not verify: %s", err);
		goto out;
	}
	if (capf_ca_from_x509(x, NULL, time(NULL), &ca, err, sizeof(err)) != 0) {
		rc = admin_error(a, "the new CAPF CA certificate fails the policy: %s", err);
		goto out;
	}
	nca = signerd_ca_new(sd, ca, key, uri, err, sizeof(err));
	ca = NULL;
	key = NULL;
	if (nca == NULL) {
		rc = admin_error(a, "%s", err);
		goto out;
	}
	capf_log(LOG_NOTICE, "ca_regenerated", "fp=%s key_uri=%s previous=%s uid=%u", nca->fp, uri,
		 old_fp, (unsigned)a->peer->uid);
	rc = publish(a, nca, "capf.regenerate", old_fp, old_lscs);
out:
	if (priv)
		p11_object_free(priv);
	capf_ca_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(pub);
	X509_free(x);
	X509_NAME_free(name);
	signerd_ca_put(g);
	return rc;
}

/* ---- CAPF_CSR ------------------------------------------------------------------ */

int
admin_capf_csr(struct admin_req *a)
{
	struct signerd_ca *g;
	X509_REQ *req = NULL;
	X509_NAME *name = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509 *cert;
	X509V3_CTX ctx;
	X509_EXTENSION *e1, *e2;
	unsigned char *der = NULL;
	char err[768], subj[1025];
	int n, rc;

	if (capf_ipc_find(a->req, CAPF_IPC_T_KEY_TYPE, NULL))
		return admin_refuse(a, "a CSR is for the current CAPF CA key; for a new key, "
				    "`capfctl capf regenerate` first");
	if ((g = signerd_ca_get(a->sd)) == NULL)
		return admin_error(a, "no active CAPF CA");
	cert = capf_ca_cert(g->ca);
	if (capf_ipc_get_str(a->req, CAPF_IPC_T_SUBJECT, subj, sizeof(subj)) == 0) {
		if ((name = admin_parse_subject(subj, err, sizeof(err))) == NULL) {
			rc = admin_refuse(a, "%s", err);
			goto out;
		}
	} else {
		name = X509_NAME_dup(X509_get_subject_name(cert));
	}
	X509V3_set_ctx(&ctx, NULL, NULL, NULL, NULL, 0);
	e1 = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
	e2 = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage, "critical,digitalSignature,keyCertSign");
	if ((exts = sk_X509_EXTENSION_new_null()) == NULL || e1 == NULL || e2 == NULL ||
	    sk_X509_EXTENSION_push(exts, e1) <= 0 || (e1 = NULL, sk_X509_EXTENSION_push(exts, e2) <= 0) ||
	    (e2 = NULL, (req = X509_REQ_new()) == NULL) || name == NULL ||
	    X509_REQ_set_version(req, 0) != 1 ||
	    X509_REQ_set_subject_name(req, name) != 1 ||
	    X509_REQ_set_pubkey(req, X509_get0_pubkey(cert)) != 1 ||
	    X509_REQ_add_extensions(req, exts) != 1) {
		X509_EXTENSION_free(e1);
		X509_EXTENSION_free(e2);
		admin_ossl_err(err, sizeof(err));
		rc = admin_error(a, "building the CSR: %s", err);
		goto out;
	}
	if (admin_sign_req(a->sd, req, g->key, err, sizeof(err)) != 0) {
		rc = admin_error(a, "%s", err);
		goto out;
	}
	if (X509_REQ_verify(req, X509_get0_pubkey(cert)) != 1) {
		admin_ossl_err(err, sizeof(err));
		rc = admin_error(a, "the CSR does not verify: %s", err);
		goto out;
	}
	if ((n = i2d_X509_REQ(req, &der)) <= 0) {
		rc = admin_error(a, "cannot encode the CSR");
		goto out;
	}
	signerd_audit(a->sd, a->peer, "capf.csr", g->fp, "csr exported for key %s", g->key_uri);
	rc = admin_ok(a);
	if (rc == 0)
		capf_ipc_put_bytes(a->resp, CAPF_IPC_T_CSR, der, (size_t)n);
out:
	OPENSSL_free(der);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	X509_NAME_free(name);
	signerd_ca_put(g);
	return rc;
}

/* ---- CAPF_IMPORT -------------------------------------------------------------- */

int
admin_capf_import(struct admin_req *a)
{
	const struct capf_ipc_field *f = NULL;
	struct signerd_ca *g = NULL, *nca;
	STACK_OF(X509) *chain = NULL;
	struct capf_ca *ca = NULL;
	const uint8_t *p;
	size_t n;
	X509 *x = NULL;
	char err[1024], fp[SIGNERD_FP_HEX_LEN + 1], old_fp[SIGNERD_FP_HEX_LEN + 1];
	long old_lscs;
	int rc;

	if (admin_need_confirm(a, "Importing a CAPF CA certificate") != 0)
		return 0;
	if (capf_ipc_get_bytes(a->req, CAPF_IPC_T_CERT, &p, &n) != 0 || (x = der_x509(p, n)) == NULL)
		return admin_refuse(a, "the certificate does not parse (DER X.509 expected)");
	if ((chain = sk_X509_new_null()) == NULL) {
		X509_free(x);
		return admin_error(a, "out of memory");
	}
	while ((f = capf_ipc_find(a->req, CAPF_IPC_T_CHAIN_CERT, f)) != NULL) {
		X509 *cx = der_x509(f->val, f->len);

		if (cx == NULL || sk_X509_push(chain, cx) <= 0) {
			X509_free(cx);
			rc = admin_refuse(a, "a chain certificate does not parse");
			goto out;
		}
	}
	if ((g = signerd_ca_get(a->sd)) == NULL) {
		rc = admin_error(a, "no active CAPF CA");
		goto out;
	}
	if (signerd_cert_fp(x, fp) == 0 && strcasecmp(fp, g->fp) == 0) {
		rc = admin_refuse(a, "this certificate is the active CAPF CA already");
		goto out;
	}
	/* the key first: the clearest refusal for a certificate of another key */
	if (EVP_PKEY_eq(X509_get0_pubkey(x), X509_get0_pubkey(capf_ca_cert(g->ca))) != 1) {
		ERR_clear_error();
		signerd_audit(a->sd, a->peer, "refused", "capf.import", "fp=%s: not the token key", fp);
		rc = admin_refuse(a, "refused: the certificate's public key is not the CAPF CA key in "
				  "the token (%s); import the certificate issued for the CSR from "
				  "`capfctl capf csr`", g->key_uri);
		goto out;
	}
	if (capf_ca_from_x509(x, chain, time(NULL), &ca, err, sizeof(err)) != 0) {
		signerd_audit(a->sd, a->peer, "refused", "capf.import", "fp=%s: %s", fp, err);
		rc = admin_refuse(a, "refused: %s", err);
		goto out;
	}
	if (!EVP_PKEY_up_ref(g->key)) {
		rc = admin_error(a, "out of memory");
		goto out;
	}
	nca = signerd_ca_new(a->sd, ca, g->key, g->key_uri, err, sizeof(err));
	ca = NULL;
	if (nca == NULL) {
		rc = admin_refuse(a, "refused: %s", err);
		goto out;
	}
	snprintf(old_fp, sizeof(old_fp), "%s", g->fp);
	old_lscs = admin_valid_lscs(a->sd, g->fp);
	capf_log(LOG_NOTICE, "ca_imported", "fp=%s key_uri=%s previous=%s chain=%d uid=%u", nca->fp,
		 nca->key_uri, old_fp, sk_X509_num(chain), (unsigned)a->peer->uid);
	rc = publish(a, nca, "capf.import", old_fp, old_lscs);
out:
	capf_ca_free(ca);
	sk_X509_pop_free(chain, X509_free);
	X509_free(x);
	signerd_ca_put(g);
	return rc;
}

/* ---- AUDIT_VERIFY, STATS ---------------------------------------------------------- */

int
admin_audit_verify(struct admin_req *a)
{
	int64_t bad = 0;
	uint64_t rows = 0;
	char err[768];
	int rc;

	err[0] = '\0';
	rc = capf_store_audit_verify(a->sd->store, &bad, &rows, err, sizeof(err));
	if (rc != 0 && bad <= 0)
		return admin_error(a, "cannot verify the audit trail: %s", err);
	if (admin_ok(a) != 0)
		return -1;
	capf_ipc_put_u32(a->resp, CAPF_IPC_T_COUNT, rows > UINT32_MAX ? UINT32_MAX : (uint32_t)rows);
	if (rc != 0) {
		capf_ipc_put_u64(a->resp, CAPF_IPC_T_AUDIT_ROW, (uint64_t)bad);
		capf_ipc_put_str(a->resp, CAPF_IPC_T_TEXT, err);
		capf_log(LOG_CRIT, "audit_broken", "row=%lld uid=%u", (long long)bad,
			 (unsigned)a->peer->uid);
	}
	return 0;
}

int
admin_stats(struct admin_req *a)
{
	struct signerd_stats s;
	const char *names[] = {
		"connections", "peers_refused", "requests", "protocol_errors", "begins",
		"refusals", "issued", "retry_later", "sign_failures", "sessions_active",
	};
	uint64_t v[10];
	size_t i;

	signerd_stats_get(a->sd, &s);
	v[0] = s.connections; v[1] = s.peers_refused; v[2] = s.requests;
	v[3] = s.protocol_errors; v[4] = s.begins; v[5] = s.refusals; v[6] = s.issued;
	v[7] = s.retry_later; v[8] = s.sign_failures; v[9] = s.sessions_active;
	if (admin_ok(a) != 0)
		return -1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		capf_ipc_nest_begin(a->resp, CAPF_IPC_T_STAT);
		capf_ipc_put_str(a->resp, CAPF_IPC_T_STAT_NAME, names[i]);
		capf_ipc_put_u64(a->resp, CAPF_IPC_T_STAT_VALUE, v[i]);
		capf_ipc_nest_end(a->resp);
	}
	return 0;
}
