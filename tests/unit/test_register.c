/*
 * test_register.c — the disclosure register (exchange/register.h) on a real
 * SQLite file: an entry and its audit record are written together or not at
 * all, the table refuses to change, the recipient is kept as it was, the
 * listing's filters and pages, and the query parameters' rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exchange/register.h"
#include "testutil.h"
#include "common/banned.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define SUBJECT "sbj_AAAAAAAAAAAAAAAAAAAAAA"
#define OTHER "sbj_BBBBBBBBBBBBBBBBBBBBBB"

struct fx {
	char dir[512];
	char db[600];
	char keys[600];
	struct keyring *kr;
	struct store *st;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(testutil_tmpdir("register", f->dir, sizeof(f->dir)), 0);
	snprintf(f->db, sizeof(f->db), "%s/senim.db", f->dir);
	snprintf(f->keys, sizeof(f->keys), "%s/keys/senim.keys", f->dir);
	assert_int_equal(keyring_open(f->keys, 1, &f->kr), SENIM_OK);
	assert_int_equal(store_open(f->db, 2, &f->st), SENIM_OK);
	assert_int_equal(store_migrate(f->st, NULL), SENIM_OK);
	char why[256];
	assert_int_equal(testutil_sql(f->db,
				      "INSERT INTO subjects (id, created_at, created_by)"
				      " VALUES ('" SUBJECT "', 0, 'cli'), ('" OTHER
				      "', 0, 'cli')",
				      why, sizeof(why)),
			 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	store_free(f->st);
	keyring_free(f->kr);
	testutil_rm_rf(f->dir);
	free(f);
	return 0;
}

static long long raw_int(const struct fx *f, const char *sql)
{
	return testutil_sql_int(f->db, sql);
}

/* ---- entries ------------------------------------------------------------------------ */

static struct recipient pkb = { .code = "pkb",
				.name_ru = "ТОО «Первое кредитное бюро»",
				.name_kk = "«Бірінші кредиттік бюро» ЖШС",
				.registration = "pending",
				.kind = RECIPIENT_CREDIT_BUREAU,
				.country = "KZ" };
static struct recipient scorelab = { .code = "scorelab",
				     .name_ru = "Scorelab GmbH",
				     .name_kk = "Scorelab GmbH",
				     .registration = "foreign:DE:HRB-1",
				     .kind = RECIPIENT_PROCESSOR,
				     .country = "DE" };

static struct disclosure entry(const struct recipient *r, enum register_outcome o)
{
	return (struct disclosure){
		.subject_id = SUBJECT,
		.direction = o == REGISTER_RECEIVED ? REGISTER_IN : REGISTER_OUT,
		.recipient = r,
		.service = "credit_report",
		.categories = "identity",
		.fields = "identity.iin",
		.purpose = PURPOSE_LOAN_APPLICATION_REVIEW,
		.basis = RECIPIENT_BASIS_CONSENT,
		.consent_id = "cns_AAAAAAAAAAAAAAAAAAAAAA",
		.outcome = o,
		.request_id = "req-1",
		.actor = "staff:1",
	};
}

struct append {
	const struct keyring *kr;
	const struct disclosure *d;
	size_t n;
	char id[DISCLOSURE_ID_LEN];
	int fail_after; /* fail the job after its appends: the caller's own error */
};

static enum senim_result append_fn(struct store_tx *tx, void *ctx)
{
	struct append *a = ctx;
	for (size_t i = 0; i < a->n; i++) {
		enum senim_result err = register_append(tx, a->kr, &a->d[i], a->id);
		if (err)
			return err;
	}
	return a->fail_after ? SENIM_ERR_CONFLICT : SENIM_OK;
}

static enum senim_result write_entries(struct fx *f, const struct disclosure *d, size_t n,
				       char id[DISCLOSURE_ID_LEN])
{
	struct append a = { .kr = f->kr, .d = d, .n = n };
	enum senim_result err = store_write(f->st, append_fn, &a);
	if (id)
		memcpy(id, a.id, DISCLOSURE_ID_LEN);
	return err;
}

/* An entry is a row, a snapshot and one audit record naming it. */
static void test_append_writes_row_and_record(void **state)
{
	struct fx *f = *state;
	struct disclosure d[] = { entry(&pkb, REGISTER_DELIVERED),
				  entry(&pkb, REGISTER_RECEIVED),
				  entry(&scorelab, REGISTER_REFUSED) };
	d[2].consent_id = NULL;
	d[2].reason = "consent_required";
	d[2].basis = RECIPIENT_BASIS_AGREEMENT;
	char id[DISCLOSURE_ID_LEN];
	assert_int_equal(write_entries(f, d, 1, id), SENIM_OK);
	assert_int_equal(strncmp(id, "dsc_", 4), 0);
	assert_int_equal(write_entries(f, d + 1, 2, NULL), SENIM_OK);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM disclosures"), 3);
	/* one snapshot per identity, not per entry */
	assert_int_equal(raw_int(f, "SELECT count(*) FROM recipient_snapshots"), 2);
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM audit_log WHERE object = 'disclosure:%s'"
		 " AND operation = 'transfer.out' AND outcome = 'success'"
		 " AND subject_id = '" SUBJECT "' AND categories = 'identity'"
		 " AND purpose = 'loan_application_review' AND actor = 'staff:1'",
		 id);
	assert_int_equal(raw_int(f, sql), 1);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit_log WHERE"
				    " operation = 'transfer.in' AND outcome = 'success'"),
			 1);
	assert_int_equal(
		raw_int(f, "SELECT count(*) FROM audit_log WHERE"
			   " operation = 'transfer.refused' AND outcome = 'denied'"),
		1);
	/* every entry has exactly one record naming it */
	assert_int_equal(raw_int(f, "SELECT count(*) FROM disclosures d WHERE 1 <>"
				    " (SELECT count(*) FROM audit_log a"
				    "  WHERE a.object = 'disclosure:' || d.id)"),
			 0);
	/* abroad is what the recipient's country says */
	assert_int_equal(raw_int(f, "SELECT cross_border FROM disclosures"
				    " WHERE recipient = 'scorelab'"),
			 1);
	assert_int_equal(raw_int(f, "SELECT cross_border FROM disclosures"
				    " WHERE recipient = 'pkb' LIMIT 1"),
			 0);
	/* a renamed recipient is a second snapshot; the first stays */
	struct recipient renamed = pkb;
	renamed.name_ru = "ТОО «Первое кредитное бюро» (новое имя)";
	struct disclosure again = entry(&renamed, REGISTER_DELIVERED);
	assert_int_equal(write_entries(f, &again, 1, NULL), SENIM_OK);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM recipient_snapshots"
				    " WHERE code = 'pkb'"),
			 2);
}

/* S4: when the audit record cannot be written, the entry is not either. */
static void test_failing_audit_leaves_no_row(void **state)
{
	struct fx *f = *state;
	char why[256];
	assert_int_equal(
		testutil_sql(f->db,
			     "CREATE TRIGGER block_audit BEFORE INSERT ON audit_log"
			     " BEGIN SELECT RAISE(ABORT, 'blocked'); END;",
			     why, sizeof(why)),
		0);
	struct disclosure d = entry(&pkb, REGISTER_DELIVERED);
	assert_int_not_equal(write_entries(f, &d, 1, NULL), SENIM_OK);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM disclosures"), 0);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM recipient_snapshots"), 0);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit_log"), 0);
	/* the audit write back, the same entry goes in with its record */
	assert_int_equal(
		testutil_sql(f->db, "DROP TRIGGER block_audit", why, sizeof(why)), 0);
	assert_int_equal(write_entries(f, &d, 1, NULL), SENIM_OK);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM disclosures"), 1);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit_log"), 1);
}

/* The caller's job fails after the append: its entry goes with it. */
static void test_failing_job_takes_its_entry(void **state)
{
	struct fx *f = *state;
	struct disclosure d = entry(&pkb, REGISTER_DELIVERED);
	struct append a = { .kr = f->kr, .d = &d, .n = 1, .fail_after = 1 };
	assert_int_equal(store_write(f->st, append_fn, &a), SENIM_ERR_CONFLICT);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM disclosures"), 0);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit_log"), 0);
}

/* Entries that break the register's rules are refused, nothing written. */
static void test_invalid_entries(void **state)
{
	struct fx *f = *state;
	struct disclosure cases[6];
	for (size_t i = 0; i < COUNT(cases); i++)
		cases[i] = entry(&pkb, REGISTER_DELIVERED);
	cases[0].subject_id = NULL;
	cases[1].direction = REGISTER_IN;     /* inbound, yet delivered */
	cases[2].outcome = REGISTER_RECEIVED; /* received, yet outbound */
	cases[3].basis = RECIPIENT_BASIS_LAW; /* law without its reference */
	cases[4].actor = NULL;
	cases[5].outcome = (enum register_outcome)REGISTER_OUTCOME__COUNT;
	for (size_t i = 0; i < COUNT(cases); i++) {
		if (write_entries(f, &cases[i], 1, NULL) != SENIM_ERR_INVALID)
			fail_msg("case %zu was not refused", i);
	}
	assert_int_equal(raw_int(f, "SELECT count(*) FROM disclosures"), 0);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit_log"), 0);
	cases[3].legal_ref = "KZ 573-II art. 26(1)";
	assert_int_equal(write_entries(f, &cases[3], 1, NULL), SENIM_OK);
}

/* Append-only: the register and its snapshots refuse UPDATE and DELETE. */
static void test_register_is_append_only(void **state)
{
	struct fx *f = *state;
	struct disclosure d = entry(&pkb, REGISTER_DELIVERED);
	assert_int_equal(write_entries(f, &d, 1, NULL), SENIM_OK);
	static const char *const changes[] = {
		"UPDATE disclosures SET outcome = 'refused'",
		"UPDATE disclosures SET subject_id = '" OTHER "'",
		"DELETE FROM disclosures",
		"UPDATE recipient_snapshots SET name_ru = 'x'",
		"DELETE FROM recipient_snapshots",
	};
	char why[256];
	for (size_t i = 0; i < COUNT(changes); i++) {
		if (testutil_sql(f->db, changes[i], why, sizeof(why)) == 0)
			fail_msg("allowed: %s", changes[i]);
		assert_non_null(strstr(why, "append-only"));
	}
	assert_int_equal(raw_int(f, "SELECT count(*) FROM disclosures"
				    " WHERE outcome = 'delivered'"),
			 1);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM recipient_snapshots"), 1);
}

/* ---- the listing --------------------------------------------------------------------- */

struct seen {
	char ids[16][DISCLOSURE_ID_LEN];
	int64_t at[16];
	size_t n;
};

static enum senim_result collect(const struct register_entry *e, void *ctx)
{
	struct seen *s = ctx;
	assert_true(s->n < COUNT(s->ids));
	snprintf(s->ids[s->n], DISCLOSURE_ID_LEN, "%s", e->id);
	s->at[s->n++] = e->at;
	assert_non_null(e->snapshot_name_ru);
	return SENIM_OK;
}

struct list_ctx {
	const struct register_query *q;
	size_t max;
	struct seen *seen;
};

static enum senim_result list_fn(struct store_tx *tx, void *ctx)
{
	struct list_ctx *c = ctx;
	size_t n;
	return register_list(tx, c->q, c->max, collect, c->seen, &n);
}

static size_t list(struct fx *f, const struct register_query *q, size_t max,
		   struct seen *seen)
{
	memset(seen, 0, sizeof(*seen));
	struct list_ctx c = { q, max, seen };
	assert_int_equal(store_read(f->st, list_fn, &c), SENIM_OK);
	return seen->n;
}

static struct register_query all(void)
{
	return (struct register_query){ .direction = -1,
					.outcome = -1,
					.cross_border = -1,
					.from_us = INT64_MIN,
					.to_us = INT64_MAX,
					.limit = 100 };
}

static void test_listing_filters_and_pages(void **state)
{
	struct fx *f = *state;
	/* Ten entries, a second apart: even ones pkb delivered, odd ones
	 * scorelab refused; the last two are another subject's. */
	struct disclosure d[10];
	for (int i = 0; i < 10; i++) {
		d[i] = entry(i % 2 ? &scorelab : &pkb,
			     i % 2 ? REGISTER_REFUSED : REGISTER_DELIVERED);
		d[i].at = INT64_C(1750000000000000) + i * INT64_C(1000000);
		if (i >= 8)
			d[i].subject_id = OTHER;
	}
	assert_int_equal(write_entries(f, d, 10, NULL), SENIM_OK);
	struct seen s;
	struct register_query q = all();
	assert_int_equal(list(f, &q, 100, &s), 10);
	for (size_t i = 1; i < s.n; i++)
		assert_true(s.at[i - 1] > s.at[i]); /* newest first */
	q.subject_id = SUBJECT;
	assert_int_equal(list(f, &q, 100, &s), 8);
	q.recipient = "scorelab";
	assert_int_equal(list(f, &q, 100, &s), 4);
	q = all();
	q.recipient = "pkb";
	assert_int_equal(list(f, &q, 100, &s), 5);
	q = all();
	q.outcome = REGISTER_REFUSED;
	assert_int_equal(list(f, &q, 100, &s), 5);
	q = all();
	q.cross_border = 1;
	assert_int_equal(list(f, &q, 100, &s), 5);
	q.direction = REGISTER_IN;
	assert_int_equal(list(f, &q, 100, &s), 0);
	q = all();
	q.from_us = d[2].at;
	q.to_us = d[5].at; /* [2, 5): three */
	assert_int_equal(list(f, &q, 100, &s), 3);
	/* pages of three, each after the last one's cursor, cover all ten once */
	q = all();
	size_t total = 0;
	char last[DISCLOSURE_ID_LEN] = "";
	for (int page = 0; page < 5; page++) {
		size_t n = list(f, &q, 3, &s);
		total += n;
		if (n < 3)
			break;
		assert_true(last[0] == '\0' || strcmp(s.ids[0], last) != 0);
		q.has_cursor = 1;
		q.cursor_at = s.at[n - 1];
		memcpy(q.cursor_id, s.ids[n - 1], DISCLOSURE_ID_LEN);
		memcpy(last, s.ids[n - 1], DISCLOSURE_ID_LEN);
	}
	assert_int_equal(total, 10);
}

/* ---- the query parameters ---------------------------------------------------------- */

#define NOW INT64_C(1767225600000000) /* 2026-01-01T00:00:00Z */

static void test_query_parse(void **state)
{
	(void)state;
	static const struct {
		enum register_param p;
		const char *value;
		int ok;
		const char *rule; /* when refused */
	} cases[] = {
		{ REGISTER_P_SUBJECT, SUBJECT, 1, NULL },
		{ REGISTER_P_SUBJECT, "sbj_short", 0, "format" },
		{ REGISTER_P_SUBJECT, "870412300415", 0, "format" },
		{ REGISTER_P_RECIPIENT, "pkb", 1, NULL },
		{ REGISTER_P_RECIPIENT, "PKB", 0, "format" },
		{ REGISTER_P_RECIPIENT, "p", 0, "format" },
		{ REGISTER_P_DIRECTION, "in", 1, NULL },
		{ REGISTER_P_DIRECTION, "sideways", 0, "enum_value" },
		{ REGISTER_P_OUTCOME, "abandoned", 1, NULL },
		{ REGISTER_P_OUTCOME, "lost", 0, "enum_value" },
		{ REGISTER_P_CROSS_BORDER, "true", 1, NULL },
		{ REGISTER_P_CROSS_BORDER, "1", 0, "enum_value" },
		{ REGISTER_P_FROM, "2025-06-01T00:00:00Z", 1, NULL },
		{ REGISTER_P_FROM, "2025-06-01T05:00:00.123456+05:00", 1, NULL },
		{ REGISTER_P_FROM, "2025-06-01", 0, "format" },
		{ REGISTER_P_FROM, "2025-02-29T00:00:00Z", 0, "format" },
		{ REGISTER_P_FROM, "2025-06-01T24:00:00Z", 0, "format" },
		{ REGISTER_P_FROM, "2025-06-01T00:00:00", 0, "format" },
		{ REGISTER_P_FROM, "2025-06-01T00:00:00+05", 0, "format" },
		{ REGISTER_P_FROM, "2025-06-01T00:00:00.Z", 0, "format" },
		{ REGISTER_P_FROM, "2024-12-30T23:59:59Z", 0,
		  "period_length" },				      /* > 366 days */
		{ REGISTER_P_FROM, "2024-12-31T00:00:00Z", 1, NULL }, /* = 366 days */
		{ REGISTER_P_FROM, "2026-01-01T00:00:00Z", 0,
		  "period_length" }, /* = to */
		{ REGISTER_P_TO, "2025-12-01T00:00:00Z", 1, NULL },
		{ REGISTER_P_TO, "tomorrow", 0, "format" },
		{ REGISTER_P_CURSOR, "1750000000000000.dsc_AAAAAAAAAAAAAAAAAAAAAA", 1,
		  NULL },
		{ REGISTER_P_CURSOR, "1750000000000000.sbj_AAAAAAAAAAAAAAAAAAAAAA", 0,
		  "format" },
		{ REGISTER_P_CURSOR, "-1.dsc_AAAAAAAAAAAAAAAAAAAAAA", 0, "format" },
		{ REGISTER_P_CURSOR, "dsc_AAAAAAAAAAAAAAAAAAAAAA", 0, "format" },
		{ REGISTER_P_LIMIT, "500", 1, NULL },
		{ REGISTER_P_LIMIT, "501", 0, "max_value" },
		{ REGISTER_P_LIMIT, "0", 0, "min_value" },
		{ REGISTER_P_LIMIT, "+5", 0, "format" },
		{ REGISTER_P_LIMIT, "99999999999999999999", 0, "format" },
	};
	for (size_t i = 0; i < COUNT(cases); i++) {
		const char *values[REGISTER_P__COUNT] = { 0 };
		values[cases[i].p] = cases[i].value;
		struct register_query q;
		enum register_param bad = REGISTER_P__COUNT;
		const char *rule = NULL;
		long long limit;
		enum senim_result err = register_query_parse(
			values, REGISTER_PAGE_MAX, 0, NOW, &q, &bad, &rule, &limit);
		if (cases[i].ok) {
			if (err)
				fail_msg("%s=%s refused (%s)",
					 register_param_name(cases[i].p), cases[i].value,
					 rule);
			continue;
		}
		if (err != SENIM_ERR_INVALID || bad != cases[i].p ||
		    strcmp(rule, cases[i].rule) != 0)
			fail_msg("%s=%s: got %d %s %s", register_param_name(cases[i].p),
				 cases[i].value, err,
				 err ? register_param_name(bad) : "-", err ? rule : "-");
	}
	/* Defaults: the year and a day before now, 100 a page; the offset
	 * counts; a borrower's list is all time. */
	const char *values[REGISTER_P__COUNT] = { 0 };
	struct register_query q;
	enum register_param bad;
	const char *rule;
	long long limit;
	assert_int_equal(register_query_parse(values, REGISTER_PAGE_MAX, 0, NOW, &q, &bad,
					      &rule, &limit),
			 SENIM_OK);
	assert_true(q.to_us == NOW && q.from_us == NOW - INT64_C(366) * 86400 * 1000000);
	assert_int_equal(q.limit, 100);
	values[REGISTER_P_FROM] = "2025-06-01T05:00:00.5+05:00";
	assert_int_equal(register_query_parse(values, REGISTER_PAGE_MAX, 0, NOW, &q, &bad,
					      &rule, &limit),
			 SENIM_OK);
	assert_true(q.from_us == INT64_C(1748736000500000)); /* 2025-06-01T00:00:00.5Z */
	values[REGISTER_P_FROM] = NULL;
	assert_int_equal(register_query_parse(values, REGISTER_SELF_PAGE_MAX, 1, NOW, &q,
					      &bad, &rule, &limit),
			 SENIM_OK);
	assert_true(q.from_us == INT64_MIN && q.to_us == INT64_MAX);
	values[REGISTER_P_LIMIT] = "101";
	assert_int_equal(register_query_parse(values, REGISTER_SELF_PAGE_MAX, 1, NOW, &q,
					      &bad, &rule, &limit),
			 SENIM_ERR_INVALID);
	assert_int_equal(limit, 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_writes_row_and_record, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_failing_audit_leaves_no_row, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_failing_job_takes_its_entry, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_invalid_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_is_append_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_listing_filters_and_pages, setup,
						teardown),
		cmocka_unit_test(test_query_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
