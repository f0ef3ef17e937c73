/*
 * register.c — the disclosure register (register.h).
 */
#include "exchange/register.h"

#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "common/bigendian.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/banned.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define DAY_US (INT64_C(86400) * 1000000)

static const char *const directions[REGISTER_DIRECTION__COUNT] = { "out", "in" };
static const char *const outcomes[REGISTER_OUTCOME__COUNT] = { "delivered", "received",
							       "refused", "failed",
							       "abandoned" };
static const char *const params[REGISTER_P__COUNT] = {
	"subject", "recipient", "direction", "outcome", "cross_border",
	"from",	   "to",	"cursor",    "limit"
};

static int lookup(const char *const *names, int n, const char *code)
{
	if (!code)
		return -1;
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], code) == 0)
			return i;
	return -1;
}

const char *register_direction_code(int d)
{
	return d >= 0 && d < REGISTER_DIRECTION__COUNT ? directions[d] : NULL;
}

int register_direction_parse(const char *code)
{
	return lookup(directions, REGISTER_DIRECTION__COUNT, code);
}

const char *register_outcome_code(int o)
{
	return o >= 0 && o < REGISTER_OUTCOME__COUNT ? outcomes[o] : NULL;
}

int register_outcome_parse(const char *code)
{
	return lookup(outcomes, REGISTER_OUTCOME__COUNT, code);
}

const char *register_param_name(enum register_param p)
{
	return (unsigned)p < REGISTER_P__COUNT ? params[p] : NULL;
}

/* ---- writing --------------------------------------------------------------------- */

static void hash_part(crypto_generichash_state *h, const char *s)
{
	unsigned char len[4];
	size_t n = strlen(s);
	put_be32(len, (uint32_t)n);
	crypto_generichash_update(h, len, sizeof(len));
	crypto_generichash_update(h, (const unsigned char *)s, n);
}

void register_snapshot_id(const struct recipient *r,
			  unsigned char out[REGISTER_SNAPSHOT_BYTES])
{
	/* A stored format: the key of every snapshot row.  Each part is
	 * length-prefixed, so no two identities hash the same bytes. */
	static const char domain[] = "senim/recipient-snapshot/v1";
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, REGISTER_SNAPSHOT_BYTES);
	hash_part(&h, domain);
	hash_part(&h, r->code);
	hash_part(&h, recipient_kind_code(r->kind));
	hash_part(&h, r->country);
	hash_part(&h, r->registration);
	hash_part(&h, r->name_ru);
	hash_part(&h, r->name_kk);
	crypto_generichash_final(&h, out, REGISTER_SNAPSHOT_BYTES);
}

/* The rules an entry keeps beyond the table's CHECKs (register.h). */
static int entry_valid(const struct disclosure *d)
{
	const struct recipient *r = d->recipient;
	if (!d->subject_id || !r || !r->code || !r->name_ru || !r->name_kk ||
	    !r->registration || !recipient_kind_code(r->kind) || !d->service ||
	    !d->categories || !d->fields || !d->request_id || !d->actor)
		return 0;
	if (!register_direction_code((int)d->direction) ||
	    !register_outcome_code((int)d->outcome) || !purpose_code(d->purpose) ||
	    !recipient_basis_code(d->basis))
		return 0;
	/* A receipt is inbound, and inbound is only ever a receipt: a refused
	 * or failed query is an outbound entry. */
	if ((d->direction == REGISTER_IN) != (d->outcome == REGISTER_RECEIVED))
		return 0;
	if (d->basis == RECIPIENT_BASIS_LAW && (!d->legal_ref || !*d->legal_ref))
		return 0;
	return 1;
}

static const char *audit_operation(const struct disclosure *d)
{
	if (d->direction == REGISTER_IN)
		return "transfer.in";
	return d->outcome == REGISTER_REFUSED ? "transfer.refused" : "transfer.out";
}

/* The audit log's own words for the entry's fate. */
static const char *audit_outcome(enum register_outcome o)
{
	switch (o) {
	case REGISTER_DELIVERED:
	case REGISTER_RECEIVED:
		return "success";
	case REGISTER_REFUSED:
		return "denied";
	default:
		return "failed";
	}
}

static const char SQL_SNAPSHOT[] =
	"INSERT INTO recipient_snapshots"
	" (id, code, kind, country, registration, name_ru, name_kk, first_seen)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING";

static const char SQL_INSERT[] =
	"INSERT INTO disclosures (id, subject_id, at, direction, recipient,"
	" recipient_snapshot, service, categories, fields, purpose, basis, consent_id,"
	" legal_ref, cross_border, country, outcome, reason, may_have_reached,"
	" transfer_id, request_id, actor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
	" $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)";

static struct store_val text_or_null(const char *s)
{
	return s ? SV_TEXT(s) : SV_NULL();
}

/* ---- counting what committed ------------------------------------------------------ */

/* Entries committed by this process, per recipient code, direction and
 * outcome (for /metrics).  Codes come from the recipients file: at most
 * RECIPIENTS_MAX of them, so the labels stay bounded. */
static struct {
	char code[40];
	uint64_t n[REGISTER_DIRECTION__COUNT][REGISTER_OUTCOME__COUNT];
} counted[RECIPIENTS_MAX];
static size_t ncounted;
static pthread_mutex_t counted_lock = PTHREAD_MUTEX_INITIALIZER;

/* One committed entry, as queued by register_append. */
struct counted_entry {
	char code[40];
	unsigned char direction, outcome;
};

/* On the store's finisher, once the entries' batches are durable. */
static enum senim_result count_committed(void *ctx, const struct store_item *items,
					 size_t n)
{
	(void)ctx;
	pthread_mutex_lock(&counted_lock);
	for (size_t i = 0; i < n; i++) {
		const struct counted_entry *e = items[i].data;
		size_t k = 0;
		while (k < ncounted && strcmp(counted[k].code, e->code) != 0)
			k++;
		if (k == ncounted) {
			if (ncounted == RECIPIENTS_MAX)
				continue; /* a file reloaded past the bound: not counted */
			memcpy(counted[k].code, e->code, sizeof(counted[k].code));
			ncounted++;
		}
		counted[k].n[e->direction][e->outcome]++;
	}
	pthread_mutex_unlock(&counted_lock);
	return SENIM_OK;
}

enum senim_result register_metrics(struct buf *out)
{
	enum senim_result err = buf_addstr(
		out, "# HELP senim_transfers_total Disclosure register entries committed,"
		     " by recipient, direction and outcome.\n"
		     "# TYPE senim_transfers_total counter\n");
	pthread_mutex_lock(&counted_lock);
	for (size_t k = 0; k < ncounted && !err; k++)
		for (int d = 0; d < REGISTER_DIRECTION__COUNT && !err; d++)
			for (int o = 0; o < REGISTER_OUTCOME__COUNT && !err; o++)
				if (counted[k].n[d][o])
					err = buf_addf(
						out,
						"senim_transfers_total{recipient=\"%s\","
						"direction=\"%s\",outcome=\"%s\"} %llu\n",
						counted[k].code, directions[d],
						outcomes[o],
						(unsigned long long)counted[k].n[d][o]);
	pthread_mutex_unlock(&counted_lock);
	return err;
}

enum senim_result register_append(struct store_tx *tx, const struct keyring *kr,
				  const struct disclosure *d,
				  char id_out[DISCLOSURE_ID_LEN])
{
	if (!entry_valid(d)) {
		log_event(LOG_ERROR, "register_entry_invalid", NULL);
		return SENIM_ERR_INVALID;
	}
	const struct recipient *r = d->recipient;
	int64_t at = d->at ? d->at : clock_now_us();
	char id[DISCLOSURE_ID_LEN];
	_Static_assert(DISCLOSURE_ID_LEN == 4 + ID_BODY_CHARS + 1, "dsc_ + id body");
	id_time_ordered(id, "dsc_", at / 1000);
	unsigned char snap[REGISTER_SNAPSHOT_BYTES];
	register_snapshot_id(r, snap);
	int cross_border = strcmp(r->country, "KZ") != 0;

	struct store_val sv[] = { SV_BLOB(snap, sizeof(snap)),
				  SV_TEXT(r->code),
				  SV_TEXT(recipient_kind_code(r->kind)),
				  SV_TEXT(r->country),
				  SV_TEXT(r->registration),
				  SV_TEXT(r->name_ru),
				  SV_TEXT(r->name_kk),
				  SV_INT(at) };
	enum senim_result err = store_exec(tx, SQL_SNAPSHOT, sv, COUNT(sv), NULL);
	if (err)
		return err;
	struct store_val v[] = { SV_TEXT(id),
				 SV_TEXT(d->subject_id),
				 SV_INT(at),
				 SV_TEXT(directions[d->direction]),
				 SV_TEXT(r->code),
				 SV_BLOB(snap, sizeof(snap)),
				 SV_TEXT(d->service),
				 SV_TEXT(d->categories),
				 SV_TEXT(d->fields),
				 SV_TEXT(purpose_code(d->purpose)),
				 SV_TEXT(recipient_basis_code(d->basis)),
				 text_or_null(d->consent_id),
				 text_or_null(d->legal_ref),
				 SV_INT(cross_border),
				 SV_TEXT(r->country),
				 SV_TEXT(outcomes[d->outcome]),
				 text_or_null(d->reason),
				 SV_INT(d->may_have_reached ? 1 : 0),
				 text_or_null(d->transfer_id),
				 SV_TEXT(d->request_id),
				 SV_TEXT(d->actor) };
	err = store_exec(tx, SQL_INSERT, v, COUNT(v), NULL);
	if (err)
		return err;
	char object[16 + DISCLOSURE_ID_LEN];
	snprintf(object, sizeof(object), "disclosure:%s", id);
	struct audit_record rec = { .actor = d->actor,
				    .operation = audit_operation(d),
				    .object = object,
				    .subject_id = d->subject_id,
				    .categories = d->categories,
				    .purpose = purpose_code(d->purpose),
				    .outcome = audit_outcome(d->outcome),
				    .request_id = d->request_id };
	err = audit_append(tx, kr, &rec);
	if (err)
		return err;
	struct counted_entry c = { .direction = (unsigned char)d->direction,
				   .outcome = (unsigned char)d->outcome };
	snprintf(c.code, sizeof(c.code), "%s", r->code);
	err = store_tx_after_commit(tx, count_committed, NULL, &c, sizeof(c));
	if (err)
		return err;
	if (id_out)
		memcpy(id_out, id, DISCLOSURE_ID_LEN);
	return SENIM_OK;
}

/* ---- parsing a query ---------------------------------------------------------------- */

/* n digits at s as a number, or -1. */
static int digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int leap_year(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 0001-01-01 to the first of January of year y (y >= 1), in the
 * proleptic Gregorian calendar: 365 a year and one per leap year before. */
static int64_t days_before_year(int64_t y)
{
	int64_t p = y - 1;
	return 365 * p + p / 4 - p / 100 + p / 400;
}

/* Days since 1970-01-01 of the date y-m-d (valid, y >= 1). */
static int64_t days_since_epoch(int64_t y, int m, int d)
{
	static const int before[] = { 0,   31,	59,  90,  120, 151,
				      181, 212, 243, 273, 304, 334 };
	int64_t days =
		days_before_year(y) + before[m - 1] + (m > 2 && leap_year(y)) + d - 1;
	return days - days_before_year(1970);
}

static int days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && leap_year(y) ? 29 : days[m - 1];
}

/*
 * RFC 3339 date-time (section 5.6), strictly: "YYYY-MM-DDTHH:MM:SS", an
 * optional fraction of 1-9 digits (kept to the microsecond), then Z or
 * +HH:MM / -HH:MM.  A leap second (60) is refused: the register's times are
 * the server's clock, which never names one.  0, or -1.
 */
static int parse_time(const char *s, int64_t *us)
{
	size_t n = strlen(s);
	if (n < 20 || n > 35)
		return -1;
	int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	int h = digits(s + 11, 2), mi = digits(s + 14, 2), se = digits(s + 17, 2);
	if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h < 0 ||
	    h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59)
		return -1;
	const char *p = s + 19;
	int64_t frac = 0;
	if (*p == '.') {
		int nd = 0;
		p++;
		while (*p >= '0' && *p <= '9') {
			if (nd < 6)
				frac = frac * 10 + (*p - '0');
			nd++;
			p++;
		}
		if (nd < 1 || nd > 9)
			return -1;
		for (int i = nd; i < 6; i++)
			frac *= 10;
	}
	int64_t offset = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		/* digits() stops at the NUL, so nothing past the text is read. */
		int oh = digits(p + 1, 2);
		if (oh < 0 || oh > 23 || p[3] != ':')
			return -1;
		int om = digits(p + 4, 2);
		if (om < 0 || om > 59)
			return -1;
		offset = (int64_t)(oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	int64_t secs =
		days_since_epoch(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset;
	*us = secs * 1000000 + frac;
	return 0;
}

/* A non-negative decimal of at most 19 digits (no sign, no spaces). */
static int parse_u63(const char *s, size_t n, int64_t *out)
{
	if (n < 1 || n > 18)
		return -1;
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int id_valid(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(s, prefix, n) == 0 && id_body_valid(s + n);
}

/* [a-z][a-z0-9_]{1,31}, the recipients file's code. */
static int recipient_code_valid(const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || n > 32 || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_'))
			return 0;
	return 1;
}

void register_cursor_format(int64_t at, const char *id, char out[REGISTER_CURSOR_LEN])
{
	snprintf(out, REGISTER_CURSOR_LEN, "%lld.%s", (long long)at, id);
}

static int parse_cursor(const char *s, struct register_query *q)
{
	const char *dot = strchr(s, '.');
	if (!dot || parse_u63(s, (size_t)(dot - s), &q->cursor_at) ||
	    !id_valid(dot + 1, "dsc_"))
		return -1;
	memcpy(q->cursor_id, dot + 1, DISCLOSURE_ID_LEN);
	q->has_cursor = 1;
	return 0;
}

enum senim_result register_query_parse(const char *const values[REGISTER_P__COUNT],
				       size_t page_max, int periodless, int64_t now_us,
				       struct register_query *q, enum register_param *bad,
				       const char **rule, long long *limit)
{
	*q = (struct register_query){ .direction = -1,
				      .outcome = -1,
				      .cross_border = -1 };
	*limit = 0;
	const char *v;
#define REFUSE(p, r)          \
	do {                  \
		*bad = (p);   \
		*rule = (r);  \
		goto refused; \
	} while (0)
	if ((v = values[REGISTER_P_SUBJECT])) {
		if (!id_valid(v, "sbj_"))
			REFUSE(REGISTER_P_SUBJECT, "format");
		q->subject_id = v;
	}
	if ((v = values[REGISTER_P_RECIPIENT])) {
		if (!recipient_code_valid(v))
			REFUSE(REGISTER_P_RECIPIENT, "format");
		q->recipient = v;
	}
	if ((v = values[REGISTER_P_DIRECTION]) &&
	    (q->direction = register_direction_parse(v)) < 0)
		REFUSE(REGISTER_P_DIRECTION, "enum_value");
	if ((v = values[REGISTER_P_OUTCOME]) &&
	    (q->outcome = register_outcome_parse(v)) < 0)
		REFUSE(REGISTER_P_OUTCOME, "enum_value");
	if ((v = values[REGISTER_P_CROSS_BORDER])) {
		if (strcmp(v, "true") == 0)
			q->cross_border = 1;
		else if (strcmp(v, "false") == 0)
			q->cross_border = 0;
		else
			REFUSE(REGISTER_P_CROSS_BORDER, "enum_value");
	}
	int has_from = 0, has_to = 0;
	if ((v = values[REGISTER_P_FROM])) {
		if (parse_time(v, &q->from_us))
			REFUSE(REGISTER_P_FROM, "format");
		has_from = 1;
	}
	if ((v = values[REGISTER_P_TO])) {
		if (parse_time(v, &q->to_us))
			REFUSE(REGISTER_P_TO, "format");
		has_to = 1;
	}
	const int64_t period_max = REGISTER_PERIOD_MAX_DAYS * DAY_US;
	if (periodless && !has_from && !has_to) {
		q->from_us = INT64_MIN;
		q->to_us = INT64_MAX;
	} else {
		if (!has_to)
			q->to_us = now_us;
		if (!has_from)
			q->from_us = q->to_us - period_max;
		/* A period ends after it starts and spans at most a year and a
		 * day: an export is a report on a period, not a copy of the
		 * register (the store stays in Kazakhstan, L5). */
		if (q->from_us >= q->to_us || q->to_us - q->from_us > period_max) {
			*limit = REGISTER_PERIOD_MAX_DAYS;
			REFUSE(has_to ? REGISTER_P_TO : REGISTER_P_FROM, "period_length");
		}
	}
	if ((v = values[REGISTER_P_CURSOR]) && parse_cursor(v, q))
		REFUSE(REGISTER_P_CURSOR, "format");
	q->limit = page_max < 100 ? page_max : 100;
	if ((v = values[REGISTER_P_LIMIT])) {
		int64_t n;
		if (parse_u63(v, strlen(v), &n))
			REFUSE(REGISTER_P_LIMIT, "format");
		if (n < 1) {
			*limit = 1;
			REFUSE(REGISTER_P_LIMIT, "min_value");
		}
		if ((uint64_t)n > page_max) {
			*limit = (long long)page_max;
			REFUSE(REGISTER_P_LIMIT, "max_value");
		}
		q->limit = (size_t)n;
	}
#undef REFUSE
	return SENIM_OK;
refused:
	return SENIM_ERR_INVALID;
}

/* ---- reading ------------------------------------------------------------------------ */

/* The filters every listing shares; the leading condition picks the index
 * (disclosures_by_subject, _by_recipient, _by_time). */
#define LIST_COLUMNS                                                              \
	"SELECT d.id, d.at, d.subject_id, d.direction, d.recipient, d.service,"   \
	" d.categories, d.fields, d.purpose, d.basis, d.consent_id, d.legal_ref," \
	" d.cross_border, d.country, d.outcome, d.reason, d.may_have_reached,"    \
	" d.transfer_id, d.request_id, d.actor, s.kind, s.name_ru, s.name_kk"     \
	" FROM disclosures d JOIN recipient_snapshots s ON s.id = d.recipient_snapshot"
#define LIST_FILTERS                                                                  \
	" AND (CAST($3 AS TEXT) IS NULL OR d.direction = $3)"                         \
	" AND (CAST($4 AS TEXT) IS NULL OR d.outcome = $4)"                           \
	" AND (CAST($5 AS BIGINT) IS NULL OR d.cross_border = $5)"                    \
	" AND d.at >= $6 AND d.at < $7"                                               \
	" AND (CAST($8 AS BIGINT) IS NULL OR d.at < $8 OR (d.at = $8 AND d.id < $9))" \
	" ORDER BY d.at DESC, d.id DESC LIMIT $10"

static const char SQL_BY_SUBJECT[] =
	LIST_COLUMNS " WHERE d.subject_id = $1"
		     " AND (CAST($2 AS TEXT) IS NULL OR d.recipient = $2)" LIST_FILTERS;
static const char SQL_BY_RECIPIENT[] =
	LIST_COLUMNS " WHERE d.recipient = $2"
		     " AND (CAST($1 AS TEXT) IS NULL OR d.subject_id = $1)" LIST_FILTERS;
static const char SQL_BY_TIME[] =
	LIST_COLUMNS " WHERE (CAST($1 AS TEXT) IS NULL OR d.subject_id = $1)"
		     " AND (CAST($2 AS TEXT) IS NULL OR d.recipient = $2)" LIST_FILTERS;

static const char *col_text(struct store_rows *r, int col)
{
	return store_rows_is_null(r, col) ? NULL : store_rows_text(r, col, NULL);
}

enum senim_result register_list(struct store_tx *tx, const struct register_query *q,
				size_t max, register_entry_fn fn, void *ctx,
				size_t *count)
{
	*count = 0;
	const char *sql = q->subject_id	 ? SQL_BY_SUBJECT
			  : q->recipient ? SQL_BY_RECIPIENT
					 : SQL_BY_TIME;
	struct store_val v[] = {
		text_or_null(q->subject_id),
		text_or_null(q->recipient),
		text_or_null(register_direction_code(q->direction)),
		text_or_null(register_outcome_code(q->outcome)),
		q->cross_border < 0 ? SV_NULL() : SV_INT(q->cross_border),
		SV_INT(q->from_us),
		SV_INT(q->to_us),
		q->has_cursor ? SV_INT(q->cursor_at) : SV_NULL(),
		q->has_cursor ? SV_TEXT(q->cursor_id) : SV_NULL(),
		SV_INT(max > INT64_MAX ? INT64_MAX : (int64_t)max),
	};
	struct store_rows *r = NULL;
	enum senim_result err = store_query(tx, sql, v, COUNT(v), &r);
	if (err)
		return err;
	int has;
	while ((err = store_rows_next(r, &has)) == SENIM_OK && has) {
		struct register_entry e = {
			.id = col_text(r, 0),
			.at = store_rows_int(r, 1),
			.subject_id = col_text(r, 2),
			.direction = register_direction_parse(col_text(r, 3)),
			.recipient = col_text(r, 4),
			.service = col_text(r, 5),
			.categories = col_text(r, 6),
			.fields = col_text(r, 7),
			.purpose = col_text(r, 8),
			.basis = col_text(r, 9),
			.consent_id = col_text(r, 10),
			.legal_ref = col_text(r, 11),
			.cross_border = store_rows_int(r, 12) != 0,
			.country = col_text(r, 13),
			.outcome = register_outcome_parse(col_text(r, 14)),
			.reason = col_text(r, 15),
			.may_have_reached = store_rows_int(r, 16) != 0,
			.transfer_id = col_text(r, 17),
			.request_id = col_text(r, 18),
			.actor = col_text(r, 19),
			.snapshot_kind = col_text(r, 20),
			.snapshot_name_ru = col_text(r, 21),
			.snapshot_name_kk = col_text(r, 22),
		};
		err = fn(&e, ctx);
		if (err)
			break;
		(*count)++;
	}
	store_rows_free(r);
	return err;
}

static const char SQL_PENDING[] =
	"SELECT id, created_at, recipient, service, purpose, categories, fields, state"
	" FROM transfers WHERE subject_id = $1 AND state IN ('pending', 'sending')"
	" ORDER BY created_at DESC, id DESC LIMIT $2";

enum senim_result register_in_progress(struct store_tx *tx, const char *subject_id,
				       size_t max, register_pending_fn fn, void *ctx)
{
	struct store_val v[] = { SV_TEXT(subject_id),
				 SV_INT(max > INT64_MAX ? INT64_MAX : (int64_t)max) };
	struct store_rows *r = NULL;
	enum senim_result err = store_query(tx, SQL_PENDING, v, COUNT(v), &r);
	if (err)
		return err;
	int has;
	while ((err = store_rows_next(r, &has)) == SENIM_OK && has) {
		struct register_pending p = { .id = col_text(r, 0),
					      .created_at = store_rows_int(r, 1),
					      .recipient = col_text(r, 2),
					      .service = col_text(r, 3),
					      .purpose = col_text(r, 4),
					      .categories = col_text(r, 5),
					      .fields = col_text(r, 6),
					      .state = col_text(r, 7) };
		err = fn(&p, ctx);
		if (err)
			break;
	}
	store_rows_free(r);
	return err;
}

/* ---- the listing ---------------------------------------------------------------------- */

static enum senim_result listing_walk(struct store_tx *tx, void *arg)
{
	struct register_listing *op = arg;
	enum senim_result err =
		register_list(tx, &op->query, op->max, op->each, op->ctx, &op->count);
	if (err || !op->pending)
		return err;
	/* What is under way: at most as many as a page of the register. */
	return register_in_progress(tx, op->query.subject_id, REGISTER_SELF_PAGE_MAX,
				    op->pending, op->ctx);
}

enum senim_result register_listing_prepare(struct store *st, struct register_listing *op)
{
	op->count = 0;
	if (op->pending && !op->query.subject_id)
		return SENIM_ERR_INVALID;
	return store_read(st, listing_walk, op);
}

enum senim_result register_listing_tx(struct store_tx *tx, void *arg)
{
	struct register_listing *op = arg;
	char object[160];
	if (op->self)
		snprintf(object, sizeof(object), "disclosures:%s", op->query.subject_id);
	else
		snprintf(object, sizeof(object), "disclosures?%s",
			 op->filters ? op->filters : "");
	struct audit_record rec = { .actor = op->actor,
				    .operation = op->self ? "disclosure.self_list"
							  : "disclosure.list",
				    .object = object,
				    .subject_id = op->query.subject_id,
				    .categories = "",
				    .purpose = "legal_obligation",
				    .outcome = "success",
				    .request_id = op->request_id };
	return audit_append(tx, op->kr, &rec);
}
