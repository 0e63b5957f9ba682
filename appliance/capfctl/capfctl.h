/*
 * appliance/capfctl/capfctl.h: what the parts of capfctl share (not a library).
 * capfctl talks only to capf-signerd's admin.sock (AF_UNIX SOCK_SEQPACKET, the
 * IPC of appliance/ipc/PROTOCOL.md), one request and one response at a time.
 * Every command prints for people (or JSON with --json) and returns one of the
 * exit codes below.
 */
#ifndef CAPF_CAPFCTL_H
#define CAPF_CAPFCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "appliance/common/argnum.h"
#include "appliance/ipc/ipc.h"
#include "policy/config.h"

#define CTL_DEFAULT_SOCKET "/run/capf/admin.sock"
#define CTL_DEFAULT_CONFIG "/etc/capf/capf.conf"

enum ctl_exit {
	CTL_OK = 0,          /* done */
	CTL_FAILED = 1,      /* refused by the daemon, or failed */
	CTL_USAGE = 2,       /* bad command line */
	CTL_UNREACHABLE = 3, /* cannot reach the daemon */
	CTL_NOCONFIRM = 4,   /* a change needing confirmation was not confirmed */
};

struct ctl {
	const char *socket_path;
	const char *config_path; /* NULL: CTL_DEFAULT_CONFIG when readable, else defaults */
	int fd;                  /* -1 until connected */
	uint32_t next_id;
	const char *prog;
};

/* One exchange: the response in *resp (decoded; capf_ipc_msg_free + free(*rbuf)). */
struct ctl_reply {
	struct capf_ipc_msg msg;
	uint8_t *buf;
};

/* conn.c */
int ctl_connect(struct ctl *c);
/* Sends the built request and receives the answer. Returns CTL_OK when the
 * daemon answered OK; otherwise prints why (prefixed with what) and returns
 * CTL_FAILED or CTL_UNREACHABLE; r is then released. */
int ctl_call(struct ctl *c, struct capf_ipc_builder *b, const char *what, struct ctl_reply *r);
/* Like ctl_call but also hands back non-OK answers (status in r->msg.status);
 * returns CTL_OK when an answer came. */
int ctl_call_raw(struct ctl *c, struct capf_ipc_builder *b, const char *what, struct ctl_reply *r);
void ctl_reply_free(struct ctl_reply *r);
/* Prints the TEXT/CAUSE of a non-OK answer on stderr. */
void ctl_print_refusal(const struct capf_ipc_msg *m, const char *what);
int ctl_begin(struct ctl *c, struct capf_ipc_builder *b, uint16_t verb);
void ctl_close(struct ctl *c);

/* util.c */
int ctl_read_secret_file(const char *path, char *buf, size_t len);
int ctl_write_new_secret_file(const char *path, const void *data, size_t len);
int ctl_write_file(const char *path, const void *data, size_t len, int exclusive);
/* Loads the policy (auth-string length) the daemon uses, for generating strings. */
int ctl_load_conf(struct ctl *c, struct capf_conf *conf);
/* "YYYY-MM-DD HH:MM" (UTC) or "YYYY-MM-DDTHH:MMZ" -> time_t; -1 on error. */
int ctl_parse_time(const char *s, time_t *out);
const char *ctl_fmt_time(time_t t, char *buf, size_t len); /* "2026-11-22 17:00 UTC", "-" for 0 */
/* Machine-readable time (JSON, CSV; docs/json.md): RFC 3339 UTC, "2026-11-22T17:00:00Z". */
#define CTL_JSON_SCHEMA 1 /* the "schema" every JSON output carries (docs/json.md) */
const char *ctl_fmt_rfc3339(time_t t, char *buf, size_t len); /* "-" for 0 */
void ctl_json_time(FILE *f, time_t t);                        /* quoted, or null for 0 */
void ctl_json_str(FILE *f, const char *s);
void ctl_json_opt(FILE *f, const char *s); /* null for NULL or "" */
void ctl_csv_str(FILE *f, const char *s);
/* Hex (colons allowed) into at most max bytes. Returns the byte count or -1. */
int ctl_unhex(const char *s, uint8_t *out, size_t max);
/* Asks for "yes" when stdin is a terminal; returns 1 confirmed, 0 not. */
int ctl_confirm(bool yes, const char *question);
bool ctl_want_help(int argc, char **argv);

/* Options every command accepts (also before the command). */
enum { CTL_OPT_SOCKET = 1000, CTL_OPT_CONFIG, CTL_OPT_HELP, CTL_OPT_FIRST_LOCAL };
#define CTL_COMMON_LONGOPTS                                            \
	{ "socket", required_argument, NULL, CTL_OPT_SOCKET },         \
		{ "config", required_argument, NULL, CTL_OPT_CONFIG }, \
	{                                                              \
		"help", no_argument, NULL, CTL_OPT_HELP                \
	}
/* Handles a common option; returns 1 when it was one. */
int ctl_common_opt(struct ctl *c, int opt, const char *arg);
/* Prints "usage" (a command's help) to stdout. */
void ctl_usage(const char *text);
/* "capfctl device add: unexpected argument ..." + hint; returns CTL_USAGE. */
int ctl_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* commands */
int cmd_device(struct ctl *c, int argc, char **argv);
int cmd_bulk(struct ctl *c, int argc, char **argv);
int cmd_report(struct ctl *c, int argc, char **argv);
int cmd_capf(struct ctl *c, int argc, char **argv);
int cmd_tls(struct ctl *c, int argc, char **argv);
int cmd_trust(struct ctl *c, int argc, char **argv);
int cmd_audit(struct ctl *c, int argc, char **argv);
int cmd_ping(struct ctl *c, int argc, char **argv);
int cmd_stats(struct ctl *c, int argc, char **argv);
int cmd_backup(struct ctl *c, int argc, char **argv);

/* device_history.c: `capfctl device cert` and `capfctl device history` */
int ctl_device_cert(struct ctl *c, int argc, char **argv);
int ctl_device_history(struct ctl *c, int argc, char **argv);

/* audit_signed.c: `audit show`, and `audit verify --pubkey FILE` (called by cmd_audit) */
int ctl_audit_show(struct ctl *c, int argc, char **argv);
int ctl_audit_verify_signed(struct ctl *c, const char *pubkey, int json);

int cmd_itl(struct ctl *c, int argc, char **argv);

/* device_fields.c: a DEVICE record on screen and in JSON */
struct ctl_device {
	char name[CAPF_DEVICE_NAME_MAX + 1];
	int op, auth, key_order, curve, status, status_op, cause; /* -1: absent */
	long rsa_bits;                                            /* -1: absent */
	int64_t deadline, last_seen, lsc_not_after;               /* 0: absent */
	long failed_attempts;
	char serial[65];
	char issuer[1025];
	int flags; /* CAPF_IPC_DEVF_*, -1: absent (older daemon) */
	int has_days_left;
	long days_left;           /* the signer's count, when has_days_left */
	int64_t fetch_time;       /* device show: the last Troubleshoot's time, 0 none */
	char fetch_outcome[1100]; /* ... and verdict ("refused: <reason>") */
};
int ctl_device_decode(const struct capf_ipc_field *f, struct ctl_device *d);
void ctl_device_print(FILE *f, const struct ctl_device *d);
void ctl_device_json(FILE *f, const struct ctl_device *d);
const char *ctl_device_status(const struct ctl_device *d, char *buf, size_t len);
/* The status with "; deadline passed" / "; locked out" in words when they apply. */
const char *ctl_device_status_long(const struct ctl_device *d, char *buf, size_t len);
/* Whole days left on the LSC: the signer's count, else computed here. */
long ctl_device_days_left(const struct ctl_device *d);
/* --status names: none, pending, upgrade-success, delete-success,
 * troubleshoot-success, failed -> enum capf_status; -1 unknown. */
int ctl_status_parse(const char *s);
#define CTL_STATUS_NAMES "none, pending, upgrade-success, delete-success, troubleshoot-success or failed"
/* "none", "valid" or "expired". */
const char *ctl_device_lsc_state(const struct ctl_device *d);

#endif
