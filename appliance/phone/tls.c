/*
 * appliance/phone/tls.c: the phone's TLS client context: it trusts only the
 * pinned CAPF certificate (or what chains to it), as phones pin the ITL's record.
 * The sessions themselves run in loop.c.
 */
#include <stdio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "appliance/phone/phone.h"
#include "appliance/phone/phone_int.h"

SSL_CTX *phone_tls_ctx(const char *capf_cert_file, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		capf_ossl_error_msg(err, errlen, "TLS context");
		return NULL;
	}
	if (SSL_CTX_load_verify_locations(ctx, capf_cert_file, NULL) != 1) {
		capf_ossl_error_msg(err, errlen, capf_cert_file);
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* the pinned certificate itself is a trust anchor: no chain to a root needed */
	X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
	/* whole TLS records per read() rather than header and body apart: fewer system calls */
	SSL_CTX_set_read_ahead(ctx, 1);
	return ctx;
}
