/*
 * appliance/signerd/admin_capf.c: what the admin socket shows of the CAPF
 * certificates: CAPF_SHOW, TRUST_EXPORT (which certificate goes where) and
 * CAPF_CSR (a PKCS#10 request for the current CA key), and the helpers that
 * put CAPF_CERT records.
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
#include "appliance/common/x509.h"
#include "appliance/signerd/admin.h"
#include "policy/certlint.h"
#include "pkcs11/p11.h"
#include "policy/cacert.h"
#include "policy/chain.h"

#define SHOW_CERTS_MAX 24

static void put_key_params(struct capf_ipc_builder *b, EVP_PKEY *k)
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

int admin_put_cert(struct admin_req *a, int role, X509 *x, long lsc_count, const char *key_uri,
		   STACK_OF(X509) * chain)
{
	struct capf_ipc_builder *b = a->resp;
	unsigned char *der = NULL, fp[EVP_MAX_MD_SIZE];
	char subj[1025];
	int n, i;

	if ((n = i2d_X509(x, &der)) <= 0 || capf_x509_fp_raw(x, EVP_sha256(), fp) != 32) {
		OPENSSL_free(der);
		return -1;
	}
	capf_ipc_nest_begin(b, CAPF_IPC_T_CAPF_CERT);
	capf_ipc_put_u8(b, CAPF_IPC_T_CERT_ROLE, (uint8_t)role);
	capf_ipc_put_bytes(b, CAPF_IPC_T_CERT, der, (size_t)n);
	capf_ipc_put_str(b, CAPF_IPC_T_SUBJECT, capf_x509_subject(x, subj, sizeof(subj)));
	capf_ipc_put_bytes(b, CAPF_IPC_T_FINGERPRINT, fp, 32);
	capf_ipc_put_i64(b, CAPF_IPC_T_NOT_BEFORE, (int64_t)capf_x509_not_before(x));
	capf_ipc_put_i64(b, CAPF_IPC_T_NOT_AFTER, (int64_t)capf_x509_not_after(x));
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

X509 *admin_tls_current(struct signerd *sd)
{
	struct capf_store_issuance is;
	char err[256];
	X509 *x = NULL;

	memset(&is, 0, sizeof(is));
	if (capf_store_issuance_latest_for_device(sd->store, ADMIN_TLS_DEVICE, &is, err, sizeof(err)) == 0 &&
	    (is.state == CAPF_ISS_ISSUED || is.state == CAPF_ISS_DELIVERED))
		x = capf_x509_from_der(is.der, is.der_len);
	capf_store_issuance_clear(&is);
	return x;
}

long admin_valid_lscs(struct signerd *sd, const char *fp)
{
	unsigned long n = 0;
	char err[256];

	struct capf_store_issuance is;
	time_t now = time(NULL);

	if (capf_store_count_valid_lsc(sd->store, fp, now, &n, err, sizeof(err)) != 0)
		return -1;
	/* the CAPF TLS certificate is recorded as an issuance too: not a phone */
	memset(&is, 0, sizeof(is));
	if (n > 0 &&
	    capf_store_issuance_latest_for_device(sd->store, ADMIN_TLS_DEVICE, &is, err, sizeof(err)) == 0 &&
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
	STACK_OF(X509) * chain; /* recorded with it (empty: self-signed) */
	char key_uri[CAPF_STORE_KEY_URI_MAX + 1];
};
struct certrows {
	struct certrow r[SHOW_CERTS_MAX];
	int n;
};

static int collect_cb(const struct capf_store_cert *c, void *arg)
{
	struct certrows *rs = arg;
	struct certrow *r;

	if (rs->n >= SHOW_CERTS_MAX)
		return 1;
	r = &rs->r[rs->n];
	if ((r->x = capf_x509_from_der(c->der, c->der_len)) == NULL)
		return 0;
	if ((r->chain = signerd_chain_parse(c->chain, c->chain_len)) == NULL) {
		X509_free(r->x);
		return 0;
	}
	snprintf(r->fp, sizeof(r->fp), "%s", c->fp);
	snprintf(r->key_uri, sizeof(r->key_uri), "%s", c->key_uri);
	r->role = c->role;
	rs->n++;
	return 0;
}

static void rows_clear(struct certrows *rs)
{
	int i;

	for (i = 0; i < rs->n; i++) {
		X509_free(rs->r[i].x);
		sk_X509_pop_free(rs->r[i].chain, X509_free);
	}
	rs->n = 0;
}

/* Puts the CA certificates of the store, each with its chain: the active one,
 * previous ones (only those still holding valid LSCs when lsc_only), retired
 * ones when retired. */
static int put_store_certs(struct admin_req *a, int lsc_only, int retired)
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
		STACK_OF(X509) *chain = sk_X509_num(r->chain) > 0 ? r->chain : NULL;
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

int admin_capf_show(struct admin_req *a)
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

int admin_trust_export(struct admin_req *a)
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

/* ---- CAPF_CSR ------------------------------------------------------------------ */

int admin_capf_csr(struct admin_req *a)
{
	struct signerd_ca *g;
	X509_REQ *req = NULL;
	X509_NAME *name = NULL;
	X509 *cert;
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
		if ((name = capf_subject_parse(subj, err, sizeof(err))) == NULL) {
			rc = admin_refuse(a, "%s", err);
			goto out;
		}
	} else {
		name = X509_NAME_dup(X509_get_subject_name(cert));
	}
	/* policy's CA profile, asked for in the request (extensionRequest) */
	if (name == NULL ||
	    (req = capf_cacert_build_csr(NULL, name, X509_get0_pubkey(cert), err, sizeof(err))) == NULL) {
		rc = admin_error(a, "building the CSR: %s", name == NULL ? "out of memory" : err);
		goto out;
	}
	{
		X509_REQ *signed_req;
		int retry = 0;

		if (capf_req_preset_sigalg(req, X509_get0_pubkey(cert),
					   capf_cert_digest_for(X509_get0_pubkey(cert))) != 0) {
			rc = admin_error(a, "the CAPF CA's key type cannot sign a CSR");
			goto out;
		}
		if ((signed_req = signerd_key_sign_req(a->sd, g->slot, req, &retry, err, sizeof(err))) ==
		    NULL) {
			rc = retry ? admin_retry(a, err) : admin_error(a, "%s", err);
			goto out;
		}
		X509_REQ_free(req);
		req = signed_req;
	}
	if (X509_REQ_verify(req, X509_get0_pubkey(cert)) != 1) {
		capf_ossl_errors(err, sizeof(err));
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
	X509_REQ_free(req);
	X509_NAME_free(name);
	signerd_ca_put(g);
	return rc;
}
