/*
 * providers/signature.c: SIGNATURE for RSA (PKCS#1 v1.5 and PSS) and ECDSA.
 *
 * The message is hashed in software (in the provider's child library
 * context) and the token is called once: CKM_RSA_PKCS over DigestInfo||hash,
 * CKM_RSA_PKCS_PSS over the hash with the context's salt and MGF1 digest, or
 * CKM_ECDSA over the hash with the raw r||s turned into DER. SoftHSM 2.6's
 * multi-part CKM_ECDSA_SHA* is broken, so the token never hashes.
 * Verification, and any use of software keys, goes to the provider holding
 * the public (or software) key with the same parameters.
 */
#include <string.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/proverr.h>
#include <openssl/rsa.h>

#include "providers/capfhsm.h"
#include "providers/der.h"

enum sig_op { SIG_NONE, SIG_SIGN, SIG_VERIFY };

struct sigctx {
	struct chsm_prov *prov;
	enum chsm_keytype type; /* RSA or EC (ECDSA) */
	struct chsm_key *key;
	enum sig_op op;
	int pad; /* RSA_PKCS1_PADDING or RSA_PKCS1_PSS_PADDING */
	EVP_MD *md;
	EVP_MD *mgf1;      /* NULL: the message digest */
	int saltlen;       /* RSA_PSS_SALTLEN_* or bytes */
	EVP_MD_CTX *mdctx; /* digest-sign/verify */
	int updated;       /* data went in: the digest is fixed */
};

#define MD_NID(md) ((md) != NULL ? EVP_MD_get_type(md) : NID_undef)

static void *sig_newctx(void *provctx, const char *propq, enum chsm_keytype type)
{
	struct sigctx *c;

	if ((c = OPENSSL_zalloc(sizeof(*c))) == NULL)
		return NULL;
	c->prov = provctx;
	c->type = type;
	c->pad = RSA_PKCS1_PADDING;
	c->saltlen = RSA_PSS_SALTLEN_AUTO; /* as OpenSSL: max when signing, detected when verifying */
	return c;
}
static void *rsa_newctx(void *p, const char *q)
{
	return sig_newctx(p, q, CHSM_KEY_RSA);
}
static void *ecdsa_newctx(void *p, const char *q)
{
	return sig_newctx(p, q, CHSM_KEY_EC);
}

static void sig_freectx(void *vctx)
{
	struct sigctx *c = vctx;

	if (c == NULL)
		return;
	chsm_key_free(c->key);
	EVP_MD_free(c->md);
	EVP_MD_free(c->mgf1);
	EVP_MD_CTX_free(c->mdctx);
	OPENSSL_free(c);
}

/* OpenSSL 3.0 duplicates the context inside EVP_DigestSignFinal and friends. */
static void *sig_dupctx(void *vctx)
{
	struct sigctx *src = vctx, *c;

	if ((c = OPENSSL_memdup(src, sizeof(*src))) == NULL)
		return NULL;
	c->key = NULL;
	c->md = c->mgf1 = NULL;
	c->mdctx = NULL;
	if (src->key != NULL)
		c->key = chsm_key_ref(src->key);
	if ((src->md != NULL && !EVP_MD_up_ref(src->md)) || (src->mgf1 != NULL && !EVP_MD_up_ref(src->mgf1)))
		goto fail;
	c->md = src->md;
	c->mgf1 = src->mgf1;
	if (src->mdctx != NULL) {
		if ((c->mdctx = EVP_MD_CTX_new()) == NULL)
			goto fail;
		if (EVP_MD_CTX_get0_md(src->mdctx) != NULL && !EVP_MD_CTX_copy_ex(c->mdctx, src->mdctx))
			goto fail;
	}
	return c;
fail:
	sig_freectx(c);
	return NULL;
}

/* ---- digests and parameters --------------------------------------------- */

/* Signing: SHA-256/384/512 only. Verifying: also SHA-1 and SHA-224 (old certificates). */
static int md_allowed(const struct sigctx *c, int nid)
{
	if (chsm_md_can_sign(nid))
		return 1;
	return c->op == SIG_VERIFY && (nid == NID_sha1 || nid == NID_sha224);
}

static EVP_MD *fetch_md(struct sigctx *c, const char *name, const char *what)
{
	EVP_MD *md = EVP_MD_fetch(c->prov->libctx, name, CHSM_INTERNAL_PROPQ);

	if (md == NULL) {
		chsm_raise(PROV_R_INVALID_DIGEST, "unknown %s \"%s\"", what, name);
		return NULL;
	}
	if (!md_allowed(c, EVP_MD_get_type(md))) {
		chsm_raise(PROV_R_INVALID_DIGEST, "%s %s not allowed for %s: use SHA-256, SHA-384 or SHA-512",
			   what, name, c->op == SIG_VERIFY ? "verifying" : "signing");
		EVP_MD_free(md);
		return NULL;
	}
	return md;
}

static int set_md(struct sigctx *c, const char *name)
{
	EVP_MD *md;

	if (c->updated && c->md != NULL && EVP_MD_is_a(c->md, name))
		return 1;
	if (c->updated) {
		chsm_raise(PROV_R_DIGEST_NOT_ALLOWED, "the digest cannot change once data went in");
		return 0;
	}
	if ((md = fetch_md(c, name, "digest")) == NULL)
		return 0;
	EVP_MD_free(c->md);
	c->md = md;
	return 1;
}

static const char *pad_name(int pad)
{
	return pad == RSA_PKCS1_PSS_PADDING ? OSSL_PKEY_RSA_PAD_MODE_PSS : OSSL_PKEY_RSA_PAD_MODE_PKCSV15;
}

static int set_pad(struct sigctx *c, const OSSL_PARAM *p)
{
	int pad = 0;
	const char *s = NULL;

	if (p->data_type == OSSL_PARAM_UTF8_STRING) {
		if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
			return 0;
		if (strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) == 0)
			pad = RSA_PKCS1_PADDING;
		else if (strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PSS) == 0)
			pad = RSA_PKCS1_PSS_PADDING;
	} else if (!OSSL_PARAM_get_int(p, &pad)) {
		return 0;
	}
	if (pad != RSA_PKCS1_PADDING && pad != RSA_PKCS1_PSS_PADDING) {
		if (s != NULL)
			chsm_raise(PROV_R_INVALID_PADDING_MODE, "padding mode \"%s\": use pkcs1 or pss", s);
		else
			chsm_raise(PROV_R_INVALID_PADDING_MODE, "padding mode %d: use pkcs1 or pss", pad);
		return 0;
	}
	c->pad = pad;
	return 1;
}

static int set_saltlen(struct sigctx *c, const OSSL_PARAM *p)
{
	const char *s;
	int v;

	if (p->data_type == OSSL_PARAM_UTF8_STRING) {
		if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
			return 0;
		if (strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST) == 0) {
			v = RSA_PSS_SALTLEN_DIGEST;
		} else if (strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_MAX) == 0) {
			v = RSA_PSS_SALTLEN_MAX;
		} else if (strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_AUTO) == 0) {
			v = RSA_PSS_SALTLEN_AUTO;
		} else {
			char *end;
			long l = strtol(s, &end, 10);

			if (end == s || *end != '\0' || l < 0 || l > 1024) {
				chsm_raise(PROV_R_INVALID_SALT_LENGTH,
					   "PSS salt length \"%s\": use digest, max, auto or 0..1024", s);
				return 0;
			}
			v = (int)l;
		}
	} else if (!OSSL_PARAM_get_int(p, &v)) {
		return 0;
	}
	if (v < RSA_PSS_SALTLEN_MAX || v > 1024) {
		chsm_raise(PROV_R_INVALID_SALT_LENGTH, "PSS salt length %d not supported", v);
		return 0;
	}
	c->saltlen = v;
	return 1;
}

static int sig_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
	struct sigctx *c = vctx;
	const OSSL_PARAM *p;
	const char *s;

	if (c == NULL)
		return 0;
	if (params == NULL)
		return 1;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST)) != NULL &&
	    (!OSSL_PARAM_get_utf8_string_ptr(p, &s) || !set_md(c, s)))
		return 0;
	if (c->type != CHSM_KEY_RSA)
		return 1;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE)) != NULL && !set_pad(c, p))
		return 0;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN)) != NULL &&
	    !set_saltlen(c, p))
		return 0;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST)) != NULL) {
		EVP_MD *md;

		if (!OSSL_PARAM_get_utf8_string_ptr(p, &s) || (md = fetch_md(c, s, "MGF1 digest")) == NULL)
			return 0;
		EVP_MD_free(c->mgf1);
		c->mgf1 = md;
	}
	return 1;
}

static const OSSL_PARAM *rsa_settable_ctx_params(void *vctx, void *provctx)
{
	static const OSSL_PARAM p[] = { OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
					OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, NULL, 0),
					OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
					OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
					OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
					OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_PROPERTIES, NULL, 0),
					OSSL_PARAM_END };
	return p;
}

static const OSSL_PARAM *ecdsa_settable_ctx_params(void *vctx, void *provctx)
{
	static const OSSL_PARAM p[] = { OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
					OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, NULL, 0),
					OSSL_PARAM_END };
	return p;
}

static int mgf1_nid(const struct sigctx *c)
{
	return c->mgf1 != NULL ? EVP_MD_get_type(c->mgf1) : MD_NID(c->md);
}

/* The salt length in bytes for this key and digest, or -1 (error raised). */
static int resolved_saltlen(const struct sigctx *c)
{
	char err[CHSM_ERRLEN];
	int s = chsm_pss_saltlen(c->saltlen, c->key != NULL ? c->key->bits : 0, (size_t)EVP_MD_get_size(c->md),
				 err, sizeof(err));

	if (s < 0)
		chsm_raise(PROV_R_INVALID_SALT_LENGTH, "%s", err);
	return s;
}

static int sig_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
	struct sigctx *c = vctx;
	OSSL_PARAM *p;

	if (c == NULL)
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID)) != NULL && c->md != NULL) {
		unsigned char aid[CHSM_ALGID_MAX];
		char err[CHSM_ERRLEN];
		enum chsm_sig_scheme scheme = c->type == CHSM_KEY_EC          ? CHSM_SIG_ECDSA :
					      c->pad == RSA_PKCS1_PSS_PADDING ? CHSM_SIG_PSS :
										CHSM_SIG_PKCS1;
		int salt = 0;
		size_t n;

		if (scheme == CHSM_SIG_PSS && (salt = resolved_saltlen(c)) < 0)
			return 0;
		n = chsm_sig_algid(scheme, MD_NID(c->md), mgf1_nid(c), salt, aid, sizeof(aid), err,
				   sizeof(err));
		if (n == 0) {
			chsm_raise(PROV_R_INVALID_DIGEST, "%s", err);
			return 0;
		}
		if (!OSSL_PARAM_set_octet_string(p, aid, n))
			return 0;
	}
	if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST)) != NULL && c->md != NULL &&
	    !OSSL_PARAM_set_utf8_string(p, OBJ_nid2sn(MD_NID(c->md))))
		return 0;
	if (c->type != CHSM_KEY_RSA)
		return 1;
	if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE)) != NULL) {
		if (p->data_type == OSSL_PARAM_INTEGER ? !OSSL_PARAM_set_int(p, c->pad) :
							 !OSSL_PARAM_set_utf8_string(p, pad_name(c->pad)))
			return 0;
	}
	if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN)) != NULL) {
		if (p->data_type == OSSL_PARAM_INTEGER) {
			if (!OSSL_PARAM_set_int(p, c->saltlen))
				return 0;
		} else {
			char buf[16];
			const char *s = c->saltlen == RSA_PSS_SALTLEN_DIGEST ?
						OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST :
					c->saltlen == RSA_PSS_SALTLEN_MAX  ? OSSL_PKEY_RSA_PSS_SALT_LEN_MAX :
					c->saltlen == RSA_PSS_SALTLEN_AUTO ? OSSL_PKEY_RSA_PSS_SALT_LEN_AUTO :
									     NULL;
			if (s == NULL) {
				snprintf(buf, sizeof(buf), "%d", c->saltlen);
				s = buf;
			}
			if (!OSSL_PARAM_set_utf8_string(p, s))
				return 0;
		}
	}
	if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST)) != NULL &&
	    mgf1_nid(c) != NID_undef && !OSSL_PARAM_set_utf8_string(p, OBJ_nid2sn(mgf1_nid(c))))
		return 0;
	return 1;
}

static const OSSL_PARAM *rsa_gettable_ctx_params(void *vctx, void *provctx)
{
	static const OSSL_PARAM p[] = { OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
					OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
					OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
					OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
					OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
					OSSL_PARAM_END };
	return p;
}

static const OSSL_PARAM *ecdsa_gettable_ctx_params(void *vctx, void *provctx)
{
	static const OSSL_PARAM p[] = { OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
					OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
					OSSL_PARAM_END };
	return p;
}

/* ---- init --------------------------------------------------------------- */

static int sig_init(struct sigctx *c, void *vkey, const OSSL_PARAM params[], enum sig_op op)
{
	struct chsm_key *k = vkey;

	if (c == NULL)
		return 0;
	if (k != NULL) {
		if (k->type != c->type) {
			chsm_raise(PROV_R_INVALID_KEY, "a %s key cannot make %s signatures",
				   chsm_keytype_name(k->type), c->type == CHSM_KEY_RSA ? "RSA" : "ECDSA");
			return 0;
		}
		chsm_key_free(c->key);
		c->key = chsm_key_ref(k);
	}
	if (c->key == NULL) {
		chsm_raise(PROV_R_NO_KEY_SET, "no key");
		return 0;
	}
	if (op == SIG_SIGN && (c->key->has & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) == 0) {
		chsm_raise(PROV_R_NOT_A_PRIVATE_KEY, "signing needs a private key (this is a public key)");
		return 0;
	}
	if (op == SIG_VERIFY && (c->key->has & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) == 0) {
		chsm_raise(PROV_R_NOT_A_PUBLIC_KEY, "verifying needs a public key");
		return 0;
	}
	c->op = op;
	c->updated = 0;
	return sig_set_ctx_params(c, params);
}

static int sign_init(void *c, void *k, const OSSL_PARAM p[])
{
	return sig_init(c, k, p, SIG_SIGN);
}
static int verify_init(void *c, void *k, const OSSL_PARAM p[])
{
	return sig_init(c, k, p, SIG_VERIFY);
}

static int digest_init(struct sigctx *c, const char *mdname, void *vkey, const OSSL_PARAM params[],
		       enum sig_op op)
{
	if (!sig_init(c, vkey, params, op))
		return 0;
	if (mdname != NULL && *mdname != '\0') {
		if (!set_md(c, mdname))
			return 0;
	} else if (c->md == NULL && !set_md(c, c->type == CHSM_KEY_EC && c->key->bits > 384 ? "SHA512" :
					       c->type == CHSM_KEY_EC && c->key->bits > 256 ? "SHA384" :
											      "SHA256")) {
		return 0;
	}
	if (c->mdctx == NULL && (c->mdctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	if (!EVP_DigestInit_ex2(c->mdctx, c->md, NULL)) {
		chsm_raise(ERR_R_EVP_LIB, "cannot start %s", EVP_MD_get0_name(c->md));
		return 0;
	}
	return 1;
}

static int digest_sign_init(void *c, const char *md, void *k, const OSSL_PARAM p[])
{
	return digest_init(c, md, k, p, SIG_SIGN);
}

static int digest_verify_init(void *c, const char *md, void *k, const OSSL_PARAM p[])
{
	return digest_init(c, md, k, p, SIG_VERIFY);
}

/* ---- the signature itself ----------------------------------------------- */

static size_t sig_max(const struct sigctx *c)
{
	int n = c->key != NULL && c->key->pkey != NULL ? EVP_PKEY_get_size(c->key->pkey) : 0;

	return n > 0 ? (size_t)n : 0;
}

static int check_hash(const struct sigctx *c, size_t len)
{
	if (c->md != NULL) {
		if (len != (size_t)EVP_MD_get_size(c->md)) {
			chsm_raise(PROV_R_INVALID_DIGEST_LENGTH, "%zu bytes to sign, but %s makes %d", len,
				   EVP_MD_get0_name(c->md), EVP_MD_get_size(c->md));
			return 0;
		}
		return 1;
	}
	if (c->type == CHSM_KEY_RSA) {
		chsm_raise(PROV_R_INVALID_DIGEST,
			   "RSA signatures need a digest (set one: SHA-256, SHA-384, SHA-512)");
		return 0;
	}
	if (len < 20 || len > EVP_MAX_MD_SIZE) {
		chsm_raise(PROV_R_INVALID_DIGEST_LENGTH, "%zu bytes is not a hash", len);
		return 0;
	}
	return 1;
}

static CK_MECHANISM_TYPE ck_hash(int nid)
{
	switch (nid) {
	case NID_sha256:
		return CKM_SHA256;
	case NID_sha384:
		return CKM_SHA384;
	case NID_sha512:
		return CKM_SHA512;
	default:
		return CKM_VENDOR_DEFINED;
	}
}

static CK_RSA_PKCS_MGF_TYPE ck_mgf(int nid)
{
	switch (nid) {
	case NID_sha256:
		return CKG_MGF1_SHA256;
	case NID_sha384:
		return CKG_MGF1_SHA384;
	case NID_sha512:
		return CKG_MGF1_SHA512;
	default:
		return 0;
	}
}

static void raise_p11(int rc, const char *what, const char *err)
{
	switch (rc) {
	case P11_EDOWN:
		chsm_raise(ERR_R_OPERATION_FAIL, "%s: token unavailable, retry later: %s", what, err);
		break;
	case P11_EPIN:
		chsm_raise(ERR_R_OPERATION_FAIL, "%s: token login failed: %s", what, err);
		break;
	default:
		chsm_raise(PROV_R_FAILED_TO_SIGN, "%s: %s", what, err);
	}
}

/* One C_Sign on the token over a hash. */
static int token_sign(struct sigctx *c, const unsigned char *hash, size_t hlen, unsigned char *sig,
		      size_t *siglen, size_t sigsize)
{
	struct p11_object *obj = c->key->obj;
	char err[CHSM_ERRLEN] = "";
	size_t outlen;
	int rc;

	if (c->type == CHSM_KEY_EC) {
		unsigned char rs[2 * 66 + 2], der[P11_ECDSA_DER_MAX];
		size_t derlen = sizeof(der);

		outlen = sizeof(rs);
		if (p11_sign_size(obj) > outlen) {
			chsm_raise(PROV_R_INVALID_KEY, "EC key of %zu-byte signatures not supported",
				   p11_sign_size(obj));
			return 0;
		}
		rc = p11_sign(obj, CKM_ECDSA, NULL, 0, hash, hlen, rs, &outlen, err, sizeof(err));
		if (rc != P11_OK) {
			raise_p11(rc, "ECDSA signature", err);
			return 0;
		}
		if (p11_ecdsa_raw_to_der(rs, outlen, der, &derlen, err, sizeof(err)) != P11_OK) {
			raise_p11(P11_ERR, "ECDSA signature", err);
			return 0;
		}
		if (derlen > sigsize) {
			chsm_raise(PROV_R_OUTPUT_BUFFER_TOO_SMALL, "%zu-byte buffer for a %zu-byte signature",
				   sigsize, derlen);
			return 0;
		}
		memcpy(sig, der, derlen);
		*siglen = derlen;
		return 1;
	}
	outlen = sigsize;
	if (c->pad == RSA_PKCS1_PSS_PADDING) {
		CK_RSA_PKCS_PSS_PARAMS pp;
		int salt = resolved_saltlen(c);

		if (salt < 0)
			return 0;
		pp.hashAlg = ck_hash(MD_NID(c->md));
		pp.mgf = ck_mgf(mgf1_nid(c));
		pp.sLen = (CK_ULONG)salt;
		rc = p11_sign(obj, CKM_RSA_PKCS_PSS, &pp, sizeof(pp), hash, hlen, sig, &outlen, err,
			      sizeof(err));
		if (rc != P11_OK) {
			raise_p11(rc, "RSA-PSS signature", err);
			return 0;
		}
	} else {
		unsigned char di[32 + EVP_MAX_MD_SIZE];
		size_t plen;
		const unsigned char *prefix = chsm_digestinfo_prefix(MD_NID(c->md), &plen);

		if (prefix == NULL || plen + hlen > sizeof(di)) {
			chsm_raise(PROV_R_INVALID_DIGEST, "no DigestInfo for this digest");
			return 0;
		}
		memcpy(di, prefix, plen);
		memcpy(di + plen, hash, hlen);
		rc = p11_sign(obj, CKM_RSA_PKCS, NULL, 0, di, plen + hlen, sig, &outlen, err, sizeof(err));
		if (rc != P11_OK) {
			raise_p11(rc, "RSA PKCS#1 signature", err);
			return 0;
		}
	}
	*siglen = outlen;
	return 1;
}

/* A context of the provider holding the key (public half, or a software key). */
static EVP_PKEY_CTX *soft_ctx(struct sigctx *c, enum sig_op op)
{
	EVP_PKEY_CTX *pctx;

	pctx = EVP_PKEY_CTX_new_from_pkey(c->prov->libctx, c->key->pkey, CHSM_INTERNAL_PROPQ);
	if (pctx == NULL)
		return NULL;
	if ((op == SIG_SIGN ? EVP_PKEY_sign_init(pctx) : EVP_PKEY_verify_init(pctx)) != 1)
		goto fail;
	if (c->type == CHSM_KEY_RSA) {
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, c->pad) != 1)
			goto fail;
	}
	if (c->md != NULL && EVP_PKEY_CTX_set_signature_md(pctx, c->md) != 1)
		goto fail;
	if (c->type == CHSM_KEY_RSA && c->pad == RSA_PKCS1_PSS_PADDING) {
		int salt = c->saltlen;

		if (op == SIG_SIGN && (salt = resolved_saltlen(c)) < 0)
			goto fail;
		if ((c->mgf1 != NULL && EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, c->mgf1) != 1) ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt) != 1)
			goto fail;
	}
	return pctx;
fail:
	EVP_PKEY_CTX_free(pctx);
	return NULL;
}

static int sign_hash(struct sigctx *c, const unsigned char *hash, size_t hlen, unsigned char *sig,
		     size_t *siglen, size_t sigsize)
{
	size_t max = sig_max(c);
	EVP_PKEY_CTX *pctx;
	int ok;

	if (c->op != SIG_SIGN) {
		chsm_raise(ERR_R_SHOULD_NOT_HAVE_BEEN_CALLED, "not initialised for signing");
		return 0;
	}
	if (sig == NULL) {
		*siglen = max;
		return 1;
	}
	if (!check_hash(c, hlen))
		return 0;
	if (sigsize < max) {
		chsm_raise(PROV_R_OUTPUT_BUFFER_TOO_SMALL, "%zu-byte buffer for signatures of up to %zu bytes",
			   sigsize, max);
		return 0;
	}
	if (c->key->obj != NULL)
		return token_sign(c, hash, hlen, sig, siglen, sigsize);
	if ((pctx = soft_ctx(c, SIG_SIGN)) == NULL)
		return 0;
	*siglen = sigsize;
	ok = EVP_PKEY_sign(pctx, sig, siglen, hash, hlen) == 1;
	EVP_PKEY_CTX_free(pctx);
	return ok;
}

static int verify_hash(struct sigctx *c, const unsigned char *sig, size_t siglen, const unsigned char *hash,
		       size_t hlen)
{
	EVP_PKEY_CTX *pctx;
	int ok;

	if (c->op != SIG_VERIFY) {
		chsm_raise(ERR_R_SHOULD_NOT_HAVE_BEEN_CALLED, "not initialised for verifying");
		return 0;
	}
	if (!check_hash(c, hlen) || (pctx = soft_ctx(c, SIG_VERIFY)) == NULL)
		return 0;
	ok = EVP_PKEY_verify(pctx, sig, siglen, hash, hlen) == 1;
	EVP_PKEY_CTX_free(pctx);
	return ok;
}

/* ---- entry points ------------------------------------------------------- */

static int sig_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize, const unsigned char *tbs,
		    size_t tbslen)
{
	return sign_hash(vctx, tbs, tbslen, sig, siglen, sigsize);
}

static int sig_verify(void *vctx, const unsigned char *sig, size_t siglen, const unsigned char *tbs,
		      size_t tbslen)
{
	return verify_hash(vctx, sig, siglen, tbs, tbslen);
}

static int digest_update(void *vctx, const unsigned char *data, size_t len)
{
	struct sigctx *c = vctx;

	if (c == NULL || c->mdctx == NULL) {
		chsm_raise(ERR_R_SHOULD_NOT_HAVE_BEEN_CALLED, "digest not initialised");
		return 0;
	}
	c->updated = 1;
	return EVP_DigestUpdate(c->mdctx, data, len);
}

static int digest_sign_final(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize)
{
	struct sigctx *c = vctx;
	unsigned char hash[EVP_MAX_MD_SIZE];
	unsigned int hlen = 0;
	int ok;

	if (c == NULL || c->mdctx == NULL) {
		chsm_raise(ERR_R_SHOULD_NOT_HAVE_BEEN_CALLED, "digest not initialised");
		return 0;
	}
	if (sig == NULL) /* size query: the digest stays open */
		return sign_hash(c, NULL, 0, NULL, siglen, 0);
	if (!EVP_DigestFinal_ex(c->mdctx, hash, &hlen))
		return 0;
	c->updated = 0;
	ok = sign_hash(c, hash, hlen, sig, siglen, sigsize);
	OPENSSL_cleanse(hash, sizeof(hash));
	return ok;
}

static int digest_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize, const unsigned char *tbs,
		       size_t tbslen)
{
	struct sigctx *c = vctx;

	if (c == NULL || c->mdctx == NULL) {
		chsm_raise(ERR_R_SHOULD_NOT_HAVE_BEEN_CALLED, "digest not initialised");
		return 0;
	}
	if (sig == NULL)
		return sign_hash(c, NULL, 0, NULL, siglen, 0);
	if (!EVP_DigestInit_ex2(c->mdctx, c->md, NULL) || !digest_update(c, tbs, tbslen))
		return 0;
	return digest_sign_final(c, sig, siglen, sigsize);
}

static int digest_verify_final(void *vctx, const unsigned char *sig, size_t siglen)
{
	struct sigctx *c = vctx;
	unsigned char hash[EVP_MAX_MD_SIZE];
	unsigned int hlen = 0;

	if (c == NULL || c->mdctx == NULL) {
		chsm_raise(ERR_R_SHOULD_NOT_HAVE_BEEN_CALLED, "digest not initialised");
		return 0;
	}
	if (!EVP_DigestFinal_ex(c->mdctx, hash, &hlen))
		return 0;
	c->updated = 0;
	return verify_hash(c, sig, siglen, hash, hlen);
}

static int digest_verify(void *vctx, const unsigned char *sig, size_t siglen, const unsigned char *tbs,
			 size_t tbslen)
{
	struct sigctx *c = vctx;

	if (c == NULL || c->mdctx == NULL) {
		chsm_raise(ERR_R_SHOULD_NOT_HAVE_BEEN_CALLED, "digest not initialised");
		return 0;
	}
	if (!EVP_DigestInit_ex2(c->mdctx, c->md, NULL) || !digest_update(c, tbs, tbslen))
		return 0;
	return digest_verify_final(c, sig, siglen);
}

#define F(id, fn)                        \
	{                                \
		id, (void (*)(void))(fn) \
	}
#define COMMON                                                                                              \
	F(OSSL_FUNC_SIGNATURE_FREECTX, sig_freectx), F(OSSL_FUNC_SIGNATURE_DUPCTX, sig_dupctx),             \
		F(OSSL_FUNC_SIGNATURE_SIGN_INIT, sign_init), F(OSSL_FUNC_SIGNATURE_SIGN, sig_sign),         \
		F(OSSL_FUNC_SIGNATURE_VERIFY_INIT, verify_init), F(OSSL_FUNC_SIGNATURE_VERIFY, sig_verify), \
		F(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, digest_sign_init),                                  \
		F(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, digest_update),                                   \
		F(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, digest_sign_final),                                \
		F(OSSL_FUNC_SIGNATURE_DIGEST_SIGN, digest_sign),                                            \
		F(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT, digest_verify_init),                              \
		F(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE, digest_update),                                 \
		F(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL, digest_verify_final),                            \
		F(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY, digest_verify),                                        \
		F(OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, sig_get_ctx_params),                                  \
		F(OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, sig_set_ctx_params)

const OSSL_DISPATCH chsm_rsa_signature[] = {
	F(OSSL_FUNC_SIGNATURE_NEWCTX, rsa_newctx),
	COMMON,
	F(OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, rsa_gettable_ctx_params),
	F(OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, rsa_settable_ctx_params),
	{ 0, NULL }
};

const OSSL_DISPATCH chsm_ecdsa_signature[] = {
	F(OSSL_FUNC_SIGNATURE_NEWCTX, ecdsa_newctx),
	COMMON,
	F(OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, ecdsa_gettable_ctx_params),
	F(OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, ecdsa_settable_ctx_params),
	{ 0, NULL }
};
