/* pkcs11/keygen.c: key pairs generated inside the token, and token
 * initialisation (see p11.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/rand.h>

#include "pkcs11/p11_int.h"
#include "pkcs11/p11_pin.h"

#define LABEL_MAX 128

static const struct {
	const char *name;
	CK_KEY_TYPE type;
	unsigned bits;
	int nid;
} specs[] = {
	{ "rsa:2048", CKK_RSA, 2048, NID_undef },   { "rsa:3072", CKK_RSA, 3072, NID_undef },
	{ "rsa:4096", CKK_RSA, 4096, NID_undef },   { "ec:P-256", CKK_EC, 256, NID_X9_62_prime256v1 },
	{ "ec:P-384", CKK_EC, 384, NID_secp384r1 }, { "ec:P-521", CKK_EC, 521, NID_secp521r1 },
};

int p11_keyspec_parse(const char *s, struct p11_keyspec *spec, char *err, size_t errlen)
{
	for (size_t i = 0; s != NULL && i < NELEM(specs); i++)
		if (strcmp(s, specs[i].name) == 0) {
			spec->type = specs[i].type;
			spec->bits = specs[i].bits;
			spec->curve_nid = specs[i].nid;
			return P11_OK;
		}
	return p11_err(P11_ERR, err, errlen,
		       "key type '%.40s': use rsa:2048, rsa:3072, rsa:4096, "
		       "ec:P-256, ec:P-384 or ec:P-521",
		       s ? s : "");
}

static int label_ok(const char *label, char *err, size_t errlen)
{
	size_t n = label ? strlen(label) : 0;

	if (n == 0 || n > LABEL_MAX)
		return p11_err(P11_ERR, err, errlen, "key label must be 1..%d bytes", LABEL_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)label[i] < 0x20 || (unsigned char)label[i] == 0x7f)
			return p11_err(P11_ERR, err, errlen, "key label holds a control character");
	return P11_OK;
}

struct gen_arg {
	const struct p11_keyspec *spec;
	const char *label;
	unsigned char id[P11_URI_MAX_VALUE];
	size_t idlen;
	int exists;
	int tried; /* C_GenerateKeyPair was called: never again */
	CK_RV gen_rv;
	struct p11_object *priv;
};

/* After a fault that followed C_GenerateKeyPair: the new key, found by label and id. */
static CK_RV gen_again(struct p11_token *t, CK_SESSION_HANDLE h, struct gen_arg *a, const char **fn)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)a->label, strlen(a->label) },
		{ CKA_ID, a->id, a->idlen },
	};
	CK_OBJECT_HANDLE found[2];
	size_t nf;
	CK_RV rv;

	*fn = "C_GenerateKeyPair";
	if (a->gen_rv != CKR_OK)
		return a->gen_rv;
	*fn = "C_FindObjects";
	if ((rv = p11_find_handles(t->f, h, tmpl, 3, found, 2, &nf)) != CKR_OK)
		return rv;
	if (nf != 1)
		return P11_RV_GONE;
	*fn = "C_GetAttributeValue";
	return p11_object_load(t, h, found[0], &a->priv);
}

static CK_RV gen_op(struct p11_token *t, CK_SESSION_HANDLE h, void *arg, const char **fn)
{
	struct gen_arg *a = arg;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG bits = a->spec->bits;
	CK_BYTE e[] = { 0x01, 0x00, 0x01 };
	CK_ATTRIBUTE lt = { CKA_LABEL, (void *)a->label, strlen(a->label) };
	CK_OBJECT_HANDLE found, pub, priv;
	CK_MECHANISM mech = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	unsigned char ecparams[16], *p = ecparams;
	CK_ATTRIBUTE pubt[12], privt[12];
	CK_ULONG np = 0, nv = 0;
	size_t nf;
	CK_RV rv;

	/* Retried after a recovery: the key pair may exist already. */
	if (a->tried)
		return gen_again(t, h, a, fn);
	/* Refuse a label any object has (private ones are visible: we are logged in). */
	*fn = "C_FindObjects";
	if ((rv = p11_find_handles(t->f, h, &lt, 1, &found, 1, &nf)) != CKR_OK)
		return rv;
	if (nf > 0) {
		a->exists = 1;
		return CKR_OK;
	}
	pubt[np++] = (CK_ATTRIBUTE){ CKA_TOKEN, &yes, sizeof(yes) };
	pubt[np++] = (CK_ATTRIBUTE){ CKA_PRIVATE, &no, sizeof(no) };
	pubt[np++] = (CK_ATTRIBUTE){ CKA_VERIFY, &yes, sizeof(yes) };
	pubt[np++] = (CK_ATTRIBUTE){ CKA_ENCRYPT, &no, sizeof(no) };
	pubt[np++] = (CK_ATTRIBUTE){ CKA_WRAP, &no, sizeof(no) };
	pubt[np++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)a->label, strlen(a->label) };
	pubt[np++] = (CK_ATTRIBUTE){ CKA_ID, a->id, a->idlen };
	privt[nv++] = (CK_ATTRIBUTE){ CKA_TOKEN, &yes, sizeof(yes) };
	privt[nv++] = (CK_ATTRIBUTE){ CKA_PRIVATE, &yes, sizeof(yes) };
	privt[nv++] = (CK_ATTRIBUTE){ CKA_SENSITIVE, &yes, sizeof(yes) };
	privt[nv++] = (CK_ATTRIBUTE){ CKA_EXTRACTABLE, &no, sizeof(no) };
	privt[nv++] = (CK_ATTRIBUTE){ CKA_SIGN, &yes, sizeof(yes) };
	privt[nv++] = (CK_ATTRIBUTE){ CKA_DECRYPT, &no, sizeof(no) };
	privt[nv++] = (CK_ATTRIBUTE){ CKA_UNWRAP, &no, sizeof(no) };
	privt[nv++] = (CK_ATTRIBUTE){ CKA_DERIVE, &no, sizeof(no) };
	privt[nv++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)a->label, strlen(a->label) };
	privt[nv++] = (CK_ATTRIBUTE){ CKA_ID, a->id, a->idlen };
	if (a->spec->type == CKK_RSA) {
		pubt[np++] = (CK_ATTRIBUTE){ CKA_MODULUS_BITS, &bits, sizeof(bits) };
		pubt[np++] = (CK_ATTRIBUTE){ CKA_PUBLIC_EXPONENT, e, sizeof(e) };
	} else {
		int n = i2d_ASN1_OBJECT(OBJ_nid2obj(a->spec->curve_nid), NULL);

		if (n <= 0 || (size_t)n > sizeof(ecparams))
			return CKR_CURVE_NOT_SUPPORTED;
		i2d_ASN1_OBJECT(OBJ_nid2obj(a->spec->curve_nid), &p);
		mech.mechanism = CKM_EC_KEY_PAIR_GEN;
		pubt[np++] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, ecparams, (CK_ULONG)n };
	}
	*fn = "C_GenerateKeyPair";
	a->tried = 1;
	rv = P11_CALL(t->f, C_GenerateKeyPair, h, &mech, pubt, np, privt, nv, &pub, &priv);
	a->gen_rv = rv;
	if (rv != CKR_OK)
		return rv;
	*fn = "C_GetAttributeValue";
	return p11_object_load(t, h, priv, &a->priv);
}

int p11_keygen(struct p11_token *t, const struct p11_keyspec *spec, const char *label, const unsigned char *id,
	       size_t idlen, struct p11_object **priv, char *err, size_t errlen)
{
	struct gen_arg a = { .spec = spec, .label = label };
	int rc;

	if (priv != NULL)
		*priv = NULL;
	if ((rc = label_ok(label, err, errlen)) != P11_OK)
		return rc;
	if (spec->type != CKK_RSA && spec->type != CKK_EC)
		return p11_err(P11_ERR, err, errlen, "key type must be RSA or EC");
	if (spec->type == CKK_RSA && spec->bits != 2048 && spec->bits != 3072 && spec->bits != 4096)
		return p11_err(P11_ERR, err, errlen, "RSA key size %u: use 2048, 3072 or 4096", spec->bits);
	if (spec->type == CKK_EC && p11_ec_nid_bits(spec->curve_nid) == 0)
		return p11_err(P11_ERR, err, errlen, "EC curve: use P-256, P-384 or P-521");
	if (t->pin_file == NULL)
		return p11_err(P11_ERR, err, errlen,
			       "token %s: key generation needs a login; add "
			       "?pin-source=file:/path to the URI",
			       t->label);
	if (!t->rw)
		return p11_err(P11_ERR, err, errlen,
			       "token %s: key generation needs read-write sessions "
			       "(p11_token_opts.rw)",
			       t->label);
	if (id != NULL) {
		if (idlen == 0 || idlen > sizeof(a.id))
			return p11_err(P11_ERR, err, errlen, "key id must be 1..%zu bytes", sizeof(a.id));
		memcpy(a.id, id, idlen);
		a.idlen = idlen;
	} else {
		if (RAND_bytes(a.id, 16) != 1)
			return p11_err(P11_ERR, err, errlen, "RAND_bytes failed");
		a.idlen = 16;
	}
	/* A fault before C_GenerateKeyPair is retried like any other; after it,
	 * never generated twice (see gen_op). */
	if ((rc = p11_run(t, gen_op, &a, 1, err, errlen)) != P11_OK)
		return rc;
	if (a.exists)
		return p11_err(P11_ERR, err, errlen,
			       "token %s: an object labelled '%s' already exists; "
			       "choose another label (keys are never overwritten)",
			       t->label, label);
	if (priv != NULL)
		*priv = a.priv;
	else
		p11_object_free(a.priv);
	return P11_OK;
}

/* ---- token initialisation -------------------------------------------- */

static void pad(unsigned char *dst, size_t len, const char *s)
{
	size_t n = strlen(s);

	memset(dst, ' ', len);
	memcpy(dst, s, n < len ? n : len);
}

/* Slot of the initialised token labelled label, or of the first uninitialised one. */
static CK_RV scan(CK_FUNCTION_LIST *f, const char *label, int *exists, CK_SLOT_ID *labelled, int *have_free,
		  CK_SLOT_ID *free_slot)
{
	CK_SLOT_ID *slots;
	CK_ULONG n;
	CK_RV rv;

	*exists = *have_free = 0;
	if ((rv = p11_slot_list(f, &slots, &n)) != CKR_OK)
		return rv;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		char l[33];

		if (P11_CALL(f, C_GetTokenInfo, slots[i], &ti) != CKR_OK)
			continue;
		p11_trim(l, sizeof(l), ti.label, sizeof(ti.label));
		if ((ti.flags & CKF_TOKEN_INITIALIZED) && strcmp(l, label) == 0 && !*exists) {
			*exists = 1;
			*labelled = slots[i];
		} else if (!(ti.flags & CKF_TOKEN_INITIALIZED) && !*have_free) {
			*have_free = 1;
			*free_slot = slots[i];
		}
	}
	free(slots);
	return CKR_OK;
}

int p11_token_init(const char *module_path, const char *label, const char *so_pin_file, const char *pin_file,
		   CK_SLOT_ID *slot_out, char *err, size_t errlen)
{
	char sopin[P11_PIN_MAX + 1], pin[P11_PIN_MAX + 1];
	size_t sopinlen = 0, pinlen = 0;
	struct p11_module *m = NULL;
	CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
	CK_UTF8CHAR plabel[32];
	CK_SLOT_ID slot = 0, freeslot = 0;
	CK_FUNCTION_LIST *f = NULL;
	int exists, have_free, rc = P11_ERR;
	CK_RV rv;

	memset(sopin, 0, sizeof(sopin));
	memset(pin, 0, sizeof(pin));
	if (label == NULL || label[0] == '\0' || strlen(label) > 32)
		return p11_err(P11_ERR, err, errlen, "token label must be 1..32 bytes");
	for (const char *c = label; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			return p11_err(P11_ERR, err, errlen, "token label: printable ASCII only");
	if (p11_pin_read(so_pin_file, sopin, sizeof(sopin), &sopinlen, NULL, err, errlen) < 0 ||
	    p11_pin_read(pin_file, pin, sizeof(pin), &pinlen, NULL, err, errlen) < 0)
		goto out;
	if ((rc = p11_module_load(module_path, &m, err, errlen)) != P11_OK)
		goto out;
	p11_module_use(m);
	rc = P11_ERR;
	f = m->f;
	if ((rv = scan(f, label, &exists, &slot, &have_free, &freeslot)) != CKR_OK) {
		p11_err_rv(P11_ERR, err, errlen, NULL, "C_GetSlotList", rv);
		goto out;
	}
	if (exists) {
		p11_err(P11_ERR, err, errlen,
			"a token labelled '%s' already exists (slot %lu); "
			"refusing to initialise another",
			label, slot);
		goto out;
	}
	if (!have_free) {
		p11_err(P11_ERR, err, errlen, "module %s has no slot with an uninitialised token", module_path);
		goto out;
	}
	pad(plabel, sizeof(plabel), label);
	rv = P11_CALL(f, C_InitToken, freeslot, (CK_UTF8CHAR *)sopin, sopinlen, plabel);
	if (rv != CKR_OK) {
		p11_err_rv(P11_ERR, err, errlen, NULL, "C_InitToken", rv);
		goto out;
	}
	/* SoftHSM moves an initialised token to a new slot id: look it up again. */
	if ((rv = scan(f, label, &exists, &slot, &have_free, &freeslot)) != CKR_OK || !exists) {
		p11_err(P11_ERR, err, errlen, "token '%s' initialised but not found afterwards", label);
		goto out;
	}
	rv = P11_CALL(f, C_OpenSession, slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h);
	if (rv != CKR_OK) {
		p11_err_rv(P11_ERR, err, errlen, NULL, "C_OpenSession", rv);
		goto out;
	}
	rv = P11_CALL(f, C_Login, h, CKU_SO, (CK_UTF8CHAR *)sopin, sopinlen);
	if (rv != CKR_OK) {
		p11_err_rv(P11_ERR, err, errlen, NULL, "C_Login(SO)", rv);
		goto out;
	}
	rv = P11_CALL(f, C_InitPIN, h, (CK_UTF8CHAR *)pin, pinlen);
	(void)P11_CALL(f, C_Logout, h);
	if (rv != CKR_OK) {
		p11_err_rv(P11_ERR, err, errlen, NULL, "C_InitPIN", rv);
		goto out;
	}
	if (slot_out != NULL)
		*slot_out = slot;
	rc = P11_OK;
out:
	if (h != CK_INVALID_HANDLE)
		(void)P11_CALL(f, C_CloseSession, h);
	OPENSSL_cleanse(sopin, sizeof(sopin));
	OPENSSL_cleanse(pin, sizeof(pin));
	if (m != NULL)
		p11_module_unuse(m);
	p11_module_unref(m);
	return rc;
}
