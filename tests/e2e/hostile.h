/*
 * tests/e2e/hostile.h: the parts of capf-hostile (tests/e2e/capf_hostile.c, the main
 * program and the CAPF/TLS cases) kept in other files.
 *   hostile_ipc   the ipc-* cases (tests/e2e/hostile_ipc.c): c is the case, argv its
 *                 arguments; the exit status
 */
#ifndef CAPF_TESTS_HOSTILE_H
#define CAPF_TESTS_HOSTILE_H

int hostile_ipc(const char *c, int argc, char **argv);

#endif
