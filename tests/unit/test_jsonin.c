/*
 * test_jsonin.c — the strict JSON body decoder, one table row per rule.
 *
 * Each row is a body and what jsonin must say about it against the field
 * table below: SENIM_OK, or the (field, rule, limit) of the first problem.
 * Lengths are counted in code points for one-line strings (Cyrillic and
 * emoji rows pin that) and in bytes for multiline texts, as the max_length
 * rule's text tells clients.
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
#include "http/jsonin.h"
#include "common/banned.h"

static int digits_only(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (v[i] < '0' || v[i] > '9')
			return 0;
	return len > 0;
}

static const char *const colours[] = { "red", "green", "жасыл", NULL };

static const struct jsonin_field fields[] = {
	{ .name = "name",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 2,
	  .max_len = 5 },
	{ .name = "note", .type = JSONIN_STRING, .max_len = 6, .multiline = 1 },
	{ .name = "code", .type = JSONIN_STRING, .format = digits_only },
	{ .name = "colour", .type = JSONIN_STRING, .allowed = colours },
	{ .name = "n", .type = JSONIN_INTEGER },
	{ .name = "flag", .type = JSONIN_BOOLEAN },
	{ .name = "obj", .type = JSONIN_OBJECT },
	{ .name = "list", .type = JSONIN_ARRAY },
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* What a row expects: rule NULL with field NULL is success; rule NULL with
 * field "(body)" is malformed JSON. */
struct row {
	const char *body;
	const char *field;
	const char *rule;
	long long limit;
};

/* Parse, check, and compare with the row; `len` lets bodies hold NULs. */
static void run_row(const struct row *r, size_t len)
{
	json_t *obj = (json_t *)1;
	struct jsonin_error e;
	int err = jsonin_parse(r->body, len, &obj, &e);
	if (err == SENIM_OK) {
		assert_non_null(obj);
		err = jsonin_check(obj, fields, NFIELDS, &e);
		json_decref(obj);
	} else {
		assert_null(obj);
	}
	if (!r->field && !r->rule) {
		if (err != SENIM_OK)
			fail_msg("%s: expected OK, got %s/%s", r->body, e.field,
				 e.rule ? e.rule : "(malformed)");
		return;
	}
	if (err != SENIM_ERR_INVALID)
		fail_msg("%s: expected %s/%s, got %d", r->body, r->field,
			 r->rule ? r->rule : "(malformed)", err);
	if (strcmp(e.field, r->field) != 0 ||
	    (r->rule ? !e.rule || strcmp(e.rule, r->rule) != 0 : e.rule != NULL) ||
	    e.limit != r->limit)
		fail_msg("%s: expected %s/%s/%lld, got %s/%s/%lld", r->body, r->field,
			 r->rule ? r->rule : "(malformed)", r->limit, e.field,
			 e.rule ? e.rule : "(malformed)", e.limit);
}

static void run_table(const struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		run_row(&rows[i], strlen(rows[i].body));
}

#define ROWS(t) (t), (sizeof(t) / sizeof((t)[0]))

static void test_types_and_required(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{ "{\"name\":\"ab\"}", NULL, NULL, 0 },
		{ "{\"name\":\"ab\",\"note\":\"x\",\"code\":\"1\",\"colour\":\"red\","
		  "\"n\":-3,\"flag\":false,\"obj\":{\"k\":[1]},\"list\":[]}",
		  NULL, NULL, 0 },
		{ "{}", "name", "required", 0 },
		{ "{\"name\":null}", "name", "required", 0 },
		/* An optional field that is null is as good as absent. */
		{ "{\"name\":\"ab\",\"n\":null,\"note\":null}", NULL, NULL, 0 },
		{ "{\"name\":5}", "name", "type_string", 0 },
		{ "{\"name\":[\"ab\"]}", "name", "type_string", 0 },
		{ "{\"name\":\"ab\",\"n\":\"5\"}", "n", "type_integer", 0 },
		{ "{\"name\":\"ab\",\"n\":1.5}", "n", "type_integer", 0 },
		{ "{\"name\":\"ab\",\"n\":true}", "n", "type_integer", 0 },
		{ "{\"name\":\"ab\",\"flag\":1}", "flag", "type_boolean", 0 },
		{ "{\"name\":\"ab\",\"flag\":\"true\"}", "flag", "type_boolean", 0 },
		{ "{\"name\":\"ab\",\"obj\":[]}", "obj", "type_object", 0 },
		{ "{\"name\":\"ab\",\"list\":{}}", "list", "type_array", 0 },
		{ "{\"name\":\"ab\",\"list\":\"[]\"}", "list", "type_array", 0 },
		/* The first problem in table order wins, unknown keys come last. */
		{ "{\"zz\":1,\"n\":\"x\"}", "name", "required", 0 },
		{ "{\"zz\":1,\"list\":1,\"n\":\"x\",\"name\":\"ab\"}", "n",
		  "type_integer", 0 },
		{ "{\"zz\":1,\"name\":\"ab\"}", "(key 1)", "unknown_field", 0 },
	};
	run_table(ROWS(rows));
}

static void test_lengths(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{ "{\"name\":\"a\"}", "name", "min_length", 2 },
		{ "{\"name\":\"\"}", "name", "min_length", 2 },
		{ "{\"name\":\"abcde\"}", NULL, NULL, 0 },
		{ "{\"name\":\"abcdef\"}", "name", "max_length", 5 },
		/* Code points, not bytes: one Cyrillic letter is two bytes. */
		{ "{\"name\":\"Ә\"}", "name", "min_length", 2 },
		{ "{\"name\":\"Ив\"}", NULL, NULL, 0 },
		{ "{\"name\":\"Иван\"}", NULL, NULL, 0 },
		{ "{\"name\":\"Асқар\"}", NULL, NULL, 0 },
		{ "{\"name\":\"Иванов\"}", "name", "max_length", 5 },
		{ "{\"name\":\"\\u0418\\u0432\"}", NULL, NULL, 0 },
		/* Four-byte characters count once too. */
		{ "{\"name\":\"😀😀😀😀😀\"}", NULL, NULL, 0 },
		{ "{\"name\":\"\\ud83d\\ude00\"}", "name", "min_length", 2 },
		/* Multiline texts are capped in bytes (POLICY_TEXT_MAX is bytes). */
		{ "{\"name\":\"ab\",\"note\":\"abcdef\"}", NULL, NULL, 0 },
		{ "{\"name\":\"ab\",\"note\":\"abcdefg\"}", "note", "max_length", 6 },
		{ "{\"name\":\"ab\",\"note\":\"Иван\"}", "note", "max_length", 6 },
		{ "{\"name\":\"ab\",\"note\":\"Ивн\"}", NULL, NULL, 0 },
	};
	run_table(ROWS(rows));
}

static void test_characters(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{ "{\"name\":\"a\\u0001b\"}", "name", "forbidden_characters", 0 },
		{ "{\"name\":\"a\\nb\"}", "name", "forbidden_characters", 0 },
		{ "{\"name\":\"a\\tb\"}", "name", "forbidden_characters", 0 },
		{ "{\"name\":\"a\\rb\"}", "name", "forbidden_characters", 0 },
		{ "{\"name\":\"a\\u007fb\"}", "name", "forbidden_characters", 0 },
		{ "{\"name\":\"a\\u001fb\"}", "name", "forbidden_characters", 0 },
		/* Checked before the length: a short string with DEL is still bad. */
		{ "{\"name\":\"\\u007f\"}", "name", "forbidden_characters", 0 },
		/* An escaped NUL never reaches a field: the body is malformed. */
		{ "{\"name\":\"ab\\u0000\"}", "(body)", NULL, JSONIN_MAX_DEPTH },
		{ "{\"name\":\"a b~\"}", NULL, NULL, 0 },
		/* C1 controls and bidirectional overrides are refused; the
		 * characters around them are not. */
		{ "{\"name\":\"a\\u0080b\"}", "name", "forbidden_characters", 0 },
		{ "{\"name\":\"a\\u202eb\"}", "name", "forbidden_characters", 0 },
		{ "{\"name\":\"a\\u00a0\\u2014b\"}", NULL, NULL, 0 },
		/* Multiline texts allow \n, \r and \t, and nothing else below 0x20. */
		{ "{\"name\":\"ab\",\"note\":\"a\\nb\\r\\tc\"}", NULL, NULL, 0 },
		{ "{\"name\":\"ab\",\"note\":\"a\\u000bb\"}", "note",
		  "forbidden_characters", 0 },
		{ "{\"name\":\"ab\",\"note\":\"\\u0001\"}", "note",
		  "forbidden_characters", 0 },
		{ "{\"name\":\"ab\",\"note\":\"a\\u007f\"}", "note",
		  "forbidden_characters", 0 },
		{ "{\"name\":\"ab\",\"note\":\"\\u001b[0m\"}", "note",
		  "forbidden_characters", 0 },
	};
	run_table(ROWS(rows));
}

static void test_enum_and_format(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{ "{\"name\":\"ab\",\"colour\":\"red\"}", NULL, NULL, 0 },
		{ "{\"name\":\"ab\",\"colour\":\"green\"}", NULL, NULL, 0 },
		{ "{\"name\":\"ab\",\"colour\":\"жасыл\"}", NULL, NULL, 0 },
		{ "{\"name\":\"ab\",\"colour\":\"blue\"}", "colour", "enum_value", 0 },
		{ "{\"name\":\"ab\",\"colour\":\"Red\"}", "colour", "enum_value", 0 },
		{ "{\"name\":\"ab\",\"colour\":\"re\"}", "colour", "enum_value", 0 },
		{ "{\"name\":\"ab\",\"colour\":\"redd\"}", "colour", "enum_value", 0 },
		{ "{\"name\":\"ab\",\"colour\":\"\"}", "colour", "enum_value", 0 },
		{ "{\"name\":\"ab\",\"colour\":\"red\\u0000\"}", "(body)", NULL,
		  JSONIN_MAX_DEPTH },
		{ "{\"name\":\"ab\",\"colour\":1}", "colour", "type_string", 0 },
		{ "{\"name\":\"ab\",\"code\":\"0123\"}", NULL, NULL, 0 },
		{ "{\"name\":\"ab\",\"code\":\"12a\"}", "code", "format", 0 },
		{ "{\"name\":\"ab\",\"code\":\"\"}", "code", "format", 0 },
		{ "{\"name\":\"ab\",\"code\":\"١٢\"}", "code", "format", 0 },
	};
	run_table(ROWS(rows));
}

/* Unknown keys are never echoed, however much they look like field names:
 * a key can be personal data ("_790315442423" is an IIN behind one
 * character), and problems never carry it.  They are named by position. */
static void test_unknown_fields(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{ "{\"name\":\"ab\",\"extra\":1}", "(key 2)", "unknown_field", 0 },
		{ "{\"extra\":1,\"name\":\"ab\"}", "(key 1)", "unknown_field", 0 },
		{ "{\"name\":\"ab\",\"new_password2\":\"x\"}", "(key 2)", "unknown_field",
		  0 },
		{ "{\"name\":\"ab\",\"_790315442423\":1}", "(key 2)", "unknown_field",
		  0 },
		{ "{\"name\":\"ab\",\"870412300234\":1}", "(key 2)", "unknown_field", 0 },
		{ "{\"name\":\"ab\",\"Иванов\":1}", "(key 2)", "unknown_field", 0 },
		{ "{\"name\":\"ab\",\"ivanov@example.kz\":1}", "(key 2)", "unknown_field",
		  0 },
		{ "{\"name\":\"ab\",\"\":1}", "(key 2)", "unknown_field", 0 },
		{ "{\"a b\":1,\"name\":\"ab\",\"x\":2}", "(key 1)", "unknown_field", 0 },
		/* Case matters: "NAME" is not "name". */
		{ "{\"NAME\":\"ab\"}", "name", "required", 0 },
	};
	run_table(ROWS(rows));

	/* The position is a copy that outlives the parsed document. */
	json_t *obj;
	struct jsonin_error e;
	const char *body = "{\"name\":\"ab\",\"colour_x\":1}";
	assert_int_equal(jsonin_parse(body, strlen(body), &obj, &e), SENIM_OK);
	assert_int_equal(jsonin_check(obj, fields, NFIELDS, &e), SENIM_ERR_INVALID);
	json_decref(obj);
	assert_string_equal(e.field, "(key 2)");
}

static void test_malformed(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{ "", "(body)", NULL, JSONIN_MAX_DEPTH },
		{ "{", "(body)", NULL, JSONIN_MAX_DEPTH },
		{ "{\"name\":\"ab\"} x", "(body)", NULL, JSONIN_MAX_DEPTH },
		{ "{\"name\":\"ab\"}{}", "(body)", NULL, JSONIN_MAX_DEPTH },
		{ "{'name':'ab'}", "(body)", NULL, JSONIN_MAX_DEPTH },
		{ "{\"name\":\"ab\",}", "(body)", NULL, JSONIN_MAX_DEPTH },
		{ "{\"name\":\"ab\",\"name\":\"cd\"}", "(body)", NULL, JSONIN_MAX_DEPTH },
		{ "{\"name\":\"ab\",\"obj\":{\"k\":1,\"k\":2}}", "(body)", NULL,
		  JSONIN_MAX_DEPTH },
		{ "{\"name\":\"\xff\xfe\"}", "(body)", NULL, JSONIN_MAX_DEPTH },
		{ "{\"name\":\"\xc0\xaf\"}", "(body)", NULL, JSONIN_MAX_DEPTH },
		{ "{\"name\":\"\xed\xa0\x80\"}", "(body)", NULL, JSONIN_MAX_DEPTH },
		{ "{\"name\":\"\xd0\"}", "(body)", NULL, JSONIN_MAX_DEPTH },
		{ "{\"\xff\":1}", "(body)", NULL, JSONIN_MAX_DEPTH },
		{ "{\"name\":\"\\ud800\"}", "(body)", NULL, JSONIN_MAX_DEPTH },
		{ "{\"name\":\"a\tb\"}", "(body)", NULL, JSONIN_MAX_DEPTH },
		{ "{\"n\":NaN}", "(body)", NULL, JSONIN_MAX_DEPTH },
		/* Valid JSON that is not an object. */
		{ "[1,2]", "(body)", "type_object", JSONIN_MAX_DEPTH },
		{ "\"name\"", "(body)", "type_object", JSONIN_MAX_DEPTH },
		{ "42", "(body)", "type_object", JSONIN_MAX_DEPTH },
		{ "null", "(body)", "type_object", JSONIN_MAX_DEPTH },
		{ "true", "(body)", "type_object", JSONIN_MAX_DEPTH },
		{ " [ ] ", "(body)", "type_object", JSONIN_MAX_DEPTH },
	};
	run_table(ROWS(rows));

	/* A NUL byte inside the body is malformed, not the end of it. */
	static const struct row nul = { "{\"name\":\"ab\"}\0", "(body)", NULL,
					JSONIN_MAX_DEPTH };
	run_row(&nul, 14);
	static const struct row nul_in = { "{\"name\":\"a\0b\"}", "(body)", NULL,
					   JSONIN_MAX_DEPTH };
	run_row(&nul_in, 14);
	/* Only `len` bytes are read: the rest of the buffer is not the body. */
	static const struct row prefix = { "{\"name\":\"ab\"}garbage", NULL, NULL, 0 };
	run_row(&prefix, 13);
}

/* A body nested `depth` levels: objects, or arrays inside one object. */
static char *nested(int depth, int arrays)
{
	struct buf b;
	buf_init(&b, BUF_NO_LIMIT);
	enum senim_result err = buf_addstr(&b, arrays ? "{\"obj\":" : "");
	for (int i = arrays ? 1 : 0; !err && i < depth; i++)
		err = buf_addstr(&b, arrays ? "[" : "{\"obj\":");
	err = err ? err : buf_addstr(&b, arrays ? "1" : "{}");
	for (int i = arrays ? 1 : 0; !err && i < depth; i++)
		err = buf_addstr(&b, arrays ? "]" : "}");
	err = err ? err : buf_addstr(&b, arrays ? "}" : "");
	assert_int_equal(err, SENIM_OK);
	return buf_detach(&b, NULL);
}

static void test_depth(void **state)
{
	(void)state;
	for (int arrays = 0; arrays <= 1; arrays++) {
		/* Objects: depth counts the innermost {} too, so n-1 "obj" levels. */
		char *ok = nested(JSONIN_MAX_DEPTH - !arrays, arrays);
		char *deep = nested(JSONIN_MAX_DEPTH + 1 - !arrays, arrays);
		json_t *obj;
		struct jsonin_error e;
		assert_int_equal(jsonin_parse(ok, strlen(ok), &obj, &e), SENIM_OK);
		json_decref(obj);
		assert_int_equal(jsonin_parse(deep, strlen(deep), &obj, &e),
				 SENIM_ERR_INVALID);
		assert_null(obj);
		assert_null(e.rule);
		assert_string_equal(e.field, "(body)");
		assert_int_equal(e.limit, JSONIN_MAX_DEPTH);
		free(ok);
		free(deep);
	}
	/* Exactly 32 and 33 brackets, counted by hand. */
	static const struct row rows[] = {
		{ "{\"list\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
		  "]],"
		  "\"name\":\"ab\"}",
		  NULL, NULL, 0 },
		{ "{\"list\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
		  "]]]],"
		  "\"name\":\"ab\"}",
		  "(body)", NULL, JSONIN_MAX_DEPTH },
		/* Brackets inside strings, escaped quotes included, do not nest. */
		{ "{\"name\":\"ab\",\"note\":\"[[[[\",\"code\":\"1\","
		  "\"colour\":\"red\",\"obj\":{\"s\":\"\\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
		  "[[[[[[\"}}",
		  NULL, NULL, 0 },
	};
	run_table(ROWS(rows));
}

static void test_str(void **state)
{
	(void)state;
	json_t *obj;
	struct jsonin_error e;
	const char *body = "{\"name\":\"Әлия\",\"n\":3,\"note\":\"x\\ny\"}";
	assert_int_equal(jsonin_parse(body, strlen(body), &obj, &e), SENIM_OK);
	assert_int_equal(jsonin_check(obj, fields, NFIELDS, &e), SENIM_OK);
	assert_string_equal(jsonin_str(obj, "name"), "Әлия");
	assert_string_equal(jsonin_str(obj, "note"), "x\ny");
	assert_null(jsonin_str(obj, "n"));
	assert_null(jsonin_str(obj, "code"));
	json_decref(obj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types_and_required),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_characters),
		cmocka_unit_test(test_enum_and_format),
		cmocka_unit_test(test_unknown_fields),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_str),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
