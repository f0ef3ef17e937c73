/*
 * retention.c (subjects) — the retention run and legal holds (retention.h).
 *
 * The run pages through subjects by id; each page is one write transaction
 * that decides and acts, so a loan opened between the decision and the act
 * cannot slip through (the decision reads inside the writer).  The dry run
 * decides the same way in read transactions and changes nothing.
 */
#include "subjects/retention.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit/audit.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/textconf.h"
#include "subjects/subjects.h"
#include "vault/shred.h"
#include "vault/vault.h"
#include "common/banned.h"

#define ID_MAX 64
/* Days in Kazakhstan (UTC+5), as end of day counts them. */
static int32_t day_of_seconds(int64_t s)
{
	return clock_kz_day(s * 1000000);
}

/* ---- one subject's state ---------------------------------------------------------- */

struct facts {
	enum retention_state state;
	int none;	 /* no clock runs */
	int32_t start;	 /* the day the clock started */
	int held;	 /* an open legal hold */
	int32_t stopped; /* days lifted holds kept the clock stopped */
	int64_t applications, declined, loans, principal, written_off, max_overdue;
	uint32_t has_records; /* CATEGORY_BIT of categories with records or
			       * source rows */
	int unknown_sources;  /* a source row whose categories are not known */
	uint32_t purged;      /* CATEGORY_BIT of categories purged already */
};

static enum senim_result query_int(struct store_tx *tx, const char *sql, const char *id,
				   int64_t out[], int n)
{
	struct store_rows *r;
	enum senim_result err =
		store_query_one(tx, sql, (struct store_val[]){ SV_TEXT(id) }, 1, &r);
	if (err)
		return err;
	for (int i = 0; i < n; i++)
		out[i] = store_rows_is_null(r, i) ? -1 : store_rows_int(r, i);
	store_rows_free(r);
	return SENIM_OK;
}

static enum senim_result facts_of(struct store_tx *tx, const char *id, struct facts *f)
{
	memset(f, 0, sizeof(*f));
	int64_t v[6];
	/* Loans: updated_at is in milliseconds. */
	enum senim_result err = query_int(
		tx,
		"SELECT COUNT(*), SUM(CASE WHEN status <> 'closed' THEN 1 ELSE 0 END),"
		" MAX(updated_at), COALESCE(SUM(principal), 0), "
		"COALESCE(MAX(overdue_days), 0)"
		" FROM loans WHERE subject_id = $1",
		id, v, 5);
	if (err)
		return err;
	f->loans = v[0];
	f->principal = v[3];
	f->max_overdue = v[4];
	int open = v[1] > 0;
	int64_t loan_at_ms = v[2];
	err = query_int(tx,
			"SELECT COUNT(*) FROM loan_events WHERE subject_id = $1"
			" AND event = 'written_off'",
			id, v, 1);
	if (err)
		return err;
	f->written_off = v[0];
	err = query_int(tx,
			"SELECT COUNT(*) FROM obligations WHERE subject_id = $1"
			" AND status = 'open'",
			id, v, 1);
	if (err)
		return err;
	open |= v[0] > 0;
	/* Applications: microseconds; one in progress is a relation still open. */
	err = query_int(
		tx,
		"SELECT COUNT(*), SUM(CASE WHEN state = 'declined' THEN 1 ELSE 0 END),"
		" SUM(CASE WHEN state IN ('declined', 'withdrawn') THEN 0 ELSE 1 END),"
		" MAX(updated_at) FROM applications WHERE subject_id = $1",
		id, v, 4);
	if (err)
		return err;
	f->applications = v[0];
	f->declined = v[1] < 0 ? 0 : v[1];
	int64_t app_at_us = v[3];
	/* An application disbursed made a loan, which says the rest. */
	int64_t in_progress = v[2] < 0 ? 0 : v[2];
	err = query_int(tx,
			"SELECT SUM(CASE WHEN state = 'disbursed' THEN 1 ELSE 0 END)"
			" FROM applications WHERE subject_id = $1",
			id, v, 1);
	if (err)
		return err;
	if (v[0] > 0)
		in_progress -= v[0];
	open |= in_progress > 0;
	err = query_int(
		tx,
		"SELECT COUNT(*), SUM(CASE WHEN withdrawn_at IS NULL THEN 1 ELSE 0 END),"
		" MAX(withdrawn_at) FROM consents WHERE subject_id = $1",
		id, v, 3);
	if (err)
		return err;
	if (open) {
		f->state = RETENTION_OPEN_LOAN;
	} else if (f->loans > 0) {
		f->state = RETENTION_LOAN_CLOSED;
		f->start = day_of_seconds(loan_at_ms / 1000);
	} else if (f->applications > 0) {
		f->state = RETENTION_APPLICANT_REFUSED;
		f->start = day_of_seconds(app_at_us / 1000000);
	} else if (v[0] > 0 && v[1] == 0) {
		f->state = RETENTION_CONSENT_WITHDRAWN;
		f->start = day_of_seconds(v[2] / 1000000);
	} else {
		f->none = 1;
	}
	/* Holds: microseconds. */
	struct store_rows *r;
	err = store_query(
		tx, "SELECT set_at, lifted_at FROM legal_holds WHERE subject_id = $1",
		(struct store_val[]){ SV_TEXT(id) }, 1, &r);
	if (err)
		return err;
	int has;
	while ((err = store_rows_next(r, &has)) == SENIM_OK && has) {
		if (store_rows_is_null(r, 1)) {
			f->held = 1;
			continue;
		}
		int32_t from = day_of_seconds(store_rows_int(r, 0) / 1000000);
		int32_t to = day_of_seconds(store_rows_int(r, 1) / 1000000);
		if (from < f->start)
			from = f->start;
		if (to > from)
			f->stopped += to - from;
	}
	store_rows_free(r);
	if (err)
		return err;
	/* D7: the categories of the records and of the source rows (a state
	 * database's answer may hold medical data no record has), in one
	 * query.  A source row kept before migration 27 has NULL: the run
	 * opens it (fill_sources). */
	err = store_query(
		tx,
		"SELECT category FROM subject_records WHERE subject_id = $1"
		" UNION SELECT categories FROM subject_sources WHERE subject_id = $1",
		(struct store_val[]){ SV_TEXT(id) }, 1, &r);
	if (err)
		return err;
	while ((err = store_rows_next(r, &has)) == SENIM_OK && has) {
		if (store_rows_is_null(r, 0))
			f->unknown_sources = 1;
		else
			f->has_records |=
				category_mask_parse(store_rows_text(r, 0, NULL));
	}
	store_rows_free(r);
	if (err)
		return err;
	err = store_query(tx,
			  "SELECT category FROM retention_purges WHERE subject_id = $1",
			  (struct store_val[]){ SV_TEXT(id) }, 1, &r);
	if (err)
		return err;
	while ((err = store_rows_next(r, &has)) == SENIM_OK && has) {
		int c = category_parse(store_rows_text(r, 0, NULL));
		if (c >= 0)
			f->purged |= CATEGORY_BIT(c);
	}
	store_rows_free(r);
	return err;
}

/* ---- a legal keeping period ------------------------------------------------------ */

enum senim_result retention_keeping_tx(struct store_tx *tx,
				       const struct retention_rules *rules,
				       const char *subject_id, int32_t day,
				       const char **minimum)
{
	*minimum = NULL;
	struct facts f;
	enum senim_result err = facts_of(tx, subject_id, &f);
	if (err || f.none || f.state == RETENTION_OPEN_LOAN)
		return err;
	if (!rules) {
		if (f.state != RETENTION_CONSENT_WITHDRAWN)
			*minimum = "unknown";
		return SENIM_OK;
	}
	for (int c = 0; c < CATEGORY__COUNT; c++) {
		const struct retention_minimum *m = rules->entry[f.state][c].minimum;
		if (!(f.has_records & CATEGORY_BIT(c)) || (f.purged & CATEGORY_BIT(c)) ||
		    !m || (m->period.unit != RETENTION_OPEN && m->period.n <= 0))
			continue;
		if (m->period.unit == RETENTION_OPEN ||
		    day < retention_period_end(f.start, m->period) + f.stopped) {
			*minimum = m->name;
			return SENIM_OK;
		}
	}
	return SENIM_OK;
}

/* ---- source rows kept before their categories were ----------------------------------- */

/* Open the subject's source rows with no categories (kept before migration
 * 28), add theirs to f and, unless `dry`, write them down, so each is
 * opened once.  A subject with no key any more has nothing readable. */
static enum senim_result fill_sources(struct store_tx *tx, const struct keyring *kr,
				      const char *id, int dry, struct facts *f)
{
	struct vault_dek *dek = NULL;
	enum senim_result err = vault_dek_load(tx, kr, id, &dek);
	if (err == SENIM_ERR_NOT_FOUND)
		return SENIM_OK;
	if (err)
		return err;
	struct store_rows *r;
	err = store_query(tx,
			  "SELECT id, sealed FROM subject_sources WHERE subject_id = $1"
			  " AND categories IS NULL",
			  (struct store_val[]){ SV_TEXT(id) }, 1, &r);
	if (err)
		goto fail;
	/* Decided while reading, written after: one statement at a time. */
	struct fill {
		char id[ID_MAX + 1];
		uint32_t mask;
	} *fills = NULL;
	size_t n = 0, cap = 0;
	int has;
	while ((err = store_rows_next(r, &has)) == SENIM_OK && has) {
		size_t len, blen;
		const char *sid = store_rows_text(r, 0, &len);
		const void *blob = store_rows_blob(r, 1, &blen);
		json_t *fields = NULL;
		if (len > ID_MAX)
			continue;
		err = vault_open_record(dek, id, "source", 0, blob, blen, &fields);
		if (err)
			break;
		uint32_t mask = 0;
		const char *key;
		json_t *value;
		json_object_foreach(fields, key, value)
		{
			int c = category_of_key(key);
			if (c >= 0)
				mask |= CATEGORY_BIT(c);
		}
		json_decref(fields); /* the wiping allocator clears it */
		f->has_records |= mask;
		if (n == cap) {
			cap = cap ? 2 * cap : 4;
			struct fill *g = realloc(fills, cap * sizeof(*g));
			if (!g) {
				err = SENIM_ERR_NOMEM;
				break;
			}
			fills = g;
		}
		memcpy(fills[n].id, sid, len);
		fills[n].id[len] = '\0';
		fills[n++].mask = mask;
	}
	store_rows_free(r);
	for (size_t i = 0; i < n && !err && !dry; i++) {
		char cats[128];
		category_mask_text(fills[i].mask, cats, sizeof(cats));
		err = store_exec(
			tx, "UPDATE subject_sources SET categories = $2 WHERE id = $1",
			(struct store_val[]){ SV_TEXT(fills[i].id), SV_TEXT(cats) }, 2,
			NULL);
	}
	free(fills);
fail:
	vault_dek_free(dek);
	return err;
}

/* ---- what is due ------------------------------------------------------------------------ */

struct due {
	uint32_t purge; /* CATEGORY_BIT of categories to delete now */
	int shred;	/* the subject's end has come */
	enum shred_mode mode;
};

static void due_of(const struct retention_rules *rules, const struct facts *f,
		   int32_t day, struct due *d)
{
	memset(d, 0, sizeof(*d));
	if (f->none || f->held || f->state == RETENTION_OPEN_LOAN)
		return;
	int32_t last = INT32_MIN;
	const struct retention_entry *longest = NULL;
	for (int c = 0; c < CATEGORY__COUNT; c++) {
		const struct retention_entry *e = &rules->entry[f->state][c];
		int32_t end = retention_period_end(f->start, e->period) + f->stopped;
		if (end > last || (end == last && e->action == RETENTION_ANONYMISE)) {
			last = end;
			longest = e;
		}
		if (day >= end && e->action == RETENTION_DESTROY &&
		    (f->has_records & CATEGORY_BIT(c)) && !(f->purged & CATEGORY_BIT(c)))
			d->purge |= CATEGORY_BIT(c);
	}
	if (longest && day >= last) {
		d->shred = 1;
		d->purge = 0; /* the shredding takes every category at once */
		d->mode = longest->action == RETENTION_ANONYMISE ? SHRED_ANONYMISE
								 : SHRED_DESTROY;
	}
}

/* ---- acting ----------------------------------------------------------------------------------- */

static const char *age_band(int years)
{
	if (years < 25)
		return "18-24";
	if (years < 35)
		return "25-34";
	if (years < 45)
		return "35-44";
	if (years < 55)
		return "45-54";
	if (years < 65)
		return "55-64";
	return "65+";
}

/* The age band at `day` from the identity record's birth date, or NULL
 * (no key, no record, no date).  The date itself is wiped at once. */
static enum senim_result band_of(struct store_tx *tx, const struct keyring *kr,
				 const char *id, int32_t day, const char **band)
{
	*band = NULL;
	struct vault_dek *dek = NULL;
	enum senim_result err = vault_dek_load(tx, kr, id, &dek);
	if (err == SENIM_ERR_NOT_FOUND || err == SENIM_ERR_CRYPTO)
		return SENIM_OK;
	if (err)
		return err;
	json_t *fields = NULL;
	err = subjects_latest_fields_in(tx, dek, id, CATEGORY_IDENTITY, &fields);
	vault_dek_free(dek);
	if (err == SENIM_ERR_CRYPTO)
		err = SENIM_OK;
	if (err || !fields)
		goto fail;
	const char *bd = json_string_value(json_object_get(fields, "birth_date"));
	int32_t born;
	if (bd && textconf_date(bd, strlen(bd), &born) && born <= day) {
		int by, bm, bdd, y, m, d;
		textconf_civil_from_days(born, &by, &bm, &bdd);
		textconf_civil_from_days(day, &y, &m, &d);
		int years = y - by - ((m < bm || (m == bm && d < bdd)) ? 1 : 0);
		*band = age_band(years);
	}
fail:
	json_decref(fields); /* the wiping allocator clears the date */
	return err;
}

static void categories_text(uint32_t mask, char *out, size_t size)
{
	size_t n = 0;
	out[0] = '\0';
	for (int c = 0; c < CATEGORY__COUNT; c++)
		if (mask & CATEGORY_BIT(c))
			n += (size_t)snprintf(out + n, n < size ? size - n : 0, "%s%s",
					      n ? "," : "", category_code(c));
}

static enum senim_result audit(struct store_tx *tx, const struct retention_run *op,
			       const char *operation, const char *id, const char *cats)
{
	char object[ID_MAX + 16];
	snprintf(object, sizeof(object), "subject:%s", id);
	struct audit_record rec = { .actor = op->actor,
				    .operation = operation,
				    .object = object,
				    .subject_id = id,
				    .categories = cats,
				    .purpose = "legal_obligation",
				    .outcome = "success",
				    .request_id = op->request_id };
	return audit_append(tx, op->kr, &rec);
}

static enum senim_result purge(struct store_tx *tx, struct retention_run *op,
			       const char *id, uint32_t mask)
{
	int64_t now = clock_now_us();
	for (int c = 0; c < CATEGORY__COUNT; c++) {
		if (!(mask & CATEGORY_BIT(c)))
			continue;
		int64_t n;
		enum senim_result err =
			shred_category_tx(tx, op->kr, id, category_code(c), &n);
		if (!err)
			err = store_exec(
				tx,
				"INSERT INTO retention_purges (subject_id, category,"
				" run_day, done_at) VALUES ($1, $2, $3, $4)",
				(struct store_val[]){ SV_TEXT(id),
						      SV_TEXT(category_code(c)),
						      SV_INT(op->day), SV_INT(now) },
				4, NULL);
		if (!err)
			err = audit(tx, op, "retention.purge", id, category_code(c));
		if (err)
			return err;
		op->purged++;
	}
	return SENIM_OK;
}

static enum senim_result shred(struct store_tx *tx, struct retention_run *op,
			       const char *id, const struct facts *f,
			       enum shred_mode mode)
{
	int64_t now = clock_now_us();
	enum senim_result err = SENIM_OK;
	if (mode == SHRED_ANONYMISE) {
		/* The facts first, while the key can still read the birth date. */
		const char *band = NULL;
		err = band_of(tx, op->kr, id, op->day, &band);
		if (err)
			return err;
		char sid[40];
		id_time_ordered(sid, "rst_", now / 1000);
		err = store_exec(
			tx,
			"INSERT INTO retention_stats (id, run_day, state, age_band,"
			" applications, declined, loans, principal_tiyn, written_off,"
			" max_overdue_days) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
			"$10)",
			(struct store_val[]){
				SV_TEXT(sid), SV_INT(op->day),
				SV_TEXT(retention_state_code(f->state)),
				band ? SV_TEXT(band) : SV_NULL(), SV_INT(f->applications),
				SV_INT(f->declined), SV_INT(f->loans),
				SV_INT(f->principal), SV_INT(f->written_off),
				SV_INT(f->max_overdue) },
			10, NULL);
		if (err)
			return err;
	}
	struct shred_counts counts;
	err = shred_subject_tx(tx, id, mode, &counts);
	if (err)
		return err;
	/* C3: the consents end with the periods; the ledger keeps the row. */
	char receipt[128];
	snprintf(receipt, sizeof(receipt), "{\"ended_by\":\"retention\",\"run\":\"%s\"}",
		 op->request_id);
	int64_t ended = 0;
	err = store_exec(
		tx,
		"UPDATE consents SET withdrawn_at = $2, withdrawal_receipt = $3"
		" WHERE subject_id = $1 AND withdrawn_at IS NULL",
		(struct store_val[]){ SV_TEXT(id), SV_INT(now), SV_TEXT(receipt) }, 3,
		&ended);
	if (err)
		return err;
	op->consents_ended += (size_t)ended;
	err = store_exec(
		tx,
		"INSERT INTO retention_done (subject_id, state, action, run_day,"
		" done_at, request_id) VALUES ($1, $2, $3, $4, $5, $6)",
		(struct store_val[]){
			SV_TEXT(id), SV_TEXT(retention_state_code(f->state)),
			SV_TEXT(mode == SHRED_DESTROY ? "destroyed" : "anonymised"),
			SV_INT(op->day), SV_INT(now), SV_TEXT(op->request_id) },
		6, NULL);
	if (err)
		return err;
	char cats[128];
	categories_text(f->has_records, cats, sizeof(cats));
	err = audit(tx, op,
		    mode == SHRED_DESTROY ? "retention.destroy" : "retention.anonymise",
		    id, cats);
	if (err)
		return err;
	if (mode == SHRED_DESTROY)
		op->destroyed++;
	else
		op->anonymised++;
	return SENIM_OK;
}

/* ---- the pages --------------------------------------------------------------------------- */

struct page {
	struct retention_run *op;
	char cursor[ID_MAX + 1];
	char (*ids)[ID_MAX + 1];
	size_t n;
	int done; /* no subject after the cursor */
	/* the page's shredding in the journal (vault/shred.h) */
	char token[SHRED_TOKEN_LEN];
	int journaled;
};

static enum senim_result load_page(struct store_tx *tx, struct page *p)
{
	struct store_rows *r;
	p->n = 0;
	enum senim_result err = store_query(
		tx,
		"SELECT id FROM subjects WHERE id > $1 AND id NOT IN"
		" (SELECT subject_id FROM retention_done) ORDER BY id LIMIT $2",
		(struct store_val[]){ SV_TEXT(p->cursor), SV_INT((int64_t)p->op->chunk) },
		2, &r);
	if (err)
		return err;
	int has;
	while ((err = store_rows_next(r, &has)) == SENIM_OK && has) {
		size_t len;
		const char *id = store_rows_text(r, 0, &len);
		if (len > ID_MAX)
			continue; /* not an id this code made */
		memcpy(p->ids[p->n], id, len);
		p->ids[p->n][len] = '\0';
		p->n++;
	}
	store_rows_free(r);
	if (!err && p->n < p->op->chunk)
		p->done = 1;
	return err;
}

static void report(struct retention_run *op, const char *id, enum retention_state st,
		   const char *what)
{
	if (!op->step)
		return;
	struct retention_step s = { .subject_id = id, .state = st, .what = what };
	op->step(&s, op->ctx);
}

static enum senim_result page_work(struct store_tx *tx, struct page *p);

static enum senim_result page_fn(struct store_tx *tx, void *ctx)
{
	struct page *p = ctx;
	p->journaled = 0;
	shred_token_new(p->token);
	enum senim_result err = page_work(tx, p);
	/* The page's work failed after its intents were written: it rolls
	 * back, and a restore must not shred its subjects (vault/shred.h). */
	if (err && p->journaled)
		shred_journal_rolled_back(p->op->journal, p->token);
	return err;
}

static enum senim_result page_work(struct store_tx *tx, struct page *p)
{
	struct retention_run *op = p->op;
	enum senim_result err = load_page(tx, p);
	if (err)
		return err;
	struct facts *f = calloc(p->n ? p->n : 1, sizeof(*f));
	struct due *d = calloc(p->n ? p->n : 1, sizeof(*d));
	const char **shred_ids = calloc(p->n ? p->n : 1, sizeof(*shred_ids));
	if (!f || !d || !shred_ids) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	size_t nshred[2] = { 0, 0 };
	for (size_t i = 0; i < p->n && !err; i++) {
		err = facts_of(tx, p->ids[i], &f[i]);
		if (!err && f[i].unknown_sources)
			err = fill_sources(tx, op->kr, p->ids[i], op->dry_run, &f[i]);
		if (!err)
			due_of(op->rules, &f[i], op->day, &d[i]);
	}
	if (err)
		goto fail;
	/* The journal before any key goes: one append per mode. */
	for (int m = SHRED_ANONYMISE; m <= SHRED_DESTROY && !op->dry_run; m++) {
		size_t k = 0;
		for (size_t i = 0; i < p->n; i++)
			if (d[i].shred && d[i].mode == (enum shred_mode)m)
				shred_ids[k++] = p->ids[i];
		nshred[m] = k;
		if (k)
			err = shred_journal_append(op->journal, shred_ids, k,
						   (enum shred_mode)m,
						   clock_now_us() / 1000000, p->token);
		if (err)
			goto fail;
		if (k && !p->journaled) {
			p->journaled = 1;
			/* `committed` once the page's COMMIT is durable. */
			err = shred_journal_commit_tx(tx, op->journal, p->token);
			if (err)
				goto fail;
		}
	}
	for (size_t i = 0; i < p->n && !err; i++) {
		op->subjects++;
		if (f[i].held) {
			op->held++;
			report(op, p->ids[i], f[i].state, "held");
			continue;
		}
		if (!f[i].none && f[i].state == RETENTION_OPEN_LOAN)
			op->open++;
		if (d[i].shred) {
			report(op, p->ids[i], f[i].state, shred_mode_code(d[i].mode));
			if (op->dry_run && d[i].mode == SHRED_DESTROY)
				op->destroyed++;
			else if (op->dry_run)
				op->anonymised++;
			else
				err = shred(tx, op, p->ids[i], &f[i], d[i].mode);
		} else if (d[i].purge) {
			for (int c = 0; c < CATEGORY__COUNT; c++)
				if (d[i].purge & CATEGORY_BIT(c)) {
					char what[48];
					snprintf(what, sizeof(what), "purge %s",
						 category_code(c));
					report(op, p->ids[i], f[i].state, what);
					if (op->dry_run)
						op->purged++;
				}
			if (!op->dry_run)
				err = purge(tx, op, p->ids[i], d[i].purge);
		}
	}
	if (!err && p->n)
		memcpy(p->cursor, p->ids[p->n - 1], sizeof(p->cursor));
	(void)nshred;
fail:
	free(f);
	free(d);
	free(shred_ids);
	return err;
}

enum senim_result retention_run(struct store *st, struct retention_run *op)
{
	if (op->chunk < 1 || op->chunk > RETENTION_CHUNK_MAX)
		return SENIM_ERR_INVALID;
	struct page p = { .op = op };
	p.ids = calloc(op->chunk, sizeof(*p.ids));
	if (!p.ids)
		return SENIM_ERR_NOMEM;
	enum senim_result err = SENIM_OK;
	while (!p.done && !err) {
		/* A failed page leaves the counters as they were before it. */
		struct retention_run before = *op;
		err = op->dry_run ? store_read(st, page_fn, &p)
				  : store_write(st, page_fn, &p);
		if (err) {
			*op = before;
			break;
		}
		if (op->progress)
			op->progress(op->subjects, op->ctx);
	}
	free(p.ids);
	return err;
}

/* ---- legal holds ---------------------------------------------------------------------------- */

static const char *const hold_codes[HOLD_KIND__COUNT] = { "investigation", "court",
							  "regulator" };

const char *hold_kind_code(enum hold_kind k)
{
	return (int)k >= 0 && k < HOLD_KIND__COUNT ? hold_codes[k] : NULL;
}

int hold_kind_parse(const char *code)
{
	for (int i = 0; i < HOLD_KIND__COUNT; i++)
		if (strcmp(hold_codes[i], code) == 0)
			return i;
	return -1;
}

int hold_reference_valid(const char *ref)
{
	size_t n = strlen(ref);
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = ref[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '/' || c == '.' || c == '_' ||
		      c == '-'))
			return 0;
	}
	return 1;
}

static enum senim_result hold_audit(struct store_tx *tx, const struct hold_op *h,
				    const char *operation, const char *outcome)
{
	char object[64];
	if (h->hold_id[0])
		snprintf(object, sizeof(object), "hold:%s", h->hold_id);
	else
		snprintf(object, sizeof(object), "subject:%s", h->subject_id);
	struct audit_record rec = { .actor = h->actor,
				    .operation = operation,
				    .object = object,
				    .subject_id = h->subject_id,
				    .categories = "",
				    .purpose = "legal_obligation",
				    .outcome = outcome,
				    .request_id = h->request_id };
	return audit_append(tx, h->kr, &rec);
}

static enum senim_result open_hold(struct store_tx *tx, struct hold_op *h)
{
	struct store_rows *r;
	enum senim_result err = store_query_one(
		tx,
		"SELECT id FROM legal_holds WHERE subject_id = $1 AND lifted_at IS NULL",
		(struct store_val[]){ SV_TEXT(h->subject_id) }, 1, &r);
	if (err)
		return err;
	size_t len;
	const char *id = store_rows_text(r, 0, &len);
	snprintf(h->hold_id, sizeof(h->hold_id), "%.*s", (int)len, id);
	store_rows_free(r);
	return SENIM_OK;
}

enum senim_result hold_set_tx(struct store_tx *tx, void *ctx)
{
	struct hold_op *h = ctx;
	struct store_rows *r;
	enum senim_result err =
		store_query_one(tx, "SELECT id FROM subjects WHERE id = $1",
				(struct store_val[]){ SV_TEXT(h->subject_id) }, 1, &r);
	if (err)
		return err;
	store_rows_free(r);
	err = open_hold(tx, h);
	if (err == SENIM_OK) {
		h->refused = HOLD_EXISTS;
		return hold_audit(tx, h, "retention.hold.set", "unchanged");
	}
	if (err != SENIM_ERR_NOT_FOUND)
		return err;
	int64_t now = clock_now_us();
	id_time_ordered(h->hold_id, "hld_", now / 1000);
	err = store_exec(
		tx,
		"INSERT INTO legal_holds (id, subject_id, kind, reference, set_by,"
		" set_at, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
		(struct store_val[]){ SV_TEXT(h->hold_id), SV_TEXT(h->subject_id),
				      SV_TEXT(hold_kind_code(h->kind)),
				      SV_TEXT(h->reference), SV_TEXT(h->actor),
				      SV_INT(now), SV_TEXT(h->request_id) },
		7, NULL);
	return err ? err : hold_audit(tx, h, "retention.hold.set", "success");
}

enum senim_result hold_lift_tx(struct store_tx *tx, void *ctx)
{
	struct hold_op *h = ctx;
	enum senim_result err = open_hold(tx, h);
	if (err == SENIM_ERR_NOT_FOUND) {
		h->refused = HOLD_NONE;
		return hold_audit(tx, h, "retention.hold.lift", "not_found");
	}
	if (err)
		return err;
	err = store_exec(
		tx, "UPDATE legal_holds SET lifted_at = $2, lifted_by = $3 WHERE id = $1",
		(struct store_val[]){ SV_TEXT(h->hold_id), SV_INT(clock_now_us()),
				      SV_TEXT(h->actor) },
		3, NULL);
	return err ? err : hold_audit(tx, h, "retention.hold.lift", "success");
}
