/*
 * tests/fuzz/fuzz_ipc_codec.c: the IPC codec on arbitrary bytes, as a request
 * (both roles) and as a response. Oracle: a message that decodes is re-encoded
 * field by field (nested ones through nest_begin/end) by the builder, which
 * must accept it and produce exactly the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "appliance/ipc/ipc.h"
#include "appliance/ipc/ipc_int.h"

static void put_field(struct capf_ipc_builder *b, const struct capf_ipc_field *f, int depth)
{
	const struct ipc_tagdef *t = ipc_tagdef(f->tag);
	char s[70000];
	int rc = 0;

	if (t == NULL)
		abort();
	switch (t->type) {
	case FT_U8:
		rc = capf_ipc_put_u8(b, f->tag, capf_ipc_field_u8(f));
		break;
	case FT_U32:
		rc = capf_ipc_put_u32(b, f->tag, capf_ipc_field_u32(f));
		break;
	case FT_U64:
		rc = capf_ipc_put_u64(b, f->tag, capf_ipc_field_u64(f));
		break;
	case FT_I64:
		rc = capf_ipc_put_i64(b, f->tag, capf_ipc_field_i64(f));
		break;
	case FT_STR:
		if (capf_ipc_field_str(f, s, sizeof(s)) != 0)
			abort();
		rc = capf_ipc_put_str(b, f->tag, s);
		break;
	case FT_BYTES:
		rc = capf_ipc_put_bytes(b, f->tag, f->val, f->len);
		break;
	case FT_NEST: {
		struct capf_ipc_msg sub;
		char err[160];

		if (depth > 0 || capf_ipc_decode_nested(f, &sub, err, sizeof(err)) != 0)
			abort();
		rc = capf_ipc_nest_begin(b, f->tag);
		for (size_t i = 0; i < sub.nfields; i++)
			put_field(b, &sub.fields[i], depth + 1);
		if (rc == 0)
			rc = capf_ipc_nest_end(b);
		capf_ipc_msg_free(&sub);
		break;
	}
	default:
		abort();
	}
	if (rc != 0)
		abort();
}

static void reencode(const struct capf_ipc_msg *m, const uint8_t *data, size_t size)
{
	struct capf_ipc_builder b;
	const uint8_t *out;
	size_t outlen;
	char err[160];
	size_t start = 0;

	if (m->flags & CAPF_IPC_FLAG_RESPONSE) {
		if (capf_ipc_build_response(&b, m, m->status) != 0)
			abort();
		/* build_response put STATUS first; the input may have it elsewhere */
		b.len = CAPF_IPC_HEADER_LEN;
	} else if (capf_ipc_build_request(&b, m->verb, m->id) != 0) {
		abort();
	}
	for (size_t i = start; i < m->nfields; i++)
		put_field(&b, &m->fields[i], 0);
	if (capf_ipc_build_finish(&b, &out, &outlen, err, sizeof(err)) != 0 || outlen != size ||
	    memcmp(out, data, size) != 0)
		abort();
	capf_ipc_builder_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct capf_ipc_msg m;
	char err[160];
	uint8_t v8;
	uint32_t v32;
	uint64_t v64;
	const uint8_t *p;
	size_t plen;
	char s[128];

	if (capf_ipc_decode_request(&m, data, size, CAPF_IPC_ROLE_FRONT | CAPF_IPC_ROLE_ADMIN, err,
				    sizeof(err)) == 0) {
		if ((capf_ipc_verb_roles(m.verb) & (CAPF_IPC_ROLE_FRONT | CAPF_IPC_ROLE_ADMIN)) == 0)
			abort();
		capf_ipc_get_u8(&m, CAPF_IPC_T_KEY_TYPE, &v8);
		capf_ipc_get_u32(&m, CAPF_IPC_T_CAPF_SESSION, &v32);
		capf_ipc_get_u64(&m, CAPF_IPC_T_TOKEN, &v64);
		capf_ipc_get_bytes(&m, CAPF_IPC_T_CERT, &p, &plen);
		capf_ipc_get_str(&m, CAPF_IPC_T_DEVICE_NAME, s, sizeof(s));
		reencode(&m, data, size);
		capf_ipc_msg_free(&m);
	}
	if (size >= CAPF_IPC_HEADER_LEN) {
		uint16_t verb = (uint16_t)(data[2] << 8 | data[3]);
		uint32_t id =
			(uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 | (uint32_t)data[6] << 8 | data[7];

		if (capf_ipc_decode_response(&m, data, size, verb, id, err, sizeof(err)) == 0) {
			if (m.status > CAPF_IPC_ERROR)
				abort();
			reencode(&m, data, size);
			capf_ipc_msg_free(&m);
		}
	}
	return 0;
}
