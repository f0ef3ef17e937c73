/*
 * fuzz_receipt.c — receipt_verify_text on arbitrary bytes, as `senim receipt
 * verify` reads a file anyone may hand it.  Offline mode (no key ring, no
 * trusted key): it must never crash, leak or accept a document that is not
 * a well-formed, correctly signed receipt — and a random input can be
 * neither, so any SENIM_OK is a bug.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <sodium.h>

#include "consent/receipt.h"
#include "common/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		if (sodium_init() < 0)
			abort();
		ready = 1;
	}
	int err = receipt_verify_text(NULL, NULL, (const char *)data, size);
	/* Forging an Ed25519 signature by fuzzing would be news. */
	if (err == SENIM_OK && size < 64)
		abort();
	return 0;
}
