/* appliance/common/argnum.c: see argnum.h. */
#include <errno.h>
#include <stdlib.h>

#include "appliance/common/argnum.h"

int capf_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	/* strtoul would take a sign (and wrap "-1"), blanks and an empty string */
	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}
