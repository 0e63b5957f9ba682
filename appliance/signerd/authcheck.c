/*
 * appliance/signerd/authcheck.c: the signer's own verification of a phone's
 * authentication evidence (a compromised front end must not obtain a
 * certificate for a device that did not prove itself):
 *   By Null String            nothing to check;
 *   By Authentication String  scrypt hash from the store, constant-time compare;
 *   By Existing Certificate   the certificate chains to the CAPF CA (active or
 *                             previous: an LSC) or to a manufacturing CA
 *                             (mic.ca_dir: a MIC), in the device's precedence;
 *                             it names the device; an LSC must also be the
 *                             device's current LSC in the store (issued or
 *                             delivered: not superseded nor deleted) and have
 *                             the LSC profile; SIGNED_DATA and SHA2_SIGNED_DATA
 *                             prove possession of its key over
 *                             DEVICE_NAME | 0x00 | certificate DER (possession.c);
 *   SUDI_DATA (when sent)     the SUDI certificate chains to a manufacturing CA
 *                             (or, when the phone authenticated with its LSC, is
 *                             a current LSC of the device, as some clients sign
 *                             SUDI_DATA with their LSC) and its signatures cover
 *                             this CAPF session id, which the signer chose
 *                             (front.c): a SUDI signature made for another
 *                             session is a replay;
 *   auth.require_sudi         the modes listed refuse evidence without SUDI_DATA.
 * Each refusal carries the Cisco cause of what failed: Invalid LSC, Invalid MIC
 * (by the certificate that failed), Invalid Authentication String, Invalid
 * Credentials (SUDI with By Null String / By Authentication String).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "appliance/capf/evidence.h"
#include "appliance/capf/proto.h"
#include "appliance/common/log.h"
#include "appliance/signerd/possession.h"
#include "appliance/signerd/replay.h"
#include "appliance/signerd/signerd_int.h"
#include "policy/decide.h"

#define AUTH_DATA_MAX (CAPF_DEVICE_NAME_MAX + 1 + 16384)

/* Verifies leaf against trust (anchors; partial chains allowed: a CAPF CA may
 * be an intermediate of a third-party CA). 0 or -1 with the reason. */
static int chain_ok(X509_STORE *trust, X509 *leaf, char *why, size_t whylen)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok;

	if (ctx == NULL || !X509_STORE_CTX_init(ctx, trust, leaf, NULL)) {
		X509_STORE_CTX_free(ctx);
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN);
	ok = X509_verify_cert(ctx) == 1;
	if (!ok)
		snprintf(why, whylen, "%s", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return ok ? 0 : -1;
}

struct lsc_trust_walk {
	X509_STORE *st;
	unsigned n;
};

static int add_capf_cert(const struct capf_store_cert *c, void *arg)
{
	struct lsc_trust_walk *w = arg;
	const unsigned char *p = c->der;
	X509 *x;

	if (c->role != CAPF_CERT_ACTIVE && c->role != CAPF_CERT_PREVIOUS)
		return 0;
	if ((x = d2i_X509(NULL, &p, (long)c->der_len)) == NULL)
		return 0;
	if (X509_STORE_add_cert(w->st, x) == 1)
		w->n++;
	X509_free(x);
	ERR_clear_error();
	return 0;
}

/* The CAPF CA certificates an LSC may chain to: the running generation and
 * every active/previous one in the store. */
static X509_STORE *lsc_trust(struct signerd *sd, char *why, size_t whylen)
{
	struct lsc_trust_walk w = { X509_STORE_new(), 0 };
	struct signerd_ca *g;
	char err[256];

	if (w.st == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	if ((g = signerd_ca_get(sd)) != NULL) {
		if (X509_STORE_add_cert(w.st, capf_ca_cert(g->ca)) == 1)
			w.n++;
		signerd_ca_put(g);
	}
	ERR_clear_error();
	if (capf_store_cert_list(sd->store, add_capf_cert, &w, err, sizeof(err)) != 0) {
		snprintf(why, whylen, "reading the CAPF certificates: %s", err);
		X509_STORE_free(w.st);
		return NULL;
	}
	return w.st;
}

/* Does cert name the device? CN equal, or a SAN URI/DNS equal; for a MIC the
 * CN may also end in "-<name>" (Cisco's "CP-8865-SEP0123456789AB"). */
static int names_device(X509 *cert, const char *name, int mic)
{
	X509_NAME *subj = X509_get_subject_name(cert);
	GENERAL_NAMES *sans;
	size_t nl = strlen(name);
	int idx = -1, found = 0;

	while (!found && (idx = X509_NAME_get_index_by_NID(subj, NID_commonName, idx)) >= 0) {
		ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx));
		const unsigned char *d = ASN1_STRING_get0_data(s);
		size_t l = (size_t)ASN1_STRING_length(s);

		if (memchr(d, 0, l) != NULL)
			continue;
		if (l == nl && memcmp(d, name, nl) == 0)
			found = 1;
		else if (mic && l > nl + 1 && d[l - nl - 1] == '-' && memcmp(d + l - nl, name, nl) == 0)
			found = 1;
	}
	sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; !found && sans != NULL && i < sk_GENERAL_NAME_num(sans); i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
		ASN1_STRING *s = NULL;

		if (gn->type == GEN_URI)
			s = gn->d.uniformResourceIdentifier;
		else if (gn->type == GEN_DNS)
			s = gn->d.dNSName;
		if (s != NULL && (size_t)ASN1_STRING_length(s) == nl &&
		    memcmp(ASN1_STRING_get0_data(s), name, nl) == 0)
			found = 1;
	}
	GENERAL_NAMES_free(sans);
	ERR_clear_error();
	return found;
}

/* An LSC is accepted only with the LSC profile (an end entity for client
 * authentication: CA:FALSE, extendedKeyUsage clientAuth) and while the store
 * holds it, byte for byte, as the device's current LSC (issued or delivered;
 * superseded and deleted ones are refused). 0, -1 with why, -2 store error. */
static int lsc_current(struct signerd *sd, const char *name, X509 *cert, char *why, size_t whylen)
{
	struct capf_store_issuance is;
	EXTENDED_KEY_USAGE *eku;
	unsigned char *der = NULL;
	char serial[CAPF_STORE_SERIAL_HEX_MAX + 1] = "", err[256];
	int dl, client = 0, r, rc = -1;

	if (X509_check_ca(cert) != 0) {
		snprintf(why, whylen, "%s: the LSC is a CA certificate, not an LSC", name);
		return -1;
	}
	eku = X509_get_ext_d2i(cert, NID_ext_key_usage, NULL, NULL);
	for (int i = 0; eku != NULL && i < sk_ASN1_OBJECT_num(eku); i++)
		if (OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == NID_client_auth)
			client = 1;
	EXTENDED_KEY_USAGE_free(eku);
	if (!client) {
		snprintf(why, whylen,
			 "%s: the certificate does not have the LSC profile "
			 "(extendedKeyUsage clientAuth)",
			 name);
		ERR_clear_error();
		return -1;
	}
	if (signerd_serial_hex(cert, serial, sizeof(serial)) != 0) {
		snprintf(why, whylen, "%s: the LSC's serial number is unusable", name);
		return -1;
	}
	memset(&is, 0, sizeof(is));
	r = capf_store_issuance_get(sd->store, serial, &is, err, sizeof(err));
	if (r == CAPF_STORE_NOTFOUND) {
		snprintf(why, whylen, "%s: the LSC (serial %s) was not issued by this CAPF", name, serial);
		return -1;
	}
	if (r != 0) {
		snprintf(why, whylen, "%s: reading the LSC's issuance: %s", name, err);
		return -2;
	}
	dl = i2d_X509(cert, &der);
	if (strcasecmp(is.device, name) != 0)
		snprintf(why, whylen, "%s: the LSC (serial %s) was issued to another device", name, serial);
	else if (is.state != CAPF_ISS_ISSUED && is.state != CAPF_ISS_DELIVERED)
		snprintf(why, whylen, "%s: the LSC (serial %s) is %s, no longer the device's current LSC", name,
			 serial, capf_store_issuance_state_name(is.state));
	else if (dl <= 0 || (size_t)dl != is.der_len || memcmp(der, is.der, is.der_len) != 0)
		snprintf(why, whylen, "%s: the LSC (serial %s) is not the certificate this CAPF issued", name,
			 serial);
	else
		rc = 0;
	OPENSSL_free(der);
	capf_store_issuance_clear(&is);
	ERR_clear_error();
	return rc;
}

/* The proofs over data with cert's key: every signature sent must verify;
 * at least one must be sent. */
static int proofs_ok(EVP_PKEY *pk, const unsigned char *data, size_t len, const struct signerd_evidence *ev,
		     char *why, size_t whylen)
{
	char e[256];

	if (ev->signed_data == NULL && ev->sha2_sig == NULL) {
		snprintf(why, whylen, "no SIGNED_DATA nor SHA2_SIGNED_DATA with the certificate");
		return -1;
	}
	if (ev->signed_data != NULL &&
	    signerd_pop_verify(pk, EVP_sha1(), data, len, ev->signed_data, ev->signed_len, e, sizeof(e)) != 0) {
		snprintf(why, whylen, "SIGNED_DATA: %.200s", e);
		return -1;
	}
	if (ev->sha2_sig != NULL) {
		const EVP_MD *md = signerd_pop_md((unsigned)ev->sha2_hash);

		if (md == NULL || ev->sha2_hash == 1) {
			snprintf(why, whylen, "SHA2_SIGNED_DATA: hash id %d not accepted (2 or 3)",
				 ev->sha2_hash);
			return -1;
		}
		if (signerd_pop_verify(pk, md, data, len, ev->sha2_sig, ev->sha2_len, e, sizeof(e)) != 0) {
			snprintf(why, whylen, "SHA2_SIGNED_DATA: %.200s", e);
			return -1;
		}
	}
	return 0;
}

static int check_cert(struct signerd *sd, const char *name, enum capf_auth_mode mode,
		      const struct signerd_evidence *ev, enum capf_fail_cause *cause, int *is_lsc, char *why,
		      size_t whylen)
{
	struct signerd_core *c = signerd_core(sd);
	const unsigned char *p = ev->cert;
	unsigned char data[AUTH_DATA_MAX];
	X509_STORE *lsc = NULL;
	X509 *cert = NULL;
	char e_lsc[256] = "not tried", e_mic[256] = "no manufacturing CAs (mic.ca_dir)";
	const char *kind = NULL;
	size_t nl = strlen(name), len;
	int rc = -1, cur;

	*cause = capf_auth_fail_cause(mode);
	if (ev->cert_type == CAPF_CERT_LSC)
		*cause = CAPF_FAIL_INVALID_LSC;
	else if (ev->cert_type == CAPF_CERT_MIC)
		*cause = CAPF_FAIL_INVALID_MIC;
	if (ev->cert == NULL) {
		snprintf(why, whylen, "%s: By Existing Certificate, but no CERTIFICATE was sent", name);
		return -1;
	}
	if ((cert = d2i_X509(NULL, &p, (long)ev->cert_len)) == NULL || p != ev->cert + ev->cert_len) {
		snprintf(why, whylen, "%s: CERTIFICATE is not one DER certificate", name);
		goto out;
	}
	if ((lsc = lsc_trust(sd, why, whylen)) == NULL) {
		*cause = CAPF_FAIL_CA_COMMUNICATION;
		rc = -2;
		goto out;
	}
	/* Which kind it is: the trust anchor it chains to, in the device's precedence. */
	for (int pass = 0; pass < 2 && kind == NULL; pass++) {
		int try_lsc = (mode == CAPF_AUTH_MIC_FIRST) ? pass == 1 : pass == 0;

		if (try_lsc) {
			if (chain_ok(lsc, cert, e_lsc, sizeof(e_lsc)) == 0)
				kind = "LSC";
		} else if (c->mic_store != NULL) {
			if (chain_ok(c->mic_store, cert, e_mic, sizeof(e_mic)) == 0)
				kind = "MIC";
		}
	}
	if (kind == NULL) {
		snprintf(why, whylen,
			 "%s: the certificate chains neither to a CAPF CA (%s) nor to a "
			 "manufacturing CA (%s)",
			 name, e_lsc, e_mic);
		goto out;
	}
	*cause = kind[0] == 'L' ? CAPF_FAIL_INVALID_LSC : CAPF_FAIL_INVALID_MIC;
	*is_lsc = kind[0] == 'L';
	if (!names_device(cert, name, kind[0] == 'M')) {
		snprintf(why, whylen, "%s: the %s does not name the device (subject CN / SAN)", name, kind);
		goto out;
	}
	if (kind[0] == 'L' && (cur = lsc_current(sd, name, cert, why, whylen)) != 0) {
		if (cur == -2) {
			*cause = CAPF_FAIL_CA_COMMUNICATION;
			rc = -2;
		}
		goto out;
	}
	len = nl + 1 + ev->cert_len;
	if (len > sizeof(data)) {
		snprintf(why, whylen, "%s: certificate too large", name);
		goto out;
	}
	memcpy(data, name, nl);
	data[nl] = 0x00;
	memcpy(data + nl + 1, ev->cert, ev->cert_len);
	if (proofs_ok(X509_get0_pubkey(cert), data, len, ev, e_lsc, sizeof(e_lsc)) != 0) {
		snprintf(why, whylen, "%s: %s proof of possession: %s", name, kind, e_lsc);
		goto out;
	}
	snprintf(why, whylen, "%s: %s verified", name, kind);
	rc = 0;
out:
	X509_STORE_free(lsc);
	X509_free(cert);
	ERR_clear_error();
	return rc;
}

/* lsc_ok: the phone authenticated with its LSC, so SUDI_DATA made with a
 * current LSC of the device is accepted too. 0, -1, -2 (store error). */
static int check_sudi(struct signerd *sd, const char *name, const struct signerd_evidence *ev, int lsc_ok,
		      char *why, size_t whylen)
{
	struct signerd_core *c = signerd_core(sd);
	static const unsigned char ids[] = { CAPF_HASH_SHA1, CAPF_HASH_SHA256, CAPF_HASH_SHA512 };
	unsigned char data[4 + 16384];
	struct capf_sudi s;
	const unsigned char *p;
	X509 *cert = NULL;
	char e[256];
	int n, rc = -1;

	if (capf_sudi_parse(ev->sudi, ev->sudi_len, &s, e, sizeof(e)) != 0) {
		snprintf(why, whylen, "%s: SUDI_DATA: %s", name, e);
		return -1;
	}
	p = s.cert;
	if ((cert = d2i_X509(NULL, &p, (long)s.cert_len)) == NULL || p != s.cert + s.cert_len) {
		snprintf(why, whylen, "%s: SUDI_DATA: the certificate is not one DER certificate", name);
		goto out;
	}
	if (c->mic_store == NULL && !lsc_ok) {
		snprintf(why, whylen,
			 "%s: SUDI_DATA sent but no manufacturing CAs are configured "
			 "(mic.ca_dir) to check it against",
			 name);
		goto out;
	}
	if (c->mic_store == NULL || chain_ok(c->mic_store, cert, e, sizeof(e)) != 0) {
		X509_STORE *lsc;
		char e2[256];
		int r;

		if (!lsc_ok) {
			snprintf(why, whylen, "%s: SUDI certificate: %s", name, e);
			goto out;
		}
		/* made with the LSC: the same checks as the LSC itself */
		if ((lsc = lsc_trust(sd, why, whylen)) == NULL) {
			rc = -2;
			goto out;
		}
		r = chain_ok(lsc, cert, e2, sizeof(e2));
		X509_STORE_free(lsc);
		if (r != 0) {
			snprintf(why, whylen,
				 "%s: SUDI certificate chains neither to a manufacturing CA (%.120s) "
				 "nor to a CAPF CA (%.120s)",
				 name, c->mic_store != NULL ? e : "none configured", e2);
			goto out;
		}
		if (!names_device(cert, name, 0)) {
			snprintf(why, whylen, "%s: SUDI certificate: an LSC that does not name the device",
				 name);
			goto out;
		}
		if ((r = lsc_current(sd, name, cert, e2, sizeof(e2))) != 0) {
			snprintf(why, whylen, "SUDI certificate: %.240s", e2);
			rc = r;
			goto out;
		}
	}
	if ((n = capf_sudi_signed_data(ev->capf_session, s.cert, s.cert_len, data, sizeof(data))) < 0) {
		snprintf(why, whylen, "%s: SUDI certificate too large", name);
		goto out;
	}
	for (size_t i = 0; i < sizeof(ids); i++) {
		if (s.sig[ids[i]] == NULL)
			continue;
		if (signerd_pop_verify(X509_get0_pubkey(cert), signerd_pop_md(ids[i]), data, (size_t)n,
				       s.sig[ids[i]], s.sig_len[ids[i]], e, sizeof(e)) != 0) {
			snprintf(why, whylen,
				 "%s: SUDI signature (hash id %u) does not cover CAPF session "
				 "%u (replayed from another session?): %s",
				 name, ids[i], ev->capf_session, e);
			goto out;
		}
	}
	rc = 0;
out:
	X509_free(cert);
	ERR_clear_error();
	return rc;
}

/* 0 verified, -1 refused, -2 could not be checked (the token's HMAC failed). */
static int check_string(struct signerd *sd, const struct capf_store_device *dev,
			const struct signerd_evidence *ev, char *why, size_t whylen)
{
	char pw[CAPF_AUTHHASH_SECRET_MAX + 1], e[256];
	int v;

	if (!ev->has_password || ev->password_len == 0) {
		snprintf(why, whylen, "%s: no authentication string was sent", dev->dev.name);
		return -1;
	}
	if (!dev->has_auth) {
		snprintf(why, whylen, "%s: no authentication string is set for the device", dev->dev.name);
		return -1;
	}
	if (ev->password_len > CAPF_AUTHHASH_SECRET_MAX) {
		snprintf(why, whylen, "%s: authentication string too long", dev->dev.name);
		return -1;
	}
	memcpy(pw, ev->password, ev->password_len);
	pw[ev->password_len] = '\0';
	v = capf_authhash_verify_mac(&dev->auth, pw, ev->password_len, signerd_auth_mac(sd), e, sizeof(e));
	OPENSSL_cleanse(pw, sizeof(pw));
	if (v == 1)
		return 0;
	if (v < 0 && dev->auth.kdf == CAPF_AUTHHASH_KDF_HMAC) {
		/* not the phone's fault: never counted as a failed attempt */
		snprintf(why, whylen, "%s: the authentication string cannot be checked: %s", dev->dev.name, e);
		return -2;
	}
	if (v < 0)
		snprintf(why, whylen, "%s: stored authentication hash unusable: %s", dev->dev.name, e);
	else
		snprintf(why, whylen, "%s: wrong authentication string", dev->dev.name);
	return -1;
}

/* One replay cache key: SHA-256(kind | signature). */
static void replay_key(struct signerd_evidence *ev, unsigned char kind, const uint8_t *sig, size_t len)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned n = 0;

	if (ev->n_replay >= sizeof(ev->replay_keys) / sizeof(ev->replay_keys[0]) || sig == NULL || len == 0)
		goto out;
	if (c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) && EVP_DigestUpdate(c, &kind, 1) &&
	    EVP_DigestUpdate(c, sig, len) && EVP_DigestFinal_ex(c, ev->replay_keys[ev->n_replay], &n) &&
	    n == 32)
		ev->n_replay++;
out:
	EVP_MD_CTX_free(c);
}

/* The signatures that verified, into the replay cache (for installs: the
 * only operation that issues a certificate; a phone proves itself with the
 * same LSC for a Troubleshoot, a Delete and its next Install): 0, or -1 when
 * one was seen before. With SUDI_DATA, its signatures (over the signer's session id)
 * are what must be new: a phone's RSA certificate proof is deterministic and
 * repeats on each of its sessions, so it is remembered but not checked.
 * Without SUDI_DATA the certificate proof itself must be new. */
static int replay_check(struct signerd *sd, struct signerd_evidence *ev, int cert_checked)
{
	struct signerd_replay *r = signerd_core(sd)->replay;
	struct capf_sudi su;
	char e[128];

	ev->n_replay = ev->n_replay_checked = 0;
	if (ev->sudi != NULL && capf_sudi_parse(ev->sudi, ev->sudi_len, &su, e, sizeof(e)) == 0)
		for (unsigned i = 0; i < sizeof(su.sig) / sizeof(su.sig[0]); i++)
			replay_key(ev, (unsigned char)(3 + i), su.sig[i], su.sig_len[i]);
	if (ev->sudi != NULL)
		ev->n_replay_checked = ev->n_replay;
	if (cert_checked) {
		replay_key(ev, 1, ev->signed_data, ev->signed_len);
		replay_key(ev, 2, ev->sha2_sig, ev->sha2_len);
	}
	if (ev->sudi == NULL)
		ev->n_replay_checked = ev->n_replay;
	if (r == NULL || ev->n_replay == 0)
		return 0;
	if (signerd_replay_check_add(r, (const uint8_t(*)[SIGNERD_REPLAY_KEY_LEN])ev->replay_keys,
				     ev->n_replay_checked, ev->n_replay) != 0) {
		ev->n_replay = ev->n_replay_checked = 0; /* nothing of ours to take out */
		return -1;
	}
	return 0;
}

int signerd_auth_check(struct signerd *sd, const struct capf_store_device *dev, enum capf_auth_mode mode,
		       struct signerd_evidence *ev, enum capf_fail_cause *cause, char *why, size_t whylen)
{
	const char *name = dev->dev.name;
	int rc = 0, is_lsc = 0;

	*cause = CAPF_FAIL_NONE;
	switch (mode) {
	case CAPF_AUTH_NULL:
		snprintf(why, whylen, "%s: By Null String", name);
		break;
	case CAPF_AUTH_STRING:
		if ((rc = check_string(sd, dev, ev, why, whylen)) != 0) {
			*cause = rc == -2 ? CAPF_FAIL_CA_COMMUNICATION : CAPF_FAIL_INVALID_AUTH_STRING;
			return rc;
		}
		snprintf(why, whylen, "%s: authentication string verified", name);
		break;
	case CAPF_AUTH_LSC_FIRST:
	case CAPF_AUTH_MIC_FIRST:
		if ((rc = check_cert(sd, name, mode, ev, cause, &is_lsc, why, whylen)) != 0)
			return rc;
		break;
	default:
		*cause = CAPF_FAIL_INVALID_CREDENTIALS;
		snprintf(why, whylen, "%s: unknown authentication mode", name);
		return -1;
	}
	/* What a SUDI failure is called: the certificate the phone authenticated with. */
	if (mode == CAPF_AUTH_LSC_FIRST || mode == CAPF_AUTH_MIC_FIRST)
		*cause = is_lsc ? CAPF_FAIL_INVALID_LSC : CAPF_FAIL_INVALID_MIC;
	else
		*cause = CAPF_FAIL_INVALID_CREDENTIALS;
	if (ev->sudi == NULL && (sd->conf.auth.require_sudi & (1u << mode))) {
		snprintf(why, whylen,
			 "%s: %s without SUDI_DATA, which auth.require_sudi requires in this "
			 "mode (a proof without it could be a replay)",
			 name, capf_auth_mode_cisco(mode));
		return -1;
	}
	if (ev->sudi != NULL) {
		char w2[512];

		if ((rc = check_sudi(sd, name, ev, is_lsc, w2, sizeof(w2))) != 0) {
			if (rc == -2)
				*cause = CAPF_FAIL_CA_COMMUNICATION;
			snprintf(why, whylen, "%s", w2);
			return rc;
		}
	}
	if (!ev->replay_exempt &&
	    replay_check(sd, ev, mode == CAPF_AUTH_LSC_FIRST || mode == CAPF_AUTH_MIC_FIRST) != 0) {
		snprintf(why, whylen,
			 "%s: this certificate proof was seen before (a replay: the phone's "
			 "signatures are new on every connection when it sends SUDI_DATA)",
			 name);
		return -1;
	}
	*cause = CAPF_FAIL_NONE;
	return 0;
}

/* The certificate of trust that issued cert, as a fingerprint ("" when none is found). */
static void issuer_fp(X509_STORE *trust, X509 *cert, char fp[SIGNERD_FP_HEX_LEN + 1])
{
	STACK_OF(X509) *all = X509_STORE_get1_all_certs(trust);

	fp[0] = '\0';
	for (int i = 0; all != NULL && i < sk_X509_num(all); i++)
		if (X509_check_issued(sk_X509_value(all, i), cert) == X509_V_OK &&
		    signerd_cert_fp(sk_X509_value(all, i), fp) == 0)
			break;
	sk_X509_pop_free(all, X509_free);
	ERR_clear_error();
}

int signerd_fetched_check(struct signerd *sd, const char *name, X509 *cert, char issuer[SIGNERD_FP_HEX_LEN + 1],
			  char *why, size_t whylen)
{
	struct signerd_core *c = signerd_core(sd);
	X509_STORE *lsc;
	char e_lsc[256] = "no CAPF CA", e_mic[256] = "no manufacturing CAs (mic.ca_dir)";
	const char *kind = NULL;
	int mic = 0;

	if ((lsc = lsc_trust(sd, why, whylen)) == NULL)
		return -1;
	issuer[0] = '\0';
	if (chain_ok(lsc, cert, e_lsc, sizeof(e_lsc)) == 0) {
		kind = "an LSC from a CAPF CA";
		issuer_fp(lsc, cert, issuer);
	} else if (c->mic_store != NULL && chain_ok(c->mic_store, cert, e_mic, sizeof(e_mic)) == 0) {
		kind = "a MIC from a manufacturing CA";
		issuer_fp(c->mic_store, cert, issuer);
		mic = 1;
	}
	X509_STORE_free(lsc);
	ERR_clear_error();
	if (kind == NULL) {
		snprintf(why, whylen,
			 "the certificate chains neither to a CAPF CA (%s) nor to a "
			 "manufacturing CA (%s)",
			 e_lsc, e_mic);
		return -1;
	}
	if (!names_device(cert, name, mic)) {
		snprintf(why, whylen, "the certificate (%s) does not name %s (subject CN / SAN)", kind, name);
		return -1;
	}
	snprintf(why, whylen, "%s naming the device", kind);
	return 0;
}
