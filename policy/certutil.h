/*
 * policy/certutil.h: the X.509 pieces every certificate profile uses (the LSC,
 * the CAPF CA, the TLS certificate): the one ASN1_TIME <-> time_t conversion and
 * the one serial-number generator, whose random source can be replaced (tests).
 */
#ifndef CAPF_POLICY_CERTUTIL_H
#define CAPF_POLICY_CERTUTIL_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* t as UTC seconds into *out: 0, or -1 (nothing written) when t is NULL or
 * unreadable. */
int capf_asn1_to_time(const ASN1_TIME *t, time_t *out);
/* Sets a certificate's validity from UTC seconds (UTCTime through 2049,
 * GeneralizedTime from 2050, as RFC 5280 asks). 1, or 0 on failure. */
int capf_cert_set_validity(X509 *x, time_t not_before, time_t not_after);

/* The extension nid = val (OpenSSL's configuration syntax, issuer and subject
 * from ctx) added to x, or, x NULL, to *sk (a request's extensions). 1 or 0. */
int capf_cert_add_ext(X509V3_CTX *ctx, STACK_OF(X509_EXTENSION) * *sk, X509 *x, int nid, const char *val);

/* A random source: n bytes into buf, 1 on success (RAND_bytes' contract). */
typedef int capf_random_fn(void *arg, unsigned char *buf, size_t n);
/* A positive serial of bits random bits (64..159), drawn again while it is below
 * 2^(bits - 32) (so it keeps its size and at least bits - 32 random bits), into
 * serial. rnd NULL: OpenSSL's CSPRNG. 1, or 0 (bits out of range, the source failed). */
int capf_serial_random(ASN1_INTEGER *serial, unsigned bits, capf_random_fn *rnd, void *arg);

#endif
