/*
 * tests/integ/keyd_client.c: speaks to a real capf-keyd (a real token) the way a
 * compromised capf-signerd could, and reports what it signs and what it refuses.
 *
 *   keyd-client KEYD CONF CA_PEM KEY_URI NEW_KEY_URI
 *
 * Runs KEYD --config CONF --channels 1 on a socketpair, loads KEY_URI with the
 * CAPF CA certificate CA_PEM into slot 1, NEW_KEY_URI (a key with no certificate
 * yet) into slot 2 and KEY_URI again without its certificate into slot 3, then asks
 * for signatures. One line per case:
 *   "CASE name: OK"  (signed, and the certificate verifies with the CA key)
 *   "CASE name: REFUSED text" / "CASE name: ERROR text" / "CASE name: RETRY text"
 * Exit 0 when every line could be produced; 1 on a broken exchange.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "appliance/common/conffile.h"
#include "appliance/ipc/ipc.h"
#include "appliance/store/audit_chain.h"
#include "policy/chain.h"
#include "policy/config.h"
#include "policy/errlist.h"
#include "policy/lsc.h"

static int fd = -1;
static uint32_t next_id = 1;
static uint8_t rbuf[CAPF_IPC_MSG_MAX];

static void die(const char *what)
{
	fprintf(stderr, "keyd-client: %s\n", what);
	exit(1);
}

/* Sends b, decodes the answer into resp: the status. */
static int call(struct capf_ipc_builder *b, uint16_t verb, struct capf_ipc_msg *resp, char *text, size_t tlen)
{
	const uint8_t *msg;
	size_t len;
	ssize_t n;
	char err[256];

	if (capf_ipc_build_finish(b, &msg, &len, err, sizeof(err)) != 0)
		die(err);
	if (send(fd, msg, len, 0) != (ssize_t)len)
		die("send");
	if ((n = recv(fd, rbuf, sizeof(rbuf), 0)) <= 0)
		die("the key process closed the channel");
	if (capf_ipc_decode_response(resp, rbuf, (size_t)n, verb, next_id - 1, err, sizeof(err)) != 0)
		die(err);
	text[0] = '\0';
	capf_ipc_get_str(resp, CAPF_IPC_T_TEXT, text, tlen);
	return resp->status;
}

/* Loads uri into slot; its public key. */
static EVP_PKEY *load(uint32_t slot, const char *uri, X509 *cert)
{
	EVP_PKEY *pub = NULL;
	const uint8_t *p;
	size_t plen;
	struct capf_ipc_builder b;
	struct capf_ipc_msg resp;
	char text[1024];
	unsigned char *der = NULL;
	int n, st;

	memset(&b, 0, sizeof(b));
	capf_ipc_build_request(&b, CAPF_IPC_KEY_LOAD, next_id++);
	capf_ipc_put_u32(&b, CAPF_IPC_T_KEY_SLOT, slot);
	capf_ipc_put_u8(&b, CAPF_IPC_T_KEY_CLASS, CAPF_IPC_KEYCLASS_CA);
	capf_ipc_put_str(&b, CAPF_IPC_T_KEY_URI, uri);
	if (cert != NULL && (n = i2d_X509(cert, &der)) > 0)
		capf_ipc_put_bytes(&b, CAPF_IPC_T_CERT, der, (size_t)n);
	OPENSSL_free(der);
	st = call(&b, CAPF_IPC_KEY_LOAD, &resp, text, sizeof(text));
	printf("LOAD slot %u: %s %s\n", slot, st == CAPF_IPC_OK ? "OK" : "FAILED", text);
	if (st == CAPF_IPC_OK && capf_ipc_get_bytes(&resp, CAPF_IPC_T_PUBLIC_KEY, &p, &plen) == 0)
		pub = d2i_PUBKEY(NULL, &p, (long)plen);
	capf_ipc_msg_free(&resp);
	capf_ipc_builder_free(&b);
	if (st != CAPF_IPC_OK || pub == NULL)
		exit(1);
	return pub;
}

static void report(const char *name, int st, const char *text)
{
	const char *what = st == CAPF_IPC_OK            ? "OK" :
			   st == CAPF_IPC_RETRY_LATER   ? "RETRY" :
			   strstr(text, "lint") != NULL ? "REFUSED" :
							  "ERROR";

	printf("CASE %s: %s %s\n", name, what, st == CAPF_IPC_OK ? "" : text);
}

static EVP_PKEY *throwaway;

/* KEY_SIGN kind with x from slot; verifies an OK answer with vkey. x is first
 * signed with a throwaway key: that encodes what was changed in it (the key
 * process signs it again with the token key). */
static void sign_cert(const char *name, uint32_t slot, uint8_t kind, X509 *x, EVP_PKEY *vkey)
{
	struct capf_ipc_builder b;
	struct capf_ipc_msg resp;
	unsigned char *der = NULL;
	char text[1024];
	int n, st;

	if (X509_sign(x, throwaway, EVP_sha256()) <= 0 || (n = i2d_X509(x, &der)) <= 0)
		die("i2d_X509");
	memset(&b, 0, sizeof(b));
	capf_ipc_build_request(&b, CAPF_IPC_KEY_SIGN, next_id++);
	capf_ipc_put_u32(&b, CAPF_IPC_T_KEY_SLOT, slot);
	capf_ipc_put_u8(&b, CAPF_IPC_T_SIGN_KIND, kind);
	capf_ipc_put_bytes(&b, CAPF_IPC_T_CERT, der, (size_t)n);
	OPENSSL_free(der);
	st = call(&b, CAPF_IPC_KEY_SIGN, &resp, text, sizeof(text));
	if (st == CAPF_IPC_OK) {
		const uint8_t *p;
		size_t len;
		X509 *y = NULL;

		if (capf_ipc_get_bytes(&resp, CAPF_IPC_T_CERT, &p, &len) != 0 ||
		    (y = d2i_X509(NULL, &p, (long)len)) == NULL || X509_verify(y, vkey) != 1) {
			st = CAPF_IPC_ERROR;
			snprintf(text, sizeof(text), "answered a certificate that does not verify");
		}
		X509_free(y);
	}
	report(name, st, text);
	capf_ipc_msg_free(&resp);
	capf_ipc_builder_free(&b);
}

static void sign_data(const char *name, uint32_t slot, const void *data, size_t len)
{
	struct capf_ipc_builder b;
	struct capf_ipc_msg resp;
	char text[1024];
	int st;

	memset(&b, 0, sizeof(b));
	capf_ipc_build_request(&b, CAPF_IPC_KEY_SIGN, next_id++);
	capf_ipc_put_u32(&b, CAPF_IPC_T_KEY_SLOT, slot);
	capf_ipc_put_u8(&b, CAPF_IPC_T_SIGN_KIND, CAPF_IPC_SIGN_CHECKPOINT);
	capf_ipc_put_bytes(&b, CAPF_IPC_T_KEY_DATA, data, len);
	st = call(&b, CAPF_IPC_KEY_SIGN, &resp, text, sizeof(text));
	report(name, st, text);
	capf_ipc_msg_free(&resp);
	capf_ipc_builder_free(&b);
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	int at;

	while ((at = X509_get_ext_by_NID(x, nid, -1)) >= 0)
		X509_EXTENSION_free(X509_delete_ext(x, at));
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL || X509_add_ext(x, e, -1) != 1)
		die("extension");
	X509_EXTENSION_free(e);
}

static void serial(X509 *x)
{
	unsigned char r[16];
	BIGNUM *bn;

	RAND_bytes(r, sizeof(r));
	r[0] = (r[0] & 0x7f) | 0x40;
	bn = BN_bin2bn(r, sizeof(r), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
}

/* A TLS server certificate under cacert for a fresh key (or a CA one with ca set). */
static X509 *tls_cert(X509 *cacert, EVP_PKEY *pub, int days, int ca)
{
	X509 *x = X509_new();
	time_t now = time(NULL);

	X509_set_version(x, 2);
	serial(x);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"capf.example.com", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(cacert));
	ASN1_TIME_set(X509_getm_notBefore(x), now);
	ASN1_TIME_set(X509_getm_notAfter(x), now + (time_t)days * 86400);
	X509_set_pubkey(x, pub);
	add_ext(x, cacert, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	add_ext(x, cacert, NID_key_usage, ca ? "critical,keyCertSign" : "critical,digitalSignature");
	add_ext(x, cacert, NID_ext_key_usage, "serverAuth");
	add_ext(x, cacert, NID_subject_key_identifier, "hash");
	add_ext(x, cacert, NID_authority_key_identifier, "keyid:always");
	return x;
}

int main(int argc, char **argv)
{
	struct capf_conf conf;
	struct capf_errlist *errs = capf_errlist_new();
	struct capf_ca *ca = NULL;
	struct capf_lsc_input in;
	const EVP_MD *md;
	EVP_PKEY *phone, *capub, *newpub;
	X509 *cacert, *x, *y;
	unsigned char *spki = NULL;
	char err[512];
	int sv[2], n, st;
	pid_t pid;
	FILE *f;

	if (argc != 6) {
		fprintf(stderr, "usage: keyd-client KEYD CONF CA_PEM KEY_URI NEW_KEY_URI\n");
		return 2;
	}
	if (capf_conf_load(&conf, argv[2], errs) != 0)
		die("capf.conf");
	if (capf_ca_load(argv[3], NULL, time(NULL), &ca, err, sizeof(err)) != 0)
		die(err);
	cacert = capf_ca_cert(ca);
	capub = X509_get0_pubkey(cacert);
	if ((f = fopen(argv[3], "r")) == NULL)
		die("CA_PEM");
	fclose(f);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0)
		die("socketpair");
	if ((pid = fork()) == 0) {
		dup2(sv[1], 3);
		execl(argv[1], argv[1], "--config", argv[2], "--channels", "1", "--foreground", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	fd = sv[0];

	if ((throwaway = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)) == NULL)
		die("throwaway key");
	EVP_PKEY_free(load(1, argv[4], cacert));
	newpub = load(2, argv[5], NULL);
	EVP_PKEY_free(load(3, argv[4], NULL));

	/* a phone key and a genuine LSC, built by the policy like the signer does */
	phone = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (phone == NULL || (n = i2d_PUBKEY(phone, &spki)) <= 0)
		die("phone key");
	memset(&in, 0, sizeof(in));
	in.device_name = "SEP001122334455";
	in.spki = spki;
	in.spki_len = (size_t)n;
	in.now = time(NULL);
	if ((x = capf_lsc_build(&conf, ca, &in, &md, err, sizeof(err))) == NULL)
		die(err);
	sign_cert("lsc", 1, CAPF_IPC_SIGN_LSC, x, capub);

	/* what a compromised signer might want signed instead */
	y = X509_dup(x);
	add_ext(y, cacert, NID_basic_constraints, "critical,CA:TRUE");
	sign_cert("lsc-ca-true", 1, CAPF_IPC_SIGN_LSC, y, capub);
	X509_free(y);
	y = X509_dup(x);
	ASN1_TIME_set(X509_getm_notAfter(y), time(NULL) + 100L * 366 * 86400);
	sign_cert("lsc-100-years", 1, CAPF_IPC_SIGN_LSC, y, capub);
	X509_free(y);
	y = X509_dup(x);
	add_ext(y, cacert, NID_ext_key_usage, "serverAuth,clientAuth,codeSigning");
	sign_cert("lsc-codesigning", 1, CAPF_IPC_SIGN_LSC, y, capub);
	X509_free(y);
	y = X509_dup(x);
	{
		X509_NAME *other = X509_NAME_new();

		X509_NAME_add_entry_by_txt(other, "CN", MBSTRING_ASC, (const unsigned char *)"Other CA", -1, -1,
					   0);
		X509_set_issuer_name(y, other);
		X509_NAME_free(other);
	}
	sign_cert("lsc-other-issuer", 1, CAPF_IPC_SIGN_LSC, y, capub);
	X509_free(y);
	y = X509_dup(x);
	ASN1_TIME_set(X509_getm_notBefore(y), time(NULL) - 30L * 86400);
	sign_cert("lsc-backdated", 1, CAPF_IPC_SIGN_LSC, y, capub);
	X509_free(y);

	/* the front end's TLS certificate, and a CA certificate passed off as one */
	y = tls_cert(cacert, phone, 365, 0);
	sign_cert("tls", 1, CAPF_IPC_SIGN_TLS, y, capub);
	X509_free(y);
	y = tls_cert(cacert, phone, 365, 1);
	sign_cert("tls-ca-true", 1, CAPF_IPC_SIGN_TLS, y, capub);
	X509_free(y);
	y = tls_cert(cacert, phone, 365, 0);
	sign_cert("lsc-kind-for-tls", 1, CAPF_IPC_SIGN_LSC, y, capub);
	X509_free(y);

	/* a CAPF CA certificate: only for a slot without one, only for its own key */
	y = tls_cert(cacert, phone, 365, 1);
	X509_set_issuer_name(y, X509_get_subject_name(y));
	sign_cert("ca-other-key", 2, CAPF_IPC_SIGN_CA, y, newpub);
	X509_set_pubkey(y, newpub);
	sign_cert("ca-own-key", 2, CAPF_IPC_SIGN_CA, y, newpub);
	X509_set_pubkey(y, capub);
	sign_cert("ca-slot-with-cert", 1, CAPF_IPC_SIGN_CA, y, capub);
	sign_cert("ca-active-key-again", 3, CAPF_IPC_SIGN_CA, y, capub);
	X509_free(y);
	EVP_PKEY_free(newpub);

	/* the CA key signs no checkpoint; a checkpoint is a checkpoint */
	{
		unsigned char m[CAPF_AUDIT_CP_MSG_LEN];

		memset(m, 'A', sizeof(m));
		sign_data("checkpoint-with-ca-key", 1, m, sizeof(m));
	}
	/* an unknown slot */
	sign_cert("no-such-slot", 9, CAPF_IPC_SIGN_LSC, x, capub);

	X509_free(x);
	OPENSSL_free(spki);
	EVP_PKEY_free(phone);
	EVP_PKEY_free(throwaway);
	capf_ca_free(ca);
	capf_errlist_free(errs);
	close(fd);
	waitpid(pid, &st, 0);
	printf("EXIT %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}
