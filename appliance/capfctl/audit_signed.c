/*
 * appliance/capfctl/audit_signed.c: `capfctl audit show` (the trail, paged
 * through AUDIT_ROWS) and `capfctl audit verify --pubkey FILE`: the chain is
 * recomputed here from the rows' content and every signed checkpoint
 * (AUDIT_CHECKPOINTS) is checked against the audit public key the operator
 * holds, so the database is not trusted: rows rewritten below a checkpoint,
 * with every hash and the head recomputed, no longer match that checkpoint.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "appliance/capfctl/capfctl.h"
#include "appliance/store/audit_chain.h"

#define UNSIGNED_SLACK 120 /* seconds past audit.checkpoint_interval */

struct row {
	uint64_t id;
	int64_t time;
	uint32_t uid;
	char role[33], *action, *subject, *detail;
	unsigned char prev[32], hash[32];
};

static void row_free(struct row *r)
{
	free(r->action);
	free(r->subject);
	free(r->detail);
}

static char *field_dup(const struct capf_ipc_msg *m, uint16_t tag)
{
	const struct capf_ipc_field *f = capf_ipc_find(m, tag, NULL);
	char *s = malloc(f != NULL ? (size_t)f->len + 1 : 1);

	if (s == NULL)
		return NULL;
	if (f == NULL || capf_ipc_field_str(f, s, (size_t)f->len + 1) != 0)
		s[0] = '\0';
	return s;
}

static int row_decode(const struct capf_ipc_field *f, struct row *r)
{
	struct capf_ipc_msg m;
	const uint8_t *p;
	size_t n;
	char err[160];
	int ok;

	memset(r, 0, sizeof(*r));
	if (capf_ipc_decode_nested(f, &m, err, sizeof(err)) != 0)
		return -1;
	ok = capf_ipc_get_u64(&m, CAPF_IPC_T_AUDIT_ROW, &r->id) == 0 &&
	     capf_ipc_get_i64(&m, CAPF_IPC_T_AUDIT_TIME, &r->time) == 0 &&
	     capf_ipc_get_u32(&m, CAPF_IPC_T_AUDIT_UID, &r->uid) == 0 &&
	     capf_ipc_get_str(&m, CAPF_IPC_T_AUDIT_ROLE, r->role, sizeof(r->role)) == 0 &&
	     (r->action = field_dup(&m, CAPF_IPC_T_AUDIT_ACTION)) != NULL &&
	     (r->subject = field_dup(&m, CAPF_IPC_T_AUDIT_SUBJECT)) != NULL &&
	     (r->detail = field_dup(&m, CAPF_IPC_T_AUDIT_DETAIL)) != NULL;
	if (ok && capf_ipc_get_bytes(&m, CAPF_IPC_T_AUDIT_PREV_HASH, &p, &n) == 0 && n == 32)
		memcpy(r->prev, p, 32);
	else
		ok = 0;
	if (ok && capf_ipc_get_bytes(&m, CAPF_IPC_T_AUDIT_HASH, &p, &n) == 0 && n == 32)
		memcpy(r->hash, p, 32);
	else
		ok = 0;
	capf_ipc_msg_free(&m);
	if (!ok)
		row_free(r);
	return ok ? 0 : -1;
}

typedef int (*row_fn)(const struct row *r, void *arg);

/* Pages through verb (AUDIT_ROWS or AUDIT_CHECKPOINTS): each request carries
 * AUDIT_AFTER and what add() puts (add may be NULL); each answer goes to take();
 * until an answer has no AUDIT_MORE. */
static int walk_pages(struct ctl *c, uint16_t verb, const char *what,
		      void (*add)(struct capf_ipc_builder *b, void *arg),
		      int (*take)(const struct capf_ipc_msg *m, void *arg), void *arg)
{
	uint64_t after = 0;
	uint8_t more = 1;
	int rc = CTL_OK;

	while (more && rc == CTL_OK) {
		struct capf_ipc_builder b;
		struct ctl_reply r;

		ctl_begin(c, &b, verb);
		capf_ipc_put_u64(&b, CAPF_IPC_T_AUDIT_AFTER, after);
		if (add != NULL)
			add(&b, arg);
		if ((rc = ctl_call(c, &b, what, &r)) != CTL_OK)
			return rc;
		rc = take(&r.msg, arg);
		more = 0;
		capf_ipc_get_u8(&r.msg, CAPF_IPC_T_AUDIT_MORE, &more);
		if (capf_ipc_get_u64(&r.msg, CAPF_IPC_T_AUDIT_AFTER, &after) != 0)
			more = 0;
		ctl_reply_free(&r);
	}
	return rc;
}

struct rows_args {
	int64_t since;
	const char *device;
	row_fn fn;
	void *arg;
};

static void rows_add(struct capf_ipc_builder *b, void *arg)
{
	struct rows_args *a = arg;

	if (a->since != INT64_MIN)
		capf_ipc_put_i64(b, CAPF_IPC_T_AUDIT_SINCE, a->since);
	if (a->device != NULL)
		capf_ipc_put_str(b, CAPF_IPC_T_DEVICE_NAME, a->device);
}

static int rows_take(const struct capf_ipc_msg *m, void *arg)
{
	struct rows_args *a = arg;
	const struct capf_ipc_field *f = NULL;
	int rc = CTL_OK;

	while (rc == CTL_OK && (f = capf_ipc_find(m, CAPF_IPC_T_AUDIT_ENTRY, f)) != NULL) {
		struct row row;

		if (row_decode(f, &row) != 0) {
			fprintf(stderr, "audit: capf-signerd sent a malformed audit row\n");
			return CTL_FAILED;
		}
		if (a->fn(&row, a->arg) != 0)
			rc = CTL_FAILED;
		row_free(&row);
	}
	return rc;
}

/* Every row (matching since/device) in id order, page by page. */
static int walk_rows(struct ctl *c, int64_t since, const char *device, row_fn fn, void *arg)
{
	struct rows_args a = { since, device, fn, arg };

	return walk_pages(c, CAPF_IPC_AUDIT_ROWS, "audit", rows_add, rows_take, &a);
}

/* ---- show -------------------------------------------------------------------------- */

static const char usage_show[] =
	"usage: capfctl audit show [--since TIME] [--device NAME] [--json]\n"
	"\n"
	"Lists the audit trail: every admin change, every issuance and refusal, with\n"
	"its time (UTC), the role and uid that caused it, the action, the device or\n"
	"object it concerns and the detail (never a secret).\n"
	"  --since TIME    rows at or after TIME: YYYY-MM-DD, YYYY-MM-DD HH:MM or\n"
	"                  RFC 3339 YYYY-MM-DDTHH:MM:SSZ (UTC)\n"
	"  --device NAME   rows about this device (case-insensitive)\n"
	"  --json          {\"schema\": 1, \"rows\": [{\"id\", \"time\" (RFC 3339\n"
	"                  UTC), \"uid\", \"role\", \"action\", \"subject\", \"detail\"}]}\n"
	"Common: --socket PATH, --help.\n";

static int parse_since(const char *s, int64_t *out)
{
	struct tm tm;
	time_t t;
	char tail[4] = "";
	int n;

	if (ctl_parse_time(s, &t) == 0) {
		*out = (int64_t)t;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	n = sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%3s", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		   &tm.tm_min, &tm.tm_sec, tail);
	if (n == 7 && strcmp(tail, "Z") != 0)
		return -1;
	if (n != 7) {
		char end = 0;

		memset(&tm, 0, sizeof(tm));
		if (sscanf(s, "%4d-%2d-%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &end) != 3)
			return -1;
	}
	if (tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	*out = (int64_t)t;
	return 0;
}

struct show {
	int json, n;
};

static int show_row(const struct row *r, void *arg)
{
	struct show *s = arg;
	char tb[40];

	ctl_fmt_rfc3339((time_t)r->time, tb, sizeof(tb));
	if (s->json) {
		printf("%s\n    {\"id\": %" PRIu64 ", \"time\": \"%s\", \"uid\": %u, \"role\": ",
		       s->n ? "," : "", r->id, tb, r->uid);
		ctl_json_str(stdout, r->role);
		fputs(", \"action\": ", stdout);
		ctl_json_str(stdout, r->action);
		fputs(", \"subject\": ", stdout);
		ctl_json_str(stdout, r->subject);
		fputs(", \"detail\": ", stdout);
		ctl_json_str(stdout, r->detail);
		fputc('}', stdout);
	} else {
		printf("%-7" PRIu64 " %-20s %-7s %-6u %-22s %-16s %s\n", r->id, tb, r->role, r->uid, r->action,
		       r->subject[0] ? r->subject : "-", r->detail);
	}
	s->n++;
	return 0;
}

int ctl_audit_show(struct ctl *c, int argc, char **argv)
{
	enum { O_JSON = CTL_OPT_FIRST_LOCAL, O_SINCE, O_DEVICE };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{ "json", no_argument, NULL, O_JSON },
		{ "since", required_argument, NULL, O_SINCE },
		{ "device", required_argument, NULL, O_DEVICE },
		{ NULL, 0, NULL, 0 },
	};
	struct show s = { 0, 0 };
	const char *device = NULL;
	int64_t since = INT64_MIN;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ctl_common_opt(c, opt, optarg))
			continue;
		if (opt == CTL_OPT_HELP) {
			ctl_usage(usage_show);
			return CTL_OK;
		}
		if (opt == O_JSON)
			s.json = 1;
		else if (opt == O_SINCE && parse_since(optarg, &since) == 0)
			continue;
		else if (opt == O_SINCE)
			return ctl_usage_error("audit show",
					       "--since %s: not a time (YYYY-MM-DD, "
					       "YYYY-MM-DD HH:MM or YYYY-MM-DDTHH:MM:SSZ, UTC)",
					       optarg);
		else if (opt == O_DEVICE && strlen(optarg) >= 1 && strlen(optarg) <= CAPF_DEVICE_NAME_MAX)
			device = optarg;
		else if (opt == O_DEVICE)
			return ctl_usage_error("audit show", "--device: a name of 1..%d characters",
					       CAPF_DEVICE_NAME_MAX);
		else
			return ctl_usage_error("audit show", "unknown option");
	}
	if (optind != argc)
		return ctl_usage_error("audit show", "unexpected argument \"%s\"", argv[optind]);
	if (s.json)
		printf("{\"schema\": %d, \"rows\": [", CTL_JSON_SCHEMA);
	else
		printf("%-7s %-20s %-7s %-6s %-22s %-16s %s\n", "ID", "TIME (UTC)", "ROLE", "UID", "ACTION",
		       "SUBJECT", "DETAIL");
	rc = walk_rows(c, since, device, show_row, &s);
	if (s.json)
		printf("%s]}\n", s.n ? "\n  " : "");
	return rc;
}

/* ---- verify --pubkey ---------------------------------------------------------------- */

struct chain {
	unsigned char (*hash)[32]; /* recomputed hash of row i+1 */
	uint64_t n, cap;
	uint64_t first_bad;
	int stopped; /* a row is missing: no hash after it can be known */
	char why[512];
	int64_t *time; /* row times */
};

static int chain_row(const struct row *r, void *arg)
{
	struct chain *ch = arg;
	unsigned char h[32];
	static const unsigned char zero[32];
	const unsigned char *prev;

	if (ch->stopped)
		return 0;
	if (ch->n == ch->cap) {
		uint64_t cap = ch->cap ? 2 * ch->cap : 1024;
		void *p = realloc(ch->hash, cap * 32), *q = realloc(ch->time, cap * sizeof(int64_t));

		if (p != NULL)
			ch->hash = p;
		if (q != NULL)
			ch->time = q;
		if (p == NULL || q == NULL) {
			fprintf(stderr, "audit verify: out of memory\n");
			return -1;
		}
		ch->cap = cap;
	}
	prev = ch->n > 0 ? ch->hash[ch->n - 1] : zero; /* after the realloc */
	if (r->id != ch->n + 1) {
		ch->stopped = 1;
		if (ch->first_bad != 0)
			return 0;
		ch->first_bad = ch->n + 1;
		snprintf(ch->why, sizeof(ch->why), "row %" PRIu64 " is missing (the next row is %" PRIu64 ")",
			 ch->n + 1, r->id);
		return 0;
	}
	if (capf_audit_row_hash(prev, (int64_t)r->id, r->time, (int64_t)r->uid, r->role, strlen(r->role),
				r->action, strlen(r->action), r->subject, strlen(r->subject), r->detail,
				strlen(r->detail), h) != 0) {
		fprintf(stderr, "audit verify: SHA-256 failed\n");
		return -1;
	}
	if (ch->first_bad == 0 &&
	    (CRYPTO_memcmp(prev, r->prev, 32) != 0 || CRYPTO_memcmp(h, r->hash, 32) != 0)) {
		ch->first_bad = r->id;
		snprintf(ch->why, sizeof(ch->why), "row %" PRIu64 " %s", r->id,
			 CRYPTO_memcmp(prev, r->prev, 32) != 0 ? "does not link to the row before it" :
								 "does not match its stored hash (edited)");
	}
	memcpy(ch->hash[ch->n], h, 32);
	ch->time[ch->n] = r->time;
	ch->n++;
	return 0;
}

struct cpcheck {
	EVP_PKEY *pub;
	char key_id[65], signer_key_id[65];
	const struct chain *ch;
	uint64_t count, last_row, bad_cp, bad_cp_row, good_row;
	int64_t last_time;
	uint32_t rows_cfg, interval_cfg;
	char why[768];
};

static void check_cp(struct cpcheck *k, uint64_t id, int64_t t, uint64_t row, const unsigned char head[32],
		     const char *key_id, const uint8_t *sig, size_t siglen)
{
	unsigned char msg[CAPF_AUDIT_CP_MSG_LEN];
	size_t mlen = capf_audit_checkpoint_msg((int64_t)row, head, t, msg);
	EVP_MD_CTX *v = EVP_MD_CTX_new();
	char tb[40];
	int ok = v != NULL && EVP_DigestVerifyInit_ex(v, NULL, "SHA256", NULL, NULL, k->pub, NULL) == 1 &&
		 EVP_DigestVerify(v, sig, siglen, msg, mlen) == 1;

	EVP_MD_CTX_free(v);
	k->count++;
	if (k->bad_cp != 0)
		return;
	ctl_fmt_rfc3339((time_t)t, tb, sizeof(tb));
	if (!ok) {
		snprintf(k->why, sizeof(k->why),
			 "checkpoint %" PRIu64 " (row %" PRIu64 ", %s) is not "
			 "signed by this public key%s: forged or altered",
			 id, row, tb, strcmp(key_id, k->key_id) != 0 ? " (it names another key)" : "");
	} else if (row < k->last_row || t < k->last_time) {
		snprintf(k->why, sizeof(k->why),
			 "checkpoint %" PRIu64 " (row %" PRIu64 ", %s) goes back "
			 "before the checkpoint preceding it",
			 id, row, tb);
		ok = 0;
	} else if (row > k->ch->n) {
		snprintf(k->why, sizeof(k->why),
			 "checkpoint %" PRIu64 " signed row %" PRIu64 " at %s, "
			 "but the trail ends at row %" PRIu64 ": signed rows were removed",
			 id, row, tb, k->ch->n);
		ok = 0;
	} else if (CRYPTO_memcmp(k->ch->hash[row - 1], head, 32) != 0) {
		snprintf(k->why, sizeof(k->why),
			 "checkpoint %" PRIu64 " (row %" PRIu64 ", signed %s) no "
			 "longer matches the trail: rows %" PRIu64 "..%" PRIu64 " were rewritten after "
			 "they were signed (hashes recomputed)",
			 id, row, tb, k->good_row + 1, row);
		ok = 0;
	}
	if (!ok) {
		k->bad_cp = id;
		k->bad_cp_row = row;
		return;
	}
	k->last_row = k->good_row = row;
	k->last_time = t;
}

static int cps_take(const struct capf_ipc_msg *msg, void *arg)
{
	struct cpcheck *k = arg;
	const struct capf_ipc_field *f = NULL;

	capf_ipc_get_str(msg, CAPF_IPC_T_AUDIT_KEY_ID, k->signer_key_id, sizeof(k->signer_key_id));
	capf_ipc_get_u32(msg, CAPF_IPC_T_AUDIT_CP_ROWS, &k->rows_cfg);
	capf_ipc_get_u32(msg, CAPF_IPC_T_AUDIT_CP_INTERVAL, &k->interval_cfg);
	while ((f = capf_ipc_find(msg, CAPF_IPC_T_AUDIT_CHECKPOINT, f)) != NULL) {
		struct capf_ipc_msg m;
		uint64_t id = 0, row = 0;
		int64_t t = 0;
		const uint8_t *head = NULL, *sig = NULL;
		size_t hl = 0, sl = 0;
		char kid[65] = "", err[160];

		if (capf_ipc_decode_nested(f, &m, err, sizeof(err)) != 0) {
			fprintf(stderr, "audit verify: capf-signerd sent a malformed checkpoint\n");
			return CTL_FAILED;
		}
		capf_ipc_get_u64(&m, CAPF_IPC_T_AUDIT_CP_ID, &id);
		capf_ipc_get_i64(&m, CAPF_IPC_T_AUDIT_TIME, &t);
		capf_ipc_get_u64(&m, CAPF_IPC_T_AUDIT_ROW, &row);
		capf_ipc_get_bytes(&m, CAPF_IPC_T_AUDIT_HASH, &head, &hl);
		capf_ipc_get_str(&m, CAPF_IPC_T_AUDIT_KEY_ID, kid, sizeof(kid));
		capf_ipc_get_bytes(&m, CAPF_IPC_T_AUDIT_SIG, &sig, &sl);
		if (hl == 32 && row >= 1)
			check_cp(k, id, t, row, head, kid, sig, sl);
		capf_ipc_msg_free(&m);
		if (hl != 32 || row < 1) {
			fprintf(stderr, "audit verify: capf-signerd sent a malformed checkpoint\n");
			return CTL_FAILED;
		}
	}
	return CTL_OK;
}

static int walk_checkpoints(struct ctl *c, struct cpcheck *k)
{
	return walk_pages(c, CAPF_IPC_AUDIT_CHECKPOINTS, "audit verify", NULL, cps_take, k);
}

static EVP_PKEY *read_pubkey(const char *path, char key_id[65])
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = f != NULL ? PEM_read_PUBKEY(f, NULL, NULL, NULL) : NULL;
	unsigned char *der = NULL, md[32];
	unsigned int mdlen = 0;
	int n;

	if (f != NULL)
		fclose(f);
	if (k == NULL)
		return NULL;
	n = i2d_PUBKEY(k, &der);
	if (n <= 0 || EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1) {
		OPENSSL_free(der);
		EVP_PKEY_free(k);
		return NULL;
	}
	OPENSSL_free(der);
	for (unsigned i = 0; i < 32; i++)
		snprintf(key_id + 2 * i, 3, "%02x", md[i]);
	return k;
}

int ctl_audit_verify_signed(struct ctl *c, const char *pubkey, int json)
{
	struct chain ch;
	struct cpcheck k;
	char tb[40], problem[1400] = "";
	uint64_t unsigned_rows = 0, first_bad = 0;
	int64_t now = (int64_t)time(NULL);
	int rc;

	memset(&ch, 0, sizeof(ch));
	memset(&k, 0, sizeof(k));
	if ((k.pub = read_pubkey(pubkey, k.key_id)) == NULL) {
		fprintf(stderr,
			"audit verify: --pubkey %s: not a readable PEM public key (the audit "
			"key's public key the key ceremony exported, e.g. capf-audit.pub.pem)\n",
			pubkey);
		return CTL_FAILED;
	}
	k.ch = &ch;
	k.last_time = INT64_MIN;
	if ((rc = walk_rows(c, INT64_MIN, NULL, chain_row, &ch)) != CTL_OK ||
	    (rc = walk_checkpoints(c, &k)) != CTL_OK)
		goto out;
	if (ch.first_bad != 0) {
		snprintf(problem, sizeof(problem), "%s%s%s", ch.why, k.bad_cp ? "; " : "",
			 k.bad_cp ? k.why : "");
		first_bad = ch.first_bad;
	} else if (k.bad_cp != 0) {
		snprintf(problem, sizeof(problem), "%s", k.why);
		first_bad = k.good_row + 1;
	} else if (k.count == 0 && ch.n > 0) {
		snprintf(problem, sizeof(problem),
			 "no signed checkpoint: nothing in the trail is "
			 "protected by the audit key (is token.audit_key_uri set?)");
	} else if (ch.n > k.good_row && k.interval_cfg > 0 &&
		   now - ch.time[k.good_row] > (int64_t)k.interval_cfg + UNSIGNED_SLACK) {
		snprintf(problem, sizeof(problem),
			 "row %" PRIu64 " is older than audit."
			 "checkpoint_interval (%u s) but no checkpoint covers it: checkpoints were "
			 "removed, or the signer could not sign (see its log)",
			 k.good_row + 1, k.interval_cfg);
		first_bad = k.good_row + 1;
	}
	unsigned_rows = ch.n - k.good_row;
	if (k.count > 0)
		ctl_fmt_rfc3339((time_t)k.last_time, tb, sizeof(tb));
	if (json) {
		printf("{\"schema\": %d, \"intact\": %s, \"rows\": %" PRIu64 ", \"checkpoints\": %" PRIu64
		       ", \"last_signed_row\": %" PRIu64 ", \"last_signed_time\": ",
		       CTL_JSON_SCHEMA, problem[0] ? "false" : "true", ch.n, k.count, k.good_row);
		if (k.count > 0 && k.good_row > 0)
			printf("\"%s\"", tb);
		else
			fputs("null", stdout);
		printf(", \"unsigned_rows\": %" PRIu64 ", \"key_id\": \"%s\", \"first_bad_row\": ",
		       unsigned_rows, k.key_id);
		if (first_bad)
			printf("%" PRIu64, first_bad);
		else
			fputs("null", stdout);
		fputs(", \"bad_checkpoint\": ", stdout);
		if (k.bad_cp)
			printf("%" PRIu64 ", \"bad_rows\": [%" PRIu64 ", %" PRIu64 "]", k.bad_cp,
			       k.good_row + 1, k.bad_cp_row);
		else
			fputs("null, \"bad_rows\": null", stdout);
		fputs(", \"problem\": ", stdout);
		if (problem[0])
			ctl_json_str(stdout, problem);
		else
			fputs("null", stdout);
		fputs("}\n", stdout);
	}
	if (k.signer_key_id[0] != '\0' && strcmp(k.signer_key_id, k.key_id) != 0)
		fprintf(stderr,
			"audit verify: note: capf-signerd signs with another audit key (%s) "
			"than %s (%s)\n",
			k.signer_key_id, pubkey, k.key_id);
	if (problem[0]) {
		fprintf(stderr, "audit verify: the audit trail is BROKEN: %s\n", problem);
		rc = CTL_FAILED;
	} else if (!json) {
		printf("audit verify: the audit trail is intact (%" PRIu64 " row%s); rows 1..%" PRIu64
		       " are signed by the audit key %.16s... (%" PRIu64 " checkpoint%s, the last at %s)",
		       ch.n, ch.n == 1 ? "" : "s", k.good_row, k.key_id, k.count, k.count == 1 ? "" : "s",
		       k.count > 0 ? tb : "-");
		if (unsigned_rows > 0)
			printf("; %" PRIu64 " newer row%s not signed yet", unsigned_rows,
			       unsigned_rows == 1 ? "" : "s");
		putchar('\n');
	}
out:
	free(ch.hash);
	free(ch.time);
	EVP_PKEY_free(k.pub);
	return rc;
}
