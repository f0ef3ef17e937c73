/*
 * cmd_receipt.c — `senim receipt verify FILE`: check a consent receipt
 * (C1, S4) offline.
 *
 * By default the receipt's key must be one of the signing keys in the key
 * file; only the key file is opened (read-only, never created), not the
 * store, so a copy of the key file is all a checker needs.  With
 * --public-key the receipt is checked against that key alone, and the key
 * embedded in the receipt must be it: that is how someone without the key
 * file (the borrower, a regulator) checks one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "cli/cli.h"
#include "consent/receipt.h"
#include "common/banned.h"

/* Far above any receipt (a few KB); receipt_verify_text refuses more. */
#define RECEIPT_FILE_MAX (1024 * 1024)

static const char receipt_usage[] =
	"usage: senim receipt verify FILE [--public-key BASE64] [OPTIONS]\n\n"
	"Check a consent receipt: its shape, and its Ed25519 signature over every\n"
	"other field.  FILE '-' reads standard input.  By default the signing key\n"
	"must be one of the key file's (only the key file is read; the store is\n"
	"not opened).\n\n"
	"options:\n"
	"  --public-key BASE64\n"
	"                   check against this Ed25519 public key (32 bytes, base64)\n"
	"                   instead of the key file; the receipt's embedded key must\n"
	"                   be this one\n" CLI_COMMON_HELP
	"  -h, --help       this text\n\n"
	"exit codes: 0 the receipt is valid, 1 it is not (the reason is printed),\n"
	"            2 usage error, 3 the file or the key file cannot be read\n";

/*
 * Read all of `path` ("-": stdin) into a malloc'ed, NUL-terminated buffer
 * (caller frees).  Returns CLI_OK, CLI_FAILED when the file is larger than
 * RECEIPT_FILE_MAX (not a receipt), CLI_ENV when it cannot be read.
 */
static int read_all(const char *path, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f) {
		cli_error("receipt", "cannot read %s", path);
		return CLI_ENV;
	}
	/* One byte more than the cap tells an oversized file from a full one. */
	char *buf = malloc(RECEIPT_FILE_MAX + 2);
	size_t n = 0;
	int rc = CLI_OK;
	if (!buf) {
		cli_error("receipt", "out of memory");
		rc = CLI_ENV;
		goto done;
	}
	n = fread(buf, 1, RECEIPT_FILE_MAX + 1, f);
	if (ferror(f)) {
		cli_error("receipt", "cannot read %s", path);
		rc = CLI_ENV;
	} else if (n > RECEIPT_FILE_MAX) {
		printf("receipt INVALID: the file is larger than %d bytes\n",
		       RECEIPT_FILE_MAX);
		rc = CLI_FAILED;
	}
done:
	if (f != stdin)
		fclose(f);
	if (rc != CLI_OK) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return CLI_OK;
}

static const char *string_at(const json_t *doc, const char *obj, const char *key)
{
	const json_t *o = obj ? json_object_get(doc, obj) : doc;
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "?";
}

/* The one-line verdict for a valid receipt (the text verified already). */
static void print_valid(const char *text, size_t len)
{
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	printf("receipt %s valid: %s of %s by %s at %s, signed by key %s\n",
	       string_at(doc, NULL, "receipt_id"), string_at(doc, NULL, "event"),
	       string_at(doc, NULL, "consent_type"),
	       string_at(doc, NULL, "pii_principal_id"),
	       string_at(doc, NULL, "timestamp"), string_at(doc, "signature", "key_id"));
	json_decref(doc);
}

static int verify(const char *path, const struct keyring *kr, const unsigned char *pk)
{
	char *text = NULL;
	size_t len = 0;
	int rc = read_all(path, &text, &len);
	if (rc != CLI_OK)
		return rc;
	enum senim_result err = receipt_verify_text(kr, pk, text, len);
	switch (err) {
	case SENIM_OK:
		print_valid(text, len);
		rc = CLI_OK;
		break;
	case SENIM_ERR_CRYPTO:
		printf("receipt INVALID: %s\n",
		       pk ? "the signature does not verify with the given public key "
			    "(the receipt was altered, or signed by another key)"
			  : "the signature does not verify with the key file's keys "
			    "(the receipt was altered, or signed by another key)");
		rc = CLI_FAILED;
		break;
	case SENIM_ERR_INVALID:
		printf("receipt INVALID: not a consent receipt (malformed JSON, or a "
		       "field missing, extra or of the wrong type)\n");
		rc = CLI_FAILED;
		break;
	default:
		cli_error("receipt", "cannot check the receipt: %s",
			  senim_result_name(err));
		rc = CLI_ENV;
		break;
	}
	free(text);
	return rc;
}

int cmd_receipt(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "public-key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		CLI_COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_args a = { .cmd = "receipt", .usage = receipt_usage };
	if (cli_subcommand(&a, argc, argv, (const char *const[]){ "verify", NULL }) < 0)
		return a.rc;
	const char *pk64 = NULL;
	int opt;
	while ((opt = cli_next_option(&a, longopts)) > 0)
		if (opt == 'k')
			pk64 = optarg;
	if (opt < 0)
		return a.rc;
	if (a.first >= a.argc)
		return cli_usage_error(&a,
				       "which receipt? give a FILE, or '-' for stdin");
	if (a.first + 1 < a.argc)
		return cli_usage_error(&a, "one receipt FILE at a time");
	const char *path = a.argv[a.first];

	if (sodium_init() < 0) {
		cli_error("receipt", "libsodium failed to initialise");
		return CLI_ENV;
	}
	if (pk64) {
		unsigned char pk[KEYRING_PK_BYTES];
		size_t got = 0;
		const char *end = NULL;
		size_t n = strlen(pk64);
		if (sodium_base642bin(pk, sizeof(pk), pk64, n, NULL, &got, &end,
				      sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    got != sizeof(pk) || end != pk64 + n)
			return cli_usage_error(&a,
					       "--public-key must be 32 bytes in base64");
		return verify(path, NULL, pk);
	}
	struct keyring *kr = NULL;
	enum senim_result err = keyring_open(a.common.keys, 0, &kr);
	if (err) {
		cli_error("receipt", "cannot use key file %s: %s", a.common.keys,
			  senim_result_name(err));
		return CLI_ENV;
	}
	int rc = verify(path, kr, NULL);
	keyring_free(kr);
	return rc;
}
