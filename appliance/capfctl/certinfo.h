/*
 * appliance/capfctl/certinfo.h: CAPF_CERT records as capfctl shows them
 * (subject, serial, validity, SHA-1 as in the ITL, SHA-256, key URI, chain)
 * and the phone-reset warning printed before any change of the CAPF CA or
 * the TLS certificate. Shared by capf.c, tls.c and trust.c.
 */
#ifndef CAPF_CAPFCTL_CERTINFO_H
#define CAPF_CAPFCTL_CERTINFO_H

#include <stdio.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "appliance/capfctl/capfctl.h"

#define CERT_FILE_MAX (1024 * 1024)
#define CHAIN_MAX 8

struct ctl_cert {
	int role;
	X509 *x;
	unsigned lsc_count;
	int has_lsc_count;
	char key_uri[1025];
	X509 *chain[CHAIN_MAX];
	int nchain;
};

struct certs {
	struct ctl_cert c[32];
	int n;
};

void ctl_cert_clear(struct ctl_cert *c);
int ctl_cert_decode(const struct capf_ipc_field *f, struct ctl_cert *c);
void ctl_certs_clear(struct certs *cs);
int ctl_certs_from_reply(const struct ctl_reply *r, struct certs *cs);
const struct ctl_cert *ctl_certs_find(const struct certs *cs, int role);
/* CAPF_SHOW into cs: CTL_OK or an exit code (printed). */
int ctl_fetch_certs(struct ctl *c, const char *what, struct certs *cs);

const char *ctl_x_keydesc(X509 *x, char *buf, size_t len); /* "RSA 2048", "EC prime256v1" */
const char *ctl_role_title(int role);
void ctl_cert_print(FILE *f, const struct ctl_cert *c, long warn_days);
void ctl_cert_json(FILE *f, const struct ctl_cert *c, long warn_days);
/* The phone-reset warning on stderr: for a change of the CA (ca_change) with the
 * number of phones holding LSCs from it, else for the TLS certificate. */
int ctl_reset_warning(struct ctl *c, const char *what, int ca_change);

#endif
