/*
 * appliance/capfctl/trust.c: `capfctl trust export`: which certificate goes
 * where, as a PEM bundle with a comment header per certificate.
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

/* Whether x is a certificate of cs written before cs->c[upto]'s chain: one of the
 * CA certificates up to upto, or in the chain of one before it. */
static int written_before(const struct certs *cs, int upto, X509 *x)
{
	int k, j;

	for (k = 0; k <= upto; k++) {
		if (cs->c[k].x != NULL && X509_cmp(cs->c[k].x, x) == 0)
			return 1;
		for (j = 0; k < upto && cs->c[k].x != NULL && j < cs->c[k].nchain; j++)
			if (X509_cmp(cs->c[k].chain[j], x) == 0)
				return 1;
	}
	return 0;
}

static int trust_export(struct ctl *c, int argc, char **argv)
{
	enum { O_FOR = CTL_OPT_FIRST_LOCAL, O_OUT };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{ "for", required_argument, NULL, O_FOR },
		{ "out", required_argument, NULL, O_OUT },
		{ NULL, 0, NULL, 0 },
	};
	static const struct {
		const char *name;
		int target;
		const char *title;
	} targets[] = {
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
				return ctl_usage_error("trust export",
						       "--for %s: itl, callmanager-trust, "
						       "capf-trust, 8021x, asa or all",
						       optarg);
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
	rc = ctl_certs_from_reply(&r, &cs) == 0 ? CTL_OK : CTL_FAILED;
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
		BIO_printf(bio, "#\n# %s\n", ctl_role_title(cc->role));
		if (cc->role == CAPF_IPC_CERT_PREVIOUS && cc->has_lsc_count)
			BIO_printf(bio, "#   keep until the %u phone%s holding LSCs from it re-enroll%s\n",
				   cc->lsc_count, cc->lsc_count == 1 ? "" : "s", cc->lsc_count == 1 ? "s" : "");
		BIO_printf(bio, "#   Subject: %s\n", capf_x509_subject(cc->x, s, sizeof(s)));
		BIO_printf(bio, "#   Not after: %s\n",
			   ctl_fmt_time(capf_x509_not_after(cc->x), t1, sizeof(t1)));
		BIO_printf(bio, "#   SHA-1: %s\n", capf_x509_fp_hex(cc->x, EVP_sha1(), ':', f1, sizeof(f1)));
		BIO_printf(bio, "#   SHA-256: %s\n", capf_x509_fp_hex(cc->x, EVP_sha256(), ':', s, sizeof(s)));
		PEM_write_bio_X509(bio, cc->x);
		nout++;
		for (j = 0; j < cc->nchain; j++) {
			if (written_before(&cs, i, cc->chain[j]))
				continue; /* an intermediate or root shared with a CA above */
			BIO_printf(bio, "# chain of the CAPF CA above (%s)\n#   Subject: %s\n",
				   j + 1 == cc->nchain ? "root" : "intermediate",
				   capf_x509_subject(cc->chain[j], s, sizeof(s)));
			BIO_printf(bio, "#   SHA-256: %s\n",
				   capf_x509_fp_hex(cc->chain[j], EVP_sha256(), ':', s, sizeof(s)));
			PEM_write_bio_X509(bio, cc->chain[j]);
			nout++;
		}
	}
	ctl_certs_clear(&cs);
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

int cmd_trust(struct ctl *c, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		ctl_usage(usage_trust);
		return argc < 2 ? CTL_USAGE : CTL_OK;
	}
	if (strcmp(argv[1], "export") == 0)
		return trust_export(c, argc - 1, argv + 1);
	return ctl_usage_error("trust", "unknown subcommand \"%s\"", argv[1]);
}
