/* appliance/common/version: see version.h. */
#include "appliance/common/version.h"

#include <stdio.h>
#include <string.h>

#ifndef CAPF_VERSION
#error "CAPF_VERSION is defined by the Makefile from the top-level VERSION file"
#endif

const char *capf_version(void)
{
	return CAPF_VERSION;
}

int capf_version_option(int argc, char **argv, const char *prog)
{
	if (argc < 2 || argv[1] == NULL || strcmp(argv[1], "--version") != 0)
		return 0;
	printf("%s %s\n", prog, CAPF_VERSION);
	fflush(stdout);
	return 1;
}
