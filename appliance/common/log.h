/*
 * appliance/common/log.h: one line per event, stable key=value fields, to syslog
 * (journald) or to stderr in the foreground. Never pass a PIN or an authentication
 * string: nothing here can tell a secret from a name.
 *
 *   capf_log(LOG_INFO, "issued", "device=%s serial=%s peer=%s", q, serial, peer);
 *   -> "event=issued device=SEP001122334455 serial=5A... peer=uid:998"
 *
 * On stderr each line starts with a UTC timestamp, the ident and the pid; when
 * stderr is the journal (capf_sd_capture() in sdnotify.h saw JOURNAL_STREAM)
 * it starts with "<N>" (the priority) instead, the journal adding the rest.
 */
#ifndef CAPF_COMMON_LOG_H
#define CAPF_COMMON_LOG_H

#include <stddef.h>
#include <syslog.h>

/* ident: program name; to_stderr: foreground (also echoes LOG_DEBUG when verbose). */
void capf_log_open(const char *ident, int to_stderr, int verbose);
void capf_log(int prio, const char *event, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Quotes an untrusted value for a log field: printable ASCII without spaces, '"'
 * or '\\' passes as it is; anything else is wrapped in quotes with \xNN escapes.
 * Always NUL-terminates; truncates with "..." when buf is too small. Returns buf. */
const char *capf_log_quote(char *buf, size_t len, const char *s);

#endif
