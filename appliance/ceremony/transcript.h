/*
 * appliance/ceremony/transcript.h: the ceremony's record. Created with O_EXCL
 * (never overwritten), each line written and fsynced as the step happens, so a
 * ceremony that dies half-way leaves the record of what it did. Artifacts are
 * listed with their SHA-256; files holding secrets (PINs) only by name.
 */
#ifndef CAPF_CEREMONY_TRANSCRIPT_H
#define CAPF_CEREMONY_TRANSCRIPT_H

#include <stddef.h>

struct transcript;

int transcript_create(const char *path, struct transcript **out, char *err, size_t errlen);
/* A timestamped line ("2026-11-22T17:30:01Z step: ..."); also echoed to stdout. */
int transcript_step(struct transcript *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records an artifact: its SHA-256 (hex into sha_hex[65] when not NULL), or
 * secret = 1 for a file whose digest must not be published. */
int transcript_artifact(struct transcript *t, const char *what, const char *path, int secret, char *sha_hex,
			char *err, size_t errlen);
/* Writes the artifact table and closes. Returns 0 when everything reached the disk. */
int transcript_close(struct transcript *t, int success);

/* SHA-256 of a file as hex (65 bytes). */
int sha256_file_hex(const char *path, char hex[65], char *err, size_t errlen);

#endif
