/*
 * policy/config.c: capf.conf parsing and validation (see config.h). One flat table
 * describes every setting (group, name, kind, range, where it goes); the parser walks
 * the libconfig tree against it, collects every error, then runs the cross checks.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libconfig.h>

#include "policy/cfgwalk.h"
#include "policy/config.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

enum kind {
	K_STR,         /* any printable string */
	K_ABSPATH,     /* absolute path */
	K_ABSPATH_OPT, /* absolute path or "" */
	K_P11URI,      /* "pkcs11:..." */
	K_P11URI_OPT,  /* "pkcs11:..." or "" */
	K_KEYREF,      /* absolute path or "pkcs11:..." */
	K_PINSRC,      /* "/abs" or "file:/abs" */
	K_LISTEN,      /* "IPV4:PORT" or "[IPV6]:PORT" */
	K_UINT,        /* integer in [min, max] */
	K_BOOL,
	K_ENUM,      /* string parsed by parse() */
	K_IDS,       /* list of numeric uids/gids */
	K_RSA,       /* list of RSA sizes */
	K_CURVES,    /* list of curve names */
	K_SUBJ,      /* list of subject attribute names */
	K_ENV,       /* list of "NAME" or "NAME=VALUE" */
	K_AUTHMODES, /* list of authentication mode names */
};

struct field {
	const char *group;
	const char *name;
	enum kind kind;
	size_t off;
	long long min, max;
	int (*parse)(const char *);           /* K_ENUM: value or -1 */
	void (*set)(struct capf_conf *, int); /* K_ENUM */
	const char *allowed;                  /* K_ENUM: for messages */
};

#define OFF(m) offsetof(struct capf_conf, m)

static int parse_beyond(const char *s)
{
	return strcmp(s, "truncate") == 0 ? CAPF_BEYOND_CA_TRUNCATE :
	       strcmp(s, "refuse") == 0   ? CAPF_BEYOND_CA_REFUSE :
					    -1;
}

static int parse_digest(const char *s)
{
	return strcmp(s, "sha256") == 0 ? CAPF_DIGEST_SHA256 :
	       strcmp(s, "sha384") == 0 ? CAPF_DIGEST_SHA384 :
	       strcmp(s, "sha512") == 0 ? CAPF_DIGEST_SHA512 :
					  -1;
}

static int parse_tlsver(const char *s)
{
	return strcmp(s, "1.0") == 0 ? 0x0301 :
	       strcmp(s, "1.1") == 0 ? 0x0302 :
	       strcmp(s, "1.2") == 0 ? 0x0303 :
	       strcmp(s, "1.3") == 0 ? 0x0304 :
				       -1;
}

static void set_beyond(struct capf_conf *c, int v)
{
	c->lsc.beyond_ca = (enum capf_beyond_ca)v;
}
static void set_digest(struct capf_conf *c, int v)
{
	c->lsc.digest = (enum capf_digest)v;
}
static void set_tlsver(struct capf_conf *c, int v)
{
	c->tls.min_version = v;
}
static void set_order(struct capf_conf *c, int v)
{
	c->keys.default_key_order = (enum capf_key_order)v;
}
static void set_curve(struct capf_conf *c, int v)
{
	c->keys.default_curve = (enum capf_curve)v;
}

#define STRF(g, n, k, m)                                \
	{                                               \
		g, n, k, OFF(m), 0, 0, NULL, NULL, NULL \
	}
#define UINTF(g, n, m, lo, hi)                                 \
	{                                                      \
		g, n, K_UINT, OFF(m), lo, hi, NULL, NULL, NULL \
	}
#define BOOLF(g, n, m)                                       \
	{                                                    \
		g, n, K_BOOL, OFF(m), 0, 1, NULL, NULL, NULL \
	}
#define ENUMF(g, n, p, s, a)                   \
	{                                      \
		g, n, K_ENUM, 0, 0, 0, p, s, a \
	}
#define LISTF(g, n, k, m)                               \
	{                                               \
		g, n, k, OFF(m), 0, 0, NULL, NULL, NULL \
	}

static const struct field fields[] = {
	STRF("token", "module", K_ABSPATH, token.module),
	STRF("token", "ca_key_uri", K_P11URI, token.ca_key_uri),
	STRF("token", "pin_source", K_PINSRC, token.pin_source),
	LISTF("token", "env", K_ENV, token),
	BOOLF("token", "network", token.network),
	STRF("token", "audit_key_uri", K_P11URI_OPT, token.audit_key_uri),
	STRF("token", "auth_key_uri", K_P11URI_OPT, token.auth_key_uri),
	STRF("ca", "certificate", K_ABSPATH, ca.certificate),
	STRF("ca", "chain", K_ABSPATH_OPT, ca.chain),
	STRF("tls", "certificate", K_ABSPATH, tls.certificate),
	STRF("tls", "key", K_KEYREF, tls.key),
	ENUMF("tls", "min_version", parse_tlsver, set_tlsver, "\"1.0\", \"1.1\", \"1.2\", \"1.3\""),
	BOOLF("tls", "legacy", tls.legacy),
	STRF("sockets", "dir", K_ABSPATH, sockets.dir),
	LISTF("sockets", "front_uids", K_IDS, sockets.front_uids),
	LISTF("sockets", "front_gids", K_IDS, sockets.front_gids),
	LISTF("sockets", "admin_uids", K_IDS, sockets.admin_uids),
	LISTF("sockets", "admin_gids", K_IDS, sockets.admin_gids),
	STRF("store", "path", K_ABSPATH, store.path),
	UINTF("lsc", "validity_days", lsc.validity_days, 1, 1825),
	ENUMF("lsc", "beyond_ca", parse_beyond, set_beyond, "\"truncate\", \"refuse\""),
	ENUMF("lsc", "digest", parse_digest, set_digest, "\"sha256\", \"sha384\", \"sha512\""),
	UINTF("lsc", "serial_bits", lsc.serial_bits, 64, 159),
	UINTF("lsc", "backdate_seconds", lsc.backdate_seconds, 0, 86400),
	LISTF("lsc", "copy_subject", K_SUBJ, lsc.copy_subject),
	LISTF("keys", "rsa_bits", K_RSA, keys),
	BOOLF("keys", "allow_weak_rsa", keys.allow_weak_rsa),
	LISTF("keys", "ec_curves", K_CURVES, keys.ec_curves),
	ENUMF("keys", "default_key_order", capf_key_order_parse, set_order, "\"rsa\", \"ec\", \"ec-rsa\""),
	UINTF("keys", "default_rsa_bits", keys.default_rsa_bits, 512, 4096),
	ENUMF("keys", "default_curve", capf_curve_parse, set_curve, "\"P-256\", \"P-384\", \"P-521\""),
	BOOLF("devices", "sep", devices.sep),
	BOOLF("devices", "jabber", devices.jabber),
	UINTF("devices", "max_name_length", devices.max_name_length, 4, CAPF_DEVICE_NAME_MAX),
	UINTF("auth", "string_min", auth.string_min, 4, 64),
	UINTF("auth", "string_max", auth.string_max, 4, 64),
	BOOLF("auth", "digits_only", auth.digits_only),
	UINTF("auth", "max_failed_attempts", auth.max_failed_attempts, 1, 100),
	LISTF("auth", "require_sudi", K_AUTHMODES, auth.require_sudi),
	UINTF("deadline", "min_lead_hours", deadline.min_lead_hours, 0, 168),
	UINTF("deadline", "default_days", deadline.default_days, 1, 365),
	UINTF("deadline", "max_days", deadline.max_days, 1, 3650),
	STRF("mic", "ca_dir", K_ABSPATH_OPT, mic.ca_dir),
	STRF("front", "listen", K_LISTEN, front.listen),
	UINTF("front", "max_connections", front.max_connections, 1, 1000000),
	UINTF("front", "handshake_timeout", front.handshake_timeout, 1, 300),
	UINTF("front", "idle_timeout", front.idle_timeout, 1, 3600),
	UINTF("front", "keygen_timeout", front.keygen_timeout, 10, 3600),
	UINTF("front", "retry_delay", front.retry_delay, 1, 3600),
	UINTF("front", "max_per_address", front.max_per_address, 1, 1000000),
	UINTF("front", "max_handshakes", front.max_handshakes, 1, 1000000),
	UINTF("front", "session_timeout", front.session_timeout, 30, 7200),
	UINTF("signer", "workers", signer.workers, 1, 64),
	UINTF("signer", "sessions", signer.sessions, 1, 256),
	UINTF("audit", "checkpoint_rows", audit.checkpoint_rows, 1, 1000000),
	UINTF("audit", "checkpoint_interval", audit.checkpoint_interval, 1, 86400),
};

static const char *const groups[] = {
	"token",   "ca",   "tls",      "sockets", "store", "lsc",    "keys",
	"devices", "auth", "deadline", "mic",     "front", "signer", "audit",
};

static const struct {
	const char *name;
	unsigned bit;
} subj_attrs[] = {
	{ "O", CAPF_SUBJ_O },   { "OU", CAPF_SUBJ_OU }, { "L", CAPF_SUBJ_L },
	{ "ST", CAPF_SUBJ_ST }, { "C", CAPF_SUBJ_C },
};

void capf_conf_defaults(struct capf_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->source, sizeof(c->source), "(defaults)");
	snprintf(c->token.module, sizeof(c->token.module), "/usr/lib/softhsm/libsofthsm2.so");
	snprintf(c->token.ca_key_uri, sizeof(c->token.ca_key_uri),
		 "pkcs11:token=capf;object=capf-ca;type=private");
	snprintf(c->token.pin_source, sizeof(c->token.pin_source), "/etc/capf/token.pin");
	snprintf(c->ca.certificate, sizeof(c->ca.certificate), "/etc/capf/capf-ca.pem");
	snprintf(c->tls.certificate, sizeof(c->tls.certificate), "/etc/capf/capf-tls.pem");
	snprintf(c->tls.key, sizeof(c->tls.key), "/etc/capf/capf-tls.key");
	c->tls.min_version = 0x0303;
	snprintf(c->sockets.dir, sizeof(c->sockets.dir), "/run/capf");
	snprintf(c->store.path, sizeof(c->store.path), "/var/lib/capf/capf.db");
	c->lsc.validity_days = 1825;
	c->lsc.beyond_ca = CAPF_BEYOND_CA_TRUNCATE;
	c->lsc.digest = CAPF_DIGEST_SHA256;
	c->lsc.serial_bits = 128;
	c->lsc.backdate_seconds = 300;
	c->lsc.copy_subject = CAPF_SUBJ_O | CAPF_SUBJ_OU | CAPF_SUBJ_L | CAPF_SUBJ_ST | CAPF_SUBJ_C;
	c->keys.rsa_bits[0] = 2048;
	c->keys.rsa_bits[1] = 3072;
	c->keys.rsa_bits[2] = 4096;
	c->keys.n_rsa_bits = 3;
	c->keys.allow_weak_rsa = false;
	c->keys.ec_curves = 1u << CAPF_CURVE_P256 | 1u << CAPF_CURVE_P384 | 1u << CAPF_CURVE_P521;
	c->keys.default_key_order = CAPF_KEYORDER_RSA_ONLY;
	c->keys.default_rsa_bits = 2048;
	c->keys.default_curve = CAPF_CURVE_P256;
	c->devices.sep = true;
	c->devices.jabber = true;
	c->devices.max_name_length = 15;
	c->auth.string_min = 4;
	c->auth.string_max = 10;
	c->auth.digits_only = true;
	c->auth.max_failed_attempts = 5;
	c->deadline.min_lead_hours = 1;
	c->deadline.default_days = 10;
	c->deadline.max_days = 365;
	snprintf(c->mic.ca_dir, sizeof(c->mic.ca_dir), "/etc/capf/mic-ca");
	snprintf(c->front.listen, sizeof(c->front.listen), "0.0.0.0:3804");
	c->front.max_connections = 10000;
	c->front.handshake_timeout = 10;
	c->front.idle_timeout = 60;
	c->front.keygen_timeout = 300;
	c->front.retry_delay = 60;
	c->front.max_per_address = 64;
	c->front.max_handshakes = 1024;
	c->front.session_timeout = 600;
	c->signer.workers = 16;
	c->signer.sessions = 16;
	c->audit.checkpoint_rows = 100;
	c->audit.checkpoint_interval = 300;
}

/* ---- the walk ---- */

struct walk {
	struct capf_conf *c;
	const char *file;
	struct capf_errlist *errs;
	int nerr;
	int line[NELEM(fields)]; /* 0: not set in the file */
};

static void err_at(struct walk *w, int line, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void err_at(struct walk *w, int line, const char *path, const char *fmt, ...)
{
	char msg[CAPF_ERRLIST_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w->nerr++;
	if (line > 0)
		capf_errlist_add(w->errs, "%s:%d: %s: %s", w->file, line, path, msg);
	else
		capf_errlist_add(w->errs, "%s: %s: %s", w->file, path, msg);
}

static int line_of(const config_setting_t *s)
{
	return (int)config_setting_source_line(s);
}

/* Copies a string value after checking it is printable and fits. */
static int get_string(struct walk *w, const config_setting_t *s, const char *path, const char **out)
{
	const char *v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		err_at(w, line_of(s), path, "expected a string, found %s",
		       capf_cfg_type_name(config_setting_type(s)));
		return -1;
	}
	v = config_setting_get_string(s);
	if (v == NULL)
		v = "";
	if (strlen(v) >= CAPF_CONF_STR_MAX) {
		err_at(w, line_of(s), path, "too long (at most %d bytes)", CAPF_CONF_STR_MAX - 1);
		return -1;
	}
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			err_at(w, line_of(s), path, "contains a control character (byte 0x%02x)", *p);
			return -1;
		}
	}
	*out = v;
	return 0;
}

static int check_abs(struct walk *w, const config_setting_t *s, const char *path, const char *v,
		     const char *what)
{
	if (v[0] != '/') {
		err_at(w, line_of(s), path, "\"%s\" is not allowed (expected %s)", v, what);
		return -1;
	}
	return 0;
}

static int get_uint(struct walk *w, const config_setting_t *s, const char *path, long long lo, long long hi,
		    long long *out)
{
	long long v;
	int t = config_setting_type(s);

	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
		err_at(w, line_of(s), path, "expected an integer (%lld..%lld), found %s", lo, hi,
		       capf_cfg_type_name(t));
		return -1;
	}
	v = config_setting_get_int64(s);
	if (v < lo || v > hi) {
		err_at(w, line_of(s), path, "%lld is out of range (allowed: %lld..%lld)", v, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

/* For lists: the elements of an array or a list, "" when s is neither. */
static int check_list(struct walk *w, const config_setting_t *s, const char *path, const char *of)
{
	int t = config_setting_type(s);

	if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
		err_at(w, line_of(s), path, "expected an array [ ... ] of %s, found %s", of,
		       capf_cfg_type_name(t));
		return -1;
	}
	return config_setting_length(s);
}

static void parse_ids(struct walk *w, const config_setting_t *s, const char *path, struct capf_id_list *out)
{
	char epath[200];
	int n = check_list(w, s, path, "numeric ids");
	struct capf_id_list l = { .n = 0 };
	int bad = 0;

	if (n < 0)
		return;
	if (n > CAPF_CONF_IDS_MAX) {
		err_at(w, line_of(s), path, "%d entries (at most %d)", n, CAPF_CONF_IDS_MAX);
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		long long v;

		snprintf(epath, sizeof(epath), "%s[%d]", path, i);
		if (e != NULL && config_setting_type(e) == CONFIG_TYPE_STRING) {
			err_at(w, line_of(e), epath,
			       "\"%s\" is a name; only numeric ids are accepted "
			       "(look it up with `id -u NAME` or `getent group NAME`)",
			       config_setting_get_string(e));
			bad = 1;
			continue;
		}
		if (e == NULL || get_uint(w, e, epath, 0, 4294967294LL, &v) < 0) {
			bad = 1;
			continue;
		}
		l.ids[l.n++] = (unsigned)v;
	}
	if (!bad)
		*out = l;
}

/* Names the scrub must never take from the configuration: the dynamic
 * loader's, and the ones that change where programs and libraries are found. */
static int env_name_refused(const char *name, size_t len)
{
	static const char *const refused[] = { "PATH",
					       "IFS",
					       "HOME",
					       "SHELL",
					       "TMPDIR",
					       "GCONV_PATH",
					       "LOCALDOMAIN",
					       "HOSTALIASES",
					       "RESOLV_HOST_CONF",
					       "OPENSSL_CONF",
					       "OPENSSL_MODULES",
					       "OPENSSL_ENGINES" };

	if (len >= 3 && strncmp(name, "LD_", 3) == 0)
		return 1;
	for (size_t i = 0; i < NELEM(refused); i++)
		if (strlen(refused[i]) == len && strncmp(name, refused[i], len) == 0)
			return 1;
	return 0;
}

static void parse_env(struct walk *w, const config_setting_t *s, const char *path, struct capf_conf *c)
{
	char epath[200];
	int n = check_list(w, s, path, "\"NAME\" or \"NAME=VALUE\" strings");
	size_t k = 0;
	int bad = 0;

	if (n < 0)
		return;
	if (n > CAPF_CONF_ENV_MAX) {
		err_at(w, line_of(s), path, "%d entries (at most %d)", n, CAPF_CONF_ENV_MAX);
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *v, *eq;
		size_t nl;

		snprintf(epath, sizeof(epath), "%s[%d]", path, i);
		if (e == NULL || get_string(w, e, epath, &v) < 0) {
			bad = 1;
			continue;
		}
		eq = strchr(v, '=');
		nl = eq != NULL ? (size_t)(eq - v) : strlen(v);
		if (nl == 0 ||
		    strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != nl ||
		    (v[0] >= '0' && v[0] <= '9')) {
			err_at(w, line_of(e), epath,
			       "\"%s\": expected \"NAME\" or \"NAME=VALUE\" (a name of "
			       "letters, digits and _, not starting with a digit)",
			       v);
			bad = 1;
			continue;
		}
		if (env_name_refused(v, nl)) {
			err_at(w, line_of(e), epath,
			       "\"%.*s\" is not allowed (the loader's and the shell's "
			       "variables are never kept); name only what the PKCS#11 module needs",
			       (int)nl, v);
			bad = 1;
			continue;
		}
		if (strlen(v) >= CAPF_CONF_ENV_LEN) {
			err_at(w, line_of(e), epath, "longer than %d bytes", CAPF_CONF_ENV_LEN - 1);
			bad = 1;
			continue;
		}
		for (size_t j = 0; j < k; j++)
			if (strncmp(c->token.env[j], v, nl) == 0 &&
			    (c->token.env[j][nl] == '\0' || c->token.env[j][nl] == '=')) {
				err_at(w, line_of(e), epath, "%.*s is listed twice", (int)nl, v);
				bad = 1;
			}
		snprintf(c->token.env[k++], CAPF_CONF_ENV_LEN, "%s", v);
	}
	c->token.n_env = bad ? 0 : k;
}

static void parse_rsa(struct walk *w, const config_setting_t *s, const char *path, int *line_dup)
{
	char epath[200];
	int n = check_list(w, s, path, "RSA sizes");
	unsigned v[CAPF_CONF_RSA_MAX];
	size_t k = 0;
	int bad = 0;

	if (n < 0)
		return;
	if (n > CAPF_CONF_RSA_MAX) {
		err_at(w, line_of(s), path, "%d entries (at most %d)", n, CAPF_CONF_RSA_MAX);
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		long long b;

		snprintf(epath, sizeof(epath), "%s[%d]", path, i);
		if (e == NULL || get_uint(w, e, epath, 512, 4096, &b) < 0) {
			bad = 1;
			continue;
		}
		if (b % 256 != 0) {
			err_at(w, line_of(e), epath,
			       "%lld is not allowed (RSA sizes are multiples of 256 "
			       "from 512 to 4096)",
			       b);
			bad = 1;
			continue;
		}
		for (size_t j = 0; j < k; j++) {
			if (v[j] == (unsigned)b) {
				err_at(w, line_of(e), epath, "%lld is listed twice", b);
				bad = 1;
			}
		}
		if (!bad)
			v[k++] = (unsigned)b;
	}
	if (bad)
		return;
	/* ascending */
	for (size_t i = 1; i < k; i++)
		for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
			unsigned t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	memcpy(w->c->keys.rsa_bits, v, k * sizeof(v[0]));
	w->c->keys.n_rsa_bits = k;
	(void)line_dup;
}

static void parse_names(struct walk *w, const config_setting_t *s, const char *path, enum kind kind,
			unsigned *out)
{
	char epath[200];
	int n = check_list(w, s, path,
			   kind == K_CURVES    ? "curve names" :
			   kind == K_AUTHMODES ? "authentication mode names" :
						 "attribute names");
	unsigned mask = 0;
	int bad = 0;

	if (n < 0)
		return;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *v;
		unsigned bit = 0;

		snprintf(epath, sizeof(epath), "%s[%d]", path, i);
		if (e == NULL || get_string(w, e, epath, &v) < 0) {
			bad = 1;
			continue;
		}
		if (kind == K_CURVES) {
			int cv = capf_curve_parse(v);
			if (cv >= 0)
				bit = 1u << cv;
		} else if (kind == K_AUTHMODES) {
			int m = capf_auth_mode_parse(v);
			if (m >= 0)
				bit = 1u << m;
		} else {
			for (size_t j = 0; j < NELEM(subj_attrs); j++)
				if (strcmp(v, subj_attrs[j].name) == 0)
					bit = subj_attrs[j].bit;
		}
		if (bit == 0) {
			err_at(w, line_of(e), epath, "\"%s\" is not allowed (allowed: %s)", v,
			       kind == K_CURVES    ? "\"P-256\", \"P-384\", \"P-521\"" :
			       kind == K_AUTHMODES ? "\"null\", \"string\", \"lsc-first\", \"mic-first\"" :
						     "\"O\", \"OU\", \"L\", \"ST\", \"C\"");
			bad = 1;
			continue;
		}
		if (mask & bit) {
			err_at(w, line_of(e), epath, "\"%s\" is listed twice", v);
			bad = 1;
			continue;
		}
		mask |= bit;
	}
	if (!bad)
		*out = mask;
}

static void parse_field(struct walk *w, const struct field *f, const config_setting_t *s, const char *path)
{
	char *base = (char *)w->c;
	const char *v;
	long long n;

	switch (f->kind) {
	case K_STR:
	case K_ABSPATH:
	case K_ABSPATH_OPT:
	case K_P11URI:
	case K_P11URI_OPT:
	case K_KEYREF:
	case K_PINSRC:
	case K_LISTEN: {
		struct capf_listen la;

		if (get_string(w, s, path, &v) < 0)
			return;
		if (f->kind == K_ABSPATH && check_abs(w, s, path, v, "an absolute path") < 0)
			return;
		if (f->kind == K_ABSPATH_OPT && v[0] != '\0' &&
		    check_abs(w, s, path, v, "an absolute path, or \"\" for none") < 0)
			return;
		if (f->kind == K_P11URI && strncmp(v, "pkcs11:", 7) != 0) {
			err_at(w, line_of(s), path, "\"%s\" is not allowed (expected a pkcs11: URI, RFC 7512)",
			       v);
			return;
		}
		if (f->kind == K_P11URI_OPT && v[0] != '\0' && strncmp(v, "pkcs11:", 7) != 0) {
			err_at(w, line_of(s), path,
			       "\"%s\" is not allowed (expected a pkcs11: URI, RFC 7512, "
			       "or \"\" for none)",
			       v);
			return;
		}
		if (f->kind == K_KEYREF && strncmp(v, "pkcs11:", 7) != 0 &&
		    check_abs(w, s, path, v, "an absolute path or a pkcs11: URI") < 0)
			return;
		if (f->kind == K_PINSRC) {
			if (strncmp(v, "file:", 5) == 0)
				v += 5;
			if (check_abs(w, s, path, v, "an absolute path or file:/absolute/path") < 0)
				return;
		}
		if (f->kind == K_LISTEN && capf_listen_parse(v, &la) < 0) {
			err_at(w, line_of(s), path,
			       "\"%s\" is not allowed (expected a numeric address and "
			       "a port 1..65535: \"IPV4:PORT\" or \"[IPV6]:PORT\", e.g. \"0.0.0.0:3804\", "
			       "\"[::]:3804\")",
			       v);
			return;
		}
		snprintf(base + f->off, CAPF_CONF_STR_MAX, "%s", v);
		break;
	}
	case K_UINT:
		if (get_uint(w, s, path, f->min, f->max, &n) == 0)
			*(unsigned *)(void *)(base + f->off) = (unsigned)n;
		break;
	case K_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			err_at(w, line_of(s), path, "expected true or false, found %s",
			       capf_cfg_type_name(config_setting_type(s)));
		else
			*(bool *)(void *)(base + f->off) = config_setting_get_bool(s) != 0;
		break;
	case K_ENUM: {
		int e;
		if (get_string(w, s, path, &v) < 0)
			return;
		e = f->parse(v);
		if (e < 0)
			err_at(w, line_of(s), path, "\"%s\" is not allowed (allowed: %s)", v, f->allowed);
		else
			f->set(w->c, e);
		break;
	}
	case K_IDS:
		parse_ids(w, s, path, (struct capf_id_list *)(void *)(base + f->off));
		break;
	case K_RSA:
		parse_rsa(w, s, path, NULL);
		break;
	case K_CURVES:
	case K_SUBJ:
	case K_AUTHMODES:
		parse_names(w, s, path, f->kind, (unsigned *)(void *)(base + f->off));
		break;
	case K_ENV:
		parse_env(w, s, path, w->c);
		break;
	}
}

struct group_walk {
	struct walk *w;
	size_t map[NELEM(fields)]; /* index in the group's key table -> fields[] */
};

static void group_field(void *arg, size_t k, const config_setting_t *s, const char *path)
{
	struct group_walk *gw = arg;

	gw->w->line[gw->map[k]] = line_of(s);
	parse_field(gw->w, &fields[gw->map[k]], s, path);
}

/* A group's settings, from the table (the values' types are checked by parse_field). */
static void walk_group(struct walk *w, const config_setting_t *g, const char *gname)
{
	struct capf_cfg_key keys[NELEM(fields) + 1];
	struct group_walk gw = { .w = w };
	size_t n = 0;

	for (size_t k = 0; k < NELEM(fields); k++)
		if (strcmp(fields[k].group, gname) == 0) {
			keys[n] = (struct capf_cfg_key){ fields[k].name, 0, false };
			gw.map[n++] = k;
		}
	keys[n] = (struct capf_cfg_key){ NULL, 0, false };
	w->nerr += capf_cfg_walk(g, gname, keys, w->file, w->errs, group_field, &gw);
}

static void root_group(void *arg, size_t k, const config_setting_t *s, const char *path)
{
	walk_group(arg, s, groups[k]);
}

static void walk_root(struct walk *w, const config_setting_t *root)
{
	struct capf_cfg_key keys[NELEM(groups) + 1];

	for (size_t k = 0; k < NELEM(groups); k++)
		keys[k] = (struct capf_cfg_key){ groups[k], CONFIG_TYPE_GROUP, false };
	keys[NELEM(groups)] = (struct capf_cfg_key){ NULL, 0, false };
	w->nerr += capf_cfg_walk(root, "", keys, w->file, w->errs, root_group, w);
}

/* ---- cross checks ---- */

static int field_index(const char *group, const char *name)
{
	for (size_t k = 0; k < NELEM(fields); k++)
		if (strcmp(fields[k].group, group) == 0 && strcmp(fields[k].name, name) == 0)
			return (int)k;
	return 0;
}

/* The line of the first of these settings that the file sets (0: none). */
static int line_any(const struct walk *w, const char *group, const char *a, const char *b)
{
	int la = w->line[field_index(group, a)];
	int lb = b != NULL ? w->line[field_index(group, b)] : 0;
	return la ? la : lb;
}

static void cross_check(struct walk *w)
{
	struct capf_conf *c = w->c;
	char path[160];
	unsigned long long need;

	if (c->auth.string_min > c->auth.string_max) {
		snprintf(path, sizeof(path), "auth.string_min");
		err_at(w, line_any(w, "auth", "string_min", "string_max"), path,
		       "%u is greater than auth.string_max (%u)", c->auth.string_min, c->auth.string_max);
	}
	for (size_t i = 0; i < c->keys.n_rsa_bits; i++) {
		if (c->keys.rsa_bits[i] < 2048 && !c->keys.allow_weak_rsa)
			err_at(w, line_any(w, "keys", "rsa_bits", "allow_weak_rsa"), "keys.rsa_bits",
			       "%u is below 2048 bits; such keys are refused unless keys.allow_weak_rsa = true "
			       "(only for old phones that cannot do better)",
			       c->keys.rsa_bits[i]);
	}
	if (c->keys.n_rsa_bits == 0 && c->keys.ec_curves == 0)
		err_at(w, line_any(w, "keys", "rsa_bits", "ec_curves"), "keys",
		       "keys.rsa_bits and keys.ec_curves are both empty: no key could be accepted");
	if (c->keys.n_rsa_bits > 0 && !capf_conf_rsa_allowed(c, c->keys.default_rsa_bits))
		err_at(w, line_any(w, "keys", "default_rsa_bits", "rsa_bits"), "keys.default_rsa_bits",
		       "%u is not one of keys.rsa_bits", c->keys.default_rsa_bits);
	if (c->keys.ec_curves != 0 && !capf_conf_curve_allowed(c, c->keys.default_curve))
		err_at(w, line_any(w, "keys", "default_curve", "ec_curves"), "keys.default_curve",
		       "%s is not one of keys.ec_curves", capf_curve_name(c->keys.default_curve));
	if (c->keys.default_key_order != CAPF_KEYORDER_EC_ONLY && c->keys.n_rsa_bits == 0)
		err_at(w, line_any(w, "keys", "default_key_order", "rsa_bits"), "keys.default_key_order",
		       "\"%s\" needs RSA but keys.rsa_bits is empty",
		       capf_key_order_name(c->keys.default_key_order));
	if (c->keys.default_key_order != CAPF_KEYORDER_RSA_ONLY && c->keys.ec_curves == 0)
		err_at(w, line_any(w, "keys", "default_key_order", "ec_curves"), "keys.default_key_order",
		       "\"%s\" needs EC but keys.ec_curves is empty",
		       capf_key_order_name(c->keys.default_key_order));
	if (!c->devices.sep && !c->devices.jabber)
		err_at(w, line_any(w, "devices", "sep", "jabber"), "devices",
		       "devices.sep and devices.jabber are both false: no device could enroll");
	if (c->deadline.default_days > c->deadline.max_days)
		err_at(w, line_any(w, "deadline", "default_days", "max_days"), "deadline.default_days",
		       "%u is greater than deadline.max_days (%u)", c->deadline.default_days,
		       c->deadline.max_days);
	if ((unsigned long long)c->deadline.min_lead_hours >= (unsigned long long)c->deadline.default_days * 24)
		err_at(w, line_any(w, "deadline", "min_lead_hours", "default_days"), "deadline.min_lead_hours",
		       "%u hours is not less than deadline.default_days (%u days)", c->deadline.min_lead_hours,
		       c->deadline.default_days);
	if (c->tls.legacy) {
		/* legacy implies TLS 1.0 unless the file says "1.0" or "1.1" itself */
		if (w->line[field_index("tls", "min_version")] == 0)
			c->tls.min_version = 0x0301;
		else if (c->tls.min_version > 0x0302)
			err_at(w, line_any(w, "tls", "min_version", "legacy"), "tls.min_version",
			       "\"%s\" contradicts tls.legacy = true (old phones speak TLS 1.0): "
			       "drop tls.min_version (legacy implies \"1.0\") or set it to \"1.0\"",
			       capf_tls_version_name(c->tls.min_version));
		if (strncmp(c->tls.key, "pkcs11:", 7) == 0)
			err_at(w, line_any(w, "tls", "legacy", "key"), "tls.legacy",
			       "needs the TLS key in a file: static-RSA key transport needs an RSA "
			       "decryption with the key, which the token through capfhsm does not offer "
			       "(tls.key is \"%s\")",
			       c->tls.key);
	}
	if (c->signer.sessions < c->signer.workers)
		err_at(w, line_any(w, "signer", "sessions", "workers"), "signer.sessions",
		       "%u is less than signer.workers (%u): each worker needs its own token session",
		       c->signer.sessions, c->signer.workers);
	if (w->line[field_index("front", "max_per_address")] == 0 &&
	    c->front.max_per_address > c->front.max_connections)
		c->front.max_per_address = c->front.max_connections; /* unset: at most the total */
	else if (c->front.max_per_address > c->front.max_connections)
		err_at(w, line_any(w, "front", "max_per_address", "max_connections"), "front.max_per_address",
		       "%u is greater than front.max_connections (%u)", c->front.max_per_address,
		       c->front.max_connections);
	need = (unsigned long long)c->front.handshake_timeout + c->front.keygen_timeout +
	       2ull * c->front.idle_timeout;
	if (w->line[field_index("front", "session_timeout")] == 0 && c->front.session_timeout < need + 60)
		c->front.session_timeout = (unsigned)(need + 60); /* unset: follows the others */
	else if (c->front.session_timeout < need)
		err_at(w, line_any(w, "front", "session_timeout", "keygen_timeout"), "front.session_timeout",
		       "%u seconds is less than front.handshake_timeout + front.keygen_timeout + "
		       "2 * front.idle_timeout (%llu): a phone could not finish an enrollment",
		       c->front.session_timeout,
		       (unsigned long long)c->front.handshake_timeout + c->front.keygen_timeout +
			       2ull * c->front.idle_timeout);
}

/* ---- entry points ---- */

int capf_conf_parse(struct capf_conf *c, const char *text, size_t len, const char *name,
		    struct capf_errlist *errs)
{
	struct walk w = { .c = c, .file = name != NULL ? name : "(string)", .errs = errs };
	config_t cfg;

	capf_conf_defaults(c);
	if (capf_cfg_parse(&cfg, text, len, CAPF_CONF_FILE_MAX, w.file, errs) != 0)
		return -1;
	snprintf(c->source, sizeof(c->source), "%s", w.file);
	walk_root(&w, config_root_setting(&cfg));
	if (w.nerr == 0)
		cross_check(&w);
	config_destroy(&cfg);
	if (w.nerr != 0) {
		capf_conf_defaults(c);
		return -1;
	}
	return 0;
}

/* ---- front.listen ---- */

int capf_listen_parse(const char *spec, struct capf_listen *out)
{
	char host[INET6_ADDRSTRLEN];
	const char *colon, *p;
	unsigned long port = 0;
	size_t hl;

	memset(out, 0, sizeof(*out));
	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (rb == NULL || rb[1] != ':')
			return -1;
		hl = (size_t)(rb - spec - 1);
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, spec + 1, hl);
		colon = rb + 1;
	} else {
		colon = strrchr(spec, ':');
		if (colon == NULL)
			return -1;
		hl = (size_t)(colon - spec);
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, spec, hl);
	}
	host[hl] = '\0';
	/* the port: 1 to 5 decimal digits, 1..65535 */
	for (p = colon + 1; *p >= '0' && *p <= '9' && p - colon <= 5; p++)
		port = port * 10 + (unsigned long)(*p - '0');
	if (*p != '\0' || p == colon + 1 || port == 0 || port > 65535)
		return -1;
	out->v6 = spec[0] == '[';
	if (inet_pton(out->v6 ? AF_INET6 : AF_INET, host, out->addr) != 1)
		return -1;
	out->port = (uint16_t)port;
	return 0;
}

bool capf_conf_rsa_allowed(const struct capf_conf *c, unsigned bits)
{
	for (size_t i = 0; i < c->keys.n_rsa_bits && i < CAPF_CONF_RSA_MAX; i++)
		if (c->keys.rsa_bits[i] == bits)
			return true;
	return false;
}

bool capf_conf_curve_allowed(const struct capf_conf *c, enum capf_curve curve)
{
	return (unsigned)curve <= CAPF_CURVE_P521 && (c->keys.ec_curves & (1u << curve)) != 0;
}

static bool id_in(const struct capf_id_list *l, unsigned id)
{
	for (size_t i = 0; i < l->n && i < CAPF_CONF_IDS_MAX; i++)
		if (l->ids[i] == id)
			return true;
	return false;
}

bool capf_conf_peer_allowed(const struct capf_conf *c, enum capf_role role, uid_t uid, gid_t gid)
{
	if (role == CAPF_ROLE_FRONT)
		return id_in(&c->sockets.front_uids, uid) || id_in(&c->sockets.front_gids, gid);
	if (role == CAPF_ROLE_ADMIN)
		return id_in(&c->sockets.admin_uids, uid) || id_in(&c->sockets.admin_gids, gid);
	return false;
}

const char *capf_digest_name(enum capf_digest d)
{
	return d == CAPF_DIGEST_SHA256 ? "sha256" :
	       d == CAPF_DIGEST_SHA384 ? "sha384" :
	       d == CAPF_DIGEST_SHA512 ? "sha512" :
					 "unknown";
}

const char *capf_beyond_ca_name(enum capf_beyond_ca b)
{
	return b == CAPF_BEYOND_CA_TRUNCATE ? "truncate" : b == CAPF_BEYOND_CA_REFUSE ? "refuse" : "unknown";
}

const char *capf_tls_version_name(int v)
{
	return v == 0x0301 ? "1.0" :
	       v == 0x0302 ? "1.1" :
	       v == 0x0303 ? "1.2" :
	       v == 0x0304 ? "1.3" :
			     "unknown";
}
