/*
 * tests/integ/signerd_client.c: drives capf-signerd for the integration tests
 * (a phone-less path through the front verbs) and reads/writes its store. What a
 * compromised front end would send (raw headers, bursts, unread requests, forged ISSUE,
 * replayed BEGIN) is capf-hostile's (tests/e2e/capf_hostile.c, ipc-* cases).
 *
 *   signerd-client ping SOCK
 *   signerd-client enroll SOCK NAME [opts]     SESSION_ID, BEGIN, ISSUE, RESULT like capf-frontd
 *       --version N  --password-file F  --no-password
 *       --session N (a CAPF session id of our own instead of asking the signer: refused)
 *       --save-begin FILE (the BEGIN request as sent, for `capf-hostile ipc-replay`)
 *       --wait-before-issue FILE (print waiting=1, go on when FILE exists)
 *       --key rsa:BITS|ec:P-256 (the phone's new key; default: what BEGIN asks)
 *       --cert PEM --cert-key PEM --cert-type lsc|mic   (By Existing Certificate)
 *       --bad-sig flip|padding   (damage SIGNED_DATA)
 *       --sudi-cert PEM --sudi-key PEM --sudi-session N (default: --session)
 *       --keygen-fail-first  (RESULT keygen failed for the first alternative)
 *       --out LSC.pem --key-out KEY.pem  --no-result (stop after ISSUE)
 *       --outcome fetched|deleted|... (for fetch/delete decisions) --fetch-cert PEM
 *       --abort (ABORT right after an install decision)
 *     prints capf_session=..., decision=..., token=..., refused cause=N, issued serial=..., result=ok
 *   signerd-client device-add DB NAME OP AUTH [--auth-string-file F] [--key-order K]
 *       [--rsa-bits N] [--curve C] [--deadline-offset SECS]
 *   signerd-client device-show DB NAME        status=... status_text=... attempts=N op=...
 *   signerd-client issuances DB NAME          serial=... state=... of the latest
 *   signerd-client lint CONF CAPEM LSCPEM NAME   capf_lsc_lint of a signed LSC
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "appliance/capf/evidence.h"
#include "appliance/capf/proto.h"
#include "appliance/ipc/ipc.h"
#include "appliance/store/authhash.h"
#include "appliance/store/store.h"
#include "tests/integ/ipc_client.h"
#include "policy/chain.h"
#include "appliance/common/conffile.h"
#include "policy/config.h"
#include "policy/errlist.h"
#include "policy/lsc.h"

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	if (f == NULL)
		die("%s: cannot open", path);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		die("%s: no certificate", path);
	return x;
}

static EVP_PKEY *read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (f == NULL)
		die("%s: cannot open", path);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL)
		die("%s: no private key", path);
	return k;
}

/* CAPF proof: RSA PKCS#1 v1.5 type 1 over the bare digest; EC DER ECDSA.
 * bad: 0 good, 1 flip a byte, 2 DigestInfo padding (trailing hash right). */
static size_t pop_sign(EVP_PKEY *k, const EVP_MD *md, const unsigned char *d, size_t dl, unsigned char *sig,
		       size_t cap, int bad)
{
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned hl = 0;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
	size_t n = cap;
	int rsa = EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA;

	EVP_Digest(d, dl, h, &hl, md, NULL);
	if (c == NULL || EVP_PKEY_sign_init(c) != 1 ||
	    (rsa && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) != 1) ||
	    (rsa && bad == 2 && EVP_PKEY_CTX_set_signature_md(c, md) != 1) ||
	    EVP_PKEY_sign(c, sig, &n, h, hl) != 1)
		die("signing the proof failed");
	EVP_PKEY_CTX_free(c);
	if (bad == 1)
		sig[n / 2] ^= 0x01;
	return n;
}

static int cmd_ping(const char *sock)
{
	struct capf_ipc_builder b;
	struct capf_ipc_msg m;
	uint8_t *buf = malloc(CAPF_IPC_MSG_MAX);
	int fd = sock_connect(sock);
	uint32_t id = next_id++;

	capf_ipc_build_request(&b, CAPF_IPC_PING, id);
	if (roundtrip(fd, &b, CAPF_IPC_PING, id, buf, &m) != 0) {
		printf("closed=1\n");
		return 1;
	}
	printf("status=%u\n", m.status);
	capf_ipc_msg_free(&m);
	free(buf);
	close(fd);
	return 0;
}

struct enroll_opts {
	unsigned version, session, sudi_session;
	int has_session, has_sudi_session;
	const char *password_file, *key, *cert, *cert_key, *cert_type, *bad_sig;
	const char *sudi_cert, *sudi_key, *out, *key_out, *outcome, *fetch_cert, *wait_file;
	int no_password, keygen_fail_first, no_result, abort_after_begin;
};

static void put_evidence(struct capf_ipc_builder *b, const char *name, const struct enroll_opts *o)
{
	unsigned char sig[1024];
	size_t n;

	if (o->cert != NULL) {
		X509 *x = read_cert(o->cert);
		EVP_PKEY *k = read_key(o->cert_key);
		unsigned char *der = NULL, *data;
		int dl = i2d_X509(x, &der);
		size_t nl = strlen(name);
		int bad = o->bad_sig == NULL ? 0 : strcmp(o->bad_sig, "flip") == 0 ? 1 : 2;

		data = malloc(nl + 1 + (size_t)dl);
		memcpy(data, name, nl);
		data[nl] = 0;
		memcpy(data + nl + 1, der, (size_t)dl);
		capf_ipc_put_bytes(b, CAPF_IPC_T_CERT, der, (size_t)dl);
		capf_ipc_put_u8(b, CAPF_IPC_T_CERT_TYPE,
				o->cert_type != NULL && strcmp(o->cert_type, "mic") == 0 ? CAPF_CERT_MIC :
											   CAPF_CERT_LSC);
		n = pop_sign(k, EVP_sha1(), data, nl + 1 + (size_t)dl, sig, sizeof(sig), bad);
		capf_ipc_put_bytes(b, CAPF_IPC_T_SIGNED_DATA, sig, n);
		n = pop_sign(k, EVP_sha512(), data, nl + 1 + (size_t)dl, sig, sizeof(sig), 0);
		capf_ipc_put_u8(b, CAPF_IPC_T_SHA2_HASH, CAPF_HASH_SHA512);
		capf_ipc_put_bytes(b, CAPF_IPC_T_SHA2_SIG, sig, n);
		free(data);
		OPENSSL_free(der);
		EVP_PKEY_free(k);
		X509_free(x);
	}
	if (o->sudi_cert != NULL) {
		X509 *x = read_cert(o->sudi_cert);
		EVP_PKEY *k = read_key(o->sudi_key);
		unsigned char *der = NULL, *data, *sd;
		int dl = i2d_X509(x, &der);
		uint32_t sess = o->has_sudi_session ? o->sudi_session : o->session;
		size_t off = 0;
		int len;

		data = malloc(4 + (size_t)dl);
		sd = malloc(3 * 3 + (size_t)dl + 2 * sizeof(sig));
		len = capf_sudi_signed_data(sess, der, (size_t)dl, data, 4 + (size_t)dl);
		sd[off++] = 0x00;
		sd[off++] = (uint8_t)(dl >> 8);
		sd[off++] = (uint8_t)dl;
		memcpy(sd + off, der, (size_t)dl);
		off += (size_t)dl;
		n = pop_sign(k, EVP_sha1(), data, (size_t)len, sig, sizeof(sig), 0);
		sd[off++] = CAPF_HASH_SHA1;
		sd[off++] = (uint8_t)(n >> 8);
		sd[off++] = (uint8_t)n;
		memcpy(sd + off, sig, n);
		off += n;
		n = pop_sign(k, EVP_sha512(), data, (size_t)len, sig, sizeof(sig), 0);
		sd[off++] = CAPF_HASH_SHA512;
		sd[off++] = (uint8_t)(n >> 8);
		sd[off++] = (uint8_t)n;
		memcpy(sd + off, sig, n);
		off += n;
		capf_ipc_put_bytes(b, CAPF_IPC_T_SUDI_DATA, sd, off);
		free(sd);
		free(data);
		OPENSSL_free(der);
		EVP_PKEY_free(k);
		X509_free(x);
	}
}

static EVP_PKEY *phone_key(const struct capf_ipc_field *alt, const char *force)
{
	struct capf_ipc_msg sub;
	char err[256];
	uint8_t type = 0, curve = 0;
	uint32_t bits = 2048;
	char spec[32];

	if (force != NULL) {
		snprintf(spec, sizeof(spec), "%s", force);
	} else {
		if (capf_ipc_decode_nested(alt, &sub, err, sizeof(err)) != 0)
			die("KEY_ALT: %s", err);
		capf_ipc_get_u8(&sub, CAPF_IPC_T_KEY_TYPE, &type);
		capf_ipc_get_u32(&sub, CAPF_IPC_T_RSA_BITS, &bits);
		capf_ipc_get_u8(&sub, CAPF_IPC_T_CURVE, &curve);
		capf_ipc_msg_free(&sub);
		if (type == 0)
			snprintf(spec, sizeof(spec), "rsa:%u", bits);
		else
			snprintf(spec, sizeof(spec), "ec:%s",
				 curve == 0 ? "P-256" :
				 curve == 1 ? "P-384" :
					      "P-521");
	}
	printf("key=%s\n", spec);
	if (strncmp(spec, "rsa:", 4) == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)atoi(spec + 4));
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", spec + 3);
}

static int outcome_code(const char *s)
{
	static const char *const names[] = {
		"",           "stored",  "store-failed",  "keygen-failed", "fetched",
		"fetch-none", "deleted", "delete-failed", "comm-failure",  "keygen-timeout"
	};

	for (int i = 1; i < 10; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	die("unknown outcome %s", s);
	return 0;
}

/* What one enrollment holds; freed by cmd_enroll whichever way enroll() returns. */
struct enroll_res {
	int fd;
	uint8_t *buf;
	struct capf_ipc_msg m, r;
	struct capf_ipc_builder b;
	EVP_PKEY *pk;
	unsigned char *spki;
};

static int enroll(struct enroll_res *res, const char *name, struct enroll_opts *o)
{
	const struct capf_ipc_field *alt;
	uint64_t token = 0;
	uint8_t decision = 0, alt_index = 0;
	uint32_t id;
	const uint8_t *der;
	size_t derlen;
	int spkilen;

	if (!o->has_session) {
		o->session = session_id(res->fd, res->buf);
		printf("capf_session=%08x\n", o->session);
	}
	/* BEGIN */
	id = next_id++;
	capf_ipc_build_request(&res->b, CAPF_IPC_BEGIN, id);
	capf_ipc_put_str(&res->b, CAPF_IPC_T_DEVICE_NAME, name);
	capf_ipc_put_u8(&res->b, CAPF_IPC_T_CLIENT_VERSION, (uint8_t)o->version);
	capf_ipc_put_u32(&res->b, CAPF_IPC_T_CAPF_SESSION, o->session);
	capf_ipc_put_str(&res->b, CAPF_IPC_T_PEER, "192.0.2.10:51000");
	if (o->password_file != NULL) {
		char pw[128] = "";
		FILE *f = fopen(o->password_file, "r");

		if (f == NULL || fgets(pw, sizeof(pw), f) == NULL)
			die("%s: cannot read", o->password_file);
		fclose(f);
		pw[strcspn(pw, "\r\n")] = '\0';
		capf_ipc_put_str(&res->b, CAPF_IPC_T_PASSWORD, pw);
		OPENSSL_cleanse(pw, sizeof(pw));
	} else if (!o->no_password) {
		capf_ipc_put_str(&res->b, CAPF_IPC_T_PASSWORD, "");
	}
	put_evidence(&res->b, name, o);
	if (roundtrip(res->fd, &res->b, CAPF_IPC_BEGIN, id, res->buf, &res->m) != 0) {
		printf("closed=1\n");
		return 1;
	}
	if (res->m.status != CAPF_IPC_OK) {
		print_status(&res->m);
		return 0;
	}
	capf_ipc_get_u8(&res->m, CAPF_IPC_T_DECISION, &decision);
	capf_ipc_get_u64(&res->m, CAPF_IPC_T_TOKEN, &token);
	printf("decision=%s\n", capf_ipc_decision_name(decision));
	printf("token=%s\n", token ? "set" : "none");
	if (decision == CAPF_IPC_DO_FETCH || decision == CAPF_IPC_DO_DELETE) {
		int oc = o->outcome                    ? outcome_code(o->outcome) :
			 decision == CAPF_IPC_DO_FETCH ? CAPF_IPC_FETCH_NONE :
							 CAPF_IPC_DELETED;

		capf_ipc_msg_free(&res->m);
		id = next_id++;
		capf_ipc_build_request(&res->b, CAPF_IPC_RESULT, id);
		capf_ipc_put_u64(&res->b, CAPF_IPC_T_TOKEN, token);
		capf_ipc_put_u8(&res->b, CAPF_IPC_T_OUTCOME, (uint8_t)oc);
		if (oc == CAPF_IPC_FETCHED && o->fetch_cert != NULL) {
			X509 *x = read_cert(o->fetch_cert);
			unsigned char *fder = NULL;
			int fl = i2d_X509(x, &fder);

			capf_ipc_put_bytes(&res->b, CAPF_IPC_T_CERT, fder, (size_t)fl);
			OPENSSL_free(fder);
			X509_free(x);
		}
		if (roundtrip(res->fd, &res->b, CAPF_IPC_RESULT, id, res->buf, &res->m) != 0)
			return printf("closed=1\n"), 1;
		if (res->m.status == CAPF_IPC_OK)
			printf("result=ok\n");
		else
			print_status(&res->m);
		return 0;
	}
	if (decision != CAPF_IPC_DO_INSTALL)
		return 0;
	if (o->abort_after_begin) {
		capf_ipc_msg_free(&res->m);
		id = next_id++;
		capf_ipc_build_request(&res->b, CAPF_IPC_ABORT, id);
		capf_ipc_put_u64(&res->b, CAPF_IPC_T_TOKEN, token);
		capf_ipc_put_u8(&res->b, CAPF_IPC_T_CAUSE, CAPF_FAIL_PHONE_COMMUNICATION);
		if (roundtrip(res->fd, &res->b, CAPF_IPC_ABORT, id, res->buf, &res->m) != 0)
			return printf("closed=1\n"), 1;
		printf(res->m.status == CAPF_IPC_OK ? "aborted=1\n" : "aborted=0\n");
		return 0;
	}
	alt = capf_ipc_find(&res->m, CAPF_IPC_T_KEY_ALT, NULL);
	if (alt == NULL)
		die("install without KEY_ALT");
	if (o->keygen_fail_first) {
		id = next_id++;
		capf_ipc_build_request(&res->b, CAPF_IPC_RESULT, id);
		capf_ipc_put_u64(&res->b, CAPF_IPC_T_TOKEN, token);
		capf_ipc_put_u8(&res->b, CAPF_IPC_T_OUTCOME, CAPF_IPC_KEYGEN_FAILED);
		capf_ipc_put_u8(&res->b, CAPF_IPC_T_ALT_INDEX, 0);
		if (roundtrip(res->fd, &res->b, CAPF_IPC_RESULT, id, res->buf + 32768, &res->r) != 0)
			return printf("closed=1\n"), 1;
		if (res->r.status != CAPF_IPC_OK || capf_ipc_find(&res->r, CAPF_IPC_T_KEY_ALT, NULL) == NULL) {
			printf("fallback=none\n");
			print_status(&res->r);
			return 0;
		}
		capf_ipc_get_u8(&res->r, CAPF_IPC_T_ALT_INDEX, &alt_index);
		printf("fallback=%u\n", alt_index);
		res->pk = phone_key(capf_ipc_find(&res->r, CAPF_IPC_T_KEY_ALT, NULL), o->key);
		capf_ipc_msg_free(&res->r);
	} else {
		res->pk = phone_key(alt, o->key);
	}
	capf_ipc_msg_free(&res->m);
	if (res->pk == NULL)
		die("keygen failed");
	spkilen = i2d_PUBKEY(res->pk, &res->spki);
	if (o->wait_file != NULL) {
		printf("waiting=1\n");
		fflush(stdout);
		for (int i = 0; i < 600 && access(o->wait_file, F_OK) != 0; i++)
			usleep(50000);
	}

	/* ISSUE */
	id = next_id++;
	capf_ipc_build_request(&res->b, CAPF_IPC_ISSUE, id);
	capf_ipc_put_u64(&res->b, CAPF_IPC_T_TOKEN, token);
	capf_ipc_put_bytes(&res->b, CAPF_IPC_T_PUBLIC_KEY, res->spki, (size_t)spkilen);
	capf_ipc_put_u8(&res->b, CAPF_IPC_T_ALT_INDEX, alt_index);
	if (roundtrip(res->fd, &res->b, CAPF_IPC_ISSUE, id, res->buf, &res->m) != 0)
		return printf("closed=1\n"), 1;
	if (res->m.status != CAPF_IPC_OK) {
		print_status(&res->m);
		return 0;
	}
	capf_ipc_get_bytes(&res->m, CAPF_IPC_T_CERT, &der, &derlen);
	{
		const unsigned char *p = der;
		X509 *x = d2i_X509(NULL, &p, (long)derlen);
		ASN1_INTEGER *sn;
		BIGNUM *bn;
		char *hex;

		if (x == NULL)
			die("ISSUE answered no certificate");
		sn = X509_get_serialNumber(x);
		bn = ASN1_INTEGER_to_BN(sn, NULL);
		hex = BN_bn2hex(bn);
		printf("issued serial=%s\n", hex);
		fflush(stdout);
		OPENSSL_free(hex);
		BN_free(bn);
		if (o->out != NULL) {
			FILE *f = fopen(o->out, "w");

			PEM_write_X509(f, x);
			fclose(f);
		}
		if (o->key_out != NULL) {
			FILE *f = fopen(o->key_out, "w");

			PEM_write_PrivateKey(f, res->pk, NULL, NULL, 0, NULL, NULL);
			fclose(f);
		}
		X509_free(x);
	}
	capf_ipc_msg_free(&res->m);
	if (o->no_result) {
		/* Hold the connection until killed (the test kills the daemon). */
		printf("holding=1\n");
		fflush(stdout);
		pause();
		return 0;
	}
	/* RESULT stored */
	id = next_id++;
	capf_ipc_build_request(&res->b, CAPF_IPC_RESULT, id);
	capf_ipc_put_u64(&res->b, CAPF_IPC_T_TOKEN, token);
	capf_ipc_put_u8(&res->b, CAPF_IPC_T_OUTCOME,
			o->outcome ? (uint8_t)outcome_code(o->outcome) : CAPF_IPC_STORED);
	if (roundtrip(res->fd, &res->b, CAPF_IPC_RESULT, id, res->buf, &res->m) != 0)
		return printf("closed=1\n"), 1;
	if (res->m.status == CAPF_IPC_OK)
		printf("result=ok\n");
	else
		print_status(&res->m);
	return 0;
}

static int cmd_enroll(const char *sock, const char *name, struct enroll_opts *o)
{
	struct enroll_res res;
	int rc;

	memset(&res, 0, sizeof(res));
	if ((res.buf = malloc(CAPF_IPC_MSG_MAX)) == NULL)
		die("out of memory");
	res.fd = sock_connect(sock);
	rc = enroll(&res, name, o);
	capf_ipc_msg_free(&res.m);
	capf_ipc_msg_free(&res.r);
	capf_ipc_builder_free(&res.b);
	OPENSSL_free(res.spki);
	EVP_PKEY_free(res.pk);
	free(res.buf);
	close(res.fd);
	return rc;
}

/* A peer that sends and never reads its answers. */
static struct capf_store *store_open(const char *db)
{
	char err[512];
	struct capf_store *st = capf_store_open(db, 0, err, sizeof(err));

	if (st == NULL)
		die("store: %s", err);
	return st;
}

static int cmd_device_add(int argc, char **argv)
{
	struct capf_store_device d;
	struct capf_store_actor who = { getuid(), "test" };
	struct capf_store *st;
	char err[512];
	int rc;

	if (argc < 4)
		die("device-add DB NAME OP AUTH ...");
	memset(&d, 0, sizeof(d));
	snprintf(d.dev.name, sizeof(d.dev.name), "%s", argv[1]);
	d.dev.op = capf_operation_parse(argv[2]);
	d.dev.auth = capf_auth_mode_parse(argv[3]);
	d.dev.key_order = CAPF_KEYORDER_RSA_ONLY;
	d.dev.rsa_bits = 2048;
	d.dev.curve = CAPF_CURVE_P256;
	d.dev.deadline = time(NULL) + 86400;
	d.dev.status = d.dev.op != CAPF_OP_NONE ? CAPF_ST_PENDING : CAPF_ST_NONE;
	d.dev.status_op = d.dev.op;
	for (int i = 4; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--auth-string-file") == 0) {
			char s[128] = "";
			FILE *f = fopen(argv[i + 1], "r");

			if (f == NULL || fgets(s, sizeof(s), f) == NULL)
				die("%s: cannot read", argv[i + 1]);
			fclose(f);
			s[strcspn(s, "\r\n")] = '\0';
			if (capf_authhash_make(&d.auth, s, strlen(s), NULL, err, sizeof(err)) != 0)
				die("authhash: %s", err);
			d.has_auth = 1;
			OPENSSL_cleanse(s, sizeof(s));
		} else if (strcmp(argv[i], "--key-order") == 0) {
			d.dev.key_order = capf_key_order_parse(argv[i + 1]);
		} else if (strcmp(argv[i], "--rsa-bits") == 0) {
			d.dev.rsa_bits = (unsigned)atoi(argv[i + 1]);
		} else if (strcmp(argv[i], "--curve") == 0) {
			d.dev.curve = capf_curve_parse(argv[i + 1]);
		} else if (strcmp(argv[i], "--deadline-offset") == 0) {
			d.dev.deadline = time(NULL) + atol(argv[i + 1]);
		} else {
			die("unknown option %s", argv[i]);
		}
	}
	st = store_open(argv[0]);
	rc = capf_store_device_put(st, &d, 0, &who, err, sizeof(err));
	capf_store_close(st);
	if (rc != 0)
		die("device_put: %s", err);
	printf("added %s\n", d.dev.name);
	return 0;
}

static int cmd_device_show(const char *db, const char *name)
{
	struct capf_store *st = store_open(db);
	struct capf_store_device d;
	char err[512], txt[256];

	if (capf_store_device_get(st, name, &d, err, sizeof(err)) != 0)
		die("device_get: %s", err);
	capf_store_close(st);
	printf("op=%s\nstatus_text=%s\nattempts=%u\n", capf_operation_name(d.dev.op),
	       capf_status_cisco(&d.dev, txt, sizeof(txt)), d.dev.failed_attempts);
	return 0;
}

static int cmd_issuances(const char *db, const char *name)
{
	struct capf_store *st = store_open(db);
	struct capf_store_issuance is;
	char err[512];
	int rc;

	memset(&is, 0, sizeof(is));
	rc = capf_store_issuance_latest_for_device(st, name, &is, err, sizeof(err));
	capf_store_close(st);
	if (rc != 0) {
		printf("issuance=none\n");
		return 0;
	}
	printf("serial=%s\nstate=%s\nissuer=%s\nder_len=%zu\n", is.serial,
	       capf_store_issuance_state_name(is.state), is.issuer_fp, is.der_len);
	capf_store_issuance_clear(&is);
	return 0;
}

static int cmd_lint(const char *conf, const char *capem, const char *lscpem, const char *name)
{
	struct capf_conf c;
	struct capf_errlist *errs = capf_errlist_new();
	struct capf_ca *ca = NULL;
	struct capf_lsc_input in;
	unsigned char *spki = NULL;
	char err[1024];
	X509 *x = read_cert(lscpem);
	int rc;

	if (capf_conf_load(&c, conf, errs) != 0)
		die("%s: invalid", conf);
	if (capf_ca_load(capem, NULL, time(NULL), &ca, err, sizeof(err)) != 0)
		die("ca: %s", err);
	memset(&in, 0, sizeof(in));
	in.device_name = name;
	in.now = time(NULL);
	{
		int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);

		if (n <= 0)
			die("%s: no public key", lscpem);
		in.spki = spki;
		in.spki_len = (size_t)n;
	}
	rc = capf_lsc_lint(&c, ca, &in, x, errs);
	OPENSSL_free(spki);
	if (rc != 0) {
		printf("lint=failed %s\n", capf_errlist_join(errs, "; ", err, sizeof(err)));
		return 1;
	}
	printf("lint=clean\n");
	capf_ca_free(ca);
	X509_free(x);
	capf_errlist_free(errs);
	return 0;
}

int main(int argc, char **argv)
{
	struct enroll_opts o;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3)
		die("usage: see the comment at the top of %s", __FILE__);
	if (strcmp(argv[1], "ping") == 0)
		return cmd_ping(argv[2]);
	if (strcmp(argv[1], "device-add") == 0)
		return cmd_device_add(argc - 2, argv + 2);
	if (strcmp(argv[1], "device-show") == 0 && argc == 4)
		return cmd_device_show(argv[2], argv[3]);
	if (strcmp(argv[1], "issuances") == 0 && argc == 4)
		return cmd_issuances(argv[2], argv[3]);
	if (strcmp(argv[1], "lint") == 0 && argc == 6)
		return cmd_lint(argv[2], argv[3], argv[4], argv[5]);
	if (strcmp(argv[1], "enroll") != 0 || argc < 4)
		die("unknown command %s", argv[1]);
	memset(&o, 0, sizeof(o));
	o.version = 3;
	o.session = 0x11223344;
	for (int i = 4; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

#define OPT(s, field)                         \
	if (strcmp(a, s) == 0 && v != NULL) { \
		o.field = v;                  \
		i++;                          \
		continue;                     \
	}
		OPT("--password-file", password_file)
		OPT("--key", key)
		OPT("--cert", cert)
		OPT("--cert-key", cert_key)
		OPT("--cert-type", cert_type)
		OPT("--bad-sig", bad_sig)
		OPT("--sudi-cert", sudi_cert)
		OPT("--sudi-key", sudi_key)
		OPT("--out", out)
		OPT("--key-out", key_out)
		OPT("--outcome", outcome)
		OPT("--fetch-cert", fetch_cert)
		OPT("--wait-before-issue", wait_file)
#undef OPT
		if (strcmp(a, "--save-begin") == 0 && v != NULL) {
			save_begin = v;
			i++;
			continue;
		}
		if (strcmp(a, "--version") == 0 && v != NULL) {
			o.version = (unsigned)atoi(v);
			i++;
			continue;
		}
		if (strcmp(a, "--session") == 0 && v != NULL) {
			o.session = (unsigned)strtoul(v, NULL, 0);
			o.has_session = 1;
			i++;
			continue;
		}
		if (strcmp(a, "--sudi-session") == 0 && v != NULL) {
			o.sudi_session = (unsigned)strtoul(v, NULL, 0);
			o.has_sudi_session = 1;
			i++;
			continue;
		}
		if (strcmp(a, "--no-password") == 0) {
			o.no_password = 1;
			continue;
		}
		if (strcmp(a, "--keygen-fail-first") == 0) {
			o.keygen_fail_first = 1;
			continue;
		}
		if (strcmp(a, "--no-result") == 0) {
			o.no_result = 1;
			continue;
		}
		if (strcmp(a, "--abort") == 0) {
			o.abort_after_begin = 1;
			continue;
		}
		die("unknown option %s", a);
	}
	return cmd_enroll(argv[2], argv[3], &o);
}
