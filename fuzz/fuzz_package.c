/*
 * fuzz_package.c — package_verify_text on arbitrary bytes, as `senim package
 * verify` reads a file anyone may hand it: the JSON package or the HTML one
 * with its signature line.  Offline mode (no key ring, no trusted key): it
 * must never crash, leak or accept what is not a correctly signed package —
 * a random input can be none, so a short SENIM_OK is a bug — and it must
 * tell HTML from JSON by the first byte that is not blank.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <sodium.h>

#include "rights/package.h"
#include "common/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		if (sodium_init() < 0)
			abort();
		ready = 1;
	}
	int is_html = -1;
	enum senim_result err =
		package_verify_text(NULL, NULL, (const char *)data, size, &is_html);
	/* Forging an Ed25519 signature by fuzzing would be news. */
	if (err == SENIM_OK && size < 64)
		abort();
	size_t i = 0;
	while (i < size &&
	       (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r'))
		i++;
	if (is_html != (i < size && data[i] == '<'))
		abort();
	if (err != SENIM_OK && err != SENIM_ERR_INVALID && err != SENIM_ERR_CRYPTO &&
	    err != SENIM_ERR_NOMEM)
		abort();
	return 0;
}
