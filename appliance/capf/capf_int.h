/* appliance/capf/capf_int.h: internal to the CAPF codec (not for other modules). */
#ifndef CAPF_CAPF_INT_H
#define CAPF_CAPF_INT_H

#include "appliance/capf/msg.h"

/* Appends an element header for a value of len bytes and returns where the
 * caller writes exactly len bytes; NULL on error (sticky in b). */
uint8_t *capf_build_elem(struct capf_builder *b, uint8_t tag, size_t len);
/* Records the first error in b; returns it. */
int capf_build_fail(struct capf_builder *b, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
