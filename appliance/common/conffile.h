/*
 * appliance/common/conffile.h: capf.conf from a file, for the programs. The
 * file is read here (a regular file, capped at CAPF_CONF_FILE_MAX, a FIFO refused
 * without waiting); policy/config.h's capf_conf_parse validates the text.
 */
#ifndef CAPF_COMMON_CONFFILE_H
#define CAPF_COMMON_CONFFILE_H

#include "policy/config.h"

/* Reads and validates path. On success fills *c (defaults overlaid by the file) and
 * returns 0. Otherwise returns -1, leaves *c with the defaults, and errs holds every
 * error (errs may be NULL), each naming the file. */
int capf_conf_load(struct capf_conf *c, const char *path, struct capf_errlist *errs);

/* For `capf-signerd --check-config FILE`: 0 when valid, else -1 with every error. */
int capf_conf_check(const char *path, struct capf_errlist *errs);

#endif
