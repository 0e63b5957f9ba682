/*
 * appliance/capfctl/certs.c: `capfctl capf show|regenerate|csr|import`,
 * `capfctl tls issue`, `capfctl trust export`. The daemon does the work and
 * enforces the confirmation itself; capfctl prints the phone-reset warning,
 * asks, and shows certificates (fingerprints as the ITL and CUCM show them).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "appliance/capfctl/capfctl.h"
#include "appliance/common/file.h"
#include "policy/device.h"

#define CERT_FILE_MAX (1024 * 1024)
#define CHAIN_MAX     8

/* ---- a CAPF_CERT record ----------------------------------------------- */

struct ctl_cert {
	int role;
	X509 *x;
	unsigned lsc_count;
	int has_lsc_count;
	char key_uri[1025];
	X509 *chain[CHAIN_MAX];
	int nchain;
};

static void
cert_clear(struct ctl_cert *c)
{
	int i;

	X509_free(c->x);
	for (i = 0; i < c->nchain; i++)
		X509_free(c->chain[i]);
	memset(c, 0, sizeof(*c));
}

static X509 *
der_to_x509(const uint8_t *p, size_t n)
{
	const unsigned char *q = p;
	X509 *x = d2i_X509(NULL, &q, (long)n);

	if (x != NULL && q != p + n) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int
cert_decode(const struct capf_ipc_field *f, struct ctl_cert *c)
{
	const struct capf_ipc_field *cf = NULL;
	struct capf_ipc_msg sub;
	char err[160];
	const uint8_t *p;
	size_t n;
	uint8_t role;
	uint32_t cnt;

	memset(c, 0, sizeof(*c));
	if (capf_ipc_decode_nested(f, &sub, err, sizeof(err)) != 0) {
		fprintf(stderr, "capfctl: malformed certificate record: %s\n", err);
		return -1;
	}
	capf_ipc_get_u8(&sub, CAPF_IPC_T_CERT_ROLE, &role);
	c->role = role;
	if (capf_ipc_get_u32(&sub, CAPF_IPC_T_LSC_COUNT, &cnt) == 0) {
		c->lsc_count = cnt;
		c->has_lsc_count = 1;
	}
	capf_ipc_get_str(&sub, CAPF_IPC_T_KEY_URI, c->key_uri, sizeof(c->key_uri));
	if (capf_ipc_get_bytes(&sub, CAPF_IPC_T_CERT, &p, &n) == 0 &&
	    (c->x = der_to_x509(p, n)) == NULL) {
		fprintf(stderr, "capfctl: the daemon sent a certificate that does not parse\n");
		capf_ipc_msg_free(&sub);
		return -1;
	}
	while ((cf = capf_ipc_find(&sub, CAPF_IPC_T_CHAIN_CERT, cf)) != NULL && c->nchain < CHAIN_MAX) {
		X509 *x = der_to_x509(cf->val, cf->len);

		if (x == NULL) {
			capf_ipc_msg_free(&sub);
			cert_clear(c);
			return -1;
		}
		c->chain[c->nchain++] = x;
	}
	capf_ipc_msg_free(&sub);
	return 0;
}

struct certs {
	struct ctl_cert c[32];
	int n;
};

static void
certs_clear(struct certs *cs)
{
	int i;

	for (i = 0; i < cs->n; i++)
		cert_clear(&cs->c[i]);
	cs->n = 0;
}

static int
certs_from_reply(const struct ctl_reply *r, struct certs *cs)
{
	const struct capf_ipc_field *f = NULL;

	cs->n = 0;
	while ((f = capf_ipc_find(&r->msg, CAPF_IPC_T_CAPF_CERT, f)) != NULL) {
		if (cs->n >= (int)(sizeof(cs->c) / sizeof(cs->c[0])))
			break;
		if (cert_decode(f, &cs->c[cs->n]) != 0) {
			certs_clear(cs);
			return -1;
		}
		cs->n++;
	}
	return 0;
}

static const struct ctl_cert *
certs_find(const struct certs *cs, int role)
{
	int i;

	for (i = 0; i < cs->n; i++)
		if (cs->c[i].role == role && cs->c[i].x)
			return &cs->c[i];
	return NULL;
}

/* CAPF_SHOW into cs. */
static int
fetch_certs(struct ctl *c, const char *what, struct certs *cs)
{
	struct capf_ipc_builder b;
	struct ctl_reply r;
	int rc;

	ctl_begin(c, &b, CAPF_IPC_CAPF_SHOW);
	if ((rc = ctl_call(c, &b, what, &r)) != CTL_OK)
		return rc;
	rc = certs_from_reply(&r, cs) == 0 ? CTL_OK : CTL_FAILED;
	ctl_reply_free(&r);
	return rc;
}

/* ---- certificate details ------------------------------------------------ */

static const char *
x_subject(X509 *x, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n;

	buf[0] = '\0';
	if (b == NULL)
		return buf;
	X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	n = BIO_read(b, buf, (int)len - 1);
	buf[n > 0 ? n : 0] = '\0';
	BIO_free(b);
	return buf;
}

static const char *
x_issuer(X509 *x, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n;

	buf[0] = '\0';
	if (b == NULL)
		return buf;
	X509_NAME_print_ex(b, X509_get_issuer_name(x), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	n = BIO_read(b, buf, (int)len - 1);
	buf[n > 0 ? n : 0] = '\0';
	BIO_free(b);
	return buf;
}

static const char *
x_serial(X509 *x, char *buf, size_t len)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *h = bn ? BN_bn2hex(bn) : NULL;

	snprintf(buf, len, "%s", h ? h : "?");
	OPENSSL_free(h);
	BN_free(bn);
	return buf;
}

static time_t
asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

static const char *
x_fp(X509 *x, const EVP_MD *md, char *buf, size_t len)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	if (X509_digest(x, md, d, &n) != 1)
		n = 0;
	return ctl_hex(d, n, buf, len, ':');
}

static const char *
x_keydesc(X509 *x, char *buf, size_t len)
{
	EVP_PKEY *k = X509_get0_pubkey(x);
	char group[64] = "";
	size_t gl;

	if (k == NULL) {
		snprintf(buf, len, "?");
	} else if (EVP_PKEY_is_a(k, "RSA")) {
		snprintf(buf, len, "RSA %d", EVP_PKEY_get_bits(k));
	} else if (EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof(group), &gl) == 1) {
		snprintf(buf, len, "EC %s", group);
	} else {
		snprintf(buf, len, "%s %d", EVP_PKEY_get0_type_name(k), EVP_PKEY_get_bits(k));
	}
	return buf;
}

static long
days_to(time_t t)
{
	double s = difftime(t, time(NULL));

	return s < 0 ? -(long)((-s + 86399) / 86400) : (long)(s / 86400);
}

static const char *
role_title(int role)
{
	switch (role) {
	case CAPF_IPC_CERT_ACTIVE: return "CAPF CA certificate (active: signs LSCs)";
	case CAPF_IPC_CERT_PREVIOUS: return "Previous CAPF CA (still trusted for LSC authentication)";
	case CAPF_IPC_CERT_RETIRED: return "Retired CAPF CA";
	case CAPF_IPC_CERT_TLS: return "CAPF TLS certificate (port 3804; the ITL's CAPF record)";
	case CAPF_IPC_CERT_PENDING: return "Pending CAPF CA (CSR exported)";
	}
	return "Certificate";
}

static void
cert_print(FILE *f, const struct ctl_cert *c, long warn_days)
{
	char s[1100], t1[64], t2[64], buf[200];
	time_t nb = asn1_time(X509_get0_notBefore(c->x));
	time_t na = asn1_time(X509_get0_notAfter(c->x));
	long days = days_to(na);
	int i;

	fprintf(f, "%s\n", role_title(c->role));
	fprintf(f, "  Subject:       %s\n", x_subject(c->x, s, sizeof(s)));
	fprintf(f, "  Issuer:        %s\n", x_issuer(c->x, s, sizeof(s)));
	fprintf(f, "  Serial:        %s\n", x_serial(c->x, s, sizeof(s)));
	fprintf(f, "  Key:           %s\n", x_keydesc(c->x, buf, sizeof(buf)));
	fprintf(f, "  Valid:         %s to %s (%ld days left)\n", ctl_fmt_time(nb, t1, sizeof(t1)),
		ctl_fmt_time(na, t2, sizeof(t2)), days);
	fprintf(f, "  SHA-1:         %s\n", x_fp(c->x, EVP_sha1(), s, sizeof(s)));
	fprintf(f, "  SHA-256:       %s\n", x_fp(c->x, EVP_sha256(), s, sizeof(s)));
	if (c->key_uri[0])
		fprintf(f, "  Key URI:       %s\n", c->key_uri);
	if (c->has_lsc_count && c->role != CAPF_IPC_CERT_TLS)
		fprintf(f, "  Valid LSCs:    %u\n", c->lsc_count);
	if (c->nchain == 0 && c->role != CAPF_IPC_CERT_TLS &&
	    X509_check_issued(c->x, c->x) == X509_V_OK)
		fprintf(f, "  Chain:         self-signed\n");
	for (i = 0; i < c->nchain; i++)
		fprintf(f, "  Chain[%d]:      %s\n", i + 1, x_subject(c->chain[i], s, sizeof(s)));
	if (days < 0)
		fprintf(f, "  WARNING: this certificate EXPIRED %ld days ago\n", -days);
	else if (days < warn_days && c->role != CAPF_IPC_CERT_RETIRED)
		fprintf(f, "  WARNING: this certificate expires in %ld days (under %ld)\n", days,
			warn_days);
}

static void
cert_json(FILE *f, const struct ctl_cert *c, long warn_days)
{
	static const char *const roles[] = { "active", "previous", "retired", "tls", "pending" };
	char s[1100];
	time_t nb = asn1_time(X509_get0_notBefore(c->x));
	time_t na = asn1_time(X509_get0_notAfter(c->x));
	long days = days_to(na);
	int i;

	fputs("{\"role\": ", f);
	ctl_json_str(f, c->role >= 0 && c->role <= 4 ? roles[c->role] : "?");
	fputs(", \"subject\": ", f);
	ctl_json_str(f, x_subject(c->x, s, sizeof(s)));
	fputs(", \"issuer\": ", f);
	ctl_json_str(f, x_issuer(c->x, s, sizeof(s)));
	fputs(", \"serial\": ", f);
	ctl_json_str(f, x_serial(c->x, s, sizeof(s)));
	fputs(", \"key\": ", f);
	ctl_json_str(f, x_keydesc(c->x, s, sizeof(s)));
	fprintf(f, ", \"not_before\": %lld, \"not_after\": %lld, \"days_left\": %ld",
		(long long)nb, (long long)na, days);
	fprintf(f, ", \"warning\": %s", days < warn_days ? "true" : "false");
	fputs(", \"sha1\": ", f);
	ctl_json_str(f, x_fp(c->x, EVP_sha1(), s, sizeof(s)));
	fputs(", \"sha256\": ", f);
	ctl_json_str(f, x_fp(c->x, EVP_sha256(), s, sizeof(s)));
	fputs(", \"key_uri\": ", f);
	if (c->key_uri[0])
		ctl_json_str(f, c->key_uri);
	else
		fputs("null", f);
	if (c->has_lsc_count)
		fprintf(f, ", \"valid_lscs\": %u", c->lsc_count);
	fputs(", \"chain\": [", f);
	for (i = 0; i < c->nchain; i++) {
		fputs(i ? ", " : "", f);
		ctl_json_str(f, x_subject(c->chain[i], s, sizeof(s)));
	}
	fputs("]}", f);
}

/* ---- capf show ------------------------------------------------------------ */

static const char usage_capf[] =
"usage: capfctl capf show [--json] [--warn-days N]\n"
"       capfctl capf regenerate [--key-type rsa:2048|rsa:3072|rsa:4096|ec:P-256|ec:P-384|ec:P-521]\n"
"                               [--days N] [--subject DN] [--yes]\n"
"       capfctl capf csr [--out FILE]\n"
"       capfctl capf import CERT [--chain CHAIN] [--yes]\n"
"\n"
"show        the CAPF CA certificate (signs LSCs) and the CAPF TLS certificate (port\n"
"            3804, the ITL's CAPF record): subject, serial, validity, days to expiry (a\n"
"            WARNING under --warn-days, default 60), SHA-1 (as in the ITL) and SHA-256\n"
"            fingerprints, key URI, chain; and the previous CAPF CAs still trusted.\n"
"regenerate  a new CAPF CA key inside the token (label capf-ca-YYYYMMDDhhmmss) and a new\n"
"            self-signed certificate with the same subject (or --subject), CA:TRUE\n"
"            pathlen:0, keyUsage digitalSignature+keyCertSign, valid --days (default\n"
"            3650). The old CA becomes \"previous\": still trusted for LSC authentication.\n"
"csr         a PKCS#10 request for the current CAPF CA key (its subject, CA:TRUE\n"
"            pathlen:0, digitalSignature+keyCertSign), PEM to --out FILE (new) or stdout.\n"
"import      a CAPF CA certificate signed by a third-party CA (PEM or DER), with its\n"
"            chain up to the root (PEM, --chain). Refused unless its public key is the\n"
"            token's CAPF CA key, it has CA:TRUE pathlen:0 and keyCertSign, and the\n"
"            chain verifies. It becomes active, the old one previous.\n"
"\n"
"regenerate and import change the CAPF CA: capfctl prints the phone-reset warning\n"
"and changes nothing without --yes (or \"yes\" typed on a terminal): exit code 4.\n"
"Common: --socket PATH, --help.\n";

static int
capf_show(struct ctl *c, int argc, char **argv)
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
	int opt, json = 0, rc, i, first, order[] = { CAPF_IPC_CERT_ACTIVE, CAPF_IPC_CERT_TLS,
		CAPF_IPC_CERT_PENDING, CAPF_IPC_CERT_PREVIOUS, CAPF_IPC_CERT_RETIRED };
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
			if (ctl_parse_uint(optarg, 0, 36500, &ul) != 0)
				return ctl_usage_error("capf show", "--warn-days: a number of days");
			warn = (long)ul;
		} else {
			return ctl_usage_error("capf show", "unknown option");
		}
	}
	if (optind != argc)
		return ctl_usage_error("capf show", "unexpected argument \"%s\"", argv[optind]);
	if ((rc = fetch_certs(c, "capf show", &cs)) != CTL_OK)
		return rc;
	if (json) {
		const struct ctl_cert *a = certs_find(&cs, CAPF_IPC_CERT_ACTIVE);
		const struct ctl_cert *t = certs_find(&cs, CAPF_IPC_CERT_TLS);

		fputs("{\"ca\": ", stdout);
		if (a)
			cert_json(stdout, a, warn);
		else
			fputs("null", stdout);
		fputs(",\n \"tls\": ", stdout);
		if (t)
			cert_json(stdout, t, warn);
		else
			fputs("null", stdout);
		fputs(",\n \"previous\": [", stdout);
		for (i = 0, first = 1; i < cs.n; i++) {
			if (cs.c[i].role != CAPF_IPC_CERT_PREVIOUS || !cs.c[i].x)
				continue;
			fputs(first ? "" : ", ", stdout);
			cert_json(stdout, &cs.c[i], warn);
			first = 0;
		}
		fputs("],\n \"retired\": [", stdout);
		for (i = 0, first = 1; i < cs.n; i++) {
			if (cs.c[i].role != CAPF_IPC_CERT_RETIRED || !cs.c[i].x)
				continue;
			fputs(first ? "" : ", ", stdout);
			cert_json(stdout, &cs.c[i], warn);
			first = 0;
		}
		fputs("]}\n", stdout);
	} else {
		if (certs_find(&cs, CAPF_IPC_CERT_ACTIVE) == NULL)
			puts("No active CAPF CA certificate.\n");
		if (certs_find(&cs, CAPF_IPC_CERT_TLS) == NULL)
			puts("No CAPF TLS certificate recorded (issue one with `capfctl tls issue`).\n");
		for (k = 0; k < sizeof(order) / sizeof(order[0]); k++)
			for (i = 0; i < cs.n; i++)
				if (cs.c[i].role == order[k] && cs.c[i].x) {
					cert_print(stdout, &cs.c[i], warn);
					putchar('\n');
				}
	}
	certs_clear(&cs);
	return CTL_OK;
}

/* ---- the phone-reset warning ------------------------------------------------ */

/* Prints the warning for a change of the CA (ca_change) and/or the TLS certificate. */
static int
reset_warning(struct ctl *c, const char *what, int ca_change)
{
	struct certs cs;
	const struct ctl_cert *a, *t;
	char s[1100];
	int rc;

	if ((rc = fetch_certs(c, what, &cs)) != CTL_OK)
		return rc;
	a = certs_find(&cs, CAPF_IPC_CERT_ACTIVE);
	t = certs_find(&cs, CAPF_IPC_CERT_TLS);
	fprintf(stderr,
		"WARNING: %s\n"
		"  Every phone resets when the ITL changes: the ITL's CAPF record carries the CAPF\n"
		"  TLS certificate%s, so regenerate the ITL (TFTP) and expect every registered\n"
		"  phone to reset.\n", what,
		ca_change ? ", which the new CAPF CA must issue again (`capfctl tls issue`)" : "");
	if (ca_change) {
		fprintf(stderr, "  Outgoing CAPF CA: %s\n",
			a ? x_subject(a->x, s, sizeof(s)) : "(none)");
		if (a)
			fprintf(stderr, "    SHA-256 %s\n", x_fp(a->x, EVP_sha256(), s, sizeof(s)));
		fprintf(stderr,
			"  %u device%s hold%s a valid LSC from the outgoing CAPF CA. Keep its certificate\n"
			"  in CallManager-trust, CAPF-trust, the 802.1X (RADIUS) servers and the ASA until\n"
			"  those phones have re-enrolled (`capfctl report --issuer FINGERPRINT`), and add\n"
			"  the new one there (`capfctl trust export --for callmanager-trust` ...).\n",
			a && a->has_lsc_count ? a->lsc_count : 0,
			a && a->lsc_count == 1 ? "" : "s", a && a->lsc_count == 1 ? "s" : "");
	} else {
		fprintf(stderr, "  Current CAPF TLS certificate: %s\n",
			t ? x_fp(t->x, EVP_sha1(), s, sizeof(s)) : "(none recorded)");
		fprintf(stderr,
			"  The CAPF CA does not change: CallManager-trust, CAPF-trust, 802.1X servers and\n"
			"  the ASA keep their certificates; %u device%s keep%s valid LSCs.\n",
			a && a->has_lsc_count ? a->lsc_count : 0,
			a && a->lsc_count == 1 ? "" : "s", a && a->lsc_count == 1 ? "s" : "");
	}
	certs_clear(&cs);
	return CTL_OK;
}

/* ---- regenerate --------------------------------------------------------- */

static int
parse_key_type(const char *s, uint8_t *type, uint32_t *bits, int *curve)
{
	unsigned long ul;

	if (strncmp(s, "rsa:", 4) == 0) {
		if (ctl_parse_uint(s + 4, 2048, 8192, &ul) != 0)
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

static int
print_cert_reply(const struct ctl_reply *r, const char *intro)
{
	const struct capf_ipc_field *f = capf_ipc_find(&r->msg, CAPF_IPC_T_CAPF_CERT, NULL);
	struct ctl_cert cc;

	if (f == NULL || cert_decode(f, &cc) != 0 || cc.x == NULL) {
		printf("%s\n", intro);
		return CTL_OK;
	}
	printf("%s\n", intro);
	cert_print(stdout, &cc, 60);
	cert_clear(&cc);
	return CTL_OK;
}

static int
capf_regenerate(struct ctl *c, int argc, char **argv)
{
	enum { O_KEY = CTL_OPT_FIRST_LOCAL, O_DAYS, O_YES, O_SUBJECT };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
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
	const char *subject = NULL;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ctl_common_opt(c, opt, optarg))
			continue;
		switch (opt) {
		case CTL_OPT_HELP:
			ctl_usage(usage_capf);
			return CTL_OK;
		case O_KEY:
			if (parse_key_type(optarg, &type, &bits, &curve) != 0)
				return ctl_usage_error("capf regenerate", "--key-type %s: rsa:2048, rsa:3072, "
						       "rsa:4096, ec:P-256, ec:P-384 or ec:P-521", optarg);
			has_key = 1;
			break;
		case O_DAYS:
			if (ctl_parse_uint(optarg, 1, 36500, &days) != 0)
				return ctl_usage_error("capf regenerate", "--days %s: a number of days", optarg);
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
	if ((rc = reset_warning(c, "regenerating the CAPF CA replaces the certificate that "
				"signs LSCs.", 1)) != CTL_OK)
		return rc;
	if (!ctl_confirm(yes, "Regenerate the CAPF CA key and certificate?"))
		return CTL_NOCONFIRM;
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
	if ((rc = ctl_call(c, &b, "capf regenerate", &r)) != CTL_OK)
		return rc;
	print_cert_reply(&r, "New CAPF CA certificate (active; the old one is now previous):");
	ctl_reply_free(&r);
	fprintf(stderr, "Next: issue the TLS certificate again (`capfctl tls issue`), update the "
		"ITL, and add the new CA to the trust stores (`capfctl trust export`).\n");
	return CTL_OK;
}

/* ---- csr ------------------------------------------------------------------ */

static int
capf_csr(struct ctl *c, int argc, char **argv)
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
static int
read_certs(const char *path, X509 **out, int max)
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

static int
put_x509(struct capf_ipc_builder *b, uint16_t tag, X509 *x)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	if (n <= 0)
		return -1;
	capf_ipc_put_bytes(b, tag, der, (size_t)n);
	OPENSSL_free(der);
	return 0;
}

static int
capf_import(struct ctl *c, int argc, char **argv)
{
	enum { O_CHAIN = CTL_OPT_FIRST_LOCAL, O_YES };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{ "chain", required_argument, NULL, O_CHAIN },
		{ "yes", no_argument, NULL, O_YES },
		{ NULL, 0, NULL, 0 },
	};
	struct capf_ipc_builder b;
	struct ctl_reply r;
	X509 *cert[1], *chain[CHAIN_MAX];
	const char *chain_path = NULL;
	int opt, yes = 0, nchain = 0, i, rc;

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
	if (read_certs(argv[optind], cert, 1) != 1)
		return CTL_FAILED;
	if (chain_path && (nchain = read_certs(chain_path, chain, CHAIN_MAX)) < 0) {
		X509_free(cert[0]);
		return CTL_FAILED;
	}
	rc = reset_warning(c, "importing a CAPF CA certificate replaces the certificate that "
			   "signs LSCs.", 1);
	if (rc == CTL_OK && !ctl_confirm(yes, "Import this CAPF CA certificate?"))
		rc = CTL_NOCONFIRM;
	if (rc == CTL_OK) {
		ctl_begin(c, &b, CAPF_IPC_CAPF_IMPORT);
		capf_ipc_put_u8(&b, CAPF_IPC_T_CONFIRM, 1);
		put_x509(&b, CAPF_IPC_T_CERT, cert[0]);
		for (i = 0; i < nchain; i++)
			put_x509(&b, CAPF_IPC_T_CHAIN_CERT, chain[i]);
		rc = ctl_call(c, &b, "capf import", &r);
		if (rc == CTL_OK) {
			print_cert_reply(&r, "Imported CAPF CA certificate (active; the old one is "
					 "now previous):");
			ctl_reply_free(&r);
		}
	}
	X509_free(cert[0]);
	for (i = 0; i < nchain; i++)
		X509_free(chain[i]);
	return rc;
}

int
cmd_capf(struct ctl *c, int argc, char **argv)
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
	return ctl_usage_error("capf", "unknown subcommand \"%s\"", sub);
}

/* ---- tls issue ---------------------------------------------------------------- */

static const char usage_tls[] =
"usage: capfctl tls issue (--pubkey FILE | --csr FILE) --out CERT [--cn NAME]\n"
"                         [--dns NAME]... [--ip ADDRESS]... [--days N] [--yes]\n"
"\n"
"(Re)issues the front end's TLS certificate (port 3804) from the CAPF CA: subject\n"
"CN from --cn or the CSR, extendedKeyUsage serverAuth, subjectAltName from --dns and\n"
"--ip, recorded in the store. CERT gets the certificate followed by its chain (PEM),\n"
"replaced atomically. The ITL's CAPF record must then carry the new certificate\n"
"(`capfctl trust export --for itl`): every phone resets when the ITL changes, so\n"
"capfctl prints that warning and changes nothing without --yes (or \"yes\" typed on\n"
"a terminal): exit code 4.\n"
"  --pubkey FILE   the front end's public key (PEM or DER SubjectPublicKeyInfo)\n"
"  --csr FILE      or its PKCS#10 request (PEM or DER); only its key and CN are used\n"
"  --days N        validity (default: the daemon's, 825)\n"
"Common: --socket PATH, --help.\n";

static int
read_der_object(const char *path, int csr, uint8_t **der, int *derlen)
{
	unsigned char *data;
	size_t len;
	char err[512];
	BIO *bio;
	int ok = -1;

	*der = NULL;
	if (capf_file_read(path, CERT_FILE_MAX, &data, &len, err, sizeof(err)) != 0) {
		fprintf(stderr, "capfctl: %s\n", err);
		return -1;
	}
	bio = BIO_new_mem_buf(data, (int)len);
	if (csr) {
		X509_REQ *r = strstr((char *)data, "-----BEGIN") ?
			PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL) :
			d2i_X509_REQ_bio(bio, NULL);

		if (r && (*derlen = i2d_X509_REQ(r, der)) > 0)
			ok = 0;
		X509_REQ_free(r);
	} else {
		EVP_PKEY *k = strstr((char *)data, "-----BEGIN") ?
			PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : d2i_PUBKEY_bio(bio, NULL);

		if (k && (*derlen = i2d_PUBKEY(k, der)) > 0)
			ok = 0;
		EVP_PKEY_free(k);
	}
	ERR_clear_error();
	BIO_free(bio);
	free(data);
	if (ok != 0)
		fprintf(stderr, "capfctl: %s: not a %s (PEM or DER)\n", path,
			csr ? "PKCS#10 certificate request" : "public key");
	return ok;
}

static int
tls_issue(struct ctl *c, int argc, char **argv)
{
	enum { O_PUB = CTL_OPT_FIRST_LOCAL, O_CSR, O_OUT, O_CN, O_DNS, O_IP, O_DAYS, O_YES };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{ "pubkey", required_argument, NULL, O_PUB },
		{ "csr", required_argument, NULL, O_CSR },
		{ "out", required_argument, NULL, O_OUT },
		{ "cn", required_argument, NULL, O_CN },
		{ "dns", required_argument, NULL, O_DNS },
		{ "ip", required_argument, NULL, O_IP },
		{ "days", required_argument, NULL, O_DAYS },
		{ "yes", no_argument, NULL, O_YES },
		{ NULL, 0, NULL, 0 },
	};
	struct capf_ipc_builder b;
	struct ctl_reply r;
	const char *pub = NULL, *csr = NULL, *out = NULL, *cn = NULL;
	const char *dns[16], *ips[16];
	int ndns = 0, nip = 0, opt, rc, yes = 0, derlen = 0, i;
	unsigned long days = 0;
	uint8_t *der = NULL;
	char subj[300];

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ctl_common_opt(c, opt, optarg))
			continue;
		switch (opt) {
		case CTL_OPT_HELP:
			ctl_usage(usage_tls);
			return CTL_OK;
		case O_PUB: pub = optarg; break;
		case O_CSR: csr = optarg; break;
		case O_OUT: out = optarg; break;
		case O_CN: cn = optarg; break;
		case O_YES: yes = 1; break;
		case O_DNS:
			if (ndns == 16)
				return ctl_usage_error("tls issue", "at most 16 --dns");
			dns[ndns++] = optarg;
			break;
		case O_IP:
			if (nip == 16)
				return ctl_usage_error("tls issue", "at most 16 --ip");
			ips[nip++] = optarg;
			break;
		case O_DAYS:
			if (ctl_parse_uint(optarg, 1, 3650, &days) != 0)
				return ctl_usage_error("tls issue", "--days %s: 1..3650", optarg);
			break;
		default:
			return ctl_usage_error("tls issue", "unknown option");
		}
	}
	if (optind != argc)
		return ctl_usage_error("tls issue", "unexpected argument \"%s\"", argv[optind]);
	if (!pub == !csr)
		return ctl_usage_error("tls issue", "give either --pubkey FILE or --csr FILE");
	if (out == NULL)
		return ctl_usage_error("tls issue", "--out CERT is needed");
	if (pub && cn == NULL)
		return ctl_usage_error("tls issue", "--cn NAME is needed with --pubkey");
	if (cn && strlen(cn) > 64)
		return ctl_usage_error("tls issue", "--cn: at most 64 characters");
	if (read_der_object(pub ? pub : csr, csr != NULL, &der, &derlen) != 0)
		return CTL_FAILED;
	rc = reset_warning(c, "a new CAPF TLS certificate changes the ITL's CAPF record.", 0);
	if (rc == CTL_OK && !ctl_confirm(yes, "Issue a new CAPF TLS certificate?"))
		rc = CTL_NOCONFIRM;
	if (rc != CTL_OK) {
		OPENSSL_free(der);
		return rc;
	}
	ctl_begin(c, &b, CAPF_IPC_TLS_ISSUE);
	capf_ipc_put_u8(&b, CAPF_IPC_T_CONFIRM, 1);
	capf_ipc_put_bytes(&b, pub ? CAPF_IPC_T_PUBLIC_KEY : CAPF_IPC_T_CSR, der, (size_t)derlen);
	OPENSSL_free(der);
	if (cn) {
		snprintf(subj, sizeof(subj), "CN=%s", cn);
		capf_ipc_put_str(&b, CAPF_IPC_T_SUBJECT, subj);
	}
	for (i = 0; i < ndns; i++)
		capf_ipc_put_str(&b, CAPF_IPC_T_SAN_DNS, dns[i]);
	for (i = 0; i < nip; i++)
		capf_ipc_put_str(&b, CAPF_IPC_T_SAN_IP, ips[i]);
	if (days)
		capf_ipc_put_u32(&b, CAPF_IPC_T_VALIDITY_DAYS, (uint32_t)days);
	if ((rc = ctl_call(c, &b, "tls issue", &r)) != CTL_OK)
		return rc;
	{
		BIO *bio = BIO_new(BIO_s_mem());
		const struct capf_ipc_field *f = NULL;
		const uint8_t *p;
		size_t n;
		X509 *x = NULL;
		char *pem, s[200];
		long pemlen;

		rc = CTL_FAILED;
		if (capf_ipc_get_bytes(&r.msg, CAPF_IPC_T_CERT, &p, &n) == 0)
			x = der_to_x509(p, n);
		if (bio && x && PEM_write_bio_X509(bio, x) == 1) {
			rc = CTL_OK;
			while ((f = capf_ipc_find(&r.msg, CAPF_IPC_T_CHAIN_CERT, f)) != NULL) {
				X509 *cx = der_to_x509(f->val, f->len);

				if (cx == NULL || PEM_write_bio_X509(bio, cx) != 1)
					rc = CTL_FAILED;
				X509_free(cx);
			}
		}
		if (rc == CTL_OK) {
			pemlen = BIO_get_mem_data(bio, &pem);
			if (ctl_write_file(out, pem, (size_t)pemlen, 0) != 0)
				rc = CTL_FAILED;
		} else {
			fprintf(stderr, "tls issue: the daemon's answer holds no usable certificate\n");
		}
		if (rc == CTL_OK) {
			printf("CAPF TLS certificate written to %s\n", out);
			printf("  Subject: %s\n", x_subject(x, s, sizeof(s)));
			printf("  SHA-1:   %s\n", x_fp(x, EVP_sha1(), s, sizeof(s)));
			printf("  SHA-256: %s\n", x_fp(x, EVP_sha256(), s, sizeof(s)));
			fprintf(stderr, "Next: install it in the front end (tls.certificate), restart "
				"capf-frontd, and put it in the ITL's CAPF record (`capfctl trust "
				"export --for itl`).\n");
		}
		X509_free(x);
		BIO_free(bio);
	}
	ctl_reply_free(&r);
	return rc;
}

int
cmd_tls(struct ctl *c, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		ctl_usage(usage_tls);
		return argc < 2 ? CTL_USAGE : CTL_OK;
	}
	if (strcmp(argv[1], "issue") == 0)
		return tls_issue(c, argc - 1, argv + 1);
	return ctl_usage_error("tls", "unknown subcommand \"%s\"", argv[1]);
}

/* ---- trust export ---------------------------------------------------------------- */

static const char usage_trust[] =
"usage: capfctl trust export --for TARGET [--out FILE]\n"
"\n"
"Which certificate goes where, as a PEM bundle with a comment before each certificate:\n"
"  itl                the CAPF TLS certificate: the ITL's CAPF record (phones check it\n"
"                     during the TLS handshake on port 3804)\n"
"  callmanager-trust  the CAPF CA, the previous CAPF CAs still holding valid LSCs, and\n"
"  capf-trust         the chain up to the root for a third-party signed CAPF CA: the\n"
"  8021x              stores that must accept LSCs (CUCM CallManager-trust and\n"
"  asa                CAPF-trust, the 802.1X/RADIUS servers, the ASA)\n"
"  all                every certificate above\n"
"--out FILE: a new file (never overwritten); default stdout.\n"
"Common: --socket PATH, --help.\n";

static int
trust_export(struct ctl *c, int argc, char **argv)
{
	enum { O_FOR = CTL_OPT_FIRST_LOCAL, O_OUT };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{ "for", required_argument, NULL, O_FOR },
		{ "out", required_argument, NULL, O_OUT },
		{ NULL, 0, NULL, 0 },
	};
	static const struct { const char *name; int target; const char *title; } targets[] = {
		{ "itl", CAPF_IPC_TRUST_ITL, "the ITL's CAPF record" },
		{ "callmanager-trust", CAPF_IPC_TRUST_CALLMANAGER, "CUCM CallManager-trust" },
		{ "capf-trust", CAPF_IPC_TRUST_CAPF, "CUCM CAPF-trust" },
		{ "8021x", CAPF_IPC_TRUST_8021X, "802.1X (RADIUS) servers" },
		{ "asa", CAPF_IPC_TRUST_ASA, "the ASA" },
		{ "all", CAPF_IPC_TRUST_ALL, "every trust store" },
	};
	struct capf_ipc_builder b;
	struct ctl_reply r;
	struct certs cs;
	const char *out = NULL, *tname = NULL, *tkey = NULL;
	int opt, rc, target = -1, i, j, nout = 0;
	size_t k;
	BIO *bio;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ctl_common_opt(c, opt, optarg))
			continue;
		if (opt == CTL_OPT_HELP) {
			ctl_usage(usage_trust);
			return CTL_OK;
		}
		if (opt == O_FOR) {
			for (k = 0; k < sizeof(targets) / sizeof(targets[0]); k++)
				if (strcmp(optarg, targets[k].name) == 0) {
					target = targets[k].target;
					tname = targets[k].title;
					tkey = targets[k].name;
				}
			if (target < 0)
				return ctl_usage_error("trust export", "--for %s: itl, callmanager-trust, "
						       "capf-trust, 8021x, asa or all", optarg);
		} else if (opt == O_OUT) {
			out = optarg;
		} else {
			return ctl_usage_error("trust export", "unknown option");
		}
	}
	if (optind != argc)
		return ctl_usage_error("trust export", "unexpected argument \"%s\"", argv[optind]);
	if (target < 0)
		return ctl_usage_error("trust export", "--for TARGET is needed");
	ctl_begin(c, &b, CAPF_IPC_TRUST_EXPORT);
	capf_ipc_put_u8(&b, CAPF_IPC_T_TARGET, (uint8_t)target);
	if ((rc = ctl_call(c, &b, "trust export", &r)) != CTL_OK)
		return rc;
	rc = certs_from_reply(&r, &cs) == 0 ? CTL_OK : CTL_FAILED;
	ctl_reply_free(&r);
	if (rc != CTL_OK)
		return rc;
	bio = BIO_new(BIO_s_mem());
	BIO_printf(bio, "# capfctl trust export --for %s: the certificates for %s\n", tkey, tname);
	for (i = 0; i < cs.n; i++) {
		const struct ctl_cert *cc = &cs.c[i];
		char s[1100], f1[120], t1[64];

		if (cc->x == NULL)
			continue;
		BIO_printf(bio, "#\n# %s\n", role_title(cc->role));
		if (cc->role == CAPF_IPC_CERT_PREVIOUS && cc->has_lsc_count)
			BIO_printf(bio, "#   keep until the %u phone%s holding LSCs from it re-enroll%s\n",
				   cc->lsc_count, cc->lsc_count == 1 ? "" : "s",
				   cc->lsc_count == 1 ? "s" : "");
		BIO_printf(bio, "#   Subject: %s\n", x_subject(cc->x, s, sizeof(s)));
		BIO_printf(bio, "#   Not after: %s\n", ctl_fmt_time(asn1_time(X509_get0_notAfter(cc->x)),
								t1, sizeof(t1)));
		BIO_printf(bio, "#   SHA-1: %s\n", x_fp(cc->x, EVP_sha1(), f1, sizeof(f1)));
		BIO_printf(bio, "#   SHA-256: %s\n", x_fp(cc->x, EVP_sha256(), s, sizeof(s)));
		PEM_write_bio_X509(bio, cc->x);
		nout++;
		for (j = 0; j < cc->nchain; j++) {
			BIO_printf(bio, "# chain of the CAPF CA above (%s)\n#   Subject: %s\n",
				   j + 1 == cc->nchain ? "root" : "intermediate",
				   x_subject(cc->chain[j], s, sizeof(s)));
			BIO_printf(bio, "#   SHA-256: %s\n", x_fp(cc->chain[j], EVP_sha256(), s, sizeof(s)));
			PEM_write_bio_X509(bio, cc->chain[j]);
			nout++;
		}
	}
	certs_clear(&cs);
	if (nout == 0) {
		fprintf(stderr, "trust export: no certificate for %s\n", tname);
		BIO_free(bio);
		return CTL_FAILED;
	}
	{
		char *pem;
		long pemlen = BIO_get_mem_data(bio, &pem);

		if (out) {
			if (ctl_write_file(out, pem, (size_t)pemlen, 1) != 0)
				rc = CTL_FAILED;
			else
				fprintf(stderr, "%d certificate%s for %s written to %s\n", nout,
					nout == 1 ? "" : "s", tname, out);
		} else {
			fwrite(pem, 1, (size_t)pemlen, stdout);
		}
	}
	BIO_free(bio);
	return rc;
}

int
cmd_trust(struct ctl *c, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		ctl_usage(usage_trust);
		return argc < 2 ? CTL_USAGE : CTL_OK;
	}
	if (strcmp(argv[1], "export") == 0)
		return trust_export(c, argc - 1, argv + 1);
	return ctl_usage_error("trust", "unknown subcommand \"%s\"", argv[1]);
}
