/*
 * policy/cfgwalk.h: the one strict reader of libconfig files, shared by capf.conf
 * (policy/config.c) and the ceremony's configuration (appliance/ceremony/conf.c).
 * Text in, tree out (no I/O: the caller reads the file). Every error names the
 * file, the line and the setting, and every error is reported, not only the first:
 *   FILE:LINE: PATH: unknown setting (known in GROUP: a, b, c)
 *   FILE:LINE: PATH: expected a string, found an integer
 *   FILE:LINE: PATH: required setting missing
 */
#ifndef CAPF_POLICY_CFGWALK_H
#define CAPF_POLICY_CFGWALK_H

#include <stdbool.h>
#include <stddef.h>
#include <libconfig.h>

#include "policy/errlist.h"

/* Parses text (len bytes, at most max) with no conversion between types, after
 * refusing what libconfig 1.5 gets wrong or what one reviewed file must not hold:
 * a NUL byte, @include, an integer literal too large for an int without the L
 * suffix (libconfig wraps it), a string left open. 0 with *cfg to config_destroy,
 * or -1 (nothing to destroy) with every error in errs. */
int capf_cfg_parse(config_t *cfg, const char *text, size_t len, size_t max, const char *file,
		   struct capf_errlist *errs);

/* "a string", "an integer", "a group { ... }", ... (for "expected X, found Y"). */
const char *capf_cfg_type_name(int type);

/* One setting a group may hold. */
struct capf_cfg_key {
	const char *name; /* NULL ends a table */
	int type;         /* CONFIG_TYPE_*; 0: any (the caller checks it in its own words) */
	bool required;
};

/* Called for every member of a group that is in the table and of its type: k is
 * its index in the table, path "group.name" (or "name" at the root). */
typedef void capf_cfg_each_fn(void *arg, size_t k, const config_setting_t *s, const char *path);

/* Walks the members of group g (path: its own path, "" for the root) against keys:
 * refuses an unknown member (naming the known ones) and one of the wrong type,
 * calls each (may be NULL) for the others, then names every required member
 * missing. Returns the number of errors added to errs. */
int capf_cfg_walk(const config_setting_t *g, const char *path, const struct capf_cfg_key *keys,
		  const char *file, struct capf_errlist *errs, capf_cfg_each_fn *each, void *arg);

#endif
