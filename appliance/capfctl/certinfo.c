/*
 * appliance/capfctl/certinfo.c: CAPF_CERT records decoded, printed for people
 * and as JSON; the phone-reset warning.
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
#include "appliance/capfctl/certinfo.h"
#include "appliance/common/file.h"
#include "appliance/common/x509.h"
#include "policy/device.h"

/* ---- a CAPF_CERT record ----------------------------------------------- */

void ctl_cert_clear(struct ctl_cert *c)
{
	int i;

	X509_free(c->x);
	for (i = 0; i < c->nchain; i++)
		X509_free(c->chain[i]);
	memset(c, 0, sizeof(*c));
}

int ctl_cert_decode(const struct capf_ipc_field *f, struct ctl_cert *c)
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
	    (c->x = capf_x509_from_der(p, n)) == NULL) {
		fprintf(stderr, "capfctl: the daemon sent a certificate that does not parse\n");
		capf_ipc_msg_free(&sub);
		return -1;
	}
	while ((cf = capf_ipc_find(&sub, CAPF_IPC_T_CHAIN_CERT, cf)) != NULL && c->nchain < CHAIN_MAX) {
		X509 *x = capf_x509_from_der(cf->val, cf->len);

		if (x == NULL) {
			capf_ipc_msg_free(&sub);
			ctl_cert_clear(c);
			return -1;
		}
		c->chain[c->nchain++] = x;
	}
	capf_ipc_msg_free(&sub);
	return 0;
}

void ctl_certs_clear(struct certs *cs)
{
	int i;

	for (i = 0; i < cs->n; i++)
		ctl_cert_clear(&cs->c[i]);
	cs->n = 0;
}

int ctl_certs_from_reply(const struct ctl_reply *r, struct certs *cs)
{
	const struct capf_ipc_field *f = NULL;

	cs->n = 0;
	while ((f = capf_ipc_find(&r->msg, CAPF_IPC_T_CAPF_CERT, f)) != NULL) {
		if (cs->n >= (int)(sizeof(cs->c) / sizeof(cs->c[0])))
			break;
		if (ctl_cert_decode(f, &cs->c[cs->n]) != 0) {
			ctl_certs_clear(cs);
			return -1;
		}
		cs->n++;
	}
	return 0;
}

const struct ctl_cert *ctl_certs_find(const struct certs *cs, int role)
{
	int i;

	for (i = 0; i < cs->n; i++)
		if (cs->c[i].role == role && cs->c[i].x)
			return &cs->c[i];
	return NULL;
}

/* CAPF_SHOW into cs. */
int ctl_fetch_certs(struct ctl *c, const char *what, struct certs *cs)
{
	struct capf_ipc_builder b;
	struct ctl_reply r;
	int rc;

	ctl_begin(c, &b, CAPF_IPC_CAPF_SHOW);
	if ((rc = ctl_call(c, &b, what, &r)) != CTL_OK)
		return rc;
	rc = ctl_certs_from_reply(&r, cs) == 0 ? CTL_OK : CTL_FAILED;
	ctl_reply_free(&r);
	return rc;
}

/* ---- certificate details ------------------------------------------------ */

/* The serial in hex, "?" when it cannot be read. */
static const char *serial_text(const X509 *x, char *buf, size_t len)
{
	if (capf_x509_serial_hex(x, buf, len) < 0)
		snprintf(buf, len, "?");
	return buf;
}

const char *ctl_x_keydesc(X509 *x, char *buf, size_t len)
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

const char *ctl_role_title(int role)
{
	switch (role) {
	case CAPF_IPC_CERT_ACTIVE:
		return "CAPF CA certificate (active: signs LSCs)";
	case CAPF_IPC_CERT_PREVIOUS:
		return "Previous CAPF CA (still trusted for LSC authentication)";
	case CAPF_IPC_CERT_RETIRED:
		return "Retired CAPF CA";
	case CAPF_IPC_CERT_TLS:
		return "CAPF TLS certificate (port 3804; the ITL's CAPF record)";
	case CAPF_IPC_CERT_PENDING:
		return "Pending CAPF CA (CSR exported)";
	}
	return "Certificate";
}

/* The earliest notAfter of the certificate and its chain: what it signs ends by then. */
static time_t chain_not_after(const struct ctl_cert *c)
{
	time_t na = capf_x509_not_after(c->x);

	for (int i = 0; i < c->nchain; i++)
		if (capf_x509_not_after(c->chain[i]) < na)
			na = capf_x509_not_after(c->chain[i]);
	return na;
}

void ctl_cert_print(FILE *f, const struct ctl_cert *c, long warn_days)
{
	char s[1100], t1[64], t2[64], buf[200];
	time_t nb = capf_x509_not_before(c->x);
	time_t na = capf_x509_not_after(c->x), cna = chain_not_after(c);
	long days = capf_days_left(na, time(NULL)), cdays = capf_days_left(cna, time(NULL));
	int i;

	fprintf(f, "%s\n", ctl_role_title(c->role));
	fprintf(f, "  Subject:       %s\n", capf_x509_subject(c->x, s, sizeof(s)));
	fprintf(f, "  Issuer:        %s\n", capf_x509_issuer(c->x, s, sizeof(s)));
	fprintf(f, "  Serial:        %s\n", serial_text(c->x, s, sizeof(s)));
	fprintf(f, "  Key:           %s\n", ctl_x_keydesc(c->x, buf, sizeof(buf)));
	fprintf(f, "  Valid:         %s to %s (%ld days left)\n", ctl_fmt_time(nb, t1, sizeof(t1)),
		ctl_fmt_time(na, t2, sizeof(t2)), days);
	fprintf(f, "  SHA-1:         %s\n", capf_x509_fp_hex(c->x, EVP_sha1(), ':', s, sizeof(s)));
	fprintf(f, "  SHA-256:       %s\n", capf_x509_fp_hex(c->x, EVP_sha256(), ':', s, sizeof(s)));
	if (c->key_uri[0])
		fprintf(f, "  Key URI:       %s\n", c->key_uri);
	if (c->has_lsc_count && c->role != CAPF_IPC_CERT_TLS)
		fprintf(f, "  Valid LSCs:    %u\n", c->lsc_count);
	if (c->nchain == 0 && c->role != CAPF_IPC_CERT_TLS && X509_check_issued(c->x, c->x) == X509_V_OK)
		fprintf(f, "  Chain:         self-signed\n");
	for (i = 0; i < c->nchain; i++)
		fprintf(f, "  Chain[%d]:      %s\n", i + 1, capf_x509_subject(c->chain[i], s, sizeof(s)));
	if (cna < na) {
		fprintf(f,
			"  Chain ends:    %s (%ld days left), before this certificate: nothing it signs "
			"is valid after that\n",
			ctl_fmt_time(cna, t1, sizeof(t1)), cdays);
		if (cdays < 0)
			fprintf(f, "  WARNING: a certificate of its chain EXPIRED %ld days ago\n", -cdays);
		else if (cdays < warn_days && c->role != CAPF_IPC_CERT_RETIRED)
			fprintf(f, "  WARNING: its chain ends in %ld days (under %ld)\n", cdays, warn_days);
	}
	if (days < 0)
		fprintf(f, "  WARNING: this certificate EXPIRED %ld days ago\n", -days);
	else if (days < warn_days && c->role != CAPF_IPC_CERT_RETIRED)
		fprintf(f, "  WARNING: this certificate expires in %ld days (under %ld)\n", days, warn_days);
}

void ctl_cert_json(FILE *f, const struct ctl_cert *c, long warn_days)
{
	static const char *const roles[] = { "active", "previous", "retired", "tls", "pending" };
	char s[1100];
	time_t nb = capf_x509_not_before(c->x);
	time_t na = capf_x509_not_after(c->x), cna = chain_not_after(c);
	long days = capf_days_left(na, time(NULL)), cdays = capf_days_left(cna, time(NULL));
	int i;

	fprintf(f, "{\"schema\": %d, \"role\": ", CTL_JSON_SCHEMA);
	ctl_json_str(f, c->role >= 0 && c->role <= 4 ? roles[c->role] : "?");
	fputs(", \"subject\": ", f);
	ctl_json_str(f, capf_x509_subject(c->x, s, sizeof(s)));
	fputs(", \"issuer\": ", f);
	ctl_json_str(f, capf_x509_issuer(c->x, s, sizeof(s)));
	fputs(", \"serial\": ", f);
	ctl_json_str(f, serial_text(c->x, s, sizeof(s)));
	fputs(", \"key\": ", f);
	ctl_json_str(f, ctl_x_keydesc(c->x, s, sizeof(s)));
	fputs(", \"not_before\": ", f);
	ctl_json_time(f, nb);
	fputs(", \"not_after\": ", f);
	ctl_json_time(f, na);
	fprintf(f, ", \"days_left\": %ld, \"chain_not_after\": ", days);
	ctl_json_time(f, cna);
	fprintf(f, ", \"chain_days_left\": %ld", cdays);
	fprintf(f, ", \"warning\": %s", days < warn_days || cdays < warn_days ? "true" : "false");
	fputs(", \"sha1\": ", f);
	ctl_json_str(f, capf_x509_fp_hex(c->x, EVP_sha1(), ':', s, sizeof(s)));
	fputs(", \"sha256\": ", f);
	ctl_json_str(f, capf_x509_fp_hex(c->x, EVP_sha256(), ':', s, sizeof(s)));
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
		ctl_json_str(f, capf_x509_subject(c->chain[i], s, sizeof(s)));
	}
	fputs("]}", f);
}

/* ---- the phone-reset warning ------------------------------------------------ */

/* Prints the warning for a change of the CA (ca_change) and/or the TLS certificate. */
int ctl_reset_warning(struct ctl *c, const char *what, int ca_change)
{
	struct certs cs;
	const struct ctl_cert *a, *t;
	char s[1100];
	int rc;

	if ((rc = ctl_fetch_certs(c, what, &cs)) != CTL_OK)
		return rc;
	a = ctl_certs_find(&cs, CAPF_IPC_CERT_ACTIVE);
	t = ctl_certs_find(&cs, CAPF_IPC_CERT_TLS);
	fprintf(stderr,
		"WARNING: %s\n"
		"  Every phone resets when the ITL changes: the ITL's CAPF record carries the CAPF\n"
		"  TLS certificate%s, so regenerate the ITL (TFTP) and expect every registered\n"
		"  phone to reset.\n",
		what, ca_change ? ", which the new CAPF CA must issue again (`capfctl tls issue`)" : "");
	if (ca_change) {
		fprintf(stderr, "  Outgoing CAPF CA: %s\n",
			a ? capf_x509_subject(a->x, s, sizeof(s)) : "(none)");
		if (a)
			fprintf(stderr, "    SHA-256 %s\n",
				capf_x509_fp_hex(a->x, EVP_sha256(), ':', s, sizeof(s)));
		fprintf(stderr,
			"  %u device%s hold%s a valid LSC from the outgoing CAPF CA. Keep its certificate\n"
			"  in CallManager-trust, CAPF-trust, the 802.1X (RADIUS) servers and the ASA until\n"
			"  those phones have re-enrolled (`capfctl report --issuer FINGERPRINT`), and add\n"
			"  the new one there (`capfctl trust export --for callmanager-trust` ...).\n",
			a && a->has_lsc_count ? a->lsc_count : 0, a && a->lsc_count == 1 ? "" : "s",
			a && a->lsc_count == 1 ? "s" : "");
	} else {
		fprintf(stderr, "  Current CAPF TLS certificate: %s\n",
			t ? capf_x509_fp_hex(t->x, EVP_sha1(), ':', s, sizeof(s)) : "(none recorded)");
		fprintf(stderr,
			"  The CAPF CA does not change: CallManager-trust, CAPF-trust, 802.1X servers and\n"
			"  the ASA keep their certificates; %u device%s keep%s valid LSCs.\n",
			a && a->has_lsc_count ? a->lsc_count : 0, a && a->lsc_count == 1 ? "" : "s",
			a && a->lsc_count == 1 ? "s" : "");
	}
	ctl_certs_clear(&cs);
	return CTL_OK;
}
