/*
 * appliance/capfctl/audit.c: `capfctl audit verify` (the signed form and `audit show`
 * are in audit_signed.c), `capfctl stats` and `capfctl ping`.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "appliance/capfctl/capfctl.h"

static const char usage_audit[] =
	"usage: capfctl audit verify [--pubkey FILE] [--json]\n"
	"       capfctl audit show [--since TIME] [--device NAME] [--json]\n"
	"\n"
	"verify: without --pubkey, capf-signerd walks the audit trail's hash chain in\n"
	"the store (every admin change, every issuance, each row chained to the\n"
	"previous by SHA-256). That catches careless edits, not someone who recomputes\n"
	"every hash. With --pubkey FILE (the audit key's public key the key ceremony\n"
	"exported, e.g. capf-audit.pub.pem; keep a copy off the appliance), capfctl\n"
	"fetches the rows and the signed checkpoints, recomputes the chain itself and\n"
	"checks every checkpoint's signature with FILE: rows rewritten below a\n"
	"checkpoint are detected even with all hashes recomputed, without trusting the\n"
	"database. It reports the last signed row; rows older than\n"
	"audit.checkpoint_interval that no checkpoint covers are an error too.\n"
	"Exit 0 when intact; exit 1 naming the first bad row and the checkpoint that\n"
	"no longer matches. --json: {\"schema\": 1, \"intact\",\n"
	"\"rows\", \"checkpoints\", \"last_signed_row\", \"last_signed_time\",\n"
	"\"unsigned_rows\", \"key_id\", \"first_bad_row\", \"bad_checkpoint\", \"bad_rows\",\n"
	"\"problem\"}: a checkpoint that no longer matches proves that some row in\n"
	"bad_rows [from, to] (after the last checkpoint that still matches, up to the\n"
	"one that does not) was changed; first_bad_row is the first of them (the exact\n"
	"row when the stored hashes themselves are inconsistent).\n"
	"show: lists the trail (see capfctl audit show --help).\n"
	"Common: --socket PATH, --help.\n";

static const char usage_stats[] =
	"usage: capfctl stats [--json]\n"
	"\n"
	"capf-signerd's counters since it started: connections, refused peers, requests,\n"
	"protocol errors, enrollments begun, refusals, LSCs issued, RETRY_LATER answers,\n"
	"signing failures, active sessions; and the CAPF CA token's state: token_up (1/0),\n"
	"token_down_ms (this outage so far), token_outages, token_recoveries,\n"
	"token_retry_later (BEGINs answered RETRY_LATER because it was down),\n"
	"token_last_outage_ms; and its key process (capf-keyd): key_process_up (1/0),\n"
	"key_process_restarts, key_process_lost_calls (requests that failed because it died);\n"
	"the store: store_writes (writes committed), store_commits (transactions: the writes of\n"
	"the requests in flight are grouped), store_syncs (fsyncs).\n";

static const char usage_ping[] =
	"usage: capfctl ping\n"
	"\n"
	"Checks that capf-signerd answers on the admin socket and lets you in, and shows\n"
	"the state of the token holding the CAPF CA key (exit 1 while it is down: phones\n"
	"are told to retry later until the signer has re-opened it).\n";

/* --json (when json is not NULL) and --pubkey FILE (when pubkey is not NULL). */
static int simple_opts(struct ctl *c, int argc, char **argv, const char *cmd, const char *usage, int *json,
		       const char **pubkey)
{
	enum { O_JSON = CTL_OPT_FIRST_LOCAL, O_PUBKEY };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{ "json", no_argument, NULL, O_JSON },
		{ "pubkey", required_argument, NULL, O_PUBKEY },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ctl_common_opt(c, opt, optarg))
			continue;
		if (opt == CTL_OPT_HELP) {
			ctl_usage(usage);
			return -1;
		}
		if (opt == O_JSON && json)
			*json = 1;
		else if (opt == O_PUBKEY && pubkey)
			*pubkey = optarg;
		else
			return ctl_usage_error(cmd, "unknown option");
	}
	if (optind != argc)
		return ctl_usage_error(cmd, "unexpected argument \"%s\"", argv[optind]);
	return CTL_OK;
}

int cmd_audit(struct ctl *c, int argc, char **argv)
{
	struct capf_ipc_builder b;
	struct ctl_reply r;
	char text[1100] = "";
	uint32_t count = 0;
	uint64_t bad;
	const char *pubkey = NULL;
	int json = 0, rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		ctl_usage(usage_audit);
		return argc < 2 ? CTL_USAGE : CTL_OK;
	}
	if (strcmp(argv[1], "show") == 0)
		return ctl_audit_show(c, argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") != 0)
		return ctl_usage_error("audit", "unknown subcommand \"%s\"", argv[1]);
	rc = simple_opts(c, argc - 1, argv + 1, "audit verify", usage_audit, &json, &pubkey);
	if (rc != CTL_OK)
		return rc < 0 ? CTL_OK : rc;
	if (pubkey != NULL)
		return ctl_audit_verify_signed(c, pubkey, json);
	ctl_begin(c, &b, CAPF_IPC_AUDIT_VERIFY);
	if ((rc = ctl_call(c, &b, "audit verify", &r)) != CTL_OK)
		return rc;
	capf_ipc_get_u32(&r.msg, CAPF_IPC_T_COUNT, &count);
	capf_ipc_get_str(&r.msg, CAPF_IPC_T_TEXT, text, sizeof(text));
	if (capf_ipc_get_u64(&r.msg, CAPF_IPC_T_AUDIT_ROW, &bad) == 0) {
		if (json)
			printf("{\"schema\": %d, \"intact\": false, \"first_bad_row\": %" PRIu64
			       ", \"rows\": %u}\n",
			       CTL_JSON_SCHEMA, bad, count);
		fprintf(stderr, "audit verify: the audit chain is BROKEN at row %" PRIu64 "%s%s\n", bad,
			text[0] ? ": " : "", text);
		rc = CTL_FAILED;
	} else {
		if (json)
			printf("{\"schema\": %d, \"intact\": true, \"rows\": %u}\n", CTL_JSON_SCHEMA, count);
		else
			printf("audit verify: the audit chain is intact (%u row%s)\n", count,
			       count == 1 ? "" : "s");
	}
	ctl_reply_free(&r);
	return rc;
}

int cmd_ping(struct ctl *c, int argc, char **argv)
{
	struct capf_ipc_builder b;
	struct ctl_reply r;
	char text[1100] = "", tstate[600] = "";
	uint8_t up = 1;
	int rc = simple_opts(c, argc, argv, "ping", usage_ping, NULL, NULL);

	if (rc != CTL_OK)
		return rc < 0 ? CTL_OK : rc;
	ctl_begin(c, &b, CAPF_IPC_PING);
	if ((rc = ctl_call(c, &b, "ping", &r)) != CTL_OK)
		return rc;
	capf_ipc_get_str(&r.msg, CAPF_IPC_T_TEXT, text, sizeof(text));
	printf("capf-signerd at %s answers%s%s\n", c->socket_path, text[0] ? ": " : "", text);
	if (capf_ipc_get_str(&r.msg, CAPF_IPC_T_TOKEN_STATE, tstate, sizeof(tstate)) == 0)
		printf("%s\n", tstate);
	if (capf_ipc_get_u8(&r.msg, CAPF_IPC_T_TOKEN_UP, &up) == 0 && !up)
		rc = CTL_FAILED;
	ctl_reply_free(&r);
	return rc;
}

int cmd_stats(struct ctl *c, int argc, char **argv)
{
	struct capf_ipc_builder b;
	struct ctl_reply r;
	const struct capf_ipc_field *f = NULL;
	int json = 0, rc = simple_opts(c, argc, argv, "stats", usage_stats, &json, NULL), n = 0;

	if (rc != CTL_OK)
		return rc < 0 ? CTL_OK : rc;
	ctl_begin(c, &b, CAPF_IPC_STATS);
	if ((rc = ctl_call(c, &b, "stats", &r)) != CTL_OK)
		return rc;
	if (json)
		printf("{\"schema\": %d", CTL_JSON_SCHEMA);
	while ((f = capf_ipc_find(&r.msg, CAPF_IPC_T_STAT, f)) != NULL) {
		struct capf_ipc_msg sub;
		char name[65] = "?", err[160];
		uint64_t v = 0;

		if (capf_ipc_decode_nested(f, &sub, err, sizeof(err)) != 0)
			continue;
		capf_ipc_get_str(&sub, CAPF_IPC_T_STAT_NAME, name, sizeof(name));
		capf_ipc_get_u64(&sub, CAPF_IPC_T_STAT_VALUE, &v);
		capf_ipc_msg_free(&sub);
		if (json) {
			fputs(", ", stdout);
			ctl_json_str(stdout, name);
			printf(": %" PRIu64, v);
		} else {
			printf("%-20s %" PRIu64 "\n", name, v);
		}
		n++;
	}
	if (json)
		fputs("}\n", stdout);
	ctl_reply_free(&r);
	return CTL_OK;
}
