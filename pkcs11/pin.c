/* pkcs11/pin.c: a PIN read from a private file (see p11_pin.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "pkcs11/p11.h"
#include "pkcs11/p11_pin.h"

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int p11_pin_read(const char *path, char *pin, size_t pinsz, size_t *pinlen, struct stat *stout, char *err,
		 size_t errlen)
{
	unsigned char buf[P11_PIN_MAX + 3]; /* PIN + "\r\n" + one byte to detect excess */
	struct stat st;
	size_t n = 0;
	ssize_t r;
	int fd, ret = -1;

	*pinlen = 0;
	if (pinsz < P11_PIN_MAX + 1)
		return fail(err, errlen, "PIN file %s: internal error: buffer too small", path);
	pin[0] = '\0';
	if (path == NULL || path[0] != '/')
		return fail(err, errlen, "PIN file %s: must be an absolute path", path ? path : "(none)");
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ELOOP)
			return fail(err, errlen, "PIN file %s: is a symbolic link; name the file itself", path);
		return fail(err, errlen, "PIN file %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) < 0) {
		fail(err, errlen, "PIN file %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(err, errlen, "PIN file %s: not a regular file", path);
		goto out;
	}
	if (st.st_uid != geteuid()) {
		fail(err, errlen,
		     "PIN file %s: owned by uid %lu, not by this process's uid %lu; "
		     "chown it to the user that runs this program",
		     path, (unsigned long)st.st_uid, (unsigned long)geteuid());
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		fail(err, errlen,
		     "PIN file %s: mode %04o gives access to group or others; "
		     "run chmod 600 on it",
		     path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size > P11_PIN_MAX + 2) {
		fail(err, errlen, "PIN file %s: larger than %d bytes", path, P11_PIN_MAX);
		goto out;
	}
	while (n < sizeof(buf)) {
		r = read(fd, buf + n, sizeof(buf) - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fail(err, errlen, "PIN file %s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > 0 && buf[n - 1] == '\n') {
		n--;
		if (n > 0 && buf[n - 1] == '\r')
			n--;
	}
	if (n > P11_PIN_MAX) {
		fail(err, errlen, "PIN file %s: larger than %d bytes", path, P11_PIN_MAX);
		goto out;
	}
	if (n == 0) {
		fail(err, errlen, "PIN file %s: empty", path);
		goto out;
	}
	if (memchr(buf, '\0', n) != NULL || memchr(buf, '\n', n) != NULL) {
		fail(err, errlen, "PIN file %s: holds a NUL byte or more than one line", path);
		goto out;
	}
	memcpy(pin, buf, n);
	pin[n] = '\0';
	*pinlen = n;
	if (stout != NULL)
		*stout = st;
	ret = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return ret;
}
