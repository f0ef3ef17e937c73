/*
 * totp.c — TOTP secrets and codes with liboath; secrets sealed with the key
 * ring.
 */
#include "staff/totp.h"

#include <liboath/oath.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/banned.h"

#define SECRET_BYTES 20 /* 160 bits, RFC 4226's recommendation */
#define STEP_S 30
#define WINDOW 1  /* one step either side, for clock drift */
#define AD_MAX 48 /* "staff-totp:" + an int64 */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static enum senim_result init_result = SENIM_ERR_CRYPTO;

static void init(void)
{
	if (oath_init() == OATH_OK)
		init_result = SENIM_OK;
}

enum senim_result staff_totp_init(void)
{
	pthread_once(&init_once, init);
	return init_result;
}

/* The associated data a secret is sealed under: it binds it to its account. */
static void secret_ad(char out[AD_MAX], int64_t id)
{
	snprintf(out, AD_MAX, "staff-totp:%lld", (long long)id);
}

enum senim_result staff_totp_new(const struct keyring *kr, int64_t id, struct buf *sealed,
				 char b32[STAFF_TOTP_SECRET_B32_MAX])
{
	unsigned char secret[SECRET_BYTES];
	char ad[AD_MAX];
	char *text = NULL;
	size_t text_len = 0;
	b32[0] = '\0';
	randombytes_buf(secret, sizeof(secret));
	secret_ad(ad, id);
	enum senim_result err =
		keyring_seal(kr, ad, strlen(ad), secret, sizeof(secret), sealed);
	if (err)
		goto fail;
	if (oath_base32_encode((const char *)secret, sizeof(secret), &text, &text_len) !=
		    OATH_OK ||
	    text_len >= STAFF_TOTP_SECRET_B32_MAX) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	memcpy(b32, text, text_len);
	b32[text_len] = '\0';
fail:
	if (text) {
		sodium_memzero(text, text_len);
		free(text);
	}
	sodium_memzero(secret, sizeof(secret));
	return err;
}

/* liboath compares codes with strcmp; this compares in constant time. */
static int code_compare(void *handle, const char *test_otp)
{
	const char *given = handle;
	return sodium_memcmp(given, test_otp, STAFF_TOTP_DIGITS) == 0 ? 0 : 1;
}

static int code_form(const char *code)
{
	if (!code)
		return 0;
	for (int i = 0; i < STAFF_TOTP_DIGITS; i++)
		if (code[i] < '0' || code[i] > '9')
			return 0;
	return code[STAFF_TOTP_DIGITS] == '\0';
}

/* 1 when code is right for secret now, one step either side. */
static int code_valid(const unsigned char *secret, size_t len, const char *code,
		      uint64_t *step)
{
	*step = 0;
	if (!code_form(code))
		return 0;
	int pos = 0;
	int rc = oath_totp_validate3_callback((const char *)secret, len, time(NULL),
					      STEP_S, OATH_TOTP_DEFAULT_START_TIME,
					      STAFF_TOTP_DIGITS, WINDOW, &pos, step,
					      code_compare, (void *)code);
	return rc >= 0;
}

int staff_totp_check(const struct keyring *kr, int64_t id, const unsigned char *sealed,
		     size_t sealed_len, const char *code, int *present, uint64_t *step)
{
	unsigned char plain[STAFF_TOTP_SEALED_MAX];
	size_t len = 0;
	*present = 0;
	if (sealed_len) {
		char ad[AD_MAX];
		secret_ad(ad, id);
		if (keyring_unseal(kr, ad, strlen(ad), sealed, sealed_len, plain,
				   sizeof(plain), &len) == SENIM_OK &&
		    len == SECRET_BYTES)
			*present = 1;
		else
			log_event(LOG_ERROR, "staff_totp_unseal_failed", NULL);
	}
	if (!*present) {
		randombytes_buf(plain, SECRET_BYTES);
		len = SECRET_BYTES;
	}
	int ok = code_valid(plain, len, code, step) && *present;
	sodium_memzero(plain, sizeof(plain));
	return ok;
}
