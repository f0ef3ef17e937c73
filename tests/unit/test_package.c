/*
 * test_package.c — the access package's offline check (rights/package.h):
 * the JSON and the HTML verify with the key ring and with the public key
 * alone; an altered byte, another key, another version, a missing or
 * malformed signature do not.  And the limit's ground and reference rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "consent/receipt.h"
#include "rights/package.h"
#include "vault/keyring.h"
#include "testutil.h"
#include "common/banned.h"

struct fx {
	char dir[512];
	char path[600], path2[600];
	struct keyring *kr, *kr2;
	unsigned char pk[KEYRING_PK_BYTES], pk2[KEYRING_PK_BYTES];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f || testutil_tmpdir("package", f->dir, sizeof(f->dir)) != 0) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/keys/senim.keys", f->dir);
	snprintf(f->path2, sizeof(f->path2), "%s/other/senim.keys", f->dir);
	if (keyring_open(f->path, 1, &f->kr) || keyring_open(f->path2, 1, &f->kr2)) {
		keyring_free(f->kr);
		testutil_rm_rf(f->dir);
		free(f);
		return -1;
	}
	keyring_public_key(f->kr, f->pk);
	keyring_public_key(f->kr2, f->pk2);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	keyring_free(f->kr);
	keyring_free(f->kr2);
	testutil_rm_rf(f->dir);
	free(f);
	return 0;
}

/* A signed package-shaped document as text (caller frees). */
static char *signed_json(const struct keyring *kr, const char *version)
{
	json_t *doc = json_pack("{s:s,s:s,s:{s:[{s:s}]},s:[{s:I}]}", "version", version,
				"subject_id", "sbj_Qm9yb3dlcjAwMDAwMDAx", "categories",
				"identity", "surname", "Иванов", "loans",
				"principal_tiyn", (json_int_t)30000000);
	assert_non_null(doc);
	assert_int_equal(receipt_sign_document(kr, doc), SENIM_OK);
	char *text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	assert_non_null(text);
	return text;
}

static enum senim_result check(const struct keyring *kr, const unsigned char *pk,
			       const char *text, int *is_html)
{
	return package_verify_text(kr, pk, text, strlen(text), is_html);
}

static void test_json_verifies(void **state)
{
	struct fx *f = *state;
	char *text = signed_json(f->kr, PACKAGE_VERSION);
	int html = -1;
	assert_int_equal(check(f->kr, NULL, text, &html), SENIM_OK);
	assert_int_equal(html, 0);
	assert_int_equal(check(NULL, f->pk, text, NULL), SENIM_OK);
	assert_int_equal(check(NULL, NULL, text, NULL), SENIM_OK);
	/* another deployment's key ring, another trusted key */
	assert_int_equal(check(f->kr2, NULL, text, NULL), SENIM_ERR_CRYPTO);
	assert_int_equal(check(NULL, f->pk2, text, NULL), SENIM_ERR_CRYPTO);
	free(text);
}

static void test_json_altered_fails(void **state)
{
	struct fx *f = *state;
	char *text = signed_json(f->kr, PACKAGE_VERSION);
	char *p = strstr(text, "30000000");
	assert_non_null(p);
	p[0] = '4';
	assert_int_equal(check(f->kr, NULL, text, NULL), SENIM_ERR_CRYPTO);
	p[0] = '3';
	p = strstr(text, "sbj_");
	p[5] ^= 1;
	assert_int_equal(check(f->kr, NULL, text, NULL), SENIM_ERR_CRYPTO);
	free(text);
}

static void test_json_not_a_package(void **state)
{
	struct fx *f = *state;
	/* signed, but not a package of this version */
	char *text = signed_json(f->kr, "senim-access-package-v0");
	assert_int_equal(check(f->kr, NULL, text, NULL), SENIM_ERR_INVALID);
	free(text);
	assert_int_equal(
		check(f->kr, NULL, "{\"version\":\"" PACKAGE_VERSION "\"}", NULL),
		SENIM_ERR_INVALID);
	assert_int_equal(check(f->kr, NULL, "[1,2]", NULL), SENIM_ERR_INVALID);
	assert_int_equal(check(f->kr, NULL, "", NULL), SENIM_ERR_INVALID);
	text = signed_json(f->kr, PACKAGE_VERSION);
	size_t n = strlen(text);
	char *more = malloc(n + 3);
	memcpy(more, text, n);
	memcpy(more + n, "{}", 3); /* trailing bytes */
	assert_int_equal(check(f->kr, NULL, more, NULL), SENIM_ERR_INVALID);
	free(more);
	free(text);
	assert_int_equal(package_verify_text(f->kr, NULL, NULL, 0, NULL),
			 SENIM_ERR_INVALID);
}

/* An HTML document as render_html ends one: the body, then the line. */
static void signed_html(const struct keyring *kr, const char *body, struct buf *out)
{
	json_t *sig = NULL;
	buf_init(out, BUF_NO_LIMIT);
	assert_int_equal(buf_addstr(out, body), SENIM_OK);
	assert_int_equal(receipt_sign_bytes(kr, out->data, out->len, &sig), SENIM_OK);
	char *line = json_dumps(sig, JSON_COMPACT | JSON_SORT_KEYS);
	assert_int_equal(buf_addf(out, "%s%s -->\n", PACKAGE_HTML_SIGNATURE, line),
			 SENIM_OK);
	free(line);
	json_decref(sig);
}

static void test_html_verifies_and_altered_fails(void **state)
{
	struct fx *f = *state;
	struct buf b;
	signed_html(f->kr, "<!DOCTYPE html>\n<p>Иванов 30000000</p>\n", &b);
	int html = 0;
	assert_int_equal(check(f->kr, NULL, b.data, &html), SENIM_OK);
	assert_int_equal(html, 1);
	assert_int_equal(check(NULL, f->pk, b.data, NULL), SENIM_OK);
	assert_int_equal(check(f->kr2, NULL, b.data, NULL), SENIM_ERR_CRYPTO);
	char *p = strstr(b.data, "30000000");
	p[1] = '1';
	assert_int_equal(check(f->kr, NULL, b.data, NULL), SENIM_ERR_CRYPTO);
	buf_release(&b);
}

static void test_html_malformed(void **state)
{
	struct fx *f = *state;
	struct buf b;
	signed_html(f->kr, "<!DOCTYPE html>\n<p>x</p>\n", &b);
	/* bytes after the signature line */
	struct buf more;
	buf_init(&more, BUF_NO_LIMIT);
	assert_int_equal(buf_add(&more, b.data, b.len), SENIM_OK);
	assert_int_equal(buf_addstr(&more, "<p>added</p>\n"), SENIM_OK);
	assert_int_equal(check(f->kr, NULL, more.data, NULL), SENIM_ERR_INVALID);
	buf_release(&more);
	/* the line cut short */
	b.data[b.len - 2] = '\0';
	assert_int_equal(check(f->kr, NULL, b.data, NULL), SENIM_ERR_INVALID);
	buf_release(&b);
	assert_int_equal(check(f->kr, NULL, "<html>no signature</html>\n", NULL),
			 SENIM_ERR_INVALID);
	assert_int_equal(
		check(f->kr, NULL,
		      "<p>\n" PACKAGE_HTML_SIGNATURE "{\"alg\":\"Ed25519\"} -->\n", NULL),
		SENIM_ERR_INVALID);
	assert_int_equal(
		check(f->kr, NULL, "<p>\n" PACKAGE_HTML_SIGNATURE "nope -->\n", NULL),
		SENIM_ERR_INVALID);
}

static void test_limit_rules(void **state)
{
	(void)state;
	assert_true(package_limit_ground_valid("aml_cft"));
	assert_true(package_limit_ground_valid("court_order"));
	assert_true(package_limit_ground_valid("other_law"));
	assert_false(package_limit_ground_valid("suspicion"));
	assert_false(package_limit_ground_valid(NULL));
	assert_true(package_limit_reference_valid("191-IV/art.13"));
	assert_false(package_limit_reference_valid(""));
	assert_false(package_limit_reference_valid("Иванов"));
	assert_false(package_limit_reference_valid("a b"));
	char long_ref[66];
	memset(long_ref, 'a', 65);
	long_ref[65] = '\0';
	assert_false(package_limit_reference_valid(long_ref));
	long_ref[64] = '\0';
	assert_true(package_limit_reference_valid(long_ref));
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_verifies),
		cmocka_unit_test(test_json_altered_fails),
		cmocka_unit_test(test_json_not_a_package),
		cmocka_unit_test(test_html_verifies_and_altered_fails),
		cmocka_unit_test(test_html_malformed),
		cmocka_unit_test(test_limit_rules),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
