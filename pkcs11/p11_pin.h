/*
 * pkcs11/p11_pin.h: reading a PIN from a file. The file must be a regular file
 * (no symlink: O_NOFOLLOW), owned by the effective uid, with no group or other
 * permission bits (chmod 600), at most P11_PIN_MAX bytes; exactly one trailing
 * "\n" or "\r\n" is removed. The PIN never appears in a message.
 */
#ifndef CAPF_P11_PIN_H
#define CAPF_P11_PIN_H

#include <stddef.h>
#include <sys/stat.h>

/* pin must hold P11_PIN_MAX + 1 bytes; it is NUL-terminated, *pinlen excludes
 * the NUL. The caller wipes it with OPENSSL_cleanse. An empty PIN is refused.
 * st (may be NULL): the fstat of the very file the PIN was read from, for a
 * caller that remembers a file by identity (a second stat could see another). */
int p11_pin_read(const char *path, char *pin, size_t pinsz, size_t *pinlen, struct stat *st, char *err,
		 size_t errlen);

#endif
