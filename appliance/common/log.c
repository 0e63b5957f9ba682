/* appliance/common/log.c: see log.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "appliance/common/log.h"
#include "appliance/common/sdnotify.h"

static int log_stderr;
static int log_verbose;
static char log_ident[32] = "capf";

void capf_log_open(const char *ident, int to_stderr, int verbose)
{
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_stderr = to_stderr;
	log_verbose = verbose;
	if (!to_stderr)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void capf_log(int prio, const char *event, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	if (prio == LOG_DEBUG && !log_verbose)
		return;
	n = snprintf(msg, sizeof(msg), "event=%s", event);
	if (fmt != NULL && *fmt != '\0' && n > 0 && (size_t)n < sizeof(msg) - 1) {
		msg[n++] = ' ';
		va_start(ap, fmt);
		vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	if (log_stderr) {
		static const char *const lv[] = { "emerg",   "alert",  "crit", "err",
						  "warning", "notice", "info", "debug" };
		char line[sizeof(msg) + 96], ts[32];
		struct timespec now;
		struct tm tm;

		/* The journal stamps and tags every line itself and reads the
		 * priority from a "<N>" prefix (sd-daemon(3)). */
		if (capf_sd_stderr_is_journal()) {
			n = snprintf(line, sizeof(line), "<%d>level=%s %s\n", prio & 7, lv[prio & 7], msg);
		} else {
			clock_gettime(CLOCK_REALTIME, &now);
			gmtime_r(&now.tv_sec, &tm);
			strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
			n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%ld] level=%s %s\n", ts,
				     now.tv_nsec / 1000000, log_ident, (long)getpid(), lv[prio & 7], msg);
		}
		if (n <= 0)
			return;
		if ((size_t)n >= sizeof(line)) {
			n = (int)sizeof(line) - 1;
			line[n - 1] = '\n';
		}
		/* One write per line, without stdio's lock: the threads' lines never
		 * interleave (a pipe takes up to PIPE_BUF bytes at once, a file
		 * opened O_APPEND a whole write) and none waits for another. */
		if (write(STDERR_FILENO, line, (size_t)n) < 0)
			return;
	} else {
		syslog(prio, "%s", msg);
	}
}

const char *capf_log_quote(char *buf, size_t len, const char *s)
{
	size_t o = 0;
	int plain = s != NULL && *s != '\0';

	if (len == 0)
		return buf;
	if (s == NULL)
		s = "";
	for (const char *p = s; plain && *p; p++)
		if (*p <= ' ' || *p > '~' || *p == '"' || *p == '\\')
			plain = 0;
	if (plain) {
		if (strlen(s) < len) {
			memcpy(buf, s, strlen(s) + 1);
			return buf;
		}
	}
	if (len < 8) {
		buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char e[5];
		size_t el;

		if (*p < ' ' || *p > '~' || *p == '"' || *p == '\\')
			el = (size_t)snprintf(e, sizeof(e), "\\x%02x", *p);
		else
			e[0] = (char)*p, el = 1;
		if (o + el + 5 > len) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(buf + o, e, el);
		o += el;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}
