/* appliance/common/conffile.c: capf.conf read from a file (see conffile.h). */
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
