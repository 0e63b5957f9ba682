/*
 * appliance/store/store_vfs.c: a pass-through SQLite VFS over the default one
 * that counts xSync calls (fsync/fdatasync) on one store's files, so that group
 * commit can be measured rather than guessed. Everything else is forwarded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appliance/store/store_int.h"

struct store_vfs {
	sqlite3_vfs base; /* first: SQLite hands us &base */
	sqlite3_vfs *root;
	atomic_uint_fast64_t *syncs;
	char name[48];
};

struct cfile {
	sqlite3_file base; /* first */
	struct store_vfs *vfs;
	sqlite3_file *real; /* follows this struct in the same allocation */
};

#define REAL(f) (((struct cfile *)(f))->real)

static int c_close(sqlite3_file *f)
{
	int rc = REAL(f)->pMethods->xClose(REAL(f));
	f->pMethods = NULL;
	return rc;
}
static int c_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{
	return REAL(f)->pMethods->xRead(REAL(f), b, n, o);
}
static int c_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
	return REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
}
static int c_truncate(sqlite3_file *f, sqlite3_int64 sz)
{
	return REAL(f)->pMethods->xTruncate(REAL(f), sz);
}
static int c_sync(sqlite3_file *f, int flags)
{
	atomic_fetch_add(((struct cfile *)f)->vfs->syncs, 1);
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int c_filesize(sqlite3_file *f, sqlite3_int64 *sz)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), sz);
}
static int c_lock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xLock(REAL(f), l);
}
static int c_unlock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), l);
}
static int c_checkreserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int c_fcntl(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int c_sectorsize(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int c_devchar(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int c_shmmap(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, pp);
}
static int c_shmlock(sqlite3_file *f, int off, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void c_shmbarrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int c_shmunmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
static int c_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **pp)
{
	return REAL(f)->pMethods->xFetch(REAL(f), o, n, pp);
}
static int c_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), o, p);
}

#define METHODS(v)                                                                                            \
	{                                                                                                     \
		v, c_close, c_read, c_write, c_truncate, c_sync, c_filesize, c_lock, c_unlock,                \
			c_checkreserved, c_fcntl, c_sectorsize, c_devchar, c_shmmap, c_shmlock, c_shmbarrier, \
			c_shmunmap, c_fetch, c_unfetch                                                        \
	}
static const sqlite3_io_methods methods[3] = { METHODS(1), METHODS(2), METHODS(3) };

static int c_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags, int *outflags)
{
	struct store_vfs *v = (struct store_vfs *)vfs;
	struct cfile *cf = (struct cfile *)f;
	int rc, ver;

	cf->vfs = v;
	cf->real = (sqlite3_file *)(cf + 1);
	rc = v->root->xOpen(v->root, name, cf->real, flags, outflags);
	if (cf->real->pMethods == NULL) {
		f->pMethods = NULL;
		return rc;
	}
	ver = cf->real->pMethods->iVersion;
	if (ver < 1)
		ver = 1;
	if (ver > 3)
		ver = 3;
	f->pMethods = &methods[ver - 1];
	return rc;
}

struct store_vfs *store_vfs_new(atomic_uint_fast64_t *syncs, char *err, size_t errlen)
{
	static atomic_uint serial;
	struct store_vfs *v;
	sqlite3_vfs *root = sqlite3_vfs_find(NULL);

	if (root == NULL) {
		store_err(err, errlen, "store: SQLite has no default VFS");
		return NULL;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		store_err(err, errlen, "store: out of memory");
		return NULL;
	}
	/* A copy of the default VFS keeps its pAppData and every method; only
	 * the name, the file size and xOpen differ. */
	memcpy(&v->base, root, sizeof(v->base));
	v->root = root;
	v->syncs = syncs;
	snprintf(v->name, sizeof(v->name), "capf-store-%u-%p", atomic_fetch_add(&serial, 1), (void *)v);
	v->base.zName = v->name;
	v->base.pNext = NULL;
	v->base.szOsFile = (int)sizeof(struct cfile) + root->szOsFile;
	v->base.xOpen = c_open;
	if (sqlite3_vfs_register(&v->base, 0) != SQLITE_OK) {
		store_err(err, errlen, "store: cannot register the counting VFS");
		free(v);
		return NULL;
	}
	return v;
}

const char *store_vfs_name(const struct store_vfs *v)
{
	return v->name;
}

void store_vfs_free(struct store_vfs *v)
{
	if (v == NULL)
		return;
	sqlite3_vfs_unregister(&v->base);
	free(v);
}
