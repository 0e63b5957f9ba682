/*
 * appliance/common/file.h: careful file I/O for programs that must not lose or
 * half-write anything: reads capped before allocation, new files created with an
 * explicit mode and O_EXCL (never overwrite), replacements written to a temporary
 * and renamed with fsync of file and directory.
 * Every function returns 0 or -1 with a message in err.
 */
#ifndef CAPF_COMMON_FILE_H
#define CAPF_COMMON_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Reads a whole regular file of at most max bytes (anything else, a FIFO
 * included, is refused without waiting on it); *out is NUL-terminated (not
 * counted in *len) and must be freed with free() (or OPENSSL_clear_free for secrets). */
int capf_file_read(const char *path, size_t max, unsigned char **out, size_t *len, char *err, size_t errlen);

/* Creates path with mode (refuses when it exists), writes data, fsyncs file and directory. */
int capf_file_create(const char *path, mode_t mode, const void *data, size_t len, char *err, size_t errlen);

/* Writes data to path atomically (a temporary of its own + rename), fsyncs file and
 * directory; thread-safe. */
int capf_file_replace(const char *path, mode_t mode, const void *data, size_t len, char *err, size_t errlen);

/* Writes all of data to fd (retries short writes and EINTR); 0, or -1 with errno set. */
int capf_file_write_all(int fd, const void *data, size_t len);
/* Closes every descriptor >= lowfd. */
void capf_closefrom(int lowfd);

#endif
