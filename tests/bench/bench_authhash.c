/*
 * tests/bench/bench_authhash.c: what storing (and checking) one authentication
 * string costs, before (scrypt, N=2^15 r=8 p=1, the default) and after (HMAC-SHA-256
 * under a secret key in a SoftHSM token, C_Sign with CKM_SHA256_HMAC), and what
 * that means for a 10,000-device bulk with unique strings (hashing only: the bulk
 * itself adds one store transaction).
 *
 *   bench_authhash [scrypt-strings [hmac-strings]]    (default 20, 10000)
 *
 * The token lives in a temporary directory (own SOFTHSM2_CONF).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "appliance/store/authhash.h"
#include "pkcs11/p11.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int mac_fn(void *ctx, const unsigned char *in, size_t inlen, unsigned char out[CAPF_AUTHHASH_LEN],
		  char *err, size_t errlen)
{
	return p11_hmac_sha256(ctx, in, inlen, out, err, errlen) == P11_OK ? 0 : -1;
}

static int put(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	int ok = fd >= 0 && write(fd, s, strlen(s)) == (ssize_t)strlen(s);

	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	int ns = argc > 1 ? atoi(argv[1]) : 20, nh = argc > 2 ? atoi(argv[2]) : 10000;
	char dir[] = "/tmp/bench_authhash.XXXXXX", p[200], body[400], pin[64], so[64], err[512];
	struct p11_token_opts opts = { .rw = 1, .pool_size = 1, .module_path = P11_DEFAULT_MODULE };
	struct p11_token *tok = NULL;
	struct p11_object *key = NULL;
	struct capf_authhash_mac mac = { mac_fn, NULL };
	struct capf_authhash h;
	struct p11_uri u;
	double t0, scrypt_make, scrypt_verify, hmac_make, hmac_verify;
	char s[16];
	int rc = 1;

	if (ns < 1 || nh < 1 || mkdtemp(dir) == NULL)
		return 2;
	snprintf(p, sizeof(p), "%s/tokens", dir);
	mkdir(p, 0700);
	snprintf(body, sizeof(body),
		 "directories.tokendir = %s\nobjectstore.backend = file\n"
		 "log.level = ERROR\n",
		 p);
	snprintf(p, sizeof(p), "%s/softhsm2.conf", dir);
	snprintf(pin, sizeof(pin), "%s/user.pin", dir);
	snprintf(so, sizeof(so), "%s/so.pin", dir);
	if (put(p, body) || put(pin, "31415926\n") || put(so, "27182818\n"))
		goto out;
	setenv("SOFTHSM2_CONF", p, 1);
	p11_set_finalize(0);
	snprintf(p, sizeof(p), "pkcs11:token=BENCH?pin-source=file:%s", pin);
	if (p11_token_init(P11_DEFAULT_MODULE, "BENCH", so, pin, NULL, err, sizeof(err)) != P11_OK ||
	    p11_uri_parse(p, &u, err, sizeof(err)) != P11_OK ||
	    p11_token_open(&u, &opts, &tok, err, sizeof(err)) != P11_OK ||
	    p11_secret_keygen(tok, "capf-auth", &key, err, sizeof(err)) != P11_OK) {
		fprintf(stderr, "bench_authhash: token: %s\n", err);
		goto out;
	}
	p11_uri_clear(&u);
	mac.ctx = key;

	t0 = now_ms();
	for (int i = 0; i < ns; i++) {
		snprintf(s, sizeof(s), "%08d", 20000000 + i);
		if (capf_authhash_make(&h, s, strlen(s), NULL, err, sizeof(err)) != 0)
			goto fail;
	}
	scrypt_make = (now_ms() - t0) / ns;
	t0 = now_ms();
	if (capf_authhash_verify(&h, s, strlen(s), err, sizeof(err)) != 1)
		goto fail;
	scrypt_verify = now_ms() - t0;

	t0 = now_ms();
	for (int i = 0; i < nh; i++) {
		snprintf(s, sizeof(s), "%08d", 20000000 + i);
		if (capf_authhash_make_mac(&h, s, strlen(s), &mac, err, sizeof(err)) != 0)
			goto fail;
	}
	hmac_make = (now_ms() - t0) / nh;
	t0 = now_ms();
	for (int i = 0; i < 100; i++)
		if (capf_authhash_verify_mac(&h, s, strlen(s), &mac, err, sizeof(err)) != 1)
			goto fail;
	hmac_verify = (now_ms() - t0) / 100;

	printf("authentication string, store one: scrypt (N=2^15 r=8 p=1, before) %.1f ms; "
	       "token HMAC-SHA-256 (after) %.3f ms; %.0fx faster\n",
	       scrypt_make, hmac_make, scrypt_make / hmac_make);
	printf("authentication string, check one: scrypt %.1f ms; token HMAC %.3f ms\n", scrypt_verify,
	       hmac_verify);
	printf("10,000-device bulk with unique strings, hashing: scrypt %.0f s (from %d strings); "
	       "token HMAC %.2f s (measured over %d strings)\n",
	       scrypt_make * 10000 / 1e3, ns, hmac_make * 10000 / 1e3, nh);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "bench_authhash: %s\n", err);
out:
	p11_object_free(key);
	p11_token_close(tok);
	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	if (system(p) != 0)
		rc = 1;
	return rc;
}
