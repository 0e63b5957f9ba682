/*
 * appliance/capfctl/device_history.c: `capfctl device cert` (the certificate a
 * phone last returned to Troubleshoot, with the signer's verdict, or the
 * device's current LSC, as PEM) and `capfctl device history` (what the device
 * went through, oldest first, as a table or JSON).
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "appliance/capfctl/capfctl.h"
#include "appliance/common/x509.h"

static const char usage_cert[] =
	"usage: capfctl device cert NAME [--fetched | --lsc] [--out FILE]\n"
	"\n"
	"  --fetched    the certificate the phone last returned to Troubleshoot (default), with\n"
	"               the signer's verdict on stderr: accepted (it names the device and chains\n"
	"               to a CAPF CA, active or previous, or to a manufacturing CA) or refused\n"
	"  --lsc        the device's current LSC, as issued\n"
	"  --out FILE   write the PEM to FILE (0644, replaced) instead of stdout\n"
	"  --socket PATH, --help\n";

static const char usage_history[] =
	"usage: capfctl device history NAME [--json]\n"
	"\n"
	"Every issuance (serial, issuing CAPF CA), delivery, Troubleshoot fetch (with the\n"
	"verdict), delete, refusal and settings change of the device, oldest first, with the\n"
	"time (UTC) and who caused it. The history stays after `capfctl device remove`.\n"
	"  --json       {\"schema\", \"name\", \"events\": [{\"time\", \"event\", \"lsc_serial\",\n"
	"               \"lsc_issuer\", \"issuer\", \"outcome\", \"actor\"}]} (docs/json.md)\n"
	"  --socket PATH, --help\n";

/* Options shared by cert and history; returns CTL_OK, or an exit code, or -1 for --help. */
static int parse(struct ctl *c, int argc, char **argv, const char *cmd, const char *usage, int *json, int *kind,
		 const char **out, const char **name)
{
	enum { O_JSON = CTL_OPT_FIRST_LOCAL, O_FETCHED, O_LSC, O_OUT };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{ "json", no_argument, NULL, O_JSON },
		{ "fetched", no_argument, NULL, O_FETCHED },
		{ "lsc", no_argument, NULL, O_LSC },
		{ "out", required_argument, NULL, O_OUT },
		{ NULL, 0, NULL, 0 },
	};
	int opt, kinds = 0;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ctl_common_opt(c, opt, optarg))
			continue;
		if (opt == CTL_OPT_HELP) {
			ctl_usage(usage);
			return -1;
		}
		if (opt == O_JSON && json) {
			*json = 1;
		} else if ((opt == O_FETCHED || opt == O_LSC) && kind) {
			*kind = opt == O_LSC ? CAPF_IPC_CERT_LSC : CAPF_IPC_CERT_FETCHED;
			kinds++;
		} else if (opt == O_OUT && out) {
			*out = optarg;
		} else {
			return ctl_usage_error(cmd, "unknown option");
		}
	}
	if (kinds > 1)
		return ctl_usage_error(cmd, "--fetched and --lsc exclude each other");
	if (optind + 1 != argc)
		return ctl_usage_error(cmd, "exactly one device NAME is needed");
	*name = argv[optind];
	return CTL_OK;
}

int ctl_device_cert(struct ctl *c, int argc, char **argv)
{
	struct capf_ipc_builder b;
	struct ctl_reply r;
	const char *out = NULL, *name;
	const uint8_t *der;
	size_t len;
	char t[64], outcome[1100] = "", serial[80] = "", issuer[1100] = "", iname[1100] = "";
	int64_t when = 0;
	int kind = CAPF_IPC_CERT_FETCHED, rc;
	X509 *x;
	BIO *bio;
	char *pem;
	long pemlen;

	rc = parse(c, argc, argv, "device cert", usage_cert, NULL, &kind, &out, &name);
	if (rc != CTL_OK)
		return rc < 0 ? CTL_OK : rc;
	ctl_begin(c, &b, CAPF_IPC_DEVICE_CERT);
	capf_ipc_put_str(&b, CAPF_IPC_T_DEVICE_NAME, name);
	capf_ipc_put_u8(&b, CAPF_IPC_T_CERT_KIND, (uint8_t)kind);
	if ((rc = ctl_call(c, &b, "device cert", &r)) != CTL_OK)
		return rc;
	capf_ipc_get_i64(&r.msg, CAPF_IPC_T_EVENT_TIME, &when);
	capf_ipc_get_str(&r.msg, CAPF_IPC_T_EVENT_OUTCOME, outcome, sizeof(outcome));
	capf_ipc_get_str(&r.msg, CAPF_IPC_T_LSC_SERIAL, serial, sizeof(serial));
	capf_ipc_get_str(&r.msg, CAPF_IPC_T_LSC_ISSUER, issuer, sizeof(issuer));
	capf_ipc_get_str(&r.msg, CAPF_IPC_T_ISSUER_NAME, iname, sizeof(iname));
	if (capf_ipc_get_bytes(&r.msg, CAPF_IPC_T_CERT, &der, &len) != 0 ||
	    (x = capf_x509_from_der(der, len)) == NULL) {
		fprintf(stderr, "capfctl device cert: the daemon sent no readable certificate\n");
		ctl_reply_free(&r);
		return CTL_FAILED;
	}
	ctl_reply_free(&r);
	if ((bio = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_X509(bio, x) != 1) {
		fprintf(stderr, "capfctl device cert: cannot encode the certificate\n");
		BIO_free(bio);
		X509_free(x);
		return CTL_FAILED;
	}
	X509_free(x);
	pemlen = BIO_get_mem_data(bio, &pem);
	if (kind == CAPF_IPC_CERT_FETCHED)
		fprintf(stderr, "Fetched from the phone %s: %s\nIssuer: %s%s%s%s\n",
			ctl_fmt_time((time_t)when, t, sizeof(t)), outcome, iname[0] ? iname : "-",
			issuer[0] ? " (SHA-256 " : "", issuer, issuer[0] ? ")" : "");
	else
		fprintf(stderr, "LSC serial %s issued %s by the CAPF CA %s (%s)\n", serial,
			ctl_fmt_time((time_t)when, t, sizeof(t)), issuer, outcome);
	if (out != NULL) {
		rc = ctl_write_file(out, pem, (size_t)pemlen, 0) == 0 ? CTL_OK : CTL_FAILED;
		if (rc == CTL_OK)
			fprintf(stderr, "Written to %s.\n", out);
	} else {
		fwrite(pem, 1, (size_t)pemlen, stdout);
		rc = CTL_OK;
	}
	BIO_free(bio);
	return rc;
}

struct hist_state {
	int json;
	unsigned n;
};

static void print_event(struct hist_state *h, const struct capf_ipc_field *f)
{
	struct capf_ipc_msg sub;
	char kind[40] = "", serial[80] = "", issuer[1100] = "", outcome[1100] = "", actor[1100] = "";
	char iname[1100] = "";
	char t[64], err[160];
	int64_t when = 0;

	if (capf_ipc_decode_nested(f, &sub, err, sizeof(err)) != 0)
		return;
	capf_ipc_get_i64(&sub, CAPF_IPC_T_EVENT_TIME, &when);
	capf_ipc_get_str(&sub, CAPF_IPC_T_EVENT_KIND, kind, sizeof(kind));
	capf_ipc_get_str(&sub, CAPF_IPC_T_LSC_SERIAL, serial, sizeof(serial));
	capf_ipc_get_str(&sub, CAPF_IPC_T_LSC_ISSUER, issuer, sizeof(issuer));
	capf_ipc_get_str(&sub, CAPF_IPC_T_EVENT_OUTCOME, outcome, sizeof(outcome));
	capf_ipc_get_str(&sub, CAPF_IPC_T_ISSUER_NAME, iname, sizeof(iname));
	capf_ipc_get_str(&sub, CAPF_IPC_T_TEXT, actor, sizeof(actor));
	capf_ipc_msg_free(&sub);
	if (h->json) {
		fputs(h->n ? ",\n  {\"time\": " : "\n  {\"time\": ", stdout);
		ctl_json_time(stdout, (time_t)when);
		fputs(", \"event\": ", stdout);
		ctl_json_str(stdout, kind);
		fputs(", \"lsc_serial\": ", stdout);
		ctl_json_opt(stdout, serial);
		fputs(", \"lsc_issuer\": ", stdout);
		ctl_json_opt(stdout, issuer);
		fputs(", \"issuer\": ", stdout);
		ctl_json_opt(stdout, iname);
		fputs(", \"outcome\": ", stdout);
		ctl_json_str(stdout, outcome);
		fputs(", \"actor\": ", stdout);
		ctl_json_str(stdout, actor);
		fputc('}', stdout);
	} else {
		if (h->n == 0)
			printf("%-21s %-14s %-34s %-18s %s\n", "TIME", "EVENT", "SERIAL", "ISSUER", "OUTCOME");
		printf("%-21s %-14s %-34.34s %-18.16s %s\n", ctl_fmt_time((time_t)when, t, sizeof(t)), kind,
		       serial[0] ? serial : "-", issuer[0] ? issuer : "-", outcome[0] ? outcome : "-");
	}
	h->n++;
}

int ctl_device_history(struct ctl *c, int argc, char **argv)
{
	struct hist_state h = { 0, 0 };
	uint8_t cursor[8];
	size_t cursor_len = 0;
	const char *name;
	int rc, more = 1;

	rc = parse(c, argc, argv, "device history", usage_history, &h.json, NULL, NULL, &name);
	if (rc != CTL_OK)
		return rc < 0 ? CTL_OK : rc;
	if (h.json) {
		char up[CAPF_DEVICE_NAME_MAX + 1];
		size_t i;

		for (i = 0; name[i] && i < CAPF_DEVICE_NAME_MAX; i++)
			up[i] = (char)toupper((unsigned char)name[i]); /* as the daemon does */
		up[i] = '\0';
		printf("{\"schema\": %d, \"name\": ", CTL_JSON_SCHEMA);
		ctl_json_str(stdout, up);
		fputs(", \"events\": [", stdout);
	}
	while (more) {
		struct capf_ipc_builder b;
		struct ctl_reply r;
		const struct capf_ipc_field *f = NULL;
		const uint8_t *cp;
		size_t clen;

		ctl_begin(c, &b, CAPF_IPC_DEVICE_HISTORY);
		capf_ipc_put_str(&b, CAPF_IPC_T_DEVICE_NAME, name);
		if (cursor_len)
			capf_ipc_put_bytes(&b, CAPF_IPC_T_CURSOR, cursor, cursor_len);
		if ((rc = ctl_call(c, &b, "device history", &r)) != CTL_OK)
			break;
		while ((f = capf_ipc_find(&r.msg, CAPF_IPC_T_EVENT, f)) != NULL)
			print_event(&h, f);
		more = 0;
		if (capf_ipc_get_bytes(&r.msg, CAPF_IPC_T_CURSOR, &cp, &clen) == 0 && clen == sizeof(cursor) &&
		    !(cursor_len && memcmp(cp, cursor, clen) == 0)) {
			memcpy(cursor, cp, clen);
			cursor_len = clen;
			more = 1;
		}
		ctl_reply_free(&r);
	}
	if (h.json)
		fputs(h.n ? "\n]}\n" : "]}\n", stdout);
	else if (rc == CTL_OK)
		fprintf(stderr, "%u event%s\n", h.n, h.n == 1 ? "" : "s");
	return rc;
}
