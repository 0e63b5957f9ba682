/* appliance/common/version: the one version string of every program.
 *
 * It comes from the top-level VERSION file (the Makefile passes it as CAPF_VERSION
 * when it compiles version.c only; the Debian package reads the same file).
 *
 *   capf_version()                        "0.9.0"
 *   capf_version_option(argc, argv, prog) when argv[1] is --version: prints
 *                                         "PROG VERSION" on stdout and returns 1
 *                                         (the caller exits 0); otherwise 0
 */
#ifndef CAPF_COMMON_VERSION_H
#define CAPF_COMMON_VERSION_H

const char *capf_version(void);
int capf_version_option(int argc, char **argv, const char *prog);

#endif
