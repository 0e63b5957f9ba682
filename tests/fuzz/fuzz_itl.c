/*
 * tests/fuzz/fuzz_itl.c: the ITL/CTL TLV codec on arbitrary bytes.
 * Oracles: every field a parse hands back lies inside the input and inside its
 * record; records tile the file after the header; what the signature covers is
 * the input without the SIGNATURE TLV; a record holding every field the builder
 * writes is rebuilt by itl_build_record into bytes that parse back to the same
 * fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "appliance/itl/itl.h"

static void inside(struct itl_bytes b, const uint8_t *lo, const uint8_t *hi)
{
	if (b.p != NULL && (b.p < lo || b.p + b.n > hi))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct itl_file f, g;
	size_t i, at;
	char err[256];
	uint8_t *sd;
	size_t sdlen;

	if (itl_parse(data, size, &f, err, sizeof(err)) != 0)
		return 0;
	inside(f.h.signature, data, data + f.h.length);
	inside(f.h.serial, data, data + f.h.length);
	inside(f.h.signer_name, data, data + f.h.length);
	if (itl_signed_data(data, size, &f, &sd, &sdlen) != 0 || sdlen != size - 3 - f.h.signature.n ||
	    memcmp(sd, data, f.h.sig_offset) != 0)
		abort();
	free(sd);
	for (at = f.h.length, i = 0; i < f.nrec; i++) {
		const struct itl_record *r = &f.r[i];
		const uint8_t *lo = data + r->offset, *hi = lo + r->length;
		struct itl_cert_fields c;
		static char subj[70000], iss[70000];
		uint8_t *rb;
		size_t rl;

		if (r->offset != at)
			abort();
		at += r->length;
		inside(r->certificate, lo, hi);
		inside(r->subject, lo, hi);
		inside(r->serial, lo, hi);
		if (!r->subject.p || !r->issuer.p || !r->serial.p || !r->public_key.p || !r->signature.p ||
		    !r->certificate.p || !itl_role_name(r->role))
			continue;
		memcpy(subj, r->subject.p, r->subject.n);
		subj[r->subject.n] = 0;
		memcpy(iss, r->issuer.p, r->issuer.n);
		iss[r->issuer.n] = 0;
		c = (struct itl_cert_fields){ .role = r->role,
					      .subject = subj,
					      .issuer = iss,
					      .serial = r->serial,
					      .public_key = r->public_key,
					      .signature = r->signature,
					      .certificate = r->certificate };
		if (itl_build_record(&c, &rb, &rl, err, sizeof(err)) != 0)
			continue; /* a field too large together */
		/* a lone record behind the parsed header parses back to the same certificate */
		{
			uint8_t *two = malloc(f.h.length + rl);

			memcpy(two, data, f.h.length);
			memcpy(two + f.h.length, rb, rl);
			if (itl_parse(two, f.h.length + rl, &g, err, sizeof(err)) != 0 || g.nrec != 1 ||
			    g.r[0].role != r->role || g.r[0].certificate.n != r->certificate.n ||
			    memcmp(g.r[0].certificate.p, r->certificate.p, r->certificate.n) != 0)
				abort();
			free(two);
		}
		free(rb);
	}
	if (at != size)
		abort();
	return 0;
}
