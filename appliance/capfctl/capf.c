/*
 * appliance/capfctl/capf.c: `capfctl capf show|regenerate|csr|import|adopt`. The daemon
 * does the work and enforces the confirmation itself; capfctl prints the
 * phone-reset warning and asks first.
 */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "appliance/capfctl/capfctl.h"
#include "appliance/capfctl/certinfo.h"
#include "appliance/ceremony/transcript.h"
#include "appliance/common/file.h"
#include "appliance/common/x509.h"
#include "policy/device.h"

/* ---- capf show ------------------------------------------------------------ */

static const char usage_capf[] =
	"usage: capfctl capf show [--json] [--warn-days N]\n"
	"       capfctl capf regenerate [--key-type rsa:2048|rsa:3072|rsa:4096|ec:P-256|ec:P-384|ec:P-521]\n"
	"                               [--days N] [--subject DN] [--transcript FILE] [--yes]\n"
	"       capfctl capf csr [--out FILE]\n"
	"       capfctl capf import CERT [--chain CHAIN] [--yes]\n"
	"       capfctl capf adopt --key-uri URI --cert CERT [--chain CHAIN] [--yes]\n"
	"\n"
	"show        the CAPF CA certificate (signs LSCs) and the CAPF TLS certificate (port\n"
	"            3804, the ITL's CAPF record): subject, serial, validity, days to expiry (a\n"
	"            WARNING under --warn-days, default 60), SHA-1 (as in the ITL) and SHA-256\n"
	"            fingerprints, key URI, chain (and when the chain ends before the certificate:\n"
	"            that date, which no LSC outlives, with its own WARNING); and the previous\n"
	"            CAPF CAs still trusted.\n"
	"regenerate  a new CAPF CA key inside the token (label capf-ca-YYYYMMDDhhmmss) and a new\n"
	"            self-signed certificate with the same subject (or --subject), CA:TRUE\n"
	"            pathlen:0, keyUsage digitalSignature+keyCertSign, valid --days (default\n"
	"            3650). The old CA becomes \"previous\": still trusted for LSC authentication.\n"
	"            A free label is chosen first (capf-ca-YYYYMMDDhhmmss-N when taken); a step\n"
	"            failing after the key generation destroys the new key (or says it is left).\n"
	"            --transcript FILE (new file): what was asked and done, in the ceremony's\n"
	"            transcript form (timestamped steps, SHA-256 of the certificate).\n"
	"csr         a PKCS#10 request for the current CAPF CA key (its subject, CA:TRUE\n"
	"            pathlen:0, digitalSignature+keyCertSign), PEM to --out FILE (new) or stdout.\n"
	"import      a CAPF CA certificate signed by a third-party CA (PEM or DER), with its\n"
	"            chain up to the root (PEM, --chain). Refused unless its public key is the\n"
	"            token's CAPF CA key, it has CA:TRUE pathlen:0 and keyCertSign, and the\n"
	"            chain verifies. It becomes active, the old one previous.\n"
	"adopt       rotation by ceremony: the key a capf-ceremony made in the production\n"
	"            token (--key-uri, the transcript's pkcs11: URI, no PIN: the daemon uses\n"
	"            token.pin_source) with its certificate (--cert: the ceremony's self-signed\n"
	"            one, or the third party's for the ceremony's CSR, with --chain up to the\n"
	"            root). Refused unless the key opens in the token, signs, matches the\n"
	"            certificate, and the certificate passes the CAPF CA checks with its chain.\n"
	"            It becomes active, the old CA previous (still trusted for LSC\n"
	"            authentication).\n"
	"\n"
	"regenerate, import and adopt change the CAPF CA: capfctl prints the phone-reset\n"
	"warning with the number of phones holding LSCs from the outgoing CA, and changes\n"
	"nothing without --yes (or \"yes\" typed on a terminal): exit code 4.\n"
	"The store records the CA with its chain (a restart reads nothing else); the daemon\n"
	"also exports it to ca.certificate (and its chain next to it): when that export\n"
	"cannot be written the change is made but capfctl says so and exits 1.\n"
	"Common: --socket PATH, --help.\n";

static int capf_show(struct ctl *c, int argc, char **argv)
{
	enum { O_JSON = CTL_OPT_FIRST_LOCAL, O_WARN };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{ "json", no_argument, NULL, O_JSON },
		{ "warn-days", required_argument, NULL, O_WARN },
		{ NULL, 0, NULL, 0 },
	};
	struct certs cs;
	unsigned long ul;
	long warn = 60;
	int opt, json = 0, rc, i, first,
		 order[] = { CAPF_IPC_CERT_ACTIVE, CAPF_IPC_CERT_TLS, CAPF_IPC_CERT_PENDING,
			     CAPF_IPC_CERT_PREVIOUS, CAPF_IPC_CERT_RETIRED };
	size_t k;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ctl_common_opt(c, opt, optarg))
			continue;
		if (opt == CTL_OPT_HELP) {
			ctl_usage(usage_capf);
			return CTL_OK;
		}
		if (opt == O_JSON) {
			json = 1;
		} else if (opt == O_WARN) {
			if (capf_parse_uint(optarg, 0, 36500, &ul) != 0)
				return ctl_usage_error("capf show", "--warn-days: a number of days");
			warn = (long)ul;
		} else {
			return ctl_usage_error("capf show", "unknown option");
		}
	}
	if (optind != argc)
		return ctl_usage_error("capf show", "unexpected argument \"%s\"", argv[optind]);
	if ((rc = ctl_fetch_certs(c, "capf show", &cs)) != CTL_OK)
		return rc;
	if (json) {
		const struct ctl_cert *a = ctl_certs_find(&cs, CAPF_IPC_CERT_ACTIVE);
		const struct ctl_cert *t = ctl_certs_find(&cs, CAPF_IPC_CERT_TLS);

		printf("{\"schema\": %d, \"ca\": ", CTL_JSON_SCHEMA);
		if (a)
			ctl_cert_json(stdout, a, warn);
		else
			fputs("null", stdout);
		fputs(",\n \"tls\": ", stdout);
		if (t)
			ctl_cert_json(stdout, t, warn);
		else
			fputs("null", stdout);
		fputs(",\n \"previous\": [", stdout);
		for (i = 0, first = 1; i < cs.n; i++) {
			if (cs.c[i].role != CAPF_IPC_CERT_PREVIOUS || !cs.c[i].x)
				continue;
			fputs(first ? "" : ", ", stdout);
			ctl_cert_json(stdout, &cs.c[i], warn);
			first = 0;
		}
		fputs("],\n \"retired\": [", stdout);
		for (i = 0, first = 1; i < cs.n; i++) {
			if (cs.c[i].role != CAPF_IPC_CERT_RETIRED || !cs.c[i].x)
				continue;
			fputs(first ? "" : ", ", stdout);
			ctl_cert_json(stdout, &cs.c[i], warn);
			first = 0;
		}
		fputs("]}\n", stdout);
	} else {
		if (ctl_certs_find(&cs, CAPF_IPC_CERT_ACTIVE) == NULL)
			puts("No active CAPF CA certificate.\n");
		if (ctl_certs_find(&cs, CAPF_IPC_CERT_TLS) == NULL)
			puts("No CAPF TLS certificate recorded (issue one with `capfctl tls issue`).\n");
		for (k = 0; k < sizeof(order) / sizeof(order[0]); k++)
			for (i = 0; i < cs.n; i++)
				if (cs.c[i].role == order[k] && cs.c[i].x) {
					ctl_cert_print(stdout, &cs.c[i], warn);
					putchar('\n');
				}
	}
	ctl_certs_clear(&cs);
	return CTL_OK;
}

/* ---- regenerate --------------------------------------------------------- */

static int parse_key_type(const char *s, uint8_t *type, uint32_t *bits, int *curve)
{
	unsigned long ul;

	if (strncmp(s, "rsa:", 4) == 0) {
		if (capf_parse_uint(s + 4, 2048, 8192, &ul) != 0)
			return -1;
		*type = CAPF_KEY_RSA;
		*bits = (uint32_t)ul;
		return 0;
	}
	if (strncmp(s, "ec:", 3) == 0 && (*curve = capf_curve_parse(s + 3)) >= 0) {
		*type = CAPF_KEY_EC;
		return 0;
	}
	return -1;
}

static int print_cert_reply(const struct ctl_reply *r, const char *intro)
{
	const struct capf_ipc_field *f = capf_ipc_find(&r->msg, CAPF_IPC_T_CAPF_CERT, NULL);
	struct ctl_cert cc;

	if (f == NULL || ctl_cert_decode(f, &cc) != 0 || cc.x == NULL) {
		printf("%s\n", intro);
		return CTL_OK;
	}
	printf("%s\n", intro);
	ctl_cert_print(stdout, &cc, 60);
	ctl_cert_clear(&cc);
	return CTL_OK;
}

/* The change is made; an export file was not: an error the operator must see. */
static int export_error(const struct ctl_reply *r, const char *what)
{
	char t[1100];

	if (capf_ipc_get_str(&r->msg, CAPF_IPC_T_EXPORT_ERROR, t, sizeof(t)) != 0)
		return CTL_OK;
	fprintf(stderr, "capfctl %s: error: %s\n", what, t);
	return CTL_FAILED;
}

/* The ceremony's transcript header for a change made through the daemon. */
static void transcript_head(struct transcript *t, const char *title)
{
	struct passwd *pw = getpwuid(geteuid());
	char host[256] = "?";

	gethostname(host, sizeof(host) - 1);
	transcript_step(t, "capf-appliance %s", title);
	transcript_step(t, "run by: uid %u (%s) on %s", (unsigned)geteuid(), pw != NULL ? pw->pw_name : "?",
			host);
}

/* What the reply's CAPF_CERT says, as transcript steps. */
static void transcript_cert(struct transcript *t, const struct ctl_reply *r)
{
	const struct capf_ipc_field *f = capf_ipc_find(&r->msg, CAPF_IPC_T_CAPF_CERT, NULL);
	struct ctl_cert cc;
	char subj[1100], fp[200], na[64];

	if (f == NULL || ctl_cert_decode(f, &cc) != 0 || cc.x == NULL) {
		transcript_step(t, "step: the daemon's answer holds no certificate");
		return;
	}
	transcript_step(t, "step: generated the new CAPF CA key inside the token: %s",
			cc.key_uri[0] ? cc.key_uri : "(URI not reported)");
	{
		BIO *mb = BIO_new(BIO_s_mem());
		int l = 0;

		if (mb != NULL && ASN1_TIME_print(mb, X509_get0_notAfter(cc.x)) == 1)
			l = BIO_read(mb, na, (int)sizeof(na) - 1);
		na[l > 0 ? l : 0] = '\0';
		BIO_free(mb);
	}
	transcript_step(t, "step: self-signed CAPF CA certificate %s, not after %s",
			capf_x509_subject(cc.x, subj, sizeof(subj)), na);
	transcript_step(t, "artifact: certificate sha256=%s (active; `capfctl trust export` prints it)",
			capf_x509_fp_hex(cc.x, EVP_sha256(), 0, fp, sizeof(fp)));
	ctl_cert_clear(&cc);
}

static int capf_regenerate(struct ctl *c, int argc, char **argv)
{
	enum { O_KEY = CTL_OPT_FIRST_LOCAL, O_DAYS, O_YES, O_SUBJECT, O_TRANSCRIPT };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{ "transcript", required_argument, NULL, O_TRANSCRIPT },
		{ "key-type", required_argument, NULL, O_KEY },
		{ "days", required_argument, NULL, O_DAYS },
		{ "subject", required_argument, NULL, O_SUBJECT },
		{ "yes", no_argument, NULL, O_YES },
		{ NULL, 0, NULL, 0 },
	};
	struct capf_ipc_builder b;
	struct ctl_reply r;
	unsigned long days = 0;
	uint8_t type = 0;
	uint32_t bits = 0;
	int curve = -1, has_key = 0, yes = 0, opt, rc;
	const char *subject = NULL, *tpath = NULL, *key_arg = NULL;
	struct transcript *t = NULL;
	char terr[512];

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ctl_common_opt(c, opt, optarg))
			continue;
		switch (opt) {
		case CTL_OPT_HELP:
			ctl_usage(usage_capf);
			return CTL_OK;
		case O_KEY:
			if (parse_key_type(optarg, &type, &bits, &curve) != 0)
				return ctl_usage_error("capf regenerate",
						       "--key-type %s: rsa:2048, rsa:3072, "
						       "rsa:4096, ec:P-256, ec:P-384 or ec:P-521",
						       optarg);
			has_key = 1;
			key_arg = optarg;
			break;
		case O_TRANSCRIPT:
			tpath = optarg;
			break;
		case O_DAYS:
			if (capf_parse_uint(optarg, 1, 36500, &days) != 0)
				return ctl_usage_error("capf regenerate", "--days %s: a number of days",
						       optarg);
			break;
		case O_SUBJECT:
			subject = optarg;
			break;
		case O_YES:
			yes = 1;
			break;
		default:
			return ctl_usage_error("capf regenerate", "unknown option");
		}
	}
	if (optind != argc)
		return ctl_usage_error("capf regenerate", "unexpected argument \"%s\"", argv[optind]);
	/* before the question: a transcript is never overwritten */
	if (tpath && access(tpath, F_OK) == 0) {
		fprintf(stderr,
			"capfctl capf regenerate: --transcript %s: already exists (a transcript "
			"is never overwritten); nothing was changed\n",
			tpath);
		return CTL_FAILED;
	}
	if ((rc = ctl_reset_warning(c,
				    "regenerating the CAPF CA replaces the certificate that "
				    "signs LSCs.",
				    1)) != CTL_OK)
		return rc;
	if (!ctl_confirm(yes, "Regenerate the CAPF CA key and certificate?"))
		return CTL_NOCONFIRM;
	/* the transcript exists before anything changes (never overwritten) */
	if (tpath && transcript_create(tpath, &t, terr, sizeof(terr)) != 0) {
		fprintf(stderr, "capfctl capf regenerate: --transcript %s; nothing was changed\n", terr);
		return CTL_FAILED;
	}
	if (t) {
		transcript_head(t, "CAPF CA regenerate (capfctl capf regenerate)");
		transcript_step(t, "request: key type %s, subject %s, %lu days; daemon %s",
				key_arg ? key_arg : "as the current CA",
				subject ? subject : "of the current CA", days ? days : 3650UL, c->socket_path);
	}
	ctl_begin(c, &b, CAPF_IPC_CAPF_REGENERATE);
	capf_ipc_put_u8(&b, CAPF_IPC_T_CONFIRM, 1);
	if (has_key) {
		capf_ipc_put_u8(&b, CAPF_IPC_T_KEY_TYPE, type);
		if (type == CAPF_KEY_RSA)
			capf_ipc_put_u32(&b, CAPF_IPC_T_RSA_BITS, bits);
		else
			capf_ipc_put_u8(&b, CAPF_IPC_T_CURVE, (uint8_t)curve);
	}
	if (subject)
		capf_ipc_put_str(&b, CAPF_IPC_T_SUBJECT, subject);
	if (days)
		capf_ipc_put_u32(&b, CAPF_IPC_T_VALIDITY_DAYS, (uint32_t)days);
	if ((rc = ctl_call_raw(c, &b, "capf regenerate", &r)) != CTL_OK) {
		if (t) {
			transcript_step(t, "FAILED: capf-signerd not reached");
			transcript_close(t, 0);
		}
		return rc;
	}
	if (r.msg.status != CAPF_IPC_OK) {
		char why[1100] = "";

		capf_ipc_get_str(&r.msg, CAPF_IPC_T_TEXT, why, sizeof(why));
		ctl_print_refusal(&r.msg, "capf regenerate");
		if (t) {
			transcript_step(t, "FAILED: %s", why[0] ? why : "refused");
			transcript_close(t, 0);
		}
		ctl_reply_free(&r);
		return CTL_FAILED;
	}
	print_cert_reply(&r, "New CAPF CA certificate (active; the old one is now previous):");
	rc = export_error(&r, "capf regenerate");
	if (t) {
		char why[1100] = "";

		transcript_cert(t, &r);
		transcript_step(t,
				"step: the new CA is active (recorded in the store); the old one is previous");
		if (rc != CTL_OK && capf_ipc_get_str(&r.msg, CAPF_IPC_T_EXPORT_ERROR, why, sizeof(why)) == 0)
			transcript_step(t, "export: %s", why);
		if (transcript_close(t, 1) != 0) {
			fprintf(stderr,
				"capfctl capf regenerate: %s: the transcript could not be written completely\n",
				tpath);
			rc = CTL_FAILED;
		}
	}
	ctl_reply_free(&r);
	fprintf(stderr, "Next: issue the TLS certificate again (`capfctl tls issue`), update the "
			"ITL, and add the new CA to the trust stores (`capfctl trust export`).\n");
	return CTL_OK;
}

/* ---- csr ------------------------------------------------------------------ */

static int capf_csr(struct ctl *c, int argc, char **argv)
{
	enum { O_OUT = CTL_OPT_FIRST_LOCAL };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{ "out", required_argument, NULL, O_OUT },
		{ NULL, 0, NULL, 0 },
	};
	struct capf_ipc_builder b;
	struct ctl_reply r;
	const uint8_t *der, *q;
	size_t n;
	const char *out = NULL;
	X509_REQ *req;
	BIO *bio;
	char *pem;
	long pemlen;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ctl_common_opt(c, opt, optarg))
			continue;
		if (opt == CTL_OPT_HELP) {
			ctl_usage(usage_capf);
			return CTL_OK;
		}
		if (opt == O_OUT)
			out = optarg;
		else
			return ctl_usage_error("capf csr", "unknown option");
	}
	if (optind != argc)
		return ctl_usage_error("capf csr", "unexpected argument \"%s\"", argv[optind]);
	ctl_begin(c, &b, CAPF_IPC_CAPF_CSR);
	if ((rc = ctl_call(c, &b, "capf csr", &r)) != CTL_OK)
		return rc;
	capf_ipc_get_bytes(&r.msg, CAPF_IPC_T_CSR, &der, &n);
	q = der;
	req = d2i_X509_REQ(NULL, &q, (long)n);
	bio = BIO_new(BIO_s_mem());
	if (req == NULL || bio == NULL || PEM_write_bio_X509_REQ(bio, req) != 1) {
		fprintf(stderr, "capf csr: the daemon sent a CSR that does not parse\n");
		X509_REQ_free(req);
		BIO_free(bio);
		ctl_reply_free(&r);
		return CTL_FAILED;
	}
	pemlen = BIO_get_mem_data(bio, &pem);
	rc = CTL_OK;
	if (out) {
		if (ctl_write_file(out, pem, (size_t)pemlen, 1) != 0)
			rc = CTL_FAILED;
		else
			fprintf(stderr, "CSR for the CAPF CA key written to %s\n", out);
	} else {
		fwrite(pem, 1, (size_t)pemlen, stdout);
	}
	X509_REQ_free(req);
	BIO_free(bio);
	ctl_reply_free(&r);
	return rc;
}

/* ---- import --------------------------------------------------------------- */

/* Every certificate of a PEM file (or the one of a DER file), at most max. */
static int read_certs(const char *path, X509 **out, int max)
{
	unsigned char *data;
	size_t len;
	char err[512];
	BIO *bio;
	X509 *x;
	int n = 0;

	if (capf_file_read(path, CERT_FILE_MAX, &data, &len, err, sizeof(err)) != 0) {
		fprintf(stderr, "capfctl: %s\n", err);
		return -1;
	}
	if (strstr((char *)data, "-----BEGIN") == NULL) {
		const unsigned char *q = data;

		x = d2i_X509(NULL, &q, (long)len);
		free(data);
		if (x == NULL) {
			fprintf(stderr, "capfctl: %s: neither PEM nor DER certificate\n", path);
			return -1;
		}
		out[0] = x;
		return 1;
	}
	bio = BIO_new_mem_buf(data, (int)len);
	while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (n == max) {
			X509_free(x);
			fprintf(stderr, "capfctl: %s: more than %d certificates\n", path, max);
			while (n > 0)
				X509_free(out[--n]);
			n = -1;
			break;
		}
		out[n++] = x;
	}
	ERR_clear_error();
	BIO_free(bio);
	free(data);
	if (n == 0)
		fprintf(stderr, "capfctl: %s: no PEM certificate in it\n", path);
	return n > 0 ? n : -1;
}

static int put_x509(struct capf_ipc_builder *b, uint16_t tag, X509 *x)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	if (n <= 0)
		return -1;
	capf_ipc_put_bytes(b, tag, der, (size_t)n);
	OPENSSL_free(der);
	return 0;
}

/* A change of the CAPF CA that sends a certificate with its chain (import,
 * adopt; key_uri for adopt): reads the files, prints the phone-reset warning
 * with the LSC counts, asks, sends, prints the answer and any export error. */
struct ca_change {
	uint16_t verb;
	const char *what;    /* "capf import" */
	const char *warning; /* "importing a CAPF CA certificate replaces ..." */
	const char *question;
	const char *done; /* the answer's title */
};

static int send_ca_change(struct ctl *c, const struct ca_change *w, const char *key_uri, const char *cert_path,
			  const char *chain_path, int yes)
{
	struct capf_ipc_builder b;
	struct ctl_reply r;
	X509 *cert[1], *chain[CHAIN_MAX];
	int nchain = 0, i, rc;

	if (read_certs(cert_path, cert, 1) != 1)
		return CTL_FAILED;
	if (chain_path && (nchain = read_certs(chain_path, chain, CHAIN_MAX)) < 0) {
		X509_free(cert[0]);
		return CTL_FAILED;
	}
	rc = ctl_reset_warning(c, w->warning, 1);
	if (rc == CTL_OK && !ctl_confirm(yes, w->question))
		rc = CTL_NOCONFIRM;
	if (rc == CTL_OK) {
		ctl_begin(c, &b, w->verb);
		capf_ipc_put_u8(&b, CAPF_IPC_T_CONFIRM, 1);
		if (key_uri)
			capf_ipc_put_str(&b, CAPF_IPC_T_KEY_URI, key_uri);
		put_x509(&b, CAPF_IPC_T_CERT, cert[0]);
		for (i = 0; i < nchain; i++)
			put_x509(&b, CAPF_IPC_T_CHAIN_CERT, chain[i]);
		rc = ctl_call(c, &b, w->what, &r);
		if (rc == CTL_OK) {
			print_cert_reply(&r, w->done);
			rc = export_error(&r, w->what);
			ctl_reply_free(&r);
		}
	}
	X509_free(cert[0]);
	for (i = 0; i < nchain; i++)
		X509_free(chain[i]);
	return rc;
}

static int capf_import(struct ctl *c, int argc, char **argv)
{
	enum { O_CHAIN = CTL_OPT_FIRST_LOCAL, O_YES };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{ "chain", required_argument, NULL, O_CHAIN },
		{ "yes", no_argument, NULL, O_YES },
		{ NULL, 0, NULL, 0 },
	};
	static const struct ca_change w = {
		CAPF_IPC_CAPF_IMPORT,
		"capf import",
		"importing a CAPF CA certificate replaces the certificate that signs LSCs.",
		"Import this CAPF CA certificate?",
		"Imported CAPF CA certificate (active; the old one is now previous):",
	};
	const char *chain_path = NULL;
	int opt, yes = 0;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ctl_common_opt(c, opt, optarg))
			continue;
		if (opt == CTL_OPT_HELP) {
			ctl_usage(usage_capf);
			return CTL_OK;
		}
		if (opt == O_CHAIN)
			chain_path = optarg;
		else if (opt == O_YES)
			yes = 1;
		else
			return ctl_usage_error("capf import", "unknown option");
	}
	if (optind + 1 != argc)
		return ctl_usage_error("capf import", "one CERT file is needed");
	return send_ca_change(c, &w, NULL, argv[optind], chain_path, yes);
}

/* ---- adopt ---------------------------------------------------------------- */

static int capf_adopt(struct ctl *c, int argc, char **argv)
{
	enum { O_URI = CTL_OPT_FIRST_LOCAL, O_CERT, O_CHAIN, O_YES };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{ "key-uri", required_argument, NULL, O_URI },
		{ "cert", required_argument, NULL, O_CERT },
		{ "chain", required_argument, NULL, O_CHAIN },
		{ "yes", no_argument, NULL, O_YES },
		{ NULL, 0, NULL, 0 },
	};
	static const struct ca_change w = {
		CAPF_IPC_CAPF_ADOPT,
		"capf adopt",
		"adopting a new CAPF CA key and certificate replaces the certificate that signs LSCs.",
		"Adopt this key and certificate as the CAPF CA?",
		"Adopted CAPF CA (active; the old one is now previous, still trusted for LSC "
		"authentication):",
	};
	const char *uri = NULL, *cert_path = NULL, *chain_path = NULL;
	int opt, yes = 0, rc;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ctl_common_opt(c, opt, optarg))
			continue;
		switch (opt) {
		case CTL_OPT_HELP:
			ctl_usage(usage_capf);
			return CTL_OK;
		case O_URI:
			uri = optarg;
			break;
		case O_CERT:
			cert_path = optarg;
			break;
		case O_CHAIN:
			chain_path = optarg;
			break;
		case O_YES:
			yes = 1;
			break;
		default:
			return ctl_usage_error("capf adopt", "unknown option");
		}
	}
	if (optind != argc)
		return ctl_usage_error("capf adopt", "unexpected argument \"%s\"", argv[optind]);
	if (uri == NULL || strncmp(uri, "pkcs11:", 7) != 0)
		return ctl_usage_error("capf adopt", "--key-uri pkcs11:token=...;object=...;type=private "
						     "(the URI in the ceremony's transcript) is needed");
	if (strstr(uri, "pin-value") != NULL || strstr(uri, "pin-source") != NULL)
		return ctl_usage_error("capf adopt", "--key-uri: no PIN in the URI (the daemon logs in "
						     "with token.pin_source)");
	if (cert_path == NULL)
		return ctl_usage_error("capf adopt", "--cert FILE (the key's certificate) is needed");
	rc = send_ca_change(c, &w, uri, cert_path, chain_path, yes);
	if (rc == CTL_OK || rc == CTL_FAILED)
		fprintf(stderr, "Next: issue the TLS certificate again (`capfctl tls issue`), update "
				"the ITL, and add the new CA to the trust stores (`capfctl trust export`).\n");
	return rc;
}

int cmd_capf(struct ctl *c, int argc, char **argv)
{
	const char *sub;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		ctl_usage(usage_capf);
		return argc < 2 ? CTL_USAGE : CTL_OK;
	}
	sub = argv[1];
	argc--;
	argv++;
	if (strcmp(sub, "show") == 0)
		return capf_show(c, argc, argv);
	if (strcmp(sub, "regenerate") == 0)
		return capf_regenerate(c, argc, argv);
	if (strcmp(sub, "csr") == 0)
		return capf_csr(c, argc, argv);
	if (strcmp(sub, "import") == 0)
		return capf_import(c, argc, argv);
	if (strcmp(sub, "adopt") == 0)
		return capf_adopt(c, argc, argv);
	return ctl_usage_error("capf", "unknown subcommand \"%s\"", sub);
}
