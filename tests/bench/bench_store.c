/*
 * tests/bench/bench_store.c: issuance records per second through the store,
 * with 1 and 16 threads, group commit against the naive baseline (one
 * transaction, one fsync, per record) measured in the same run, on real files
 * (BENCH_DIR, default $TMPDIR or /tmp: use a real disk, not tmpfs).
 *
 *   bench_store [records-per-run [repeats]]     (default 1500, 3)
 *
 * Each figure is the median of the repeats (the machine may be shared), each
 * repeat on a fresh database.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "appliance/store/store.h"

#define MAX_THREADS 16

struct run {
	struct capf_store *st;
	const char *issuer;
	int thread, per;
	int failures;
	unsigned char der[900]; /* about an LSC's size */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static void *worker(void *arg)
{
	struct run *r = arg;
	struct capf_store_actor who = { 998, "front" };
	struct capf_store_issuance is;
	char err[256];
	time_t now = time(NULL);

	for (int i = 0; i < r->per; i++) {
		int n = r->thread * 100000 + i;

		memset(&is, 0, sizeof(is));
		snprintf(is.serial, sizeof(is.serial), "7%015X", (unsigned)n);
		snprintf(is.device, sizeof(is.device), "SEP%012X", (unsigned)n);
		snprintf(is.issuer_fp, sizeof(is.issuer_fp), "%s", r->issuer);
		snprintf(is.spki_sha256, sizeof(is.spki_sha256), "%064X", (unsigned)n);
		is.not_before = now;
		is.not_after = now + 365 * 86400;
		snprintf(is.peer, sizeof(is.peer), "uid:998 pid:%d", (int)getpid());
		is.der = r->der;
		is.der_len = sizeof(r->der);
		if (capf_store_issuance_record(r->st, &is, &who, err, sizeof(err)) != 0) {
			if (r->failures++ == 0)
				fprintf(stderr, "bench_store: %s\n", err);
		}
	}
	return NULL;
}

/* One measurement in a fresh store; returns records/s or -1. */
static double measure(const char *base, unsigned flags, int threads, int total, double *commits_per,
		      double *syncs_per)
{
	char dir[256], path[300], err[512], fp[65];
	struct capf_store_device_change *ch;
	struct capf_store_stats a, b;
	struct capf_store_cert cert;
	struct run runs[MAX_THREADS];
	pthread_t th[MAX_THREADS];
	struct capf_store *st;
	unsigned char md[32];
	unsigned int mdlen;
	int per = total / threads, failures = 0;
	size_t failed;
	double t0, t1;

	snprintf(dir, sizeof(dir), "%s/capf-bench-XXXXXX", base);
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/capf.db", dir);
	if ((st = capf_store_open(path, flags, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_store: %s\n", err);
		rm_tree(dir);
		return -1;
	}
	memset(&cert, 0, sizeof(cert));
	cert.der = (unsigned char *)"bench CAPF CA";
	cert.der_len = strlen("bench CAPF CA");
	cert.role = CAPF_CERT_ACTIVE;
	cert.not_after = time(NULL) + 3650 * 86400;
	EVP_Digest(cert.der, cert.der_len, md, &mdlen, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		sprintf(fp + 2 * i, "%02x", md[i]);
	ch = calloc((size_t)(per * threads), sizeof(*ch));
	for (int t = 0; ch != NULL && t < threads; t++)
		for (int i = 0; i < per; i++) {
			struct capf_store_device *d = &ch[t * per + i].rec;
			snprintf(d->dev.name, sizeof(d->dev.name), "SEP%012X", (unsigned)(t * 100000 + i));
			d->dev.op = CAPF_OP_INSTALL;
			d->dev.status = CAPF_ST_PENDING;
			d->dev.status_op = CAPF_OP_INSTALL;
		}
	if (ch == NULL || capf_store_cert_add(st, &cert, NULL, err, sizeof(err)) != 0 ||
	    capf_store_device_bulk(st, ch, (size_t)(per * threads), NULL, &failed, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_store: setup: %s\n", err);
		free(ch);
		capf_store_close(st);
		rm_tree(dir);
		return -1;
	}
	free(ch);

	capf_store_get_stats(st, &a);
	t0 = now_s();
	for (int t = 0; t < threads; t++) {
		runs[t] = (struct run){ .st = st, .issuer = fp, .thread = t, .per = per };
		memset(runs[t].der, 0x5a, sizeof(runs[t].der));
		pthread_create(&th[t], NULL, worker, &runs[t]);
	}
	for (int t = 0; t < threads; t++) {
		pthread_join(th[t], NULL);
		failures += runs[t].failures;
	}
	t1 = now_s();
	capf_store_get_stats(st, &b);
	capf_store_close(st);
	rm_tree(dir);
	if (failures > 0) {
		fprintf(stderr, "bench_store: %d records failed\n", failures);
		return -1;
	}
	*commits_per = (double)(b.commits - a.commits) / (per * threads);
	*syncs_per = (double)(b.syncs - a.syncs) / (per * threads);
	return (per * threads) / (t1 - t0);
}

/* CPU microseconds per capf_store_device_get (a reader from the pool, one
 * SELECT by name), over n reads of 1000 devices, one thread. */
static double measure_reads(const char *base, int n)
{
	char dir[4096], path[4200], err[512];
	struct capf_store_device_change *ch;
	struct capf_store_device d;
	struct capf_store *st;
	struct timespec c0, c1;
	size_t failed;
	int bad = 0;

	snprintf(dir, sizeof(dir), "%s/capf-bench-XXXXXX", base);
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/capf.db", dir);
	if ((st = capf_store_open(path, 0, err, sizeof(err))) == NULL ||
	    (ch = calloc(1000, sizeof(*ch))) == NULL) {
		fprintf(stderr, "bench_store: %s\n", st == NULL ? err : "out of memory");
		capf_store_close(st);
		rm_tree(dir);
		return -1;
	}
	for (int i = 0; i < 1000; i++) {
		struct capf_device *v = &ch[i].rec.dev;

		snprintf(v->name, sizeof(v->name), "SEP%012X", (unsigned)i);
		v->op = CAPF_OP_INSTALL;
		v->status = CAPF_ST_PENDING;
		v->status_op = CAPF_OP_INSTALL;
	}
	if (capf_store_device_bulk(st, ch, 1000, NULL, &failed, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_store: setup: %s\n", err);
		bad = 1;
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	for (int i = 0; !bad && i < n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "SEP%012X", (unsigned)(i % 1000));
		if (capf_store_device_get(st, name, &d, err, sizeof(err)) != 0) {
			fprintf(stderr, "bench_store: device_get %s: %s\n", name, err);
			bad = 1;
		}
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	free(ch);
	capf_store_close(st);
	rm_tree(dir);
	if (bad)
		return -1;
	return ((double)(c1.tv_sec - c0.tv_sec) * 1e6 + (double)(c1.tv_nsec - c0.tv_nsec) / 1e3) / n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *base = getenv("BENCH_DIR");
	int total = argc > 1 ? atoi(argv[1]) : 1500;
	int reps = argc > 2 ? atoi(argv[2]) : 3;
	static const int thread_counts[] = { 1, 16 };
	int rc = 0;

	if (base == NULL)
		base = getenv("TMPDIR");
	if (base == NULL)
		base = "/tmp";
	if (total < 16 || total > 1000000 || reps < 1 || reps > 15) {
		fprintf(stderr, "usage: bench_store [records 16..1000000 [repeats 1..15]]\n");
		return 2;
	}
	printf("store: issuance_record (durable, synchronous=FULL, WAL) in %s, %d records per "
	       "run, median of %d\n",
	       base, total, reps);
	printf("%-14s %8s %12s %15s %13s\n", "mode", "threads", "records/s", "commits/record", "fsyncs/record");
	for (size_t i = 0; i < sizeof(thread_counts) / sizeof(thread_counts[0]); i++) {
		for (int naive = 1; naive >= 0; naive--) {
			double cpr = 0, spr = 0, v[15], rps;
			int k, bad = 0;

			for (k = 0; k < reps; k++) {
				v[k] = measure(base, naive ? CAPF_STORE_OPEN_NO_GROUP_COMMIT : 0,
					       thread_counts[i], total, &cpr, &spr);
				bad |= v[k] < 0;
			}
			if (bad) {
				rc = 1;
				continue;
			}
			qsort(v, (size_t)reps, sizeof(v[0]), cmp_double);
			rps = v[reps / 2];
			printf("%-14s %8d %12.0f %15.3f %13.3f\n", naive ? "naive" : "group-commit",
			       thread_counts[i], rps, cpr, spr);
			fflush(stdout);
		}
	}
	{
		double v[15];
		int k, bad = 0;

		for (k = 0; k < reps; k++)
			bad |= (v[k] = measure_reads(base, 20000)) < 0;
		if (bad)
			return 1;
		qsort(v, (size_t)reps, sizeof(v[0]), cmp_double);
		printf("device_get (one read by name, pooled reader): %.1f us of CPU each, median of %d\n",
		       v[reps / 2], reps);
	}
	return rc;
}
