/*
 * appliance/signerd/admin_file.c: writing ca.certificate (and its chain) from
 * inside the sandbox. Like appliance/common/file.c (new files with O_EXCL,
 * replacements through a temporary and rename, fsync of file and directory)
 * but without fchmod, which the daemon's seccomp allow-list does not have:
 * the mode is 0644 under the daemon's umask (077), i.e. 0600.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "appliance/signerd/admin.h"

static int
write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int
fsync_dir_of(const char *path)
{
	char copy[PATH_MAX];
	int fd, rc;

	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
		return -1;
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int
write_new(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path,
			 errno == EEXIST ? "already exists; refusing to overwrite" : strerror(errno));
		return -1;
	}
	if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "%s: write: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if (close(fd) < 0) {
		snprintf(err, errlen, "%s: close: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

int
admin_file_put(const char *path, const void *data, size_t len, int exclusive,
	       char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	unsigned char r[6];

	if (exclusive) {
		if (write_new(path, data, len, err, errlen) != 0)
			return -1;
	} else {
		if (RAND_bytes(r, sizeof(r)) != 1 ||
		    snprintf(tmp, sizeof(tmp), "%s.tmp.%02x%02x%02x%02x%02x%02x", path, r[0], r[1],
			     r[2], r[3], r[4], r[5]) >= (int)sizeof(tmp)) {
			snprintf(err, errlen, "%s: path too long", path);
			return -1;
		}
		if (write_new(tmp, data, len, err, errlen) != 0)
			return -1;
		if (rename(tmp, path) < 0) {
			snprintf(err, errlen, "%s: rename: %s", path, strerror(errno));
			unlink(tmp);
			return -1;
		}
	}
	if (fsync_dir_of(path) < 0) {
		snprintf(err, errlen, "%s: fsync of its directory: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}
