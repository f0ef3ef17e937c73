#include "common/result.h"

const char *senim_result_name(enum senim_result result)
{
	static const char *const names[SENIM_ERR__COUNT] = {
		[SENIM_OK] = "ok",
		[SENIM_ERR_NOMEM] = "out_of_memory",
		[SENIM_ERR_INVALID] = "invalid",
		[SENIM_ERR_NOT_FOUND] = "not_found",
		[SENIM_ERR_CONFLICT] = "conflict",
		[SENIM_ERR_DENIED] = "denied",
		[SENIM_ERR_AUTH] = "unauthenticated",
		[SENIM_ERR_LOCKED] = "locked",
		[SENIM_ERR_TOO_LARGE] = "too_large",
		[SENIM_ERR_STORE] = "store_error",
		[SENIM_ERR_IO] = "io_error",
		[SENIM_ERR_CRYPTO] = "crypto_error",
		[SENIM_ERR_TAMPERED] = "tampered",
		[SENIM_ERR_UNAVAILABLE] = "unavailable",
		[SENIM_ERR_CONFIG] = "config_error",
	};
	if ((int)result < 0 || result >= SENIM_ERR__COUNT)
		return "unknown";
	return names[result];
}
