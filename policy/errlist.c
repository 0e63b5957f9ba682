/* policy/errlist.c: a bounded list of messages (see errlist.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/errlist.h"

struct capf_errlist {
	size_t n;     /* stored */
	size_t total; /* added */
	char msg[CAPF_ERRLIST_MAX][CAPF_ERRLIST_LEN];
};

struct capf_errlist *capf_errlist_new(void)
{
	return calloc(1, sizeof(struct capf_errlist));
}

void capf_errlist_free(struct capf_errlist *l)
{
	free(l);
}

struct capf_errlist *capf_errlist_use(struct capf_errlist *errs, struct capf_errlist **own)
{
	*own = errs == NULL ? capf_errlist_new() : NULL;
	return errs != NULL ? errs : *own;
}

void capf_errlist_clear(struct capf_errlist *l)
{
	if (l != NULL)
		l->n = l->total = 0;
}

void capf_errlist_add(struct capf_errlist *l, const char *fmt, ...)
{
	va_list ap;

	if (l == NULL)
		return;
	l->total++;
	if (l->n < CAPF_ERRLIST_MAX - 1) {
		va_start(ap, fmt);
		vsnprintf(l->msg[l->n], CAPF_ERRLIST_LEN, fmt, ap);
		va_end(ap);
		l->n++;
	} else {
		/* the last slot says how many were dropped */
		snprintf(l->msg[CAPF_ERRLIST_MAX - 1], CAPF_ERRLIST_LEN, "... and %zu more",
			 l->total - (CAPF_ERRLIST_MAX - 1));
		l->n = CAPF_ERRLIST_MAX;
	}
}

size_t capf_errlist_count(const struct capf_errlist *l)
{
	return l != NULL ? l->n : 0;
}

size_t capf_errlist_total(const struct capf_errlist *l)
{
	return l != NULL ? l->total : 0;
}

const char *capf_errlist_get(const struct capf_errlist *l, size_t i)
{
	return l != NULL && i < l->n ? l->msg[i] : NULL;
}

const char *capf_errlist_join(const struct capf_errlist *l, const char *sep, char *buf, size_t len)
{
	size_t off = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; l != NULL && i < l->n && off < len - 1; i++) {
		int r = snprintf(buf + off, len - off, "%s%s", i ? sep : "", l->msg[i]);
		if (r < 0)
			break;
		off += (size_t)r;
	}
	return buf;
}
