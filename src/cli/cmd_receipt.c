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
	struct buf b;
	buf_init(&b, RECEIPT_FILE_MAX);
	int rc = cli_read_input("receipt", path, &b);
	if (rc != CLI_OK) {
		if (rc == CLI_FAILED)
			printf("receipt INVALID: the file is larger than %d bytes\n",
			       RECEIPT_FILE_MAX);
		buf_release(&b);
		return rc;
	}
	const char *text = b.data;
	size_t len = b.len;
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
	buf_release(&b);
	return rc;
}

int cmd_receipt(int argc, char **argv)
{
	return cli_verify_command("receipt", receipt_usage, "receipt", argc, argv,
				  verify);
}
