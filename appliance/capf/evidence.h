/*
 * appliance/capf/evidence.h: the structured element values of CAPF (wrapped
 * certificate, SHA2_SIGNED_DATA, SUDI_DATA) and the parsed AUTH_RESPONSE.
 * Parsing checks structure and lengths only; it verifies no signature and
 * decodes no DER beyond the outer SEQUENCE length (that is the policy's job).
 * Every pointer in the output structs points into the parsed message's buffer.
 */
#ifndef CAPF_CAPF_EVIDENCE_H
#define CAPF_CAPF_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "appliance/capf/msg.h"

#define CAPF_SIG_MAX 1024 /* a signature (RSA 8192 bits) */

/*
 * Wrapped certificate, value of CERTIFICATE (4):
 *   0x01 | length(2) = DER length + 2 | 0x00 | certificate type | DER
 * Unwrap checks: value >= 6 bytes, the length field equals value length - 3,
 * the DER is one complete outer SEQUENCE of exactly the remaining bytes. The
 * marker bytes (0x01, 0x00) are reported, not enforced. Returns 0 or CAPF_E_ELEMENT.
 */
struct capf_wrapped_cert {
	uint8_t marker; /* first byte, 0x01 as seen */
	uint8_t pad;    /* fourth byte, 0x00 as seen */
	uint8_t type;   /* enum capf_cert_type */
	const uint8_t *der;
	size_t der_len;
};
int capf_cert_unwrap(const uint8_t *val, size_t len, struct capf_wrapped_cert *c, char *err, size_t errlen);
/* Appends a CERTIFICATE element wrapping der (type: enum capf_cert_type). */
int capf_build_cert(struct capf_builder *b, uint8_t type, const uint8_t *der, size_t der_len);

/* SHA2_SIGNED_DATA (20): hash id 1 | length 2 | signature; the length must
 * match exactly, 1..CAPF_SIG_MAX. Returns 0 or CAPF_E_ELEMENT. */
struct capf_sha2_sig {
	uint8_t hash_id; /* enum capf_hash_id; CAPF_HASH_SHA512 as seen */
	const uint8_t *sig;
	size_t sig_len;
};
int capf_sha2_parse(const uint8_t *val, size_t len, struct capf_sha2_sig *s, char *err, size_t errlen);
int capf_build_sha2(struct capf_builder *b, uint8_t hash_id, const uint8_t *sig, size_t sig_len);

/*
 * SUDI_DATA (16): a sequence of parts "id 1 | length 2 | value" filling the value
 * exactly: id 0 is the SUDI certificate DER (required, once), ids 1/2/3 are
 * signatures with SHA-1/SHA-256/SHA-512 (each at most once, at least one).
 * Other ids are skipped and counted. The signed data is the 4-byte session id
 * little-endian followed by the SUDI certificate DER (capf_sudi_signed_data).
 */
struct capf_sudi {
	const uint8_t *cert;
	size_t cert_len;
	const uint8_t *sig[4]; /* indexed by enum capf_hash_id; NULL when absent */
	size_t sig_len[4];
	unsigned unknown_parts;
};
int capf_sudi_parse(const uint8_t *val, size_t len, struct capf_sudi *s, char *err, size_t errlen);
/* Appends SUDI_DATA: the certificate, then the SHA-1 and SHA-512 signatures (either may be NULL). */
int capf_build_sudi(struct capf_builder *b, const uint8_t *cert, size_t cert_len, const uint8_t *sig_sha1,
		    size_t sig_sha1_len, const uint8_t *sig_sha512, size_t sig_sha512_len);
/* Writes session id (little-endian) || cert into out (outlen >= 4 + cert_len);
 * returns the length written, or CAPF_E_ARG. */
int capf_sudi_signed_data(uint32_t session_id, const uint8_t *cert, size_t cert_len, uint8_t *out,
			  size_t outlen);

/*
 * AUTH_RESPONSE, as much as a phone or a Jabber client sends. DEVICE_NAME is
 * required; every known element may appear at most once (CAPF_E_DUPLICATE);
 * unknown tags are skipped and counted. PASSWORD may be absent (Jabber: protocol
 * 2) or empty (a lone NUL: By Null String). SIGNED_DATA 1..CAPF_SIG_MAX bytes.
 */
struct capf_auth_response {
	int has_reason;
	uint8_t reason;
	int has_version;
	uint8_t version;
	char device_name[CAPF_NAME_MAX + 1];
	size_t device_name_len;
	int has_password;
	const char *password; /* NUL-terminated, in the message; wipe the buffer after use */
	size_t password_len;
	int has_cert;
	struct capf_wrapped_cert cert;
	const uint8_t *signed_data; /* NULL when absent */
	size_t signed_data_len;
	int has_sha2;
	struct capf_sha2_sig sha2;
	int has_sudi;
	struct capf_sudi sudi;
	const uint8_t *sudi_raw; /* the SUDI_DATA value as sent (for the IPC) */
	size_t sudi_raw_len;
	unsigned unknown_tags;
};
/* m->command should be CAPF_CMD_AUTH_RESPONSE (not checked). Returns 0 or a capf_err. */
int capf_auth_response_parse(const struct capf_msg *m, struct capf_auth_response *a, char *err, size_t errlen);

#endif
