/*
 * pkcs11/p11_int.h: what the files of pkcs11/ share and nobody else may use:
 * the structures behind p11.h's handles, the traced call macro, the session
 * pool and the retry-once runner.
 */
#ifndef CAPF_P11_INT_H
#define CAPF_P11_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <syslog.h>
#include <time.h>

#include "pkcs11/p11.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define P11_ATTR_MAX 65536 /* largest attribute value we read */

struct p11_module {
	struct p11_module *next;
	char *path;
	void *dl;
	CK_FUNCTION_LIST *f;
	unsigned refs;
	int ours; /* we called C_Initialize (so we may C_Finalize) */
	/* Held shared by every thread calling the module for a token (a pooled
	 * session handed out, a token being opened or recovered); taken
	 * exclusively (trywrlock, never waited for) to re-initialise it. */
	pthread_rwlock_t use;
	atomic_ulong epoch; /* bumped by each re-initialisation: older sessions are gone */
	int initialized;    /* C_Initialize in effect (changed only under use, exclusive) */
};

/* Calling the module for a token: shared hold on m->use. */
void p11_module_use(struct p11_module *m);
void p11_module_unuse(struct p11_module *m);
/*
 * C_Finalize + C_Initialize of a wedged module (docs/TOKEN.md, "Recovery"). Only
 * when this layer initialised it, finalizing is allowed, the process is not
 * exiting and no thread is using it (trywrlock). why names the failure for
 * the log. 0, or -1 with msg saying why not / what failed.
 */
int p11_module_reinit(struct p11_module *m, const char *label, const char *why, char *msg, size_t msglen);

struct p11_sess {
	CK_SESSION_HANDLE h;
	int open;
	int busy;
	unsigned long gen; /* token generation it was opened in */
};

struct p11_token {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_uint refs;
	struct p11_module *mod;
	CK_FUNCTION_LIST *f;
	CK_SLOT_ID slot;
	char label[33];
	char serial[17];
	char *pin_file; /* NULL: never log in */
	int rw;
	unsigned npool;
	struct p11_sess *pool;
	unsigned long gen; /* bumped by each recovery: sessions and handles of older ones are stale */
	int down;
	char down_msg[256];
	int pin_failed;
	char pin_msg[512];
	struct timespec last_recover;
	int recovered_before;
	unsigned recover_ms;
	unsigned long recoveries;
	unsigned long epoch;     /* module epoch our sessions belong to */
	CK_RV login_rv;          /* CK_RV of the last C_Login (CKR_OK when none was made) */
	CK_RV open_rv;           /* CK_RV of the call that failed to re-open a session in a recovery */
	const char *open_fn;     /* and its name */
	unsigned long reinits;   /* module re-initialisations this token made */
	unsigned long discarded; /* sessions discarded after a failed operation */
	int reinit_ok;           /* opts.reinit_module */
};

struct p11_object {
	atomic_uint refs;
	struct p11_token *t;
	CK_OBJECT_CLASS cls;
	CK_KEY_TYPE kt;
	CK_OBJECT_HANDLE h; /* valid in generation gen (under t->mu) */
	unsigned long gen;
	/* CKA_ID and CKA_LABEL whole (p11_get_attr's buffers, NULL when absent):
	 * they find the object again after a recovery, so they are never cut */
	unsigned char *id;
	size_t idlen;
	char *label; /* NUL-terminated */
	size_t labellen;
	unsigned bits;
	int nid;
};

/* Message helper: always returns rc. */
int p11_err(int rc, char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* "FN: CKR_X (text)" with an optional "token T: " prefix. */
int p11_err_rv(int rc, char *err, size_t errlen, const struct p11_token *t, const char *fn, CK_RV rv);
void p11_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Whether the process is exiting (p11_set_exiting, or our exit handler ran). */
int p11_exiting(void);

/* Every Cryptoki call goes through this: P11_CALL(f, C_Sign, h, ...). Once the
 * process is exiting the module is not called (nor the call traced): the call
 * "fails" with CKR_CRYPTOKI_NOT_INITIALIZED. */
CK_RV p11_traced(const char *fn, CK_RV rv);
#define P11_CALL(f, fn, ...) \
	(p11_exiting() ? (CK_RV)CKR_CRYPTOKI_NOT_INITIALIZED : p11_traced(#fn, (f)->fn(__VA_ARGS__)))

/* Copies a blank-padded Cryptoki string into a C string (trailing blanks removed). */
void p11_trim(char *dst, size_t dstlen, const unsigned char *src, size_t srclen);
/* The slots with a token present, however many (at most P11_SLOTS_MAX): *slots
 * (free(); NULL when there are none) and *n. The list growing between the count
 * and the fetch (CKR_BUFFER_TOO_SMALL) is retried. */
#define P11_SLOTS_MAX 65536
CK_RV p11_slot_list(CK_FUNCTION_LIST *f, CK_SLOT_ID **slots, CK_ULONG *n);

/*
 * The runner: takes a pooled session (re-opening it if it is stale), calls
 * op, gives the session back; when op's CK_RV is a token fault, recovers
 * (rate-limited) and calls op once more (if retry). *fn names the failing call.
 * Returns P11_OK, or P11_ERR/P11_EDOWN/P11_EPIN with err filled.
 */
typedef CK_RV p11_op_fn(struct p11_token *t, CK_SESSION_HANDLE h, void *arg, const char **fn);
int p11_run(struct p11_token *t, p11_op_fn *op, void *arg, int retry, char *err, size_t errlen);

/* Not a Cryptoki value: "the object is no longer on the token" (found
 * again after a recovery: missing or ambiguous). A bad request, not a fault. */
#define P11_RV_GONE (CKR_VENDOR_DEFINED | 0x0CAF0001UL)

/* The object's handle for this generation, re-found by class and CKA_ID
 * (or label) when a recovery happened since it was found; P11_RV_GONE when
 * it cannot be found again. */
CK_RV p11_object_handle(struct p11_object *o, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE *out);

/* Reads one attribute (two-call) into a fresh OPENSSL_malloc buffer. */
CK_RV p11_get_attr(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh, CK_ATTRIBUTE_TYPE type,
		   unsigned char **val, size_t *len);

/* Finds up to max handles for a template. */
CK_RV p11_find_handles(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE h, CK_ATTRIBUTE *tmpl, CK_ULONG ntmpl,
		       CK_OBJECT_HANDLE *out, size_t max, size_t *n);

/* Builds a p11_object from a handle (reads class, key type, id, label, size). */
CK_RV p11_object_load(struct p11_token *t, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh, struct p11_object **out);

/* Curve of a DER OID (CKA_EC_PARAMS): NID or NID_undef; bits for a curve NID. */
int p11_ec_params_nid(const unsigned char *der, size_t len);
unsigned p11_ec_nid_bits(int nid);

#endif
