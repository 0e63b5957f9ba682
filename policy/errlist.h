/*
 * policy/errlist.h: a bounded list of messages for people. The config parser,
 * the LSC lint and the CA checks report every finding, not only the first;
 * programs print them (one per line), libraries never do.
 */
#ifndef CAPF_POLICY_ERRLIST_H
#define CAPF_POLICY_ERRLIST_H

#include <stddef.h>

#define CAPF_ERRLIST_MAX 64  /* messages kept; more are counted */
#define CAPF_ERRLIST_LEN 512 /* bytes per message, with the NUL */

struct capf_errlist;

struct capf_errlist *capf_errlist_new(void); /* NULL when out of memory */
void capf_errlist_free(struct capf_errlist *l);
/* errs itself, or when errs is NULL a new list in *own (capf_errlist_free it after),
 * so that a check can count its findings for a caller who wants none of them.
 * NULL: out of memory. */
struct capf_errlist *capf_errlist_use(struct capf_errlist *errs, struct capf_errlist **own);
void capf_errlist_clear(struct capf_errlist *l);
/* Appends a message (truncated to CAPF_ERRLIST_LEN - 1 bytes). NULL l: ignored. */
void capf_errlist_add(struct capf_errlist *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Messages stored (at most CAPF_ERRLIST_MAX). The last stored one says
 * "... and N more" when some were dropped. */
size_t capf_errlist_count(const struct capf_errlist *l);
/* Total added, dropped ones included. */
size_t capf_errlist_total(const struct capf_errlist *l);
const char *capf_errlist_get(const struct capf_errlist *l, size_t i); /* NULL past the end */
/* Every message joined with sep into buf (truncated, always NUL-terminated). */
const char *capf_errlist_join(const struct capf_errlist *l, const char *sep, char *buf, size_t len);

#endif
