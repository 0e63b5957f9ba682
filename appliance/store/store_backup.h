/*
 * appliance/store/store_backup.h: a consistent online copy of the store, checked.
 *
 *   capf_store_backup(st, dest, &info, err, errlen)
 *       copies the store into dest, a file it creates (0600, O_EXCL: an existing file is
 *       refused) in a directory owned by the caller and not writable by others, through
 *       SQLite's online backup API from one read transaction: the copy is the snapshot of
 *       one moment, and writers (enrollments) go on meanwhile. The copy is a single
 *       self-contained file (rollback journal mode; the store switches it back to WAL
 *       when it is opened as a store). Then it checks the copy: PRAGMA integrity_check
 *       must answer "ok", and the copy, opened read-only as a store (schema version
 *       known), must have an intact audit chain. On any failure dest is removed and a
 *       message says which check failed. 0 or CAPF_STORE_ERROR.
 *   capf_store_check_copy(path, &info, err, errlen)
 *       the checks alone, on an existing copy (read-only).
 */
#ifndef CAPF_STORE_BACKUP_H
#define CAPF_STORE_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "appliance/store/store.h"

struct capf_store_backup_info {
	uint64_t bytes;      /* size of the copy */
	uint64_t audit_rows; /* audit rows whose chain was verified in the copy */
	uint64_t devices;    /* devices in the copy */
};

int capf_store_backup(struct capf_store *st, const char *dest, struct capf_store_backup_info *info, char *err,
		      size_t errlen);
int capf_store_check_copy(const char *path, struct capf_store_backup_info *info, char *err, size_t errlen);

#endif
