/*
 * tests/bench/bench_p11_sign.c: raw signing throughput of the token layer
 * (p11_sign on pooled sessions) on a throwaway SoftHSM token, for 1..8
 * threads, ECDSA P-256 and RSA-2048 PKCS#1 v1.5. Prints signatures per second.
 *   bench_p11_sign [SECONDS-PER-RUN]     (default 1)
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pkcs11/p11.h"

static atomic_int stop;

struct run {
	struct p11_object *key;
	CK_MECHANISM_TYPE mech;
	unsigned long n, fail;
};

static void *work(void *arg)
{
	struct run *r = arg;
	unsigned char in[51], sig[512];
	char err[256];

	memset(in, 0x5a, sizeof(in));
	while (!atomic_load(&stop)) {
		size_t siglen = sizeof(sig);

		if (p11_sign(r->key, r->mech, NULL, 0, in, r->mech == CKM_ECDSA ? 32 : 51, sig, &siglen, err,
			     sizeof(err)) == P11_OK)
			r->n++;
		else
			r->fail++;
	}
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void write_secret(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

	if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s)) {
		perror(path);
		exit(1);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/bench_p11_sign.XXXXXX", path[256], pin[256], so[256], uri[512], err[512];
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	struct p11_token_opts opts = { .rw = 1, .pool_size = 8 };
	struct p11_token *t;
	struct p11_uri u;
	FILE *f;
	static const struct {
		const char *spec, *name;
		CK_MECHANISM_TYPE mech;
	} kinds[] = { { "ec:P-256", "ECDSA P-256", CKM_ECDSA },
		      { "rsa:2048", "RSA-2048 PKCS#1", CKM_RSA_PKCS } };

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/tokens", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/softhsm2.conf", dir);
	if ((f = fopen(path, "w")) == NULL)
		return 1;
	fprintf(f, "directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n", dir);
	fclose(f);
	setenv("SOFTHSM2_CONF", path, 1);
	snprintf(pin, sizeof(pin), "%s/user.pin", dir);
	snprintf(so, sizeof(so), "%s/so.pin", dir);
	write_secret(pin, "1234567\n");
	write_secret(so, "7654321\n");
	if (p11_token_init(P11_DEFAULT_MODULE, "BENCH", so, pin, NULL, err, sizeof(err)) != P11_OK) {
		fprintf(stderr, "init: %s\n", err);
		return 1;
	}
	snprintf(uri, sizeof(uri), "pkcs11:token=BENCH?pin-source=file:%s", pin);
	if (p11_uri_parse(uri, &u, err, sizeof(err)) != 0 ||
	    p11_token_open(&u, &opts, &t, err, sizeof(err)) != P11_OK) {
		fprintf(stderr, "open: %s\n", err);
		return 1;
	}
	printf("%-18s %8s %12s\n", "signature", "threads", "sig/s");
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		struct p11_keyspec spec;
		struct p11_object *key;

		if (p11_keyspec_parse(kinds[k].spec, &spec, err, sizeof(err)) != P11_OK ||
		    p11_keygen(t, &spec, kinds[k].spec, NULL, 0, &key, err, sizeof(err)) != P11_OK) {
			fprintf(stderr, "keygen: %s\n", err);
			return 1;
		}
		for (int nt = 1; nt <= 8; nt *= 2) {
			pthread_t th[8];
			struct run r[8];
			unsigned long total = 0, fail = 0;
			double t0;

			atomic_store(&stop, 0);
			t0 = now();
			for (int i = 0; i < nt; i++) {
				r[i] = (struct run){ key, kinds[k].mech, 0, 0 };
				pthread_create(&th[i], NULL, work, &r[i]);
			}
			while (now() - t0 < secs)
				usleep(10000);
			atomic_store(&stop, 1);
			for (int i = 0; i < nt; i++) {
				pthread_join(th[i], NULL);
				total += r[i].n;
				fail += r[i].fail;
			}
			printf("%-18s %8d %12.0f%s\n", kinds[k].name, nt, (double)total / (now() - t0),
			       fail ? " (failures!)" : "");
		}
		p11_object_free(key);
	}
	p11_token_close(t);
	p11_uri_clear(&u);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	return system(path) == 0 ? 0 : 1;
}
