/*
 * appliance/capfctl/report.c: `capfctl report`: every device with its LSC
 * (serial, issuing CAPF CA, notAfter, days left), pending operation, deadline
 * and last status in Cisco's wording; as a table, CSV or JSON.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "appliance/capfctl/capfctl.h"
#include "appliance/capfctl/devopts.h"
#include "appliance/common/x509.h"
#include "policy/device.h"

static const char usage_report[] =
	"usage: capfctl report [--expiring-within DAYS] [--issuer FINGERPRINT] [--status STATUS]\n"
	"                      [--pattern GLOB] [--format table|csv|json]\n"
	"\n"
	"Every device with its LSC state (none, valid, expired), LSC serial, issuing CAPF CA\n"
	"(SHA-256 fingerprint, as `capfctl capf show` prints it), notAfter and days left, the\n"
	"pending Certificate Operation, Operation Completes By, and the last Certificate\n"
	"Operation Status in Cisco's wording.\n"
	"\n"
	"  --expiring-within DAYS  only devices whose LSC has at most DAYS whole days left (the\n"
	"                          DAYS column; expired ones too)\n"
	"  --issuer FINGERPRINT    only LSCs issued by this CAPF CA (SHA-256, hex, colons allowed)\n"
	"  --status STATUS         none | pending | upgrade-success | delete-success |\n"
	"                          troubleshoot-success | failed\n"
	"  --pattern GLOB          device names matching GLOB\n"
	"  --format F              table (default), csv (header line), json (an array of device\n"
	"                          records); field names, times (RFC 3339 UTC) and the schema\n"
	"                          version: docs/json.md\n"
	"  --json                  the same as --format json\n"
	"\n"
	"STATUS says \"deadline passed\" when a pending operation's Operation Completes By is\n"
	"over, and \"locked out\" when the failed attempts reached auth.max_failed_attempts.\n"
	"  --socket PATH, --help\n";

struct report_args {
	long expiring;
	uint8_t issuer[64];
	int issuer_len;
	int status;
	const char *pattern;
};

struct report_state {
	enum { FMT_TABLE, FMT_CSV, FMT_JSON } fmt;
	unsigned n;
};

static void report_filters(struct capf_ipc_builder *b, void *arg)
{
	const struct report_args *a = arg;

	if (a->pattern)
		capf_ipc_put_str(b, CAPF_IPC_T_FILTER_NAME, a->pattern);
	if (a->status >= 0)
		capf_ipc_put_u8(b, CAPF_IPC_T_FILTER_STATUS, (uint8_t)a->status);
	if (a->expiring >= 0)
		capf_ipc_put_u32(b, CAPF_IPC_T_FILTER_EXPIRING, (uint32_t)a->expiring);
	if (a->issuer_len > 0)
		capf_ipc_put_bytes(b, CAPF_IPC_T_FILTER_ISSUER, a->issuer, (size_t)a->issuer_len);
}

/* The CSV columns: the JSON names of docs/json.md, the same values. */
#define REPORT_CSV_HEADER                                                   \
	"name,lsc_state,lsc_serial,lsc_issuer,lsc_not_after,lsc_days_left," \
	"operation,deadline,status,deadline_passed,locked_out"

static int report_one(const struct ctl_device *d, void *arg)
{
	struct report_state *rs = arg;
	char st[200], na[64], dl[64], days[24] = "-";
	int passed = d->flags >= 0 && (d->flags & CAPF_IPC_DEVF_DEADLINE_PASSED);
	int locked = d->flags >= 0 && (d->flags & CAPF_IPC_DEVF_LOCKED_OUT);

	/* DAYS is the signer's count, made with the same clock as --expiring-within */
	if (d->serial[0])
		snprintf(days, sizeof(days), "%ld", ctl_device_days_left(d));
	switch (rs->fmt) {
	case FMT_JSON:
		fputs(rs->n ? ",\n  " : "\n  ", stdout);
		ctl_device_json(stdout, d);
		break;
	case FMT_CSV:
		if (rs->n == 0)
			puts(REPORT_CSV_HEADER);
		ctl_device_status(d, st, sizeof(st));
		ctl_fmt_rfc3339(d->serial[0] ? (time_t)d->lsc_not_after : 0, na, sizeof(na));
		ctl_fmt_rfc3339(d->op > 0 ? (time_t)d->deadline : 0, dl, sizeof(dl));
		ctl_csv_str(stdout, d->name);
		printf(",%s,%s,", ctl_device_lsc_state(d), d->serial);
		ctl_csv_str(stdout, d->serial[0] ? d->issuer : "");
		printf(",%s,%s,", d->serial[0] ? na : "", d->serial[0] ? days : "");
		ctl_csv_str(stdout, d->op >= 0 ? capf_operation_name(d->op) : "");
		printf(",%s,", d->op > 0 ? dl : "");
		ctl_csv_str(stdout, st);
		printf(",%s,%s\n", passed ? "true" : "false", locked ? "true" : "false");
		break;
	default:
		ctl_device_status_long(d, st, sizeof(st));
		ctl_fmt_time(d->serial[0] ? (time_t)d->lsc_not_after : 0, na, sizeof(na));
		ctl_fmt_time(d->op > 0 ? (time_t)d->deadline : 0, dl, sizeof(dl));
		if (rs->n == 0)
			printf("%-18s %-7s %-34s %-18s %-21s %5s  %-20s %-21s %s\n", "DEVICE", "LSC", "SERIAL",
			       "ISSUER (SHA-256)", "NOT AFTER", "DAYS", "OPERATION", "COMPLETES BY", "STATUS");
		printf("%-18s %-7s %-34.34s %-18.16s %-21s %5s  %-20s %-21s %s\n", d->name,
		       ctl_device_lsc_state(d), d->serial[0] ? d->serial : "-",
		       d->serial[0] && d->issuer[0] ? d->issuer : "-", na, days,
		       d->op >= 0 ? capf_operation_cisco(d->op) : "-", dl, st);
	}
	rs->n++;
	return 0;
}

int cmd_report(struct ctl *c, int argc, char **argv)
{
	enum { O_EXP = CTL_OPT_FIRST_LOCAL, O_ISSUER, O_STATUS, O_FORMAT, O_PATTERN, O_JSON };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{ "expiring-within", required_argument, NULL, O_EXP },
		{ "issuer", required_argument, NULL, O_ISSUER },
		{ "status", required_argument, NULL, O_STATUS },
		{ "format", required_argument, NULL, O_FORMAT },
		{ "pattern", required_argument, NULL, O_PATTERN },
		{ "json", no_argument, NULL, O_JSON },
		{ NULL, 0, NULL, 0 },
	};
	struct report_args a = { .expiring = -1, .status = -1 };
	struct report_state rs = { FMT_TABLE, 0 };
	unsigned long ul;
	uint32_t total = 0;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ctl_common_opt(c, opt, optarg))
			continue;
		switch (opt) {
		case CTL_OPT_HELP:
			ctl_usage(usage_report);
			return CTL_OK;
		case O_EXP:
			if (capf_parse_uint(optarg, 0, 100000, &ul) != 0)
				return ctl_usage_error("report", "--expiring-within %s: a number of days",
						       optarg);
			a.expiring = (long)ul;
			break;
		case O_ISSUER:
			a.issuer_len = ctl_unhex(optarg, a.issuer, sizeof(a.issuer));
			if (a.issuer_len != 32)
				return ctl_usage_error("report", "--issuer: a SHA-256 fingerprint "
								 "(64 hex digits, colons allowed)");
			break;
		case O_STATUS:
			if ((a.status = ctl_status_parse(optarg)) < 0)
				return ctl_usage_error("report", "--status %s: expected " CTL_STATUS_NAMES,
						       optarg);
			break;
		case O_FORMAT:
			if (strcmp(optarg, "table") == 0)
				rs.fmt = FMT_TABLE;
			else if (strcmp(optarg, "csv") == 0)
				rs.fmt = FMT_CSV;
			else if (strcmp(optarg, "json") == 0)
				rs.fmt = FMT_JSON;
			else
				return ctl_usage_error("report", "--format %s: table, csv or json", optarg);
			break;
		case O_JSON:
			rs.fmt = FMT_JSON;
			break;
		case O_PATTERN:
			a.pattern = optarg;
			break;
		default:
			return ctl_usage_error("report", "unknown option");
		}
	}
	if (optind != argc)
		return ctl_usage_error("report", "unexpected argument \"%s\"", argv[optind]);
	if (rs.fmt == FMT_JSON)
		fputs("[", stdout);
	rc = ctl_walk_devices(c, "report", CAPF_IPC_REPORT, report_filters, &a, report_one, &rs, &total);
	if (rs.fmt == FMT_JSON)
		fputs(rs.n ? "\n]\n" : "]\n", stdout);
	else if (rs.fmt == FMT_CSV && rs.n == 0 && rc == CTL_OK)
		puts(REPORT_CSV_HEADER);
	else if (rc == CTL_OK && rs.fmt == FMT_TABLE)
		fprintf(stderr, "%u device%s\n", rs.n, rs.n == 1 ? "" : "s");
	return rc;
}
