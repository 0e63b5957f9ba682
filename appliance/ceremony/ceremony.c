/*
 * capf-ceremony: the key ceremony, driven by one reviewed configuration file
 * (scripts/ceremony.example.conf documents it). It refuses to overwrite any key
 * label or output file, generates the CAPF CA key inside the token (sensitive,
 * never extractable), writes its public key and a self-signed CAPF CA
 * certificate or a CSR for a third-party CA, verifies every output against the
 * token key, and writes a transcript: who, when, each step, SHA-256 of each
 * artifact. Every check that can fail early (outputs, folders, PIN file,
 * module, key type, subject, digest, the provider, the label in the token)
 * passes before anything is generated; when a later step fails the new key
 * pair is destroyed, or, when the token refuses, named in the transcript and
 * the error as left behind.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "appliance/ceremony/conf.h"
#include "appliance/ceremony/transcript.h"
#include "appliance/common/file.h"
#include "appliance/common/hsm.h"
#include "appliance/common/version.h"
#include "pkcs11/p11.h"
#include "policy/cacert.h"
#include "policy/certlint.h"
#include "policy/chain.h"
#include "policy/osslerr.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2

static const char usage[] =
	"usage: capf-ceremony [--dir DIR] [--check] [--provider-path DIR] CONFIG\n"
	"\n"
	"Runs the key ceremony CONFIG describes (see scripts/ceremony.example.conf):\n"
	"  0. check everything that can fail before generating anything: no output\n"
	"     file exists, their folders can be written, the PIN file and the module\n"
	"     are readable, key type, subject and digest are valid, the capfhsm\n"
	"     provider loads, and (in the token) the key label is free;\n"
	"  1. (development only, token.init = true) initialise a SoftHSM token in\n"
	"     token.softhsm_dir, with random user and SO PINs written to 0600 files;\n"
	"  2. generate key.type inside the token under key.label (sensitive, never\n"
	"     extractable, sign only); refuse a label that exists;\n"
	"  3. write the public key (PEM) to key.public_key;\n"
	"  4. write a self-signed CAPF CA certificate (certificate = {...}: CA:TRUE,\n"
	"     pathlen:0, keyUsage digitalSignature+keyCertSign, both critical) or a\n"
	"     CSR asking for that profile (csr = {...});\n"
	"  5. verify every output against the token key;\n"
	"  5b. when audit_key = {...} is given: generate the audit checkpoint key pair\n"
	"     and export its public key (capfctl audit verify --pubkey); when\n"
	"     auth_key = {...} is given: generate the secret key (sensitive, never\n"
	"     extractable) that HMACs authentication strings; check both;\n"
	"  6. record every step with its time and the SHA-256 of each artifact in\n"
	"     the transcript.\n"
	"No output file and no key label is ever overwritten: a second run refuses\n"
	"before it changes anything. When a step after the key generation fails, the\n"
	"new key pair is destroyed (or, when the token refuses, named as left behind\n"
	"in the transcript and the error). For a rotation in a production token set\n"
	"token.init = false (no SO PIN is used); scripts/ceremony.rotate.example.conf\n"
	"shows one, adopted afterwards with `capfctl capf adopt`.\n"
	"\n"
	"  --dir DIR            base for relative paths in CONFIG (default: CONFIG's folder)\n"
	"  --check              validate CONFIG, print the plan, change nothing\n"
	"  --provider-path DIR  folder holding capfhsm.so (default: next to this program)\n"
	"  -h, --help           this text\n"
	"  --version            print the version and exit\n"
	"\n"
	"Exit status: 0 done, 1 a step failed (see the transcript), 2 usage or CONFIG errors.\n";

struct run {
	struct cer_conf c;
	struct transcript *t;
	char err[2 * PATH_MAX + 512];
};

static int fail(struct run *r, const char *what)
{
	fprintf(stderr, "capf-ceremony: %s: %s\n", what, r->err);
	if (r->t != NULL)
		transcript_step(r->t, "FAILED: %s: %s", what, r->err);
	return -1;
}

/* The folder path will be created in: the nearest existing ancestor must be a
 * folder this user may write (mkdirs_for makes the rest). */
static int dir_writable(const char *path, char *err, size_t errlen)
{
	char d[PATH_MAX];
	struct stat st;
	char *slash;

	snprintf(d, sizeof(d), "%s", path);
	while ((slash = strrchr(d, '/')) != NULL) {
		if (slash == d)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(d, &st) == 0) {
			if (!S_ISDIR(st.st_mode)) {
				snprintf(err, errlen, "%s is not a folder", d);
				return -1;
			}
			if (access(d, W_OK | X_OK) != 0) {
				snprintf(err, errlen, "the folder %s is not writable by uid %u: %s", d,
					 (unsigned)geteuid(), strerror(errno));
				return -1;
			}
			return 0;
		}
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", d, strerror(errno));
			return -1;
		}
		if (slash == d)
			break;
	}
	snprintf(err, errlen, "no existing folder above it");
	return -1;
}

/* Every file the ceremony will create; none may exist. */
static int preflight(struct run *r)
{
	const char *outs[9];
	int n = 0, bad = 0;
	char tokens[PATH_MAX + 16], conf[PATH_MAX + 16];

	outs[n++] = r->c.transcript;
	outs[n++] = r->c.key.public_key;
	outs[n++] = r->c.cert.out;
	if (r->c.audit_key.label[0] != '\0')
		outs[n++] = r->c.audit_key.public_key;
	if (r->c.token.init) {
		snprintf(tokens, sizeof(tokens), "%s/tokens", r->c.token.softhsm_dir);
		snprintf(conf, sizeof(conf), "%s/softhsm2.conf", r->c.token.softhsm_dir);
		outs[n++] = r->c.token.pin_file;
		outs[n++] = r->c.token.so_pin_file;
		outs[n++] = tokens;
		outs[n++] = conf;
	}
	for (int i = 0; i < n; i++) {
		struct stat st;

		if (lstat(outs[i], &st) == 0) {
			fprintf(stderr,
				"capf-ceremony: %s: already exists; a ceremony never overwrites "
				"(move it away or name another file in %s)\n",
				outs[i], r->c.file);
			bad = 1;
		}
	}
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (strcmp(outs[i], outs[j]) == 0) {
				fprintf(stderr, "capf-ceremony: %s: named twice in %s\n", outs[i], r->c.file);
				bad = 1;
			}
	if (!r->c.token.init) {
		struct stat st;

		if (stat(r->c.token.pin_file, &st) != 0) {
			fprintf(stderr, "capf-ceremony: %s: %s (token.pin_file must exist unless token.init)\n",
				r->c.token.pin_file, strerror(errno));
			bad = 1;
		} else if (access(r->c.token.pin_file, R_OK) != 0) {
			fprintf(stderr, "capf-ceremony: %s (token.pin_file): not readable by uid %u: %s\n",
				r->c.token.pin_file, (unsigned)geteuid(), strerror(errno));
			bad = 1;
		}
	}
	if (access(r->c.token.module, R_OK) != 0) {
		fprintf(stderr, "capf-ceremony: %s (token.module): %s\n", r->c.token.module, strerror(errno));
		bad = 1;
	}
	/* every output's folder: exists and is writable, or can be made */
	for (int i = 0; i < n; i++)
		if (dir_writable(outs[i], r->err, sizeof(r->err)) != 0) {
			fprintf(stderr, "capf-ceremony: %s: %s\n", outs[i], r->err);
			bad = 1;
		}
	{
		struct p11_keyspec spec;
		X509_NAME *subj;

		if (p11_keyspec_parse(r->c.key.type, &spec, r->err, sizeof(r->err)) != P11_OK) {
			fprintf(stderr, "capf-ceremony: key.type: %s\n", r->err);
			bad = 1;
		}
		if ((subj = capf_subject_parse(r->c.cert.subject, r->err, sizeof(r->err))) == NULL) {
			fprintf(stderr, "capf-ceremony: subject %s: %s\n", r->c.cert.subject, r->err);
			bad = 1;
		}
		X509_NAME_free(subj);
		if (EVP_get_digestbyname(r->c.cert.digest) == NULL) {
			fprintf(stderr, "capf-ceremony: digest %s: unknown\n", r->c.cert.digest);
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

static int mkdirs_for(const char *path, char *err, size_t errlen)
{
	char d[PATH_MAX];

	snprintf(d, sizeof(d), "%s", path);
	for (char *p = d + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(d, 0755) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "%s: %s", d, strerror(errno));
			return -1;
		}
		*p = '/';
	}
	return 0;
}

static int random_pin_file(struct run *r, const char *path)
{
	static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
	unsigned char raw[20];
	char pin[sizeof(raw) + 2];
	int rc;

	if (RAND_priv_bytes(raw, sizeof(raw)) != 1) {
		snprintf(r->err, sizeof(r->err), "no randomness for a PIN");
		return -1;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		pin[i] = alphabet[raw[i] % (sizeof(alphabet) - 1)];
	pin[sizeof(raw)] = '\n';
	rc = capf_file_create(path, 0600, pin, sizeof(raw) + 1, r->err, sizeof(r->err));
	OPENSSL_cleanse(pin, sizeof(pin));
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}

static int init_softhsm(struct run *r)
{
	char dir[PATH_MAX + 16], conf[PATH_MAX + 32], text[PATH_MAX + 256];
	CK_SLOT_ID slot;
	int n;

	snprintf(dir, sizeof(dir), "%s/tokens", r->c.token.softhsm_dir);
	if (mkdirs_for(dir, r->err, sizeof(r->err)) < 0)
		return fail(r, "token directory");
	if (mkdir(r->c.token.softhsm_dir, 0700) < 0 && errno != EEXIST) {
		snprintf(r->err, sizeof(r->err), "%s: %s", r->c.token.softhsm_dir, strerror(errno));
		return fail(r, "token directory");
	}
	if (mkdir(dir, 0700) < 0) {
		snprintf(r->err, sizeof(r->err), "%s: %s", dir, strerror(errno));
		return fail(r, "token directory");
	}
	snprintf(conf, sizeof(conf), "%s/softhsm2.conf", r->c.token.softhsm_dir);
	n = snprintf(text, sizeof(text),
		     "# SoftHSM configuration written by capf-ceremony (development token)\n"
		     "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n"
		     "slots.removable = false\n",
		     dir);
	if (capf_file_create(conf, 0644, text, (size_t)n, r->err, sizeof(r->err)) < 0)
		return fail(r, "SoftHSM configuration");
	setenv("SOFTHSM2_CONF", conf, 1);
	transcript_step(r->t, "step: SoftHSM configuration %s (tokens in %s); development only", conf, dir);
	if (random_pin_file(r, r->c.token.so_pin_file) < 0)
		return fail(r, "SO PIN file");
	if (random_pin_file(r, r->c.token.pin_file) < 0)
		return fail(r, "user PIN file");
	transcript_step(r->t, "step: random SO and user PINs written to 0600 files");
	transcript_artifact(r->t, "so-pin", r->c.token.so_pin_file, 1, NULL, r->err, sizeof(r->err));
	transcript_artifact(r->t, "user-pin", r->c.token.pin_file, 1, NULL, r->err, sizeof(r->err));
	if (p11_token_init(r->c.token.module, r->c.token.label, r->c.token.so_pin_file, r->c.token.pin_file,
			   &slot, r->err, sizeof(r->err)) != P11_OK)
		return fail(r, "token initialisation");
	transcript_step(r->t, "step: token \"%s\" initialised in slot %lu of %s", r->c.token.label,
			(unsigned long)slot, r->c.token.module);
	return 0;
}

static int key_uri(const struct run *r, int with_pin, char *buf, size_t len)
{
	struct p11_uri u;

	memset(&u, 0, sizeof(u));
	u.token = (char *)r->c.token.label;
	u.object = (char *)r->c.key.label;
	u.type = P11_TYPE_PRIVATE;
	if (with_pin) {
		u.pin_source = (char *)r->c.token.pin_file;
		u.module_path = (char *)r->c.token.module;
	}
	return p11_uri_format(&u, with_pin, buf, len);
}

static int write_pem(struct run *r, const char *path, int (*wr)(BIO *, const void *), const void *obj,
		     const char *what)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;
	int rc = -1;

	if (b == NULL || !wr(b, obj) || (n = BIO_get_mem_data(b, &data)) <= 0) {
		snprintf(r->err, sizeof(r->err), "encoding PEM failed");
	} else if (mkdirs_for(path, r->err, sizeof(r->err)) == 0 &&
		   capf_file_create(path, 0644, data, (size_t)n, r->err, sizeof(r->err)) == 0) {
		rc = transcript_artifact(r->t, what, path, 0, NULL, r->err, sizeof(r->err));
	}
	BIO_free(b);
	return rc < 0 ? fail(r, what) : 0;
}

static int wr_pubkey(BIO *b, const void *k)
{
	return PEM_write_bio_PUBKEY(b, (EVP_PKEY *)k);
}
static int wr_cert(BIO *b, const void *x)
{
	return PEM_write_bio_X509(b, (X509 *)x);
}
static int wr_req(BIO *b, const void *x)
{
	return PEM_write_bio_X509_REQ(b, (X509_REQ *)x);
}

static EVP_PKEY *read_pubkey(const char *path)
{
	BIO *b = BIO_new_file(path, "r");
	EVP_PKEY *k = b != NULL ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return k;
}

/* A fresh signature by the token key over random bytes, verified with pub. */
static int challenge(OSSL_LIB_CTX *libctx, EVP_PKEY *key, EVP_PKEY *pub)
{
	unsigned char msg[64], sig[1024];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *s = EVP_MD_CTX_new(), *v = EVP_MD_CTX_new();
	int ok = 0;

	if (s != NULL && v != NULL && RAND_bytes(msg, sizeof(msg)) == 1 &&
	    EVP_DigestSignInit_ex(s, NULL, "SHA256", libctx, NULL, key, NULL) == 1 &&
	    EVP_DigestSign(s, sig, &siglen, msg, sizeof(msg)) == 1 &&
	    EVP_DigestVerifyInit_ex(v, NULL, "SHA256", NULL, NULL, pub, NULL) == 1 &&
	    EVP_DigestVerify(v, sig, siglen, msg, sizeof(msg)) == 1)
		ok = 1;
	EVP_MD_CTX_free(s);
	EVP_MD_CTX_free(v);
	return ok;
}

static void ossl_err(struct run *r, const char *what)
{
	capf_ossl_error_msg(r->err, sizeof(r->err), what);
}

/* A step after the key generation failed: the key pair goes, or is named. */
static void undo_keygen(struct run *r, struct p11_object *priv)
{
	char e[512];

	if (p11_keypair_destroy(priv, e, sizeof(e)) == P11_OK) {
		transcript_step(r->t,
				"step: the new key pair \"%s\" was destroyed: nothing is left in the token",
				r->c.key.label);
		fprintf(stderr,
			"capf-ceremony: the new key pair \"%s\" was destroyed; nothing is left in "
			"the token\n",
			r->c.key.label);
		/* its public key and certificate (this run made them: preflight) describe nothing now */
		if (unlink(r->c.key.public_key) == 0)
			transcript_step(r->t, "step: removed %s (the destroyed key's)", r->c.key.public_key);
		if (unlink(r->c.cert.out) == 0)
			transcript_step(r->t, "step: removed %s (the destroyed key's)", r->c.cert.out);
		return;
	}
	transcript_step(r->t,
			"LEFT IN THE TOKEN: the token refused to destroy the new key pair \"%s\" "
			"(%s); it is unused: remove it by hand",
			r->c.key.label, e);
	fprintf(stderr,
		"capf-ceremony: the token refused to destroy the new key pair \"%s\" (%s): it is "
		"left in token \"%s\", unused; remove it by hand\n",
		r->c.key.label, e, r->c.token.label);
}

static int ceremony(struct run *r, const char *provider_dir)
{
	struct p11_uri uri;
	struct p11_token *tok = NULL;
	struct p11_object *priv = NULL;
	struct p11_keyspec spec;
	struct capf_hsm *hsm = NULL;
	EVP_PKEY *pub = NULL, *key = NULL, *pubfile = NULL;
	X509_NAME *subject = NULL;
	X509 *cert = NULL, *certfile = NULL;
	X509_REQ *req = NULL;
	struct p11_token_opts opts = { .module_path = r->c.token.module, .rw = 1, .pool_size = 1 };
	char ubuf[P11_URI_MAX], shown[P11_URI_MAX];
	const unsigned char *id;
	size_t idlen;
	int sens = 0, extr = 1, never = 0, rc = -1;
	time_t now = time(NULL);
	const EVP_MD *md = EVP_get_digestbyname(r->c.cert.digest);

	memset(&uri, 0, sizeof(uri));
	if (p11_keyspec_parse(r->c.key.type, &spec, r->err, sizeof(r->err)) != P11_OK) {
		fail(r, "key type");
		goto out;
	}
	if ((subject = capf_subject_parse(r->c.cert.subject, r->err, sizeof(r->err))) == NULL) {
		fail(r, "subject");
		goto out;
	}
	/* the provider the key will be used through loads, before anything is made */
	if (capf_hsm_open(&(struct capf_hsm_opts){ .provider_dir = provider_dir, .module = r->c.token.module },
			  &hsm, r->err, sizeof(r->err)) < 0) {
		fail(r, "loading the capfhsm provider");
		goto out;
	}
	if (r->c.token.init && init_softhsm(r) < 0)
		goto out;
	if (key_uri(r, 1, ubuf, sizeof(ubuf)) < 0 || key_uri(r, 0, shown, sizeof(shown)) < 0 ||
	    p11_uri_parse(ubuf, &uri, r->err, sizeof(r->err)) != P11_OK) {
		fail(r, "key URI");
		goto out;
	}
	if (p11_token_open(&uri, &opts, &tok, r->err, sizeof(r->err)) != P11_OK) {
		fail(r, "opening the token");
		goto out;
	}
	transcript_step(r->t, "step: logged in to token \"%s\" (PIN from %s)", r->c.token.label,
			r->c.token.pin_file);
	{
		int in_use = 1;

		if (p11_label_in_use(tok, r->c.key.label, &in_use, r->err, sizeof(r->err)) != P11_OK) {
			fail(r, "looking for the key label in the token");
			goto out;
		}
		if (in_use) {
			snprintf(r->err, sizeof(r->err),
				 "token %s: an object labelled '%s' already exists; "
				 "choose another key.label (keys are never overwritten)",
				 r->c.token.label, r->c.key.label);
			fail(r, "key label");
			goto out;
		}
		transcript_step(r->t,
				"checked: the label \"%s\" is free in the token; every early check "
				"passed",
				r->c.key.label);
	}
	if (p11_keygen(tok, &spec, r->c.key.label, NULL, 0, &priv, r->err, sizeof(r->err)) != P11_OK) {
		fail(r, "key generation");
		goto out;
	}
	id = p11_object_id(priv, &idlen);
	{
		char idhex[2 * 64 + 1] = "";

		for (size_t i = 0; i < idlen && i < 64; i++)
			snprintf(idhex + 2 * i, 3, "%02x", id[i]);
		transcript_step(r->t, "step: generated %s key \"%s\" (id %s) inside the token: %s",
				r->c.key.type, r->c.key.label, idhex, shown);
	}
	if (p11_object_bool(priv, CKA_SENSITIVE, &sens, r->err, sizeof(r->err)) != P11_OK ||
	    p11_object_bool(priv, CKA_EXTRACTABLE, &extr, r->err, sizeof(r->err)) != P11_OK ||
	    p11_object_bool(priv, CKA_NEVER_EXTRACTABLE, &never, r->err, sizeof(r->err)) != P11_OK) {
		fail(r, "reading the key's attributes");
		goto out;
	}
	if (!sens || extr || !never) {
		snprintf(r->err, sizeof(r->err), "CKA_SENSITIVE=%d CKA_EXTRACTABLE=%d CKA_NEVER_EXTRACTABLE=%d",
			 sens, extr, never);
		fail(r, "the token did not keep the key private");
		goto out;
	}
	transcript_step(r->t, "verified: CKA_SENSITIVE=true CKA_EXTRACTABLE=false CKA_NEVER_EXTRACTABLE=true");
	if (p11_object_public_key(priv, NULL, NULL, &pub, r->err, sizeof(r->err)) != P11_OK) {
		fail(r, "reading the public key");
		goto out;
	}
	if (write_pem(r, r->c.key.public_key, wr_pubkey, pub, "public-key") < 0)
		goto out;

	/* From here on the key is used the way the appliance uses it: through capfhsm. */
	if (capf_hsm_load_key(hsm, ubuf, &key, r->err, sizeof(r->err)) < 0) {
		fail(r, "opening the key through the capfhsm provider");
		goto out;
	}
	if (EVP_PKEY_eq(key, pub) != 1) {
		snprintf(r->err, sizeof(r->err), "the provider's key is not the generated key");
		fail(r, "key check");
		goto out;
	}
	transcript_step(r->t, "verified: the key opened through capfhsm (%s) is the generated key",
			capf_hsm_provider_dir(hsm));
	if (r->c.output == CER_OUT_CERT) {
		struct capf_ca *ca = NULL;

		if ((cert = capf_cacert_build(capf_hsm_libctx(hsm), subject, pub, r->c.cert.days, now, r->err,
					      sizeof(r->err))) == NULL) {
			fail(r, "certificate");
			goto out;
		}
		/* linted before the token signs anything (the same lint as capf-keyd's) */
		{
			struct capf_errlist *errs = capf_errlist_new();

			if (errs == NULL || capf_cert_preset_sigalg(cert, pub, md) != 0 ||
			    capf_cacert_lint(cert, pub, now, errs) != 0) {
				if (errs != NULL)
					capf_errlist_join(errs, "; ", r->err, sizeof(r->err));
				capf_errlist_free(errs);
				fail(r, "the certificate fails the CAPF CA lint");
				goto out;
			}
			capf_errlist_free(errs);
		}
		if (X509_sign(cert, key, md) <= 0) {
			ossl_err(r, "X509_sign with the token key");
			fail(r, "certificate");
			goto out;
		}
		if (X509_verify(cert, pub) != 1) {
			ossl_err(r, "the signature does not verify with the generated public key");
			fail(r, "certificate");
			goto out;
		}
		if (capf_ca_from_x509(cert, NULL, now, &ca, r->err, sizeof(r->err)) < 0) {
			fail(r, "the certificate does not pass the CAPF CA checks");
			goto out;
		}
		capf_ca_free(ca);
		transcript_step(r->t,
				"step: self-signed CAPF CA certificate, %s, %u days, %s; passes the CAPF CA "
				"checks (CA:TRUE pathlen:0, digitalSignature+keyCertSign)",
				r->c.cert.subject, r->c.cert.days, r->c.cert.digest);
		if (write_pem(r, r->c.cert.out, wr_cert, cert, "certificate") < 0)
			goto out;
	} else {
		if ((req = capf_cacert_build_csr(capf_hsm_libctx(hsm), subject, pub, r->err, sizeof(r->err))) ==
		    NULL) {
			fail(r, "CSR");
			goto out;
		}
		if (capf_csr_lint(req, pub, NULL) != 0) {
			snprintf(r->err, sizeof(r->err), "the CSR is not for the generated key");
			fail(r, "CSR");
			goto out;
		}
		if (X509_REQ_sign(req, key, md) <= 0 || X509_REQ_verify(req, pub) != 1) {
			ossl_err(r, "signing the CSR with the token key");
			fail(r, "CSR");
			goto out;
		}
		transcript_step(
			r->t, "step: CSR for %s asking for CA:TRUE pathlen:0, digitalSignature+keyCertSign, %s",
			r->c.cert.subject, r->c.cert.digest);
		if (write_pem(r, r->c.cert.out, wr_req, req, "csr") < 0)
			goto out;
	}

	/* Verify the files as written against the token key. */
	if ((pubfile = read_pubkey(r->c.key.public_key)) == NULL || EVP_PKEY_eq(pubfile, pub) != 1) {
		snprintf(r->err, sizeof(r->err), "%s does not hold the token's public key",
			 r->c.key.public_key);
		fail(r, "verification");
		goto out;
	}
	if (!challenge(capf_hsm_libctx(hsm), key, pubfile)) {
		ossl_err(r, "a fresh signature by the token key does not verify with the public key file");
		fail(r, "verification");
		goto out;
	}
	transcript_step(r->t, "verified: a fresh token signature verifies with %s", r->c.key.public_key);
	if (r->c.output == CER_OUT_CERT) {
		BIO *b = BIO_new_file(r->c.cert.out, "r");

		certfile = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		if (certfile == NULL || X509_verify(certfile, pubfile) != 1 ||
		    EVP_PKEY_eq(X509_get0_pubkey(certfile), pub) != 1) {
			snprintf(r->err, sizeof(r->err), "%s: not the certificate of the token key",
				 r->c.cert.out);
			fail(r, "verification");
			goto out;
		}
		transcript_step(r->t, "verified: %s holds the token's public key and its signature verifies",
				r->c.cert.out);
	} else {
		BIO *b = BIO_new_file(r->c.cert.out, "r");
		X509_REQ *rf = b != NULL ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;
		int ok = rf != NULL && X509_REQ_verify(rf, pubfile) == 1;

		BIO_free(b);
		X509_REQ_free(rf);
		if (!ok) {
			snprintf(r->err, sizeof(r->err), "%s: not a CSR signed by the token key",
				 r->c.cert.out);
			fail(r, "verification");
			goto out;
		}
		transcript_step(r->t, "verified: %s is signed by the token key", r->c.cert.out);
	}
	transcript_step(r->t, "key URI for capf.conf or `capfctl capf adopt --key-uri`: %s", shown);
	rc = 0;
out:
	if (rc != 0 && priv != NULL)
		undo_keygen(r, priv);
	/* Keys and certificates first: pub and pubfile may hold cached exports into
	 * the capfhsm key manager (EVP_PKEY_eq), which must go before its library context. */
	EVP_PKEY_free(key);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(pubfile);
	X509_free(cert);
	X509_free(certfile);
	X509_REQ_free(req);
	X509_NAME_free(subject);
	capf_hsm_close(hsm);
	p11_object_free(priv);
	p11_token_close(tok);
	p11_uri_clear(&uri);
	return rc;
}

/* The key label as a URI (with PIN and module when with_pin). */
static int label_uri(const struct run *r, const char *label, int type, int with_pin, char *buf, size_t len)
{
	struct p11_uri u;

	memset(&u, 0, sizeof(u));
	u.token = (char *)r->c.token.label;
	u.object = (char *)label;
	u.type = type;
	if (with_pin) {
		u.pin_source = (char *)r->c.token.pin_file;
		u.module_path = (char *)r->c.token.module;
	}
	return p11_uri_format(&u, with_pin, buf, len);
}

static int private_attrs(struct run *r, struct p11_object *o, const char *what)
{
	int sens = 0, extr = 1;

	if (p11_object_bool(o, CKA_SENSITIVE, &sens, r->err, sizeof(r->err)) != P11_OK ||
	    p11_object_bool(o, CKA_EXTRACTABLE, &extr, r->err, sizeof(r->err)) != P11_OK)
		return fail(r, what);
	if (!sens || extr) {
		snprintf(r->err, sizeof(r->err), "CKA_SENSITIVE=%d CKA_EXTRACTABLE=%d", sens, extr);
		return fail(r, what);
	}
	return 0;
}

/* The audit checkpoint key (a key pair; its public key exported for
 * `capfctl audit verify --pubkey`) and the HMAC key of authentication strings
 * (a secret key that never leaves the token), when the configuration names them. */
static int extra_keys(struct run *r, const char *provider_dir)
{
	struct p11_uri uri;
	struct p11_token *tok = NULL;
	struct p11_object *obj = NULL;
	struct p11_keyspec spec;
	struct capf_hsm *hsm = NULL;
	EVP_PKEY *pub = NULL, *key = NULL, *pubfile = NULL;
	struct p11_token_opts opts = { .module_path = r->c.token.module, .rw = 1, .pool_size = 1 };
	char ubuf[P11_URI_MAX], shown[P11_URI_MAX];
	unsigned char mac1[P11_HMAC_LEN], mac2[P11_HMAC_LEN];
	int rc = -1;

	memset(&uri, 0, sizeof(uri));
	if (r->c.audit_key.label[0] == '\0' && r->c.auth_key.label[0] == '\0')
		return 0;
	if (key_uri(r, 1, ubuf, sizeof(ubuf)) < 0 ||
	    p11_uri_parse(ubuf, &uri, r->err, sizeof(r->err)) != P11_OK) {
		fail(r, "key URI");
		goto out;
	}
	if (p11_token_open(&uri, &opts, &tok, r->err, sizeof(r->err)) != P11_OK) {
		fail(r, "opening the token");
		goto out;
	}
	if (r->c.audit_key.label[0] != '\0') {
		if (p11_keyspec_parse(r->c.audit_key.type, &spec, r->err, sizeof(r->err)) != P11_OK ||
		    p11_keygen(tok, &spec, r->c.audit_key.label, NULL, 0, &obj, r->err, sizeof(r->err)) !=
			    P11_OK) {
			fail(r, "audit key generation");
			goto out;
		}
		label_uri(r, r->c.audit_key.label, P11_TYPE_PRIVATE, 0, shown, sizeof(shown));
		transcript_step(r->t, "step: generated %s audit key \"%s\" inside the token: %s",
				r->c.audit_key.type, r->c.audit_key.label, shown);
		if (private_attrs(r, obj, "the token did not keep the audit key private") < 0)
			goto out;
		if (p11_object_public_key(obj, NULL, NULL, &pub, r->err, sizeof(r->err)) != P11_OK) {
			fail(r, "reading the audit public key");
			goto out;
		}
		if (write_pem(r, r->c.audit_key.public_key, wr_pubkey, pub, "audit-public-key") < 0)
			goto out;
		label_uri(r, r->c.audit_key.label, P11_TYPE_PRIVATE, 1, ubuf, sizeof(ubuf));
		if (capf_hsm_open(&(struct capf_hsm_opts){ .provider_dir = provider_dir,
							   .module = r->c.token.module },
				  &hsm, r->err, sizeof(r->err)) < 0 ||
		    capf_hsm_load_key(hsm, ubuf, &key, r->err, sizeof(r->err)) < 0) {
			fail(r, "opening the audit key through the capfhsm provider");
			goto out;
		}
		if ((pubfile = read_pubkey(r->c.audit_key.public_key)) == NULL ||
		    EVP_PKEY_eq(pubfile, pub) != 1 || !challenge(capf_hsm_libctx(hsm), key, pubfile)) {
			snprintf(r->err, sizeof(r->err),
				 "a fresh audit-key signature does not verify "
				 "with %s",
				 r->c.audit_key.public_key);
			fail(r, "verification");
			goto out;
		}
		transcript_step(r->t,
				"verified: a fresh audit-key signature verifies with %s "
				"(capfctl audit verify --pubkey)",
				r->c.audit_key.public_key);
		p11_object_free(obj);
		obj = NULL;
	}
	if (r->c.auth_key.label[0] != '\0') {
		static const unsigned char probe[] = "capf-ceremony HMAC probe";

		if (p11_secret_keygen(tok, r->c.auth_key.label, &obj, r->err, sizeof(r->err)) != P11_OK) {
			fail(r, "authentication-string key generation");
			goto out;
		}
		label_uri(r, r->c.auth_key.label, P11_TYPE_SECRET, 0, shown, sizeof(shown));
		transcript_step(r->t,
				"step: generated a 256-bit generic secret key \"%s\" inside the "
				"token for authentication strings (HMAC-SHA-256): %s",
				r->c.auth_key.label, shown);
		if (private_attrs(r, obj, "the token did not keep the secret key private") < 0)
			goto out;
		if (p11_hmac_sha256(obj, probe, sizeof(probe) - 1, mac1, r->err, sizeof(r->err)) != P11_OK ||
		    p11_hmac_sha256(obj, probe, sizeof(probe) - 1, mac2, r->err, sizeof(r->err)) != P11_OK) {
			fail(r, "HMAC with the secret key");
			goto out;
		}
		if (memcmp(mac1, mac2, sizeof(mac1)) != 0) {
			snprintf(r->err, sizeof(r->err), "two HMACs of the same bytes differ");
			fail(r, "HMAC with the secret key");
			goto out;
		}
		transcript_step(r->t, "verified: CKA_SENSITIVE=true CKA_EXTRACTABLE=false; "
				      "CKM_SHA256_HMAC works with it");
	}
	rc = 0;
out:
	OPENSSL_cleanse(ubuf, sizeof(ubuf));
	EVP_PKEY_free(key);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(pubfile);
	capf_hsm_close(hsm);
	p11_object_free(obj);
	p11_token_close(tok);
	p11_uri_clear(&uri);
	return rc;
}

static void print_plan(const struct cer_conf *c)
{
	printf("ceremony \"%s\" (%s)\n", c->name, c->file);
	for (int i = 0; i < c->n_operators; i++)
		printf("  operator: %s\n", c->operators[i]);
	if (c->token.init)
		printf("  initialise SoftHSM token \"%s\" in %s (PINs to %s, %s)\n", c->token.label,
		       c->token.softhsm_dir, c->token.pin_file, c->token.so_pin_file);
	else
		printf("  use token \"%s\" (PIN from %s)\n", c->token.label, c->token.pin_file);
	printf("  generate %s key \"%s\" in the token (module %s)\n", c->key.type, c->key.label,
	       c->token.module);
	printf("  write its public key to %s\n", c->key.public_key);
	if (c->output == CER_OUT_CERT)
		printf("  write a self-signed CAPF CA certificate (%s, %u days, %s) to %s\n", c->cert.subject,
		       c->cert.days, c->cert.digest, c->cert.out);
	else
		printf("  write a CSR (%s, %s) to %s\n", c->cert.subject, c->cert.digest, c->cert.out);
	if (c->audit_key.label[0] != '\0')
		printf("  generate %s audit key \"%s\", its public key to %s\n", c->audit_key.type,
		       c->audit_key.label, c->audit_key.public_key);
	if (c->auth_key.label[0] != '\0')
		printf("  generate secret key \"%s\" (HMAC of authentication strings)\n", c->auth_key.label);
	printf("  transcript: %s\n", c->transcript);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "check", no_argument, NULL, 'c' },
		{ "provider-path", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct run *r;
	struct capf_errlist *errs;
	const char *dir = NULL, *provider_dir = NULL;
	char base[PATH_MAX], cfgcopy[PATH_MAX], sha[65], host[256] = "?";
	struct passwd *pw;
	int check = 0, o, rc;

	if (capf_version_option(argc, argv, "capf-ceremony"))
		return 0;
	while ((o = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (o) {
		case 'd':
			dir = optarg;
			break;
		case 'c':
			check = 1;
			break;
		case 'p':
			provider_dir = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	umask(022);
	p11_set_finalize(0); /* SoftHSM 2.6 can crash in C_Finalize at exit */
	snprintf(cfgcopy, sizeof(cfgcopy), "%s", argv[optind]);
	if (realpath(dir != NULL ? dir : dirname(cfgcopy), base) == NULL) {
		fprintf(stderr, "capf-ceremony: %s: %s\n", dir != NULL ? dir : cfgcopy, strerror(errno));
		return EXIT_USAGE;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL || (errs = capf_errlist_new()) == NULL) {
		fprintf(stderr, "capf-ceremony: out of memory\n");
		return EXIT_FAILED;
	}
	if (cer_conf_load(&r->c, argv[optind], base, errs) < 0) {
		for (size_t i = 0; i < capf_errlist_count(errs); i++)
			fprintf(stderr, "%s\n", capf_errlist_get(errs, i));
		capf_errlist_free(errs);
		free(r);
		return EXIT_USAGE;
	}
	capf_errlist_free(errs);
	if (preflight(r) < 0) {
		free(r);
		return EXIT_FAILED;
	}
	if (check) {
		struct capf_hsm *hsm = NULL;

		/* the provider the key will be used through: loadable? */
		if (capf_hsm_open(&(struct capf_hsm_opts){ .provider_dir = provider_dir,
							   .module = r->c.token.module },
				  &hsm, r->err, sizeof(r->err)) < 0) {
			fprintf(stderr, "capf-ceremony: loading the capfhsm provider: %s\n", r->err);
			free(r);
			return EXIT_FAILED;
		}
		capf_hsm_close(hsm);
		print_plan(&r->c);
		printf("%s: OK\n", r->c.file);
		free(r);
		return 0;
	}
	if (mkdirs_for(r->c.transcript, r->err, sizeof(r->err)) < 0 ||
	    transcript_create(r->c.transcript, &r->t, r->err, sizeof(r->err)) < 0) {
		fail(r, "transcript");
		free(r);
		return EXIT_FAILED;
	}
	gethostname(host, sizeof(host) - 1);
	pw = getpwuid(geteuid());
	transcript_step(r->t, "capf-appliance key ceremony \"%s\"", r->c.name);
	if (sha256_file_hex(r->c.file, sha, r->err, sizeof(r->err)) == 0)
		transcript_step(r->t, "config: %s sha256=%s", r->c.file, sha);
	for (int i = 0; i < r->c.n_operators; i++)
		transcript_step(r->t, "operator: %s", r->c.operators[i]);
	transcript_step(r->t, "run by: uid %u (%s) on %s", (unsigned)geteuid(), pw != NULL ? pw->pw_name : "?",
			host);

	rc = ceremony(r, provider_dir);
	if (rc == 0)
		rc = extra_keys(r, provider_dir);
	if (transcript_close(r->t, rc == 0) < 0) {
		fprintf(stderr, "capf-ceremony: %s: the transcript could not be written completely\n",
			r->c.transcript);
		rc = -1;
	}
	if (rc == 0)
		printf("ceremony \"%s\" completed; transcript: %s\n", r->c.name, r->c.transcript);
	free(r);
	return rc == 0 ? 0 : EXIT_FAILED;
}
