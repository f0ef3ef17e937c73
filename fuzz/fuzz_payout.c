/*
 * fuzz_payout.c — application_payout_valid and product_code_valid on
 * arbitrary bytes: the payout number and the product code a borrower sends
 * in POST /v1/me/applications (after jsonin, which fuzz_jsonin covers).
 *
 * The first byte picks the kind ("card", "account", or an unknown one); the
 * rest is the value, in an exactly sized heap block so ASan sees a read
 * past it.  Beyond "no crash" the target checks, with rules written here
 * independently of lending/applications.c:
 *   - an accepted card is 16-19 ASCII digits whose Luhn sum is 0 mod 10;
 *   - an accepted account is "KZ" and 18 characters of [0-9A-Z] whose
 *     ISO 13616 number is 1 mod 97 (computed here on the whole digit
 *     string, with big-number long division);
 *   - an unknown kind accepts nothing;
 *   - a product code accepted is 1-32 of [a-z0-9_-], alphanumeric first.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lending/applications.h"
#include "common/banned.h"

static int luhn(const char *s, size_t n)
{
	int sum = 0;
	for (size_t i = 0; i < n; i++) {
		int d = s[n - 1 - i] - '0';
		if (i & 1)
			d = d * 2 > 9 ? d * 2 - 9 : d * 2;
		sum += d;
	}
	return sum % 10 == 0;
}

static int iban(const char *s, size_t n)
{
	char digits[128];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[(i + 4) % n];
		if (c >= '0' && c <= '9') {
			digits[k++] = c;
		} else {
			int v = c - 'A' + 10;
			digits[k++] = (char)('0' + v / 10);
			digits[k++] = (char)('0' + v % 10);
		}
	}
	int rem = 0;
	for (size_t i = 0; i < k; i++)
		rem = (rem * 10 + (digits[i] - '0')) % 97;
	return rem == 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 64)
		return 0;
	static const char *const kinds[] = { "card", "account", "cash" };
	const char *kind = kinds[data[0] % 3];
	size_t n = size - 1;
	char *v = malloc(n + 1);
	if (!v)
		return 0;
	memcpy(v, data + 1, n);
	v[n] = '\0';
	if (application_payout_valid(kind, v, n)) {
		if (strcmp(kind, "card") == 0) {
			if (n < 16 || n > 19)
				abort();
			for (size_t i = 0; i < n; i++)
				if (v[i] < '0' || v[i] > '9')
					abort();
			if (!luhn(v, n))
				abort();
		} else if (strcmp(kind, "account") == 0) {
			if (n != 20 || v[0] != 'K' || v[1] != 'Z')
				abort();
			for (size_t i = 2; i < n; i++)
				if (!((v[i] >= '0' && v[i] <= '9') ||
				      (v[i] >= 'A' && v[i] <= 'Z')))
					abort();
			if (!iban(v, n))
				abort();
		} else {
			abort();
		}
	}
	if (memchr(v, '\0', n) == NULL && product_code_valid(v)) {
		if (n < 1 || n > PRODUCT_CODE_MAX)
			abort();
		for (size_t i = 0; i < n; i++) {
			char c = v[i];
			int alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
			if (!alnum && (i == 0 || (c != '_' && c != '-')))
				abort();
		}
	}
	free(v);
	return 0;
}
