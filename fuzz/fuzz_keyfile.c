/*
 * fuzz_keyfile.c — keyring_parse on arbitrary bytes, as `senim` reads the
 * key file (`--keys`) an operator may have edited, restored or truncated.
 *
 * The text is an exactly sized heap block (not NUL-terminated) so ASan sees
 * any read past it.  Beyond "no crash, no leak" the target checks, with
 * jansson as the referee:
 *   - a refused file leaves no ring;
 *   - an accepted file is a JSON object with "format" 1, the ring has as
 *     many KEKs as its "kek" array lists, and the current key's id is the
 *     last "signing" entry's, 16 lowercase hex digits naming the first 8
 *     bytes of its public key;
 *   - the ring works: its signature verifies and a changed message's does
 *     not; what it seals (with the highest version, named in the first four
 *     bytes) opens, and not under other associated data; the KEK versions
 *     are distinct, ascending, and end with the sealing one;
 *   - parsing is a function of the text: a second ring from the same bytes
 *     has the same public key and blind index.
 */
#include <jansson.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "vault/keyring.h"
#include "common/banned.h"

#define MAX_KEKS 256

/* The file as jansson sees it; its arrays' sizes and the last signer's id. */
static void check_json(const char *s, size_t len, const struct keyring *kr)
{
	json_error_t jerr;
	json_t *root = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(root) ||
	    json_integer_value(json_object_get(root, "format")) != 1 ||
	    !json_is_integer(json_object_get(root, "format")))
		abort();
	json_t *signing = json_object_get(root, "signing");
	json_t *kek = json_object_get(root, "kek");
	size_t nsig = json_array_size(signing);
	if (!nsig || json_array_size(kek) != keyring_kek_count(kr))
		abort();
	const char *id = json_string_value(
		json_object_get(json_array_get(signing, nsig - 1), "id"));
	if (!id || strcmp(id, keyring_signing_key_id(kr)) != 0)
		abort();
	json_decref(root);
}

static void check_signing(const struct keyring *kr, const uint8_t *msg, size_t len)
{
	const char *id = keyring_signing_key_id(kr);
	unsigned char pk[KEYRING_PK_BYTES], sig[KEYRING_SIG_BYTES];
	char hex[KEYRING_KEY_ID_LEN];
	keyring_public_key(kr, pk);
	sodium_bin2hex(hex, sizeof(hex), pk, 8);
	if (strlen(id) != KEYRING_KEY_ID_LEN - 1 || strcmp(id, hex) != 0)
		abort();
	keyring_sign(kr, msg, len, sig);
	if (keyring_verify(kr, id, msg, len, sig) != SENIM_OK ||
	    crypto_sign_verify_detached(sig, len ? msg : (const uint8_t *)"", len, pk) !=
		    0)
		abort();
	/* One byte that is not the message (empty, or a first byte flipped). */
	uint8_t other[1] = { len ? (uint8_t)(msg[0] ^ 1) : 1 };
	if (keyring_verify(kr, id, other, 1, sig) == SENIM_OK)
		abort();
	if (keyring_verify(kr, "not-an-id", msg, len, sig) == SENIM_OK)
		abort();
}

static void check_sealing(const struct keyring *kr, const uint8_t *msg, size_t len)
{
	uint32_t versions[MAX_KEKS];
	size_t n = keyring_kek_versions(kr, versions, MAX_KEKS);
	uint32_t newest = keyring_kek_version(kr);
	if (n < 1 || n != keyring_kek_count(kr) || versions[0] < 1 ||
	    versions[n - 1] != newest)
		abort();
	for (size_t i = 1; i < n; i++)
		if (versions[i - 1] >= versions[i])
			abort();

	struct buf sealed;
	buf_init(&sealed, BUF_NO_LIMIT);
	if (keyring_seal(kr, "ad", 2, msg, len, &sealed) != SENIM_OK ||
	    sealed.len != len + KEYRING_SEAL_OVERHEAD)
		abort();
	const unsigned char *v = (const unsigned char *)sealed.data;
	if (((uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3]) !=
	    newest)
		abort();
	unsigned char *plain = malloc(len ? len : 1);
	size_t got = 0;
	if (!plain ||
	    keyring_unseal(kr, "ad", 2, sealed.data, sealed.len, plain, len, &got) !=
		    SENIM_OK ||
	    got != len || (len && memcmp(plain, msg, len) != 0))
		abort();
	if (keyring_unseal(kr, "ae", 2, sealed.data, sealed.len, plain, len, &got) !=
	    SENIM_ERR_CRYPTO)
		abort();
	free(plain);
	buf_release(&sealed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		if (sodium_init() < 0)
			abort();
		/* A refused file logs why; thousands a second would drown the
		 * fuzzer's own output. */
		log_set_level((enum log_level)(LOG_ERROR + 1));
		ready = 1;
	}
	char *s = malloc(size ? size : 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	struct keyring *kr = (struct keyring *)s, *again = NULL;
	int err = keyring_parse(s, size, &kr);
	if (err != SENIM_OK) {
		if (kr || (err != SENIM_ERR_CONFIG && err != SENIM_ERR_NOMEM))
			abort();
		free(s);
		return 0;
	}
	check_json(s, size, kr);
	check_signing(kr, data, size);
	check_sealing(kr, data, size);

	if (keyring_parse(s, size, &again) != SENIM_OK)
		abort();
	unsigned char pk1[KEYRING_PK_BYTES], pk2[KEYRING_PK_BYTES], i1[32], i2[32];
	keyring_public_key(kr, pk1);
	keyring_public_key(again, pk2);
	keyring_blind_index(kr, data, size, i1);
	keyring_blind_index(again, data, size, i2);
	if (memcmp(pk1, pk2, sizeof(pk1)) != 0 || memcmp(i1, i2, sizeof(i1)) != 0)
		abort();
	keyring_free(again);
	keyring_free(kr);
	free(s);
	return 0;
}
