/* appliance/common/conffile.c: capf.conf read from a file (see conffile.h). */
#include <stdio.h>
#include <stdlib.h>

#include "appliance/common/conffile.h"
#include "appliance/common/file.h"

int capf_conf_load(struct capf_conf *c, const char *path, struct capf_errlist *errs)
{
	unsigned char *text = NULL;
	size_t len = 0;
	char err[CAPF_ERRLIST_LEN];
	int r;

	capf_conf_defaults(c);
	if (capf_file_read(path, CAPF_CONF_FILE_MAX, &text, &len, err, sizeof(err)) != 0) {
		capf_errlist_add(errs, "%s", err);
		return -1;
	}
	r = capf_conf_parse(c, (const char *)text, len, path, errs);
	free(text);
	return r;
}

int capf_conf_check(const char *path, struct capf_errlist *errs)
{
	struct capf_conf *c = malloc(sizeof(*c));
	int r;

	if (c == NULL) {
		capf_errlist_add(errs, "%s: out of memory", path);
		return -1;
	}
	r = capf_conf_load(c, path, errs);
	free(c);
	return r;
}

int capf_ca_load(const char *cert_path, const char *chain_path, time_t now, struct capf_ca **out, char *err,
		 size_t errlen)
{
	unsigned char *cert = NULL, *chain = NULL;
	size_t clen = 0, chlen = 0;
	char e2[400];
	int r;

	*out = NULL;
	if (capf_file_read(cert_path, CAPF_CA_PEM_MAX, &cert, &clen, err, errlen) < 0)
		return -1;
	if (chain_path != NULL && chain_path[0] != '\0' &&
	    capf_file_read(chain_path, CAPF_CA_PEM_MAX, &chain, &chlen, err, errlen) < 0) {
		free(cert);
		return -1;
	}
	r = capf_ca_from_pem((const char *)cert, clen, (const char *)chain, chlen, now, out, e2, sizeof(e2));
	if (r < 0)
		snprintf(err, errlen, "%s%s%s: %s", cert_path, chain != NULL ? " with chain " : "",
			 chain != NULL ? chain_path : "", e2);
	free(cert);
	free(chain);
	return r;
}
