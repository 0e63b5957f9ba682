/*
 * appliance/phone/main.c: capf-phone, the command line. One session (a phone
 * enrolling, being troubleshot or deleted) or a load run (--load N).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "appliance/common/argnum.h"
#include "appliance/common/file.h"
#include "appliance/common/version.h"
#include "appliance/common/x509.h"
#include "appliance/phone/phone.h"
#include "appliance/phone/phone_int.h"

static const char usage_text[] =
	"usage: capf-phone --capf-cert FILE [--host H] [--port P] --name NAME [options]\n"
	"       capf-phone --capf-cert FILE --load N [--concurrency C] --name-pattern P [options]\n"
	"\n"
	"A CAPF client that behaves like a Cisco IP phone (protocol 3) or a Jabber client\n"
	"(protocol 2): TLS to the CAPF port, pinned to the CAPF certificate, then AUTH_RESPONSE,\n"
	"key generation, certificate store / fetch / delete as the server asks.\n"
	"\n"
	"  --host H                 server (default 127.0.0.1)\n"
	"  --port P                 port (default 3804)\n"
	"  --bind ADDR              numeric source address of the connections (e.g. 127.0.0.2:\n"
	"                           another loopback address, as another phone's would be)\n"
	"  --capf-cert FILE         PEM certificate(s) the server's TLS certificate must be or chain to\n"
	"                           (the ITL's CAPF record; host names are not checked, as on phones)\n"
	"  --name NAME              DEVICE_NAME, e.g. SEP58971ECC97C1 or CSFJSMITH\n"
	"  --protocol 3|2           3: phone (default); 2: Jabber (no PASSWORD element, RSA only)\n"
	"  --auth MODE              null (default) | string | lsc | mic\n"
	"  --auth-string-file FILE  the authentication string (file mode 0600; never on argv)\n"
	"  --cert FILE --key FILE   the LSC or MIC (PEM) for --auth lsc|mic; also what a fetch returns\n"
	"  --sudi-cert FILE --sudi-key FILE   send SUDI_DATA bound to the session id\n"
	"  --send-in-progress       send REQUEST_IN_PROGRESS before KEY_GENERATE_RESPONSE\n"
	"  --fail-keygen rsa|ec|all answer key generation requests of that kind with a failure\n"
	"  --out-cert FILE          write the stored LSC (PEM)\n"
	"  --out-key FILE           write its private key (PEM, mode 0600)\n"
	"  --timeout SEC            a session's deadline: connect, TLS handshake and the whole\n"
	"                           exchange (default 30)\n"
	"  --tls-max 1.2|1.3        highest TLS version offered (1.2: as older phones do)\n"
	"  --tls-version V          offer only TLS V: 1.0, 1.1, 1.2 or 1.3 (lowest and highest\n"
	"                           pinned; 1.0/1.1 at OpenSSL security level 0, as old phones)\n"
	"  --ciphers LIST           the TLS 1.2-and-below cipher list (OpenSSL syntax), e.g.\n"
	"                           AES256-SHA:AES128-SHA as phones without ECDHE offer; with\n"
	"                           --tls-version 1.0 that phone needs the server's tls.legacy\n"
	"  --json                   print a JSON summary line\n"
	"  --quiet                  no human-readable lines\n"
	"load mode:\n"
	"  --load N                 N sessions; names from --name-pattern (e.g. SEP%012X) from --first\n"
	"  --concurrency C          C sessions at a time (default 8)\n"
	"  --threads T              threads running them, each an event loop over its share of the\n"
	"                           C sessions (default: one per online CPU; at most C)\n"
	"  --first N                first number of the pattern (default 0)\n"
	"  --keys LIST              key kinds to pre-generate before the clock starts\n"
	"                           (default rsa:2048,ec:P-256; rsa:BITS, ec:P-256|P-384|P-521)\n"
	"  --pool-size K            keys per kind (default N); --reuse-keys: K keys used round robin\n"
	"                           (a session finding no key left generates one on its thread,\n"
	"                           holding up the other sessions of that thread meanwhile)\n"
	"  --retry-later MAX        a phone told RETRY_LATER waits the delay the server gave (at most\n"
	"                           MAX seconds, jittered down to half) and connects again, as\n"
	"                           phones do, while --timeout from its first connect allows;\n"
	"                           counted as retried, its result is its last attempt's\n"
	"  --version                print the version and exit\n"
	"exit codes: 0 success, 10 nothing to do, 11 unknown device, 12 refused, 13 retry later,\n"
	"            1 error (TLS, protocol, timeout), 2 usage\n";

struct opts {
	const char *host, *port, *capf_cert, *name, *auth_file, *cert, *key, *sudi_cert, *sudi_key;
	const char *out_cert, *out_key, *pattern, *keys, *bind, *ciphers;
	int protocol, timeout, json, quiet, reuse, tls_max, tls_version, retry_max;
	unsigned long load, first, pool_size;
	unsigned concurrency, threads;
	struct phone_config cfg;
};

static void die_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "capf-phone: ");
	fprintf(stderr, "%s%s\n", fmt, arg ? arg : "");
	fprintf(stderr, "Try capf-phone --help.\n");
	exit(PHONE_EXIT_USAGE);
}

static unsigned long num(const char *s, const char *what, unsigned long min, unsigned long max)
{
	unsigned long v;

	if (capf_parse_uint(s, min, max, &v) != 0) {
		fprintf(stderr, "capf-phone: %s \"%s\": expected a number from %lu to %lu\n", what, s, min,
			max);
		exit(PHONE_EXIT_USAGE);
	}
	return v;
}

static X509 *load_cert(const char *path)
{
	BIO *b = BIO_new_file(path, "r");
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	if (x == NULL) {
		fprintf(stderr, "capf-phone: %s: not a readable PEM certificate\n", path);
		exit(PHONE_EXIT_USAGE);
	}
	return x;
}

static EVP_PKEY *load_key(const char *path, X509 *match)
{
	BIO *b = BIO_new_file(path, "r");
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	if (k == NULL) {
		fprintf(stderr, "capf-phone: %s: not a readable PEM private key (unencrypted)\n", path);
		exit(PHONE_EXIT_USAGE);
	}
	if (match != NULL && X509_check_private_key(match, k) != 1) {
		fprintf(stderr, "capf-phone: %s: this key does not belong to the certificate given with it\n",
			path);
		exit(PHONE_EXIT_USAGE);
	}
	return k;
}

/* The authentication string from a private file: 0600 (no group/other access). */
static char *load_auth_string(const char *path)
{
	struct stat st;
	unsigned char *buf;
	size_t len;
	char err[300];

	if (stat(path, &st) != 0) {
		fprintf(stderr, "capf-phone: %s: %s\n", path, strerror(errno));
		exit(PHONE_EXIT_USAGE);
	}
	if (st.st_mode & 077) {
		fprintf(stderr,
			"capf-phone: %s: mode %03o; an authentication string file must be 0600 "
			"(chmod 600 %s)\n",
			path, (unsigned)(st.st_mode & 0777), path);
		exit(PHONE_EXIT_USAGE);
	}
	if (capf_file_read(path, 256, &buf, &len, err, sizeof(err)) != 0) {
		fprintf(stderr, "capf-phone: %s\n", err);
		exit(PHONE_EXIT_USAGE);
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	if (len == 0 || len > CAPF_PASSWORD_MAX || memchr(buf, 0, len) != NULL) {
		fprintf(stderr, "capf-phone: %s: the authentication string must be 1..%d bytes on one line\n",
			path, CAPF_PASSWORD_MAX);
		OPENSSL_cleanse(buf, len);
		free(buf);
		exit(PHONE_EXIT_USAGE);
	}
	return (char *)buf;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	enum {
		O_HOST = 256,
		O_PORT,
		O_CAPF,
		O_NAME,
		O_PROTO,
		O_AUTH,
		O_AUTHFILE,
		O_CERT,
		O_KEY,
		O_SUDIC,
		O_SUDIK,
		O_INPROG,
		O_FAILKG,
		O_OUTC,
		O_OUTK,
		O_TIMEOUT,
		O_JSON,
		O_QUIET,
		O_LOAD,
		O_CONC,
		O_PATTERN,
		O_FIRST,
		O_KEYS,
		O_POOL,
		O_REUSE,
		O_TLSMAX,
		O_THREADS,
		O_HELP,
		O_BIND,
		O_TLSVER,
		O_CIPHERS,
		O_RETRY
	};
	static const struct option lo[] = {
		{ "host", required_argument, NULL, O_HOST },
		{ "port", required_argument, NULL, O_PORT },
		{ "capf-cert", required_argument, NULL, O_CAPF },
		{ "name", required_argument, NULL, O_NAME },
		{ "protocol", required_argument, NULL, O_PROTO },
		{ "auth", required_argument, NULL, O_AUTH },
		{ "auth-string-file", required_argument, NULL, O_AUTHFILE },
		{ "cert", required_argument, NULL, O_CERT },
		{ "key", required_argument, NULL, O_KEY },
		{ "sudi-cert", required_argument, NULL, O_SUDIC },
		{ "sudi-key", required_argument, NULL, O_SUDIK },
		{ "send-in-progress", no_argument, NULL, O_INPROG },
		{ "fail-keygen", required_argument, NULL, O_FAILKG },
		{ "out-cert", required_argument, NULL, O_OUTC },
		{ "out-key", required_argument, NULL, O_OUTK },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "json", no_argument, NULL, O_JSON },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "load", required_argument, NULL, O_LOAD },
		{ "concurrency", required_argument, NULL, O_CONC },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "name-pattern", required_argument, NULL, O_PATTERN },
		{ "first", required_argument, NULL, O_FIRST },
		{ "keys", required_argument, NULL, O_KEYS },
		{ "pool-size", required_argument, NULL, O_POOL },
		{ "reuse-keys", no_argument, NULL, O_REUSE },
		{ "tls-max", required_argument, NULL, O_TLSMAX },
		{ "bind", required_argument, NULL, O_BIND },
		{ "tls-version", required_argument, NULL, O_TLSVER },
		{ "ciphers", required_argument, NULL, O_CIPHERS },
		{ "retry-later", required_argument, NULL, O_RETRY },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->host = "127.0.0.1";
	o->port = "3804";
	o->protocol = 3;
	o->timeout = 30;
	o->concurrency = 8;
	o->keys = "rsa:2048,ec:P-256";
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_HOST:
			o->host = optarg;
			break;
		case O_PORT:
			o->port = optarg;
			break;
		case O_CAPF:
			o->capf_cert = optarg;
			break;
		case O_NAME:
			o->name = optarg;
			break;
		case O_PROTO:
			o->protocol = (int)num(optarg, "--protocol", 2, 3);
			break;
		case O_AUTH:
			if (strcmp(optarg, "null") == 0)
				o->cfg.auth = PHONE_AUTH_NULL;
			else if (strcmp(optarg, "string") == 0)
				o->cfg.auth = PHONE_AUTH_STRING;
			else if (strcmp(optarg, "lsc") == 0)
				o->cfg.auth = PHONE_AUTH_LSC;
			else if (strcmp(optarg, "mic") == 0)
				o->cfg.auth = PHONE_AUTH_MIC;
			else
				die_usage("--auth must be null, string, lsc or mic, not ", optarg);
			break;
		case O_AUTHFILE:
			o->auth_file = optarg;
			break;
		case O_CERT:
			o->cert = optarg;
			break;
		case O_KEY:
			o->key = optarg;
			break;
		case O_SUDIC:
			o->sudi_cert = optarg;
			break;
		case O_SUDIK:
			o->sudi_key = optarg;
			break;
		case O_INPROG:
			o->cfg.send_in_progress = 1;
			break;
		case O_FAILKG:
			if (strcmp(optarg, "rsa") == 0)
				o->cfg.fail_keygen = PHONE_FAIL_RSA;
			else if (strcmp(optarg, "ec") == 0)
				o->cfg.fail_keygen = PHONE_FAIL_EC;
			else if (strcmp(optarg, "all") == 0)
				o->cfg.fail_keygen = PHONE_FAIL_RSA | PHONE_FAIL_EC;
			else
				die_usage("--fail-keygen must be rsa, ec or all, not ", optarg);
			break;
		case O_OUTC:
			o->out_cert = optarg;
			break;
		case O_OUTK:
			o->out_key = optarg;
			break;
		case O_TIMEOUT:
			o->timeout = (int)num(optarg, "--timeout", 1, 3600);
			break;
		case O_JSON:
			o->json = 1;
			break;
		case O_QUIET:
			o->quiet = 1;
			break;
		case O_LOAD:
			o->load = num(optarg, "--load", 1, 10000000);
			break;
		case O_CONC:
			o->concurrency = (unsigned)num(optarg, "--concurrency", 1, 100000);
			break;
		case O_RETRY:
			o->retry_max = (int)num(optarg, "--retry-later", 1, 3600);
			break;
		case O_THREADS:
			o->threads = (unsigned)num(optarg, "--threads", 1, 1024);
			break;
		case O_PATTERN:
			o->pattern = optarg;
			break;
		case O_FIRST:
			o->first = num(optarg, "--first", 0, 0xffffffffffUL);
			break;
		case O_KEYS:
			o->keys = optarg;
			break;
		case O_POOL:
			o->pool_size = num(optarg, "--pool-size", 1, 10000000);
			break;
		case O_REUSE:
			o->reuse = 1;
			break;
		case O_TLSMAX:
			if (strcmp(optarg, "1.2") == 0)
				o->tls_max = TLS1_2_VERSION;
			else if (strcmp(optarg, "1.3") == 0)
				o->tls_max = TLS1_3_VERSION;
			else
				die_usage("--tls-max must be 1.2 or 1.3, not ", optarg);
			break;
		case O_TLSVER:
			o->tls_version = strcmp(optarg, "1.0") == 0 ? TLS1_VERSION :
					 strcmp(optarg, "1.1") == 0 ? TLS1_1_VERSION :
					 strcmp(optarg, "1.2") == 0 ? TLS1_2_VERSION :
					 strcmp(optarg, "1.3") == 0 ? TLS1_3_VERSION :
								      0;
			if (o->tls_version == 0)
				die_usage("--tls-version must be 1.0, 1.1, 1.2 or 1.3, not ", optarg);
			break;
		case O_CIPHERS:
			if (optarg[0] == '\0')
				die_usage("--ciphers needs a cipher list, e.g. AES256-SHA:AES128-SHA", NULL);
			o->ciphers = optarg;
			break;
		case O_BIND: {
			unsigned char a[16];

			if (inet_pton(AF_INET, optarg, a) != 1 && inet_pton(AF_INET6, optarg, a) != 1)
				die_usage("--bind expects a numeric IPv4 or IPv6 address, not ", optarg);
			o->bind = optarg;
			break;
		}
		case O_HELP:
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			die_usage("unknown option", NULL);
		}
	}
	if (optind != argc)
		die_usage("unexpected argument: ", argv[optind]);
	if (o->capf_cert == NULL)
		die_usage("--capf-cert is required (the certificate the server must present)", NULL);
	if (o->load == 0 && o->name == NULL)
		die_usage("--name is required (or --load N with --name-pattern)", NULL);
	if (o->load > 0 && o->pattern == NULL)
		die_usage("--load needs --name-pattern, e.g. SEP%012X", NULL);
	if (o->name != NULL && (strlen(o->name) == 0 || strlen(o->name) > CAPF_NAME_MAX))
		die_usage("--name must be 1..64 bytes: ", o->name);
	if (o->cfg.auth == PHONE_AUTH_STRING && o->auth_file == NULL)
		die_usage("--auth string needs --auth-string-file (a 0600 file; never on the command line)",
			  NULL);
	if (o->cfg.auth == PHONE_AUTH_STRING && o->protocol == 2)
		die_usage("--protocol 2 (Jabber) sends no PASSWORD element: use --auth null, lsc or mic", NULL);
	if ((o->cfg.auth == PHONE_AUTH_LSC || o->cfg.auth == PHONE_AUTH_MIC) &&
	    (o->cert == NULL || o->key == NULL))
		die_usage("--auth lsc|mic needs --cert and --key", NULL);
	if ((o->cert == NULL) != (o->key == NULL) && o->cfg.auth != PHONE_AUTH_NULL &&
	    o->cfg.auth != PHONE_AUTH_STRING)
		die_usage("--cert and --key go together", NULL);
	if ((o->sudi_cert == NULL) != (o->sudi_key == NULL))
		die_usage("--sudi-cert and --sudi-key go together", NULL);
	if (o->load == 0 && o->retry_max > 0)
		die_usage("--retry-later is for --load", NULL);
	if (o->load > 0 && (o->out_cert || o->out_key))
		die_usage("--out-cert/--out-key are for one session, not --load", NULL);
	if ((o->out_key != NULL) != (o->out_cert != NULL))
		die_usage("--out-cert and --out-key go together", NULL);
	if (o->threads == 0) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		o->threads = ncpu > 0 && ncpu <= 1024 ? (unsigned)ncpu : 1;
	}
	if (o->threads > o->concurrency)
		o->threads = o->concurrency;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s != NULL && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static const char *key_desc(EVP_PKEY *k, char buf[64], size_t len)
{
	char g[32];
	size_t gl = 0;

	if (k == NULL)
		return "";
	if (EVP_PKEY_is_a(k, "EC") && EVP_PKEY_get_utf8_string_param(k, "group", g, sizeof(g), &gl) == 1)
		snprintf(buf, len, "EC %s", g);
	else
		snprintf(buf, len, "RSA %d", EVP_PKEY_get_bits(k));
	return buf;
}

static int write_outputs(const struct opts *o, struct phone_session *s)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;
	char err[300];
	int rc = -1;

	if (b == NULL || PEM_write_bio_X509(b, s->lsc) != 1)
		goto out;
	n = BIO_get_mem_data(b, &data);
	if (capf_file_replace(o->out_cert, 0644, data, (size_t)n, err, sizeof(err)) != 0) {
		fprintf(stderr, "capf-phone: %s\n", err);
		goto out;
	}
	BIO_free(b);
	if ((b = BIO_new(BIO_s_secmem())) == NULL ||
	    PEM_write_bio_PrivateKey(b, s->key, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	n = BIO_get_mem_data(b, &data);
	if (capf_file_replace(o->out_key, 0600, data, (size_t)n, err, sizeof(err)) != 0) {
		fprintf(stderr, "capf-phone: %s\n", err);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0 && err[0] == '\0')
		fprintf(stderr, "capf-phone: cannot encode the certificate or key\n");
	BIO_free(b);
	return rc;
}

/* One session: the driver's session is moved into arg (its key and LSC with it). */
static void one_done(void *arg, unsigned long i, struct phone_session *s, double ms)
{
	struct phone_session *out = arg;

	*out = *s;
	out->cfg = NULL;
	s->key = NULL;
	s->lsc = NULL;
}

static int run_one(struct opts *o, SSL_CTX *ctx)
{
	struct phone_session s;
	struct phone_load pl;
	enum phone_result r;
	char kd[64] = "", serial[80] = "", subject[256] = "", err[200];

	o->cfg.name = o->name;
	phone_session_init(&s, &o->cfg);
	s.result = PHONE_ERROR;
	pl = (struct phone_load){
		.ctx = ctx,
		.host = o->host,
		.port = o->port,
		.bind = o->bind,
		.timeout_ms = o->timeout * 1000,
		.count = 1,
		.concurrency = 1,
		.threads = 1,
		.cfg = &o->cfg,
		.done = one_done,
		.arg = &s,
	};
	if (phone_load_run(&pl, err, sizeof(err)) != 0 && s.error[0] == '\0')
		snprintf(s.error, sizeof(s.error), "%s", err);
	r = s.result;
	if (s.lsc != NULL) {
		if (capf_x509_serial_hex(s.lsc, serial, sizeof(serial)) < 0)
			serial[0] = '\0';
		X509_NAME_oneline(X509_get_subject_name(s.lsc), subject, sizeof(subject));
		key_desc(s.key, kd, sizeof(kd));
	}
	if (r == PHONE_SUCCESS && s.lsc != NULL && o->out_cert != NULL && write_outputs(o, &s) != 0)
		r = PHONE_ERROR;
	if (!o->quiet) {
		printf("capf-phone: %s: %s", o->name, phone_result_name(r));
		if (s.operation)
			printf(" (operation %s)", s.operation);
		if (r == PHONE_RETRY)
			printf(": server says retry in %u s", s.retry_delay);
		if (r == PHONE_REFUSED || r == PHONE_NOTHING || r == PHONE_UNKNOWN || r == PHONE_SUCCESS)
			printf(", END_SESSION reason %u (%s)", s.end_reason, capf_reason_name(s.end_reason));
		if (s.keygen_failed)
			printf(", %u key generation(s) failed on purpose", s.keygen_failed);
		printf("\n");
		if (s.lsc != NULL)
			printf("capf-phone: LSC %s serial %s key %s%s%s\n", subject, serial, kd,
			       o->out_cert ? " written to " : "", o->out_cert ? o->out_cert : "");
		if (s.error[0] != '\0')
			fprintf(stderr, "capf-phone: %s\n", s.error);
	}
	if (o->json) {
		printf("{\"schema\":1,\"name\":");
		json_str(stdout, o->name);
		printf(",\"result\":\"%s\",\"exit\":%d,\"operation\":", phone_result_name(r),
		       phone_result_exit(r));
		json_str(stdout, s.operation);
		printf(",\"end_reason\":%u,\"retry_delay\":%u,\"keygen_requests\":%u,\"keygen_failed\":%u",
		       s.end_reason, s.retry_delay, s.keygen_requests, s.keygen_failed);
		printf(",\"lsc_serial\":");
		json_str(stdout, serial);
		printf(",\"lsc_subject\":");
		json_str(stdout, subject);
		printf(",\"key\":");
		json_str(stdout, kd);
		printf(",\"error\":");
		json_str(stdout, s.error);
		printf("}\n");
	}
	phone_session_free(&s);
	return phone_result_exit(r);
}

/* Load mode: the sessions run in loop.c, results are gathered here */
struct load {
	double *lat_ms; /* per session */
	enum phone_result *res;
	char first_error[400];
	pthread_mutex_t lock;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void load_done(void *arg, unsigned long i, struct phone_session *s, double ms)
{
	struct load *l = arg;

	l->res[i] = s->result;
	l->lat_ms[i] = ms;
	if (s->result != PHONE_SUCCESS && s->error[0] != '\0') {
		pthread_mutex_lock(&l->lock);
		if (l->first_error[0] == '\0')
			snprintf(l->first_error, sizeof(l->first_error), "%s: %s", s->cfg->name, s->error);
		pthread_mutex_unlock(&l->lock);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

struct gen_arg {
	struct phone_keypool *pool;
	const char *spec;
	unsigned n;
	char err[200];
	int rc;
};

static void *gen_worker(void *arg)
{
	struct gen_arg *g = arg;

	g->rc = phone_keypool_fill(g->pool, g->spec, g->n, g->err, sizeof(g->err));
	return NULL;
}

static double tv_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

static int run_load(struct opts *o, SSL_CTX *ctx)
{
	struct rusage ru0, ru1;
	struct load l;
	struct phone_pattern pat;
	struct phone_load pl;
	struct rlimit rl;
	atomic_ulong retries;
	unsigned long counts[PHONE_ERROR + 1] = { 0 };
	double t0, wall, *ok_lat;
	size_t nok = 0;
	char err[300];
	char *keys = strdup(o->keys), *save = NULL;

	memset(&l, 0, sizeof(l));
	pthread_mutex_init(&l.lock, NULL);
	if (keys == NULL || phone_pattern_parse(&pat, o->pattern, err, sizeof(err)) != 0) {
		fprintf(stderr, "capf-phone: %s\n", keys ? err : "out of memory");
		free(keys);
		return PHONE_EXIT_USAGE;
	}
	/* keys before the clock starts, generated on every core */
	o->cfg.pool = phone_keypool_new();
	if (o->reuse)
		phone_keypool_reuse(o->cfg.pool, 1);
	unsigned long per = o->pool_size ? o->pool_size : o->load;
	double g0 = now_ms();
	for (char *spec = strtok_r(keys, ",", &save); spec; spec = strtok_r(NULL, ",", &save)) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		unsigned nt = ncpu > 0 && ncpu < 64 ? (unsigned)ncpu : 2;
		struct gen_arg ga[64];
		pthread_t gt[64];

		for (unsigned t = 0; t < nt; t++) {
			ga[t] = (struct gen_arg){ o->cfg.pool, spec, (unsigned)(per / nt + (t < per % nt)), "",
						  0 };
			pthread_create(&gt[t], NULL, gen_worker, &ga[t]);
		}
		for (unsigned t = 0; t < nt; t++) {
			pthread_join(gt[t], NULL);
			if (ga[t].rc != 0) {
				fprintf(stderr, "capf-phone: --keys: %s\n", ga[t].err);
				free(keys);
				return PHONE_EXIT_USAGE;
			}
		}
	}
	free(keys);
	if (!o->quiet)
		fprintf(stderr, "capf-phone: %lu key(s) per kind (%s) generated in %.1f s\n", per, o->keys,
			(now_ms() - g0) / 1e3);

	l.lat_ms = calloc(o->load, sizeof(double));
	l.res = calloc(o->load, sizeof(*l.res));
	ok_lat = calloc(o->load, sizeof(double));
	if (!l.lat_ms || !l.res || !ok_lat) {
		fprintf(stderr, "capf-phone: out of memory\n");
		return PHONE_EXIT_ERROR;
	}
	pl = (struct phone_load){
		.ctx = ctx,
		.host = o->host,
		.port = o->port,
		.bind = o->bind,
		.timeout_ms = o->timeout * 1000,
		.count = o->load,
		.concurrency = o->concurrency,
		.threads = o->threads,
		.cfg = &o->cfg,
		.pattern = &pat,
		.first = o->first,
		.done = load_done,
		.arg = &l,
		.retry_max_ms = o->retry_max * 1000,
		.retries = &retries,
	};
	atomic_init(&retries, 0);
	/* a descriptor per concurrent session: the hard limit, as far as it goes */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	getrusage(RUSAGE_SELF, &ru0);
	t0 = now_ms();
	if (phone_load_run(&pl, err, sizeof(err)) != 0)
		fprintf(stderr, "capf-phone: load: %s\n", err);
	wall = (now_ms() - t0) / 1e3;
	getrusage(RUSAGE_SELF, &ru1);
	if (!o->quiet) {
		/* the load generator's own cost (its keys excluded), next to the server's */
		double us = tv_s(&ru1.ru_utime) - tv_s(&ru0.ru_utime),
		       sy = tv_s(&ru1.ru_stime) - tv_s(&ru0.ru_stime);

		fprintf(stderr,
			"capf-phone: CPU during the sessions: %.2f s user, %.2f s system, %.3f ms per session\n",
			us, sy, (us + sy) * 1e3 / (double)o->load);
	}
	for (unsigned long i = 0; i < o->load; i++) {
		/* a session that never ran (the run failed) is an error */
		counts[l.res[i] != PHONE_RUNNING && l.res[i] <= PHONE_ERROR ? l.res[i] : PHONE_ERROR]++;
		if (l.res[i] == PHONE_SUCCESS)
			ok_lat[nok++] = l.lat_ms[i];
	}
	qsort(ok_lat, nok, sizeof(double), cmp_double);
	double rate = wall > 0 ? (double)nok / wall : 0;
	unsigned long failures = o->load - counts[PHONE_SUCCESS];
	if (!o->quiet) {
		printf("capf-phone load: %lu sessions, concurrency %u, %.2f s\n", o->load, o->concurrency,
		       wall);
		printf("  enrollments/s %.1f  latency ms p50 %.1f p90 %.1f p99 %.1f max %.1f\n", rate,
		       pct(ok_lat, nok, 50), pct(ok_lat, nok, 90), pct(ok_lat, nok, 99),
		       nok ? ok_lat[nok - 1] : 0.0);
		printf("  success %lu  nothing %lu  unknown %lu  refused %lu  retry-later %lu  error %lu\n",
		       counts[PHONE_SUCCESS], counts[PHONE_NOTHING], counts[PHONE_UNKNOWN],
		       counts[PHONE_REFUSED], counts[PHONE_RETRY], counts[PHONE_ERROR]);
		if (o->retry_max > 0)
			printf("  RETRY_LATER answers retried %lu\n", (unsigned long)atomic_load(&retries));
		if (l.first_error[0])
			printf("  first failure: %s\n", l.first_error);
	}
	if (o->json) {
		printf("{\"schema\":1,\"sessions\":%lu,\"concurrency\":%u,\"seconds\":%.3f,\"enrollments_per_s\":%.2f,"
		       "\"p50_ms\":%.2f,\"p90_ms\":%.2f,\"p99_ms\":%.2f,\"success\":%lu,\"nothing\":%lu,"
		       "\"unknown\":%lu,\"refused\":%lu,\"retry_later\":%lu,\"error\":%lu,\"failures\":%lu,"
		       "\"retried\":%lu,\"first_error\":",
		       o->load, o->concurrency, wall, rate, pct(ok_lat, nok, 50), pct(ok_lat, nok, 90),
		       pct(ok_lat, nok, 99), counts[PHONE_SUCCESS], counts[PHONE_NOTHING],
		       counts[PHONE_UNKNOWN], counts[PHONE_REFUSED], counts[PHONE_RETRY], counts[PHONE_ERROR],
		       failures, (unsigned long)atomic_load(&retries));
		json_str(stdout, l.first_error);
		printf("}\n");
	}
	free(l.lat_ms);
	free(l.res);
	free(ok_lat);
	phone_keypool_free(o->cfg.pool);
	o->cfg.pool = NULL;
	pthread_mutex_destroy(&l.lock);
	return failures == 0 ? PHONE_EXIT_SUCCESS : PHONE_EXIT_ERROR;
}

int main(int argc, char **argv)
{
	struct opts o;
	SSL_CTX *ctx;
	char err[300];
	char *auth = NULL;
	int rc;

	if (capf_version_option(argc, argv, "capf-phone"))
		return 0;
	signal(SIGPIPE, SIG_IGN);
	parse_args(argc, argv, &o);
	o.cfg.protocol = o.protocol;
	if (o.cert != NULL) {
		o.cfg.cert = load_cert(o.cert);
		o.cfg.cert_key = load_key(o.key, o.cfg.cert);
	}
	if (o.sudi_cert != NULL) {
		o.cfg.sudi_cert = load_cert(o.sudi_cert);
		o.cfg.sudi_key = load_key(o.sudi_key, o.cfg.sudi_cert);
	}
	if (o.cfg.auth == PHONE_AUTH_STRING) {
		auth = load_auth_string(o.auth_file);
		o.cfg.auth_string = auth;
	}
	if ((ctx = phone_tls_ctx(o.capf_cert, err, sizeof(err))) == NULL) {
		fprintf(stderr, "capf-phone: --capf-cert %s\n", err);
		return PHONE_EXIT_USAGE;
	}
	if (o.tls_max != 0)
		SSL_CTX_set_max_proto_version(ctx, o.tls_max);
	if (o.tls_version != 0) {
		if (o.tls_max != 0 && o.tls_max != o.tls_version) {
			fprintf(stderr, "capf-phone: --tls-max and --tls-version disagree\n");
			SSL_CTX_free(ctx);
			return PHONE_EXIT_USAGE;
		}
		/* an old phone: only that version; SHA-1/MD5 handshake signatures below 1.2 */
		if (o.tls_version < TLS1_2_VERSION)
			SSL_CTX_set_security_level(ctx, 0);
		SSL_CTX_set_min_proto_version(ctx, o.tls_version);
		SSL_CTX_set_max_proto_version(ctx, o.tls_version);
	}
	if (o.ciphers != NULL && SSL_CTX_set_cipher_list(ctx, o.ciphers) != 1) {
		fprintf(stderr,
			"capf-phone: --ciphers %s: no cipher OpenSSL knows (at this TLS "
			"version and security level)\n",
			o.ciphers);
		SSL_CTX_free(ctx);
		return PHONE_EXIT_USAGE;
	}
	rc = o.load > 0 ? run_load(&o, ctx) : run_one(&o, ctx);
	SSL_CTX_free(ctx);
	if (auth != NULL) {
		OPENSSL_cleanse(auth, strlen(auth));
		free(auth);
	}
	X509_free(o.cfg.cert);
	EVP_PKEY_free(o.cfg.cert_key);
	X509_free(o.cfg.sudi_cert);
	EVP_PKEY_free(o.cfg.sudi_key);
	return rc;
}
