/*
 * appliance/capfctl/bulk.c: `capfctl bulk`: many devices in one all-or-nothing
 * change. The records go to the daemon in chunks (BULK_BEGIN, BULK_ADD...,
 * BULK_COMMIT); it validates each one against the policy and applies all of
 * them in one store transaction, or none, listing every offending device.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "appliance/capfctl/capfctl.h"
#include "appliance/capfctl/devopts.h"
#include "policy/names.h"

#define BULK_CHUNK \
	150                      /* records per BULK_ADD (fits in 64 KiB; the daemon
					   lists up to 150 refused devices per answer: all) */
#define BULK_MAX 100000          /* records per run */
#define BULK_CSV_MAX (32u << 20) /* bytes of a CSV file */
#define BULK_PROGRESS 1000       /* a progress line every N devices */

static const char usage_bulk[] =
	"usage: capfctl bulk --csv FILE [--unique-auth-strings OUT] [--dry-run] [--progress]\n"
	"       capfctl bulk --pattern GLOB [SETTINGS] [--unique-auth-strings OUT] [--dry-run]\n"
	"\n"
	"Schedules many devices at once, all or nothing: when any device's settings are\n"
	"refused (a name the policy does not allow, an authentication mode or key the policy\n"
	"forbids, a deadline too close...), nothing changes and every offending device is\n"
	"listed (with FILE:LINE for a CSV).\n"
	"\n"
	"--csv FILE: a header line naming the columns, then one device per line. Columns\n"
	"(any order; only name is required; an empty cell keeps the current value or, for\n"
	"a new device, the default):\n"
	"  name        device name (SEP + 12 hex digits, or CSF/BOT/TCT/TAB + name)\n"
	"  operation   install | delete | fetch | none\n"
	"  auth        null | string | lsc-first | mic-first\n"
	"  key_order   rsa | ec | ec-rsa\n"
	"  rsa_bits    e.g. 2048\n"
	"  curve       P-256 | P-384 | P-521\n"
	"  deadline    YYYY-MM-DD HH:00 (UTC)\n"
	"  auth_string the device's own authentication string (sets auth to string); only in\n"
	"              a FILE owned by you with mode 0600 (it holds secrets)\n"
	"A device that exists is updated, one that does not is added. Cells may be quoted\n"
	"(\"...\"); blank lines and lines starting with # are skipped. Names are upper-cased.\n"
	"Every error of every line is reported in one pass (the file's, then the policy's).\n"
	"Example:\n"
	"  name,operation,auth,key_order,deadline\n"
	"  SEP001122334455,install,string,ec-rsa,2026-12-01 17:00\n"
	"\n"
	"--pattern GLOB: applies SETTINGS to every existing device whose name matches\n"
	"(e.g. 'SEP0011223344*'). SETTINGS are those of `capfctl device set`:\n" CTL_DEVOPTS_HELP "\n"
	"Other options:\n"
	"  --unique-auth-strings OUT   a different authentication string for every device whose\n"
	"                              mode is By Authentication String (CSPRNG digits, policy\n"
	"                              length), written as name,string lines to OUT (created\n"
	"                              0600 before anything changes; never overwritten;\n"
	"                              not with --dry-run: no file is written then)\n"
	"  --dry-run                   validate everything, change nothing, write nothing\n"
	"  --progress                  progress lines on stderr (terminal or not)\n"
	"  --socket PATH, --config FILE, --help\n";

struct bulk_rec {
	char name[CAPF_DEVICE_NAME_MAX + 1];
	struct ctl_devopts o;
	unsigned line; /* CSV line, 0 for --pattern */
	int cur_auth;  /* --pattern: the device's mode now; -1 unknown */
	char *auth;    /* generated or shared string, or NULL */
};

struct bulk {
	struct bulk_rec *r;
	size_t n, cap;
	const char *file;
	unsigned errors;
};

static struct bulk_rec *bulk_push(struct bulk *bk)
{
	if (bk->n >= BULK_MAX)
		return NULL;
	if (bk->n == bk->cap) {
		size_t ncap = bk->cap ? bk->cap * 2 : 64;
		struct bulk_rec *nr = realloc(bk->r, ncap * sizeof(*nr));

		if (nr == NULL)
			return NULL;
		bk->r = nr;
		bk->cap = ncap;
	}
	memset(&bk->r[bk->n], 0, sizeof(bk->r[0]));
	ctl_devopts_init(&bk->r[bk->n].o);
	bk->r[bk->n].cur_auth = -1;
	return &bk->r[bk->n++];
}

static void bulk_free(struct bulk *bk)
{
	size_t i;

	for (i = 0; i < bk->n; i++) {
		if (bk->r[i].auth) {
			OPENSSL_cleanse(bk->r[i].auth, strlen(bk->r[i].auth));
			free(bk->r[i].auth);
		}
	}
	free(bk->r);
}

/* ---- CSV ---------------------------------------------------------------- */

enum col {
	COL_NAME,
	COL_OP,
	COL_AUTH,
	COL_KEY_ORDER,
	COL_RSA_BITS,
	COL_CURVE,
	COL_DEADLINE,
	COL_AUTH_STRING,
	NCOLS
};
static const char *const col_names[NCOLS] = {
	"name", "operation", "auth", "key_order", "rsa_bits", "curve", "deadline", "auth_string",
};

/* Splits one line (no newline) into cells, in place. Returns the count or -1. */
static int csv_split(char *line, char **cells, int max, int *bad_col)
{
	char *p = line, *w;
	int n = 0;

	for (;;) {
		if (n >= max) {
			*bad_col = n + 1;
			return -1;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '"') {
			cells[n] = w = ++p;
			for (;;) {
				if (*p == '\0') {
					*bad_col = n + 1;
					return -1; /* unterminated quote */
				}
				if (*p == '"' && p[1] == '"') {
					*w++ = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					*w++ = *p++;
				}
			}
			*w = '\0';
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p != ',' && *p != '\0') {
				*bad_col = n + 1;
				return -1;
			}
			n++;
			if (*p == '\0')
				return n;
			p++; /* the comma */
		} else {
			int at_end;

			cells[n] = p;
			p += strcspn(p, ",");
			at_end = *p == '\0';
			w = p;
			while (w > cells[n] && (w[-1] == ' ' || w[-1] == '\t'))
				w--;
			*w = '\0';
			n++;
			if (at_end)
				return n;
			p++; /* the comma (possibly overwritten above) */
		}
	}
}

static void csv_error(struct bulk *bk, unsigned line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void csv_error(struct bulk *bk, unsigned line, int col, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%u", bk->file, line);
	if (col > 0)
		fprintf(stderr, ": column %d", col);
	fputs(": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	bk->errors++;
}

static int csv_cell(struct bulk *bk, struct bulk_rec *r, enum col k, const char *v, int col)
{
	struct ctl_devopts *o = &r->o;
	unsigned long ul;
	int x;

	if (*v == '\0' && k != COL_NAME)
		return 0;
	switch (k) {
	case COL_NAME:
		if (*v == '\0' || strlen(v) > CAPF_DEVICE_NAME_MAX) {
			csv_error(bk, r->line, col, "name: %s%s",
				  *v ? "longer than 64 bytes" : "a device name is required", "");
			return -1;
		}
		for (x = 0; v[x]; x++)
			r->name[x] = (char)toupper((unsigned char)v[x]);
		r->name[x] = '\0';
		return 0;
	case COL_AUTH_STRING:
		if (strlen(v) > CAPF_AUTHHASH_SECRET_MAX) {
			csv_error(bk, r->line, col, "auth_string: longer than %d bytes%s",
				  CAPF_AUTHHASH_SECRET_MAX, "");
			return -1;
		}
		if ((r->auth = strdup(v)) == NULL)
			return -1;
		return 0;
	case COL_OP:
		if ((x = capf_operation_parse(v)) < 0)
			goto bad;
		o->op = x;
		return 0;
	case COL_AUTH:
		if ((x = capf_auth_mode_parse(v)) < 0)
			goto bad;
		o->auth = x;
		return 0;
	case COL_KEY_ORDER:
		if ((x = capf_key_order_parse(v)) < 0)
			goto bad;
		o->key_order = x;
		return 0;
	case COL_RSA_BITS:
		if (capf_parse_uint(v, 512, 16384, &ul) != 0)
			goto bad;
		o->rsa_bits = (long)ul;
		return 0;
	case COL_CURVE:
		if ((x = capf_curve_parse(v)) < 0)
			goto bad;
		o->curve = x;
		return 0;
	case COL_DEADLINE:
		if (ctl_parse_time(v, &o->deadline) != 0)
			goto bad;
		o->has_deadline = 1;
		return 0;
	default:
		return -1;
	}
bad : {
	static const char *const allowed[NCOLS] = {
		"",
		"install, delete, fetch or none",
		"null, string, lsc-first or mic-first",
		"rsa, ec or ec-rsa",
		"a number of bits, e.g. 2048",
		"P-256, P-384 or P-521",
		"YYYY-MM-DD HH:00 (UTC)",
		"",
	};
	char what[160];

	snprintf(what, sizeof(what), "%s: \"%.64s\"", col_names[k], v);
	csv_error(bk, r->line, col, "%s is not valid (allowed: %s)", what, allowed[k]);
}
	return -1;
}

/* Reads the whole CSV; *secret_ok: the file is a regular file owned by the
 * caller with no group/other access (may hold authentication strings). */
static int csv_load(const char *path, unsigned char **out, size_t *outlen, int *secret_ok)
{
	struct stat st;
	unsigned char *buf;
	size_t used = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "capfctl bulk: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > BULK_CSV_MAX) {
		fprintf(stderr, "capfctl bulk: %s: not a regular file of at most %u bytes\n", path,
			BULK_CSV_MAX);
		close(fd);
		return -1;
	}
	*secret_ok = (st.st_mode & 077) == 0 && st.st_uid == geteuid();
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return -1;
	}
	while (used < (size_t)st.st_size && (n = read(fd, buf + used, (size_t)st.st_size - used)) > 0)
		used += (size_t)n;
	close(fd);
	buf[used] = '\0';
	*out = buf;
	*outlen = used;
	return 0;
}

static int bulk_read_csv(struct bulk *bk, const char *path)
{
	unsigned char *data;
	size_t len;
	char *line, *next, *cells[NCOLS + 1];
	int map[NCOLS + 1], ncol = 0, i, j, n, bad_col;
	unsigned lineno = 0;
	int have_header = 0, secret_ok = 0;

	bk->file = path;
	if (csv_load(path, &data, &len, &secret_ok) != 0)
		return -1;
	for (line = (char *)data; line != NULL; line = next) {
		lineno++;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		line[strcspn(line, "\r")] = '\0';
		if (strspn(line, " \t") == strlen(line) || line[0] == '#')
			continue;
		bad_col = 0;
		n = csv_split(line, cells, NCOLS + 1, &bad_col);
		if (n < 0) {
			csv_error(bk, lineno, bad_col, "%s%s",
				  bad_col > NCOLS ? "too many columns" : "badly quoted cell", "");
			if (!have_header)
				break;
			continue;
		}
		if (!have_header) {
			int seen[NCOLS] = { 0 };

			for (i = 0; i < n; i++) {
				map[i] = -1;
				for (j = 0; j < NCOLS; j++)
					if (strcasecmp(cells[i], col_names[j]) == 0)
						map[i] = j;
				if (map[i] < 0) {
					csv_error(bk, lineno, i + 1,
						  "unknown column \"%.64s\" (columns: "
						  "name, operation, auth, key_order, rsa_bits, curve, "
						  "deadline, auth_string)%s",
						  cells[i], "");
				} else if (seen[map[i]]++) {
					csv_error(bk, lineno, i + 1, "column \"%s\" twice%s", col_names[map[i]],
						  "");
				}
			}
			if (!seen[COL_NAME])
				csv_error(bk, lineno, 0,
					  "the header line has no \"name\" column "
					  "(the first line names the columns)%s%s",
					  "", "");
			if (seen[COL_AUTH_STRING] && !secret_ok)
				csv_error(bk, lineno, 0,
					  "an auth_string column holds secrets: the file "
					  "must be owned by you and mode 0600 (chmod 600 %s)%s",
					  path, "");
			ncol = n;
			have_header = 1;
			if (bk->errors)
				break;
			continue;
		}
		if (n != ncol) {
			char a[32], b[32];

			snprintf(a, sizeof(a), "%d", n);
			snprintf(b, sizeof(b), "%d", ncol);
			csv_error(bk, lineno, 0, "%s cells, the header has %s", a, b);
			continue;
		}
		{
			struct bulk_rec *r = bulk_push(bk);
			int bad = 0;

			if (r == NULL) {
				fprintf(stderr, "%s:%u: too many devices (at most %d per run)\n", path, lineno,
					BULK_MAX);
				bk->errors++;
				break;
			}
			r->line = lineno;
			for (i = 0; i < n; i++)
				if (csv_cell(bk, r, (enum col)map[i], cells[i], i + 1) != 0 &&
				    map[i] == COL_NAME)
					bad = 1;
			/* a line with a bad cell stays (its other cells are still checked
			 * by the daemon, for every error in one pass); one without a name
			 * cannot */
			if (bad) {
				if (r->auth) {
					OPENSSL_cleanse(r->auth, strlen(r->auth));
					free(r->auth);
				}
				bk->n--;
			}
		}
	}
	OPENSSL_clear_free(data, len + 1);
	if (!have_header && bk->errors == 0) {
		fprintf(stderr, "%s: empty: a header line and one device per line are expected\n", path);
		bk->errors++;
	}
	/* the same device twice */
	for (i = 1; i < (int)bk->n && bk->n < 5000; i++)
		for (j = 0; j < i; j++)
			if (strcmp(bk->r[i].name, bk->r[j].name) == 0) {
				char prev[32];

				snprintf(prev, sizeof(prev), "%u", bk->r[j].line);
				csv_error(bk, bk->r[i].line, 0, "%s appears again (first on line %s)",
					  bk->r[i].name, prev);
				break;
			}
	return bk->errors ? -1 : 0;
}

/* ---- pattern ------------------------------------------------------------ */

static int collect(const struct ctl_device *d, void *arg)
{
	struct bulk *bk = arg;
	struct bulk_rec *r = bulk_push(bk);

	if (r == NULL) {
		fprintf(stderr, "capfctl bulk: too many devices (at most %d per run)\n", BULK_MAX);
		return -1;
	}
	memcpy(r->name, d->name, sizeof(r->name));
	r->cur_auth = d->auth;
	return 0;
}

static void pattern_filter(struct capf_ipc_builder *b, void *arg)
{
	capf_ipc_put_str(b, CAPF_IPC_T_FILTER_NAME, (const char *)arg);
}

/* ---- talking to the daemon ---------------------------------------------- */

static const struct bulk_rec *find_rec(const struct bulk *bk, const char *name)
{
	size_t i;

	for (i = 0; i < bk->n; i++)
		if (strcmp(bk->r[i].name, name) == 0)
			return &bk->r[i];
	return NULL;
}

/* Prints every ITEM_ERROR of m; returns how many. */
static unsigned print_item_errors(const struct bulk *bk, const struct capf_ipc_msg *m)
{
	const struct capf_ipc_field *f = NULL;
	unsigned n = 0;

	while ((f = capf_ipc_find(m, CAPF_IPC_T_ITEM_ERROR, f)) != NULL) {
		struct capf_ipc_msg sub;
		char name[CAPF_DEVICE_NAME_MAX + 1] = "?", text[1100] = "", err[160];
		const struct bulk_rec *r;

		if (capf_ipc_decode_nested(f, &sub, err, sizeof(err)) != 0)
			continue;
		capf_ipc_get_str(&sub, CAPF_IPC_T_DEVICE_NAME, name, sizeof(name));
		capf_ipc_get_str(&sub, CAPF_IPC_T_TEXT, text, sizeof(text));
		capf_ipc_msg_free(&sub);
		r = find_rec(bk, name);
		if (r && r->line)
			fprintf(stderr, "%s:%u: %s: %s\n", bk->file, r->line, name, text);
		else
			fprintf(stderr, "%s: %s\n", name, text);
		n++;
	}
	return n;
}

static void bulk_abort(struct ctl *c, uint64_t token)
{
	struct capf_ipc_builder b;
	struct ctl_reply r;

	ctl_begin(c, &b, CAPF_IPC_BULK_ABORT);
	capf_ipc_put_u64(&b, CAPF_IPC_T_BULK, token);
	if (ctl_call(c, &b, "bulk abort", &r) == CTL_OK)
		ctl_reply_free(&r);
}

/* Sends every record; check_only: only to have the daemon's verdict on each
 * (the change is aborted whatever it says). */
static int bulk_send(struct ctl *c, struct bulk *bk, int dry_run, int check_only, int progress,
		     const char *what)
{
	struct capf_ipc_builder b;
	struct ctl_reply r;
	uint64_t token;
	unsigned bad = 0;
	uint32_t count = 0;
	size_t i, j, last_progress = 0;
	int rc;

	ctl_begin(c, &b, CAPF_IPC_BULK_BEGIN);
	capf_ipc_put_str(&b, CAPF_IPC_T_TEXT, what);
	if ((rc = ctl_call(c, &b, "bulk", &r)) != CTL_OK)
		return rc;
	if (capf_ipc_get_u64(&r.msg, CAPF_IPC_T_BULK, &token) != 0) {
		ctl_reply_free(&r);
		fprintf(stderr, "bulk: the daemon gave no transaction\n");
		return CTL_FAILED;
	}
	ctl_reply_free(&r);

	for (i = 0; i < bk->n; i = j) {
		ctl_begin(c, &b, CAPF_IPC_BULK_ADD);
		capf_ipc_put_u64(&b, CAPF_IPC_T_BULK, token);
		for (j = i; j < bk->n && j < i + BULK_CHUNK; j++) {
			capf_ipc_nest_begin(&b, CAPF_IPC_T_DEVICE);
			capf_ipc_put_str(&b, CAPF_IPC_T_DEVICE_NAME, bk->r[j].name);
			ctl_devopts_put(&bk->r[j].o, &b, bk->r[j].auth);
			capf_ipc_nest_end(&b);
		}
		if ((rc = ctl_call_raw(c, &b, "bulk", &r)) != CTL_OK)
			return rc;
		bad += print_item_errors(bk, &r.msg);
		if (r.msg.status != CAPF_IPC_OK) {
			ctl_print_refusal(&r.msg, "bulk");
			ctl_reply_free(&r);
			bulk_abort(c, token);
			return CTL_FAILED;
		}
		ctl_reply_free(&r);
		if (progress && (j - last_progress >= BULK_PROGRESS || j == bk->n)) {
			fprintf(stderr, "bulk: %zu/%zu devices checked\n", j, bk->n);
			last_progress = j;
		}
	}
	if (bad || check_only) {
		bulk_abort(c, token);
		if (bad)
			fprintf(stderr,
				"bulk: refused: %u device%s with settings the policy does not "
				"allow; nothing was changed\n",
				bad, bad == 1 ? "" : "s");
		return bad ? CTL_FAILED : CTL_OK;
	}
	ctl_begin(c, &b, CAPF_IPC_BULK_COMMIT);
	capf_ipc_put_u64(&b, CAPF_IPC_T_BULK, token);
	if (dry_run)
		capf_ipc_put_u8(&b, CAPF_IPC_T_DRY_RUN, 1);
	if ((rc = ctl_call_raw(c, &b, "bulk", &r)) != CTL_OK)
		return rc;
	if (r.msg.status != CAPF_IPC_OK) {
		bad = print_item_errors(bk, &r.msg);
		ctl_print_refusal(&r.msg, "bulk");
		if (bad)
			fprintf(stderr, "bulk: nothing was changed\n");
		ctl_reply_free(&r);
		return CTL_FAILED;
	}
	capf_ipc_get_u32(&r.msg, CAPF_IPC_T_COUNT, &count);
	ctl_reply_free(&r);
	if (dry_run)
		printf("bulk: %u device%s would change (dry run: nothing was changed)\n", count,
		       count == 1 ? "" : "s");
	else
		printf("bulk: %u device%s changed\n", count, count == 1 ? "" : "s");
	return CTL_OK;
}

/* Generates a string per device in By Authentication String mode and writes
 * the OUT file (0600, new) before anything is sent. */
static int unique_strings(struct ctl *c, struct bulk *bk, const char *out, int dry_run)
{
	struct capf_conf conf;
	char err[512], s[CAPF_AUTHHASH_SECRET_MAX + 2];
	char *text = NULL;
	size_t i, k, len = 0, cap = 0, ngen = 0;
	int rc = -1;

	if (ctl_load_conf(c, &conf) != 0)
		return -1;
	for (i = 0; i < bk->n; i++) {
		struct bulk_rec *r = &bk->r[i];
		int need = r->o.auth == CAPF_AUTH_STRING || (r->o.auth < 0 && r->cur_auth == CAPF_AUTH_STRING);
		size_t l;

		if (!need || r->auth)
			continue; /* or its own string from the CSV */
		/* distinct within the run (collisions are possible with short strings) */
		for (;;) {
			if (capf_auth_string_generate(&conf, s, sizeof(s), err, sizeof(err)) != 0) {
				fprintf(stderr, "capfctl bulk: %s\n", err);
				goto out;
			}
			for (k = 0; k < i; k++)
				if (bk->r[k].auth && strcmp(bk->r[k].auth, s) == 0)
					break;
			if (k == i)
				break;
		}
		if ((r->auth = strdup(s)) == NULL)
			goto out;
		if (r->o.auth < 0)
			r->o.auth = CAPF_AUTH_STRING;
		l = strlen(r->name) + strlen(s) + 2;
		if (len + l + 1 > cap) {
			size_t ncap = (cap + l + 1) * 2;
			char *nt = malloc(ncap);

			if (nt == NULL)
				goto out;
			if (text) {
				memcpy(nt, text, len);
				OPENSSL_clear_free(text, cap);
			}
			text = nt;
			cap = ncap;
		}
		len += (size_t)snprintf(text + len, cap - len, "%s,%s\n", r->name, s);
		ngen++;
	}
	if (ngen == 0) {
		fprintf(stderr, "capfctl bulk: --unique-auth-strings: no device uses By Authentication "
				"String (set auth to string)\n");
		goto out;
	}
	/* a dry run writes nothing: the strings were never set */
	if (!dry_run && ctl_write_new_secret_file(out, text, len) != 0)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(s, sizeof(s));
	if (text)
		OPENSSL_clear_free(text, cap);
	return rc;
}

int cmd_bulk(struct ctl *c, int argc, char **argv)
{
	enum { O_CSV = CTL_OPT_FIRST_LOCAL, O_PATTERN, O_UNIQUE, O_DRY, O_PROGRESS };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		CTL_DEVOPTS_LONGOPTS,
		{ "csv", required_argument, NULL, O_CSV },
		{ "pattern", required_argument, NULL, O_PATTERN },
		{ "unique-auth-strings", required_argument, NULL, O_UNIQUE },
		{ "dry-run", no_argument, NULL, O_DRY },
		{ "progress", no_argument, NULL, O_PROGRESS },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_devopts o;
	struct bulk bk;
	const char *csv = NULL, *pattern = NULL, *unique = NULL;
	char secret[CAPF_AUTHHASH_SECRET_MAX + 2], what[256];
	int opt, rc, dry = 0, progress = 0;
	size_t i;

	memset(&bk, 0, sizeof(bk));
	ctl_devopts_init(&o);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ctl_common_opt(c, opt, optarg))
			continue;
		switch (opt) {
		case CTL_OPT_HELP:
			ctl_usage(usage_bulk);
			return CTL_OK;
		case O_CSV:
			csv = optarg;
			continue;
		case O_PATTERN:
			pattern = optarg;
			continue;
		case O_UNIQUE:
			unique = optarg;
			continue;
		case O_DRY:
			dry = 1;
			continue;
		case O_PROGRESS:
			progress = 1;
			continue;
		}
		if (opt >= DEVOPT_OP && opt <= DEVOPT_DEADLINE) {
			if ((rc = ctl_devopts_parse(&o, opt, optarg, "bulk")) != 0)
				return rc;
			continue;
		}
		return ctl_usage_error("bulk", "unknown option");
	}
	if (optind != argc)
		return ctl_usage_error("bulk", "unexpected argument \"%s\"", argv[optind]);
	if (!csv == !pattern)
		return ctl_usage_error("bulk", "give either --csv FILE or --pattern GLOB");
	if (csv && (o.op >= 0 || o.auth >= 0 || o.key_order >= 0 || o.curve >= 0 || o.rsa_bits >= 0 ||
		    o.has_deadline || o.auth_file || o.generate))
		return ctl_usage_error("bulk", "with --csv the settings come from the file's columns");
	if (o.generate || o.auth_out)
		return ctl_usage_error("bulk", "use --unique-auth-strings OUT for generated strings");
	if ((rc = ctl_devopts_check(&o, "bulk")) != 0)
		return rc;
	if (unique && o.auth_file)
		return ctl_usage_error("bulk",
				       "--unique-auth-strings and --auth-string-file exclude each other");
	if (unique && access(unique, F_OK) == 0) {
		fprintf(stderr, "capfctl bulk: %s exists: refusing to overwrite it\n", unique);
		return CTL_FAILED;
	}

	if (csv) {
		if (bulk_read_csv(&bk, csv) != 0) {
			/* the lines that could be read are still checked by the daemon:
			 * every error of every line in one pass */
			if (bk.n > 0) {
				snprintf(what, sizeof(what), "capfctl bulk --csv %.200s (check)", csv);
				if (bulk_send(c, &bk, 1, 1, progress, what) == CTL_UNREACHABLE) {
					bulk_free(&bk);
					return CTL_UNREACHABLE;
				}
			}
			fprintf(stderr, "bulk: refused: %u error%s in %s; nothing was changed\n", bk.errors,
				bk.errors == 1 ? "" : "s", csv);
			bulk_free(&bk);
			return CTL_FAILED;
		}
		snprintf(what, sizeof(what), "capfctl bulk --csv %.200s", csv);
	} else {
		rc = ctl_walk_devices(c, "bulk", CAPF_IPC_DEVICE_LIST, pattern_filter, (void *)pattern, collect,
				      &bk, NULL);
		if (rc != CTL_OK) {
			bulk_free(&bk);
			return rc;
		}
		if (bk.n == 0) {
			fprintf(stderr, "capfctl bulk: no device matches \"%s\"; nothing was changed\n",
				pattern);
			bulk_free(&bk);
			return CTL_FAILED;
		}
		if (o.auth_file && ctl_read_secret_file(o.auth_file, secret, sizeof(secret)) != 0) {
			bulk_free(&bk);
			return CTL_FAILED;
		}
		for (i = 0; i < bk.n; i++) {
			bk.r[i].o = o;
			if (o.auth_file && (bk.r[i].auth = strdup(secret)) == NULL) {
				OPENSSL_cleanse(secret, sizeof(secret));
				bulk_free(&bk);
				return CTL_FAILED;
			}
		}
		OPENSSL_cleanse(secret, sizeof(secret));
		snprintf(what, sizeof(what), "capfctl bulk --pattern %.200s", pattern);
	}
	if (unique && unique_strings(c, &bk, unique, dry) != 0) {
		bulk_free(&bk);
		return CTL_FAILED;
	}
	if (progress)
		fprintf(stderr, "bulk: %zu device%s to check\n", bk.n, bk.n == 1 ? "" : "s");
	rc = bulk_send(c, &bk, dry, 0, progress, what);
	if (unique && dry) {
		fprintf(stderr, "bulk: dry run: %s was not written (no string was set)\n", unique);
	} else if (rc != CTL_OK && unique) {
		unlink(unique); /* those strings were never set */
		fprintf(stderr, "bulk: %s removed (its strings were not set)\n", unique);
	} else if (unique) {
		fprintf(stderr, "bulk: authentication strings written to %s (mode 0600)\n", unique);
	}
	bulk_free(&bk);
	return rc;
}
