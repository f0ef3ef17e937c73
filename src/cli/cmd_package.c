/*
 * cmd_package.c — `senim package verify FILE`: check an access package (R1),
 * JSON or HTML, offline.
 *
 * The key rules are a consent receipt's (cmd_receipt.c): by default the
 * package's key must be one of the key file's signing keys, and only the
 * key file is opened; with --public-key the package is checked against
 * that key alone — what the borrower or a regulator holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli/cli.h"
#include "rights/package.h"
#include "common/banned.h"

static const char package_usage[] =
	"usage: senim package verify FILE [--public-key BASE64] [OPTIONS]\n\n"
	"Check an access package, the JSON or the HTML document: its Ed25519\n"
	"signature over every other byte.  FILE '-' reads standard input.  By\n"
	"default the signing key must be one of the key file's (only the key file\n"
	"is read; the store is not opened).\n\n"
	"options:\n"
	"  --public-key BASE64\n"
	"                   check against this Ed25519 public key (32 bytes, base64)\n"
	"                   instead of the key file; the package's embedded key must\n"
	"                   be this one\n" CLI_COMMON_HELP
	"  -h, --help       this text\n\n"
	"exit codes: 0 the package is valid, 1 it is not (the reason is printed),\n"
	"            2 usage error, 3 the file or the key file cannot be read\n";

/* All of path ("-": stdin) into a malloc'ed buffer; CLI_OK, CLI_FAILED when
 * larger than any package, CLI_ENV when unreadable. */
static int slurp(const char *path, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f) {
		cli_error("package", "cannot read %s", path);
		return CLI_ENV;
	}
	struct buf b;
	buf_init(&b, PACKAGE_MAX_TEXT);
	char chunk[65536];
	int rc = CLI_OK;
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_add(&b, chunk, n)) {
			printf("package INVALID: the file is larger than %zu bytes\n",
			       PACKAGE_MAX_TEXT);
			rc = CLI_FAILED;
			break;
		}
	if (rc == CLI_OK && ferror(f)) {
		cli_error("package", "cannot read %s", path);
		rc = CLI_ENV;
	}
	if (f != stdin)
		fclose(f);
	if (rc != CLI_OK) {
		buf_release(&b);
		return rc;
	}
	*out = buf_detach(&b, len);
	if (!*out) {
		cli_error("package", "out of memory");
		return CLI_ENV;
	}
	return CLI_OK;
}

static int verify(const char *path, const struct keyring *kr, const unsigned char *pk)
{
	char *text = NULL;
	size_t len = 0;
	int is_html = 0, rc = slurp(path, &text, &len);
	if (rc != CLI_OK)
		return rc;
	enum senim_result err = package_verify_text(kr, pk, text, len, &is_html);
	const char *what = is_html ? "HTML" : "JSON";
	switch (err) {
	case SENIM_OK:
		printf("package valid: the %s document is signed and unchanged\n", what);
		rc = CLI_OK;
		break;
	case SENIM_ERR_CRYPTO:
		printf("package INVALID: the %s document's signature does not verify "
		       "with %s (it was altered, or signed by another key)\n",
		       what, pk ? "the given public key" : "the key file's keys");
		rc = CLI_FAILED;
		break;
	case SENIM_ERR_INVALID:
		printf("package INVALID: not an access package (malformed, or its "
		       "signature is missing or of the wrong shape)\n");
		rc = CLI_FAILED;
		break;
	default:
		cli_error("package", "cannot check the package: %s",
			  senim_result_name(err));
		rc = CLI_ENV;
		break;
	}
	buf_wipe_free(text); /* personal data */
	return rc;
}

int cmd_package(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "public-key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		CLI_COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_args a = { .cmd = "package", .usage = package_usage };
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
				       "which package? give a FILE, or '-' for stdin");
	if (a.first + 1 < a.argc)
		return cli_usage_error(&a, "one package FILE at a time");
	const char *path = a.argv[a.first];
	if (sodium_init() < 0) {
		cli_error("package", "libsodium failed to initialise");
		return CLI_ENV;
	}
	if (pk64) {
		unsigned char pk[KEYRING_PK_BYTES];
		size_t got = 0, n = strlen(pk64);
		const char *end = NULL;
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
		cli_error("package", "cannot use key file %s: %s", a.common.keys,
			  senim_result_name(err));
		return CLI_ENV;
	}
	int rc = verify(path, kr, NULL);
	keyring_free(kr);
	return rc;
}
