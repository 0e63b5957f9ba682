/*
 * appliance/capfctl/device.c: `capfctl device add|set|show|remove|list|reset-lockout`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "appliance/capfctl/capfctl.h"
#include "appliance/capfctl/devopts.h"
#include "policy/names.h"

static const char usage_device[] =
	"usage: capfctl device add NAME [SETTINGS]     a new device (default: no pending operation)\n"
	"       capfctl device set NAME [SETTINGS]     change the settings given, keep the others\n"
	"       capfctl device show NAME [--json]\n"
	"       capfctl device remove NAME             (its issuance history stays)\n"
	"       capfctl device list [FILTERS] [--json]\n"
	"       capfctl device reset-lockout NAME      clear the failed-authentication counter\n"
	"       capfctl device cert NAME [--fetched | --lsc] [--out FILE]\n"
	"                                              the certificate the phone last returned to\n"
	"                                              Troubleshoot (default; with the verdict), or\n"
	"                                              its current LSC: PEM on stdout or into FILE\n"
	"       capfctl device history NAME [--json]   every issuance, delivery, fetch, delete,\n"
	"                                              refusal and change, oldest first\n"
	"\n"
	"NAME: SEP + 12 hex digits (SEP58971ECC97C1), or a Jabber name CSF/BOT/TCT/TAB + name;\n"
	"names and patterns are case-insensitive (upper-cased: sep58971ecc97c1 is SEP58971ECC97C1).\n"
	"\n"
	"List filters (all given must match; a filter given twice matches either value):\n"
	"  --pattern GLOB        names matching GLOB ('*', '?', [A-F])\n"
	"  --status STATUS       " CTL_STATUS_NAMES "\n"
	"  --op OP               the pending operation: install, delete, fetch or none\n"
	"  --auth MODE           null, string, lsc-first or mic-first\n"
	"  --key-order K         rsa, ec or ec-rsa\n"
	"  --no-lsc              devices without a current LSC\n"
	"  --deadline-passed     a pending operation whose Operation Completes By is over\n"
	"  --locked-out          failed attempts reached auth.max_failed_attempts\n"
	"\n" CTL_DEVOPTS_HELP "\n"
	"Common: --socket PATH, --config FILE, --json (add, set, show, list, history; the\n"
	"fields are those of docs/json.md), --help.\n";

/* ---- settings shared with bulk --------------------------------------- */

int ctl_devopts_parse(struct ctl_devopts *o, int opt, const char *arg, const char *cmd)
{
	int v;
	unsigned long ul;

	switch (opt) {
	case DEVOPT_OP:
		if ((v = capf_operation_parse(arg)) < 0)
			return ctl_usage_error(cmd, "--op %s: expected install, delete, fetch or none", arg);
		o->op = v;
		return 0;
	case DEVOPT_AUTH:
		if ((v = capf_auth_mode_parse(arg)) < 0)
			return ctl_usage_error(cmd, "--auth %s: expected null, string, lsc-first or mic-first",
					       arg);
		o->auth = v;
		return 0;
	case DEVOPT_AUTH_FILE:
		o->auth_file = arg;
		return 0;
	case DEVOPT_GENERATE:
		o->generate = 1;
		return 0;
	case DEVOPT_AUTH_OUT:
		o->auth_out = arg;
		return 0;
	case DEVOPT_KEY_ORDER:
		if ((v = capf_key_order_parse(arg)) < 0)
			return ctl_usage_error(cmd, "--key-order %s: expected rsa, ec or ec-rsa", arg);
		o->key_order = v;
		return 0;
	case DEVOPT_RSA_BITS:
		if (capf_parse_uint(arg, 512, 16384, &ul) != 0)
			return ctl_usage_error(cmd, "--rsa-bits %s: expected a number of bits, e.g. 2048", arg);
		o->rsa_bits = (long)ul;
		return 0;
	case DEVOPT_CURVE:
		if ((v = capf_curve_parse(arg)) < 0)
			return ctl_usage_error(cmd, "--curve %s: expected P-256, P-384 or P-521", arg);
		o->curve = v;
		return 0;
	case DEVOPT_DEADLINE:
		if (ctl_parse_time(arg, &o->deadline) != 0)
			return ctl_usage_error(cmd, "--deadline \"%s\": expected \"YYYY-MM-DD HH:00\" (UTC)",
					       arg);
		o->has_deadline = 1;
		return 0;
	}
	return -1;
}

void ctl_devopts_init(struct ctl_devopts *o)
{
	memset(o, 0, sizeof(*o));
	o->op = o->auth = o->key_order = o->curve = -1;
	o->rsa_bits = -1;
}

int ctl_devopts_check(const struct ctl_devopts *o, const char *cmd)
{
	if (o->auth_file && o->generate)
		return ctl_usage_error(cmd, "--auth-string-file and --generate-auth-string exclude each other");
	if (o->auth_out && !o->generate)
		return ctl_usage_error(cmd, "--auth-string-out needs --generate-auth-string");
	if ((o->auth_file || o->generate) && o->auth >= 0 && o->auth != CAPF_AUTH_STRING)
		return ctl_usage_error(cmd, "an authentication string is only used with --auth string");
	return 0;
}

/* Puts the settings into the open DEVICE nest. auth: the string or NULL. */
void ctl_devopts_put(const struct ctl_devopts *o, struct capf_ipc_builder *b, const char *auth)
{
	if (o->op >= 0)
		capf_ipc_put_u8(b, CAPF_IPC_T_OPERATION, (uint8_t)o->op);
	if (o->auth >= 0)
		capf_ipc_put_u8(b, CAPF_IPC_T_AUTH_MODE, (uint8_t)o->auth);
	else if (auth != NULL)
		capf_ipc_put_u8(b, CAPF_IPC_T_AUTH_MODE, CAPF_AUTH_STRING);
	if (auth != NULL)
		capf_ipc_put_str(b, CAPF_IPC_T_AUTH_STRING, auth);
	if (o->key_order >= 0)
		capf_ipc_put_u8(b, CAPF_IPC_T_KEY_ORDER, (uint8_t)o->key_order);
	if (o->rsa_bits >= 0)
		capf_ipc_put_u32(b, CAPF_IPC_T_RSA_BITS, (uint32_t)o->rsa_bits);
	if (o->curve >= 0)
		capf_ipc_put_u8(b, CAPF_IPC_T_CURVE, (uint8_t)o->curve);
	if (o->has_deadline)
		capf_ipc_put_i64(b, CAPF_IPC_T_DEADLINE, (int64_t)o->deadline);
}

/* ---- add / set --------------------------------------------------------- */

static int print_device_reply(const struct ctl_reply *r, int json)
{
	const struct capf_ipc_field *f;
	struct ctl_device d;

	f = capf_ipc_find(&r->msg, CAPF_IPC_T_DEVICE, NULL);
	if (f == NULL)
		return CTL_OK;
	if (ctl_device_decode(f, &d) != 0)
		return CTL_FAILED;
	if (json) {
		ctl_device_json(stdout, &d);
		fputc('\n', stdout);
	} else {
		ctl_device_print(stdout, &d);
	}
	return CTL_OK;
}

static int device_put(struct ctl *c, const char *cmd, int argc, char **argv, int add)
{
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		CTL_DEVOPTS_LONGOPTS,
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_devopts o;
	struct capf_ipc_builder b;
	struct ctl_reply r;
	struct capf_conf conf;
	char secret[CAPF_AUTHHASH_SECRET_MAX + 2];
	char err[512];
	const char *name, *auth = NULL;
	int opt, json = 0, rc, wrote_out = 0;

	ctl_devopts_init(&o);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ctl_common_opt(c, opt, optarg))
			continue;
		if (opt == CTL_OPT_HELP) {
			ctl_usage(usage_device);
			return CTL_OK;
		}
		if (opt == 'j') {
			json = 1;
			continue;
		}
		if (opt >= DEVOPT_OP && opt <= DEVOPT_DEADLINE) {
			if ((rc = ctl_devopts_parse(&o, opt, optarg, cmd)) != 0)
				return rc;
			continue;
		}
		return ctl_usage_error(cmd, "unknown option");
	}
	if (optind + 1 != argc)
		return ctl_usage_error(cmd, optind >= argc ?
						    "a device NAME is needed" :
						    "one device NAME only (use `capfctl bulk` for many)");
	name = argv[optind];
	if ((rc = ctl_devopts_check(&o, cmd)) != 0)
		return rc;
	if (add && o.auth == CAPF_AUTH_STRING && !o.auth_file && !o.generate)
		return ctl_usage_error(cmd, "--auth string needs --auth-string-file FILE or "
					    "--generate-auth-string");

	if (o.auth_file) {
		if (ctl_read_secret_file(o.auth_file, secret, sizeof(secret)) != 0)
			return CTL_FAILED;
		auth = secret;
	} else if (o.generate) {
		if (ctl_load_conf(c, &conf) != 0)
			return CTL_FAILED;
		if (capf_auth_string_generate(&conf, secret, sizeof(secret), err, sizeof(err)) != 0) {
			fprintf(stderr, "capfctl %s: %s\n", cmd, err);
			return CTL_FAILED;
		}
		auth = secret;
		if (o.auth_out) {
			char line[sizeof(secret) + 1];
			int n = snprintf(line, sizeof(line), "%s\n", secret);

			rc = ctl_write_new_secret_file(o.auth_out, line, (size_t)n);
			OPENSSL_cleanse(line, sizeof(line));
			if (rc != 0) {
				OPENSSL_cleanse(secret, sizeof(secret));
				return CTL_FAILED;
			}
			wrote_out = 1;
		}
	}

	ctl_begin(c, &b, add ? CAPF_IPC_DEVICE_ADD : CAPF_IPC_DEVICE_SET);
	capf_ipc_nest_begin(&b, CAPF_IPC_T_DEVICE);
	capf_ipc_put_str(&b, CAPF_IPC_T_DEVICE_NAME, name);
	ctl_devopts_put(&o, &b, auth);
	capf_ipc_nest_end(&b);
	rc = ctl_call(c, &b, cmd, &r);
	if (rc != CTL_OK) {
		if (wrote_out)
			unlink(o.auth_out); /* the string was never set */
		OPENSSL_cleanse(secret, sizeof(secret));
		return rc;
	}
	if (o.generate && !o.auth_out) {
		/* printed once; the daemon keeps only a slow salted hash */
		if (json)
			fprintf(stderr, "Authentication string for %s: %s\n", name, secret);
		else
			printf("Authentication string for %s: %s\n", name, secret);
	} else if (wrote_out) {
		fprintf(stderr, "Authentication string for %s written to %s (mode 0600).\n", name, o.auth_out);
	}
	OPENSSL_cleanse(secret, sizeof(secret));
	rc = print_device_reply(&r, json);
	ctl_reply_free(&r);
	return rc;
}

/* ---- show / remove / reset-lockout ------------------------------------ */

static int device_by_name(struct ctl *c, const char *cmd, int argc, char **argv, uint16_t verb)
{
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct capf_ipc_builder b;
	struct ctl_reply r;
	int opt, json = 0, rc;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ctl_common_opt(c, opt, optarg))
			continue;
		if (opt == CTL_OPT_HELP) {
			ctl_usage(usage_device);
			return CTL_OK;
		}
		if (opt == 'j') {
			json = 1;
			continue;
		}
		return ctl_usage_error(cmd, "unknown option");
	}
	if (optind + 1 != argc)
		return ctl_usage_error(cmd, "exactly one device NAME is needed");
	ctl_begin(c, &b, verb);
	capf_ipc_put_str(&b, CAPF_IPC_T_DEVICE_NAME, argv[optind]);
	if ((rc = ctl_call(c, &b, cmd, &r)) != CTL_OK)
		return rc;
	if (verb == CAPF_IPC_DEVICE_REMOVE) {
		if (json) {
			printf("{\"schema\": %d, \"removed\": ", CTL_JSON_SCHEMA);
			ctl_json_str(stdout, argv[optind]);
			puts("}");
		} else
			printf("Removed %s (its LSC history stays in the store).\n", argv[optind]);
	} else {
		rc = print_device_reply(&r, json);
	}
	ctl_reply_free(&r);
	return rc;
}

/* ---- list -------------------------------------------------------------- */

/* Walks every page of DEVICE_LIST or REPORT, calling cb per record. */
int ctl_walk_devices(struct ctl *c, const char *cmd, uint16_t verb,
		     void (*put_filters)(struct capf_ipc_builder *, void *), void *farg,
		     int (*cb)(const struct ctl_device *, void *), void *arg, uint32_t *total)
{
	uint8_t cursor[256];
	size_t cursor_len = 0;
	int more = 1, rc;

	while (more) {
		struct capf_ipc_builder b;
		struct ctl_reply r;
		const struct capf_ipc_field *f = NULL;
		const uint8_t *cp;
		size_t clen;

		ctl_begin(c, &b, verb);
		if (put_filters)
			put_filters(&b, farg);
		if (cursor_len)
			capf_ipc_put_bytes(&b, CAPF_IPC_T_CURSOR, cursor, cursor_len);
		if ((rc = ctl_call(c, &b, cmd, &r)) != CTL_OK)
			return rc;
		if (total)
			capf_ipc_get_u32(&r.msg, CAPF_IPC_T_COUNT, total);
		while ((f = capf_ipc_find(&r.msg, CAPF_IPC_T_DEVICE, f)) != NULL) {
			struct ctl_device d;

			if (ctl_device_decode(f, &d) != 0 || cb(&d, arg) != 0) {
				ctl_reply_free(&r);
				return CTL_FAILED;
			}
		}
		more = 0;
		if (capf_ipc_get_bytes(&r.msg, CAPF_IPC_T_CURSOR, &cp, &clen) == 0 && clen > 0 &&
		    clen <= sizeof(cursor)) {
			if (clen == cursor_len && memcmp(cp, cursor, clen) == 0) {
				fprintf(stderr, "%s: the daemon repeated a page cursor\n", cmd);
				ctl_reply_free(&r);
				return CTL_FAILED;
			}
			memcpy(cursor, cp, clen);
			cursor_len = clen;
			more = 1;
		}
		ctl_reply_free(&r);
	}
	return CTL_OK;
}

struct list_state {
	int json;
	unsigned n;
};

static int list_one(const struct ctl_device *d, void *arg)
{
	struct list_state *ls = arg;
	char st[200], t[64];

	if (ls->json) {
		fputs(ls->n ? ",\n  " : "\n  ", stdout);
		ctl_device_json(stdout, d);
	} else {
		/* OPERATION fits "No Pending Operation", AUTHENTICATION "By Existing
		 * Certificate (Precedence to LSC)" */
		if (ls->n == 0)
			printf("%-20s %-20s %-44s %-21s %s\n", "NAME", "OPERATION", "AUTHENTICATION",
			       "COMPLETES BY", "STATUS");
		printf("%-20s %-20s %-44s %-21s %s\n", d->name, d->op >= 0 ? capf_operation_cisco(d->op) : "-",
		       d->auth >= 0 ? capf_auth_mode_cisco(d->auth) : "-",
		       d->op > 0 ? ctl_fmt_time((time_t)d->deadline, t, sizeof(t)) : "-",
		       ctl_device_status_long(d, st, sizeof(st)));
	}
	ls->n++;
	return 0;
}

struct list_filters {
	const char *pattern;
	uint8_t status[8], op[8], auth[8], key_order[8];
	unsigned nstatus, nop, nauth, nkey;
	uint8_t flags;
};

static void list_filters(struct capf_ipc_builder *b, void *arg)
{
	const struct list_filters *f = arg;
	unsigned i;

	if (f->pattern)
		capf_ipc_put_str(b, CAPF_IPC_T_FILTER_NAME, f->pattern);
	for (i = 0; i < f->nstatus; i++)
		capf_ipc_put_u8(b, CAPF_IPC_T_FILTER_STATUS, f->status[i]);
	for (i = 0; i < f->nop; i++)
		capf_ipc_put_u8(b, CAPF_IPC_T_FILTER_OPERATION, f->op[i]);
	for (i = 0; i < f->nauth; i++)
		capf_ipc_put_u8(b, CAPF_IPC_T_FILTER_AUTH_MODE, f->auth[i]);
	for (i = 0; i < f->nkey; i++)
		capf_ipc_put_u8(b, CAPF_IPC_T_FILTER_KEY_ORDER, f->key_order[i]);
	if (f->flags)
		capf_ipc_put_u8(b, CAPF_IPC_T_FILTER_FLAGS, f->flags);
}

/* Appends v to a filter list of at most 8 values. */
static int filter_add(uint8_t *list, unsigned *n, int v, const char *what, const char *arg, const char *allowed)
{
	if (v < 0)
		return ctl_usage_error("device list", "%s %s: expected %s", what, arg, allowed);
	if (*n >= 8)
		return ctl_usage_error("device list", "%s: at most 8 values", what);
	list[(*n)++] = (uint8_t)v;
	return 0;
}

static int device_list(struct ctl *c, int argc, char **argv)
{
	enum {
		O_JSON = CTL_OPT_FIRST_LOCAL,
		O_PATTERN,
		O_STATUS,
		O_OP,
		O_AUTH,
		O_KEY,
		O_NOLSC,
		O_PASSED,
		O_LOCKED
	};
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{ "json", no_argument, NULL, O_JSON },
		{ "pattern", required_argument, NULL, O_PATTERN },
		{ "status", required_argument, NULL, O_STATUS },
		{ "op", required_argument, NULL, O_OP },
		{ "auth", required_argument, NULL, O_AUTH },
		{ "key-order", required_argument, NULL, O_KEY },
		{ "no-lsc", no_argument, NULL, O_NOLSC },
		{ "deadline-passed", no_argument, NULL, O_PASSED },
		{ "locked-out", no_argument, NULL, O_LOCKED },
		{ NULL, 0, NULL, 0 },
	};
	struct list_state ls = { 0, 0 };
	struct list_filters f;
	uint32_t total = 0;
	int opt, rc;

	memset(&f, 0, sizeof(f));
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ctl_common_opt(c, opt, optarg))
			continue;
		rc = 0;
		switch (opt) {
		case CTL_OPT_HELP:
			ctl_usage(usage_device);
			return CTL_OK;
		case O_JSON:
			ls.json = 1;
			break;
		case O_PATTERN:
			f.pattern = optarg;
			break;
		case O_STATUS:
			rc = filter_add(f.status, &f.nstatus, ctl_status_parse(optarg), "--status", optarg,
					CTL_STATUS_NAMES);
			break;
		case O_OP:
			rc = filter_add(f.op, &f.nop, capf_operation_parse(optarg), "--op", optarg,
					"install, delete, fetch or none");
			break;
		case O_AUTH:
			rc = filter_add(f.auth, &f.nauth, capf_auth_mode_parse(optarg), "--auth", optarg,
					"null, string, lsc-first or mic-first");
			break;
		case O_KEY:
			rc = filter_add(f.key_order, &f.nkey, capf_key_order_parse(optarg), "--key-order",
					optarg, "rsa, ec or ec-rsa");
			break;
		case O_NOLSC:
			f.flags |= CAPF_IPC_DEVF_NO_LSC;
			break;
		case O_PASSED:
			f.flags |= CAPF_IPC_DEVF_DEADLINE_PASSED;
			break;
		case O_LOCKED:
			f.flags |= CAPF_IPC_DEVF_LOCKED_OUT;
			break;
		default:
			return ctl_usage_error("device list", "unknown option");
		}
		if (rc != 0)
			return rc;
	}
	if (optind != argc)
		return ctl_usage_error("device list", "unexpected argument \"%s\"", argv[optind]);
	if (ls.json)
		fputs("[", stdout);
	rc = ctl_walk_devices(c, "device list", CAPF_IPC_DEVICE_LIST, list_filters, &f, list_one, &ls, &total);
	if (ls.json)
		fputs(ls.n ? "\n]\n" : "]\n", stdout);
	else if (rc == CTL_OK)
		fprintf(stderr, "%u device%s\n", ls.n, ls.n == 1 ? "" : "s");
	return rc;
}

int cmd_device(struct ctl *c, int argc, char **argv)
{
	const char *sub;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		ctl_usage(usage_device);
		return argc < 2 ? CTL_USAGE : CTL_OK;
	}
	sub = argv[1];
	argc--;
	argv++;
	if (strcmp(sub, "add") == 0)
		return device_put(c, "device add", argc, argv, 1);
	if (strcmp(sub, "set") == 0)
		return device_put(c, "device set", argc, argv, 0);
	if (strcmp(sub, "show") == 0)
		return device_by_name(c, "device show", argc, argv, CAPF_IPC_DEVICE_SHOW);
	if (strcmp(sub, "remove") == 0)
		return device_by_name(c, "device remove", argc, argv, CAPF_IPC_DEVICE_REMOVE);
	if (strcmp(sub, "reset-lockout") == 0)
		return device_by_name(c, "device reset-lockout", argc, argv, CAPF_IPC_DEVICE_RESET_LOCKOUT);
	if (strcmp(sub, "list") == 0)
		return device_list(c, argc, argv);
	if (strcmp(sub, "cert") == 0)
		return ctl_device_cert(c, argc, argv);
	if (strcmp(sub, "history") == 0)
		return ctl_device_history(c, argc, argv);
	return ctl_usage_error("device", "unknown subcommand \"%s\"", sub);
}
