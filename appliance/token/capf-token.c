/*
 * capf-token: token administration for capf-appliance. Initialises SoftHSM
 * tokens, generates key pairs inside a token (sensitive, never extractable),
 * lists objects, exports public keys and shows token state. PINs only ever
 * come from 0600 files named on the command line or in the URI's pin-source.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "appliance/common/file.h"
#include "appliance/common/version.h"
#include "pkcs11/p11.h"

#define EXIT_USAGE 2
#define ERRLEN 1024

static const char *prog = "capf-token";
static int verbose;

static const char usage_main[] =
	"usage: capf-token COMMAND [options]   (capf-token COMMAND --help for details)\n"
	"\n"
	"commands:\n"
	"  init    initialise a token: label, SO PIN and user PIN from files\n"
	"  keygen  generate a key pair inside a token\n"
	"  list    list the objects of a token\n"
	"  pubkey  write a key's public half as PEM\n"
	"  info    show a token's label, serial, manufacturer and PIN state\n"
	"\n"
	"The module is --module PATH, else the URI's module-path, else $CAPFHSM_MODULE,\n"
	"else " P11_DEFAULT_MODULE ".\n"
	"PINs come only from files owned by you with mode 0600 (pin-source=file:/path in URIs).\n"
	"CAPF_TOKEN_VERBOSE=1 in the environment traces every PKCS#11 call to stderr.\n"
	"capf-token --version prints the version.\n"
	"Exit status: 0 success, 1 error, 2 usage error.\n";

static const char usage_init[] =
	"usage: capf-token init --module PATH --label LABEL --so-pin-file FILE --pin-file FILE\n"
	"\n"
	"Initialises the first slot that holds no initialised token: C_InitToken with the\n"
	"SO PIN, then sets the user PIN (SO login + C_InitPIN). Refuses when a token\n"
	"labelled LABEL exists already. Both PIN files: owned by you, mode 0600, one line.\n"
	"Exit status: 0 success, 1 error, 2 usage error.\n";

static const char usage_keygen[] =
	"usage: capf-token keygen --uri 'pkcs11:token=T;object=LABEL?pin-source=file:/path'\n"
	"                         --type rsa:2048|rsa:3072|rsa:4096|ec:P-256|ec:P-384|ec:P-521\n"
	"                         [--id HEX] [--pubout FILE] [--module PATH]\n"
	"\n"
	"Generates a key pair inside the token: the private key is sensitive, not\n"
	"extractable, sign-only. Refuses a label that any object of the token has.\n"
	"CKA_ID is --id (or the URI's id=), else 16 random bytes. --pubout writes the\n"
	"public key as PEM (mode 0644; refuses to overwrite). Prints the key's URI and\n"
	"the SHA-256 of its SubjectPublicKeyInfo.\n"
	"Exit status: 0 success, 1 error, 2 usage error.\n";

static const char usage_list[] =
	"usage: capf-token list --uri 'pkcs11:token=T[;object=L][;id=..][;type=..][?pin-source=file:/path]'\n"
	"                       [--json] [--module PATH]\n"
	"\n"
	"Lists the objects the URI selects (private objects need pin-source): class, key\n"
	"type, label, id (hex), size or curve, and the sensitive/extractable flags.\n"
	"Exit status: 0 success, 1 error, 2 usage error.\n";

static const char usage_pubkey[] =
	"usage: capf-token pubkey --uri 'pkcs11:token=T;object=LABEL[?pin-source=file:/path]'\n"
	"                         [--out FILE] [--module PATH]\n"
	"\n"
	"Writes the public key of the key (or certificate) the URI names as PEM to stdout\n"
	"or to FILE (mode 0644; refuses to overwrite).\n"
	"Exit status: 0 success, 1 error, 2 usage error.\n";

static const char usage_info[] =
	"usage: capf-token info --uri 'pkcs11:token=T' [--json] [--module PATH]\n"
	"\n"
	"Shows the token's label, serial, manufacturer, model and flags, including the\n"
	"user PIN state (count low, final try, locked). Does not log in.\n"
	"Exit status: 0 success, 1 error, 2 usage error.\n";

static void log_cb(void *arg, int level, const char *msg)
{
	/* Errors come back to the caller as messages and are printed once there. */
	if ((level > LOG_ERR && level <= LOG_NOTICE) || verbose)
		fprintf(stderr, "%s: %s\n", prog, msg);
}

static int usage_err(const char *usage, const char *msg, const char *arg)
{
	fprintf(stderr, "%s: %s%s%s%s\n%s", prog, msg, arg ? " '" : "", arg ? arg : "", arg ? "'" : "", usage);
	return EXIT_USAGE;
}

static void trim(char *dst, size_t dstlen, const unsigned char *src, size_t srclen)
{
	size_t n = srclen;

	while (n > 0 && (src[n - 1] == ' ' || src[n - 1] == '\0'))
		n--;
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int fail(const char *msg)
{
	fprintf(stderr, "%s: %s\n", prog, msg);
	return EXIT_FAILURE;
}

static void hex(char *out, size_t outlen, const unsigned char *v, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < n && o + 3 <= outlen; i++) {
		out[o++] = digits[v[i] >> 4];
		out[o++] = digits[v[i] & 15];
	}
	out[o] = '\0';
}

static int unhex(const char *s, unsigned char *out, size_t max, size_t *n)
{
	size_t len = strlen(s);

	if (len == 0 || len % 2 != 0 || len / 2 > max)
		return -1;
	for (size_t i = 0; i < len / 2; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1 || !isxdigit((unsigned char)s[2 * i]) ||
		    !isxdigit((unsigned char)s[2 * i + 1]))
			return -1;
		out[i] = (unsigned char)v;
	}
	*n = len / 2;
	return 0;
}

/* Prints s as a JSON string. */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* Prints s for a terminal: control characters escaped. */
static void text_str(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

struct common {
	const char *uri_s;
	const char *module;
	int json;
	struct p11_uri uri;
};

static int parse_uri(struct common *c, const char *usage)
{
	char err[ERRLEN];

	if (c->uri_s == NULL)
		return usage_err(usage, "--uri is required", NULL);
	if (p11_uri_parse(c->uri_s, &c->uri, err, sizeof(err)) < 0)
		return usage_err(usage, err, NULL);
	return 0;
}

/* The options of a command that has only --uri, --json, --module and --help:
 * -1 when they are good (c filled, --uri parsed), else the exit status. */
static int parse_common(int argc, char **argv, const char *usage, struct common *c)
{
	static const struct option opts[] = {
		{ "uri", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ "module", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			c->uri_s = optarg;
			break;
		case 'j':
			c->json = 1;
			break;
		case 'm':
			c->module = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_err(usage, "unexpected argument", argv[optind]);
	if ((rc = parse_uri(c, usage)) != 0)
		return rc;
	return -1;
}

/* ---- init ------------------------------------------------------------- */

static int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "module", required_argument, NULL, 'm' },
		{ "label", required_argument, NULL, 'l' },
		{ "so-pin-file", required_argument, NULL, 's' },
		{ "pin-file", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *module = NULL, *label = NULL, *sopin = NULL, *pin = NULL;
	char err[ERRLEN];
	CK_SLOT_ID slot;
	int ch;

	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			module = optarg;
			break;
		case 'l':
			label = optarg;
			break;
		case 's':
			sopin = optarg;
			break;
		case 'p':
			pin = optarg;
			break;
		case 'h':
			fputs(usage_init, stdout);
			return 0;
		default:
			fputs(usage_init, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_err(usage_init, "unexpected argument", argv[optind]);
	if (label == NULL || sopin == NULL || pin == NULL)
		return usage_err(usage_init, "--label, --so-pin-file and --pin-file are required", NULL);
	if (p11_token_init(p11_module_choose(module, NULL), label, sopin, pin, &slot, err, sizeof(err)) !=
	    P11_OK)
		return fail(err);
	printf("initialised token '%s' in slot %lu\n", label, slot);
	return 0;
}

/* ---- keygen ----------------------------------------------------------- */

static int spki_sha256(EVP_PKEY *pk, char *out, size_t outlen)
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned mdlen;
	int n = i2d_PUBKEY(pk, &der);

	if (n <= 0)
		return -1;
	if (EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1) {
		OPENSSL_free(der);
		return -1;
	}
	OPENSSL_free(der);
	hex(out, outlen, md, mdlen);
	return 0;
}

static int pem_of(EVP_PKEY *pk, char **pem, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	if (b == NULL || PEM_write_bio_PUBKEY(b, pk) != 1 || (n = BIO_get_mem_data(b, &p)) <= 0) {
		BIO_free(b);
		return -1;
	}
	if ((*pem = malloc((size_t)n)) == NULL) {
		BIO_free(b);
		return -1;
	}
	memcpy(*pem, p, (size_t)n);
	*len = (size_t)n;
	BIO_free(b);
	return 0;
}

static int write_pub(EVP_PKEY *pk, const char *path, char *err, size_t errlen)
{
	char *pem;
	size_t len;
	int rc;

	if (pem_of(pk, &pem, &len) < 0) {
		snprintf(err, errlen, "cannot encode the public key as PEM");
		return -1;
	}
	if (path == NULL) {
		rc = fwrite(pem, 1, len, stdout) == len && fflush(stdout) == 0 ? 0 : -1;
		if (rc < 0)
			snprintf(err, errlen, "stdout: %s", strerror(errno));
	} else {
		rc = capf_file_create(path, 0644, pem, len, err, errlen);
	}
	free(pem);
	return rc;
}

static int cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "uri", required_argument, NULL, 'u' },
		{ "type", required_argument, NULL, 't' },
		{ "id", required_argument, NULL, 'i' },
		{ "pubout", required_argument, NULL, 'o' },
		{ "module", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct common c = { 0 };
	const char *type = NULL, *idhex = NULL, *pubout = NULL;
	unsigned char id[P11_URI_MAX_VALUE];
	size_t idlen = 0;
	struct p11_keyspec spec;
	struct p11_token_opts topts = { .rw = 1, .pool_size = 1 };
	struct p11_token *t = NULL;
	struct p11_object *key = NULL;
	EVP_PKEY *pk = NULL;
	char err[ERRLEN], uri[P11_URI_MAX], sha[65];
	struct stat st;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			c.uri_s = optarg;
			break;
		case 't':
			type = optarg;
			break;
		case 'i':
			idhex = optarg;
			break;
		case 'o':
			pubout = optarg;
			break;
		case 'm':
			c.module = optarg;
			break;
		case 'h':
			fputs(usage_keygen, stdout);
			return 0;
		default:
			fputs(usage_keygen, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_err(usage_keygen, "unexpected argument", argv[optind]);
	if (type == NULL)
		return usage_err(usage_keygen, "--type is required", NULL);
	if (p11_keyspec_parse(type, &spec, err, sizeof(err)) != P11_OK)
		return usage_err(usage_keygen, err, NULL);
	if (idhex != NULL && unhex(idhex, id, sizeof(id), &idlen) < 0)
		return usage_err(usage_keygen, "--id: give 1..255 bytes as hex digits, not", idhex);
	if ((rc = parse_uri(&c, usage_keygen)) != 0)
		return rc;
	rc = EXIT_USAGE;
	if (c.uri.object == NULL) {
		usage_err(usage_keygen, "the URI needs object=LABEL (the new key's label)", NULL);
		goto out;
	}
	if (c.uri.pin_source == NULL) {
		usage_err(usage_keygen, "the URI needs pin-source=file:/path (key generation logs in)", NULL);
		goto out;
	}
	if (c.uri.type != P11_TYPE_ANY && c.uri.type != P11_TYPE_PRIVATE) {
		usage_err(usage_keygen, "the URI's type= must be private (or absent)", NULL);
		goto out;
	}
	if (c.uri.has_id) {
		if (idhex != NULL && (idlen != c.uri.idlen || memcmp(id, c.uri.id, idlen) != 0)) {
			usage_err(usage_keygen, "--id and the URI's id= differ", NULL);
			goto out;
		}
		memcpy(id, c.uri.id, c.uri.idlen);
		idlen = c.uri.idlen;
	}
	rc = EXIT_FAILURE;
	if (pubout != NULL && lstat(pubout, &st) == 0) {
		fprintf(stderr, "%s: %s exists; refusing to overwrite it (no key generated)\n", prog, pubout);
		goto out;
	}
	topts.module_path = c.module;
	if (p11_token_open(&c.uri, &topts, &t, err, sizeof(err)) != P11_OK ||
	    p11_keygen(t, &spec, c.uri.object, idlen ? id : NULL, idlen, &key, err, sizeof(err)) != P11_OK ||
	    p11_object_public_key(key, NULL, NULL, &pk, err, sizeof(err)) != P11_OK) {
		fail(err);
		goto out;
	}
	if (p11_object_uri(key, uri, sizeof(uri)) < 0 || spki_sha256(pk, sha, sizeof(sha)) < 0) {
		fail("cannot format the key's URI or fingerprint");
		goto out;
	}
	if (pubout != NULL && write_pub(pk, pubout, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: key generated (%s) but the public key was not written: %s\n", prog, uri,
			err);
		goto out;
	}
	printf("uri: %s\n", uri);
	printf("spki-sha256: %s\n", sha);
	rc = 0;
out:
	EVP_PKEY_free(pk);
	p11_object_free(key);
	p11_token_close(t);
	p11_uri_clear(&c.uri);
	return rc;
}

/* ---- list ------------------------------------------------------------- */

static const char *class_word(CK_OBJECT_CLASS c)
{
	switch (c) {
	case CKO_PRIVATE_KEY:
		return "private";
	case CKO_PUBLIC_KEY:
		return "public";
	case CKO_CERTIFICATE:
		return "cert";
	case CKO_SECRET_KEY:
		return "secret-key";
	case CKO_DATA:
		return "data";
	default:
		return "other";
	}
}

static const char *ktype_word(CK_KEY_TYPE k)
{
	switch (k) {
	case CKK_RSA:
		return "rsa";
	case CKK_EC:
		return "ec";
	case CKK_AES:
		return "aes";
	case (CK_KEY_TYPE)-1:
		return "-";
	default:
		return "other";
	}
}

static void size_word(struct p11_object *o, char *buf, size_t len)
{
	int nid = p11_object_curve_nid(o);

	if (nid != NID_undef)
		snprintf(buf, len, "%s",
			 nid == NID_X9_62_prime256v1 ? "P-256" :
			 nid == NID_secp384r1        ? "P-384" :
			 nid == NID_secp521r1        ? "P-521" :
						       OBJ_nid2sn(nid));
	else if (p11_object_bits(o) > 0)
		snprintf(buf, len, "%u", p11_object_bits(o));
	else
		snprintf(buf, len, "-");
}

/* "yes" / "no" / "-" (not applicable or unreadable). */
static const char *flag_word(struct p11_object *o, CK_ATTRIBUTE_TYPE a)
{
	char err[ERRLEN];
	int v;

	if (p11_object_class(o) != CKO_PRIVATE_KEY && p11_object_class(o) != CKO_SECRET_KEY)
		return "-";
	if (p11_object_bool(o, a, &v, err, sizeof(err)) != P11_OK)
		return "-";
	return v ? "yes" : "no";
}

static int cmd_list(int argc, char **argv)
{
	struct common c = { 0 };
	struct p11_token_opts topts = { .pool_size = 1 };
	struct p11_token *t = NULL;
	struct p11_object **objs = NULL;
	size_t n = 0;
	char err[ERRLEN];
	int rc;

	if ((rc = parse_common(argc, argv, usage_list, &c)) >= 0)
		return rc;
	topts.module_path = c.module;
	rc = EXIT_FAILURE;
	if (p11_token_open(&c.uri, &topts, &t, err, sizeof(err)) != P11_OK ||
	    p11_find(t, &c.uri, 4096, &objs, &n, err, sizeof(err)) != P11_OK) {
		fail(err);
		goto out;
	}
	if (c.json)
		printf("[");
	else
		printf("%-10s %-5s %-6s %-9s %-11s %-32s %s\n", "CLASS", "TYPE", "SIZE", "SENSITIVE",
		       "EXTRACTABLE", "ID", "LABEL");
	for (size_t i = 0; i < n; i++) {
		struct p11_object *o = objs[i];
		size_t idlen;
		const unsigned char *id = p11_object_id(o, &idlen);
		char idhex[2 * P11_URI_MAX_VALUE + 1], size[16];
		const char *sens = flag_word(o, CKA_SENSITIVE), *extr = flag_word(o, CKA_EXTRACTABLE);

		hex(idhex, sizeof(idhex), id, idlen);
		size_word(o, size, sizeof(size));
		if (c.json) {
			printf("%s\n  {\"class\": \"%s\", \"type\": \"%s\", \"label\": ", i ? "," : "",
			       class_word(p11_object_class(o)), ktype_word(p11_object_key_type(o)));
			json_str(stdout, p11_object_label(o));
			printf(", \"id\": \"%s\", \"size\": \"%s\"", idhex, size);
			if (strcmp(sens, "-") != 0)
				printf(", \"sensitive\": %s", strcmp(sens, "yes") == 0 ? "true" : "false");
			if (strcmp(extr, "-") != 0)
				printf(", \"extractable\": %s", strcmp(extr, "yes") == 0 ? "true" : "false");
			printf("}");
		} else {
			printf("%-10s %-5s %-6s %-9s %-11s %-32s ", class_word(p11_object_class(o)),
			       ktype_word(p11_object_key_type(o)), size, sens, extr, idlen ? idhex : "-");
			text_str(stdout, p11_object_label(o));
			printf("\n");
		}
	}
	if (c.json)
		printf("%s]\n", n ? "\n" : "");
	rc = 0;
out:
	p11_objects_free(objs, n);
	p11_token_close(t);
	p11_uri_clear(&c.uri);
	return rc;
}

/* ---- pubkey ----------------------------------------------------------- */

static int cmd_pubkey(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "uri", required_argument, NULL, 'u' },
		{ "out", required_argument, NULL, 'o' },
		{ "module", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct common c = { 0 };
	struct p11_token_opts topts = { .pool_size = 1 };
	struct p11_token *t = NULL;
	struct p11_object **objs = NULL, *pick = NULL;
	EVP_PKEY *pk = NULL;
	const char *out = NULL;
	size_t n = 0;
	char err[ERRLEN];
	int ch, rc;
	static const CK_OBJECT_CLASS pref[] = { CKO_PUBLIC_KEY, CKO_PRIVATE_KEY, CKO_CERTIFICATE };

	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			c.uri_s = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'm':
			c.module = optarg;
			break;
		case 'h':
			fputs(usage_pubkey, stdout);
			return 0;
		default:
			fputs(usage_pubkey, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_err(usage_pubkey, "unexpected argument", argv[optind]);
	if ((rc = parse_uri(&c, usage_pubkey)) != 0)
		return rc;
	rc = EXIT_USAGE;
	if (c.uri.object == NULL && !c.uri.has_id) {
		usage_err(usage_pubkey, "the URI needs object=LABEL or id=", NULL);
		goto out;
	}
	topts.module_path = c.module;
	rc = EXIT_FAILURE;
	if (p11_token_open(&c.uri, &topts, &t, err, sizeof(err)) != P11_OK ||
	    p11_find(t, &c.uri, 64, &objs, &n, err, sizeof(err)) != P11_OK) {
		fail(err);
		goto out;
	}
	for (size_t k = 0; k < sizeof(pref) / sizeof(pref[0]) && pick == NULL; k++)
		for (size_t i = 0; i < n; i++)
			if (p11_object_class(objs[i]) == pref[k]) {
				if (pick != NULL) {
					fail("several objects match the URI; add id= or type=");
					goto out;
				}
				pick = objs[i];
			}
	if (pick == NULL) {
		fail(c.uri.pin_source ?
			     "no key or certificate matches the URI" :
			     "no key or certificate matches the URI (private keys need pin-source=file:/path)");
		goto out;
	}
	if (p11_object_public_key(pick, NULL, NULL, &pk, err, sizeof(err)) != P11_OK ||
	    write_pub(pk, out, err, sizeof(err)) < 0) {
		fail(err);
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(pk);
	p11_objects_free(objs, n);
	p11_token_close(t);
	p11_uri_clear(&c.uri);
	return rc;
}

/* ---- info ------------------------------------------------------------- */

static const struct {
	CK_FLAGS flag;
	const char *name;
} token_flags[] = {
	{ CKF_TOKEN_INITIALIZED, "token-initialized" },
	{ CKF_LOGIN_REQUIRED, "login-required" },
	{ CKF_USER_PIN_INITIALIZED, "user-pin-initialized" },
	{ CKF_RNG, "rng" },
	{ CKF_WRITE_PROTECTED, "write-protected" },
	{ CKF_PROTECTED_AUTHENTICATION_PATH, "protected-authentication-path" },
	{ CKF_USER_PIN_COUNT_LOW, "user-pin-count-low" },
	{ CKF_USER_PIN_FINAL_TRY, "user-pin-final-try" },
	{ CKF_USER_PIN_LOCKED, "user-pin-locked" },
	{ CKF_USER_PIN_TO_BE_CHANGED, "user-pin-to-be-changed" },
	{ CKF_SO_PIN_COUNT_LOW, "so-pin-count-low" },
	{ CKF_SO_PIN_FINAL_TRY, "so-pin-final-try" },
	{ CKF_SO_PIN_LOCKED, "so-pin-locked" },
	{ CKF_SO_PIN_TO_BE_CHANGED, "so-pin-to-be-changed" },
};

static const char *pin_state(CK_FLAGS f)
{
	if (f & CKF_USER_PIN_LOCKED)
		return "locked";
	if (f & CKF_USER_PIN_FINAL_TRY)
		return "final-try";
	if (f & CKF_USER_PIN_COUNT_LOW)
		return "count-low";
	if (!(f & CKF_USER_PIN_INITIALIZED))
		return "not-initialized";
	return "ok";
}

static int cmd_info(int argc, char **argv)
{
	struct common c = { 0 };
	struct p11_token_opts topts = { .pool_size = 1, .no_login = 1 };
	struct p11_token *t = NULL;
	CK_TOKEN_INFO ti;
	char err[ERRLEN], label[33], manuf[33], model[17], serial[17];
	int rc, first = 1;

	if ((rc = parse_common(argc, argv, usage_info, &c)) >= 0)
		return rc;
	topts.module_path = c.module;
	rc = EXIT_FAILURE;
	if (p11_token_open(&c.uri, &topts, &t, err, sizeof(err)) != P11_OK ||
	    p11_token_info(t, &ti, err, sizeof(err)) != P11_OK) {
		fail(err);
		goto out;
	}
	trim(label, sizeof(label), ti.label, sizeof(ti.label));
	trim(manuf, sizeof(manuf), ti.manufacturerID, sizeof(ti.manufacturerID));
	trim(model, sizeof(model), ti.model, sizeof(ti.model));
	trim(serial, sizeof(serial), ti.serialNumber, sizeof(ti.serialNumber));
	if (c.json) {
		printf("{\"label\": ");
		json_str(stdout, label);
		printf(", \"manufacturer\": ");
		json_str(stdout, manuf);
		printf(", \"model\": ");
		json_str(stdout, model);
		printf(", \"serial\": ");
		json_str(stdout, serial);
		printf(", \"slot\": %lu, \"module\": ", p11_token_slot(t));
		json_str(stdout, p11_module_path(p11_token_module(t)));
		printf(", \"user_pin\": \"%s\", \"flags\": [", pin_state(ti.flags));
		for (size_t i = 0; i < sizeof(token_flags) / sizeof(token_flags[0]); i++)
			if (ti.flags & token_flags[i].flag) {
				printf("%s\"%s\"", first ? "" : ", ", token_flags[i].name);
				first = 0;
			}
		printf("]}\n");
	} else {
		printf("label:        ");
		text_str(stdout, label);
		printf("\nmanufacturer: ");
		text_str(stdout, manuf);
		printf("\nmodel:        ");
		text_str(stdout, model);
		printf("\nserial:       ");
		text_str(stdout, serial);
		printf("\nslot:         %lu\nmodule:       %s\nuser PIN:     %s\nflags:       ",
		       p11_token_slot(t), p11_module_path(p11_token_module(t)), pin_state(ti.flags));
		for (size_t i = 0; i < sizeof(token_flags) / sizeof(token_flags[0]); i++)
			if (ti.flags & token_flags[i].flag)
				printf(" %s", token_flags[i].name);
		printf("\n");
	}
	rc = 0;
out:
	p11_token_close(t);
	p11_uri_clear(&c.uri);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "init", cmd_init },     { "keygen", cmd_keygen }, { "list", cmd_list },
		{ "pubkey", cmd_pubkey }, { "info", cmd_info },
	};
	const char *v = getenv("CAPF_TOKEN_VERBOSE");

	umask(022);
	verbose = v != NULL && strcmp(v, "1") == 0;
	p11_set_log_fn(log_cb, NULL);
	p11_set_trace(verbose);
	if (capf_version_option(argc, argv, "capf-token"))
		return 0;
	if (argc < 2)
		return usage_err(usage_main, "a command is required", NULL);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		fputs(usage_main, stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0) {
			optind = 1;
			return cmds[i].fn(argc - 1, argv + 1);
		}
	return usage_err(usage_main, "unknown command", argv[1]);
}
