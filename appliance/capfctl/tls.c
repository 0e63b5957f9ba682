/*
 * appliance/capfctl/tls.c: `capfctl tls issue`, the front end's TLS certificate
 * (the ITL's CAPF record) from the CAPF CA.
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
	"  --pubkey FILE   the front end's public key (PEM or DER SubjectPublicKeyInfo): RSA\n"
	"                  2048..8192 (keyEncipherment too: tls.legacy's static RSA needs it)\n"
	"                  or EC P-256/384/521\n"
	"  --csr FILE      or its PKCS#10 request (PEM or DER); only its key and CN are used\n"
	"  --days N        validity (default: the daemon's, 825)\n"
	"Common: --socket PATH, --help.\n";

static int read_der_object(const char *path, int csr, uint8_t **der, int *derlen)
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
		EVP_PKEY *k = strstr((char *)data, "-----BEGIN") ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) :
								   d2i_PUBKEY_bio(bio, NULL);

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

static int tls_issue(struct ctl *c, int argc, char **argv)
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
		case O_PUB:
			pub = optarg;
			break;
		case O_CSR:
			csr = optarg;
			break;
		case O_OUT:
			out = optarg;
			break;
		case O_CN:
			cn = optarg;
			break;
		case O_YES:
			yes = 1;
			break;
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
			if (capf_parse_uint(optarg, 1, 3650, &days) != 0)
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
	rc = ctl_reset_warning(c, "a new CAPF TLS certificate changes the ITL's CAPF record.", 0);
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
			x = capf_x509_from_der(p, n);
		if (bio && x && PEM_write_bio_X509(bio, x) == 1) {
			rc = CTL_OK;
			while ((f = capf_ipc_find(&r.msg, CAPF_IPC_T_CHAIN_CERT, f)) != NULL) {
				X509 *cx = capf_x509_from_der(f->val, f->len);

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
			printf("  Subject: %s\n", capf_x509_subject(x, s, sizeof(s)));
			printf("  SHA-1:   %s\n", capf_x509_fp_hex(x, EVP_sha1(), ':', s, sizeof(s)));
			printf("  SHA-256: %s\n", capf_x509_fp_hex(x, EVP_sha256(), ':', s, sizeof(s)));
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

int cmd_tls(struct ctl *c, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		ctl_usage(usage_tls);
		return argc < 2 ? CTL_USAGE : CTL_OK;
	}
	if (strcmp(argv[1], "issue") == 0)
		return tls_issue(c, argc - 1, argv + 1);
	return ctl_usage_error("tls", "unknown subcommand \"%s\"", argv[1]);
}
