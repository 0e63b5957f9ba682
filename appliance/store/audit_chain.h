/*
 * appliance/store/audit_chain.h: the audit trail's canonical encodings, pure
 * (OpenSSL's SHA-256 only, no database): what the store writes and what
 * `capfctl audit verify --pubkey` recomputes on its own.
 *
 *   row hash   = SHA-256(prev_hash || be64 id || be64 time || be64 uid ||
 *                        lp(role) || lp(action) || lp(subject) || lp(detail))
 *                lp(s) = be32 length || bytes; prev_hash of row 1: 32 zero bytes
 *   checkpoint = "capf-audit-checkpoint-v1" || 0x00 || be64 row_id ||
 *                head (the row's hash, 32) || be64 time
 *                signed by the audit key (SHA-256; ECDSA or RSA PKCS#1 v1.5)
 *
 *   capf_audit_row_hash(prev, id, t, uid, role, rl, ..., out)   -> 0 / -1
 *   capf_audit_checkpoint_msg(row_id, head, t, msg)             -> message length
 */
#ifndef CAPF_STORE_AUDIT_CHAIN_H
#define CAPF_STORE_AUDIT_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#define CAPF_AUDIT_HASH_LEN 32
#define CAPF_AUDIT_CP_LABEL "capf-audit-checkpoint-v1"
#define CAPF_AUDIT_CP_MSG_LEN (sizeof(CAPF_AUDIT_CP_LABEL) + 8 + CAPF_AUDIT_HASH_LEN + 8)

int capf_audit_row_hash(const unsigned char prev[CAPF_AUDIT_HASH_LEN], int64_t id, int64_t t, int64_t uid,
			const char *role, size_t rl, const char *action, size_t al, const char *subject,
			size_t sl, const char *detail, size_t dl, unsigned char out[CAPF_AUDIT_HASH_LEN]);

size_t capf_audit_checkpoint_msg(int64_t row_id, const unsigned char head[CAPF_AUDIT_HASH_LEN], int64_t t,
				 unsigned char msg[CAPF_AUDIT_CP_MSG_LEN]);

#endif
