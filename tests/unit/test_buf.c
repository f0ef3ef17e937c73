/*
 * test_buf.c — the growable buffer (growth, the hard maximum, NUL
 * termination, detach, formatted and hex appends, resets from many
 * threads), slices, and the request arena (cap, alignment, zeroing, copies).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/result.h"
#include "common/banned.h"

/* Every buffer, whatever happened to it, is a C string of exactly len bytes. */
static void assert_terminated(const struct buf *b)
{
	assert_non_null(b->data);
	assert_int_equal(b->data[b->len], '\0');
	assert_int_equal(strlen(b->data), b->len);
	assert_true(b->len <= b->max);
	if (b->cap)
		assert_true(b->len < b->cap);
}

/* ---- buf ----------------------------------------------------------------- */

static void test_buf_empty(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 100);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.max, 100);
	assert_string_equal(b.data, "");
	buf_reset(&b);
	assert_terminated(&b);
	buf_release(&b);
	assert_terminated(&b);
	assert_int_equal(b.max, 100);
}

/* Every markup character is escaped, everything else (UTF-8 included) is
 * copied as it is, and an embedded NUL does not end the value early. */
static void test_buf_add_html(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, BUF_NO_LIMIT);
	static const char in[] = "<a href=\"x\">Ержан & 'Ко'</a>\0z";
	assert_int_equal(buf_add_html(&b, in, sizeof(in) - 1), SENIM_OK);
	static const char want[] = "&lt;a href=&quot;x&quot;&gt;Ержан &amp; &#39;Ко&#39;"
				   "&lt;/a&gt;\0z";
	assert_int_equal(b.len, sizeof(want) - 1);
	assert_memory_equal(b.data, want, sizeof(want) - 1);
	buf_release(&b);
	buf_init(&b, 8);
	assert_int_equal(buf_add_html(&b, "<<<", 3), SENIM_ERR_TOO_LARGE);
	buf_release(&b);
}

static void test_buf_growth(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, BUF_NO_LIMIT);
	/* Byte by byte well past the first allocation, checking every step. */
	for (int i = 0; i < 5000; i++) {
		assert_int_equal(buf_addch(&b, (char)('a' + i % 26)), SENIM_OK);
		assert_int_equal(b.len, (size_t)i + 1);
		assert_terminated(&b);
	}
	for (int i = 0; i < 5000; i++)
		assert_int_equal(b.data[i], 'a' + i % 26);

	/* One append far larger than the current capacity. */
	char *big = malloc(100000);
	assert_non_null(big);
	memset(big, 'z', 100000);
	assert_int_equal(buf_add(&b, big, 100000), SENIM_OK);
	assert_int_equal(b.len, 105000);
	assert_terminated(&b);
	assert_memory_equal(b.data + 5000, big, 100000);
	free(big);

	/* Binary data, NUL bytes included, is kept as is. */
	buf_reset(&b);
	assert_int_equal(buf_add(&b, "a\0b", 3), SENIM_OK);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b", 4);
	assert_int_equal(buf_add(&b, NULL, 0), SENIM_OK);
	assert_int_equal(b.len, 3);
	buf_release(&b);
}

static void test_buf_reset_keeps_memory(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 1000);
	assert_int_equal(buf_addstr(&b, "hello, world"), SENIM_OK);
	size_t cap = b.cap;
	char *data = b.data;
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, cap);
	assert_ptr_equal(b.data, data);
	assert_string_equal(b.data, "");
	assert_int_equal(buf_addstr(&b, "again"), SENIM_OK);
	assert_string_equal(b.data, "again");
	buf_release(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_string_equal(b.data, "");
	/* Reusable after release, with the same maximum. */
	assert_int_equal(buf_addstr(&b, "third"), SENIM_OK);
	assert_string_equal(b.data, "third");
	assert_int_equal(b.max, 1000);
	buf_release(&b);
}

/*
 * Server workers reset their reply bodies while other workers do the same,
 * many of them never grown.  A reset must write only memory its own buffer
 * owns: every never-grown buffer shares one empty string, and writing it
 * from two threads is a data race (the TSan build reports it and fails) or,
 * since the string is read-only, a fault in any build.
 */
enum {
	RESETTERS = 2,
	RESETS = 2000
};

static void *resetter(void *arg)
{
	int *ok = arg;
	*ok = 1;
	for (int i = 0; i < RESETS; i++) {
		struct buf b;
		buf_init(&b, 100);
		buf_reset(&b);
		buf_reset(&b);
		if (b.len != 0 || b.data[0] != '\0')
			*ok = 0;
		/* and a grown one, so both kinds interleave across threads */
		if (buf_addch(&b, 'x') != SENIM_OK)
			*ok = 0;
		buf_reset(&b);
		if (b.len != 0 || b.data[0] != '\0' || b.cap == 0)
			*ok = 0;
		buf_release(&b);
	}
	return NULL;
}

static void test_buf_reset_concurrent(void **state)
{
	(void)state;
	pthread_t th[RESETTERS];
	int ok[RESETTERS];
	for (int i = 0; i < RESETTERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, resetter, &ok[i]), 0);
	for (int i = 0; i < RESETTERS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_true(ok[i]);
	}
}

/* Whatever goes past the maximum fails and leaves the contents untouched. */
static void test_buf_hard_max(void **state)
{
	(void)state;
	static const unsigned char bytes[] = { 1, 2, 3 };
	struct buf b;
	buf_init(&b, 10);
	assert_int_equal(buf_addstr(&b, "12345678"), SENIM_OK);

	assert_int_equal(buf_addstr(&b, "abc"), SENIM_ERR_TOO_LARGE);
	assert_int_equal(buf_add(&b, "abc", 3), SENIM_ERR_TOO_LARGE);
	assert_int_equal(buf_addf(&b, "%d", 123), SENIM_ERR_TOO_LARGE);
	assert_int_equal(buf_addhex(&b, bytes, 2), SENIM_ERR_TOO_LARGE);
	assert_int_equal(b.len, 8);
	assert_string_equal(b.data, "12345678");
	assert_terminated(&b);

	/* Exactly up to the maximum is allowed ... */
	assert_int_equal(buf_addf(&b, "%c", '9'), SENIM_OK);
	assert_int_equal(buf_addhex(&b, bytes, 0), SENIM_OK);
	assert_int_equal(buf_addch(&b, '0'), SENIM_OK);
	assert_string_equal(b.data, "1234567890");
	/* ... and not one byte more. */
	assert_int_equal(buf_addch(&b, 'x'), SENIM_ERR_TOO_LARGE);
	assert_int_equal(buf_addhex(&b, bytes, 1), SENIM_ERR_TOO_LARGE);
	assert_int_equal(buf_addstr(&b, ""), SENIM_OK);
	assert_string_equal(b.data, "1234567890");
	assert_terminated(&b);

	/* Lengths that would overflow size_t arithmetic are refused, not wrapped
	 * (nothing is read from the pointer). */
	assert_int_equal(buf_add(&b, bytes, SIZE_MAX), SENIM_ERR_TOO_LARGE);
	assert_int_equal(buf_add(&b, bytes, SIZE_MAX - 5), SENIM_ERR_TOO_LARGE);
	buf_release(&b);

	buf_init(&b, BUF_NO_LIMIT);
	assert_int_equal(buf_add(&b, bytes, SIZE_MAX), SENIM_ERR_TOO_LARGE);
	assert_int_equal(buf_add(&b, bytes, BUF_NO_LIMIT + 1), SENIM_ERR_TOO_LARGE);
	assert_int_equal(buf_addhex(&b, bytes, SIZE_MAX / 2 + 1), SENIM_ERR_TOO_LARGE);
	assert_int_equal(buf_addhex(&b, bytes, BUF_NO_LIMIT), SENIM_ERR_TOO_LARGE);
	assert_int_equal(b.len, 0);
	assert_terminated(&b);
	buf_release(&b);

	/* A zero maximum admits nothing at all. */
	buf_init(&b, 0);
	assert_int_equal(buf_addch(&b, 'a'), SENIM_ERR_TOO_LARGE);
	assert_int_equal(buf_add(&b, "", 0), SENIM_OK);
	assert_string_equal(b.data, "");
	buf_release(&b);
}

static void test_buf_detach(void **state)
{
	(void)state;
	struct buf b;
	size_t len = 99;

	/* Never grown: still a heap string the caller can free. */
	buf_init(&b, 50);
	char *s = buf_detach(&b, &len);
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);

	assert_int_equal(buf_addstr(&b, "owned"), SENIM_OK);
	char *data = b.data;
	s = buf_detach(&b, &len);
	assert_ptr_equal(s, data);
	assert_string_equal(s, "owned");
	assert_int_equal(len, 5);
	/* The buffer is empty, keeps its maximum, and no longer owns s. */
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 50);
	assert_string_equal(b.data, "");
	assert_int_equal(buf_addstr(&b, "new"), SENIM_OK);
	assert_string_equal(s, "owned");
	free(s);

	s = buf_detach(&b, NULL);
	assert_string_equal(s, "new");
	free(s);
	buf_release(&b);
}

static void test_buf_addf(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 4096);
	assert_int_equal(buf_addf(&b, "%s=%d;", "a", 42), SENIM_OK);
	assert_int_equal(buf_addf(&b, "%lld", -9000000000LL), SENIM_OK);
	assert_string_equal(b.data, "a=42;-9000000000");
	assert_int_equal(b.len, strlen("a=42;-9000000000"));
	assert_int_equal(buf_addf(&b, "%s", ""), SENIM_OK);
	assert_int_equal(b.len, 16);

	/* Longer than the first allocation: growth inside a formatted append. */
	buf_reset(&b);
	assert_int_equal(buf_addf(&b, "<%0300d>", 7), SENIM_OK);
	assert_int_equal(b.len, 302);
	assert_int_equal(b.data[0], '<');
	assert_int_equal(b.data[299], '0');
	assert_int_equal(b.data[300], '7');
	assert_int_equal(b.data[301], '>');
	assert_int_equal(b.data[1], '0');
	assert_terminated(&b);

	/* The formatted length alone decides: 4096 fits, 4097 does not. */
	buf_reset(&b);
	assert_int_equal(buf_addf(&b, "%4096s", ""), SENIM_OK);
	buf_reset(&b);
	assert_int_equal(buf_addf(&b, "%4097s", ""), SENIM_ERR_TOO_LARGE);
	assert_int_equal(b.len, 0);
	assert_terminated(&b);
	buf_release(&b);
}

static void test_buf_addhex(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		size_t len;
		const char *hex;
	} cases[] = {
		{ "", 0, "" },
		{ "\x00", 1, "00" },
		{ "\x01\xab\xff", 3, "01abff" },
		{ "\x10\x09\x7f\x80", 4, "10097f80" },
		{ "senim", 5, "73656e696d" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;
		buf_init(&b, 100);
		assert_int_equal(buf_addstr(&b, "x:"), SENIM_OK);
		assert_int_equal(buf_addhex(&b, cases[i].in, cases[i].len), SENIM_OK);
		assert_string_equal(b.data + 2, cases[i].hex);
		assert_int_equal(b.len, 2 + 2 * cases[i].len);
		assert_terminated(&b);
		buf_release(&b);
	}
	/* 40 bytes make 80 hex digits, growing past the first allocation. */
	unsigned char key[40];
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(i * 7);
	struct buf b;
	buf_init(&b, 80);
	assert_int_equal(buf_addhex(&b, key, sizeof(key)), SENIM_OK);
	assert_int_equal(b.len, 80);
	assert_memory_equal(b.data, "00070e151c232a31", 16);
	assert_memory_equal(b.data + 76, "0a11", 4); /* 38 * 7, 39 * 7 mod 256 */
	assert_terminated(&b);
	buf_release(&b);
}

static void test_slice(void **state)
{
	(void)state;
	struct slice s = slice_from("policy");
	assert_int_equal(s.len, 6);
	assert_true(slice_eq(s, "policy"));
	assert_false(slice_eq(s, "polic"));
	assert_false(slice_eq(s, "policy2"));
	assert_false(slice_eq(s, "Policy"));
	assert_false(slice_eq(s, ""));

	struct slice part = { "policies", 6 };
	assert_true(slice_eq(part, "polici"));
	assert_false(slice_eq(part, "policies"));

	struct slice none = slice_from(NULL);
	assert_int_equal(none.len, 0);
	assert_true(slice_eq(none, ""));
	struct slice empty = slice_from("");
	assert_true(slice_eq(empty, ""));
	assert_false(slice_eq(empty, "a"));
}

/* ---- arena --------------------------------------------------------------- */

static void test_arena_alignment_and_zero(void **state)
{
	(void)state;
	static const size_t sizes[] = {
		1, 3, 15, 16, 17, 100, 4095, 4096, 4097, 10000, 7
	};
	struct arena a;
	arena_init(&a, 1 << 20);
	unsigned char *prev[sizeof(sizes) / sizeof(sizes[0])];
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *p = arena_alloc(&a, sizes[i]);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 16, 0);
		for (size_t k = 0; k < sizes[i]; k++)
			assert_int_equal(p[k], 0);
		/* Fill it: ASan reports any overlap with a neighbour's bytes. */
		memset(p, (int)(i + 1), sizes[i]);
		prev[i] = p;
	}
	/* No allocation overwrote another. */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (size_t k = 0; k < sizes[i]; k++)
			assert_int_equal(prev[i][k], i + 1);
	arena_release(&a);
	assert_int_equal(a.used, 0);
	assert_null(a.head);
}

static void test_arena_cap(void **state)
{
	(void)state;
	struct arena a;
	arena_init(&a, 64);
	assert_non_null(arena_alloc(&a, 40)); /* counts as 48 */
	assert_int_equal(a.used, 48);
	assert_null(arena_alloc(&a, 17)); /* 32 more would be 80 */
	assert_int_equal(a.used, 48);
	assert_non_null(arena_alloc(&a, 16));
	assert_int_equal(a.used, 64);
	assert_null(arena_alloc(&a, 1));
	assert_null(arena_strdup(&a, ""));

	/* Sizes whose rounding would overflow are refused, not wrapped. */
	arena_release(&a);
	arena_init(&a, SIZE_MAX);
	assert_null(arena_alloc(&a, SIZE_MAX));
	assert_null(arena_alloc(&a, SIZE_MAX - 10));
	assert_int_equal(a.used, 0);

	/* After release the whole cap is available again. */
	arena_release(&a);
	arena_init(&a, 64);
	assert_non_null(arena_alloc(&a, 64));
	assert_null(arena_alloc(&a, 1));
	arena_release(&a);
	assert_non_null(arena_alloc(&a, 64));
	arena_release(&a);
}

/* A big allocation does not waste the free space of the current chunk. */
static void test_arena_big_then_small(void **state)
{
	(void)state;
	struct arena a;
	arena_init(&a, 1 << 20);
	char *small1 = arena_alloc(&a, 32);
	char *big = arena_alloc(&a, 50000);
	char *small2 = arena_alloc(&a, 32);
	assert_non_null(small1);
	assert_non_null(big);
	assert_non_null(small2);
	assert_ptr_equal(small2, small1 + 32);
	memset(big, 'b', 50000);
	memset(small1, '1', 32);
	memset(small2, '2', 32);
	assert_int_equal(big[0], 'b');
	assert_int_equal(big[49999], 'b');
	arena_release(&a);
}

static void test_arena_strndup(void **state)
{
	(void)state;
	struct arena a;
	arena_init(&a, 4096);
	char *s = arena_strndup(&a, "hello world", 5);
	assert_string_equal(s, "hello");
	char *t = arena_strdup(&a, "Сеним");
	assert_string_equal(t, "Сеним");
	assert_int_equal(strlen(t), 10);
	char *e = arena_strndup(&a, "abc", 0);
	assert_string_equal(e, "");
	/* Bytes after an embedded NUL are copied too; the copy is len + 1. */
	char *z = arena_strndup(&a, "a\0b", 3);
	assert_memory_equal(z, "a\0b\0", 4);
	assert_string_equal(s, "hello");
	assert_ptr_not_equal(s, t);

	/* Over the cap the copy fails cleanly. */
	struct arena tiny;
	arena_init(&tiny, 16);
	assert_non_null(arena_strndup(&tiny, "0123456789abcde", 15));
	assert_null(arena_strndup(&tiny, "x", 1));
	arena_release(&tiny);
	arena_init(&tiny, 16);
	assert_null(arena_strndup(&tiny, "0123456789abcdef", 16)); /* 17 with NUL */
	arena_release(&tiny);
	arena_release(&a);
}

/* Dispose hooks run once each, newest first, at release; a refused
 * allocation registers none. */
static char disposed[8];
static size_t ndisposed;

static void note_dispose(void *obj)
{
	disposed[ndisposed++] = *(char *)obj;
}

static void test_arena_dispose(void **state)
{
	(void)state;
	struct arena a;
	arena_init(&a, 1 << 16);
	ndisposed = 0;
	char *x = arena_alloc_disposable(&a, 1, note_dispose);
	char *y = arena_alloc_disposable(&a, 1, note_dispose);
	assert_non_null(arena_alloc_disposable(&a, 1, NULL));
	assert_null(arena_alloc_disposable(&a, 1 << 17, note_dispose));
	*x = 'x';
	*y = 'y';
	arena_release(&a);
	assert_int_equal(ndisposed, 2);
	assert_memory_equal(disposed, "yx", 2);
	/* Released means forgotten: a second release runs nothing again. */
	arena_release(&a);
	assert_int_equal(ndisposed, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_empty),
		cmocka_unit_test(test_buf_growth),
		cmocka_unit_test(test_buf_reset_keeps_memory),
		cmocka_unit_test(test_buf_reset_concurrent),
		cmocka_unit_test(test_buf_hard_max),
		cmocka_unit_test(test_buf_detach),
		cmocka_unit_test(test_buf_addf),
		cmocka_unit_test(test_buf_addhex),
		cmocka_unit_test(test_slice),
		cmocka_unit_test(test_arena_alignment_and_zero),
		cmocka_unit_test(test_arena_cap),
		cmocka_unit_test(test_arena_big_then_small),
		cmocka_unit_test(test_arena_strndup),
		cmocka_unit_test(test_arena_dispose),
		cmocka_unit_test(test_buf_add_html),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
