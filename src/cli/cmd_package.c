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

static int verify(const char *path, const struct keyring *kr, const unsigned char *pk)
{
	struct buf b;
	buf_init(&b, PACKAGE_MAX_TEXT);
	int is_html = 0, rc = cli_read_input("package", path, &b);
	if (rc != CLI_OK) {
		if (rc == CLI_FAILED)
			printf("package INVALID: the file is larger than %zu bytes\n",
			       PACKAGE_MAX_TEXT);
		buf_release_wiped(&b); /* personal data */
		return rc;
	}
	enum senim_result err = package_verify_text(kr, pk, b.data, b.len, &is_html);
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
	buf_release_wiped(&b); /* personal data */
	return rc;
}

int cmd_package(int argc, char **argv)
{
	return cli_verify_command("package", package_usage, "package", argc, argv,
				  verify);
}
