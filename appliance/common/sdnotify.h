/*
 * appliance/common/sdnotify.h: what systemd hands a service, without libsystemd.
 *
 *   capf_sd_capture();            first statement of main(), before any
 *                                 environment scrub or descriptor closing
 *   ... set-up, sockets listening ...
 *   capf_sd_notify("READY=1");    once set up (a seccomp filter must allow
 *                                 socket(AF_UNIX, ...) and sendto)
 *
 * capf_sd_capture() notes NOTIFY_SOCKET (and removes it from the environment,
 * so that no child inherits it) and whether stderr is the journal's stream
 * (JOURNAL_STREAM matches stderr's device and inode; capf_log then prints
 * "<N>" priority prefixes and no timestamp). Without systemd both are no-ops.
 */
#ifndef CAPF_COMMON_SDNOTIFY_H
#define CAPF_COMMON_SDNOTIFY_H

#include <stddef.h>

void capf_sd_capture(void);

/* Sends STATE (e.g. "READY=1") as one datagram to the captured NOTIFY_SOCKET
 * (a path or "@abstract"). Returns 1 when sent, 0 when there is no socket
 * (not started by systemd), -1 on failure with the reason in err. */
int capf_sd_notify(const char *state, char *err, size_t errlen);

/* 1 when capf_sd_capture() found stderr connected to the journal. */
int capf_sd_stderr_is_journal(void);

#endif
