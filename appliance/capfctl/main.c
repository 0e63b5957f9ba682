/*
 * appliance/capfctl/main.c: capfctl, the operators' command. It talks only to
 * capf-signerd's admin socket; the daemon checks the caller (SO_PEERCRED),
 * validates everything with the policy, audits every change and never returns
 * an authentication string. capfctl prints, the daemon decides.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appliance/capfctl/capfctl.h"
#include "appliance/common/version.h"

static const char usage_main[] =
	"usage: capfctl [--socket PATH] [--config FILE] COMMAND [ARGS] [--help]\n"
	"\n"
	"Manage the CAPF appliance through capf-signerd's admin socket.\n"
	"\n"
	"Commands:\n"
	"  device add|set|show|remove|list|reset-lockout   devices and their pending operation\n"
	"  device cert|history NAME                        a device's fetched certificate or LSC,\n"
	"                                                  its history\n"
	"  bulk --csv FILE | --pattern GLOB ...            schedule many devices, all or nothing\n"
	"  report [--expiring-within DAYS] [--issuer FP] [--status S] [--format F]\n"
	"                                                  LSC status and expiry of every device\n"
	"  capf show|regenerate|csr|import|adopt           the CAPF CA certificate\n"
	"  tls issue                                       (re)issue the front end's TLS certificate\n"
	"  trust export --for TARGET                       which certificate goes where\n"
	"  audit verify [--pubkey FILE]                    check the audit hash chain (and its signed checkpoints)\n"
	"  audit show [--since T] [--device N]             list the audit trail\n"
	"  stats [--json]                                  the daemon's counters\n"
	"  ping                                            is the daemon there?\n"
	"  backup --out FILE                               a checked copy of the store (0600)\n"
	"  itl record|build|show                           the Cisco ITL file (ITLFile.tlv), docs/itl.md\n"
	"Run `capfctl COMMAND --help` for the options of a command;\n"
	"`capfctl --version` prints the version.\n"
	"\n"
	"Options:\n"
	"  --socket PATH   the admin socket (default " CTL_DEFAULT_SOCKET ")\n"
	"  --config FILE   capf.conf, read only for the authentication-string rules when\n"
	"                  capfctl generates strings (default " CTL_DEFAULT_CONFIG " when\n"
	"                  readable, else the embedded defaults)\n"
	"\n"
	"--json output (and report --format json/csv): docs/json.md (schema, RFC 3339 UTC).\n"
	"\n"
	"Secrets (authentication strings) are never taken from the command line or the\n"
	"environment: use --auth-string-file FILE (mode 0600) or --generate-auth-string.\n"
	"\n"
	"Exit codes:\n"
	"  0  done\n"
	"  1  refused by capf-signerd (the message says why) or failed\n"
	"  2  usage error\n"
	"  3  cannot reach capf-signerd (socket missing, daemon down, permission), or the socket\n"
	"     is not served by the owner of its directory, or others may write that directory\n"
	"  4  a change of the CAPF CA or TLS certificate was not confirmed (--yes): nothing changed\n";

void ctl_usage(const char *text)
{
	fputs(text, stdout);
}

int ctl_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "capfctl %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nRun `capfctl %s --help` for usage.\n", cmd);
	return CTL_USAGE;
}

int ctl_common_opt(struct ctl *c, int opt, const char *arg)
{
	switch (opt) {
	case CTL_OPT_SOCKET:
		c->socket_path = arg;
		return 1;
	case CTL_OPT_CONFIG:
		c->config_path = arg;
		return 1;
	default:
		return 0;
	}
}

static int cmd_help(struct ctl *c, int argc, char **argv)
{
	ctl_usage(usage_main);
	return CTL_OK;
}

static const struct {
	const char *name;
	int (*fn)(struct ctl *, int, char **);
} commands[] = {
	{ "device", cmd_device }, { "bulk", cmd_bulk },   { "report", cmd_report }, { "capf", cmd_capf },
	{ "tls", cmd_tls },       { "trust", cmd_trust }, { "audit", cmd_audit },   { "ping", cmd_ping },
	{ "stats", cmd_stats },   { "help", cmd_help },   { "backup", cmd_backup }, { "itl", cmd_itl },
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = {
		.socket_path = CTL_DEFAULT_SOCKET,
		.fd = -1,
		.prog = "capfctl",
	};
	size_t i;
	int opt, rc;

	if (capf_version_option(argc, argv, "capfctl"))
		return CTL_OK;
	opterr = 1;
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (ctl_common_opt(&c, opt, optarg))
			continue;
		if (opt == CTL_OPT_HELP || opt == 'h') {
			ctl_usage(usage_main);
			return CTL_OK;
		}
		fputs("Run `capfctl --help` for usage.\n", stderr);
		return CTL_USAGE;
	}
	if (optind >= argc) {
		fputs(usage_main, stderr);
		return CTL_USAGE;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) != 0)
			continue;
		/* the command sees argv[0] = its name */
		argc -= optind;
		argv += optind;
		optind = 0; /* reset getopt for the command (GNU: 0 re-initialises) */
		rc = commands[i].fn(&c, argc, argv);
		ctl_close(&c);
		return rc;
	}
	fprintf(stderr, "capfctl: unknown command \"%s\"\nRun `capfctl --help` for usage.\n", argv[optind]);
	return CTL_USAGE;
}
