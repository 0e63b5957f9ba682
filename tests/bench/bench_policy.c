/* tests/bench/bench_policy.c: what the policy costs per issuance in CPU time (no token,
 * thread CPU clock, so a busy machine does not skew it): decode the
 * phone's key, build, lint, sign in software, lint again (what capf-signerd does per LSC). Prints
 * figures; asserts nothing about speed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "policy/chain.h"
#include "policy/config.h"
#include "policy/lsc.h"
#include "policy/pubkey.h"
#include "tests/unit/policy_pki.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run(const char *ca_spec, const char *phone_spec, int n)
{
	struct capf_conf conf;
	struct pki_world w;
	struct capf_ca *ca;
	STACK_OF(X509) *chain = sk_X509_new_null();
	struct capf_errlist *e = capf_errlist_new();
	time_t t = time(NULL);
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(pki_key(phone_spec), &der);
	double t_policy = 0, t_sign = 0, t0;
	char err[512];

	capf_conf_defaults(&conf);
	pki_world_make(&w, t, ca_spec, 3650);
	sk_X509_push(chain, w.inter);
	sk_X509_push(chain, w.root);
	if (capf_ca_from_x509(w.capf, chain, t, &ca, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	for (int i = 0; i < n; i++) {
		const EVP_MD *md;
		t0 = now_s();
		EVP_PKEY *k = capf_pubkey_decode(&conf, der, (size_t)len, NULL, err, sizeof(err));
		struct capf_lsc_input in = { "SEP001122334455", der, (size_t)len, t };
		X509 *x = capf_lsc_build(&conf, ca, &in, &md, err, sizeof(err));
		if (k == NULL || x == NULL || capf_lsc_lint(&conf, ca, &in, x, e) != 0)
			exit(1);
		t_policy += now_s() - t0;
		t0 = now_s();
		X509_sign(x, w.capf_key, md);
		t_sign += now_s() - t0;
		t0 = now_s();
		if (capf_lsc_lint(&conf, ca, &in, x, e) != 0)
			exit(1);
		t_policy += now_s() - t0;
		X509_free(x);
		EVP_PKEY_free(k);
	}
	printf("policy CA %-8s phone %-8s: %d issuances; policy (decode+build+lint+lint) %.0f us CPU each "
	       "(%.0f/s per core); software signing %.0f us CPU each\n",
	       ca_spec, phone_spec, n, t_policy / n * 1e6, n / t_policy, t_sign / n * 1e6);
	OPENSSL_free(der);
	capf_errlist_free(e);
	capf_ca_free(ca);
	sk_X509_free(chain);
	pki_world_free(&w);
}

int main(void)
{
	struct capf_conf conf;
	struct capf_errlist *e = capf_errlist_new();
	double t0;
	int n = 200;

	run("RSA:2048", "RSA:2048", 500);
	run("RSA:2048", "EC:P-256", 500);
	run("EC:P-256", "EC:P-256", 500);
	run("EC:P-384", "RSA:2048", 500);
	{
		static char text[CAPF_CONF_FILE_MAX + 1];
		FILE *f = fopen("policy/capf.conf.example", "r");
		size_t len = f != NULL ? fread(text, 1, sizeof(text) - 1, f) : 0;

		if (f == NULL)
			return 1;
		fclose(f);
		t0 = now_s();
		for (int i = 0; i < n; i++)
			if (capf_conf_parse(&conf, text, len, "policy/capf.conf.example", e) != 0)
				return 1;
	}
	printf("config: capf.conf.example parsed in %.0f us CPU\n", (now_s() - t0) / n * 1e6);
	capf_errlist_free(e);
	return 0;
}
