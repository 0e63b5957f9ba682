/* appliance/ceremony/conf.c: see conf.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libconfig.h>

#include "appliance/ceremony/conf.h"
#include "appliance/common/file.h"
#include "policy/cfgwalk.h"

#define CER_FILE_MAX (64 * 1024)

static const struct capf_cfg_key top_keys[] = {
	{ "name", CONFIG_TYPE_STRING, true },       { "operators", CONFIG_TYPE_ARRAY, true },
	{ "transcript", CONFIG_TYPE_STRING, true }, { "token", CONFIG_TYPE_GROUP, true },
	{ "key", CONFIG_TYPE_GROUP, true },         { "certificate", CONFIG_TYPE_GROUP, false },
	{ "csr", CONFIG_TYPE_GROUP, false },        { "audit_key", CONFIG_TYPE_GROUP, false },
	{ "auth_key", CONFIG_TYPE_GROUP, false },   { NULL, 0, false },
};
static const struct capf_cfg_key auth_key_keys[] = {
	{ "label", CONFIG_TYPE_STRING, true },
	{ NULL, 0, false },
};
static const struct capf_cfg_key token_keys[] = {
	{ "module", CONFIG_TYPE_STRING, false },
	{ "label", CONFIG_TYPE_STRING, true },
	{ "pin_file", CONFIG_TYPE_STRING, true },
	{ "init", CONFIG_TYPE_BOOL, false },
	{ "softhsm_dir", CONFIG_TYPE_STRING, false },
	{ "so_pin_file", CONFIG_TYPE_STRING, false },
	{ NULL, 0, false },
};
static const struct capf_cfg_key key_keys[] = {
	{ "label", CONFIG_TYPE_STRING, true },
	{ "type", CONFIG_TYPE_STRING, true },
	{ "public_key", CONFIG_TYPE_STRING, true },
	{ NULL, 0, false },
};
static const struct capf_cfg_key cert_keys[] = {
	{ "subject", CONFIG_TYPE_STRING, true },
	{ "days", CONFIG_TYPE_INT, false },
	{ "digest", CONFIG_TYPE_STRING, false },
	{ "out", CONFIG_TYPE_STRING, true },
	{ NULL, 0, false },
};
static const char *const key_types[] = { "rsa:2048", "rsa:3072", "rsa:4096", "ec:P-256",
					 "ec:P-384", "ec:P-521", NULL };
static const char *const digests[] = { "sha256", "sha384", "sha512", NULL };

static int line_of(const config_setting_t *g, const char *name)
{
	const config_setting_t *s = config_setting_get_member(g, name);

	return s != NULL ? config_setting_source_line(s) : config_setting_source_line(g);
}

static void get_str(const config_setting_t *g, const char *name, char *dst, size_t len, const char *file,
		    const char *path, struct capf_errlist *errs)
{
	const char *v = NULL;

	if (config_setting_lookup_string(g, name, &v) != CONFIG_TRUE)
		return;
	if (*v == '\0')
		capf_errlist_add(errs, "%s:%d: %s%s: must not be empty", file, line_of(g, name), path, name);
	else if (snprintf(dst, len, "%s", v) >= (int)len)
		capf_errlist_add(errs, "%s:%d: %s%s: longer than %zu bytes", file, line_of(g, name), path, name,
				 len - 1);
}

static void get_path(const config_setting_t *g, const char *name, char *dst, size_t len, const char *base,
		     const char *file, const char *path, struct capf_errlist *errs)
{
	char v[PATH_MAX] = "";

	get_str(g, name, v, sizeof(v), file, path, errs);
	if (v[0] == '\0')
		return;
	if (snprintf(dst, len, "%s%s%s", v[0] == '/' ? "" : base, v[0] == '/' ? "" : "/", v) >= (int)len)
		capf_errlist_add(errs, "%s:%d: %s%s: path too long", file, line_of(g, name), path, name);
}

static bool in_list(const char *v, const char *const *l)
{
	for (; *l != NULL; l++)
		if (strcmp(v, *l) == 0)
			return true;
	return false;
}

int cer_conf_load(struct cer_conf *c, const char *path, const char *base, struct capf_errlist *errs)
{
	config_t cfg;
	config_setting_t *root, *g, *cert, *csr, *ops;
	size_t before = capf_errlist_total(errs);
	unsigned char *text = NULL;
	size_t len = 0;
	char err[PATH_MAX + 128];
	int ival;

	memset(c, 0, sizeof(*c));
	snprintf(c->file, sizeof(c->file), "%s", path);
	snprintf(c->token.module, sizeof(c->token.module), "/usr/lib/softhsm/libsofthsm2.so");
	c->cert.days = 3650;
	snprintf(c->cert.digest, sizeof(c->cert.digest), "sha256");

	/* Read it ourselves, size capped; the strict reader refuses @include (one reviewed file). */
	if (capf_file_read(path, CER_FILE_MAX, &text, &len, err, sizeof(err)) < 0) {
		capf_errlist_add(errs, "%s", err);
		return -1;
	}
	if (capf_cfg_parse(&cfg, (const char *)text, len, CER_FILE_MAX, path, errs) != 0) {
		free(text);
		return -1;
	}
	free(text);
	root = config_root_setting(&cfg);
	if ((g = config_setting_get_member(root, "ceremony")) == NULL || config_setting_length(root) != 1 ||
	    !config_setting_is_group(g)) {
		capf_errlist_add(errs, "%s: must hold exactly one group, ceremony = { ... };", path);
		config_destroy(&cfg);
		return -1;
	}
	capf_cfg_walk(g, "ceremony", top_keys, path, errs, NULL, NULL);
	get_str(g, "name", c->name, sizeof(c->name), path, "ceremony.", errs);
	get_path(g, "transcript", c->transcript, sizeof(c->transcript), base, path, "ceremony.", errs);
	if ((ops = config_setting_get_member(g, "operators")) != NULL && config_setting_is_array(ops)) {
		int n = config_setting_length(ops);

		if (n < 1 || n > CER_OPERATORS_MAX)
			capf_errlist_add(errs, "%s:%d: ceremony.operators: name 1 to %d people", path,
					 config_setting_source_line(ops), CER_OPERATORS_MAX);
		for (int i = 0; i < n && i < CER_OPERATORS_MAX; i++) {
			const char *v = config_setting_get_string_elem(ops, i);

			if (v == NULL || *v == '\0' || strlen(v) >= CER_STR_MAX)
				capf_errlist_add(errs, "%s:%d: ceremony.operators[%d]: a non-empty name", path,
						 config_setting_source_line(ops), i);
			else
				snprintf(c->operators[c->n_operators++], CER_STR_MAX, "%s", v);
		}
	}
	if ((g = config_setting_get_member(config_setting_get_member(root, "ceremony"), "token")) != NULL &&
	    config_setting_is_group(g)) {
		int b = 0;

		capf_cfg_walk(g, "ceremony.token", token_keys, path, errs, NULL, NULL);
		get_str(g, "module", c->token.module, sizeof(c->token.module), path, "ceremony.token.", errs);
		get_str(g, "label", c->token.label, sizeof(c->token.label), path, "ceremony.token.", errs);
		get_path(g, "pin_file", c->token.pin_file, sizeof(c->token.pin_file), base, path,
			 "ceremony.token.", errs);
		if (config_setting_lookup_bool(g, "init", &b) == CONFIG_TRUE)
			c->token.init = b;
		get_path(g, "softhsm_dir", c->token.softhsm_dir, sizeof(c->token.softhsm_dir), base, path,
			 "ceremony.token.", errs);
		get_path(g, "so_pin_file", c->token.so_pin_file, sizeof(c->token.so_pin_file), base, path,
			 "ceremony.token.", errs);
		if (c->token.init && (c->token.softhsm_dir[0] == '\0' || c->token.so_pin_file[0] == '\0'))
			capf_errlist_add(errs,
					 "%s:%d: ceremony.token.init: needs softhsm_dir and so_pin_file "
					 "(initialising is for development SoftHSM tokens only)",
					 path, line_of(g, "init"));
		if (!c->token.init && c->token.softhsm_dir[0] != '\0')
			capf_errlist_add(errs, "%s:%d: ceremony.token.softhsm_dir: only with init = true", path,
					 line_of(g, "softhsm_dir"));
	}
	if ((g = config_setting_get_member(config_setting_get_member(root, "ceremony"), "key")) != NULL &&
	    config_setting_is_group(g)) {
		capf_cfg_walk(g, "ceremony.key", key_keys, path, errs, NULL, NULL);
		get_str(g, "label", c->key.label, sizeof(c->key.label), path, "ceremony.key.", errs);
		get_str(g, "type", c->key.type, sizeof(c->key.type), path, "ceremony.key.", errs);
		if (c->key.type[0] != '\0' && !in_list(c->key.type, key_types))
			capf_errlist_add(errs,
					 "%s:%d: ceremony.key.type: \"%s\" not allowed (rsa:2048 rsa:3072 "
					 "rsa:4096 ec:P-256 ec:P-384 ec:P-521)",
					 path, line_of(g, "type"), c->key.type);
		get_path(g, "public_key", c->key.public_key, sizeof(c->key.public_key), base, path,
			 "ceremony.key.", errs);
	}
	g = config_setting_get_member(config_setting_get_member(root, "ceremony"), "audit_key");
	if (g != NULL && config_setting_is_group(g)) {
		capf_cfg_walk(g, "ceremony.audit_key", key_keys, path, errs, NULL, NULL);
		get_str(g, "label", c->audit_key.label, sizeof(c->audit_key.label), path, "ceremony.audit_key.",
			errs);
		get_str(g, "type", c->audit_key.type, sizeof(c->audit_key.type), path, "ceremony.audit_key.",
			errs);
		if (c->audit_key.type[0] != '\0' && !in_list(c->audit_key.type, key_types))
			capf_errlist_add(errs,
					 "%s:%d: ceremony.audit_key.type: \"%s\" not allowed (rsa:2048 "
					 "rsa:3072 rsa:4096 ec:P-256 ec:P-384 ec:P-521)",
					 path, line_of(g, "type"), c->audit_key.type);
		get_path(g, "public_key", c->audit_key.public_key, sizeof(c->audit_key.public_key), base, path,
			 "ceremony.audit_key.", errs);
	}
	g = config_setting_get_member(config_setting_get_member(root, "ceremony"), "auth_key");
	if (g != NULL && config_setting_is_group(g)) {
		capf_cfg_walk(g, "ceremony.auth_key", auth_key_keys, path, errs, NULL, NULL);
		get_str(g, "label", c->auth_key.label, sizeof(c->auth_key.label), path, "ceremony.auth_key.",
			errs);
	}
	if (c->audit_key.label[0] != '\0' && (strcmp(c->audit_key.label, c->key.label) == 0 ||
					      strcmp(c->audit_key.label, c->auth_key.label) == 0))
		capf_errlist_add(errs, "%s: ceremony.audit_key.label \"%s\": every key needs its own label",
				 path, c->audit_key.label);
	if (c->auth_key.label[0] != '\0' && strcmp(c->auth_key.label, c->key.label) == 0)
		capf_errlist_add(errs, "%s: ceremony.auth_key.label \"%s\": every key needs its own label",
				 path, c->auth_key.label);
	g = config_setting_get_member(root, "ceremony");
	cert = config_setting_get_member(g, "certificate");
	csr = config_setting_get_member(g, "csr");
	if ((cert == NULL) == (csr == NULL)) {
		capf_errlist_add(errs,
				 "%s:%d: ceremony: name exactly one of certificate = { ... } (a self-signed "
				 "CAPF CA) or csr = { ... } (for a third-party CA)",
				 path, config_setting_source_line(g));
	} else {
		const char *pfx = cert != NULL ? "ceremony.certificate." : "ceremony.csr.";

		g = cert != NULL ? cert : csr;
		c->output = cert != NULL ? CER_OUT_CERT : CER_OUT_CSR;
		if (config_setting_is_group(g)) {
			capf_cfg_walk(g, cert != NULL ? "ceremony.certificate" : "ceremony.csr", cert_keys,
				      path, errs, NULL, NULL);
			get_str(g, "subject", c->cert.subject, sizeof(c->cert.subject), path, pfx, errs);
			get_path(g, "out", c->cert.out, sizeof(c->cert.out), base, path, pfx, errs);
			get_str(g, "digest", c->cert.digest, sizeof(c->cert.digest), path, pfx, errs);
			if (!in_list(c->cert.digest, digests))
				capf_errlist_add(errs,
						 "%s:%d: %sdigest: \"%s\" not allowed (sha256 sha384 sha512)",
						 path, line_of(g, "digest"), pfx, c->cert.digest);
			if (config_setting_lookup_int(g, "days", &ival) == CONFIG_TRUE) {
				if (csr != NULL)
					capf_errlist_add(errs,
							 "%s:%d: %sdays: the third-party CA sets the validity",
							 path, line_of(g, "days"), pfx);
				else if (ival < 1 || ival > 30 * 366)
					capf_errlist_add(errs, "%s:%d: %sdays: %d out of range (1..%d)", path,
							 line_of(g, "days"), pfx, ival, 30 * 366);
				else
					c->cert.days = (unsigned)ival;
			}
		}
	}
	config_destroy(&cfg);
	return capf_errlist_total(errs) == before ? 0 : -1;
}
