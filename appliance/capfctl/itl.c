/*
 * appliance/capfctl/itl.c: `capfctl itl record|build|show`: the Cisco ITL file
 * (ITLFile.tlv) that call managers other than CUCM (Asterisk with the
 * usecallmanager patches, ...) serve to the phones by TFTP. The format is
 * appliance/itl's codec; the SAST key that signs the file stays in the token
 * (opened through capfhsm, appliance/common/hsm.h). See docs/itl.md.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "appliance/capfctl/capfctl.h"
#include "appliance/capfctl/certinfo.h"
#include "appliance/common/file.h"
#include "appliance/common/hsm.h"
#include "appliance/common/x509.h"
#include "appliance/itl/itl.h"

static const char usage_itl[] =
	"usage: capfctl itl record [--out FILE]\n"
	"       capfctl itl build --sast-key URI --sast-cert FILE [--record ROLE:CERTFILE]...\n"
	"                         --out FILE [--signer-version 1.0|1.1] [--filename NAME]\n"
	"       capfctl itl show FILE [--json]\n"
	"\n"
	"The Cisco ITL file (ITLFile.tlv) phones download by TFTP, in the format of\n"
	"usecallmanager's certutils `tlvfile` (docs/itl.md).\n"
	"  record  the ITL's CAPF record (role CAPF) for capf-signerd's current TLS\n"
	"          certificate, as TLV bytes (--out FILE, a new file; else stdout when it is\n"
	"          not a terminal). The certificate itself: `capfctl trust export --for itl`.\n"
	"  build   a complete signed ITLFile.tlv: the SAST certificate first (role SAST), then\n"
	"          every --record ROLE:CERTFILE (PEM or DER) in order; ROLE is SAST, CCM,\n"
	"          CCM+TFTP, TFTP, CAPF, APP-SERVER or TVS. The file is signed (RSA PKCS#1\n"
	"          v1.5) by the SAST key in the token: --sast-key 'pkcs11:token=T;object=O\n"
	"          ?pin-source=file:/path' (without pin-source, capf.conf's token.pin_source);\n"
	"          the PKCS#11 module is capf.conf's token.module (--config FILE).\n"
	"          The signature is over SHA-512 (the token provider makes no SHA-1\n"
	"          signatures; `itl show` still reads SHA-1 files). Needs no daemon.\n"
	"  show    parses a file, lists its records and verifies its signature with the\n"
	"          certificate of the SAST record the header names; exit 1 when it does not\n"
	"          verify. --json for scripts.\n"
	"Every phone resets when the ITL it trusts changes: the CAPF record changes with the\n"
	"CAPF TLS certificate (`capfctl tls issue`), so rebuild and publish the ITL then.\n"
	"Common: --socket PATH, --config FILE, --help.\n";

/* ---- certificates into ITL record fields ------------------------------------ */

/* The name as tlvfile writes it (python-cryptography's RFC 4514 form per attribute):
 * each attribute "NAME=value" in certificate order, joined by ';'; NAME is CN, L, ST,
 * O, OU, C, STREET, DC or UID, else the dotted OID; special characters escaped. */
static int itl_name(const X509_NAME *n, char *buf, size_t len)
{
	static const struct {
		int nid;
		const char *name;
	} names[] = {
		{ NID_commonName, "CN" },
		{ NID_localityName, "L" },
		{ NID_stateOrProvinceName, "ST" },
		{ NID_organizationName, "O" },
		{ NID_organizationalUnitName, "OU" },
		{ NID_countryName, "C" },
		{ NID_streetAddress, "STREET" },
		{ NID_domainComponent, "DC" },
		{ NID_userId, "UID" },
	};
	size_t at = 0, k;
	int i, j;

	buf[0] = '\0';
	for (i = 0; i < X509_NAME_entry_count(n); i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(n, i);
		const ASN1_OBJECT *o = X509_NAME_ENTRY_get_object(e);
		unsigned char *u = NULL;
		char oid[80];
		int ul, nid = OBJ_obj2nid(o);

		OBJ_obj2txt(oid, sizeof(oid), o, 1);
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (names[k].nid == nid)
				snprintf(oid, sizeof(oid), "%s", names[k].name);
		if ((ul = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(e))) < 0)
			return -1;
		if (memchr(u, 0, (size_t)ul) != NULL ||
		    snprintf(buf + at, len - at, "%s%s=", at ? ";" : "", oid) >= (int)(len - at)) {
			OPENSSL_free(u);
			return -1;
		}
		at += strlen(buf + at);
		for (j = 0; j < ul; j++) {
			int esc = strchr(",+\"\\<>;", u[j]) != NULL ||
				  (j == 0 && (u[j] == '#' || u[j] == ' ')) || (j == ul - 1 && u[j] == ' ');

			if (at + 3 > len) {
				OPENSSL_free(u);
				return -1;
			}
			if (esc)
				buf[at++] = '\\';
			buf[at++] = (char)u[j];
		}
		buf[at] = '\0';
		OPENSSL_free(u);
	}
	return 0;
}

struct itl_cert {
	X509 *x;
	char subject[2048], issuer[2048];
	uint8_t serial[64];
	unsigned char *pub, *der;
	int publen, derlen;
	struct itl_cert_fields f;
};

static void itl_cert_free(struct itl_cert *c)
{
	X509_free(c->x);
	OPENSSL_free(c->pub);
	OPENSSL_free(c->der);
	memset(c, 0, sizeof(*c));
}

/* Takes ownership of x. 0, or -1 with a message printed (what: the file). */
static int itl_cert_fill(struct itl_cert *c, X509 *x, int role, const char *what)
{
	const ASN1_BIT_STRING *sig;
	BIGNUM *bn;
	EVP_PKEY *k = X509_get0_pubkey(x);
	int sn;

	memset(c, 0, sizeof(*c));
	c->x = x;
	if (k == NULL || !(EVP_PKEY_is_a(k, "RSA") || EVP_PKEY_is_a(k, "EC"))) {
		fprintf(stderr, "capfctl itl: %s: only RSA and EC certificates go into an ITL\n", what);
		return -1;
	}
	if (itl_name(X509_get_subject_name(x), c->subject, sizeof(c->subject)) != 0 ||
	    itl_name(X509_get_issuer_name(x), c->issuer, sizeof(c->issuer)) != 0) {
		fprintf(stderr, "capfctl itl: %s: subject or issuer cannot be written as one line\n", what);
		return -1;
	}
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	if (bn == NULL || BN_is_negative(bn) || (sn = BN_num_bytes(bn)) > (int)sizeof(c->serial) ||
	    BN_bn2bin(bn, c->serial) != sn || sn == 0) {
		BN_free(bn);
		fprintf(stderr, "capfctl itl: %s: the serial number must be positive, at most 64 bytes\n",
			what);
		return -1;
	}
	BN_free(bn);
	X509_get0_signature(&sig, NULL, x);
	if ((c->publen = i2d_PublicKey(k, &c->pub)) <= 0 || (c->derlen = i2d_X509(x, &c->der)) <= 0) {
		fprintf(stderr, "capfctl itl: %s: cannot encode the certificate\n", what);
		return -1;
	}
	c->f = (struct itl_cert_fields){
		.role = role,
		.subject = c->subject,
		.issuer = c->issuer,
		.serial = { c->serial, (size_t)sn },
		.public_key = { c->pub, (size_t)c->publen },
		.signature = { ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig) },
		.certificate = { c->der, (size_t)c->derlen },
	};
	return 0;
}

static X509 *read_cert(const char *path)
{
	unsigned char *data;
	const unsigned char *p;
	size_t len;
	char err[512];
	X509 *x;

	if (capf_file_read(path, CERT_FILE_MAX, &data, &len, err, sizeof(err)) != 0) {
		fprintf(stderr, "capfctl: %s\n", err);
		return NULL;
	}
	if (memmem(data, len, "-----BEGIN", 10) != NULL) {
		BIO *bio = BIO_new_mem_buf(data, (int)len);

		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
	} else {
		p = data;
		x = d2i_X509(NULL, &p, (long)len);
	}
	free(data);
	ERR_clear_error();
	if (x == NULL)
		fprintf(stderr, "capfctl: %s: no certificate (PEM or DER) in the file\n", path);
	return x;
}

/* Writes bytes to out (a new file) or stdout when that is not a terminal. */
static int write_binary(const char *cmd, const char *out, const uint8_t *p, size_t n, const char *what)
{
	if (out) {
		if (ctl_write_file(out, p, n, 1) != 0)
			return CTL_FAILED;
		fprintf(stderr, "%s (%zu bytes) written to %s\n", what, n, out);
		return CTL_OK;
	}
	if (isatty(STDOUT_FILENO))
		return ctl_usage_error(cmd, "binary output: give --out FILE or redirect stdout");
	if (fwrite(p, 1, n, stdout) != n || fflush(stdout) != 0) {
		fprintf(stderr, "capfctl %s: writing stdout failed\n", cmd);
		return CTL_FAILED;
	}
	return CTL_OK;
}

/* ---- itl record ------------------------------------------------------------- */

static int itl_record(struct ctl *c, int argc, char **argv)
{
	enum { O_OUT = CTL_OPT_FIRST_LOCAL };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{ "out", required_argument, NULL, O_OUT },
		{ NULL, 0, NULL, 0 },
	};
	struct capf_ipc_builder b;
	struct ctl_reply r;
	struct certs cs;
	struct itl_cert ic;
	const char *out = NULL;
	char err[256];
	uint8_t *rec = NULL;
	size_t reclen;
	int opt, rc, i;
	X509 *tls = NULL;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ctl_common_opt(c, opt, optarg))
			continue;
		if (opt == CTL_OPT_HELP) {
			ctl_usage(usage_itl);
			return CTL_OK;
		}
		if (opt == O_OUT)
			out = optarg;
		else
			return ctl_usage_error("itl record", "unknown option");
	}
	if (optind != argc)
		return ctl_usage_error("itl record", "unexpected argument \"%s\"", argv[optind]);
	if (out == NULL && isatty(STDOUT_FILENO))
		return ctl_usage_error("itl record", "binary output: give --out FILE or redirect stdout");
	ctl_begin(c, &b, CAPF_IPC_TRUST_EXPORT);
	capf_ipc_put_u8(&b, CAPF_IPC_T_TARGET, CAPF_IPC_TRUST_ITL);
	if ((rc = ctl_call(c, &b, "itl record", &r)) != CTL_OK)
		return rc;
	rc = ctl_certs_from_reply(&r, &cs) == 0 ? CTL_OK : CTL_FAILED;
	ctl_reply_free(&r);
	if (rc != CTL_OK)
		return rc;
	for (i = 0; i < cs.n && tls == NULL; i++)
		if (cs.c[i].x != NULL)
			tls = X509_dup(cs.c[i].x);
	ctl_certs_clear(&cs);
	if (tls == NULL) {
		fprintf(stderr,
			"itl record: capf-signerd has no CAPF TLS certificate yet (`capfctl tls issue`)\n");
		return CTL_FAILED;
	}
	if (itl_cert_fill(&ic, tls, ITL_ROLE_CAPF, "the CAPF TLS certificate") != 0) {
		itl_cert_free(&ic);
		return CTL_FAILED;
	}
	if (itl_build_record(&ic.f, &rec, &reclen, err, sizeof(err)) != 0) {
		fprintf(stderr, "itl record: %s\n", err);
		itl_cert_free(&ic);
		return CTL_FAILED;
	}
	rc = ctl_reset_warning(c,
			       "the ITL's CAPF record carries the CAPF TLS certificate: this record "
			       "changes with it.",
			       0);
	if (rc == CTL_OK)
		rc = write_binary("itl record", out, rec, reclen, "the ITL's CAPF record");
	free(rec);
	itl_cert_free(&ic);
	return rc;
}

/* ---- itl build ------------------------------------------------------------- */

/* The SAST key, opened through capfhsm with capf.conf's token.module, and with
 * capf.conf's token.pin_source when the URI names no PIN source. 0 or -1 (printed). */
static int sast_key(struct ctl *c, const char *uri, struct capf_hsm **hsm, EVP_PKEY **key)
{
	struct capf_conf *conf = calloc(1, sizeof(*conf));
	char full[2048], err[512];
	int rc = -1;

	if (conf == NULL || ctl_load_conf(c, conf) != 0)
		goto done;
	if (strncmp(uri, "pkcs11:", 7) != 0) {
		fprintf(stderr, "capfctl itl build: --sast-key: a pkcs11: URI, not \"%s\"\n", uri);
		goto done;
	}
	if (capf_hsm_open(&(struct capf_hsm_opts){ .module = conf->token.module }, hsm, err, sizeof(err)) !=
		    0 ||
	    capf_hsm_key_uri(*hsm, uri, conf->token.pin_source, full, sizeof(full), err, sizeof(err)) != 0 ||
	    capf_hsm_load_key(*hsm, full, key, err, sizeof(err)) != 0) {
		fprintf(stderr, "capfctl itl build: the SAST key: %s\n", err);
		goto done;
	}
	rc = 0;
done:
	free(conf);
	return rc;
}

static int sign_file(EVP_PKEY *key, OSSL_LIB_CTX *libctx, const char *md, const uint8_t *msg, size_t n,
		     uint8_t *sig, size_t *siglen)
{
	EVP_MD_CTX *s = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	int ok = s && EVP_DigestSignInit_ex(s, &pc, md, libctx, NULL, key, NULL) == 1 &&
		 EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1 &&
		 EVP_DigestSign(s, sig, siglen, msg, n) == 1;

	EVP_MD_CTX_free(s);
	return ok ? 0 : -1;
}

#define ITL_BUILD_MAX 32

static int itl_build(struct ctl *c, int argc, char **argv)
{
	enum { O_KEY = CTL_OPT_FIRST_LOCAL, O_CERT, O_REC, O_OUT, O_VER, O_NAME };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{ "sast-key", required_argument, NULL, O_KEY },
		{ "sast-cert", required_argument, NULL, O_CERT },
		{ "record", required_argument, NULL, O_REC },
		{ "out", required_argument, NULL, O_OUT },
		{ "signer-version", required_argument, NULL, O_VER },
		{ "filename", required_argument, NULL, O_NAME },
		{ NULL, 0, NULL, 0 },
	};
	const char *key_uri = NULL, *sast_file = NULL, *out = NULL, *fname = NULL;
	const char *rec_file[ITL_BUILD_MAX];
	int rec_role[ITL_BUILD_MAX], nrec = 0, major = 1, minor = 0;
	static struct itl_cert certs[ITL_BUILD_MAX + 1];
	struct itl_cert_fields fields[ITL_BUILD_MAX + 1];
	struct itl_signer s;
	struct capf_hsm *hsm = NULL;
	EVP_PKEY *key = NULL;
	uint8_t *u = NULL, *file = NULL, sig[512];
	size_t ulen, flen, sig_at, siglen = sizeof(sig), nf = 0, i;
	char err[512], sfp[120];
	int opt, rc = CTL_FAILED, j, dup;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ctl_common_opt(c, opt, optarg))
			continue;
		switch (opt) {
		case CTL_OPT_HELP:
			ctl_usage(usage_itl);
			return CTL_OK;
		case O_KEY:
			key_uri = optarg;
			break;
		case O_CERT:
			sast_file = optarg;
			break;
		case O_OUT:
			out = optarg;
			break;
		case O_NAME:
			fname = optarg;
			break;
		case O_VER:
			if (strcmp(optarg, "1.0") != 0 && strcmp(optarg, "1.1") != 0)
				return ctl_usage_error("itl build", "--signer-version %s: 1.0 or 1.1", optarg);
			minor = optarg[2] - '0';
			break;
		case O_REC: {
			const char *colon = strchr(optarg, ':');
			char role[16];

			if (nrec == ITL_BUILD_MAX)
				return ctl_usage_error("itl build", "at most %d --record", ITL_BUILD_MAX);
			if (colon == NULL || colon == optarg || (size_t)(colon - optarg) >= sizeof(role) ||
			    colon[1] == '\0')
				return ctl_usage_error("itl build", "--record %s: ROLE:CERTFILE", optarg);
			snprintf(role, sizeof(role), "%.*s", (int)(colon - optarg), optarg);
			if ((rec_role[nrec] = itl_role_from_name(role)) < 0)
				return ctl_usage_error("itl build",
						       "--record %s: role %s: SAST, CCM, CCM+TFTP, "
						       "TFTP, CAPF, APP-SERVER or TVS",
						       optarg, role);
			rec_file[nrec++] = colon + 1;
			break;
		}
		default:
			return ctl_usage_error("itl build", "unknown option");
		}
	}
	if (optind != argc)
		return ctl_usage_error("itl build", "unexpected argument \"%s\"", argv[optind]);
	if (key_uri == NULL || sast_file == NULL || out == NULL)
		return ctl_usage_error("itl build",
				       "--sast-key URI, --sast-cert FILE and --out FILE are needed");
	if (fname == NULL)
		fname = strrchr(out, '/') ? strrchr(out, '/') + 1 : out;
	if (strlen(fname) == 0 || strlen(fname) > 255)
		return ctl_usage_error("itl build", "--filename: 1 to 255 characters");

	/* the certificates: SAST first, then the records in order, the same twice refused */
	{
		X509 *x = read_cert(sast_file);

		if (x == NULL || itl_cert_fill(&certs[0], x, ITL_ROLE_SAST, sast_file) != 0) {
			nf = 1; /* certs[0] is released below */
			goto done;
		}
		fields[nf++] = certs[0].f;
	}
	for (j = 0; j < nrec; j++) {
		X509 *x = read_cert(rec_file[j]);

		if (x == NULL || itl_cert_fill(&certs[nf], x, rec_role[j], rec_file[j]) != 0) {
			nf++;
			goto done;
		}
		for (dup = 0, i = 0; i < nf; i++)
			dup |= fields[i].role == rec_role[j] && X509_cmp(certs[i].x, x) == 0;
		if (dup) {
			fprintf(stderr,
				"capfctl itl build: %s: this certificate is already in the file as %s "
				"(the SAST certificate is always the first record)\n",
				rec_file[j], itl_role_name(rec_role[j]));
			nf++;
			goto done;
		}
		fields[nf] = certs[nf].f;
		nf++;
	}

	/* the SAST key in the token, which must be the SAST certificate's */
	if (sast_key(c, key_uri, &hsm, &key) != 0)
		goto done;
	if (!EVP_PKEY_is_a(key, "RSA")) {
		fprintf(stderr, "capfctl itl build: the SAST key is not RSA: phones check the ITL's "
				"signature with RSA only\n");
		goto done;
	}
	if (EVP_PKEY_eq(X509_get0_pubkey(certs[0].x), key) != 1) {
		fprintf(stderr, "capfctl itl build: %s is not the certificate of the SAST key %s\n", sast_file,
			key_uri);
		goto done;
	}
	s = (struct itl_signer){
		.signer_major = (uint8_t)major,
		.signer_minor = (uint8_t)minor,
		.signer_name = certs[0].subject,
		.issuer = certs[0].issuer,
		.serial = certs[0].f.serial,
		.hash_alg = ITL_HASH_SHA512,
		.sig_len = (size_t)EVP_PKEY_get_size(key),
		.filename = fname,
		.timestamp = (uint32_t)time(NULL),
	};
	if (itl_build_unsigned(&s, fields, nf, &u, &ulen, &sig_at, err, sizeof(err)) != 0) {
		fprintf(stderr, "capfctl itl build: %s\n", err);
		goto done;
	}
	if (sign_file(key, capf_hsm_libctx(hsm), "SHA512", u, ulen, sig, &siglen) != 0 || siglen != s.sig_len) {
		capf_ossl_errors(err, sizeof(err));
		fprintf(stderr, "capfctl itl build: signing with the SAST key: %s\n", err);
		goto done;
	}
	if (itl_insert_signature(u, ulen, sig_at, sig, siglen, &file, &flen, err, sizeof(err)) != 0) {
		fprintf(stderr, "capfctl itl build: %s\n", err);
		goto done;
	}
	fprintf(stderr,
		"WARNING: every phone that downloads a changed ITL resets; its CAPF record carries the\n"
		"  CAPF TLS certificate, so rebuild and publish the ITL whenever that changes\n"
		"  (`capfctl tls issue`). Phones trusting an older ITL accept this one only when it is\n"
		"  signed by the same SAST key (or after the ITL is erased on the phone).\n");
	if (ctl_write_file(out, file, flen, 1) != 0)
		goto done;
	fprintf(stderr, "%s: %zu records, signed by SAST %s (SHA-1 %s), %zu bytes\n", out, nf, certs[0].subject,
		capf_x509_fp_hex(certs[0].x, EVP_sha1(), ':', sfp, sizeof(sfp)), flen);
	rc = CTL_OK;
done:
	free(u);
	free(file);
	EVP_PKEY_free(key);
	for (i = 0; i < nf; i++)
		itl_cert_free(&certs[i]);
	capf_hsm_close(hsm);
	return rc;
}

/* ---- itl show ------------------------------------------------------------- */

static void json_bytes_str(FILE *f, struct itl_bytes b)
{
	char *s;

	if (b.p == NULL) {
		fputs("null", f);
		return;
	}
	if ((s = strndup((const char *)b.p, b.n)) == NULL) {
		fputs("null", f);
		return;
	}
	ctl_json_str(f, s);
	free(s);
}

/* 1 verified, 0 not, -1 no SAST record / certificate to verify with. */
static int verify_file(const uint8_t *buf, size_t len, const struct itl_file *f, X509 **signer)
{
	uint8_t *msg;
	size_t n, i;
	int ok = 0;
	EVP_MD_CTX *s;

	*signer = NULL;
	for (i = 0; i < f->nrec && *signer == NULL; i++) {
		const struct itl_record *r = &f->r[i];

		if (r->role == ITL_ROLE_SAST && r->serial.n == f->h.serial.n && r->certificate.p &&
		    memcmp(r->serial.p, f->h.serial.p, r->serial.n) == 0)
			*signer = capf_x509_from_der(r->certificate.p, r->certificate.n);
	}
	if (*signer == NULL)
		return -1;
	if (itl_signed_data(buf, len, f, &msg, &n) != 0)
		return 0;
	if ((s = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(s, NULL, f->h.hash_alg == ITL_HASH_SHA1 ? EVP_sha1() : EVP_sha512(), NULL,
				 X509_get0_pubkey(*signer)) == 1 &&
	    EVP_DigestVerify(s, f->h.signature.p, f->h.signature.n, msg, n) == 1)
		ok = 1;
	EVP_MD_CTX_free(s);
	free(msg);
	ERR_clear_error();
	return ok;
}

static int itl_show(struct ctl *c, int argc, char **argv)
{
	enum { O_JSON = CTL_OPT_FIRST_LOCAL };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{ "json", no_argument, NULL, O_JSON },
		{ NULL, 0, NULL, 0 },
	};
	static struct itl_file f;
	unsigned char *buf;
	size_t len, i;
	char err[512], hex[200], t[64];
	int opt, json = 0, v;
	X509 *signer;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ctl_common_opt(c, opt, optarg))
			continue;
		if (opt == CTL_OPT_HELP) {
			ctl_usage(usage_itl);
			return CTL_OK;
		}
		if (opt == O_JSON)
			json = 1;
		else
			return ctl_usage_error("itl show", "unknown option");
	}
	if (optind + 1 != argc)
		return ctl_usage_error("itl show", "one FILE is needed");
	if (capf_file_read(argv[optind], ITL_FILE_MAX, &buf, &len, err, sizeof(err)) != 0) {
		fprintf(stderr, "capfctl: %s\n", err);
		return CTL_FAILED;
	}
	if (itl_parse(buf, len, &f, err, sizeof(err)) != 0) {
		fprintf(stderr, "capfctl itl show: %s: %s\n", argv[optind], err);
		free(buf);
		return CTL_FAILED;
	}
	v = verify_file(buf, len, &f, &signer);
	if (json) {
		printf("{\"schema\": 1, \"file\": ");
		ctl_json_str(stdout, argv[optind]);
		printf(", \"version\": \"%u.%u\", \"header_length\": %u, \"signer_version\": ",
		       f.h.version_major, f.h.version_minor, f.h.length);
		if (f.h.signer_major >= 0)
			printf("\"%d.%d\"", f.h.signer_major, f.h.signer_minor);
		else
			fputs("null", stdout);
		printf(", \"signer_name\": ");
		json_bytes_str(stdout, f.h.signer_name);
		printf(", \"signer_serial\": \"%s\", \"signer_issuer\": ",
		       capf_hex(f.h.serial.p, f.h.serial.n, 0, hex, sizeof(hex)));
		json_bytes_str(stdout, f.h.issuer);
		printf(", \"digest\": \"%s\", \"signature_bytes\": %zu, \"filename\": ",
		       f.h.hash_alg == ITL_HASH_SHA1 ? "sha1" : "sha512", f.h.signature.n);
		json_bytes_str(stdout, f.h.filename);
		fputs(", \"timestamp\": ", stdout);
		if (f.h.timestamp >= 0) {
			time_t ts = (time_t)f.h.timestamp;
			struct tm tm;

			strftime(t, sizeof(t), "\"%Y-%m-%dT%H:%M:%SZ\"", gmtime_r(&ts, &tm));
			fputs(t, stdout);
		} else {
			fputs("null", stdout);
		}
		printf(", \"signature_valid\": %s, \"records\": [", v == 1 ? "true" : "false");
	} else {
		printf("File:            %s (%zu bytes)\n", argv[optind], len);
		printf("Version:         %u.%u, header %u bytes\n", f.h.version_major, f.h.version_minor,
		       f.h.length);
		if (f.h.signer_major >= 0)
			printf("Signer version:  %d.%d\n", f.h.signer_major, f.h.signer_minor);
		printf("Signer:          %.*s\n", (int)f.h.signer_name.n,
		       f.h.signer_name.p ? (const char *)f.h.signer_name.p : "");
		printf("Signer serial:   %s\n", capf_hex(f.h.serial.p, f.h.serial.n, 0, hex, sizeof(hex)));
		printf("Signer issuer:   %.*s\n", (int)f.h.issuer.n,
		       f.h.issuer.p ? (const char *)f.h.issuer.p : "");
		printf("Digest:          %s, signature %zu bytes\n",
		       f.h.hash_alg == ITL_HASH_SHA1 ? "SHA-1" : "SHA-512", f.h.signature.n);
		if (f.h.filename.p)
			printf("Filename:        %.*s\n", (int)f.h.filename.n, (const char *)f.h.filename.p);
		if (f.h.timestamp >= 0)
			printf("Timestamp:       %s\n", ctl_fmt_time((time_t)f.h.timestamp, t, sizeof(t)));
		printf("Records:         %zu\n", f.nrec);
	}
	for (i = 0; i < f.nrec; i++) {
		const struct itl_record *r = &f.r[i];
		const char *rn = itl_role_name(r->role);
		X509 *x = r->certificate.p ? capf_x509_from_der(r->certificate.p, r->certificate.n) : NULL;
		char fp[120] = "", fp2[200] = "";

		if (x) {
			capf_x509_fp_hex(x, EVP_sha1(), ':', fp, sizeof(fp));
			capf_x509_fp_hex(x, EVP_sha256(), ':', fp2, sizeof(fp2));
		}
		if (json) {
			printf("%s{\"role\": %d, \"role_name\": ", i ? ", " : "", r->role);
			if (rn)
				ctl_json_str(stdout, rn);
			else
				fputs("null", stdout);
			printf(", \"subject\": ");
			json_bytes_str(stdout, r->subject);
			printf(", \"issuer\": ");
			json_bytes_str(stdout, r->issuer);
			printf(", \"serial\": \"%s\", \"certificate_bytes\": %zu, \"certificate_valid\": %s, "
			       "\"sha1\": \"%s\", \"sha256\": \"%s\"}",
			       capf_hex(r->serial.p, r->serial.n, 0, hex, sizeof(hex)), r->certificate.n,
			       x ? "true" : "false", fp, fp2);
		} else {
			printf("\nRecord %zu (%zu bytes)\n", i + 1, r->length);
			printf("  Role:          %s (%d)\n", rn ? rn : "unknown", r->role);
			if (r->subject.p)
				printf("  Subject:       %.*s\n", (int)r->subject.n,
				       (const char *)r->subject.p);
			if (r->issuer.p)
				printf("  Issuer:        %.*s\n", (int)r->issuer.n, (const char *)r->issuer.p);
			if (r->serial.p)
				printf("  Serial:        %s\n",
				       capf_hex(r->serial.p, r->serial.n, 0, hex, sizeof(hex)));
			if (r->certificate.p)
				printf("  Certificate:   %zu bytes%s\n  SHA-1:         %s\n", r->certificate.n,
				       x ? "" : " (not a certificate)", fp);
		}
		X509_free(x);
	}
	if (json)
		printf("]}\n");
	else
		printf("\nSignature:       %s\n",
		       v == 1 ? "valid (by the SAST record's certificate)" :
		       v == 0 ? "INVALID" :
				"cannot be checked: no SAST record with the signer's serial");
	X509_free(signer);
	free(buf);
	if (v != 1)
		fprintf(stderr, "capfctl itl show: %s: the signature %s\n", argv[optind],
			v == 0 ? "does not verify" :
				 "cannot be checked (no SAST record with the signer's serial)");
	return v == 1 ? CTL_OK : CTL_FAILED;
}

int cmd_itl(struct ctl *c, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		ctl_usage(usage_itl);
		return argc < 2 ? CTL_USAGE : CTL_OK;
	}
	if (strcmp(argv[1], "record") == 0)
		return itl_record(c, argc - 1, argv + 1);
	if (strcmp(argv[1], "build") == 0)
		return itl_build(c, argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return itl_show(c, argc - 1, argv + 1);
	return ctl_usage_error("itl", "unknown subcommand \"%s\"", argv[1]);
}
