/*
 * appliance/common/conffile.h: capf.conf and the CA files it names, read for the
 * programs (regular files only, capped before allocation, a FIFO refused without
 * waiting); policy/ validates the text (capf_conf_parse, capf_ca_from_pem).
 */
#ifndef CAPF_COMMON_CONFFILE_H
#define CAPF_COMMON_CONFFILE_H

#include <stddef.h>
#include <time.h>

#include "policy/chain.h"
#include "policy/config.h"

/* Reads and validates path. On success fills *c (defaults overlaid by the file) and
 * returns 0. Otherwise returns -1, leaves *c with the defaults, and errs holds every
 * error (errs may be NULL), each naming the file. */
int capf_conf_load(struct capf_conf *c, const char *path, struct capf_errlist *errs);

/* For `capf-signerd --check-config FILE`: 0 when valid, else -1 with every error. */
int capf_conf_check(const char *path, struct capf_errlist *errs);

/* The CAPF CA certificate and chain files capf.conf names (regular files of at
 * most CAPF_CA_PEM_MAX bytes), checked by policy's capf_ca_from_pem. chain_path:
 * NULL or "" for a self-signed CAPF CA. Returns 0 and *out (capf_ca_free), or -1
 * with err naming the file. */
int capf_ca_load(const char *cert_path, const char *chain_path, time_t now, struct capf_ca **out, char *err,
		 size_t errlen);

#endif
