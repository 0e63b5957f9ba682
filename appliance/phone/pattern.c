/* appliance/phone/pattern.c: device-name patterns for the load mode (see phone.h). */
#include <stdio.h>
#include <string.h>

#include "appliance/phone/phone.h"

/* Copies s[0..n) into dst (size cap), turning "%%" into "%"; -1 on a lone '%'. */
static int literal(char *dst, size_t cap, const char *s, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (i + 1 >= n || s[i + 1] != '%')
				return -1;
			i++;
		}
		if (j + 1 >= cap)
			return -1;
		dst[j++] = s[i];
	}
	dst[j] = '\0';
	return 0;
}

int phone_pattern_parse(struct phone_pattern *p, const char *s, char *err, size_t errlen)
{
	const char *c = NULL, *q;

	memset(p, 0, sizeof(*p));
	for (q = s; *q != '\0'; q++) {
		if (*q != '%')
			continue;
		if (q[1] == '%') {
			q++;
			continue;
		}
		if (c != NULL) {
			snprintf(err, errlen, "name pattern \"%s\": more than one conversion", s);
			return -1;
		}
		c = q;
	}
	if (c == NULL) {
		snprintf(err, errlen, "name pattern \"%s\": no conversion (e.g. SEP%%012X)", s);
		return -1;
	}
	q = c + 1;
	if (*q == '0') {
		p->zero = 1;
		q++;
	}
	while (*q >= '0' && *q <= '9' && p->width < 64)
		p->width = p->width * 10 + (*q++ - '0');
	if (p->width >= 64 || (*q != 'X' && *q != 'x' && *q != 'd' && *q != 'u')) {
		snprintf(err, errlen, "name pattern \"%s\": the conversion must be %%[0][width]X, x, d or u",
			 s);
		return -1;
	}
	p->conv = *q;
	if (literal(p->prefix, sizeof(p->prefix), s, (size_t)(c - s)) != 0 ||
	    literal(p->suffix, sizeof(p->suffix), q + 1, strlen(q + 1)) != 0) {
		snprintf(err, errlen, "name pattern \"%s\": stray %% or too long", s);
		return -1;
	}
	return 0;
}

int phone_pattern_format(const struct phone_pattern *p, unsigned long n, char *buf, size_t len)
{
	char num[64];
	int w;

	switch (p->conv) {
	case 'X':
		w = p->zero ? snprintf(num, sizeof(num), "%0*lX", p->width, n) :
			      snprintf(num, sizeof(num), "%*lX", p->width, n);
		break;
	case 'x':
		w = p->zero ? snprintf(num, sizeof(num), "%0*lx", p->width, n) :
			      snprintf(num, sizeof(num), "%*lx", p->width, n);
		break;
	default:
		w = p->zero ? snprintf(num, sizeof(num), "%0*lu", p->width, n) :
			      snprintf(num, sizeof(num), "%*lu", p->width, n);
		break;
	}
	if (w < 0 || (size_t)w >= sizeof(num))
		return -1;
	w = snprintf(buf, len, "%s%s%s", p->prefix, num, p->suffix);
	return w < 0 || (size_t)w >= len ? -1 : 0;
}
