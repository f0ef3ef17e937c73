/*
 * requests.c — data-subject rights requests (requests.h): filing with the
 * legal deadline, the borrower's and the DPO's reads, assignment and
 * answer with history, the block or restriction an answer sets, metrics.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/utf8.h"
#include "core/categories.h"
#include "rights/package.h"
#include "rights/requests.h"
#include "subjects/retention.h"
#include "subjects/subjects.h"
#include "vault/shred.h"
#include "vault/vault.h"
#include "common/banned.h"

/* The category and field a question's text is sealed under (vault.h). */
#define TEXT_CATEGORY "rights_request"
/* The category and fields a released access package is sealed under. */
#define PACKAGE_CATEGORY "rights_package"

static const struct {
	const char *code;
	int days; /* working days to answer: docs/rights.md */
} types[REQUEST_TYPE__COUNT] = {
	[REQUEST_ACCESS] = { "access", 3 },
	[REQUEST_CORRECTION] = { "correction", 1 },
	[REQUEST_BLOCKING] = { "blocking", 1 },
	[REQUEST_UNBLOCKING] = { "unblocking", 1 },
	[REQUEST_RESTRICTION] = { "restriction", 1 },
	[REQUEST_UNRESTRICTION] = { "unrestriction", 1 },
	[REQUEST_DESTRUCTION] = { "destruction", 1 },
	[REQUEST_QUESTION] = { "question", 15 },
};

const char *request_type_code(enum request_type t)
{
	return (unsigned)t < REQUEST_TYPE__COUNT ? types[t].code : NULL;
}

int request_type_parse(const char *code)
{
	for (int t = 0; code && t < REQUEST_TYPE__COUNT; t++)
		if (strcmp(types[t].code, code) == 0)
			return t;
	return -1;
}

int request_type_days(enum request_type t)
{
	return (unsigned)t < REQUEST_TYPE__COUNT ? types[t].days : 0;
}

int request_id_valid(const char *s)
{
	return s && strlen(s) == REQUEST_ID_LEN - 1 && memcmp(s, "rqt_", 4) == 0 &&
	       id_body_valid(s + 4);
}

static const struct {
	const char *code;
	const char *text[3]; /* ru, kk, en */
} answers[] = {
	{ "fulfilled",
	  { "Ваше требование выполнено.", "Сіздің талабыңыз орындалды.",
	    "Your request has been fulfilled." } },
	{ "identity_not_confirmed",
	  { "Не удалось подтвердить вашу личность; подайте требование снова, "
	    "подтвердив её.",
	    "Жеке басыңызды растау мүмкін болмады; оны растап, талапты қайта "
	    "беріңіз.",
	    "Your identity could not be confirmed; file the request again with "
	    "proof of it." } },
	{ "no_grounds",
	  { "Оснований для выполнения требования нет: данные обрабатываются "
	    "законно и точны.",
	    "Талапты орындауға негіз жоқ: деректер заңды өңделеді және дәл.",
	    "There are no grounds for the request: the data is processed lawfully "
	    "and is accurate." } },
	{ "legal_obligation",
	  { "Закон обязывает нас продолжать обработку этих данных; требование "
	    "не может быть выполнено.",
	    "Заң бізді бұл деректерді өңдеуді жалғастыруға міндеттейді; талап "
	    "орындалмайды.",
	    "The law obliges us to keep processing this data; the request cannot "
	    "be fulfilled." } },
	/* Set by the system, never chosen by the DPO: an access request whose
	 * subject's access is limited by law (R5).  The wording names no
	 * ground: it must read the same for AML/CFT, a court or another law. */
	{ REQUEST_ANSWER_LIMITED,
	  { "Предоставить эти сведения нельзя: доступ к ним ограничен в случаях, "
	    "установленных законом.",
	    "Бұл мәліметтерді беру мүмкін емес: оларға қолжетімділік заңда "
	    "белгіленген жағдайларда шектелген.",
	    "This information cannot be provided: access to it is limited in the "
	    "cases the law sets." } },
	/* Set by the system: the DPO's `fulfilled` to a request that acts on
	 * the subject's data (access, correction, blocking, restriction and
	 * their lifting) when the subject was shredded already — by the
	 * retention run or a destruction request.  The request is answered
	 * (accepted), never left open. */
	{ REQUEST_ANSWER_DESTROYED,
	  { "Ваши персональные данные уже уничтожены: предоставить, изменить или "
	    "заблокировать больше нечего.",
	    "Сіздің дербес деректеріңіз жойылып қойған: беретін, өзгертетін немесе "
	    "бұғаттайтын ештеңе қалған жоқ.",
	    "Your personal data has already been destroyed: there is nothing left "
	    "to provide, correct or block." } },
	/* A destruction request refused on its ground (docs/rights.md). */
	{ "legal_hold",
	  { "Данные нельзя уничтожить: их хранение требуется для расследования, "
	    "суда или регулятора.",
	    "Деректерді жою мүмкін емес: оларды сақтау тергеуге, сотқа немесе "
	    "реттеушіге қажет.",
	    "The data cannot be destroyed: an investigation, a court or a regulator "
	    "requires it to be kept." } },
	{ "open_loan",
	  { "Данные нельзя уничтожить, пока не исполнены ваши обязательства "
	    "(заём, обязательство или заявка не закрыты).",
	    "Міндеттемелеріңіз орындалмайынша деректерді жою мүмкін емес (қарыз, "
	    "міндеттеме немесе өтінім жабылмаған).",
	    "The data cannot be destroyed while your obligations are open (a loan, "
	    "an obligation or an application is not closed)." } },
	{ "keeping_period",
	  { "Данные нельзя уничтожить сейчас: закон обязывает хранить их "
	    "установленный срок после окончания отношений (кредитные бюро, "
	    "противодействие отмыванию денег); по его истечении они будут "
	    "обезличены или уничтожены.",
	    "Деректерді қазір жою мүмкін емес: заң оларды қатынастар аяқталғаннан "
	    "кейін белгіленген мерзім сақтауды міндеттейді (кредиттік бюролар, "
	    "ақшаны жылыстатуға қарсы іс-қимыл); ол өткен соң олар иесіздендіріледі "
	    "немесе жойылады.",
	    "The data cannot be destroyed yet: the law obliges us to keep it for a "
	    "set period after the relationship ends (credit bureaus, anti-money "
	    "laundering); when it ends, the data is anonymised or destroyed." } },
};

#define NANSWERS (sizeof(answers) / sizeof(answers[0]))

int request_answer_valid(const char *code)
{
	for (size_t i = 0; code && i < NANSWERS; i++)
		if (strcmp(answers[i].code, code) == 0)
			return 1;
	return 0;
}

const char *request_answer_text(const char *code, int lang)
{
	if (lang < 0 || lang > 2)
		lang = 0;
	for (size_t i = 0; code && i < NANSWERS; i++)
		if (strcmp(answers[i].code, code) == 0)
			return answers[i].text[lang];
	return NULL;
}

/* ---- rows ------------------------------------------------------------------------ */

#define COLUMNS                                                                   \
	"id, subject_id, type, status, channel, identity_check, filed_by, "       \
	"assignee, answer, filed_at, updated_at, closed_at, filed_day, due_day, " \
	"CASE WHEN text_sealed IS NULL THEN 0 ELSE 1 END"

static void copy_col(struct store_rows *r, int col, char *dst, size_t cap)
{
	size_t len = 0;
	const char *s = store_rows_text(r, col, &len);
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

static void read_row(struct store_rows *r, struct rights_request *q)
{
	copy_col(r, 0, q->id, sizeof(q->id));
	copy_col(r, 1, q->subject_id, sizeof(q->subject_id));
	copy_col(r, 2, q->type, sizeof(q->type));
	copy_col(r, 3, q->status, sizeof(q->status));
	copy_col(r, 4, q->channel, sizeof(q->channel));
	copy_col(r, 5, q->identity_check, sizeof(q->identity_check));
	copy_col(r, 6, q->filed_by, sizeof(q->filed_by));
	copy_col(r, 7, q->assignee, sizeof(q->assignee));
	copy_col(r, 8, q->answer, sizeof(q->answer));
	q->filed_at = store_rows_int(r, 9);
	q->updated_at = store_rows_int(r, 10);
	q->closed_at = store_rows_int(r, 11);
	q->filed_day = (int32_t)store_rows_int(r, 12);
	q->due_day = (int32_t)store_rows_int(r, 13);
	q->has_text = store_rows_int(r, 14) != 0;
}

/* The request id, of the subject when subject_id is not NULL. */
static enum senim_result load(struct store_tx *tx, const char *id, const char *subject_id,
			      struct rights_request *q)
{
	struct store_rows *r;
	enum senim_result err =
		subject_id ? store_query_one(tx,
					     "SELECT " COLUMNS " FROM rights_requests"
					     " WHERE id = $1 AND subject_id = $2",
					     (struct store_val[]){ SV_TEXT(id),
								   SV_TEXT(subject_id) },
					     2, &r)
			   : store_query_one(tx,
					     "SELECT " COLUMNS
					     " FROM rights_requests WHERE id = $1",
					     (struct store_val[]){ SV_TEXT(id) }, 1, &r);
	if (err)
		return err;
	read_row(r, q);
	store_rows_free(r);
	return SENIM_OK;
}

/* load() as a read transaction's function: the request, any subject's. */
struct load_one {
	const char *id;
	struct rights_request *q;
};

static enum senim_result load_tx(struct store_tx *tx, void *arg)
{
	struct load_one *l = arg;
	return load(tx, l->id, NULL, l->q);
}

static enum senim_result audit(struct store_tx *tx, const struct keyring *kr,
			       const char *actor, const char *operation, const char *id,
			       const char *subject_id, const char *outcome,
			       const char *request_id)
{
	char object[REQUEST_ID_LEN + 16] = "requests";
	if (id)
		snprintf(object, sizeof(object), "request:%s", id);
	struct audit_record rec = { .actor = actor,
				    .operation = operation,
				    .object = object,
				    .subject_id = subject_id,
				    .categories = "",
				    .purpose = "legal_obligation",
				    .outcome = outcome,
				    .request_id = request_id };
	return audit_append(tx, kr, &rec);
}

/* One row of history: the status (and assignee, answer) a change left. */
static enum senim_result add_event(struct store_tx *tx, const struct rights_request *q,
				   const char *actor, const char *request_id, int64_t now)
{
	struct store_rows *r;
	enum senim_result err =
		store_query_one(tx,
				"SELECT COALESCE(MAX(seq), 0) FROM rights_request_events"
				" WHERE request_id = $1",
				(struct store_val[]){ SV_TEXT(q->id) }, 1, &r);
	if (err)
		return err;
	int64_t seq = store_rows_int(r, 0) + 1;
	store_rows_free(r);
	return store_exec(
		tx,
		"INSERT INTO rights_request_events (request_id, seq, at, actor,"
		" status, assignee, answer, http_request_id)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
		(struct store_val[]){ SV_TEXT(q->id), SV_INT(seq), SV_INT(now),
				      SV_TEXT(actor), SV_TEXT(q->status),
				      *q->assignee ? SV_TEXT(q->assignee) : SV_NULL(),
				      *q->answer ? SV_TEXT(q->answer) : SV_NULL(),
				      SV_TEXT(request_id) },
		8, NULL);
}

/* ---- filing ------------------------------------------------------------------------ */

int request_evidence_valid(const char *type, const unsigned char *d, size_t len)
{
	/* The type is checked against the bytes: a document is an image or a
	 * PDF, never whatever a client calls one. */
	static const struct {
		const char *type;
		const char *magic;
		size_t n;
	} kinds[] = {
		{ "image/jpeg", "\xff\xd8\xff", 3 },
		{ "image/png", "\x89PNG\r\n\x1a\n", 8 },
		{ "application/pdf", "%PDF-", 5 },
	};
	if (!type || !d || len == 0 || len > REQUEST_EVIDENCE_MAX)
		return 0;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(type, kinds[i].type) == 0)
			return len >= kinds[i].n &&
			       memcmp(d, kinds[i].magic, kinds[i].n) == 0;
	return 0;
}

enum senim_result requests_file_prepare(const struct workdays *cal,
					struct request_file *op)
{
	struct rights_request *q = &op->fresh;
	memset(q, 0, sizeof(*q));
	buf_init(&op->sealed, 4 * REQUEST_TEXT_MAX + 1024);
	buf_init(&op->sealed_fields, BUF_NO_LIMIT);
	buf_init(&op->sealed_evidence, 2 * REQUEST_EVIDENCE_MAX);
	op->missing_year = 0;
	op->existing = 0;
	int64_t now = clock_now_us();
	id_time_ordered(q->id, "rqt_", now / 1000);
	q->filed_at = q->updated_at = now;
	q->filed_day = clock_kz_day(now);
	int32_t due;
	enum senim_result err = workdays_add(
		cal, q->filed_day, request_type_days(op->type), &due, &op->missing_year);
	if (err)
		return err;
	q->due_day = due;
	snprintf(q->subject_id, sizeof(q->subject_id), "%s", op->subject_id);
	snprintf(q->type, sizeof(q->type), "%s", request_type_code(op->type));
	snprintf(q->status, sizeof(q->status), "open");
	snprintf(q->channel, sizeof(q->channel), "%s", op->channel);
	snprintf(q->identity_check, sizeof(q->identity_check), "%s",
		 op->identity_check ? op->identity_check : "");
	snprintf(q->filed_by, sizeof(q->filed_by), "%s", op->actor);
	q->has_text = op->text != NULL;
	return SENIM_OK;
}

/* R2: a correction's proposed fields and its evidence, sealed with the
 * subject's data key and bound to the request (fields version 2, evidence
 * version 3 of the request's blobs; the question's text is version 1). */
static enum senim_result seal_correction(struct store_tx *tx, struct request_file *op)
{
	if (op->category < 0 || op->category >= CATEGORY__COUNT || !op->evidence ||
	    !request_evidence_valid(op->evidence_type, op->evidence, op->evidence_len))
		return SENIM_ERR_INVALID;
	char *json = json_dumps(op->fields, JSON_COMPACT);
	if (!json)
		return SENIM_ERR_NOMEM;
	struct vault_dek *dek = NULL;
	enum senim_result err = vault_dek_load(tx, op->kr, op->subject_id, &dek);
	if (!err)
		err = vault_seal_blob(dek, op->subject_id, TEXT_CATEGORY, op->req.id, 2,
				      json, strlen(json), &op->sealed_fields);
	if (!err)
		err = vault_seal_blob(dek, op->subject_id, TEXT_CATEGORY, op->req.id, 3,
				      op->evidence, op->evidence_len,
				      &op->sealed_evidence);
	vault_dek_free(dek);
	buf_wipe_free(json);
	return err;
}

enum senim_result requests_file_tx(struct store_tx *tx, void *arg)
{
	struct request_file *op = arg;
	struct rights_request *q = &op->req;
	op->existing = 0;
	*q = op->fresh; /* a rerun of the job starts from the prepared row */
	struct store_rows *r;
	enum senim_result err =
		store_query_one(tx, "SELECT 1 FROM subjects WHERE id = $1",
				(struct store_val[]){ SV_TEXT(op->subject_id) }, 1, &r);
	if (err)
		return err;
	store_rows_free(r);
	/* One open request per type: a second filing is answered with the
	 * first, and writes only its audit record. */
	err = store_query_one(
		tx,
		"SELECT " COLUMNS " FROM rights_requests"
		" WHERE subject_id = $1 AND type = $2"
		" AND status IN ('open', 'in_progress')",
		(struct store_val[]){ SV_TEXT(op->subject_id),
				      SV_TEXT(request_type_code(op->type)) },
		2, &r);
	if (err == SENIM_OK) {
		struct rights_request found;
		read_row(r, &found);
		store_rows_free(r);
		op->existing = 1;
		op->req = found;
		return audit(tx, op->kr, op->actor, "request.file", found.id,
			     op->subject_id, "unchanged", op->request_id);
	}
	if (err != SENIM_ERR_NOT_FOUND)
		return err;
	buf_reset(&op->sealed);
	buf_reset(&op->sealed_fields);
	buf_reset(&op->sealed_evidence);
	int correction = op->type == REQUEST_CORRECTION && op->fields;
	if (correction) {
		err = seal_correction(tx, op);
		if (err)
			return err;
	}
	if (op->text) {
		/* S1: the question may hold anything; it is sealed like the
		 * subject's data, bound to this request. */
		struct vault_dek *dek = NULL;
		err = vault_dek_load(tx, op->kr, op->subject_id, &dek);
		if (err)
			return err;
		err = vault_seal_blob(dek, op->subject_id, TEXT_CATEGORY, q->id, 1,
				      op->text, op->text_len, &op->sealed);
		vault_dek_free(dek);
		if (err)
			return err;
	}
	err = store_exec(
		tx,
		"INSERT INTO rights_requests (id, subject_id, type, status, channel,"
		" identity_check, filed_by, filed_at, filed_day, due_day, text_sealed,"
		" updated_at) VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $8, $9, $10, "
		"$7)",
		(struct store_val[]){
			SV_TEXT(q->id), SV_TEXT(q->subject_id), SV_TEXT(q->type),
			SV_TEXT(q->channel),
			*q->identity_check ? SV_TEXT(q->identity_check) : SV_NULL(),
			SV_TEXT(q->filed_by), SV_INT(q->filed_at), SV_INT(q->filed_day),
			SV_INT(q->due_day),
			op->text ? SV_BLOB(op->sealed.data, op->sealed.len) : SV_NULL() },
		10, NULL);
	if (err)
		return err;
	if (correction)
		err = store_exec(
			tx,
			"INSERT INTO rights_corrections (request_id, subject_id, "
			"category,"
			" fields_sealed, evidence_sealed, evidence_type, evidence_bytes)"
			" VALUES ($1, $2, $3, $4, $5, $6, $7)",
			(struct store_val[]){
				SV_TEXT(q->id), SV_TEXT(q->subject_id),
				SV_TEXT(category_code((enum category)op->category)),
				SV_BLOB(op->sealed_fields.data, op->sealed_fields.len),
				SV_BLOB(op->sealed_evidence.data,
					op->sealed_evidence.len),
				SV_TEXT(op->evidence_type),
				SV_INT((int64_t)op->evidence_len) },
			7, NULL);
	if (err)
		return err;
	err = add_event(tx, q, op->actor, op->request_id, q->filed_at);
	if (err)
		return err;
	return audit(tx, op->kr, op->actor, "request.file", q->id, op->subject_id,
		     "success", op->request_id);
}

void request_file_dispose(void *arg)
{
	struct request_file *op = arg;
	buf_release(&op->sealed);
	buf_release(&op->sealed_fields);
	buf_release(&op->sealed_evidence);
}

/* ---- reading ------------------------------------------------------------------------- */

/* Staff's view of a correction request: what it proposes and the
 * evidence, opened (R2: the DPO decides on them). */
static enum senim_result read_correction(struct store_tx *tx, struct request_read *op)
{
	const struct rights_request *q = &op->rows[0];
	struct store_rows *r = NULL;
	struct vault_dek *dek = NULL;
	struct buf text;
	char category[32];
	buf_init(&text, BUF_NO_LIMIT);
	enum senim_result err = store_query_one(
		tx,
		"SELECT category, fields_sealed, evidence_sealed, evidence_type, version"
		" FROM rights_corrections WHERE request_id = $1",
		(struct store_val[]){ SV_TEXT(q->id) }, 1, &r);
	if (err == SENIM_ERR_NOT_FOUND) {
		err = SENIM_OK;
		goto fail;
	}
	if (err)
		goto fail;
	copy_col(r, 0, category, sizeof(category));
	copy_col(r, 3, op->evidence_type, sizeof(op->evidence_type));
	size_t flen = 0, elen = 0;
	const void *fsealed = store_rows_blob(r, 1, &flen);
	const void *esealed = store_rows_blob(r, 2, &elen);
	err = vault_dek_load(tx, op->kr, q->subject_id, &dek);
	if (err == SENIM_ERR_NOT_FOUND) {
		/* The subject was shredded: the values and evidence are gone
		 * with the key; the request and its history stay. */
		err = SENIM_OK;
		goto fail;
	}
	if (!err)
		err = vault_open_blob(dek, q->subject_id, TEXT_CATEGORY, q->id, 2,
				      fsealed, flen, &text);
	if (!err)
		err = vault_open_blob(dek, q->subject_id, TEXT_CATEGORY, q->id, 3,
				      esealed, elen, &op->evidence);
	if (err)
		goto fail;
	json_t *fields = json_loadb(text.data, text.len, 0, NULL);
	op->correction = json_pack("{s:s,s:o}", "category", category, "fields",
				   fields ? fields : json_null());
	if (op->correction && !store_rows_is_null(r, 4))
		json_object_set_new(op->correction, "version",
				    json_integer(store_rows_int(r, 4)));
	if (!op->correction)
		err = SENIM_ERR_NOMEM;
fail:
	vault_dek_free(dek);
	store_rows_free(r);
	buf_release_wiped(&text);
	return err;
}

/* The history and the opened text of op->rows[0]. */
static enum senim_result read_detail(struct store_tx *tx, struct request_read *op)
{
	const struct rights_request *q = &op->rows[0];
	op->events = calloc(REQUEST_EVENTS_MAX, sizeof(*op->events));
	if (!op->events)
		return SENIM_ERR_NOMEM;
	struct store_rows *r;
	enum senim_result err = store_query(
		tx,
		"SELECT at, actor, status, assignee, answer FROM rights_request_events"
		" WHERE request_id = $1 ORDER BY seq LIMIT $2",
		(struct store_val[]){ SV_TEXT(q->id), SV_INT(REQUEST_EVENTS_MAX) }, 2,
		&r);
	if (err)
		return err;
	int has = 0;
	while ((err = store_rows_next(r, &has)) == SENIM_OK && has &&
	       op->nevents < REQUEST_EVENTS_MAX) {
		struct request_event *e = &op->events[op->nevents++];
		e->at = store_rows_int(r, 0);
		copy_col(r, 1, e->actor, sizeof(e->actor));
		copy_col(r, 2, e->status, sizeof(e->status));
		copy_col(r, 3, e->assignee, sizeof(e->assignee));
		copy_col(r, 4, e->answer, sizeof(e->answer));
	}
	store_rows_free(r);
	if (!err && !op->subject_id && strcmp(q->type, "correction") == 0)
		err = read_correction(tx, op);
	if (err || !q->has_text)
		return err;
	err = store_query_one(tx, "SELECT text_sealed FROM rights_requests WHERE id = $1",
			      (struct store_val[]){ SV_TEXT(q->id) }, 1, &r);
	if (err)
		return err;
	size_t len = 0;
	const void *sealed = store_rows_blob(r, 0, &len);
	struct vault_dek *dek = NULL;
	err = vault_dek_load(tx, op->kr, q->subject_id, &dek);
	if (!err)
		err = vault_open_blob(dek, q->subject_id, TEXT_CATEGORY, q->id, 1, sealed,
				      len, &op->text);
	vault_dek_free(dek);
	store_rows_free(r);
	/* The subject was shredded (anonymised: the key gone, the sealed text
	 * left unreadable): the request is shown without its text. */
	if (err == SENIM_ERR_NOT_FOUND) {
		op->rows[0].has_text = 0;
		err = SENIM_OK;
	}
	return err;
}

enum senim_result requests_read_tx(struct store_tx *tx, void *arg)
{
	struct request_read *op = arg;
	request_read_dispose(op); /* a rerun starts afresh */
	buf_init(&op->text, 4 * REQUEST_TEXT_MAX + 1);
	buf_init(&op->evidence, 2 * REQUEST_EVIDENCE_MAX);
	op->rows = calloc(op->id ? 1 : REQUESTS_LIST_MAX, sizeof(*op->rows));
	if (!op->rows)
		return SENIM_ERR_NOMEM;
	enum senim_result err;
	const char *subject = op->subject_id;
	if (op->id) {
		err = load(tx, op->id, op->subject_id, &op->rows[0]);
		if (err)
			return err;
		op->count = 1;
		subject = op->rows[0].subject_id;
		err = read_detail(tx, op);
		if (err)
			return err;
	} else {
		struct store_rows *r;
		if (op->subject_id)
			err = store_query(
				tx,
				"SELECT " COLUMNS " FROM rights_requests"
				" WHERE subject_id = $1 ORDER BY id DESC LIMIT $2",
				(struct store_val[]){ SV_TEXT(op->subject_id),
						      SV_INT(REQUESTS_LIST_MAX) },
				2, &r);
		else
			err = store_query(
				tx,
				"SELECT " COLUMNS " FROM rights_requests"
				" WHERE ($1 = '' OR type = $1) AND ($2 = '' OR status = "
				"$2)"
				" ORDER BY due_day, id LIMIT $3",
				(struct store_val[]){
					SV_TEXT(op->type >= 0
							? request_type_code(op->type)
							: ""),
					SV_TEXT(op->status ? op->status : ""),
					SV_INT(REQUESTS_LIST_MAX) },
				3, &r);
		if (err)
			return err;
		int has = 0;
		while ((err = store_rows_next(r, &has)) == SENIM_OK && has &&
		       op->count < REQUESTS_LIST_MAX)
			read_row(r, &op->rows[op->count++]);
		store_rows_free(r);
		if (err)
			return err;
	}
	return audit(tx, op->kr, op->actor,
		     op->subject_id ? "request.self_read" : "request.read", op->id,
		     subject, "success", op->request_id);
}

void request_read_dispose(void *arg)
{
	struct request_read *op = arg;
	free(op->rows);
	free(op->events);
	op->rows = NULL;
	op->events = NULL;
	op->count = op->nevents = 0;
	if (op->text.data)
		sodium_memzero(op->text.data, op->text.len);
	buf_release(&op->text);
	buf_release_wiped(&op->evidence);
	json_decref(op->correction); /* decrypted: the wiping allocator clears it */
	op->correction = NULL;
	op->evidence_type[0] = '\0';
}

/* ---- the DPO's acts ------------------------------------------------------------------ */

/* Accepting a request of protection acts on the vault, with the request as
 * its basis, in this transaction (R3, R4). */
static enum senim_result protect(struct store_tx *tx, struct request_change *op,
				 enum request_type t)
{
	struct subject_actor actor = { .label = op->actor,
				       .request_id = op->request_id,
				       .role = op->role,
				       .purpose = PURPOSE_LEGAL_OBLIGATION,
				       .matrix = op->matrix,
				       .kr = op->kr };
	if (t == REQUEST_BLOCKING || t == REQUEST_UNBLOCKING) {
		struct subject_block b = { .actor = actor,
					   .subject_id = op->req.subject_id,
					   .block = t == REQUEST_BLOCKING,
					   .reason = op->req.id };
		return subjects_block_tx(tx, &b);
	}
	if (t == REQUEST_RESTRICTION || t == REQUEST_UNRESTRICTION) {
		/* Only what the law obliges goes on: legal_obligation, which a
		 * restriction always allows. */
		struct subject_restriction s = { .actor = actor,
						 .subject_id = op->req.subject_id,
						 .restrict_ = t == REQUEST_RESTRICTION,
						 .allowed_purposes = 0 };
		return subjects_restriction_tx(tx, &s);
	}
	return SENIM_OK;
}

/* R1: keep the package prepared for an access request, sealed with the
 * subject's data key and bound to the request, then its audit record.  A
 * subject whose own access is limited by law (R5) gets the one neutral
 * answer instead, and nothing is kept. */
static enum senim_result release_package(struct store_tx *tx, struct request_change *op,
					 int64_t now, int *limited)
{
	struct package_build *pkg = op->package;
	struct rights_request *q = &op->req;
	*limited = 0;
	/* The package was built for this request's subject by prepare; a
	 * request with no package is the caller's mistake. */
	if (!pkg || strcmp(op->package_subject, q->subject_id) != 0)
		return SENIM_ERR_INVALID;
	enum senim_result err = package_build_record(tx, pkg);
	if (err)
		return err;
	if (pkg->refused.why != ACCESS_GRANTED) {
		*limited = 1;
		return SENIM_OK;
	}
	struct vault_dek *dek = NULL;
	struct buf json_sealed, html_sealed;
	buf_init(&json_sealed, BUF_NO_LIMIT);
	buf_init(&html_sealed, BUF_NO_LIMIT);
	char *json = json_dumps(pkg->doc, JSON_COMPACT | JSON_SORT_KEYS);
	if (!json) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	err = vault_dek_load(tx, op->kr, q->subject_id, &dek);
	if (err)
		goto fail;
	err = vault_seal_blob(dek, q->subject_id, PACKAGE_CATEGORY, q->id, 1, json,
			      strlen(json), &json_sealed);
	if (err)
		goto fail;
	err = vault_seal_blob(dek, q->subject_id, PACKAGE_CATEGORY, q->id, 2, pkg->html,
			      pkg->html_len, &html_sealed);
	if (err)
		goto fail;
	err = store_exec(
		tx,
		"INSERT INTO rights_packages (request_id, subject_id, json_sealed,"
		" html_sealed, made_by, made_at) VALUES ($1, $2, $3, $4, $5, $6)",
		(struct store_val[]){ SV_TEXT(q->id), SV_TEXT(q->subject_id),
				      SV_BLOB(json_sealed.data, json_sealed.len),
				      SV_BLOB(html_sealed.data, html_sealed.len),
				      SV_TEXT(op->actor), SV_INT(now) },
		6, NULL);
fail:
	vault_dek_free(dek);
	buf_wipe_free(json); /* decrypted data: wiped */
	buf_release(&json_sealed);
	buf_release(&html_sealed);
	return err;
}

/* The ground on which a destruction request cannot be fulfilled now, or
 * NULL: an open legal hold (retention's), a relation not ended (a loan
 * not closed, an open obligation, an application in progress), or a legal
 * keeping period after it ended still running (the retention file's
 * minimums: the credit-bureau consents, the AML/CFT client file) — the
 * retention run anonymises or destroys the data when it ends. */
static enum senim_result destruction_ground(struct store_tx *tx, const char *subject_id,
					    const struct retention_rules *rules,
					    const char **ground)
{
	static const struct {
		const char *ground;
		const char *sql;
	} checks[] = {
		{ "legal_hold", "SELECT COUNT(*) FROM legal_holds WHERE subject_id = $1"
				" AND lifted_at IS NULL" },
		{ "open_loan", "SELECT COUNT(*) FROM loans WHERE subject_id = $1"
			       " AND status <> 'closed'" },
		{ "open_loan", "SELECT COUNT(*) FROM obligations WHERE subject_id = $1"
			       " AND status = 'open'" },
		{ "open_loan", "SELECT COUNT(*) FROM applications WHERE subject_id = $1"
			       " AND state IN ('open', 'approved', 'referred', 'offered',"
			       " 'signed')" },
	};
	*ground = NULL;
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		struct store_rows *r;
		enum senim_result err = store_query_one(
			tx, checks[i].sql, (struct store_val[]){ SV_TEXT(subject_id) }, 1,
			&r);
		if (err)
			return err;
		int64_t n = store_rows_int(r, 0);
		store_rows_free(r);
		if (n > 0) {
			*ground = checks[i].ground;
			return SENIM_OK;
		}
	}
	const char *minimum = NULL;
	enum senim_result err = retention_keeping_tx(
		tx, rules, subject_id, clock_kz_day(clock_now_us()), &minimum);
	if (!err && minimum)
		*ground = "keeping_period";
	return err;
}

/* Destroy the subject of an accepted destruction request: journalled
 * first (vault/shred.h: a restored backup forgets them again), then the
 * key, the blind indexes and the sealed rows, with the record of it. */
static enum senim_result destroy_subject(struct store_tx *tx, struct request_change *op)
{
	const char *id = op->req.subject_id;
	if (!op->shred_journal)
		return SENIM_ERR_INVALID;
	shred_token_new(op->shred_token);
	enum senim_result err =
		shred_journal_append(op->shred_journal, &id, 1, SHRED_DESTROY,
				     clock_now_us() / 1000000, op->shred_token);
	if (err)
		return err;
	op->journaled = 1;
	/* `committed` once the COMMIT is durable; a failure of the rest of
	 * this transaction writes `rolled_back` (requests_change_tx). */
	err = shred_journal_commit_tx(tx, op->shred_journal, op->shred_token);
	if (err)
		return err;
	struct shred_counts counts;
	/* The rights work's own sealed rows go with the rest (shred.h). */
	err = shred_subject_tx(tx, id, SHRED_DESTROY, &counts);
	if (err)
		return err;
	char object[REQUEST_ID_LEN + 16];
	snprintf(object, sizeof(object), "request:%s", op->req.id);
	struct audit_record rec = { .actor = op->actor,
				    .operation = "subject.destroy",
				    .object = object,
				    .subject_id = id,
				    .categories = "",
				    .purpose = "legal_obligation",
				    .outcome = "success",
				    .request_id = op->request_id };
	return audit_append(tx, op->kr, &rec);
}

/* R2: each recipient the register shows received category c of the
 * subject (delivered, or may have reached) is owed a notice of the
 * correction; one per recipient and request, queued for the messaging
 * work.  *n gets how many. */
static enum senim_result queue_notices(struct store_tx *tx, struct request_change *op,
				       const char *category, int64_t version, int64_t now,
				       int *n)
{
	const struct rights_request *q = &op->req;
	char like[64];
	snprintf(like, sizeof(like), "%%,%s,%%", category);
	struct store_rows *r;
	enum senim_result err = store_query(
		tx,
		"SELECT DISTINCT recipient FROM disclosures WHERE subject_id = $1"
		" AND direction = 'out' AND (outcome = 'delivered' OR may_have_reached = "
		"1)"
		" AND (',' || categories || ',') LIKE $2 ORDER BY recipient",
		(struct store_val[]){ SV_TEXT(q->subject_id), SV_TEXT(like) }, 2, &r);
	if (err)
		return err;
	/* Read first, then write: one statement at a time on the connection. */
	char(*names)[128] = calloc(REQUESTS_LIST_MAX, sizeof(*names));
	int count = 0, has = 0;
	if (!names) {
		store_rows_free(r);
		return SENIM_ERR_NOMEM;
	}
	while ((err = store_rows_next(r, &has)) == SENIM_OK && has &&
	       count < REQUESTS_LIST_MAX)
		copy_col(r, 0, names[count++], sizeof(names[0]));
	store_rows_free(r);
	for (int i = 0; !err && i < count; i++) {
		char id[4 + ID_BODY_CHARS + 1];
		id_time_ordered(id, "cnt_", now / 1000);
		err = store_exec(
			tx,
			"INSERT INTO correction_notices (id, request_id, subject_id,"
			" recipient, category, version, state, created_at)"
			" VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7)",
			(struct store_val[]){ SV_TEXT(id), SV_TEXT(q->id),
					      SV_TEXT(q->subject_id), SV_TEXT(names[i]),
					      SV_TEXT(category), SV_INT(version),
					      SV_INT(now) },
			7, NULL);
		if (err)
			break;
		char object[REQUEST_ID_LEN + 160];
		snprintf(object, sizeof(object), "request:%s:recipient:%s", q->id,
			 names[i]);
		struct audit_record rec = { .actor = op->actor,
					    .operation = "request.correction_notice",
					    .object = object,
					    .subject_id = q->subject_id,
					    .categories = category,
					    .purpose = "legal_obligation",
					    .outcome = "success",
					    .request_id = op->request_id };
		err = audit_append(tx, op->kr, &rec);
	}
	free(names);
	*n = count;
	return err;
}

/* R2: the proposed values of an accepted correction become the category's
 * newest version (source borrower, written by the DPO), and the request
 * keeps the version it made (rights_corrections.version); the older
 * versions stay.  *done 0 when the vault refused the write (op->refused says why):
 * then nothing else happens.  A correction filed without values (before
 * they were taken) records the answer only. */
static enum senim_result apply_correction(struct store_tx *tx, struct request_change *op,
					  int64_t now, int *done)
{
	struct rights_request *q = &op->req;
	struct store_rows *r = NULL;
	struct vault_dek *dek = NULL;
	struct buf text;
	json_t *fields = NULL;
	char category[32];
	*done = 1;
	buf_init(&text, BUF_NO_LIMIT);
	enum senim_result err =
		store_query_one(tx,
				"SELECT category, fields_sealed FROM rights_corrections "
				"WHERE request_id = $1",
				(struct store_val[]){ SV_TEXT(q->id) }, 1, &r);
	if (err == SENIM_ERR_NOT_FOUND) {
		err = SENIM_OK;
		goto fail;
	}
	if (err)
		goto fail;
	copy_col(r, 0, category, sizeof(category));
	size_t len = 0;
	const void *sealed = store_rows_blob(r, 1, &len);
	err = vault_dek_load(tx, op->kr, q->subject_id, &dek);
	if (!err)
		err = vault_open_blob(dek, q->subject_id, TEXT_CATEGORY, q->id, 2, sealed,
				      len, &text);
	if (err)
		goto fail;
	fields = json_loadb(text.data, text.len, 0, NULL);
	int c = category_parse(category);
	if (!fields || c < 0) {
		err = SENIM_ERR_INVALID;
		goto fail;
	}
	struct subject_write w = {
		.actor = { .label = op->actor,
			   .request_id = op->request_id,
			   .role = op->role,
			   .purpose = PURPOSE_LEGAL_OBLIGATION,
			   .matrix = op->matrix,
			   .kr = op->kr },
		.subject_id = q->subject_id,
		.category = (enum category)c,
		/* The values are the borrower's, checked against the evidence;
		 * rights_corrections links the version to the request. */
		.source = SOURCE_BORROWER,
		.fields = fields,
	};
	fields = NULL; /* the write's now: subject_write_dispose drops it */
	err = subjects_write_tx(tx, &w);
	if (!err && (w.refused.why != ACCESS_GRANTED || w.phone_refused)) {
		op->refused = w.refused;
		if (w.phone_refused)
			access_refusal_set(&op->refused, ACCESS_PURPOSE_READ_ONLY,
					   PURPOSE_LEGAL_OBLIGATION, NULL);
		*done = 0;
	}
	int64_t version = w.version;
	subject_write_dispose(&w);
	if (err || !*done)
		goto fail;
	err = store_exec(
		tx, "UPDATE rights_corrections SET version = $2 WHERE request_id = $1",
		(struct store_val[]){ SV_TEXT(q->id), SV_INT(version) }, 2, NULL);
	if (!err)
		err = queue_notices(tx, op, category, version, now, &op->notices);
fail:
	json_decref(fields);
	vault_dek_free(dek);
	store_rows_free(r);
	buf_release_wiped(&text);
	return err;
}

/* Record the answer: the request closes, accepted or rejected. */
static enum senim_result answer(struct store_tx *tx, struct request_change *op,
				const char *code, int64_t now)
{
	struct rights_request *q = &op->req;
	snprintf(q->answer, sizeof(q->answer), "%s", code);
	snprintf(q->status, sizeof(q->status), "%s",
		 strcmp(code, "fulfilled") == 0 ||
				 strcmp(code, REQUEST_ANSWER_DESTROYED) == 0
			 ? "accepted"
			 : "rejected");
	q->closed_at = now;
	return store_exec(tx,
			  "UPDATE rights_requests SET status = $2, answer = $3,"
			  " updated_at = $4, closed_at = $4 WHERE id = $1",
			  (struct store_val[]){ SV_TEXT(q->id), SV_TEXT(q->status),
						SV_TEXT(q->answer), SV_INT(now) },
			  4, NULL);
}

/* Whether the subject still has their data key: none once shredded
 * (anonymised or destroyed; vault/shred.h), and it never comes back. */
static enum senim_result has_key(struct store_tx *tx, const char *subject_id, int *yes)
{
	struct store_rows *r;
	enum senim_result err = store_query_one(
		tx, "SELECT COUNT(*) FROM subject_keys WHERE subject_id = $1",
		(struct store_val[]){ SV_TEXT(subject_id) }, 1, &r);
	if (err)
		return err;
	*yes = store_rows_int(r, 0) > 0;
	store_rows_free(r);
	return SENIM_OK;
}

/* The types whose fulfilment acts on the subject's data. */
static int acts_on_data(enum request_type t)
{
	return t != REQUEST_DESTRUCTION && t != REQUEST_QUESTION;
}

/* The DPO's answer, and what fulfilling it does (requests.h). */
static enum senim_result answer_request(struct store_tx *tx, struct request_change *op,
					int64_t now)
{
	struct rights_request *q = &op->req;
	enum request_type t = (enum request_type)request_type_parse(q->type);
	if (strcmp(op->answer, "fulfilled") != 0)
		return answer(tx, op, op->answer, now);
	enum senim_result err;
	if (acts_on_data(t)) {
		/* Shredded already: nothing is left to act on, and the request
		 * is answered so, not left open (and overdue) for ever. */
		int keyed = 0;
		err = has_key(tx, q->subject_id, &keyed);
		if (err)
			return err;
		if (!keyed)
			return answer(tx, op, REQUEST_ANSWER_DESTROYED, now);
	}
	if (t == REQUEST_ACCESS) {
		int limited = 0;
		err = release_package(tx, op, now, &limited);
		if (err)
			return err;
		return answer(tx, op, limited ? REQUEST_ANSWER_LIMITED : "fulfilled",
			      now);
	}
	if (t == REQUEST_CORRECTION) {
		int done = 0;
		err = apply_correction(tx, op, now, &done);
		if (err || !done)
			return err;
		return answer(tx, op, "fulfilled", now);
	}
	if (t == REQUEST_DESTRUCTION) {
		const char *ground = NULL;
		err = destruction_ground(tx, q->subject_id, op->retention, &ground);
		if (err)
			return err;
		if (ground)
			return answer(tx, op, ground, now);
		err = answer(tx, op, "fulfilled", now);
		if (err)
			return err;
		return destroy_subject(tx, op);
	}
	err = answer(tx, op, "fulfilled", now);
	if (err)
		return err;
	return protect(tx, op, t);
}

struct key_read {
	const char *subject_id;
	int keyed;
};

static enum senim_result key_read_tx(struct store_tx *tx, void *arg)
{
	struct key_read *k = arg;
	return has_key(tx, k->subject_id, &k->keyed);
}

enum senim_result requests_change_prepare(struct store *st, struct request_change *op)
{
	request_change_dispose(op);
	if (op->act != REQUEST_ANSWER || strcmp(op->answer, "fulfilled") != 0)
		return SENIM_OK;
	struct rights_request q;
	enum senim_result err =
		store_read(st, load_tx, &(struct load_one){ .id = op->id, .q = &q });
	if (err)
		return err;
	if (q.closed_at || strcmp(q.type, "access") != 0)
		return SENIM_OK;
	/* A shredded subject has no package to build: the write answers
	 * REQUEST_ANSWER_DESTROYED. */
	struct key_read kq = { .subject_id = q.subject_id };
	err = store_read(st, key_read_tx, &kq);
	if (err || !kq.keyed)
		return err;
	op->package = calloc(1, sizeof(*op->package));
	if (!op->package)
		return SENIM_ERR_NOMEM;
	snprintf(op->package_subject, sizeof(op->package_subject), "%s", q.subject_id);
	op->package->kr = op->kr;
	op->package->actor = op->actor;
	op->package->request_id = op->request_id;
	op->package->subject_id = op->package_subject;
	op->package->format = "json";
	return package_build_fetch(st, op->package);
}

void request_change_dispose(void *arg)
{
	struct request_change *op = arg;
	if (!op->package)
		return;
	package_build_dispose(op->package);
	free(op->package);
	op->package = NULL;
}

static enum senim_result change_tx(struct store_tx *tx, struct request_change *op);

enum senim_result requests_change_tx(struct store_tx *tx, void *arg)
{
	struct request_change *op = arg;
	op->journaled = 0;
	enum senim_result err = change_tx(tx, op);
	/* The shredding journalled above rolls back with the rest: a restore
	 * must not shred the subject again (vault/shred.h). */
	if (err && op->journaled)
		shred_journal_rolled_back(op->shred_journal, op->shred_token);
	return err;
}

static enum senim_result change_tx(struct store_tx *tx, struct request_change *op)
{
	struct rights_request *q = &op->req;
	op->closed = op->unknown_assignee = op->notices = 0;
	op->refused = (struct access_refusal){ .why = ACCESS_GRANTED };
	enum senim_result err = load(tx, op->id, NULL, q);
	if (err)
		return err;
	if (q->closed_at) {
		op->closed = 1;
		return SENIM_OK;
	}
	int64_t now = clock_now_us();
	const char *operation;
	if (op->act == REQUEST_ASSIGN) {
		struct store_rows *r;
		err = store_query_one(tx,
				      "SELECT 1 FROM staff WHERE login = $1"
				      " AND revoked_at IS NULL",
				      (struct store_val[]){ SV_TEXT(op->assignee) }, 1,
				      &r);
		if (err == SENIM_ERR_NOT_FOUND) {
			op->unknown_assignee = 1;
			return SENIM_OK;
		}
		if (err)
			return err;
		store_rows_free(r);
		snprintf(q->assignee, sizeof(q->assignee), "%s", op->assignee);
		snprintf(q->status, sizeof(q->status), "in_progress");
		err = store_exec(tx,
				 "UPDATE rights_requests SET assignee = $2,"
				 " status = 'in_progress', updated_at = $3 WHERE id = $1",
				 (struct store_val[]){ SV_TEXT(q->id),
						       SV_TEXT(q->assignee),
						       SV_INT(now) },
				 3, NULL);
		operation = "request.assign";
	} else {
		err = answer_request(tx, op, now);
		operation = "request.answer";
	}
	if (err)
		return err;
	if (op->refused.why != ACCESS_GRANTED)
		return SENIM_OK; /* the vault's denied record commits; nothing else */
	q->updated_at = now;
	err = add_event(tx, q, op->actor, op->request_id, now);
	if (err)
		return err;
	return audit(tx, op->kr, op->actor, operation, q->id, q->subject_id, "success",
		     op->request_id);
}

/* ---- the package's download ------------------------------------------------------- */

enum senim_result requests_package_read_tx(struct store_tx *tx, void *arg)
{
	struct request_package_read *op = arg;
	struct rights_request q;
	struct vault_dek *dek = NULL;
	struct store_rows *r = NULL;
	request_package_read_dispose(op); /* a rerun starts afresh */
	buf_init(&op->doc, PACKAGE_MAX_TEXT);
	op->no_package = 0;
	op->refused = (struct access_refusal){ .why = ACCESS_GRANTED };
	enum senim_result err = load(tx, op->id, op->subject_id, &q);
	if (err)
		return err;
	err = store_query_one(
		tx,
		op->html
			? "SELECT html_sealed FROM rights_packages WHERE request_id = $1"
			: "SELECT json_sealed FROM rights_packages WHERE request_id = $1",
		(struct store_val[]){ SV_TEXT(q.id) }, 1, &r);
	if (err == SENIM_ERR_NOT_FOUND) {
		op->no_package = 1;
		return SENIM_OK;
	}
	if (err)
		return err;
	int limited = 0;
	struct store_rows *l = NULL;
	err = store_query_one(tx, "SELECT 1 FROM access_limits WHERE subject_id = $1",
			      (struct store_val[]){ SV_TEXT(q.subject_id) }, 1, &l);
	store_rows_free(l);
	if (err && err != SENIM_ERR_NOT_FOUND)
		goto fail;
	limited = err == SENIM_OK;
	/* R5: a limit set after the release holds too; the package is opened
	 * as for anyone (no timing tell) and dropped. */
	size_t len = 0;
	const void *sealed = store_rows_blob(r, 0, &len);
	err = vault_dek_load(tx, op->kr, q.subject_id, &dek);
	if (err)
		goto fail;
	err = vault_open_blob(dek, q.subject_id, PACKAGE_CATEGORY, q.id, op->html ? 2 : 1,
			      sealed, len, &op->doc);
	if (err)
		goto fail;
	if (limited) {
		access_refusal_set(&op->refused, ACCESS_LIMITED_BY_LAW,
				   PURPOSE_LEGAL_OBLIGATION, NULL);
		sodium_memzero(op->doc.data, op->doc.len);
		buf_reset(&op->doc);
	}
	char object[REQUEST_ID_LEN + 32];
	snprintf(object, sizeof(object), "request:%s:package:%s", q.id,
		 op->html ? "html" : "json");
	struct audit_record rec = { .actor = op->actor,
				    .operation = "request.package_read",
				    .object = object,
				    .subject_id = q.subject_id,
				    .categories = "",
				    .purpose = "legal_obligation",
				    .outcome = limited ? "denied" : "success",
				    .request_id = op->request_id };
	err = audit_append(tx, op->kr, &rec);
fail:
	vault_dek_free(dek);
	store_rows_free(r);
	return err;
}

void request_package_read_dispose(void *arg)
{
	struct request_package_read *op = arg;
	if (op->doc.data)
		sodium_memzero(op->doc.data, op->doc.len);
	buf_release(&op->doc);
}

/* ---- metrics ----------------------------------------------------------------------------- */

struct metrics_read {
	struct buf *out;
	int32_t today;
};

static enum senim_result metrics_tx(struct store_tx *tx, void *arg)
{
	struct metrics_read *m = arg;
	int64_t open[REQUEST_TYPE__COUNT] = { 0 }, overdue[REQUEST_TYPE__COUNT] = { 0 };
	struct store_rows *r;
	enum senim_result err = store_query(
		tx,
		"SELECT type, COUNT(*), SUM(CASE WHEN due_day < $1 THEN 1 ELSE 0 END)"
		" FROM rights_requests WHERE status IN ('open', 'in_progress')"
		" GROUP BY type",
		(struct store_val[]){ SV_INT(m->today) }, 1, &r);
	if (err)
		return err;
	int has = 0;
	while ((err = store_rows_next(r, &has)) == SENIM_OK && has) {
		int t = request_type_parse(store_rows_text(r, 0, NULL));
		if (t < 0)
			continue;
		open[t] = store_rows_int(r, 1);
		overdue[t] = store_rows_int(r, 2);
	}
	store_rows_free(r);
	if (err)
		return err;
	err = buf_addf(m->out, "# TYPE senim_requests_open gauge\n");
	for (int t = 0; !err && t < REQUEST_TYPE__COUNT; t++)
		err = buf_addf(m->out, "senim_requests_open{type=\"%s\"} %lld\n",
			       types[t].code, (long long)open[t]);
	if (!err)
		err = buf_addf(m->out, "# TYPE senim_requests_overdue gauge\n");
	for (int t = 0; !err && t < REQUEST_TYPE__COUNT; t++)
		err = buf_addf(m->out, "senim_requests_overdue{type=\"%s\"} %lld\n",
			       types[t].code, (long long)overdue[t]);
	return err;
}

enum senim_result requests_metrics(struct store *st, struct buf *out)
{
	struct metrics_read m = { .out = out, .today = clock_kz_day(clock_now_us()) };
	return store_read(st, metrics_tx, &m);
}
