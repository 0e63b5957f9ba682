/* tests/unit/test_policy_config.c: capf.conf parsing, defaults and every error message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "policy/config.h"
#include "tests/unit/policy_pki.h"

static struct capf_conf conf;

static void dump(const struct capf_errlist *l)
{
	for (size_t i = 0; i < capf_errlist_count(l); i++)
		fprintf(stderr, "  got: %s\n", capf_errlist_get(l, i));
}

static void test_defaults(void **state)
{
	struct capf_errlist *e = capf_errlist_new();

	assert_int_equal(capf_conf_parse(&conf, "", 0, "empty.conf", e), 0);
	assert_int_equal(capf_errlist_count(e), 0);
	assert_int_equal(conf.lsc.validity_days, 1825);
	assert_int_equal(conf.lsc.beyond_ca, CAPF_BEYOND_CA_TRUNCATE);
	assert_int_equal(conf.lsc.digest, CAPF_DIGEST_SHA256);
	assert_int_equal(conf.lsc.serial_bits, 128);
	assert_int_equal(conf.lsc.backdate_seconds, 300);
	assert_int_equal(conf.lsc.copy_subject,
			 CAPF_SUBJ_O | CAPF_SUBJ_OU | CAPF_SUBJ_L | CAPF_SUBJ_ST | CAPF_SUBJ_C);
	assert_int_equal(conf.keys.n_rsa_bits, 3);
	assert_int_equal(conf.keys.rsa_bits[0], 2048);
	assert_int_equal(conf.keys.rsa_bits[1], 3072);
	assert_int_equal(conf.keys.rsa_bits[2], 4096);
	assert_false(conf.keys.allow_weak_rsa);
	assert_true(capf_conf_curve_allowed(&conf, CAPF_CURVE_P256));
	assert_true(capf_conf_curve_allowed(&conf, CAPF_CURVE_P384));
	assert_true(capf_conf_curve_allowed(&conf, CAPF_CURVE_P521));
	assert_false(capf_conf_rsa_allowed(&conf, 1024));
	assert_true(capf_conf_rsa_allowed(&conf, 2048));
	assert_int_equal(conf.keys.default_key_order, CAPF_KEYORDER_RSA_ONLY);
	assert_int_equal(conf.keys.default_rsa_bits, 2048);
	assert_int_equal(conf.keys.default_curve, CAPF_CURVE_P256);
	assert_true(conf.devices.sep);
	assert_true(conf.devices.jabber);
	assert_int_equal(conf.devices.max_name_length, 15);
	assert_int_equal(conf.auth.string_min, 4);
	assert_int_equal(conf.auth.string_max, 10);
	assert_true(conf.auth.digits_only);
	assert_int_equal(conf.auth.max_failed_attempts, 5);
	assert_int_equal(conf.deadline.min_lead_hours, 1);
	assert_int_equal(conf.deadline.default_days, 10);
	assert_int_equal(conf.deadline.max_days, 365);
	assert_int_equal(conf.tls.min_version, 0x0303);
	assert_string_equal(capf_tls_version_name(conf.tls.min_version), "1.2");
	assert_string_equal(conf.token.module, "/usr/lib/softhsm/libsofthsm2.so");
	assert_string_equal(conf.ca.chain, "");
	assert_string_equal(conf.sockets.dir, "/run/capf");
	assert_int_equal(conf.sockets.front_uids.n, 0);
	assert_string_equal(conf.front.listen, "0.0.0.0:3804");
	assert_int_equal(conf.front.max_connections, 10000);
	assert_int_equal(conf.front.handshake_timeout, 10);
	assert_int_equal(conf.front.idle_timeout, 60);
	assert_int_equal(conf.front.keygen_timeout, 300);
	assert_int_equal(conf.front.retry_delay, 60);
	assert_int_equal(conf.front.max_per_address, 64);
	assert_int_equal(conf.front.max_handshakes, 1024);
	assert_int_equal(conf.front.session_timeout, 600);
	assert_int_equal(conf.signer.workers, 16);
	assert_int_equal(conf.signer.sessions, 16);
	assert_string_equal(conf.source, "empty.conf");
	capf_errlist_free(e);
}

/* The shipped example parses, and (all commented) gives exactly the defaults. */
static void test_example_file(void **state)
{
	struct capf_conf d;
	struct capf_errlist *e = capf_errlist_new();

	static char text[CAPF_CONF_FILE_MAX + 1];
	FILE *f = fopen("policy/capf.conf.example", "r");
	size_t len;

	assert_non_null(f);
	len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	capf_conf_defaults(&d);
	if (capf_conf_parse(&conf, text, len, "policy/capf.conf.example", e) != 0)
		dump(e);
	assert_int_equal(capf_errlist_count(e), 0);
	snprintf(d.source, sizeof(d.source), "policy/capf.conf.example");
	assert_memory_equal(&conf, &d, sizeof(d));
	capf_errlist_free(e);
}

/* The example documents every setting with its default: uncommenting every
 * "# name = value;" line gives a file that parses to exactly the defaults. */
static void test_example_documents_defaults(void **state)
{
	FILE *fp = fopen("policy/capf.conf.example", "r");
	char line[512], *out = calloc(1, 64 * 1024);
	size_t off = 0;
	int settings = 0;
	struct capf_conf d;
	struct capf_errlist *e = capf_errlist_new();

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *p = line + strspn(line, " \t");
		size_t n = 0;
		if (p[0] == '#' && p[1] == ' ') {
			n = strspn(p + 2, "abcdefghijklmnopqrstuvwxyz_");
			if (n > 0 && strncmp(p + 2 + n, " = ", 3) == 0) {
				memmove(p, p + 2, strlen(p + 2) + 1);
				settings++;
			}
		}
		off += (size_t)snprintf(out + off, 64 * 1024 - off, "%s", line);
	}
	fclose(fp);
	assert_int_equal(settings, 56); /* every setting of the table in config.c */
	if (capf_conf_parse(&conf, out, off, "example-uncommented", e) != 0)
		dump(e);
	assert_int_equal(capf_errlist_count(e), 0);
	capf_conf_defaults(&d);
	snprintf(d.source, sizeof(d.source), "example-uncommented");
	assert_memory_equal(&conf, &d, sizeof(d));
	free(out);
	capf_errlist_free(e);
}

static const char full_text[] =
	"token = { module = \"/usr/lib/x/p11.so\"; ca_key_uri = \"pkcs11:token=t;object=k\";\n"
	"  pin_source = \"file:/etc/capf/pin\"; };\n"
	"ca = { certificate = \"/etc/capf/ca.pem\"; chain = \"/etc/capf/chain.pem\"; };\n"
	"tls = { certificate = \"/etc/capf/tls.pem\"; key = \"pkcs11:object=tls\"; min_version = \"1.0\"; };\n"
	"sockets = { dir = \"/run/x\"; front_uids = [998]; front_gids = [ 997, 996 ];\n"
	"  admin_uids = [0]; admin_gids = []; };\n"
	"store = { path = \"/var/lib/x.db\"; };\n"
	"lsc = { validity_days = 365; beyond_ca = \"refuse\"; digest = \"sha384\"; serial_bits = 159;\n"
	"  backdate_seconds = 0; copy_subject = [\"C\", \"O\"]; };\n"
	"keys = { rsa_bits = [4096, 1024, 2048]; allow_weak_rsa = true; ec_curves = [\"secp384r1\"];\n"
	"  default_key_order = \"ec-rsa\"; default_rsa_bits = 4096; default_curve = \"P-384\"; };\n"
	"devices = { sep = false; jabber = true; max_name_length = 20; };\n"
	"auth = { string_min = 6; string_max = 8; digits_only = false; max_failed_attempts = 3;\n"
	"  require_sudi = [\"mic-first\", \"lsc-first\"]; };\n"
	"deadline = { min_lead_hours = 0; default_days = 5; max_days = 30; };\n"
	"mic = { ca_dir = \"\"; };\n"
	"front = { listen = \"[::1]:4804\"; max_connections = 50000; handshake_timeout = 5; idle_timeout = 30; keygen_timeout = 600;\n"
	"  retry_delay = 30; max_handshakes = 256; };\n"
	"signer = { workers = 4; sessions = 8; };\n";

/* token.env and token.network as the daemon reads them. */
static void test_token_env(void **state)
{
	static const char text[] = "token = { env = [\"P11_KIT_SERVER_ADDRESS=unix:path=/run/p/s\", "
				   "\"VENDOR_CONF\"]; network = true; };";
	struct capf_errlist *e = capf_errlist_new();

	if (capf_conf_parse(&conf, text, strlen(text), "env.conf", e) != 0)
		dump(e);
	assert_int_equal(capf_errlist_count(e), 0);
	assert_int_equal(conf.token.n_env, 2);
	assert_string_equal(conf.token.env[0], "P11_KIT_SERVER_ADDRESS=unix:path=/run/p/s");
	assert_string_equal(conf.token.env[1], "VENDOR_CONF");
	assert_true(conf.token.network);
	capf_conf_defaults(&conf);
	assert_int_equal(conf.token.n_env, 0);
	assert_false(conf.token.network);
	capf_errlist_free(e);
}

static void test_full_file(void **state)
{
	struct capf_errlist *e = capf_errlist_new();

	if (capf_conf_parse(&conf, full_text, strlen(full_text), "full.conf", e) != 0)
		dump(e);
	assert_int_equal(capf_errlist_count(e), 0);
	assert_string_equal(conf.token.module, "/usr/lib/x/p11.so");
	assert_string_equal(conf.token.ca_key_uri, "pkcs11:token=t;object=k");
	assert_string_equal(conf.token.pin_source, "/etc/capf/pin");
	assert_string_equal(conf.ca.chain, "/etc/capf/chain.pem");
	assert_string_equal(conf.tls.key, "pkcs11:object=tls");
	assert_int_equal(conf.tls.min_version, 0x0301);
	assert_int_equal(conf.sockets.front_uids.n, 1);
	assert_int_equal(conf.sockets.front_uids.ids[0], 998);
	assert_int_equal(conf.sockets.front_gids.n, 2);
	assert_int_equal(conf.sockets.admin_gids.n, 0);
	assert_int_equal(conf.lsc.validity_days, 365);
	assert_int_equal(conf.lsc.beyond_ca, CAPF_BEYOND_CA_REFUSE);
	assert_int_equal(conf.lsc.digest, CAPF_DIGEST_SHA384);
	assert_int_equal(conf.lsc.serial_bits, 159);
	assert_int_equal(conf.lsc.backdate_seconds, 0);
	assert_int_equal(conf.lsc.copy_subject, CAPF_SUBJ_C | CAPF_SUBJ_O);
	assert_int_equal(conf.keys.n_rsa_bits, 3);
	assert_int_equal(conf.keys.rsa_bits[0], 1024); /* sorted */
	assert_int_equal(conf.keys.rsa_bits[2], 4096);
	assert_int_equal(conf.keys.ec_curves, 1u << CAPF_CURVE_P384);
	assert_int_equal(conf.keys.default_key_order, CAPF_KEYORDER_EC_PREFERRED);
	assert_int_equal(conf.keys.default_curve, CAPF_CURVE_P384);
	assert_false(conf.devices.sep);
	assert_int_equal(conf.devices.max_name_length, 20);
	assert_int_equal(conf.auth.string_min, 6);
	assert_false(conf.auth.digits_only);
	assert_int_equal(conf.auth.max_failed_attempts, 3);
	assert_int_equal(conf.auth.require_sudi, 1u << CAPF_AUTH_MIC_FIRST | 1u << CAPF_AUTH_LSC_FIRST);
	assert_int_equal(conf.deadline.max_days, 30);
	assert_string_equal(conf.mic.ca_dir, "");
	assert_string_equal(conf.front.listen, "[::1]:4804");
	assert_int_equal(conf.front.max_connections, 50000);
	assert_int_equal(conf.front.keygen_timeout, 600);
	/* session_timeout unset: follows handshake + keygen + 2 * idle, + 60 */
	assert_int_equal(conf.front.session_timeout, 5 + 600 + 60 + 60);
	assert_int_equal(conf.front.max_handshakes, 256);
	assert_int_equal(conf.signer.sessions, 8);
	/* peers */
	assert_true(capf_conf_peer_allowed(&conf, CAPF_ROLE_FRONT, 998, 5));
	assert_true(capf_conf_peer_allowed(&conf, CAPF_ROLE_FRONT, 5, 996));
	assert_false(capf_conf_peer_allowed(&conf, CAPF_ROLE_FRONT, 0, 0));
	assert_true(capf_conf_peer_allowed(&conf, CAPF_ROLE_ADMIN, 0, 0));
	assert_false(capf_conf_peer_allowed(&conf, CAPF_ROLE_ADMIN, 998, 997));
	capf_errlist_free(e);
}

/* front.listen's message after the value */
#define LISTEN_ALLOWED                                                      \
	" is not allowed (expected a numeric address and a port 1..65535: " \
	"\"IPV4:PORT\" or \"[IPV6]:PORT\", e.g. \"0.0.0.0:3804\", \"[::]:3804\")"

/* One line of text that must fail, and the message it must give (file:line: path: ...). */
struct bad {
	const char *text;
	const char *want;
};

static const struct bad bad_cases[] = {
	/* token.env, token.network */
	{ "token = { env = [\"LD_PRELOAD=/x.so\"]; };", "token.env[0]: \"LD_PRELOAD\" is not allowed" },
	{ "token = { env = [\"A\", \"PATH\"]; };", "token.env[1]: \"PATH\" is not allowed" },
	{ "token = { env = [\"1A=b\"]; };", "token.env[0]: \"1A=b\": expected \"NAME\" or \"NAME=VALUE\"" },
	{ "token = { env = [\"=b\"]; };", "token.env[0]: \"=b\": expected" },
	{ "token = { env = [\"A-B\"]; };", "token.env[0]: \"A-B\": expected" },
	{ "token = { env = [\"A=1\", \"A\"]; };", "token.env[1]: A is listed twice" },
	{ "token = { env = [1]; };", "token.env[0]" },
	{ "token = { env = \"A\"; };", "token.env: expected an array" },
	{ "token = { network = 1; };", "token.network: expected true or false" },
	/* syntax */
	{ "lsc = { validity_days = ; };", "bad.conf:1: syntax error" },
	{ "\n\nlsc = { validity_days = 5 6; };", "bad.conf:3: syntax error" },
	{ "lsc = { validity_days = 5; validity_days = 6; };", "bad.conf:1: syntax error" },
	{ "@include \"/etc/passwd\"\n", "bad.conf:1: @include is not allowed" },
	/* unknown settings at every level */
	{ "tokn = { };", "bad.conf:1: tokn: unknown setting (known groups: token, ca," },
	{ "validity_days = 5;", "bad.conf:1: validity_days: unknown setting" },
	{ "\nlsc = {\n  validty_days = 5;\n};",
	  "bad.conf:3: lsc.validty_days: unknown setting (known in lsc: validity_days, beyond_ca," },
	{ "lsc = { x = { y = 1; }; };", "bad.conf:1: lsc.x: unknown setting" },
	/* wrong types */
	{ "lsc = 5;", "bad.conf:1: lsc: expected a group { ... }, found an integer" },
	{ "lsc = { validity_days = \"10\"; };",
	  "bad.conf:1: lsc.validity_days: expected an integer (1..1825), found a string" },
	{ "lsc = { validity_days = 10.5; };",
	  "lsc.validity_days: expected an integer (1..1825), found a floating-point number" },
	{ "devices = { sep = 1; };", "bad.conf:1: devices.sep: expected true or false, found an integer" },
	{ "store = { path = 5; };", "store.path: expected a string, found an integer" },
	{ "keys = { rsa_bits = 2048; };",
	  "keys.rsa_bits: expected an array [ ... ] of RSA sizes, found an integer" },
	{ "keys = { ec_curves = [1]; };", "keys.ec_curves[0]: expected a string, found an integer" },
	{ "lsc = { digest = sha256; };", "bad.conf:1: syntax error" },
	{ "store = {\n path = \"/x; };\n", "bad.conf:2: syntax error: unterminated string" },
	/* ranges */
	{ "lsc = { validity_days = 0; };", "lsc.validity_days: 0 is out of range (allowed: 1..1825)" },
	{ "lsc = { validity_days = 1826; };", "lsc.validity_days: 1826 is out of range (allowed: 1..1825)" },
	{ "lsc = { validity_days = -1; };", "lsc.validity_days: -1 is out of range" },
	{ "lsc = { validity_days = 99999999999L; };", "lsc.validity_days: 99999999999 is out of range" },
	/* libconfig 1.5 would wrap these to 1 */
	{ "lsc = {\n validity_days = 4294967297; };",
	  "bad.conf:2: the integer 4294967297 is too large for a plain integer" },
	{ "lsc = { validity_days = 0x100000001; };", "bad.conf:1: the integer 0x100000001 is too large" },
	{ "lsc = { validity_days = 2147483648; };", "the integer 2147483648 is too large" },
	{ "  @include \"x.conf\"\n", "bad.conf:1: @include is not allowed" },
	{ "lsc = { serial_bits = 63; };", "lsc.serial_bits: 63 is out of range (allowed: 64..159)" },
	{ "lsc = { serial_bits = 160; };", "lsc.serial_bits: 160 is out of range (allowed: 64..159)" },
	{ "lsc = { backdate_seconds = 86401; };",
	  "lsc.backdate_seconds: 86401 is out of range (allowed: 0..86400)" },
	{ "devices = { max_name_length = 65; };",
	  "devices.max_name_length: 65 is out of range (allowed: 4..64)" },
	{ "auth = { string_min = 3; };", "auth.string_min: 3 is out of range (allowed: 4..64)" },
	{ "auth = { max_failed_attempts = 0; };",
	  "auth.max_failed_attempts: 0 is out of range (allowed: 1..100)" },
	{ "deadline = { min_lead_hours = 169; };",
	  "deadline.min_lead_hours: 169 is out of range (allowed: 0..168)" },
	{ "deadline = { default_days = 0; };", "deadline.default_days: 0 is out of range (allowed: 1..365)" },
	{ "front = { max_connections = 0; };",
	  "front.max_connections: 0 is out of range (allowed: 1..1000000)" },
	{ "front = { handshake_timeout = 301; };",
	  "front.handshake_timeout: 301 is out of range (allowed: 1..300)" },
	{ "front = { idle_timeout = 0; };", "front.idle_timeout: 0 is out of range (allowed: 1..3600)" },
	{ "front = { keygen_timeout = 5; };", "front.keygen_timeout: 5 is out of range (allowed: 10..3600)" },
	{ "front = { retry_delay = 3601; };", "front.retry_delay: 3601 is out of range (allowed: 1..3600)" },
	{ "front = { max_per_address = 0; };",
	  "front.max_per_address: 0 is out of range (allowed: 1..1000000)" },
	{ "front = { session_timeout = 29; };",
	  "front.session_timeout: 29 is out of range (allowed: 30..7200)" },
	{ "front = { max_handshakes = 0; };", "front.max_handshakes: 0 is out of range (allowed: 1..1000000)" },
	{ "signer = { workers = 65; };", "signer.workers: 65 is out of range (allowed: 1..64)" },
	{ "signer = { sessions = 0; };", "signer.sessions: 0 is out of range (allowed: 1..256)" },
	/* choices */
	{ "lsc = { beyond_ca = \"drop\"; };",
	  "lsc.beyond_ca: \"drop\" is not allowed (allowed: \"truncate\", \"refuse\")" },
	{ "lsc = { digest = \"sha1\"; };",
	  "lsc.digest: \"sha1\" is not allowed (allowed: \"sha256\", \"sha384\", \"sha512\")" },
	{ "tls = { min_version = \"1.4\"; };",
	  "tls.min_version: \"1.4\" is not allowed (allowed: \"1.0\", \"1.1\", \"1.2\", \"1.3\")" },
	{ "tls = { legacy = \"yes\"; };", "tls.legacy: expected true or false, found a string" },
	{ "tls = {\n legacy = true;\n min_version = \"1.2\"; };",
	  "bad.conf:3: tls.min_version: \"1.2\" contradicts tls.legacy = true (old phones speak TLS 1.0): drop tls.min_version" },
	{ "tls = { legacy = true; min_version = \"1.3\"; };",
	  "tls.min_version: \"1.3\" contradicts tls.legacy = true" },
	{ "tls = { legacy = true; key = \"pkcs11:token=capf;object=tls\"; };",
	  "tls.legacy: needs the TLS key in a file: static-RSA key transport needs an RSA decryption" },
	{ "keys = { default_key_order = \"dsa\"; };",
	  "keys.default_key_order: \"dsa\" is not allowed (allowed: \"rsa\", \"ec\", \"ec-rsa\")" },
	{ "keys = { default_curve = \"P-224\"; };", "keys.default_curve: \"P-224\" is not allowed" },
	{ "keys = { ec_curves = [\"P-256\", \"P-224\"]; };",
	  "bad.conf:1: keys.ec_curves[1]: \"P-224\" is not allowed (allowed: \"P-256\", \"P-384\", \"P-521\")" },
	{ "keys = { ec_curves = [\"P-256\", \"prime256v1\"]; };",
	  "keys.ec_curves[1]: \"prime256v1\" is listed twice" },
	{ "auth = { require_sudi = [\"mic\"]; };",
	  "auth.require_sudi[0]: \"mic\" is not allowed (allowed: \"null\", \"string\", \"lsc-first\", \"mic-first\")" },
	{ "auth = { require_sudi = [\"mic-first\", \"mic-first\"]; };",
	  "auth.require_sudi[1]: \"mic-first\" is listed twice" },
	{ "auth = { require_sudi = \"mic-first\"; };",
	  "auth.require_sudi: expected an array [ ... ] of authentication mode names" },
	{ "lsc = { copy_subject = [\"CN\"]; };",
	  "lsc.copy_subject[0]: \"CN\" is not allowed (allowed: \"O\", \"OU\", \"L\", \"ST\", \"C\")" },
	{ "keys = { rsa_bits = [2048, 2000]; };",
	  "keys.rsa_bits[1]: 2000 is not allowed (RSA sizes are multiples of 256 from 512 to 4096)" },
	{ "keys = { rsa_bits = [2048, 8192]; };",
	  "keys.rsa_bits[1]: 8192 is out of range (allowed: 512..4096)" },
	{ "keys = { rsa_bits = [2048, 2048]; };", "keys.rsa_bits[1]: 2048 is listed twice" },
	{ "keys = { rsa_bits = [1024, 2048]; };",
	  "keys.rsa_bits: 1024 is below 2048 bits; such keys are refused unless keys.allow_weak_rsa = true" },
	/* ids */
	{ "sockets = { front_uids = [\"capf\"]; };",
	  "sockets.front_uids[0]: \"capf\" is a name; only numeric ids are accepted" },
	{ "sockets = { admin_gids = [-1]; };",
	  "sockets.admin_gids[0]: -1 is out of range (allowed: 0..4294967294)" },
	{ "sockets = { admin_uids = [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32]; };",
	  "sockets.admin_uids: 33 entries (at most 32)" },
	/* strings */
	{ "store = { path = \"capf.db\"; };",
	  "store.path: \"capf.db\" is not allowed (expected an absolute path)" },
	{ "ca = { certificate = \"\"; };", "ca.certificate: \"\" is not allowed (expected an absolute path)" },
	{ "ca = { chain = \"chain.pem\"; };",
	  "ca.chain: \"chain.pem\" is not allowed (expected an absolute path, or \"\" for none)" },
	{ "token = { ca_key_uri = \"/etc/key.pem\"; };",
	  "token.ca_key_uri: \"/etc/key.pem\" is not allowed (expected a pkcs11: URI, RFC 7512)" },
	{ "token = { pin_source = \"file:pin\"; };",
	  "token.pin_source: \"pin\" is not allowed (expected an absolute path or file:/absolute/path)" },
	{ "tls = { key = \"key.pem\"; };",
	  "tls.key: \"key.pem\" is not allowed (expected an absolute path or a pkcs11: URI)" },
	{ "store = { path = \"/a\\nb\"; };", "store.path: contains a control character (byte 0x0a)" },
	/* front.listen: a numeric address and a port 1..65535 */
	{ "front = {\n listen = \"localhost:3804\"; };",
	  "bad.conf:2: front.listen: \"localhost:3804\"" LISTEN_ALLOWED },
	{ "front = {\n listen = \"0.0.0.0\"; };", "bad.conf:2: front.listen: \"0.0.0.0\"" LISTEN_ALLOWED },
	{ "front = {\n listen = \"0.0.0.0:\"; };", "bad.conf:2: front.listen: \"0.0.0.0:\"" LISTEN_ALLOWED },
	{ "front = {\n listen = \"0.0.0.0:0\"; };", "bad.conf:2: front.listen: \"0.0.0.0:0\"" LISTEN_ALLOWED },
	{ "front = {\n listen = \"0.0.0.0:65536\"; };",
	  "bad.conf:2: front.listen: \"0.0.0.0:65536\"" LISTEN_ALLOWED },
	{ "front = {\n listen = \"0.0.0.0:123456\"; };",
	  "bad.conf:2: front.listen: \"0.0.0.0:123456\"" LISTEN_ALLOWED },
	{ "front = {\n listen = \"0.0.0.0:+80\"; };",
	  "bad.conf:2: front.listen: \"0.0.0.0:+80\"" LISTEN_ALLOWED },
	{ "front = {\n listen = \"0.0.0.0: 80\"; };",
	  "bad.conf:2: front.listen: \"0.0.0.0: 80\"" LISTEN_ALLOWED },
	{ "front = {\n listen = \"0.0.0.0:80x\"; };",
	  "bad.conf:2: front.listen: \"0.0.0.0:80x\"" LISTEN_ALLOWED },
	{ "front = {\n listen = \"1.2.3:80\"; };", "bad.conf:2: front.listen: \"1.2.3:80\"" LISTEN_ALLOWED },
	{ "front = {\n listen = \"256.1.1.1:80\"; };",
	  "bad.conf:2: front.listen: \"256.1.1.1:80\"" LISTEN_ALLOWED },
	{ "front = {\n listen = \"::1:3804\"; };", "bad.conf:2: front.listen: \"::1:3804\"" LISTEN_ALLOWED },
	{ "front = {\n listen = \"[::1]\"; };", "bad.conf:2: front.listen: \"[::1]\"" LISTEN_ALLOWED },
	{ "front = {\n listen = \"[::1]3804\"; };", "bad.conf:2: front.listen: \"[::1]3804\"" LISTEN_ALLOWED },
	{ "front = {\n listen = \"[127.0.0.1]:3804\"; };",
	  "bad.conf:2: front.listen: \"[127.0.0.1]:3804\"" LISTEN_ALLOWED },
	{ "front = {\n listen = \"[fe80::1%eth0]:3804\"; };",
	  "bad.conf:2: front.listen: \"[fe80::1%eth0]:3804\"" LISTEN_ALLOWED },
	{ "front = {\n listen = \":3804\"; };", "bad.conf:2: front.listen: \":3804\"" LISTEN_ALLOWED },
	{ "front = {\n listen = \"\"; };", "bad.conf:2: front.listen: \"\"" LISTEN_ALLOWED },
	{ "front = { listen = 3804; };", "bad.conf:1: front.listen: expected a string, found an integer" },
	/* cross checks */
	{ "auth = { string_min = 8; string_max = 6; };",
	  "bad.conf:1: auth.string_min: 8 is greater than auth.string_max (6)" },
	{ "keys = { rsa_bits = [3072]; };",
	  "bad.conf:1: keys.default_rsa_bits: 2048 is not one of keys.rsa_bits" },
	{ "keys = { ec_curves = [\"P-384\"]; };", "keys.default_curve: P-256 is not one of keys.ec_curves" },
	{ "keys = { rsa_bits = []; default_key_order = \"rsa\"; };",
	  "keys.default_key_order: \"rsa\" needs RSA but keys.rsa_bits is empty" },
	{ "keys = { ec_curves = []; default_key_order = \"ec-rsa\"; };",
	  "keys.default_key_order: \"ec-rsa\" needs EC but keys.ec_curves is empty" },
	{ "keys = { rsa_bits = []; ec_curves = []; };", "keys.rsa_bits and keys.ec_curves are both empty" },
	{ "devices = { sep = false; jabber = false; };", "devices.sep and devices.jabber are both false" },
	{ "deadline = { default_days = 40; max_days = 30; };",
	  "deadline.default_days: 40 is greater than deadline.max_days (30)" },
	{ "deadline = { min_lead_hours = 48; default_days = 2; };",
	  "deadline.min_lead_hours: 48 hours is not less than deadline.default_days (2 days)" },
	{ "front = { max_connections = 10; max_per_address = 11; };",
	  "bad.conf:1: front.max_per_address: 11 is greater than front.max_connections (10)" },
	{ "front = {\n session_timeout = 100; };",
	  "bad.conf:2: front.session_timeout: 100 seconds is less than front.handshake_timeout + front.keygen_timeout + 2 * front.idle_timeout (430)" },
	{ "signer = { workers = 8; sessions = 4; };",
	  "bad.conf:1: signer.sessions: 4 is less than signer.workers (8)" },
};

static void test_bad(void **state)
{
	struct capf_errlist *e = capf_errlist_new();
	int failures = 0;

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad *b = &bad_cases[i];
		capf_errlist_clear(e);
		conf.lsc.validity_days = 7; /* must come back as the default */
		int r = capf_conf_parse(&conf, b->text, strlen(b->text), "bad.conf", e);
		/* every message names the file and the line */
		for (size_t k = 0; k < capf_errlist_count(e); k++) {
			const char *m = capf_errlist_get(e, k);
			if (strncmp(m, "bad.conf:", 9) != 0 || m[9] < '1' || m[9] > '9') {
				fprintf(stderr, "case %zu: message without file:line: %s\n", i, m);
				failures++;
			}
		}
		if (r != -1 || !pki_errs_have(e, b->want) || conf.lsc.validity_days != 1825) {
			fprintf(stderr, "case %zu: %s\n  want: %s (r=%d)\n", i, b->text, b->want, r);
			dump(e);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
	capf_errlist_free(e);
}

/* The accepting side of the rules above. */
static const char *const good_cases[] = {
	"lsc = { validity_days = 1; };",
	"lsc = { validity_days = 1825; };",
	"lsc = { serial_bits = 64; };",
	"lsc = { beyond_ca = \"refuse\"; };",
	"lsc = { digest = \"sha512\"; };",
	"lsc = { copy_subject = []; };",
	"tls = { legacy = true; };",
	"tls = { legacy = true; min_version = \"1.1\"; };",
	"tls = { legacy = false; key = \"pkcs11:object=tls\"; };",
	"tls = { min_version = \"1.3\"; };",
	"keys = { rsa_bits = [1024, 2048]; allow_weak_rsa = true; };",
	"keys = { rsa_bits = [512]; allow_weak_rsa = true; default_rsa_bits = 512; };",
	"keys = { rsa_bits = []; default_key_order = \"ec\"; };",
	"keys = { ec_curves = []; };",
	"keys = { rsa_bits = ( 2048 ); };",
	"sockets = { front_uids = [0L, 4294967294L]; admin_uids = [2147483647]; };",
	"store = { path = \"/var/12345678901234\"; }; # 99999999999999 @include\n",
	"token = { pin_source = \"/etc/pin\"; };",
	"tls = { key = \"/etc/k.pem\"; };",
	"token = { env = []; network = true; };",
	"token = { env = [\"P11_KIT_SERVER_ADDRESS=unix:path=/run/p11/s\", \"VENDOR_CONF\", \"x_y=\"]; };",
	"devices = { sep = false; };",
	"devices = { jabber = false; };",
	"auth = { string_min = 10; string_max = 10; };",
	"deadline = { min_lead_hours = 0; };",
	"signer = { workers = 4; sessions = 4; };",
	"front = { listen = \"127.0.0.1:1\"; };",
	"front = { listen = \"0.0.0.0:65535\"; };",
	"front = { listen = \"[::]:3804\"; };",
	"front = { listen = \"[::1]:443\"; };",
	"front = { listen = \"[2001:db8::7]:03804\"; };",
	"front = { listen = \"10.1.2.3:3804\"; };",
	"# a comment\n// another\n/* and */ lsc: { validity_days = 30; };",
};

static void test_good(void **state)
{
	struct capf_errlist *e = capf_errlist_new();
	int failures = 0;

	for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		capf_errlist_clear(e);
		if (capf_conf_parse(&conf, good_cases[i], strlen(good_cases[i]), "good.conf", e) != 0) {
			fprintf(stderr, "case %zu: %s\n", i, good_cases[i]);
			dump(e);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
	capf_errlist_free(e);
}

/* Every error of a file, not just the first, each with its own line. */
static void test_all_errors(void **state)
{
	static const char text[] = "lsc = {\n"
				   "  validity_days = 0;\n"
				   "  digest = \"md5\";\n"
				   "};\n"
				   "keys = { rsa_bits = [100]; };\n"
				   "bogus = { };\n";
	struct capf_errlist *e = capf_errlist_new();

	assert_int_equal(capf_conf_parse(&conf, text, strlen(text), "many.conf", e), -1);
	assert_int_equal(capf_errlist_count(e), 4);
	assert_true(pki_errs_have(e, "many.conf:2: lsc.validity_days: 0 is out of range"));
	assert_true(pki_errs_have(e, "many.conf:3: lsc.digest: \"md5\" is not allowed"));
	assert_true(pki_errs_have(e, "many.conf:5: keys.rsa_bits[0]: 100 is out of range"));
	assert_true(pki_errs_have(e, "many.conf:6: bogus: unknown setting"));
	capf_errlist_free(e);
}

static void test_nul_and_size(void **state)
{
	struct capf_errlist *e = capf_errlist_new();
	static const char nul[] = "lsc = { };\0 x";
	size_t big = CAPF_CONF_FILE_MAX + 1;
	char *text = malloc(big + 1);

	assert_int_equal(capf_conf_parse(&conf, nul, sizeof(nul) - 1, "nul.conf", e), -1);
	assert_true(pki_errs_have(e, "nul.conf: contains a NUL byte"));
	memset(text, ' ', big);
	text[big] = '\0';
	assert_int_equal(capf_conf_parse(&conf, text, big, "big.conf", e), -1);
	assert_true(pki_errs_have(e, "big.conf: too large"));
	/* a string setting longer than the limit */
	capf_errlist_clear(e);
	snprintf(text, big, "store = { path = \"/%0*d\"; };", CAPF_CONF_STR_MAX, 0);
	assert_int_equal(capf_conf_parse(&conf, text, strlen(text), "long.conf", e), -1);
	assert_true(pki_errs_have(e, "long.conf:1: store.path: too long (at most 1023 bytes)"));
	free(text);
	capf_errlist_free(e);
}

static void test_errlist(void **state)
{
	struct capf_errlist *e = capf_errlist_new();
	char buf[64];

	for (int i = 0; i < 100; i++)
		capf_errlist_add(e, "error %d", i);
	assert_int_equal(capf_errlist_count(e), CAPF_ERRLIST_MAX);
	assert_int_equal(capf_errlist_total(e), 100);
	assert_string_equal(capf_errlist_get(e, 0), "error 0");
	assert_string_equal(capf_errlist_get(e, CAPF_ERRLIST_MAX - 1), "... and 37 more");
	assert_null(capf_errlist_get(e, CAPF_ERRLIST_MAX));
	capf_errlist_clear(e);
	capf_errlist_add(e, "a");
	capf_errlist_add(e, "b");
	assert_string_equal(capf_errlist_join(e, "; ", buf, sizeof(buf)), "a; b");
	capf_errlist_free(e);
}

/* tls.legacy: off by default; on, it implies TLS 1.0 unless min_version says "1.0"/"1.1" */
static void test_tls_legacy(void **state)
{
	struct capf_errlist *e = capf_errlist_new();
	static const char on[] = "tls = { legacy = true; };";
	static const char on11[] = "tls = { legacy = true; min_version = \"1.1\"; };";

	(void)state;
	capf_conf_defaults(&conf);
	assert_false(conf.tls.legacy);
	assert_int_equal(capf_conf_parse(&conf, on, strlen(on), "on", e), 0);
	assert_true(conf.tls.legacy);
	assert_int_equal(conf.tls.min_version, 0x0301);
	assert_int_equal(capf_conf_parse(&conf, on11, strlen(on11), "on11", e), 0);
	assert_true(conf.tls.legacy);
	assert_int_equal(conf.tls.min_version, 0x0302);
	capf_errlist_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_example_documents_defaults),
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_token_env),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_all_errors),
		cmocka_unit_test(test_nul_and_size),
		cmocka_unit_test(test_errlist),
		cmocka_unit_test(test_tls_legacy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
