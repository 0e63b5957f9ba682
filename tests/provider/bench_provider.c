/*
 * tests/provider/bench_provider.c: signatures per second through capfhsm on a
 * throwaway SoftHSM token, for RSA-2048 (PKCS#1 v1.5, SHA-256) and P-256
 * (ECDSA, SHA-256), from one thread and from one thread per core, next to
 * OpenSSL's own rate with an in-memory key of the same type measured in the
 * same run. Each figure is a fixed ~2 s run; every signature is checked once
 * at the end of its run.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/store.h>

#include "tests/provider/ptoken.h"

#define RUN_SECONDS 2.0
#define MAX_THREADS 64

struct run {
	OSSL_LIB_CTX *ctx;
	EVP_PKEY *key;
	double until;
	unsigned long count;
	int bad;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
	struct run *r = arg;
	unsigned char msg[64], sig[512];
	size_t siglen = 0;
	EVP_MD_CTX *m = EVP_MD_CTX_new();

	memset(msg, 0x5a, sizeof(msg));
	while (now() < r->until) {
		siglen = sizeof(sig);

		msg[0] = (unsigned char)r->count;
		if (EVP_DigestSignInit_ex(m, NULL, "SHA256", r->ctx, NULL, r->key, NULL) != 1 ||
		    EVP_DigestSign(m, sig, &siglen, msg, sizeof(msg)) != 1) {
			r->bad++;
			break;
		}
		r->count++;
	}
	/* the last signature of the run verifies */
	if (r->count > 0) {
		msg[0] = (unsigned char)(r->count - 1);
		if (EVP_DigestVerifyInit_ex(m, NULL, "SHA256", r->ctx, NULL, r->key, NULL) != 1 ||
		    EVP_DigestVerify(m, sig, siglen, msg, sizeof(msg)) != 1)
			r->bad++;
	}
	EVP_MD_CTX_free(m);
	return NULL;
}

/* Signatures per second with n threads for RUN_SECONDS. */
static double rate(OSSL_LIB_CTX *ctx, EVP_PKEY *key, int n)
{
	pthread_t th[MAX_THREADS];
	struct run runs[MAX_THREADS];
	double t0 = now(), t1;
	unsigned long total = 0;

	for (int i = 0; i < n; i++) {
		runs[i] = (struct run){ .ctx = ctx, .key = key, .until = t0 + RUN_SECONDS };
		if (pthread_create(&th[i], NULL, worker, &runs[i]) != 0)
			return -1;
	}
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		if (runs[i].bad) {
			ERR_print_errors_fp(stderr);
			return -1;
		}
		total += runs[i].count;
	}
	t1 = now();
	return (double)total / (t1 - t0);
}

int main(void)
{
	static const char *const specs[] = { "rsa:2048", "ec:P-256" };
	static const char *const labels[] = { "rsa-2048", "ec-P-256" };
	static const char *const names[] = { "RSA-2048 PKCS#1 SHA-256", "P-256 ECDSA SHA-256" };
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	struct ptoken tok;
	OSSL_LIB_CTX *ctx, *defctx;
	char err[512], uri[600];
	int rc = 0;

	if (cores < 1)
		cores = 1;
	if (cores > MAX_THREADS)
		cores = MAX_THREADS;
	if (ptoken_make(&tok, "bench", specs, 2, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_provider: token: %s\n", err);
		return 1;
	}
	if ((ctx = ptoken_libctx(0)) == NULL || (defctx = OSSL_LIB_CTX_new()) == NULL) {
		ERR_print_errors_fp(stderr);
		ptoken_remove(&tok);
		return 1;
	}
	printf("capfhsm signatures/s (SoftHSM 2.6 token) vs OpenSSL in memory; %.0f s per figure, %ld cores\n",
	       RUN_SECONDS, cores);
	printf("%-26s %8s %12s %12s %7s\n", "key", "threads", "capfhsm/s", "openssl/s", "ratio");
	for (int k = 0; k < 2 && rc == 0; k++) {
		EVP_PKEY *key, *soft;

		ptoken_uri(&tok, labels[k], uri, sizeof(uri));
		key = ptoken_load(ctx, uri, OSSL_STORE_INFO_PKEY);
		soft = k == 0 ? EVP_PKEY_Q_keygen(defctx, NULL, "RSA", (size_t)2048) :
				EVP_PKEY_Q_keygen(defctx, NULL, "EC", "P-256");
		if (key == NULL || soft == NULL) {
			ERR_print_errors_fp(stderr);
			rc = 1;
		}
		for (int pass = 0; pass < 2 && rc == 0; pass++) {
			int n = pass == 0 ? 1 : (int)cores;
			double t = rate(ctx, key, n), s = rate(defctx, soft, n);

			if (t < 0 || s < 0) {
				rc = 1;
				break;
			}
			printf("%-26s %8d %12.0f %12.0f %7.3f\n", names[k], n, t, s, t / s);
		}
		EVP_PKEY_free(key);
		EVP_PKEY_free(soft);
	}
	ptoken_libctx_free(ctx);
	OSSL_LIB_CTX_free(defctx);
	ptoken_remove(&tok);
	return rc;
}
