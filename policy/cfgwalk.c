/* policy/cfgwalk.c: the strict libconfig reader and group walker (see cfgwalk.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libconfig.h>

#include "policy/cfgwalk.h"

/*
 * libconfig 1.5 reads an integer literal without the L suffix into an int and wraps
 * silently (4294967297 becomes 1). Before parsing, find such literals (outside
 * strings and comments) and refuse them; with the L suffix they are read as 64-bit.
 * Also finds @include directives (a line starting with @include) and strings left
 * open at the end of the text.
 */
static int prescan(const char *t, size_t len, const char *file, struct capf_errlist *errs)
{
	int line = 1, bad = 0, bol = 1;
	size_t i = 0;

	while (i < len) {
		char ch = t[i];

		if (ch == '\n') {
			line++;
			bol = 1;
			i++;
			continue;
		}
		if (ch == ' ' || ch == '\t' || ch == '\r') {
			i++;
			continue;
		}
		if (bol && ch == '@' && len - i >= 8 && strncasecmp(t + i, "@include", 8) == 0) {
			capf_errlist_add(errs,
					 "%s:%d: @include is not allowed (keep the whole configuration in "
					 "one reviewed file)",
					 file, line);
			bad++;
		}
		bol = 0;
		if (ch == '#' || (ch == '/' && i + 1 < len && t[i + 1] == '/')) {
			while (i < len && t[i] != '\n')
				i++;
		} else if (ch == '/' && i + 1 < len && t[i + 1] == '*') {
			for (i += 2; i < len && !(t[i] == '*' && i + 1 < len && t[i + 1] == '/'); i++)
				line += t[i] == '\n';
			i += 2;
		} else if (ch == '"') {
			int sline = line;
			for (i++; i < len && t[i] != '"'; i++) {
				if (t[i] == '\\')
					i++;
				else if (t[i] == '\n')
					line++;
			}
			if (i >= len) {
				/* (libconfig 1.5 also leaks its buffer on this one) */
				capf_errlist_add(errs, "%s:%d: syntax error: unterminated string", file, sline);
				return -1;
			}
			i++;
		} else if (isalpha((unsigned char)ch) || ch == '*' || ch == '_') {
			while (i < len && (isalnum((unsigned char)t[i]) || strchr("-_*", t[i]) != NULL))
				i++;
		} else if (isdigit((unsigned char)ch)) {
			unsigned long long v = 0;
			int hex = ch == '0' && i + 1 < len && (t[i + 1] == 'x' || t[i + 1] == 'X');
			int big = 0;
			size_t start = i;

			if (hex)
				i += 2;
			for (; i < len && (hex ? isxdigit((unsigned char)t[i]) : isdigit((unsigned char)t[i]));
			     i++) {
				unsigned d = (unsigned)(isdigit((unsigned char)t[i]) ?
								t[i] - '0' :
								tolower((unsigned char)t[i]) - 'a' + 10);
				if (v > 0xffffffffULL)
					big = 1;
				else
					v = v * (hex ? 16 : 10) + d;
			}
			if ((big || v > 0x7fffffffULL) && !(i < len && (t[i] == 'L' || t[i] == 'l')) &&
			    !(i < len && (t[i] == '.' || t[i] == 'e' || t[i] == 'E'))) {
				capf_errlist_add(
					errs,
					"%s:%d: the integer %.*s is too large for a plain integer "
					"(write it with an L suffix; it is out of range anyway for every setting "
					"but ids)",
					file, line, (int)(i - start > 30 ? 30 : i - start), t + start);
				bad++;
			}
			/* the rest of the token (L suffix, fraction, exponent) */
			while (i < len && (isalnum((unsigned char)t[i]) || t[i] == '.'))
				i++;
		} else
			i++;
	}
	return bad ? -1 : 0;
}

int capf_cfg_parse(config_t *cfg, const char *text, size_t len, size_t max, const char *file,
		   struct capf_errlist *errs)
{
	char *copy;

	if (len > max) {
		capf_errlist_add(errs, "%s: too large (%zu bytes, at most %zu)", file, len, max);
		return -1;
	}
	if (memchr(text, '\0', len) != NULL) {
		capf_errlist_add(errs, "%s: contains a NUL byte (not a text file?)", file);
		return -1;
	}
	if (prescan(text, len, file, errs) < 0)
		return -1;
	if ((copy = malloc(len + 1)) == NULL) {
		capf_errlist_add(errs, "%s: out of memory", file);
		return -1;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	config_init(cfg);
	config_set_options(cfg, 0); /* no autoconversion between types */
	if (config_read_string(cfg, copy) != CONFIG_TRUE) {
		const char *t = config_error_text(cfg);

		capf_errlist_add(errs, "%s:%d: syntax error: %s", file, config_error_line(cfg),
				 t != NULL ? t : "unknown");
		config_destroy(cfg);
		free(copy);
		return -1;
	}
	free(copy);
	return 0;
}

const char *capf_cfg_type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP:
		return "a group { ... }";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a floating-point number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "true or false";
	case CONFIG_TYPE_ARRAY:
		return "an array [ ... ]";
	case CONFIG_TYPE_LIST:
		return "a list ( ... )";
	default:
		return "something else";
	}
}

static int same_type(int want, int got)
{
	if (want == 0 || want == got)
		return 1;
	return want == CONFIG_TYPE_INT && got == CONFIG_TYPE_INT64;
}

int capf_cfg_walk(const config_setting_t *g, const char *path, const struct capf_cfg_key *keys,
		  const char *file, struct capf_errlist *errs, capf_cfg_each_fn *each, void *arg)
{
	int n = config_setting_length(g), nerr = 0;
	char sp[200];

	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = s != NULL ? config_setting_name(s) : NULL;
		int line = s != NULL ? (int)config_setting_source_line(s) : 0;
		size_t k;

		if (name == NULL)
			continue;
		snprintf(sp, sizeof(sp), "%s%s%s", path, path[0] ? "." : "", name);
		for (k = 0; keys[k].name != NULL && strcmp(keys[k].name, name) != 0; k++)
			;
		if (keys[k].name == NULL) {
			char known[400];
			size_t off = 0;

			known[0] = '\0';
			for (size_t j = 0; keys[j].name != NULL && off < sizeof(known); j++)
				off += (size_t)snprintf(known + off, sizeof(known) - off, "%s%s",
							off ? ", " : "", keys[j].name);
			if (path[0])
				capf_errlist_add(errs, "%s:%d: %s: unknown setting (known in %s: %s)", file,
						 line, sp, path, known);
			else
				capf_errlist_add(errs, "%s:%d: %s: unknown setting (known groups: %s)", file,
						 line, sp, known);
			nerr++;
			continue;
		}
		if (!same_type(keys[k].type, config_setting_type(s))) {
			capf_errlist_add(errs, "%s:%d: %s: expected %s, found %s", file, line, sp,
					 capf_cfg_type_name(keys[k].type),
					 capf_cfg_type_name(config_setting_type(s)));
			nerr++;
			continue;
		}
		if (each != NULL)
			each(arg, k, s, sp);
	}
	for (size_t k = 0; keys[k].name != NULL; k++)
		if (keys[k].required && config_setting_get_member(g, keys[k].name) == NULL) {
			int line = (int)config_setting_source_line(g); /* 0 for the root */
			char at[16] = "";

			if (line > 0)
				snprintf(at, sizeof(at), ":%d", line);
			capf_errlist_add(errs, "%s%s: %s%s%s: required setting missing", file, at, path,
					 path[0] ? "." : "", keys[k].name);
			nerr++;
		}
	return nerr;
}
