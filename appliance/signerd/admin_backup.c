/*
 * appliance/signerd/admin_backup.c: BACKUP_BEGIN/READ/END, the store's online backup.
 *
 * BEGIN makes a snapshot of the store (capf_store_backup: SQLite's backup API from one
 * read transaction, enrollments go on) in a new 0600 file beside the store, which only
 * capf-signer can reach; the copy must pass PRAGMA integrity_check and the audit chain
 * check before anything is answered. The file is then opened, unlinked at once (nothing
 * is left behind, whatever happens next) and held for the connection that asked; the
 * answer gives its handle, size and SHA-256. READ hands out pieces of it; END, or the
 * connection closing, drops it. The operator's file is written by capfctl, as the
 * operator: the daemon never writes outside its own directories.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "appliance/common/log.h"
#include "appliance/signerd/admin.h"
#include "appliance/store/store_backup.h"

#define BACKUP_SLOTS 4      /* snapshots held at once */
#define BACKUP_CHUNK 49152  /* bytes per READ (the DATA tag's cap) */
#define BACKUP_IDLE_MAX 300 /* seconds: a snapshot nobody reads any more goes */

struct backup_slot {
	uint64_t handle; /* 0: free */
	uint64_t conn_id;
	int fd;
	uint64_t size;
	time_t used;
	int busy;
};

static pthread_mutex_t backup_lock = PTHREAD_MUTEX_INITIALIZER;
static struct backup_slot slots[BACKUP_SLOTS];
static unsigned backup_seq;

static void slot_free(struct backup_slot *s)
{
	if (s->handle != 0 && s->fd >= 0)
		close(s->fd);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/* The slot the request's BACKUP names, for this connection (marked busy), or NULL. */
static struct backup_slot *slot_take(struct admin_req *a)
{
	uint64_t h = 0;

	if (capf_ipc_get_u64(a->req, CAPF_IPC_T_BACKUP, &h) != 0 || h == 0)
		return NULL;
	pthread_mutex_lock(&backup_lock);
	for (int i = 0; i < BACKUP_SLOTS; i++)
		if (slots[i].handle == h && slots[i].conn_id == a->peer->conn_id && !slots[i].busy) {
			slots[i].busy = 1;
			pthread_mutex_unlock(&backup_lock);
			return &slots[i];
		}
	pthread_mutex_unlock(&backup_lock);
	return NULL;
}

static void slot_release(struct backup_slot *s, int drop)
{
	pthread_mutex_lock(&backup_lock);
	if (drop) {
		slot_free(s);
	} else {
		s->busy = 0;
		s->used = time(NULL);
	}
	pthread_mutex_unlock(&backup_lock);
}

void admin_backup_conn_closed(uint64_t conn_id)
{
	pthread_mutex_lock(&backup_lock);
	for (int i = 0; i < BACKUP_SLOTS; i++)
		if (slots[i].handle != 0 && slots[i].conn_id == conn_id && !slots[i].busy)
			slot_free(&slots[i]);
	pthread_mutex_unlock(&backup_lock);
}

static int sha256_fd(int fd, uint64_t size, unsigned char out[32])
{
	unsigned char buf[65536];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint64_t off = 0;
	int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;

	while (ok && off < size) {
		ssize_t n = pread(fd, buf, sizeof(buf), (off_t)off);

		if (n <= 0)
			ok = 0;
		else
			ok = EVP_DigestUpdate(md, buf, (size_t)n) == 1, off += (uint64_t)n;
	}
	ok = ok && EVP_DigestFinal_ex(md, out, NULL) == 1;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

int admin_backup_begin(struct admin_req *a)
{
	struct capf_store_backup_info info;
	struct backup_slot *s = NULL;
	unsigned char sha[32];
	char path[4200], err[768], hex[65];
	uint64_t handle = 0;
	unsigned seq;
	struct stat sb;
	int fd, i;

	pthread_mutex_lock(&backup_lock);
	/* a backstop: a connection that closed while its BEGIN ran left its snapshot behind */
	for (i = 0; i < BACKUP_SLOTS; i++)
		if (slots[i].handle != 0 && !slots[i].busy && time(NULL) - slots[i].used > BACKUP_IDLE_MAX)
			slot_free(&slots[i]);
	for (i = 0; i < BACKUP_SLOTS && s == NULL; i++)
		if (slots[i].handle == 0)
			s = &slots[i];
	if (s != NULL) {
		while (handle == 0)
			if (RAND_bytes((unsigned char *)&handle, sizeof(handle)) != 1)
				break;
		s->handle = handle;
		s->conn_id = a->peer->conn_id;
		s->fd = -1;
		s->busy = 1;
	}
	seq = ++backup_seq;
	pthread_mutex_unlock(&backup_lock);
	if (s == NULL)
		return admin_retry(a, "backup: already 4 backups in progress; try again when one ends");
	if (handle == 0) {
		slot_release(s, 1);
		return admin_error(a, "backup: no random handle");
	}
	snprintf(path, sizeof(path), "%s.backup-%ld-%u", a->sd->conf.store.path, (long)getpid(), seq);
	if (capf_store_backup(a->sd->store, path, &info, err, sizeof(err)) != 0) {
		slot_release(s, 1);
		capf_log(LOG_ERR, "backup_failed", "uid=%u error=%s", (unsigned)a->peer->uid, err);
		signerd_audit(a->sd, a->peer, "backup_failed", "store", "%s", err);
		return admin_error(a, "%s", err);
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	unlink(path);
	if (fd < 0 || fstat(fd, &sb) < 0 || (uint64_t)sb.st_size != info.bytes ||
	    sha256_fd(fd, info.bytes, sha) != 0) {
		snprintf(err, sizeof(err), "backup: reading the checked copy %.400s: %s", path,
			 fd < 0 ? strerror(errno) : "size changed or read error");
		if (fd >= 0)
			close(fd);
		slot_release(s, 1);
		return admin_error(a, "%s", err);
	}
	pthread_mutex_lock(&backup_lock);
	s->fd = fd;
	s->size = info.bytes;
	s->used = time(NULL);
	s->busy = 0;
	pthread_mutex_unlock(&backup_lock);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", sha[i]);
	capf_log(LOG_NOTICE, "backup", "uid=%u bytes=%llu audit_rows=%llu devices=%llu sha256=%s",
		 (unsigned)a->peer->uid, (unsigned long long)info.bytes, (unsigned long long)info.audit_rows,
		 (unsigned long long)info.devices, hex);
	signerd_audit(a->sd, a->peer, "backup", "store", "bytes=%llu audit_rows=%llu sha256=%s",
		      (unsigned long long)info.bytes, (unsigned long long)info.audit_rows, hex);
	if (admin_ok(a) != 0)
		return -1;
	capf_ipc_put_u64(a->resp, CAPF_IPC_T_BACKUP, handle);
	capf_ipc_put_u64(a->resp, CAPF_IPC_T_SIZE, info.bytes);
	capf_ipc_put_bytes(a->resp, CAPF_IPC_T_SHA256, sha, sizeof(sha));
	capf_ipc_put_u32(a->resp, CAPF_IPC_T_COUNT,
			 info.audit_rows > UINT32_MAX ? UINT32_MAX : (uint32_t)info.audit_rows);
	return 0;
}

int admin_backup_read(struct admin_req *a)
{
	static __thread unsigned char buf[BACKUP_CHUNK];
	struct backup_slot *s;
	uint64_t off = 0;
	ssize_t n = 0;
	size_t want;

	if ((s = slot_take(a)) == NULL)
		return admin_refuse(a, "backup: no such backup on this connection (BACKUP_BEGIN first)");
	capf_ipc_get_u64(a->req, CAPF_IPC_T_OFFSET, &off);
	if (off > s->size) {
		slot_release(s, 0);
		return admin_refuse(a, "backup: offset %llu is past its end (%llu bytes)",
				    (unsigned long long)off, (unsigned long long)s->size);
	}
	want = s->size - off < BACKUP_CHUNK ? (size_t)(s->size - off) : BACKUP_CHUNK;
	if (want > 0)
		n = pread(s->fd, buf, want, (off_t)off);
	slot_release(s, 0);
	if (n < 0 || (size_t)n != want)
		return admin_error(a, "backup: read at %llu: %s", (unsigned long long)off,
				   n < 0 ? strerror(errno) : "short read");
	if (admin_ok(a) != 0)
		return -1;
	capf_ipc_put_bytes(a->resp, CAPF_IPC_T_DATA, buf, want);
	return 0;
}

int admin_backup_end(struct admin_req *a)
{
	struct backup_slot *s;

	if ((s = slot_take(a)) == NULL)
		return admin_refuse(a, "backup: no such backup on this connection");
	slot_release(s, 1);
	return admin_ok(a);
}
