/*
 * cmd_bench.c — `senim bench seed-subjects N`: registers N made-up
 * borrowers fast, for bench/retention.  Built only with -DSENIM_BENCH=ON
 * (like /bench/hello); a production binary has no such command.
 *
 * Each borrower goes through the registration's own two steps —
 * subjects_register_seal (a fresh data key, the sealed identity and contact
 * records, the blind indexes of IIN, phone and e-mail) and
 * subjects_register_tx (the inserts and the `subject.register` audit
 * record) — so the store holds exactly what POST /v1/subjects writes.  Only
 * the HTTP layer is skipped, and CHUNK registrations share one write
 * transaction instead of one group-commit batch each.
 *
 * The data is deterministic from the borrower's number: a valid IIN whose
 * birth date and sex agree with the identity record, a Kcell number, an
 * e-mail at example.kz.  Numbers from --first on, so that seeding can be
 * resumed or spread over runs without IINs colliding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "cli/cli.h"

#ifdef SENIM_BENCH

#include "core/contact.h"
#include "core/iin.h"
#include "core/purposes.h"
#include "core/roles.h"
#include "subjects/subjects.h"
#include "common/banned.h"

#define SEED_CHUNK_DEFAULT 500
#define SEED_CHUNK_MAX 5000
#define SEED_MAX 10000000L /* the phone numbers' space */
#define DAYS_SPAN 14600	   /* birth dates over 40 years from 1960 */

static const char bench_usage[] =
	"usage: senim bench seed-subjects N [--first K] [--chunk C] [OPTIONS]\n\n"
	"Only in builds with -DSENIM_BENCH=ON.  Registers N made-up borrowers\n"
	"(numbers K to K+N-1, K default 0) through the registration's own seal\n"
	"and write, C (default 500, at most 5000) to a transaction, as an\n"
	"underwriter with the purpose identification.  Prints the count.\n\n"
	"options:\n"
	"  --first K        the first borrower's number (default 0)\n"
	"  --chunk C        registrations per transaction\n" CLI_COMMON_HELP
	"  -h, --help       this text\n";

struct seed_chunk {
	struct subject_registration *ops;
	size_t n;
	size_t conflicts;
};

static enum senim_result seed_tx(struct store_tx *tx, void *ctx)
{
	struct seed_chunk *c = ctx;
	c->conflicts = 0;
	for (size_t i = 0; i < c->n; i++) {
		enum senim_result err = subjects_register_tx(tx, &c->ops[i]);
		if (err)
			return err;
		if (c->ops[i].exists || c->ops[i].refused.why != ACCESS_GRANTED)
			c->conflicts++;
	}
	return SENIM_OK;
}

/* Borrower k's birth date (days from 1960-01-01 spread over 40 years), sex
 * and a valid IIN for them: the serial comes from k / DAYS_SPAN, ten
 * serials a slot, so that a check digit of -1 can move to the next. */
static int make_iin(long k, int *y, int *m, int *d, char *sex, char iin[48])
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	long day = k % DAYS_SPAN;
	*y = 1960;
	for (;;) {
		int leap = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
		int len = 365 + leap;
		if (day < len)
			break;
		day -= len;
		(*y)++;
	}
	int leap = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
	*m = 1;
	for (;;) {
		int len = mdays[*m - 1] + (*m == 2 && leap);
		if (day < len)
			break;
		day -= len;
		(*m)++;
	}
	*d = (int)day + 1;
	*sex = (k / DAYS_SPAN) % 2 ? 'F' : 'M';
	for (int attempt = 0; attempt < 10; attempt++) {
		long serial = (k / DAYS_SPAN) * 10 + attempt;
		if (serial > 9999)
			return -1;
		char digits[48];
		snprintf(digits, sizeof(digits), "%02d%02d%02d%d%04ld", *y % 100, *m, *d,
			 *sex == 'M' ? 3 : 4, serial);
		int check = iin_check_digit(digits);
		if (check < 0)
			continue;
		snprintf(iin, 48, "%.11s%d", digits, check);
		return 0;
	}
	return -1;
}

/* Fill and seal registration op for borrower k. */
static enum senim_result seal_one(struct subject_registration *op,
				  const struct subject_actor *actor, long k)
{
	int y, m, d;
	char sex[2] = { 0, 0 }, iin[48] = "", bd[48], raw_phone[32],
	     phone[PHONE_E164_LEN] = "", email[64];
	json_t *identity = NULL, *contact = NULL;
	struct iin_info info;
	enum senim_result err = SENIM_ERR_INVALID;
	snprintf(raw_phone, sizeof(raw_phone), "+7 701 %07ld", k);
	snprintf(email, sizeof(email), "borrower%ld@example.kz", k);
	if (make_iin(k, &y, &m, &d, &sex[0], iin) || strlen(iin) != 12 ||
	    iin_parse(iin, 12, &info) != IIN_OK || iin_matches(&info, y, m, d, sex[0]) ||
	    !phone_normalize_kz(raw_phone, strlen(raw_phone), phone))
		goto fail;
	snprintf(bd, sizeof(bd), "%04d-%02d-%02d", y, m, d);
	identity = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "iin", iin, "surname",
			     "Иванов", "given_name", "Ержан", "patronymic", "Серикович",
			     "birth_date", bd, "sex", sex, "citizenship", "KZ");
	contact = json_pack("{s:s,s:s}", "phone_mobile", phone, "email", email);
	err = SENIM_ERR_NOMEM;
	if (!identity || !contact)
		goto fail;
	op->actor = *actor;
	op->source = SOURCE_BORROWER;
	op->iin = iin;
	op->phone = phone;
	op->email = email;
	op->identity = identity;
	op->contact = contact;
	err = subjects_register_seal(op);
	op->iin = op->phone = op->email = NULL;
	op->identity = op->contact = NULL;
fail:
	json_decref(identity); /* the wiping allocator clears them */
	json_decref(contact);
	/* Made up, but personal data in form: wiped like the real thing. */
	sodium_memzero(iin, sizeof(iin));
	sodium_memzero(bd, sizeof(bd));
	sodium_memzero(raw_phone, sizeof(raw_phone));
	sodium_memzero(phone, sizeof(phone));
	sodium_memzero(email, sizeof(email));
	return err;
}

static int seed(struct cli_common *common, long first, long n, size_t chunk)
{
	struct store *st = NULL;
	struct keyring *kr = NULL;
	int rc = cli_open(common, 1, &st, &kr);
	if (rc)
		return rc;
	struct access_matrix matrix;
	access_matrix_default(&matrix);
	const struct subject_actor actor = { .label = "staff:bench-seed",
					     .request_id = common->run_id,
					     .role = ROLE_UNDERWRITER,
					     .purpose = PURPOSE_IDENTIFICATION,
					     .matrix = &matrix,
					     .kr = kr };
	struct seed_chunk c = { .ops = calloc(chunk, sizeof(*c.ops)) };
	enum senim_result err = c.ops ? SENIM_OK : SENIM_ERR_NOMEM;
	long done = 0, conflicts = 0;
	while (!err && done < n) {
		c.n = (size_t)(n - done) < chunk ? (size_t)(n - done) : chunk;
		for (size_t i = 0; i < c.n && !err; i++)
			err = seal_one(&c.ops[i], &actor, first + done + (long)i);
		if (!err)
			err = store_write(st, seed_tx, &c);
		for (size_t i = 0; i < c.n; i++)
			subject_registration_dispose(&c.ops[i]);
		if (!err) {
			done += (long)c.n;
			conflicts += (long)c.conflicts;
		}
	}
	free(c.ops);
	if (err) {
		cli_error("bench", "seeding stopped after %ld: %s", done,
			  senim_result_name(err));
		rc = CLI_ENV;
	} else {
		printf("seeded %ld subjects (%ld refused or existing)\n",
		       done - conflicts, conflicts);
	}
	store_free(st);
	keyring_free(kr);
	return rc;
}

int cmd_bench(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "first", required_argument, NULL, 'f' },
		{ "chunk", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		CLI_COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_args a = { .cmd = "bench", .usage = bench_usage };
	int sub = cli_subcommand(&a, argc, argv,
				 (const char *const[]){ "seed-subjects", NULL });
	if (sub < 0)
		return a.rc;
	long first = 0;
	size_t chunk = SEED_CHUNK_DEFAULT;
	int opt;
	while ((opt = cli_next_option(&a, longopts)) > 0) {
		char *end = NULL;
		long v = strtol(optarg, &end, 10);
		if (!*optarg || *end || v < 0)
			return cli_usage_error(&a, "a number is needed");
		if (opt == 'f') {
			first = v;
		} else if (opt == 'c') {
			if (v < 1 || v > SEED_CHUNK_MAX)
				return cli_usage_error(&a, "--chunk needs 1 to 5000");
			chunk = (size_t)v;
		}
	}
	if (opt < 0)
		return a.rc;
	if (a.argc - a.first != 1)
		return cli_usage_error(&a, "give the number of subjects");
	char *end = NULL;
	long n = strtol(a.argv[a.first], &end, 10);
	if (!*a.argv[a.first] || *end || n < 1 || first + n > SEED_MAX)
		return cli_usage_error(&a, "N is 1 or more, K + N at most 10000000");
	return seed(&a.common, first, n, chunk);
}

#else

/* Without SENIM_BENCH the file is empty of commands (ISO C wants one
 * declaration in a translation unit). */
typedef int cmd_bench_not_built;

#endif
