/*
 * appliance/itl/itl.h: the Cisco ITL/CTL TLV file (ITLFile.tlv) as phones and
 * usecallmanager's certutils `tlvfile` read it. A pure codec: bytes in, structs
 * out (pointers into the caller's buffer), bytes out (malloc'd); no I/O, no
 * OpenSSL. Every length is checked against its container; the whole file is at
 * most ITL_FILE_MAX bytes and holds at most ITL_RECORDS_MAX records.
 *
 * Layout (big-endian; a TLV is tag:1 length:2 value; tag 13 is one padding byte):
 *   header: VERSION(1)=1.2, LENGTH(2)=header bytes, SIGNER_VERSION(28),
 *           SIGNER_INFO(3){SIGNER_NAME(4), SERIAL_NUMBER(5), ISSUER_NAME(6)},
 *           SIGNATURE_INFO(7){HASH_ALGORITHM(8), SIGNATURE_ALGORITHM_INFO(9)
 *           {SIGNATURE_ALGORITHM(10), SIGNATURE_MODULUS(11)}}, SIGNATURE(12),
 *           FILENAME(14), TIMESTAMP(15), padding to a multiple of 4
 *   records: RECORD_LENGTH(1), SUBJECT_NAME(3), ROLE(4), ISSUER_NAME(5),
 *           SERIAL_NUMBER(6), PUBLIC_KEY(7), SIGNATURE(8), CERTIFICATE(9), ...
 * The signature (RSA PKCS#1 v1.5, SHA-1 or SHA-512, by the SAST key) covers the
 * whole file without the SIGNATURE TLV (tag, length and value).
 *
 * Callers: capfctl (itl record|build|show), tests/unit/test_itl.c, tests/fuzz.
 */
#ifndef CAPF_ITL_H
#define CAPF_ITL_H

#include <stddef.h>
#include <stdint.h>

#define ITL_FILE_MAX (1024 * 1024)
#define ITL_RECORDS_MAX 64

enum itl_role {
	ITL_ROLE_SAST = 0,
	ITL_ROLE_CCM = 1,
	ITL_ROLE_CCM_TFTP = 2,
	ITL_ROLE_TFTP = 3,
	ITL_ROLE_CAPF = 4,
	ITL_ROLE_APP_SERVER = 7,
	ITL_ROLE_TVS = 21,
};
enum itl_hash { ITL_HASH_SHA1 = 1, ITL_HASH_SHA256 = 2, ITL_HASH_SHA512 = 3 };

/* A field: p[0..n), inside the parsed buffer. Names are NUL-terminated in the
 * file; n excludes the NUL. p == NULL: absent. */
struct itl_bytes {
	const uint8_t *p;
	size_t n;
};

struct itl_record {
	size_t offset, length; /* of the whole record in the file */
	int role;              /* -1: absent (refused by itl_parse) */
	struct itl_bytes dns_name, subject, issuer, serial, public_key, signature, certificate, ip_address,
		cert_hash;
	int hash_alg; /* RECORD_HASH_ALGORITHM, -1: absent */
};

struct itl_header {
	uint8_t version_major, version_minor;
	uint16_t length;                /* header bytes (HEADER_LENGTH) */
	int signer_major, signer_minor; /* -1: absent */
	struct itl_bytes signer_name, serial, issuer, signature, filename;
	int hash_alg, sig_alg, sig_modulus; /* -1: absent */
	int64_t timestamp;                  /* -1: absent */
	size_t sig_offset;                  /* offset of the SIGNATURE TLV's tag */
};

struct itl_file {
	struct itl_header h;
	struct itl_record r[ITL_RECORDS_MAX];
	size_t nrec;
};

/* Parses a whole file. 0, or -1 with what and where in err. */
int itl_parse(const uint8_t *buf, size_t len, struct itl_file *f, char *err, size_t errlen);

/* The bytes the file's signature covers (buf without the SIGNATURE TLV) into
 * malloc'd *out. 0 or -1. */
int itl_signed_data(const uint8_t *buf, size_t len, const struct itl_file *f, uint8_t **out, size_t *outlen);

/* One record from a certificate's parts (names without NUL; serial as the
 * minimal big-endian magnitude; public key as RSA PKCS#1 DER or the EC point). */
struct itl_cert_fields {
	int role;
	const char *subject, *issuer; /* "CN=x;O=y" as tlvfile writes them */
	const char *dns_name;         /* NULL: none */
	struct itl_bytes serial, public_key, signature, certificate;
};

struct itl_signer {
	uint8_t signer_major, signer_minor; /* 1.0 or 1.1 */
	const char *signer_name, *issuer;
	struct itl_bytes serial;
	int hash_alg;   /* ITL_HASH_SHA1 | ITL_HASH_SHA512 */
	size_t sig_len; /* 64, 128, 256 or 512 (RSA modulus bytes) */
	const char *filename;
	uint32_t timestamp;
};

/* One record alone (the CAPF record `capfctl itl record` writes). 0 or -1. */
int itl_build_record(const struct itl_cert_fields *rec, uint8_t **out, size_t *outlen, char *err,
		     size_t errlen);
/* The file without its SIGNATURE TLV (what the SAST key signs) into *out; the
 * TLV goes at *sig_at. 0 or -1. */
int itl_build_unsigned(const struct itl_signer *s, const struct itl_cert_fields *recs, size_t n, uint8_t **out,
		       size_t *outlen, size_t *sig_at, char *err, size_t errlen);
/* The signed file: unsigned[0..sig_at) SIGNATURE(sig) unsigned[sig_at..). sig_len
 * must be the one given to itl_build_unsigned. 0 or -1. */
int itl_insert_signature(const uint8_t *u, size_t ulen, size_t sig_at, const uint8_t *sig, size_t siglen,
			 uint8_t **out, size_t *outlen, char *err, size_t errlen);

/* "SAST", "CCM", "CCM+TFTP", "TFTP", "CAPF", "APP-SERVER", "TVS"; NULL otherwise. */
const char *itl_role_name(int role);
/* The role a name gives (case-insensitive), or -1. */
int itl_role_from_name(const char *name);

#endif
