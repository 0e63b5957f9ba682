/* appliance/ceremony/transcript.c: see transcript.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "appliance/ceremony/transcript.h"

#define ARTIFACTS_MAX 16

struct transcript {
	FILE *f;
	int failed;
	int n;
	struct {
		char path[PATH_MAX];
		char what[64];
		char sha[65];
	} art[ARTIFACTS_MAX];
};

int sha256_file_hex(const char *path, char hex[65], char *err, size_t errlen)
{
	unsigned char buf[8192], md[32];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx = NULL;
	FILE *f;
	size_t r;
	int rc = -1;

	if ((f = fopen(path, "rbe")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		goto out;
	while ((r = fread(buf, 1, sizeof(buf), f)) > 0)
		if (!EVP_DigestUpdate(ctx, buf, r))
			goto out;
	if (ferror(f) || !EVP_DigestFinal_ex(ctx, md, &mdlen))
		goto out;
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	rc = 0;
out:
	if (rc != 0)
		snprintf(err, errlen, "%s: could not hash the file", path);
	EVP_MD_CTX_free(ctx);
	fclose(f);
	return rc;
}

static void now_iso(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void emit(struct transcript *t, const char *line)
{
	if (fputs(line, t->f) < 0 || fflush(t->f) != 0 || fsync(fileno(t->f)) != 0)
		t->failed = 1;
}

int transcript_create(const char *path, struct transcript **out, char *err, size_t errlen)
{
	struct transcript *t;
	int fd;

	*out = NULL;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0) {
		snprintf(err, errlen, "%s: %s", path,
			 errno == EEXIST ? "already exists; refusing to overwrite a transcript" :
					   strerror(errno));
		return -1;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL || (t->f = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		free(t);
		close(fd);
		return -1;
	}
	*out = t;
	return 0;
}

int transcript_step(struct transcript *t, const char *fmt, ...)
{
	char ts[32], msg[2048], line[2100];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	now_iso(ts, sizeof(ts));
	snprintf(line, sizeof(line), "%s %s\n", ts, msg);
	emit(t, line);
	fputs(line, stdout);
	fflush(stdout);
	return t->failed ? -1 : 0;
}

int transcript_artifact(struct transcript *t, const char *what, const char *path, int secret, char *sha_hex,
			char *err, size_t errlen)
{
	char hex[65] = "(secret: digest not recorded)";

	if (!secret && sha256_file_hex(path, hex, err, errlen) < 0)
		return -1;
	if (t->n < ARTIFACTS_MAX) {
		snprintf(t->art[t->n].path, sizeof(t->art[t->n].path), "%s", path);
		snprintf(t->art[t->n].what, sizeof(t->art[t->n].what), "%s", what);
		snprintf(t->art[t->n].sha, sizeof(t->art[t->n].sha), "%s", hex);
		t->n++;
	}
	if (sha_hex != NULL)
		memcpy(sha_hex, hex, 65);
	transcript_step(t, "artifact: %s %s sha256=%s", what, path, secret ? "-" : hex);
	return 0;
}

int transcript_close(struct transcript *t, int success)
{
	char line[PATH_MAX + 160];
	int rc;

	emit(t, success ?
			"\nresult: completed\nartifacts (sha256  what  path):\n" :
			"\nresult: FAILED (see the last step above)\nartifacts written before the failure:\n");
	for (int i = 0; i < t->n; i++) {
		snprintf(line, sizeof(line), "  %-64s  %-12s  %s\n", t->art[i].sha, t->art[i].what,
			 t->art[i].path);
		emit(t, line);
	}
	rc = fclose(t->f) != 0 || t->failed ? -1 : 0;
	free(t);
	return rc;
}
