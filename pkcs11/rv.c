/* pkcs11/rv.c: the one table from CK_RV to a name and a short text (see p11.h). */
#include <stdio.h>
#include <string.h>

#include "pkcs11/p11.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define RV(n, t)         \
	{                \
		n, #n, t \
	}

static const struct {
	CK_RV rv;
	const char *name;
	const char *text;
} rvtab[] = {
	RV(CKR_OK, "success"),
	RV(CKR_CANCEL, "cancelled"),
	RV(CKR_HOST_MEMORY, "module out of host memory"),
	RV(CKR_SLOT_ID_INVALID, "no such slot"),
	RV(CKR_GENERAL_ERROR, "unrecoverable token error"),
	RV(CKR_FUNCTION_FAILED, "function failed"),
	RV(CKR_ARGUMENTS_BAD, "bad arguments"),
	RV(CKR_NO_EVENT, "no event"),
	RV(CKR_NEED_TO_CREATE_THREADS, "module needs to create threads"),
	RV(CKR_CANT_LOCK, "locking not supported"),
	RV(CKR_ATTRIBUTE_READ_ONLY, "attribute is read-only"),
	RV(CKR_ATTRIBUTE_SENSITIVE, "attribute is sensitive and cannot be read"),
	RV(CKR_ATTRIBUTE_TYPE_INVALID, "attribute not valid for this object"),
	RV(CKR_ATTRIBUTE_VALUE_INVALID, "invalid attribute value"),
	RV(CKR_ACTION_PROHIBITED, "action prohibited"),
	RV(CKR_DATA_INVALID, "invalid input data"),
	RV(CKR_DATA_LEN_RANGE, "input data length out of range"),
	RV(CKR_DEVICE_ERROR, "token device error"),
	RV(CKR_DEVICE_MEMORY, "token out of memory"),
	RV(CKR_DEVICE_REMOVED, "token removed during the call"),
	RV(CKR_ENCRYPTED_DATA_INVALID, "invalid encrypted data"),
	RV(CKR_ENCRYPTED_DATA_LEN_RANGE, "encrypted data length out of range"),
	RV(CKR_FUNCTION_CANCELED, "function cancelled"),
	RV(CKR_FUNCTION_NOT_PARALLEL, "function not parallel"),
	RV(CKR_FUNCTION_NOT_SUPPORTED, "function not supported by the module"),
	RV(CKR_KEY_HANDLE_INVALID, "invalid key handle"),
	RV(CKR_KEY_SIZE_RANGE, "key size not supported"),
	RV(CKR_KEY_TYPE_INCONSISTENT, "key type does not fit the mechanism"),
	RV(CKR_KEY_NOT_NEEDED, "key not needed"),
	RV(CKR_KEY_CHANGED, "key changed"),
	RV(CKR_KEY_NEEDED, "key needed"),
	RV(CKR_KEY_INDIGESTIBLE, "key cannot be digested"),
	RV(CKR_KEY_FUNCTION_NOT_PERMITTED, "key may not be used for this"),
	RV(CKR_KEY_NOT_WRAPPABLE, "key not wrappable"),
	RV(CKR_KEY_UNEXTRACTABLE, "key is not extractable"),
	RV(CKR_MECHANISM_INVALID, "mechanism not supported"),
	RV(CKR_MECHANISM_PARAM_INVALID, "invalid mechanism parameters"),
	RV(CKR_OBJECT_HANDLE_INVALID, "invalid object handle"),
	RV(CKR_OPERATION_ACTIVE, "another operation is active on the session"),
	RV(CKR_OPERATION_NOT_INITIALIZED, "operation not initialised"),
	RV(CKR_PIN_INCORRECT, "wrong PIN"),
	RV(CKR_PIN_INVALID, "PIN has invalid characters"),
	RV(CKR_PIN_LEN_RANGE, "PIN length out of range"),
	RV(CKR_PIN_EXPIRED, "PIN expired"),
	RV(CKR_PIN_LOCKED, "PIN locked"),
	RV(CKR_SESSION_CLOSED, "session closed"),
	RV(CKR_SESSION_COUNT, "too many sessions"),
	RV(CKR_SESSION_HANDLE_INVALID, "invalid session handle"),
	RV(CKR_SESSION_PARALLEL_NOT_SUPPORTED, "parallel sessions not supported"),
	RV(CKR_SESSION_READ_ONLY, "session is read-only"),
	RV(CKR_SESSION_EXISTS, "a session exists"),
	RV(CKR_SESSION_READ_ONLY_EXISTS, "a read-only session exists"),
	RV(CKR_SESSION_READ_WRITE_SO_EXISTS, "a read-write SO session exists"),
	RV(CKR_SIGNATURE_INVALID, "invalid signature"),
	RV(CKR_SIGNATURE_LEN_RANGE, "signature length out of range"),
	RV(CKR_TEMPLATE_INCOMPLETE, "template incomplete"),
	RV(CKR_TEMPLATE_INCONSISTENT, "template inconsistent"),
	RV(CKR_TOKEN_NOT_PRESENT, "token not present"),
	RV(CKR_TOKEN_NOT_RECOGNIZED, "token not recognised"),
	RV(CKR_TOKEN_WRITE_PROTECTED, "token is write-protected"),
	RV(CKR_UNWRAPPING_KEY_SIZE_RANGE, "unwrapping key size out of range"),
	RV(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT, "unwrapping key type inconsistent"),
	RV(CKR_USER_ALREADY_LOGGED_IN, "user already logged in"),
	RV(CKR_USER_NOT_LOGGED_IN, "user not logged in"),
	RV(CKR_USER_PIN_NOT_INITIALIZED, "user PIN not initialised"),
	RV(CKR_USER_TYPE_INVALID, "invalid user type"),
	RV(CKR_USER_ANOTHER_ALREADY_LOGGED_IN, "another user is already logged in"),
	RV(CKR_USER_TOO_MANY_TYPES, "too many user types logged in"),
	RV(CKR_WRAPPED_KEY_INVALID, "invalid wrapped key"),
	RV(CKR_WRAPPED_KEY_LEN_RANGE, "wrapped key length out of range"),
	RV(CKR_WRAPPING_KEY_HANDLE_INVALID, "invalid wrapping key handle"),
	RV(CKR_WRAPPING_KEY_SIZE_RANGE, "wrapping key size out of range"),
	RV(CKR_WRAPPING_KEY_TYPE_INCONSISTENT, "wrapping key type inconsistent"),
	RV(CKR_RANDOM_SEED_NOT_SUPPORTED, "random seeding not supported"),
	RV(CKR_RANDOM_NO_RNG, "no random number generator"),
	RV(CKR_DOMAIN_PARAMS_INVALID, "invalid domain parameters"),
	RV(CKR_CURVE_NOT_SUPPORTED, "curve not supported"),
	RV(CKR_BUFFER_TOO_SMALL, "output buffer too small"),
	RV(CKR_SAVED_STATE_INVALID, "invalid saved state"),
	RV(CKR_INFORMATION_SENSITIVE, "information is sensitive"),
	RV(CKR_STATE_UNSAVEABLE, "state cannot be saved"),
	RV(CKR_CRYPTOKI_NOT_INITIALIZED, "module not initialised"),
	RV(CKR_CRYPTOKI_ALREADY_INITIALIZED, "module already initialised"),
	RV(CKR_MUTEX_BAD, "bad mutex"),
	RV(CKR_MUTEX_NOT_LOCKED, "mutex not locked"),
	RV(CKR_NEW_PIN_MODE, "new PIN mode"),
	RV(CKR_NEXT_OTP, "next OTP"),
	RV(CKR_EXCEEDED_MAX_ITERATIONS, "exceeded maximum iterations"),
	RV(CKR_FIPS_SELF_TEST_FAILED, "FIPS self-test failed"),
	RV(CKR_LIBRARY_LOAD_FAILED, "library load failed"),
	RV(CKR_PIN_TOO_WEAK, "PIN too weak"),
	RV(CKR_PUBLIC_KEY_INVALID, "invalid public key"),
	RV(CKR_FUNCTION_REJECTED, "function rejected"),
};

static size_t rv_find(CK_RV rv)
{
	for (size_t i = 0; i < NELEM(rvtab); i++)
		if (rvtab[i].rv == rv)
			return i;
	return NELEM(rvtab);
}

const char *p11_rv_name(CK_RV rv)
{
	static _Thread_local char buf[48];
	size_t i = rv_find(rv);

	if (i < NELEM(rvtab))
		return rvtab[i].name;
	if (rv >= CKR_VENDOR_DEFINED)
		snprintf(buf, sizeof(buf), "CKR_VENDOR_DEFINED+0x%lx", rv - CKR_VENDOR_DEFINED);
	else
		snprintf(buf, sizeof(buf), "CKR_0x%lx", rv);
	return buf;
}

const char *p11_rv_text(CK_RV rv)
{
	size_t i = rv_find(rv);

	if (i < NELEM(rvtab))
		return rvtab[i].text;
	return rv >= CKR_VENDOR_DEFINED ? "vendor-defined error" : "unknown error";
}

const char *p11_rv_msg(char *buf, size_t len, const char *fn, CK_RV rv)
{
	if (len > 0)
		snprintf(buf, len, "%s: %s (%s)", fn, p11_rv_name(rv), p11_rv_text(rv));
	return buf;
}

int p11_rv_is_fault(CK_RV rv)
{
	switch (rv) {
	case CKR_DEVICE_ERROR:
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_DEVICE_REMOVED:
	case CKR_USER_NOT_LOGGED_IN:
	case CKR_OBJECT_HANDLE_INVALID:
	case CKR_KEY_HANDLE_INVALID:
		return 1;
	default:
		return 0;
	}
}
