/* pkcs11/uri.c: strict RFC 7512 pkcs11: URI parser and writer (see p11_uri.h). */
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pkcs11/p11_uri.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define SCHEME "pkcs11:"

enum kind { K_STR, K_ID, K_TYPE, K_SLOTID, K_PINSRC, K_MODPATH, K_REFUSED };

struct attr {
	const char *name;
	int query; /* 1: in the query (after '?') or in the path; 0: path only */
	enum kind kind;
	size_t off; /* offset of the char * field (K_STR, K_MODPATH) */
};

#define F(f) offsetof(struct p11_uri, f)
static const struct attr attrs[] = {
	{ "token", 0, K_STR, F(token) },
	{ "manufacturer", 0, K_STR, F(manufacturer) },
	{ "model", 0, K_STR, F(model) },
	{ "serial", 0, K_STR, F(serial) },
	{ "object", 0, K_STR, F(object) },
	{ "id", 0, K_ID, 0 },
	{ "type", 0, K_TYPE, 0 },
	{ "slot-id", 0, K_SLOTID, 0 },
	{ "slot-description", 0, K_STR, F(slot_description) },
	{ "slot-manufacturer", 0, K_STR, F(slot_manufacturer) },
	{ "library-manufacturer", 0, K_STR, F(library_manufacturer) },
	{ "library-description", 0, K_STR, F(library_description) },
	{ "library-version", 0, K_STR, F(library_version) },
	{ "pin-source", 1, K_PINSRC, F(pin_source) },
	{ "module-path", 1, K_MODPATH, F(module_path) },
	{ "module-name", 1, K_STR, F(module_name) },
	{ "pin-value", 1, K_REFUSED, 0 },
};
#undef F

static const char path_names[] =
	"token, manufacturer, model, serial, object, id, type, slot-id, "
	"slot-description, slot-manufacturer, library-manufacturer, library-description, library-version, "
	"pin-source, module-path, module-name";
static const char query_names[] = "pin-source, module-path, module-name";

static const char *const type_names[] = {
	[P11_TYPE_ANY] = "any",   [P11_TYPE_PRIVATE] = "private",   [P11_TYPE_PUBLIC] = "public",
	[P11_TYPE_CERT] = "cert", [P11_TYPE_SECRET] = "secret-key", [P11_TYPE_DATA] = "data",
};

const char *p11_uri_type_name(enum p11_uri_type t)
{
	return (unsigned)t < NELEM(type_names) ? type_names[t] : "unknown";
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#define PINSRC_PATH_MAX (P11_URI_MAX_VALUE - 7) /* room for "file://" */

/* Percent-decodes s[0..n) into out (P11_URI_MAX_VALUE + 1 bytes); *outlen the length. */
static int decode(const char *name, const char *s, size_t n, int allow_nul, unsigned char *out, size_t *outlen,
		  char *err, size_t errlen)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return fail(err, errlen,
					    "pkcs11 URI: attribute '%s': truncated percent-escape "
					    "(use %%XX with two hex digits)",
					    name);
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return fail(err, errlen,
					    "pkcs11 URI: attribute '%s': bad percent-escape "
					    "'%%%c%c' (use %%XX with two hex digits)",
					    name, isprint((unsigned char)s[i + 1]) ? s[i + 1] : '?',
					    isprint((unsigned char)s[i + 2]) ? s[i + 2] : '?');
			c = hi << 4 | lo;
			i += 2;
			if (c == 0 && !allow_nul)
				return fail(err, errlen,
					    "pkcs11 URI: attribute '%s': NUL byte (%%00) not allowed", name);
		} else if (c <= 0x20 || c >= 0x7f) {
			return fail(err, errlen,
				    "pkcs11 URI: attribute '%s': raw byte 0x%02x; spaces, "
				    "control and non-ASCII characters must be percent-encoded",
				    name, c);
		}
		if (o >= P11_URI_MAX_VALUE)
			return fail(err, errlen, "pkcs11 URI: attribute '%s': value longer than %d bytes", name,
				    P11_URI_MAX_VALUE);
		out[o++] = (unsigned char)c;
	}
	out[o] = '\0';
	*outlen = o;
	return 0;
}

static int set_attr(struct p11_uri *u, const struct attr *a, const unsigned char *v, size_t vlen, char *err,
		    size_t errlen)
{
	char **field;
	const char *s = (const char *)v;

	switch (a->kind) {
	case K_REFUSED:
		return fail(err, errlen,
			    "pkcs11 URI: 'pin-value' is refused: a URI ends up on command "
			    "lines and in logs; put the PIN in a file readable only by its owner (chmod 600) "
			    "and use pin-source=file:/path");
	case K_ID:
		if ((u->id = malloc(vlen)) == NULL)
			return fail(err, errlen, "pkcs11 URI: out of memory");
		memcpy(u->id, v, vlen);
		u->idlen = vlen;
		u->has_id = 1;
		return 0;
	case K_TYPE:
		for (size_t i = P11_TYPE_PRIVATE; i < NELEM(type_names); i++)
			if (strcmp(s, type_names[i]) == 0) {
				u->type = (enum p11_uri_type)i;
				return 0;
			}
		return fail(err, errlen,
			    "pkcs11 URI: attribute 'type': '%.40s' is not one of "
			    "private, public, cert, secret-key, data",
			    s);
	case K_SLOTID: {
		unsigned long long x;
		char *end;

		if (!isdigit((unsigned char)s[0]))
			return fail(err, errlen,
				    "pkcs11 URI: attribute 'slot-id': '%.40s' is not a decimal "
				    "number",
				    s);
		errno = 0;
		x = strtoull(s, &end, 10);
		if (*end != '\0')
			return fail(err, errlen,
				    "pkcs11 URI: attribute 'slot-id': '%.40s' is not a decimal "
				    "number",
				    s);
		if (errno == ERANGE || x > (unsigned long long)(unsigned long)-1)
			return fail(err, errlen, "pkcs11 URI: attribute 'slot-id': '%.40s' is out of range", s);
		u->slot_id = (unsigned long)x;
		u->has_slot_id = 1;
		return 0;
	}
	case K_PINSRC:
		if (strncmp(s, "file:", 5) == 0) {
			s += 5;
			if (strncmp(s, "//", 2) == 0) {
				if (s[2] != '/')
					return fail(err, errlen,
						    "pkcs11 URI: attribute 'pin-source': a file URI "
						    "with a host is not allowed; use file:/absolute/path");
				s += 2;
			}
		} else if (s[0] != '/' && strchr(s, ':') != NULL) {
			return fail(err, errlen,
				    "pkcs11 URI: attribute 'pin-source': only file:/absolute/path "
				    "or /absolute/path is allowed");
		}
		if (s[0] != '/')
			return fail(err, errlen,
				    "pkcs11 URI: attribute 'pin-source': '%.60s' is not an absolute "
				    "path; use file:/absolute/path",
				    s);
		/* written back as "file:" or "file://" + path: that must fit a value too */
		if (strlen(s) > PINSRC_PATH_MAX)
			return fail(err, errlen,
				    "pkcs11 URI: attribute 'pin-source': the path is longer than %d "
				    "bytes",
				    PINSRC_PATH_MAX);
		break;
	case K_MODPATH:
		if (s[0] != '/')
			return fail(err, errlen,
				    "pkcs11 URI: attribute 'module-path': '%.60s' is not an "
				    "absolute path",
				    s);
		break;
	case K_STR:
		break;
	}
	field = (char **)((char *)u + a->off);
	if ((*field = strdup(s)) == NULL)
		return fail(err, errlen, "pkcs11 URI: out of memory");
	return 0;
}

static int seen_bit(const struct attr *a)
{
	return (int)(a - attrs);
}

/* Which attributes appeared, and where (a query attribute may be in either part, once). */
struct seen {
	unsigned path, query;
};

static int parse_part(struct p11_uri *u, const char *s, size_t n, int query, struct seen *seen, char *err,
		      size_t errlen)
{
	const char sep = query ? '&' : ';';
	const char *p = s, *end = s + n;
	unsigned char val[P11_URI_MAX_VALUE + 1];

	if (n == 0)
		return query ? fail(err, errlen, "pkcs11 URI: empty query after '?'") : 0;
	while (p <= end) {
		const char *q = memchr(p, sep, (size_t)(end - p));
		const char *eq;
		const struct attr *a = NULL;
		size_t nlen, vlen = 0;
		unsigned bit;
		char name[32];

		if (q == NULL)
			q = end;
		if (q == p)
			return fail(err, errlen, "pkcs11 URI: empty attribute (stray '%c')", sep);
		eq = memchr(p, '=', (size_t)(q - p));
		nlen = (size_t)((eq ? eq : q) - p);
		if (nlen >= sizeof(name))
			return fail(err, errlen, "pkcs11 URI: unknown %s attribute '%.31s...'",
				    query ? "query" : "path", p);
		memcpy(name, p, nlen);
		name[nlen] = '\0';
		for (size_t i = 0; i < nlen; i++)
			if (!isprint((unsigned char)name[i]))
				name[i] = '?';
		for (size_t i = 0; i < NELEM(attrs); i++)
			if (strcmp(attrs[i].name, name) == 0) {
				a = &attrs[i];
				break;
			}
		if (a != NULL && a->kind == K_REFUSED)
			return set_attr(u, a, (const unsigned char *)"", 0, err, errlen);
		/* Query attributes are also accepted in the path (as many tools
		 * write them); path attributes never in the query. */
		if (a == NULL || (query && !a->query)) {
			if (a != NULL)
				return fail(err, errlen,
					    "pkcs11 URI: attribute '%s' belongs in the path, "
					    "before '?' (pkcs11:token=T;object=K)",
					    name);
			return fail(err, errlen, "pkcs11 URI: unknown %s attribute '%s' (allowed: %s)",
				    query ? "query" : "path", name, query ? query_names : path_names);
		}
		if (eq == NULL)
			return fail(err, errlen, "pkcs11 URI: attribute '%s' has no '=value'", name);
		bit = 1u << seen_bit(a);
		if ((seen->path | seen->query) & bit) {
			if ((query ? seen->path : seen->query) & bit)
				return fail(err, errlen,
					    "pkcs11 URI: attribute '%s' is given both in the "
					    "path and in the query; give it once",
					    name);
			return fail(err, errlen, "pkcs11 URI: attribute '%s' appears twice", name);
		}
		if (query)
			seen->query |= bit;
		else
			seen->path |= bit;
		if (eq + 1 == q)
			return fail(err, errlen, "pkcs11 URI: attribute '%s' has an empty value", name);
		if (decode(name, eq + 1, (size_t)(q - eq - 1), a->kind == K_ID, val, &vlen, err, errlen) < 0)
			return -1;
		if (set_attr(u, a, val, vlen, err, errlen) < 0)
			return -1;
		p = q + 1;
		if (q == end)
			break;
		if (p == end)
			return fail(err, errlen, "pkcs11 URI: empty attribute (trailing '%c')", sep);
	}
	return 0;
}

int p11_uri_parse(const char *s, struct p11_uri *u, char *err, size_t errlen)
{
	size_t n;
	const char *path, *qm;
	struct seen seen = { 0, 0 };

	memset(u, 0, sizeof(*u));
	if (s == NULL)
		return fail(err, errlen, "pkcs11 URI: missing");
	n = strnlen(s, P11_URI_MAX + 1);
	if (n > P11_URI_MAX)
		return fail(err, errlen, "pkcs11 URI: longer than %d bytes", P11_URI_MAX);
	if (n < strlen(SCHEME) || strncasecmp(s, SCHEME, strlen(SCHEME)) != 0)
		return fail(err, errlen,
			    "pkcs11 URI: must start with 'pkcs11:' (e.g. "
			    "pkcs11:token=CAPF;object=capf-ca?pin-source=file:/etc/capf/pin)");
	path = s + strlen(SCHEME);
	if (strchr(path, '#') != NULL)
		return fail(err, errlen,
			    "pkcs11 URI: a fragment ('#') is not allowed; "
			    "percent-encode '#' as %%23");
	qm = strchr(path, '?');
	if (parse_part(u, path, qm ? (size_t)(qm - path) : strlen(path), 0, &seen, err, errlen) < 0 ||
	    (qm != NULL && parse_part(u, qm + 1, strlen(qm + 1), 1, &seen, err, errlen) < 0)) {
		p11_uri_clear(u);
		return -1;
	}
	return 0;
}

static char **str_field(struct p11_uri *u, size_t i)
{
	return (char **)((char *)u + attrs[i].off);
}

void p11_uri_clear(struct p11_uri *u)
{
	if (u == NULL)
		return;
	for (size_t i = 0; i < NELEM(attrs); i++)
		if (attrs[i].kind == K_STR || attrs[i].kind == K_PINSRC || attrs[i].kind == K_MODPATH)
			free(*str_field(u, i));
	free(u->id);
	memset(u, 0, sizeof(*u));
}

int p11_uri_copy(struct p11_uri *dst, const struct p11_uri *src, char *err, size_t errlen)
{
	*dst = *src;
	for (size_t i = 0; i < NELEM(attrs); i++)
		if (attrs[i].kind == K_STR || attrs[i].kind == K_PINSRC || attrs[i].kind == K_MODPATH)
			*str_field(dst, i) = NULL;
	dst->id = NULL;
	for (size_t i = 0; i < NELEM(attrs); i++) {
		const char *v;

		if (attrs[i].kind != K_STR && attrs[i].kind != K_PINSRC && attrs[i].kind != K_MODPATH)
			continue;
		v = *(char *const *)((const char *)src + attrs[i].off);
		if (v != NULL && (*str_field(dst, i) = strdup(v)) == NULL)
			goto oom;
	}
	if (src->has_id && src->idlen > 0) {
		if ((dst->id = malloc(src->idlen)) == NULL)
			goto oom;
		memcpy(dst->id, src->id, src->idlen);
	}
	return 0;
oom:
	p11_uri_clear(dst);
	return fail(err, errlen, "pkcs11 URI: out of memory");
}

struct out {
	char *buf;
	size_t len, pos;
	int over;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->over || o->pos + n + 1 > o->len) {
		o->over = 1;
		return;
	}
	memcpy(o->buf + o->pos, s, n);
	o->pos += n;
	o->buf[o->pos] = '\0';
}

static void put_enc(struct out *o, const unsigned char *v, size_t n, int all)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		char e[3];

		if (!all && (isalnum(v[i]) || strchr("-._~/", v[i]) != NULL) && v[i] < 0x80) {
			put(o, (const char *)&v[i], 1);
			continue;
		}
		e[0] = '%';
		e[1] = hex[v[i] >> 4];
		e[2] = hex[v[i] & 15];
		put(o, e, 3);
	}
}

int p11_uri_format(const struct p11_uri *u, int with_query, char *buf, size_t len)
{
	struct out o = { buf, len, 0, 0 };
	int first = 1;

	if (len == 0)
		return -1;
	buf[0] = '\0';
	put(&o, SCHEME, strlen(SCHEME));
	for (size_t i = 0; i < NELEM(attrs); i++) {
		const struct attr *a = &attrs[i];
		char num[32];

		if (a->query)
			continue;
		if (a->kind == K_STR) {
			const char *v = *(char *const *)((const char *)u + a->off);

			if (v == NULL)
				continue;
			put(&o, first ? "" : ";", first ? 0 : 1);
			put(&o, a->name, strlen(a->name));
			put(&o, "=", 1);
			put_enc(&o, (const unsigned char *)v, strlen(v), 0);
		} else if (a->kind == K_ID && u->has_id) {
			put(&o, first ? "" : ";", first ? 0 : 1);
			put(&o, "id=", 3);
			put_enc(&o, u->id, u->idlen, 1);
		} else if (a->kind == K_TYPE && u->type != P11_TYPE_ANY) {
			put(&o, first ? "" : ";", first ? 0 : 1);
			put(&o, "type=", 5);
			put(&o, type_names[u->type], strlen(type_names[u->type]));
		} else if (a->kind == K_SLOTID && u->has_slot_id) {
			snprintf(num, sizeof(num), "%lu", u->slot_id);
			put(&o, first ? "" : ";", first ? 0 : 1);
			put(&o, "slot-id=", 8);
			put(&o, num, strlen(num));
		} else {
			continue;
		}
		first = 0;
	}
	if (with_query) {
		first = 1;
		for (size_t i = 0; i < NELEM(attrs); i++) {
			const struct attr *a = &attrs[i];
			const char *v;

			if (!a->query || a->kind == K_REFUSED)
				continue;
			v = *(char *const *)((const char *)u + a->off);
			if (v == NULL)
				continue;
			put(&o, first ? "?" : "&", 1);
			put(&o, a->name, strlen(a->name));
			put(&o, "=", 1);
			/* "file:" + "//x" would read as a host: use the empty-host form. */
			if (a->kind == K_PINSRC)
				put(&o, strncmp(v, "//", 2) == 0 ? "file://" : "file:",
				    strncmp(v, "//", 2) == 0 ? 7 : 5);
			put_enc(&o, (const unsigned char *)v, strlen(v), 0);
			first = 0;
		}
	}
	return o.over ? -1 : 0;
}
