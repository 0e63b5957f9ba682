/* tests/fuzz/fuzz_policy_config.c: the capf.conf parser on arbitrary text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/*
 * libconfig 1.5 leaks the buffer of a string token that a syntax error leaves
 * unconsumed (its grammar has no %destructor); that is the library's, not ours.
 * Only allocations made inside libconfig's scanner (strbuf_append, yylex) are excused.
 */
const char *__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\nleak:libconfig_yylex\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct capf_conf c;
	/* one list for every input (cleared): a new one is 32 KiB to allocate and zero */
	static struct capf_errlist *e;
	char buf[4096];

	if (e == NULL && (e = capf_errlist_new()) == NULL)
		abort();
	capf_errlist_clear(e);
	if (capf_conf_parse(&c, (const char *)data, size, "fuzz.conf", e) == 0) {
		/* a valid config is consistent */
		if (capf_errlist_count(e) != 0 || c.lsc.validity_days < 1 || c.lsc.validity_days > 1825 ||
		    c.lsc.serial_bits < 64 || c.lsc.serial_bits > 159 ||
		    c.auth.string_min > c.auth.string_max || c.keys.n_rsa_bits > CAPF_CONF_RSA_MAX ||
		    c.signer.sessions < c.signer.workers || (!c.devices.sep && !c.devices.jabber))
			abort();
		for (size_t i = 0; i < c.keys.n_rsa_bits; i++)
			if (c.keys.rsa_bits[i] < 2048 && !c.keys.allow_weak_rsa)
				abort();
	} else if (capf_errlist_count(e) == 0) {
		abort(); /* a failure always says why */
	}
	capf_errlist_join(e, "\n", buf, sizeof(buf));
	return 0;
}
