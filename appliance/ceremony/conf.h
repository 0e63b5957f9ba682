/*
 * appliance/ceremony/conf.h: the key ceremony's configuration, one reviewed
 * libconfig file that says what to create (see scripts/ceremony.example.conf).
 * Parsing is strict: unknown settings, wrong types, out-of-range values and
 * missing required settings are all reported, each with file:line and setting
 * (policy/cfgwalk.h, the reader capf.conf uses too).
 * Relative paths are resolved against a base directory (--dir).
 */
#ifndef CAPF_CEREMONY_CONF_H
#define CAPF_CEREMONY_CONF_H

#include <limits.h>
#include <stdbool.h>

#include "policy/errlist.h"

#define CER_OPERATORS_MAX 8
#define CER_STR_MAX 512

enum cer_output { CER_OUT_CERT = 0, CER_OUT_CSR };

struct cer_conf {
	char file[PATH_MAX];
	char name[CER_STR_MAX];
	char operators[CER_OPERATORS_MAX][CER_STR_MAX];
	int n_operators;
	char transcript[PATH_MAX];
	struct {
		char module[PATH_MAX];
		char label[33]; /* CK_TOKEN_INFO label: 32 bytes */
		char pin_file[PATH_MAX];
		bool init;                  /* development only: initialise a SoftHSM token */
		char softhsm_dir[PATH_MAX]; /* with init: where the token lives */
		char so_pin_file[PATH_MAX];
	} token;
	struct {
		char label[CER_STR_MAX];
		char type[16]; /* "rsa:2048" ... "ec:P-521" */
		char public_key[PATH_MAX];
	} key;
	struct { /* optional: audit checkpoint key ("" label: none) */
		char label[CER_STR_MAX];
		char type[16];
		char public_key[PATH_MAX];
	} audit_key;
	struct { /* optional: HMAC key of authentication strings */
		char label[CER_STR_MAX];
	} auth_key;
	enum cer_output output;
	struct {
		char subject[CER_STR_MAX];
		unsigned days;
		char digest[16]; /* sha256 | sha384 | sha512 */
		char out[PATH_MAX];
	} cert;
};

/* Parses path; relative paths in it become base/path. 0, or -1 with every error in errs. */
int cer_conf_load(struct cer_conf *c, const char *path, const char *base, struct capf_errlist *errs);

#endif
