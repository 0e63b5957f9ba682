/* pkcs11/destroy.c: undoing a key generation (a ceremony or a regenerate
 * that failed after the key pair was made), and the label check made
 * before generating (see p11.h). */
#include <stdio.h>
#include <string.h>

#include "pkcs11/p11_int.h"

struct label_arg {
	const char *label;
	int in_use;
};

static CK_RV label_op(struct p11_token *t, CK_SESSION_HANDLE h, void *arg, const char **fn)
{
	struct label_arg *a = arg;
	CK_ATTRIBUTE lt = { CKA_LABEL, (void *)a->label, strlen(a->label) };
	CK_OBJECT_HANDLE found;
	size_t nf = 0;
	CK_RV rv;

	*fn = "C_FindObjects";
	rv = p11_find_handles(t->f, h, &lt, 1, &found, 1, &nf);
	a->in_use = nf > 0;
	return rv;
}

int p11_label_in_use(struct p11_token *t, const char *label, int *in_use, char *err, size_t errlen)
{
	struct label_arg a = { label, 0 };
	int rc;

	*in_use = 0;
	if (label == NULL || *label == '\0')
		return p11_err(P11_ERR, err, errlen, "no label to look for");
	if ((rc = p11_run(t, label_op, &a, 1, err, errlen)) != P11_OK)
		return rc;
	*in_use = a.in_use;
	return P11_OK;
}

struct destroy_arg {
	struct p11_object *priv;
	int pub_destroyed;
	int priv_destroyed;
};

static CK_RV destroy_op(struct p11_token *t, CK_SESSION_HANDLE h, void *arg, const char **fn)
{
	struct destroy_arg *a = arg;
	CK_OBJECT_CLASS pubcls = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE tmpl[2] = {
		{ CKA_CLASS, &pubcls, sizeof(pubcls) },
		{ CKA_ID, a->priv->id, a->priv->idlen },
	};
	CK_OBJECT_HANDLE pubs[4], ph;
	size_t n = 0;
	CK_RV rv;

	/* the public half first: the private key is what must not stay */
	if (!a->pub_destroyed && a->priv->idlen > 0) {
		*fn = "C_FindObjects";
		if ((rv = p11_find_handles(t->f, h, tmpl, 2, pubs, NELEM(pubs), &n)) != CKR_OK)
			return rv;
		if (n == 1) {
			*fn = "C_DestroyObject";
			if ((rv = P11_CALL(t->f, C_DestroyObject, h, pubs[0])) != CKR_OK)
				return rv;
		}
		a->pub_destroyed = 1;
	}
	if (!a->priv_destroyed) {
		*fn = "C_DestroyObject";
		if ((rv = p11_object_handle(a->priv, h, &ph)) != CKR_OK)
			return rv;
		if ((rv = P11_CALL(t->f, C_DestroyObject, h, ph)) != CKR_OK)
			return rv;
		a->priv_destroyed = 1;
	}
	return CKR_OK;
}

int p11_keypair_destroy(struct p11_object *priv, char *err, size_t errlen)
{
	struct destroy_arg a = { priv, 0, 0 };

	if (priv == NULL || priv->cls != CKO_PRIVATE_KEY)
		return p11_err(P11_ERR, err, errlen, "p11_keypair_destroy: not a private key");
	return p11_run(priv->t, destroy_op, &a, 1, err, errlen);
}
