/*
 * appliance/capfctl/util.c: files (secrets read from 0600 files only, new
 * secret files created 0600 and never overwritten), times, text escaping,
 * confirmation.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "appliance/capfctl/capfctl.h"
#include "appliance/common/conffile.h"
#include "appliance/common/file.h"
#include "policy/errlist.h"

/* The first line of a private file: owned by us, no group/other access. */
int ctl_read_secret_file(const char *path, char *buf, size_t len)
{
	struct stat st;
	ssize_t n;
	size_t used = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		fprintf(stderr, "capfctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "capfctl: %s: not a regular file\n", path);
		close(fd);
		return -1;
	}
	if ((st.st_mode & 077) != 0 || st.st_uid != geteuid()) {
		fprintf(stderr,
			"capfctl: %s: a file holding a secret must be owned by you and "
			"mode 0600 (it is %04o, uid %u): chmod 600 %s\n",
			path, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, path);
		close(fd);
		return -1;
	}
	while (used + 1 < len && (n = read(fd, buf + used, len - 1 - used)) > 0)
		used += (size_t)n;
	close(fd);
	buf[used] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (used + 1 >= len && strlen(buf) + 1 >= len) {
		OPENSSL_cleanse(buf, len);
		fprintf(stderr, "capfctl: %s: too long (at most %zu bytes)\n", path, len - 2);
		return -1;
	}
	if (buf[0] == '\0') {
		fprintf(stderr, "capfctl: %s: empty\n", path);
		return -1;
	}
	return 0;
}

int ctl_write_new_secret_file(const char *path, const void *data, size_t len)
{
	char err[512];

	if (capf_file_create(path, 0600, data, len, err, sizeof(err)) != 0) {
		fprintf(stderr, "capfctl: %s\n", err);
		return -1;
	}
	return 0;
}

int ctl_write_file(const char *path, const void *data, size_t len, int exclusive)
{
	char err[512];
	int rc;

	if (exclusive)
		rc = capf_file_create(path, 0644, data, len, err, sizeof(err));
	else
		rc = capf_file_replace(path, 0644, data, len, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "capfctl: %s\n", err);
		return -1;
	}
	return 0;
}

int ctl_load_conf(struct ctl *c, struct capf_conf *conf)
{
	const char *path = c->config_path;
	struct capf_errlist *errs;
	size_t i;

	capf_conf_defaults(conf);
	if (path == NULL) {
		if (access(CTL_DEFAULT_CONFIG, R_OK) != 0)
			return 0; /* the embedded defaults */
		path = CTL_DEFAULT_CONFIG;
	}
	errs = capf_errlist_new();
	if (capf_conf_load(conf, path, errs) != 0) {
		for (i = 0; i < capf_errlist_count(errs); i++)
			fprintf(stderr, "capfctl: %s\n", capf_errlist_get(errs, i));
		if (capf_errlist_count(errs) == 0)
			fprintf(stderr, "capfctl: %s: cannot load the configuration\n", path);
		capf_errlist_free(errs);
		return -1;
	}
	capf_errlist_free(errs);
	return 0;
}

int ctl_parse_time(const char *s, time_t *out)
{
	struct tm tm;
	char tail[8] = "";
	int n;

	memset(&tm, 0, sizeof(tm));
	n = sscanf(s, "%4d-%2d-%2d%*1[ T]%2d:%2d%7s", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		   &tm.tm_min, tail);
	if (n < 5 || (n == 6 && strcmp(tail, "Z") != 0 && strcmp(tail, "UTC") != 0 && strcmp(tail, ":00") != 0))
		return -1;
	if (tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

static const char *fmt_utc(time_t t, int rfc3339, char *buf, size_t len)
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (rfc3339)
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	else
		strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm);
	return buf;
}

const char *ctl_fmt_time(time_t t, char *buf, size_t len)
{
	return fmt_utc(t, 0, buf, len);
}

const char *ctl_fmt_rfc3339(time_t t, char *buf, size_t len)
{
	return fmt_utc(t, 1, buf, len);
}

void ctl_json_opt(FILE *f, const char *s)
{
	if (s == NULL || s[0] == '\0')
		fputs("null", f);
	else
		ctl_json_str(f, s);
}

void ctl_json_time(FILE *f, time_t t)
{
	char b[40];

	if (t == 0)
		fputs("null", f);
	else
		fprintf(f, "\"%s\"", ctl_fmt_rfc3339(t, b, sizeof(b)));
}

void ctl_json_str(FILE *f, const char *s)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

void ctl_csv_str(FILE *f, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int ctl_unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;
	int hi = -1, v;

	for (; *s; s++) {
		if (*s == ':' && hi < 0)
			continue;
		if ((v = hexval((unsigned char)*s)) < 0)
			return -1;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n >= max)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	return hi >= 0 ? -1 : (int)n;
}

int ctl_confirm(bool yes, const char *question)
{
	char line[64];

	if (yes)
		return 1;
	if (!isatty(STDIN_FILENO)) {
		fprintf(stderr, "Not confirmed: nothing was changed. Run again with --yes to confirm.\n");
		return 0;
	}
	fprintf(stderr, "%s Type \"yes\" to continue: ", question);
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) == NULL) {
		fprintf(stderr, "\nNot confirmed: nothing was changed.\n");
		return 0;
	}
	line[strcspn(line, "\r\n")] = '\0';
	if (strcmp(line, "yes") != 0) {
		fprintf(stderr, "Not confirmed: nothing was changed.\n");
		return 0;
	}
	return 1;
}

bool ctl_want_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	}
	return false;
}
