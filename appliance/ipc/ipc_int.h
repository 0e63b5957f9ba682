/* appliance/ipc/ipc_int.h: the IPC schema tables, internal to the IPC codec. */
#ifndef CAPF_IPC_INT_H
#define CAPF_IPC_INT_H

#include <stddef.h>
#include <stdint.h>

enum ipc_ftype { FT_U8 = 1, FT_U32, FT_U64, FT_I64, FT_STR, FT_BYTES, FT_NEST };

#define TF_REQUEST_ONLY 0x01 /* never in a response (secrets going in) */

struct ipc_tagdef {
	uint16_t tag;
	uint8_t type; /* enum ipc_ftype */
	uint8_t flags;
	uint32_t max; /* u8: largest value; str/bytes/nest: largest length */
	const char *name;
};

#define RF_REQUIRED 0x01 /* responses: required when STATUS is OK */
#define RF_REPEAT 0x02

struct ipc_rule {
	uint16_t tag; /* 0 ends a list */
	uint8_t flags;
};

/* Rules in one list at the most (the codec counts fields per rule in arrays of
 * this size): a longer list is refused by the codec and by ipc_schema_check. */
#define IPC_RULES_MAX 32

struct ipc_verbdef {
	uint16_t verb;
	const char *name;
	uint8_t roles;
	const struct ipc_rule *req;
	const struct ipc_rule *rsp;
};

const struct ipc_tagdef *ipc_tagdef(uint16_t tag);
const struct ipc_verbdef *ipc_verbdef(uint16_t verb);
/* The rules inside a nested field with this tag; NULL when tag is not nested. */
const struct ipc_rule *ipc_nest_rules(uint16_t tag);
/* STATUS, CAUSE, TEXT, RETRY_DELAY: allowed in every response. */
extern const struct ipc_rule ipc_response_common[];
/* The tables checked against each other: every list ended within IPC_RULES_MAX,
 * every tag in a list defined and listed once, every nested tag with its rules,
 * the common response rules holding STATUS, CAUSE, TEXT and RETRY_DELAY.
 * 0, or -1 with err naming the first fault. */
int ipc_schema_check(char *err, size_t errlen);

#endif
