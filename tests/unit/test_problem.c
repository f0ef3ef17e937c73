/*
 * test_problem.c — the problem catalogue rendered as RFC 9457 JSON in
 * Russian, Kazakh and English, its rules, and the one mapping from a
 * senim_result to a problem.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/result.h"
#include "http/problem.h"
#include "common/banned.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define RULE_NAME(r) #r,
static const char *const rules[] = { PROBLEM_RULES(RULE_NAME) };

/* Render p in lang and parse it back; the caller json_decref()s. */
static json_t *render(const char *code, const char *field, const char *rule,
		      long long limit, enum lang lang)
{
	struct problem p = { .code = code, .field = field, .rule = rule, .limit = limit };
	struct buf out;
	buf_init(&out, 1 << 16);
	assert_int_equal(problem_render(&p, lang, "req-1", &out), SENIM_OK);
	json_error_t jerr;
	json_t *doc = json_loadb(out.data, out.len, 0, &jerr);
	if (!json_is_object(doc))
		fail_msg("%s/%s: not a JSON object: %s", code, lang_code(lang), out.data);
	buf_release(&out);
	return doc;
}

static const char *member(json_t *doc, const char *name)
{
	const char *s = json_string_value(json_object_get(doc, name));
	if (!s)
		fail_msg("no string member \"%s\"", name);
	return s;
}

/* 1 when s has a character from the Cyrillic block (U+0400..U+04FF), which
 * covers the Kazakh letters too. */
static int has_cyrillic(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)s[0] >= 0xD0 && (unsigned char)s[0] <= 0xD3 &&
		    ((unsigned char)s[1] & 0xC0) == 0x80)
			return 1;
	return 0;
}

static int is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

static int has_placeholder(const char *s)
{
	return strstr(s, "{field}") || strstr(s, "{rule}") || strstr(s, "{limit}");
}

struct codes {
	const char *code[128];
	int status[128];
	size_t n;
};

static void collect(const char *code, int status, void *ctx)
{
	struct codes *c = ctx;
	assert_true(c->n < COUNT(c->code));
	c->code[c->n] = code;
	c->status[c->n++] = status;
}

static void test_catalogue_renders(void **state)
{
	(void)state;
	struct codes c = { .n = 0 };
	problem_each(collect, &c);
	assert_true(c.n >= 15);
	for (size_t i = 0; i < c.n; i++) {
		const char *code = c.code[i];
		assert_true(problem_known(code));
		assert_int_equal(problem_status(code), c.status[i]);
		assert_true(c.status[i] >= 400 && c.status[i] <= 599);
		for (size_t k = 0; k < i; k++)
			assert_string_not_equal(c.code[k], code);

		json_t *doc[LANG__COUNT];
		for (int l = 0; l < LANG__COUNT; l++) {
			doc[l] = render(code, "login", "min_length", 12, (enum lang)l);
			char type[128];
			snprintf(type, sizeof(type), "urn:senim:problem:%s", code);
			assert_string_equal(member(doc[l], "type"), type);
			assert_string_equal(member(doc[l], "code"), code);
			assert_string_equal(member(doc[l], "request_id"), "req-1");
			assert_string_equal(member(doc[l], "field"), "login");
			assert_string_equal(member(doc[l], "rule"), "min_length");
			assert_int_equal(
				json_integer_value(json_object_get(doc[l], "status")),
				c.status[i]);
			const char *title = member(doc[l], "title");
			const char *detail = member(doc[l], "detail");
			if (!*title || !*detail || has_placeholder(detail) ||
			    has_placeholder(title))
				fail_msg("%s/%s: \"%s\" / \"%s\"", code,
					 lang_code((enum lang)l), title, detail);
			if (l == LANG_EN ? !is_ascii(title) || !is_ascii(detail)
					 : !has_cyrillic(title) || !has_cyrillic(detail))
				fail_msg("%s/%s: wrong script: \"%s\" / \"%s\"", code,
					 lang_code((enum lang)l), title, detail);
		}
		/* Three languages, three different texts. */
		for (int a = 0; a < LANG__COUNT; a++)
			for (int b = a + 1; b < LANG__COUNT; b++) {
				assert_string_not_equal(member(doc[a], "title"),
							member(doc[b], "title"));
				assert_string_not_equal(member(doc[a], "detail"),
							member(doc[b], "detail"));
			}
		for (int l = 0; l < LANG__COUNT; l++)
			json_decref(doc[l]);
	}
}

static void test_known_statuses(void **state)
{
	(void)state;
	static const struct {
		const char *code;
		int status;
	} cases[] = {
		{ "malformed_json", 400 },
		{ "validation_failed", 422 },
		{ "invalid_parameter", 400 },
		{ "unsupported_media_type", 415 },
		{ "body_too_large", 413 },
		{ "not_found", 404 },
		{ "method_not_allowed", 405 },
		{ "unauthenticated", 401 },
		{ "invalid_credentials", 401 },
		{ "forbidden_role", 403 },
		{ "policy_version_conflict", 409 },
		{ "policy_not_found", 404 },
		{ "conflict", 409 },
		{ "service_unavailable", 503 },
		{ "not_ready", 503 },
		{ "internal_error", 500 },
	};
	for (size_t i = 0; i < COUNT(cases); i++) {
		assert_true(problem_known(cases[i].code));
		assert_int_equal(problem_status(cases[i].code), cases[i].status);
	}
	assert_false(problem_known(NULL));
	assert_false(problem_known(""));
	assert_false(problem_known("Not_Found"));
	assert_false(problem_known("not_found "));
	assert_int_equal(problem_status(NULL), 500);
	assert_int_equal(problem_status("no_such_code"), 500);
}

/* An unknown code still answers, as internal_error, in every language. */
static void test_unknown_code(void **state)
{
	(void)state;
	for (int l = 0; l < LANG__COUNT; l++) {
		json_t *doc = render("no_such_code", NULL, NULL, 0, (enum lang)l);
		json_t *ref = render("internal_error", NULL, NULL, 0, (enum lang)l);
		assert_string_equal(member(doc, "code"), "internal_error");
		assert_string_equal(member(doc, "type"),
				    "urn:senim:problem:internal_error");
		assert_int_equal(json_integer_value(json_object_get(doc, "status")), 500);
		assert_string_equal(member(doc, "title"), member(ref, "title"));
		assert_string_equal(member(doc, "detail"), member(ref, "detail"));
		assert_null(json_object_get(doc, "field"));
		assert_null(json_object_get(doc, "rule"));
		json_decref(doc);
		json_decref(ref);
	}
	/* A language out of range falls back to Russian. */
	json_t *doc = render("not_found", NULL, NULL, 0, (enum lang)7);
	json_t *ru = render("not_found", NULL, NULL, 0, LANG_RU);
	assert_string_equal(member(doc, "title"), member(ru, "title"));
	json_decref(doc);
	json_decref(ru);
}

/* The rule text of a validation_failed detail: what follows the last ": "
 * up to the final "." (every language's template ends "...: {rule}."). */
static void rule_part(const char *detail, char *out, size_t len)
{
	const char *colon = NULL;
	for (const char *p = strstr(detail, ": "); p; p = strstr(p + 1, ": "))
		colon = p;
	assert_non_null(colon);
	size_t n = strlen(colon + 2);
	assert_true(n >= 1 && colon[2 + n - 1] == '.');
	snprintf(out, len, "%.*s", (int)(n - 1), colon + 2);
}

static void test_rules_in_details(void **state)
{
	(void)state;
	static char all[LANG__COUNT][COUNT(rules)][256];
	for (int l = 0; l < LANG__COUNT; l++) {
		char(*texts)[256] = all[l];
		for (size_t r = 0; r < COUNT(rules); r++) {
			json_t *doc = render("validation_failed", "login", rules[r], 12,
					     (enum lang)l);
			const char *detail = member(doc, "detail");
			assert_string_equal(member(doc, "rule"), rules[r]);
			assert_non_null(strstr(detail, "login"));
			rule_part(detail, texts[r], sizeof(texts[r]));
			const char *t = texts[r];
			/* Localised text, not the rule's id shown as a fallback. */
			if (!*t || strcmp(t, rules[r]) == 0 || has_placeholder(t) ||
			    (l == LANG_EN ? !is_ascii(t) : !has_cyrillic(t)))
				fail_msg("%s/%s: rule text \"%s\"", rules[r],
					 lang_code((enum lang)l), t);
			/* The limit appears exactly where a rule has one. */
			int numeric = strstr(rules[r], "_length") ||
				      strstr(rules[r], "_value") ||
				      strncmp(rules[r], "within_", 7) == 0 ||
				      strcmp(rules[r], "product_min") == 0;
			int enumv = strcmp(rules[r], "enum_value") == 0;
			if ((numeric && !enumv) != (strstr(t, "12") != NULL))
				fail_msg("%s/%s: limit in \"%s\"", rules[r],
					 lang_code((enum lang)l), t);
			for (size_t k = 0; k < r; k++)
				if (strcmp(texts[k], t) == 0)
					fail_msg("%s and %s share the text \"%s\"",
						 rules[k], rules[r], t);
			json_decref(doc);
		}
	}
	/* Each rule reads differently in each language. */
	for (size_t r = 0; r < COUNT(rules); r++)
		for (int a = 0; a < LANG__COUNT; a++)
			for (int b = a + 1; b < LANG__COUNT; b++)
				if (strcmp(all[a][r], all[b][r]) == 0)
					fail_msg("%s: same text in %s and %s", rules[r],
						 lang_code((enum lang)a),
						 lang_code((enum lang)b));
	/* invalid_parameter words it as a parameter, with the same rule texts. */
	json_t *a = render("invalid_parameter", "lang", "enum_value", 0, LANG_EN);
	json_t *b = render("validation_failed", "lang", "enum_value", 0, LANG_EN);
	char ta[256], tb[256];
	rule_part(member(a, "detail"), ta, sizeof(ta));
	rule_part(member(b, "detail"), tb, sizeof(tb));
	assert_string_equal(ta, tb);
	assert_string_not_equal(member(a, "detail"), member(b, "detail"));
	json_decref(a);
	json_decref(b);
}

static void test_limits_and_fields(void **state)
{
	(void)state;
	for (int l = 0; l < LANG__COUNT; l++) {
		json_t *doc = render("body_too_large", NULL, NULL, 1048576, (enum lang)l);
		assert_non_null(strstr(member(doc, "detail"), "1048576"));
		assert_null(json_object_get(doc, "field"));
		json_decref(doc);
		doc = render("malformed_json", "(body)", NULL, 32, (enum lang)l);
		assert_non_null(strstr(member(doc, "detail"), "32"));
		json_decref(doc);
		doc = render("password_change_required", NULL, NULL, 12, (enum lang)l);
		assert_non_null(strstr(member(doc, "detail"), "12"));
		json_decref(doc);
		doc = render("validation_failed", "n", "max_value", -5, (enum lang)l);
		assert_non_null(strstr(member(doc, "detail"), "-5"));
		json_decref(doc);
	}
	/* A field is inserted as text: placeholders in it are not expanded, and
	 * quotes stay inside the JSON string. */
	json_t *doc =
		render("validation_failed", "{limit}\"{rule}", "min_length", 7, LANG_EN);
	const char *detail = member(doc, "detail");
	assert_non_null(strstr(detail, "'{limit}\"{rule}'"));
	assert_non_null(strstr(detail, "at least 7 characters"));
	assert_string_equal(member(doc, "field"), "{limit}\"{rule}");
	json_decref(doc);
	/* No rule: the detail still renders, with nothing left to fill. */
	doc = render("validation_failed", "x", NULL, 0, LANG_KK);
	assert_false(has_placeholder(member(doc, "detail")));
	assert_null(json_object_get(doc, "rule"));
	json_decref(doc);
}

static void test_extra_and_append(void **state)
{
	(void)state;
	struct buf out;
	buf_init(&out, 1 << 16);
	assert_int_equal(buf_addstr(&out, "prefix:"), SENIM_OK);
	struct problem p = { .code = "method_not_allowed" };
	p.extra = json_pack("{s:[s,s], s:s, s:i}", "allowed", "GET", "POST", "code",
			    "forged", "status", 200);
	assert_non_null(p.extra);
	assert_int_equal(problem_render(&p, LANG_EN, "rid", &out), SENIM_OK);
	assert_null(p.extra); /* consumed; ASan's leak check sees the rest */
	assert_memory_equal(out.data, "prefix:", 7);
	json_t *doc = json_loads(out.data + 7, 0, NULL);
	assert_non_null(doc);
	assert_int_equal(json_array_size(json_object_get(doc, "allowed")), 2);
	/* Extension members never replace the standard ones. */
	assert_string_equal(member(doc, "code"), "method_not_allowed");
	assert_int_equal(json_integer_value(json_object_get(doc, "status")), 405);
	json_decref(doc);

	/* A full buffer: the error comes back and the extra is still freed. */
	struct buf tiny;
	buf_init(&tiny, 16);
	struct problem q = { .code = "not_found", .extra = json_object() };
	assert_int_equal(problem_render(&q, LANG_RU, "rid", &tiny), SENIM_ERR_TOO_LARGE);
	assert_null(q.extra);
	assert_int_equal(tiny.len, 0);
	buf_release(&tiny);
	buf_release(&out);
}

static void test_code_for_result(void **state)
{
	(void)state;
	static const char *const want[SENIM_ERR__COUNT] = {
		[SENIM_OK] = "internal_error",
		[SENIM_ERR_NOMEM] = "internal_error",
		[SENIM_ERR_INVALID] = "validation_failed",
		[SENIM_ERR_NOT_FOUND] = "not_found",
		[SENIM_ERR_CONFLICT] = "conflict",
		[SENIM_ERR_DENIED] = "forbidden_role",
		[SENIM_ERR_AUTH] = "unauthenticated",
		[SENIM_ERR_LOCKED] = "unauthenticated",
		[SENIM_ERR_TOO_LARGE] = "body_too_large",
		[SENIM_ERR_STORE] = "service_unavailable",
		[SENIM_ERR_IO] = "internal_error",
		[SENIM_ERR_CRYPTO] = "internal_error",
		[SENIM_ERR_TAMPERED] = "internal_error",
		[SENIM_ERR_UNAVAILABLE] = "service_unavailable",
		[SENIM_ERR_CONFIG] = "internal_error",
	};
	for (int r = 0; r < SENIM_ERR__COUNT; r++) {
		/* A new result must be added to this table (and to problem.c). */
		if (!want[r])
			fail_msg("result %d (%s) has no expected problem", r,
				 senim_result_name(r));
		const char *code = problem_code_for_result(r);
		assert_non_null(code);
		assert_true(problem_known(code));
		if (strcmp(code, want[r]) != 0)
			fail_msg("%s: want %s, got %s", senim_result_name(r), want[r],
				 code);
	}
	assert_string_equal(problem_code_for_result(-1), "internal_error");
	assert_string_equal(problem_code_for_result(SENIM_ERR__COUNT), "internal_error");
	assert_string_equal(problem_code_for_result(12345), "internal_error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catalogue_renders),
		cmocka_unit_test(test_known_statuses),
		cmocka_unit_test(test_unknown_code),
		cmocka_unit_test(test_rules_in_details),
		cmocka_unit_test(test_limits_and_fields),
		cmocka_unit_test(test_extra_and_append),
		cmocka_unit_test(test_code_for_result),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
