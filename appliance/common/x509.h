/*
 * appliance/common/x509.h: certificates shown to people, the one way capfctl and
 * capf-signerd's admin verbs do it: names on one line (RFC 2253, UTF-8 left as is),
 * fingerprints (raw, or hex with a separator), the serial in hex, validity as
 * time_t and whole days left, a whole DER certificate parsed (the OpenSSL error
 * queue as one message: policy/osslerr.h).
 */
#ifndef CAPF_COMMON_X509_H
#define CAPF_COMMON_X509_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/types.h>

#include "policy/osslerr.h" /* capf_ossl_errors, for this header's users */

/* Subject / issuer on one line (RFC 2253); "" when it cannot be printed. Returns buf. */
const char *capf_x509_subject(const X509 *x, char *buf, size_t len);
const char *capf_x509_issuer(const X509 *x, char *buf, size_t len);
/* The digest md of the DER into out (EVP_MAX_MD_SIZE bytes): its length, or 0. */
unsigned capf_x509_fp_raw(const X509 *x, const EVP_MD *md, unsigned char *out);
/* The same in upper-case hex, bytes separated by sep (0: none), cut at len.
 * "" when the digest fails. Returns buf. */
const char *capf_x509_fp_hex(const X509 *x, const EVP_MD *md, char sep, char *buf, size_t len);
/* p[0..n) as upper-case hex, bytes separated by sep (0: none), only whole bytes
 * that fit in len. Returns buf. */
const char *capf_hex(const uint8_t *p, size_t n, char sep, char *buf, size_t len);
/* The serial in upper-case hex (as OpenSSL's BN_bn2hex), cut at len: the length
 * of the whole text (as snprintf), or -1 (nothing written) when it fails. */
int capf_x509_serial_hex(const X509 *x, char *buf, size_t len);
/* notBefore / notAfter as UTC time_t; 0 when missing or unreadable. */
time_t capf_x509_not_before(const X509 *x);
time_t capf_x509_not_after(const X509 *x);
time_t capf_asn1_time(const ASN1_TIME *t);
/* Whole days from now until t: cut down while t is ahead, counted up once t has
 * passed (a second past is -1). */
long capf_days_left(time_t t, time_t now);
/* A whole DER certificate (nothing after it), or NULL. */
X509 *capf_x509_from_der(const uint8_t *p, size_t n);

#endif
