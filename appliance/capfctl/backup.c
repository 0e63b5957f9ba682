/*
 * appliance/capfctl/backup.c: `capfctl backup --out FILE`.
 *
 * capf-signerd makes and checks the snapshot (BACKUP_BEGIN: SQLite's online backup,
 * PRAGMA integrity_check, the audit chain) and hands its bytes out over the admin socket
 * (BACKUP_READ); capfctl, as the operator, writes them into a new 0600 file next to
 * FILE, checks size and SHA-256 against the daemon's (also re-reading what reached the
 * disk), syncs it, and only then gives it its name (link: an existing FILE is never
 * replaced). Nothing named FILE exists unless the whole copy checked out.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "appliance/capfctl/capfctl.h"
#include "appliance/common/file.h"

static const char usage_backup[] =
	"usage: capfctl backup --out FILE [--json]\n"
	"\n"
	"A consistent copy of capf-signerd's store, taken while it runs (enrollments go on):\n"
	"the daemon copies the database with SQLite's online backup API (one moment's\n"
	"snapshot), checks the copy (PRAGMA integrity_check, and the audit hash chain) and\n"
	"streams it here; capfctl writes FILE (mode 0600, owned by you), checks its size and\n"
	"SHA-256 against the daemon's and syncs it. FILE must not exist: nothing is replaced.\n"
	"Restore: see docs/OPERATIONS.md (stop capf-signerd, put the file in store.path).\n"
	"  --out FILE   where to write the copy (a new file)\n"
	"  --json       print {\"file\", \"bytes\", \"sha256\", \"audit_rows\"}\n"
	"Exit: 0 written and checked, 1 failed (no FILE left), 2 usage, 3 daemon unreachable.\n";

static void hex32(const unsigned char *p, char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* SHA-256 of the whole file behind fd, read from the start */
static int sha256_file(int fd, unsigned char out[32])
{
	unsigned char buf[65536];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	off_t off = 0;
	ssize_t n;
	int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;

	while (ok && (n = pread(fd, buf, sizeof(buf), off)) > 0) {
		ok = EVP_DigestUpdate(md, buf, (size_t)n) == 1;
		off += n;
	}
	ok = ok && n == 0 && EVP_DigestFinal_ex(md, out, NULL) == 1;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

/* Streams the snapshot into fd; its size, SHA-256 and audit row count in the out args. */
static int fetch(struct ctl *c, int fd, uint64_t *size, unsigned char sha[32], uint32_t *rows)
{
	struct capf_ipc_builder b;
	struct ctl_reply r;
	const uint8_t *p;
	size_t len;
	uint64_t handle = 0, off = 0;
	EVP_MD_CTX *md;
	unsigned char got[32];
	int rc;

	ctl_begin(c, &b, CAPF_IPC_BACKUP_BEGIN);
	if ((rc = ctl_call(c, &b, "backup", &r)) != CTL_OK)
		return rc;
	capf_ipc_get_u64(&r.msg, CAPF_IPC_T_BACKUP, &handle);
	capf_ipc_get_u64(&r.msg, CAPF_IPC_T_SIZE, size);
	capf_ipc_get_u32(&r.msg, CAPF_IPC_T_COUNT, rows);
	if (capf_ipc_get_bytes(&r.msg, CAPF_IPC_T_SHA256, &p, &len) != 0 || len != 32) {
		ctl_reply_free(&r);
		fprintf(stderr, "capfctl backup: the daemon sent no SHA-256\n");
		return CTL_FAILED;
	}
	memcpy(sha, p, 32);
	ctl_reply_free(&r);
	if ((md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return CTL_FAILED;
	}
	rc = CTL_OK;
	while (rc == CTL_OK && off < *size) {
		ctl_begin(c, &b, CAPF_IPC_BACKUP_READ);
		capf_ipc_put_u64(&b, CAPF_IPC_T_BACKUP, handle);
		capf_ipc_put_u64(&b, CAPF_IPC_T_OFFSET, off);
		if ((rc = ctl_call(c, &b, "backup", &r)) != CTL_OK)
			break;
		if (capf_ipc_get_bytes(&r.msg, CAPF_IPC_T_DATA, &p, &len) != 0 || len == 0 ||
		    len > *size - off) {
			fprintf(stderr, "capfctl backup: bad piece at offset %" PRIu64 "\n", off);
			rc = CTL_FAILED;
		} else if (capf_file_write_all(fd, p, len) != 0) {
			fprintf(stderr, "capfctl backup: write: %s\n", strerror(errno));
			rc = CTL_FAILED;
		} else {
			EVP_DigestUpdate(md, p, len);
			off += len;
		}
		ctl_reply_free(&r);
	}
	if (rc == CTL_OK) {
		EVP_DigestFinal_ex(md, got, NULL);
		if (memcmp(got, sha, 32) != 0) {
			fprintf(stderr, "capfctl backup: the bytes received do not match the daemon's "
					"SHA-256\n");
			rc = CTL_FAILED;
		}
	}
	EVP_MD_CTX_free(md);
	ctl_begin(c, &b, CAPF_IPC_BACKUP_END);
	capf_ipc_put_u64(&b, CAPF_IPC_T_BACKUP, handle);
	if (ctl_call(c, &b, "backup", &r) == CTL_OK)
		ctl_reply_free(&r);
	return rc;
}

int cmd_backup(struct ctl *c, int argc, char **argv)
{
	enum { O_OUT = CTL_OPT_FIRST_LOCAL, O_JSON };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{ "out", required_argument, NULL, O_OUT },
		{ "json", no_argument, NULL, O_JSON },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	char tmp[4200], dirbuf[4200], shahex[65];
	unsigned char sha[32], disk[32];
	uint64_t size = 0;
	uint32_t rows = 0;
	struct stat sb;
	int opt, json = 0, fd, dfd, rc;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ctl_common_opt(c, opt, optarg))
			continue;
		switch (opt) {
		case CTL_OPT_HELP:
			ctl_usage(usage_backup);
			return CTL_OK;
		case O_OUT:
			out = optarg;
			break;
		case O_JSON:
			json = 1;
			break;
		default:
			return ctl_usage_error("backup", "unknown option");
		}
	}
	if (optind != argc)
		return ctl_usage_error("backup", "unexpected argument \"%s\"", argv[optind]);
	if (out == NULL || out[0] == '\0')
		return ctl_usage_error("backup", "--out FILE is required");
	if (lstat(out, &sb) == 0) {
		fprintf(stderr, "capfctl backup: %s exists: choose a new file (nothing is replaced)\n", out);
		return CTL_FAILED;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.partial.XXXXXX", out) >= (int)sizeof(tmp))
		return ctl_usage_error("backup", "--out: path too long");
	if ((fd = mkstemp(tmp)) < 0) {
		fprintf(stderr, "capfctl backup: cannot create a file next to %s: %s\n", out, strerror(errno));
		return CTL_FAILED;
	}
	if (fchmod(fd, 0600) != 0) {
		fprintf(stderr, "capfctl backup: chmod %s: %s\n", tmp, strerror(errno));
		rc = CTL_FAILED;
		goto fail;
	}
	if ((rc = fetch(c, fd, &size, sha, &rows)) != CTL_OK)
		goto fail;
	/* what reached the disk, read back */
	if (fsync(fd) != 0 || sha256_file(fd, disk) != 0 || memcmp(disk, sha, 32) != 0) {
		fprintf(stderr, "capfctl backup: %s: the file read back does not match (%s)\n", tmp,
			errno ? strerror(errno) : "SHA-256 differs");
		rc = CTL_FAILED;
		goto fail;
	}
	close(fd);
	fd = -1;
	if (link(tmp, out) != 0) {
		fprintf(stderr, "capfctl backup: %s: %s (nothing is replaced)\n", out, strerror(errno));
		rc = CTL_FAILED;
		goto fail;
	}
	unlink(tmp);
	snprintf(dirbuf, sizeof(dirbuf), "%s", out);
	if ((dfd = open(dirname(dirbuf), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	hex32(sha, shahex);
	if (json) {
		fputs("{\"file\": ", stdout);
		ctl_json_str(stdout, out);
		printf(", \"bytes\": %" PRIu64 ", \"sha256\": \"%s\", \"audit_rows\": %u}\n", size, shahex,
		       rows);
	} else {
		printf("backup: %s written (%" PRIu64 " bytes, mode 0600, SHA-256 %s)\n", out, size, shahex);
		printf("backup: the copy passed SQLite's integrity check; its audit chain is intact "
		       "(%u row%s)\n",
		       rows, rows == 1 ? "" : "s");
	}
	return CTL_OK;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}
