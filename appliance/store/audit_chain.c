/* appliance/store/audit_chain.c: the audit trail's canonical encodings (see audit_chain.h). */
#include <string.h>
#include <openssl/evp.h>

#include "appliance/store/audit_chain.h"

static int put_be(EVP_MD_CTX *md, uint64_t v, int bytes)
{
	unsigned char b[8];

	for (int i = 0; i < bytes; i++)
		b[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
	return EVP_DigestUpdate(md, b, (size_t)bytes);
}

static int put_lp(EVP_MD_CTX *md, const char *s, size_t n)
{
	return put_be(md, n, 4) && (n == 0 || EVP_DigestUpdate(md, s, n));
}

int capf_audit_row_hash(const unsigned char prev[CAPF_AUDIT_HASH_LEN], int64_t id, int64_t t, int64_t uid,
			const char *role, size_t rl, const char *action, size_t al, const char *subject,
			size_t sl, const char *detail, size_t dl, unsigned char out[CAPF_AUDIT_HASH_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int len = 0;
	int ok;

	ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(md, prev, CAPF_AUDIT_HASH_LEN) && put_be(md, (uint64_t)id, 8) &&
	     put_be(md, (uint64_t)t, 8) && put_be(md, (uint64_t)uid, 8) && put_lp(md, role, rl) &&
	     put_lp(md, action, al) && put_lp(md, subject, sl) && put_lp(md, detail, dl) &&
	     EVP_DigestFinal_ex(md, out, &len) && len == CAPF_AUDIT_HASH_LEN;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

static void be64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * (7 - i)));
}

size_t capf_audit_checkpoint_msg(int64_t row_id, const unsigned char head[CAPF_AUDIT_HASH_LEN], int64_t t,
				 unsigned char msg[CAPF_AUDIT_CP_MSG_LEN])
{
	size_t n = sizeof(CAPF_AUDIT_CP_LABEL); /* with its NUL */

	memcpy(msg, CAPF_AUDIT_CP_LABEL, n);
	be64(msg + n, (uint64_t)row_id);
	n += 8;
	memcpy(msg + n, head, CAPF_AUDIT_HASH_LEN);
	n += CAPF_AUDIT_HASH_LEN;
	be64(msg + n, (uint64_t)t);
	return n + 8;
}
