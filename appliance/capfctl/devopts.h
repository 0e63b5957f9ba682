/*
 * appliance/capfctl/devopts.h: the device settings options shared by
 * `capfctl device add|set` and `capfctl bulk --pattern`.
 */
#ifndef CAPF_CAPFCTL_DEVOPTS_H
#define CAPF_CAPFCTL_DEVOPTS_H

#include <time.h>

#include "appliance/capfctl/capfctl.h"
#include "appliance/store/authhash.h"

enum {
	DEVOPT_OP = 1100,
	DEVOPT_AUTH,
	DEVOPT_AUTH_FILE,
	DEVOPT_GENERATE,
	DEVOPT_AUTH_OUT,
	DEVOPT_KEY_ORDER,
	DEVOPT_RSA_BITS,
	DEVOPT_CURVE,
	DEVOPT_DEADLINE,
};

#define CTL_DEVOPTS_LONGOPTS                                                                            \
	{ "op", required_argument, NULL, DEVOPT_OP }, { "auth", required_argument, NULL, DEVOPT_AUTH }, \
		{ "auth-string-file", required_argument, NULL, DEVOPT_AUTH_FILE },                      \
		{ "generate-auth-string", no_argument, NULL, DEVOPT_GENERATE },                         \
		{ "auth-string-out", required_argument, NULL, DEVOPT_AUTH_OUT },                        \
		{ "key-order", required_argument, NULL, DEVOPT_KEY_ORDER },                             \
		{ "rsa-bits", required_argument, NULL, DEVOPT_RSA_BITS },                               \
		{ "curve", required_argument, NULL, DEVOPT_CURVE },                                     \
	{                                                                                               \
		"deadline", required_argument, NULL, DEVOPT_DEADLINE                                    \
	}

#define CTL_DEVOPTS_HELP                                                                                \
	"Settings:\n"                                                                                   \
	"  --op install|delete|fetch|none   Certificate Operation (Install/Upgrade, Delete,\n"          \
	"                                   Troubleshoot, No Pending Operation)\n"                      \
	"  --auth null|string|lsc-first|mic-first\n"                                                    \
	"                                   Authentication Mode (By Null String, By Authentication\n"   \
	"                                   String, By Existing Certificate: LSC first / MIC first)\n"  \
	"  --auth-string-file FILE          the authentication string, first line of FILE\n"            \
	"                                   (owned by you, mode 0600; never on the command line)\n"     \
	"  --generate-auth-string           generate one (CSPRNG digits, policy length) and print it\n" \
	"                                   once on stdout, or write it to --auth-string-out FILE\n"    \
	"                                   (created 0600, never overwritten)\n"                        \
	"  --key-order rsa|ec|ec-rsa        RSA Only, EC Only, EC Preferred RSA Backup\n"               \
	"  --rsa-bits N                     RSA modulus size (policy: keys.rsa_bits)\n"                 \
	"  --curve P-256|P-384|P-521        EC curve (policy: keys.ec_curves)\n"                        \
	"  --deadline \"YYYY-MM-DD HH:00\"    Operation Completes By, UTC, on the hour, at least one\n" \
	"                                   hour ahead (default: now + deadline.default_days)\n"

struct ctl_devopts {
	int op, auth, key_order, curve; /* -1: not given */
	long rsa_bits;                  /* -1: not given */
	int has_deadline;
	time_t deadline;
	const char *auth_file, *auth_out;
	int generate;
};

void ctl_devopts_init(struct ctl_devopts *o);
/* 0, or CTL_USAGE after printing; -1: not a device option. */
int ctl_devopts_parse(struct ctl_devopts *o, int opt, const char *arg, const char *cmd);
int ctl_devopts_check(const struct ctl_devopts *o, const char *cmd);
void ctl_devopts_put(const struct ctl_devopts *o, struct capf_ipc_builder *b, const char *auth);

int ctl_walk_devices(struct ctl *c, const char *cmd, uint16_t verb,
		     void (*put_filters)(struct capf_ipc_builder *, void *), void *farg,
		     int (*cb)(const struct ctl_device *, void *), void *arg, uint32_t *total);

#endif
