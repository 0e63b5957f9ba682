/*
 * appliance/common/argnum.h: a number from a command line.
 *
 *   capf_parse_uint  decimal digits only (no sign, no blank, nothing after),
 *                    within [min, max]
 */
#ifndef CAPF_COMMON_ARGNUM_H
#define CAPF_COMMON_ARGNUM_H

/* 0 and *out, or -1 (not such a number, or out of range). */
int capf_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);

#endif
