/*
 * tests/integ/p11spy.c: a test-only PKCS#11 pass-through module. It loads the
 * real module named by $P11SPY_MODULE (default SoftHSM), forwards every call to
 * it unchanged, and counts the C_Login calls, so that a test can see how often
 * the token layer tried a PIN (SoftHSM 2.6 has no retry counter to read). It is
 * a spy on the real token, not a mock: every answer comes from SoftHSM, except
 * the two refusals a test may ask for, the way a production HSM's policy gives
 * them: $P11SPY_REFUSE_SIGN set, C_SignInit answers CKR_KEY_FUNCTION_NOT_PERMITTED
 * (a step after a key generation fails); $P11SPY_REFUSE_DESTROY set,
 * C_DestroyObject answers CKR_ACTION_PROHIBITED (the key cannot be taken back).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <p11-kit/pkcs11.h>

#define EXPORT __attribute__((visibility("default")))

static pthread_once_t once = PTHREAD_ONCE_INIT;
static CK_FUNCTION_LIST *real;
static CK_FUNCTION_LIST spy;
static atomic_ulong logins, user_logins;

static CK_RV spy_login(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR *pin, CK_ULONG len)
{
	atomic_fetch_add(&logins, 1);
	if (user == CKU_USER)
		atomic_fetch_add(&user_logins, 1);
	return real->C_Login(h, user, pin, len);
}

static CK_RV spy_sign_init(CK_SESSION_HANDLE h, CK_MECHANISM *m, CK_OBJECT_HANDLE k)
{
	(void)h;
	(void)m;
	(void)k;
	return CKR_KEY_FUNCTION_NOT_PERMITTED;
}

static CK_RV spy_destroy(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o)
{
	(void)h;
	(void)o;
	return CKR_ACTION_PROHIBITED;
}

static void load(void)
{
	const char *path = getenv("P11SPY_MODULE");
	CK_C_GetFunctionList get;
	void *dl;

	if (path == NULL)
		path = "/usr/lib/softhsm/libsofthsm2.so";
	if ((dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL)
		return;
	get = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
	if (get == NULL || get(&real) != CKR_OK || real == NULL) {
		real = NULL;
		return;
	}
	spy = *real;
	spy.C_Login = spy_login;
	if (getenv("P11SPY_REFUSE_SIGN") != NULL)
		spy.C_SignInit = spy_sign_init;
	if (getenv("P11SPY_REFUSE_DESTROY") != NULL)
		spy.C_DestroyObject = spy_destroy;
}

EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST **out)
{
	pthread_once(&once, load);
	if (real == NULL)
		return CKR_GENERAL_ERROR;
	/* C_GetFunctionList itself stays ours. */
	spy.C_GetFunctionList = C_GetFunctionList;
	*out = &spy;
	return CKR_OK;
}

/* Number of CKU_USER logins since load (all logins with all_users). */
EXPORT unsigned long p11spy_logins(int all_users)
{
	return all_users ? atomic_load(&logins) : atomic_load(&user_logins);
}
