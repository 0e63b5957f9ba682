/*
 * pkcs11/p11_uri.h: RFC 7512 "pkcs11:" URIs, parsed strictly and without side
 * effects (no files opened, no token touched), so that a URI typed on a command
 * line or read from a config file cannot surprise us.
 *
 *   pkcs11:token=CAPF;object=capf-ca;type=private?pin-source=file:/etc/capf/pin
 *   pkcs11:token=CAPF;object=capf-ca;type=private;pin-source=file:/etc/capf/pin
 *
 * Path attributes: token manufacturer model serial object id type slot-id
 * slot-description slot-manufacturer library-manufacturer library-description
 * library-version. Query attributes: pin-source (file:/abs/path or /abs/path),
 * module-path, module-name. RFC 7512 puts the query attributes after '?', but
 * many tools (and the issue this appliance was built for) write them as path
 * attributes: both forms are accepted and parse to the same struct; the same
 * attribute in both the path and the query is refused, and path attributes
 * are refused in the query. p11_uri_format writes the RFC 7512 form.
 * pin-value is refused wherever it appears: PINs come from files, never
 * from a URI (URIs end up on command lines and in logs). module-name is
 * accepted and kept, but modules are found by module-path only.
 * Values are percent-decoded; bad escapes, NUL bytes, duplicates, unknown path
 * attributes, empty values, values over P11_URI_MAX_VALUE bytes and URIs over
 * P11_URI_MAX bytes are refused with a message naming the attribute.
 */
#ifndef CAPF_P11_URI_H
#define CAPF_P11_URI_H

#include <stddef.h>

#define P11_URI_MAX 4096      /* whole URI, bytes */
#define P11_URI_MAX_VALUE 255 /* one decoded value, bytes */

enum p11_uri_type {
	P11_TYPE_ANY = 0, /* no type= attribute */
	P11_TYPE_PRIVATE,
	P11_TYPE_PUBLIC,
	P11_TYPE_CERT,
	P11_TYPE_SECRET,
	P11_TYPE_DATA,
};

struct p11_uri {
	/* token selection (NULL when absent) */
	char *token; /* CK_TOKEN_INFO label */
	char *manufacturer;
	char *model;
	char *serial;
	int has_slot_id;
	unsigned long slot_id;
	char *slot_description;
	char *slot_manufacturer;
	char *library_manufacturer;
	char *library_description;
	char *library_version; /* "M" or "M.m" */
	/* object selection */
	char *object;      /* CKA_LABEL */
	unsigned char *id; /* CKA_ID, raw bytes (may contain NUL) */
	size_t idlen;
	int has_id;
	enum p11_uri_type type;
	/* query */
	char *pin_source; /* absolute path, "file:" removed */
	char *module_path;
	char *module_name;
};

/* Parses s into *u (which it zeroes first). On error *u is left empty. */
int p11_uri_parse(const char *s, struct p11_uri *u, char *err, size_t errlen);

/* Frees what p11_uri_parse allocated and zeroes *u. Safe on a zeroed struct. */
void p11_uri_clear(struct p11_uri *u);

/* Deep copy; 0 or -1. */
int p11_uri_copy(struct p11_uri *dst, const struct p11_uri *src, char *err, size_t errlen);

/* Writes the URI with percent-encoding where needed. with_query: also the
 * query attributes (pin-source, module-path, module-name). Returns 0, or -1
 * when buf is too small. */
int p11_uri_format(const struct p11_uri *u, int with_query, char *buf, size_t len);

/* "private", "public", "cert", "secret-key", "data", or "any". */
const char *p11_uri_type_name(enum p11_uri_type t);

#endif
