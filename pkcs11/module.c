/* pkcs11/module.c: loading Cryptoki modules (refcounted per path), logging and
 * call tracing for the whole layer (see p11.h). */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "pkcs11/p11_int.h"

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static p11_log_fn *log_fn;
static void *log_arg;
static atomic_int trace_on;
static atomic_int finalize_on = 1;
static atomic_int exiting;
static int exit_registered; /* under mods_mu */

static pthread_mutex_t mods_mu = PTHREAD_MUTEX_INITIALIZER;
static struct p11_module *mods;

void p11_set_log_fn(p11_log_fn *fn, void *arg)
{
	pthread_mutex_lock(&log_mu);
	log_fn = fn;
	log_arg = arg;
	pthread_mutex_unlock(&log_mu);
}

void p11_set_trace(int on)
{
	atomic_store(&trace_on, on != 0);
}

void p11_set_finalize(int on)
{
	atomic_store(&finalize_on, on != 0);
}

void p11_set_exiting(void)
{
	atomic_store(&exiting, 1);
}

int p11_exiting(void)
{
	return atomic_load_explicit(&exiting, memory_order_acquire);
}

static void mark_exiting(void)
{
	atomic_store(&exiting, 1);
}

/*
 * Exit handlers run in the reverse order of their registration. Registered
 * after a module was loaded and initialised, ours runs before the module's
 * own (C++ static destructors, registered when it was loaded) and before
 * OpenSSL's OPENSSL_cleanup (registered when OpenSSL was first used, at the
 * latest in the module's C_Initialize). Whatever is released after it (the
 * provider's teardown from OPENSSL_cleanup, an application's earlier exit
 * handler) then never calls into a module that is already torn down.
 * Once per process, and again for each module library that was not loaded
 * before (its exit handlers are newer than ours). Called with mods_mu held.
 */
static void register_exit(int newly_loaded)
{
	if (exit_registered && !newly_loaded)
		return;
	if (atexit(mark_exiting) != 0) {
		p11_log(LOG_WARNING, "pkcs11: cannot register an exit handler: call p11_set_exiting() "
				     "before exit");
		return;
	}
	exit_registered = 1;
}

void p11_log(int level, const char *fmt, ...)
{
	char msg[1024];
	p11_log_fn *fn;
	void *arg;
	va_list ap;

	pthread_mutex_lock(&log_mu);
	fn = log_fn;
	arg = log_arg;
	pthread_mutex_unlock(&log_mu);
	if (fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn(arg, level, msg);
}

CK_RV p11_traced(const char *fn, CK_RV rv)
{
	if (atomic_load(&trace_on))
		p11_log(LOG_DEBUG, "pkcs11 call %s -> %s", fn, p11_rv_name(rv));
	return rv;
}

int p11_err(int rc, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

int p11_err_rv(int rc, char *err, size_t errlen, const struct p11_token *t, const char *fn, CK_RV rv)
{
	char m[256];

	p11_rv_msg(m, sizeof(m), fn, rv);
	if (t != NULL)
		return p11_err(rc, err, errlen, "token %s: %s", t->label, m);
	return p11_err(rc, err, errlen, "%s", m);
}

void p11_trim(char *dst, size_t dstlen, const unsigned char *src, size_t srclen)
{
	size_t n = srclen;

	while (n > 0 && (src[n - 1] == ' ' || src[n - 1] == '\0'))
		n--;
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

CK_RV p11_slot_list(CK_FUNCTION_LIST *f, CK_SLOT_ID **slots, CK_ULONG *n)
{
	CK_RV rv = CKR_OK;

	*slots = NULL;
	*n = 0;
	for (int tries = 0; tries < 4; tries++) {
		CK_ULONG want = 0;
		CK_SLOT_ID *s;

		if ((rv = P11_CALL(f, C_GetSlotList, CK_TRUE, NULL, &want)) != CKR_OK)
			return rv;
		if (want == 0)
			return CKR_OK;
		if (want > P11_SLOTS_MAX)
			return CKR_GENERAL_ERROR;
		if ((s = calloc(want, sizeof(*s))) == NULL)
			return CKR_HOST_MEMORY;
		rv = P11_CALL(f, C_GetSlotList, CK_TRUE, s, &want);
		if (rv == CKR_OK) {
			*slots = s;
			*n = want;
			return CKR_OK;
		}
		free(s);
		if (rv != CKR_BUFFER_TOO_SMALL)
			return rv;
	}
	return rv;
}

const char *p11_module_choose(const char *override, const struct p11_uri *uri)
{
	const char *env;

	if (override != NULL && override[0] != '\0')
		return override;
	if (uri != NULL && uri->module_path != NULL)
		return uri->module_path;
	env = secure_getenv(P11_MODULE_ENV);
	if (env != NULL && env[0] != '\0')
		return env;
	return P11_DEFAULT_MODULE;
}

/* What to check when a module's C_Initialize fails (for people). */
static const char *init_hint(CK_RV rv)
{
	switch (rv) {
	case CKR_HOST_MEMORY:
		return "the module ran out of memory";
	case CKR_CANT_LOCK:
		return "the module cannot use the operating system's locking";
	case CKR_ARGUMENTS_BAD:
		return "the module refused the initialisation arguments (CKF_OS_LOCKING_OK)";
	case CKR_DEVICE_ERROR:
	case CKR_DEVICE_REMOVED:
	case CKR_TOKEN_NOT_PRESENT:
		return "check that the HSM (or the module's server) is running and reachable";
	default:
		return "check the module's own configuration (e.g. SOFTHSM2_CONF and its token "
		       "directory, a vendor client configuration), the environment variables it needs "
		       "(capf.conf token.env), and that its HSM or server is reachable (token.network "
		       "for a module that uses IP)";
	}
}

int p11_module_load(const char *path, struct p11_module **out, char *err, size_t errlen)
{
	CK_C_INITIALIZE_ARGS args;
	CK_C_GetFunctionList getfl;
	struct p11_module *m;
	void *pre;
	CK_RV rv;
	int rc = P11_ERR, newly_loaded;

	*out = NULL;
	if (p11_exiting())
		return p11_err(P11_EDOWN, err, errlen,
			       "PKCS#11 module %s: the process is exiting: "
			       "modules are not called any more",
			       path ? path : "(none)");
	if (path == NULL || path[0] != '/')
		return p11_err(P11_ERR, err, errlen, "PKCS#11 module %s: must be an absolute path",
			       path ? path : "(none)");
	if (strlen(path) > 4096)
		return p11_err(P11_ERR, err, errlen, "PKCS#11 module: path too long");
	pthread_mutex_lock(&mods_mu);
	for (m = mods; m != NULL; m = m->next)
		if (strcmp(m->path, path) == 0) {
			m->refs++;
			*out = m;
			pthread_mutex_unlock(&mods_mu);
			return P11_OK;
		}
	if ((m = calloc(1, sizeof(*m))) == NULL || (m->path = strdup(path)) == NULL) {
		p11_err(P11_ERR, err, errlen, "PKCS#11 module %s: out of memory", path);
		goto fail;
	}
	/* Whether the library is new to the process (then its exit handlers
	 * are newer than ours: see register_exit). */
	pre = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
	newly_loaded = pre == NULL;
	m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (pre != NULL)
		dlclose(pre); /* only the extra reference: m->dl keeps it loaded */
	if (m->dl == NULL) {
		p11_err(P11_ERR, err, errlen, "PKCS#11 module %s: cannot load: %s", path, dlerror());
		goto fail;
	}
	getfl = (CK_C_GetFunctionList)dlsym(m->dl, "C_GetFunctionList");
	if (getfl == NULL) {
		p11_err(P11_ERR, err, errlen, "PKCS#11 module %s: no C_GetFunctionList: not a PKCS#11 module",
			path);
		goto fail;
	}
	rv = p11_traced("C_GetFunctionList", getfl(&m->f));
	if (rv != CKR_OK || m->f == NULL) {
		p11_err_rv(P11_ERR, err, errlen, NULL, "C_GetFunctionList", rv);
		goto fail;
	}
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = P11_CALL(m->f, C_Initialize, &args);
	if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		m->ours = 0; /* someone else in this process owns it: never finalize */
	} else if (rv == CKR_OK) {
		m->ours = 1;
	} else {
		char msg[256];

		p11_err(P11_ERR, err, errlen, "PKCS#11 module %s: %s; %s", path,
			p11_rv_msg(msg, sizeof(msg), "C_Initialize", rv), init_hint(rv));
		p11_log(LOG_ERR, "%s", err);
		goto fail;
	}
	register_exit(newly_loaded);
	pthread_rwlock_init(&m->use, NULL);
	atomic_init(&m->epoch, 1);
	m->initialized = 1;
	m->refs = 1;
	m->next = mods;
	mods = m;
	*out = m;
	rc = P11_OK;
	pthread_mutex_unlock(&mods_mu);
	return rc;
fail:
	/* A module that failed to load is not dlclose()d either: it may have run
	 * constructors that registered exit handlers. */
	if (m != NULL)
		free(m->path);
	free(m);
	pthread_mutex_unlock(&mods_mu);
	return rc;
}

void p11_module_unref(struct p11_module *m)
{
	struct p11_module **pp;

	if (m == NULL)
		return;
	pthread_mutex_lock(&mods_mu);
	if (--m->refs > 0) {
		pthread_mutex_unlock(&mods_mu);
		return;
	}
	/* We initialised it and may not finalize it now: it stays initialised,
	 * and so stays ours. Kept (unreferenced) for the next load, which would
	 * otherwise see CKR_CRYPTOKI_ALREADY_INITIALIZED and take it for someone
	 * else's (never re-initialising it). */
	if (m->ours && m->initialized && !atomic_load(&finalize_on) && !p11_exiting()) {
		pthread_mutex_unlock(&mods_mu);
		return;
	}
	for (pp = &mods; *pp != NULL; pp = &(*pp)->next)
		if (*pp == m) {
			*pp = m->next;
			break;
		}
	/* Never dlclose(): SoftHSM keeps singletons and exit handlers in the
	 * library. C_Finalize only when we initialised it, the application
	 * did not turn it off and the process is not exiting (docs/TOKEN.md). */
	if (m->ours && m->initialized && atomic_load(&finalize_on) && !p11_exiting())
		(void)P11_CALL(m->f, C_Finalize, NULL);
	pthread_mutex_unlock(&mods_mu);
	pthread_rwlock_destroy(&m->use);
	free(m->path);
	free(m);
}

/*
 * At unload (exit, or the dlclose of a provider that links this layer): the
 * unreferenced modules kept for their next load are only memory now; nothing
 * else would free them once this copy of the layer is gone. No Cryptoki call.
 */
__attribute__((destructor)) static void kept_modules_free(void)
{
	struct p11_module **pp = &mods, *m;

	pthread_mutex_lock(&mods_mu);
	while ((m = *pp) != NULL) {
		if (m->refs > 0) {
			pp = &m->next;
			continue;
		}
		*pp = m->next;
		pthread_rwlock_destroy(&m->use);
		free(m->path);
		free(m);
	}
	pthread_mutex_unlock(&mods_mu);
}

void p11_module_use(struct p11_module *m)
{
	pthread_rwlock_rdlock(&m->use);
}

void p11_module_unuse(struct p11_module *m)
{
	pthread_rwlock_unlock(&m->use);
}

int p11_module_reinit(struct p11_module *m, const char *label, const char *why, char *msg, size_t msglen)
{
	CK_C_INITIALIZE_ARGS args;
	char m1[256];
	CK_RV rv;
	int rc = -1;

	if (!m->ours)
		return p11_err(-1, msg, msglen,
			       "the module was initialised by someone else in this "
			       "process: not re-initialised");
	if (!atomic_load(&finalize_on))
		return p11_err(-1, msg, msglen,
			       "C_Finalize is turned off (p11_set_finalize(0)): the "
			       "module is not re-initialised");
	if (p11_exiting())
		return p11_err(-1, msg, msglen, "the process is exiting");
	if (pthread_rwlock_trywrlock(&m->use) != 0)
		return p11_err(-1, msg, msglen, "sessions of the module are in use: not re-initialised now");
	/* Every session of every token of the module dies here: the epoch tells
	 * the other tokens (their handles must never be used again). */
	atomic_fetch_add(&m->epoch, 1);
	if (m->initialized) {
		rv = P11_CALL(m->f, C_Finalize, NULL);
		m->initialized = 0;
		if (rv != CKR_OK)
			p11_log(LOG_WARNING, "token %s: PKCS#11 module %s: %s (ignored)", label, m->path,
				p11_rv_msg(m1, sizeof(m1), "C_Finalize", rv));
	}
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = P11_CALL(m->f, C_Initialize, &args);
	if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED)
		m->ours = 0; /* someone else in this process initialised it meanwhile */
	if (rv == CKR_OK || rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		m->initialized = 1;
		p11_log(LOG_WARNING,
			"token %s: PKCS#11 module %s re-initialised (C_Finalize, "
			"C_Initialize) after: %s",
			label, m->path, why);
		rc = 0;
	} else {
		p11_rv_msg(m1, sizeof(m1), "C_Initialize", rv);
		p11_log(LOG_ERR, "token %s: PKCS#11 module %s: re-initialisation failed: %s", label, m->path,
			m1);
		p11_err(-1, msg, msglen, "module re-initialisation failed: %s", m1);
	}
	pthread_rwlock_unlock(&m->use);
	return rc;
}

CK_FUNCTION_LIST *p11_module_functions(const struct p11_module *m)
{
	return m->f;
}

const char *p11_module_path(const struct p11_module *m)
{
	return m->path;
}
