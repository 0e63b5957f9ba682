/*
 * tests/bench/bench_tokensign.c: the raw signing rate of a token key through
 * the capfhsm provider, the ceiling an issuing pipeline can reach with it.
 *
 *   bench_tokensign --uri 'pkcs11:...;pin-source=file:...' [--provider-dir DIR]
 *                   [--threads N] [--seconds S] [--digest sha256]
 *
 * Each thread opens the key through OSSL_STORE in one shared library context
 * that loads capfhsm (the provider gives each signing operation its own token
 * session), then signs a fresh 32-byte message (as an LSC's TBS hash would be)
 * in a loop until the time is up. Prints signs_per_second=X for the whole run and
 * cpu_ms_per_sign=Y, the process's CPU time (user + system, getrusage) during the
 * signing loop divided by the signatures: what one token signature costs the cores
 * (with SoftHSM, the token's own work runs in this process).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/store.h>

static OSSL_LIB_CTX *libctx;
static const char *uri, *digest = "sha256";
static double seconds = 3.0;
static atomic_ulong total;
static atomic_int failed;

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static EVP_PKEY *open_key(void)
{
	OSSL_STORE_CTX *st = OSSL_STORE_open_ex(uri, libctx, NULL, NULL, NULL, NULL, NULL, NULL);
	EVP_PKEY *k = NULL;

	if (st == NULL)
		return NULL;
	while (k == NULL && !OSSL_STORE_eof(st)) {
		OSSL_STORE_INFO *info = OSSL_STORE_load(st);

		if (info == NULL)
			break;
		if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
			k = OSSL_STORE_INFO_get1_PKEY(info);
		OSSL_STORE_INFO_free(info);
	}
	OSSL_STORE_close(st);
	return k;
}

static void *worker(void *arg)
{
	EVP_PKEY *k = arg;
	unsigned char msg[32], sig[1024];
	unsigned long n = 0;
	double end = now() + seconds;

	while (now() < end) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		size_t siglen = sizeof(sig);

		RAND_bytes(msg, sizeof(msg));
		if (md == NULL || EVP_DigestSignInit_ex(md, NULL, digest, libctx, NULL, k, NULL) != 1 ||
		    EVP_DigestSign(md, sig, &siglen, msg, sizeof(msg)) != 1) {
			EVP_MD_CTX_free(md);
			failed = 1;
			break;
		}
		EVP_MD_CTX_free(md);
		n++;
	}
	total += n;
	return NULL;
}

int main(int argc, char **argv)
{
	const char *pdir = NULL;
	int threads = 2;
	pthread_t t[64];
	EVP_PKEY *k;
	double t0, t1, c0, c1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--uri") == 0 && i + 1 < argc)
			uri = argv[++i];
		else if (strcmp(argv[i], "--provider-dir") == 0 && i + 1 < argc)
			pdir = argv[++i];
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--digest") == 0 && i + 1 < argc)
			digest = argv[++i];
		else {
			fprintf(stderr, "usage: bench_tokensign --uri URI [--provider-dir DIR] [--threads N] "
					"[--seconds S] [--digest NAME]\n");
			return 2;
		}
	}
	if (uri == NULL || threads < 1 || threads > 64 || seconds <= 0) {
		fprintf(stderr, "bench_tokensign: --uri is required; 1..64 threads; seconds > 0\n");
		return 2;
	}
	libctx = OSSL_LIB_CTX_new();
	if (pdir != NULL)
		OSSL_PROVIDER_set_default_search_path(libctx, pdir);
	if (libctx == NULL || OSSL_PROVIDER_load(libctx, "default") == NULL ||
	    OSSL_PROVIDER_load(libctx, "capfhsm") == NULL) {
		fprintf(stderr, "bench_tokensign: cannot load the capfhsm provider\n");
		ERR_print_errors_fp(stderr);
		return 1;
	}
	k = open_key();
	if (k == NULL) {
		fprintf(stderr, "bench_tokensign: no private key at %s\n", uri);
		ERR_print_errors_fp(stderr);
		return 1;
	}
	c0 = cpu_s();
	t0 = now();
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, worker, k);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	t1 = now();
	c1 = cpu_s();
	if (failed) {
		fprintf(stderr, "bench_tokensign: a signature failed\n");
		ERR_print_errors_fp(stderr);
		return 1;
	}
	printf("signs=%lu threads=%d seconds=%.2f signs_per_second=%.1f cpu_ms_per_sign=%.3f\n",
	       (unsigned long)total, threads, t1 - t0, (double)total / (t1 - t0),
	       total ? (c1 - c0) * 1e3 / (double)total : 0.0);
	EVP_PKEY_free(k);
	/* no OSSL_LIB_CTX_free: SoftHSM 2.6 may crash in C_Finalize at exit */
	return 0;
}
