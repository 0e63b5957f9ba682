/*
 * tests/fuzz/fuzz_capf_codec.c: the CAPF wire codec on arbitrary bytes.
 * Oracles: (1) a message that parses is rebuilt element by element by the
 * builder into exactly the same bytes; (2) the incremental reader, fed the input
 * in pseudo-random pieces, yields the same messages, and fails at the same place,
 * as one-shot parsing of consecutive messages.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "appliance/capf/evidence.h"
#include "appliance/capf/msg.h"
#include "appliance/capf/reader.h"

static void check_elements(const struct capf_msg *m)
{
	struct capf_elem e;
	struct capf_wrapped_cert c;
	struct capf_sha2_sig s2;
	struct capf_sudi sd;
	struct capf_auth_response a;
	size_t pos = 0, n = 0;
	char err[128];
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	const char *s;
	size_t slen;

	while (capf_msg_next(m, &pos, &e)) {
		n++;
		capf_elem_u8(&e, &v8, err, sizeof(err));
		capf_elem_u16(&e, &v16, err, sizeof(err));
		capf_elem_uint(&e, &v32, err, sizeof(err));
		if (capf_elem_cstr(&e, CAPF_NAME_MAX, &s, &slen, err, sizeof(err)) == 0 && strlen(s) != slen)
			abort();
		if (e.tag == CAPF_TAG_CERTIFICATE &&
		    capf_cert_unwrap(e.val, e.len, &c, err, sizeof(err)) == 0 && c.der_len + 5 != e.len)
			abort();
		if (e.tag == CAPF_TAG_SHA2_SIGNED_DATA &&
		    capf_sha2_parse(e.val, e.len, &s2, err, sizeof(err)) == 0 && s2.sig_len + 3 != e.len)
			abort();
		if (e.tag == CAPF_TAG_SUDI_DATA && capf_sudi_parse(e.val, e.len, &sd, err, sizeof(err)) == 0 &&
		    (sd.cert == NULL || sd.cert + sd.cert_len > e.val + e.len))
			abort();
	}
	if (n != m->nelem)
		abort();
	if (capf_auth_response_parse(m, &a, err, sizeof(err)) == 0 &&
	    (a.device_name_len == 0 || strlen(a.device_name) != a.device_name_len))
		abort();
}

static void rebuild(const struct capf_msg *m, const uint8_t *orig, size_t len)
{
	struct capf_builder b;
	struct capf_elem e;
	const uint8_t *out;
	size_t pos = 0, outlen;
	char err[128];

	if (capf_build_init(&b, m->command, m->session_id, 0) != 0)
		abort();
	while (capf_msg_next(m, &pos, &e))
		if (capf_build_put(&b, e.tag, e.val, e.len) != 0)
			abort();
	if (capf_build_finish(&b, &out, &outlen, err, sizeof(err)) != 0 || outlen != len ||
	    memcmp(out, orig, len) != 0)
		abort();
	capf_build_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct capf_msg m, rm;
	struct capf_reader *r;
	size_t off = 0, used, cap;
	uint32_t seed = 2166136261u;
	char err[160];
	int rc;

	if (size < 1)
		return 0;
	/* first byte picks the body cap (so caps are exercised) */
	cap = data[0] & 1 ? CAPF_BODY_CAP_DEFAULT : (data[0] & 2 ? 64 : 0);
	data++;
	size--;

	/* one-shot parsing of consecutive messages, with the reader alongside */
	r = capf_reader_new(cap);
	if (r == NULL)
		return 0;
	size_t roff = 0;
	for (;;) {
		rc = capf_msg_parse(&m, data + off, size - off, cap, &used, err, sizeof(err));
		/* the reader: pieces of pseudo-random size until a message or an error */
		int rrc = 0;
		while (roff < size) {
			size_t piece, u;

			seed = (seed ^ data[roff]) * 16777619u;
			piece = 1 + seed % 17;
			if (piece > size - roff)
				piece = size - roff;
			rrc = capf_reader_feed(r, data + roff, piece, &u, &rm, err, sizeof(err));
			roff += u;
			if (rrc != 0)
				break;
		}
		if (rc == 0) {
			if (rrc != 1 || rm.command != m.command || rm.session_id != m.session_id ||
			    rm.body_len != m.body_len || memcmp(rm.body, m.body, m.body_len) != 0 ||
			    roff != off + used)
				abort();
			check_elements(&m);
			rebuild(&m, data + off, used);
			off += used;
			if (off == size)
				break;
			continue;
		}
		if (rc == CAPF_E_TRUNCATED) {
			/* the reader consumed everything and waits for more, or (empty tail) nothing */
			if (rrc != 0 || roff != size)
				abort();
		} else if (rrc != rc) {
			abort();
		}
		break;
	}
	capf_reader_free(r);
	return 0;
}
