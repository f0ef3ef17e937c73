/*
 * cmd_recipients.c — `senim recipients check FILE` and `senim recipients
 * show [--json] FILE`: the recipients file (core/recipients.h) as an
 * operator checks it before serve reads it, and cli_recipients_load(),
 * which serve uses to read it at start.
 *
 * The file itself holds no secrets, only the paths of the files that do.
 * `check` opens each of them under the rules the SMS gateway's credentials
 * follow (common/secretfile.h) — the bearer token and the client key must
 * be private to their owner — and looks for the PEM blocks it expects; a
 * secret's bytes are wiped and never printed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/secretfile.h"
#include "core/consents.h"
#include "core/recipients.h"
#include "common/banned.h"

/* A token file is a line, a key or certificate file a few PEM blocks; a CA
 * bundle may hold a hundred certificates. */
#define TOKEN_FILE_MAX 4096
#define KEY_FILE_MAX (64 * 1024)
#define PEM_FILE_MAX (1024 * 1024)
#define MATRIX_FILE_MAX (1024 * 1024)

static const char recipients_usage[] =
	"usage: senim recipients check [--skip-files] FILE [OPTIONS]\n"
	"       senim recipients show [--json] FILE [OPTIONS]\n\n"
	"The recipients file says who outside the lender may receive what about a\n"
	"borrower, for which purposes and on what ground (consent, law or a\n"
	"processing agreement).  docs/recipients.md describes it; the shipped\n"
	"default is data/recipients.conf.  `senim serve --recipients FILE` reads it.\n\n"
	"  check   check every rule of the file against the policy, the consents\n"
	"          and the access matrix, then open the credentials, client\n"
	"          certificate, client key and CA files it names: a token or key\n"
	"          file open to group or others is refused, as is a file without\n"
	"          the PEM block it should hold.  A fault is one line naming\n"
	"          FILE:LINE, its section and key.\n"
	"  show    print what the file says, checked the same way (the files it\n"
	"          names are not opened); --json prints it as JSON for tools.\n\n"
	"options:\n"
	"  --access-matrix FILE  the matrix senim serves with (SENIM_ACCESS_MATRIX;\n"
	"                   default: the built-in defaults)\n"
	"  --skip-files     check: leave the files the recipients file names alone\n"
	"  --json           show: print JSON\n"
	"  -h, --help       this text\n\n"
	"exit codes: 0 the file is good, 1 a file it names cannot be used (check),\n"
	"            2 the file breaks a rule, or a usage error, 3 a file cannot be "
	"read\n";

/*
 * Read at most `max` + 1 bytes of `path` into *text (malloc'ed and
 * NUL-terminated, the caller frees; one byte past max lets the caller tell
 * a file that is too long).  NULL, or why not (the system's reason).
 */
static const char *read_file(const char *path, size_t max, char **text, size_t *len)
{
	*text = NULL;
	*len = 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return strerror(errno);
	const char *why = NULL;
	char *buf = malloc(max + 2);
	if (!buf) {
		why = "out of memory";
		goto done;
	}
	size_t n = fread(buf, 1, max + 1, f);
	if (ferror(f)) {
		why = "read error";
		goto done;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	buf = NULL;
done:
	free(buf);
	fclose(f);
	return why;
}

/* The access matrix: the built-in defaults, or the file serve would use. */
static int load_matrix(const char *cmd, const char *path, struct access_matrix *m)
{
	access_matrix_default(m);
	if (!path)
		return CLI_OK;
	char *text;
	size_t len;
	const char *failed = read_file(path, MATRIX_FILE_MAX, &text, &len);
	if (failed) {
		cli_error(cmd, "cannot read the access matrix %s: %s", path, failed);
		return CLI_ENV;
	}
	int rc = CLI_OK;
	char why[256] = "";
	if (len > MATRIX_FILE_MAX ||
	    access_matrix_parse(text, len, m, why, sizeof(why)) != 0) {
		cli_error(cmd, "refusing the access matrix %s: %s", path,
			  len > MATRIX_FILE_MAX ? "too large" : why);
		rc = CLI_USAGE;
	}
	free(text);
	return rc;
}

/* ---- the files a recipient names --------------------------------------------- */

/* One line "senim CMD: FILE:LINE: [recipient CODE] KEY: PATH: WHY". */
static void file_fault(const char *cmd, const char *file, const struct recipient *rc,
		       unsigned line, const char *key, const char *path, const char *why)
{
	cli_error(cmd, "%s:%u: [recipient %s] %s: %s: %s", file, line, rc->code, key,
		  path, why);
}

/* The bearer token: the first line, visible ASCII (as --sms-credentials). */
static const char *token_problem(const char *data, size_t len)
{
	size_t n = 0;
	while (n < len && data[n] != '\n' && data[n] != '\r')
		n++;
	while (n > 0 && (data[n - 1] == ' ' || data[n - 1] == '\t'))
		n--;
	if (n == 0)
		return "the first line holds no token";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)data[i] < 0x21 || (unsigned char)data[i] > 0x7e)
			return "the token is not visible ASCII";
	return NULL;
}

/* 1 when `what` occurs in the first len bytes of data. */
static int holds(const char *data, size_t len, const char *what)
{
	size_t n = strlen(what);
	for (size_t i = 0; n <= len && i <= len - n; i++)
		if (memcmp(data + i, what, n) == 0)
			return 1;
	return 0;
}

/* A secret (token or key): private to its owner, read into guarded memory
 * and wiped.  NULL when it is good, else why not. */
static const char *check_secret(const char *path, size_t max, int is_key)
{
	char *data = NULL;
	size_t len = 0;
	const char *why = NULL;
	enum senim_result err = secret_file_read(path, max, &data, &len, &why);
	if (err == SENIM_ERR_NOMEM)
		return "out of memory";
	if (err)
		return why ? why : senim_result_name(err);
	if (is_key)
		why = holds(data, len, "-----BEGIN ") &&
				      holds(data, len, "PRIVATE KEY-----")
			      ? NULL
			      : "no PEM private key in it";
	else
		why = token_problem(data, len);
	sodium_free(data); /* wipes it */
	return why;
}

/* A certificate or CA bundle: public, but it must hold a certificate. */
static const char *check_certificate(const char *path)
{
	char *text;
	size_t len;
	const char *failed = read_file(path, PEM_FILE_MAX, &text, &len);
	if (failed)
		return failed;
	const char *why = len > PEM_FILE_MAX ? "larger than 1 MiB"
			  : holds(text, len, "-----BEGIN CERTIFICATE-----")
				  ? NULL
				  : "no PEM certificate in it";
	free(text);
	return why;
}

/* Every file the recipients name; the number that fail (each on stderr). */
static int check_files(const char *cmd, const char *file, const struct recipients *r)
{
	int bad = 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct recipient *rc = &r->recipients[i];
		const char *why;
		if (rc->credentials &&
		    (why = check_secret(rc->credentials, TOKEN_FILE_MAX, 0))) {
			file_fault(cmd, file, rc, rc->credentials_line, "credentials",
				   rc->credentials, why);
			bad++;
		}
		if (rc->client_cert && (why = check_certificate(rc->client_cert))) {
			file_fault(cmd, file, rc, rc->client_cert_line, "client_cert",
				   rc->client_cert, why);
			bad++;
		}
		if (rc->client_key &&
		    (why = check_secret(rc->client_key, KEY_FILE_MAX, 1))) {
			file_fault(cmd, file, rc, rc->client_key_line, "client_key",
				   rc->client_key, why);
			bad++;
		}
		if (rc->ca && (why = check_certificate(rc->ca))) {
			file_fault(cmd, file, rc, rc->ca_line, "ca", rc->ca, why);
			bad++;
		}
	}
	return bad;
}

/*
 * Read and parse `path` against `m`: CLI_OK with *out set, CLI_USAGE when
 * the file breaks a rule (the line named on stderr), CLI_ENV when it
 * cannot be read.
 */
static int parse_file(const char *cmd, const char *path, const struct access_matrix *m,
		      struct recipients **out)
{
	char *text;
	size_t len;
	*out = NULL;
	const char *failed = read_file(path, RECIPIENTS_FILE_MAX, &text, &len);
	if (failed) {
		cli_error(cmd, "cannot read the recipients file %s: %s", path, failed);
		return CLI_ENV;
	}
	char why[1024];
	enum senim_result err =
		recipients_parse(path, text, len, m, out, why, sizeof(why));
	free(text);
	if (err == SENIM_ERR_INVALID) {
		cli_error(cmd, "%s", why);
		return CLI_USAGE;
	}
	if (err) {
		cli_error(cmd, "%s", senim_result_name(err));
		return CLI_ENV;
	}
	return CLI_OK;
}

int cli_recipients_load(const char *cmd, const char *path, const struct access_matrix *m,
			struct recipients **out)
{
	if (sodium_init() < 0) {
		cli_error(cmd, "libsodium failed to initialise");
		return CLI_ENV;
	}
	int rc = parse_file(cmd, path, m, out);
	if (rc)
		return rc;
	if (check_files(cmd, path, *out)) {
		recipients_free(*out);
		*out = NULL;
		return CLI_USAGE;
	}
	for (size_t i = 0; i < (*out)->n; i++)
		if ((*out)->recipients[i].registration_pending)
			log_event(LOG_WARN, "recipient_registration_pending", "recipient",
				  (*out)->recipients[i].code, NULL);
	return CLI_OK;
}

/* ---- show -------------------------------------------------------------------- */

static json_t *purposes_json(uint32_t mask)
{
	json_t *a = json_array();
	for (int p = 0; p < PURPOSE__COUNT; p++)
		if (mask & PURPOSE_BIT(p))
			json_array_append_new(a, json_string(purpose_code(p)));
	return a;
}

static json_t *fields_json(const struct recipient_field *f, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(f[i].code));
	return a;
}

/* A string, or JSON null for NULL. */
static json_t *string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *service_json(const struct recipient *rc, const struct recipient_service *s)
{
	json_t *basis = json_pack(
		"{s:s, s:o, s:o}", "kind", recipient_basis_code(s->basis), "consent",
		string_or_null(s->consent >= 0 ? consent_def(s->consent)->code : NULL),
		"legal_ref", string_or_null(s->legal_ref));
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "code", s->code,
			 "api", recipient_api_code(s->api), "path", s->path, "purposes",
			 purposes_json(s->purposes), "sends",
			 fields_json(s->sends, s->nsends), "receives",
			 s->receives ? fields_json(s->receives, s->nreceives)
				     : json_null(),
			 "basis", basis, "state_service_consent",
			 rc->kind == RECIPIENT_STATE_DATABASE
				 ? json_boolean(s->state_service_consent)
				 : json_null());
}

static json_t *recipient_json(const struct recipient *rc)
{
	json_t *services = json_array();
	for (size_t i = 0; i < rc->nservices; i++)
		json_array_append_new(services, service_json(rc, &rc->services[i]));
	json_t *agreement = json_null();
	if (rc->agreement_id)
		agreement = json_pack("{s:s, s:s, s:o}", "id", rc->agreement_id, "date",
				      rc->agreement_date, "purposes",
				      purposes_json(rc->agreement_purposes));
	json_t *o =
		json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s}", "code", rc->code,
			  "name_ru", rc->name_ru, "name_kk", rc->name_kk, "registration",
			  rc->registration, "registration_pending",
			  rc->registration_pending, "kind", recipient_kind_code(rc->kind),
			  "country", rc->country, "endpoint", rc->endpoint);
	json_object_set_new(o, "credentials", string_or_null(rc->credentials));
	json_object_set_new(o, "client_cert", string_or_null(rc->client_cert));
	json_object_set_new(o, "client_key", string_or_null(rc->client_key));
	json_object_set_new(o, "ca", string_or_null(rc->ca));
	json_object_set_new(o, "connect_timeout_ms",
			    json_integer(rc->connect_timeout_ms));
	json_object_set_new(o, "timeout_ms", json_integer(rc->timeout_ms));
	json_object_set_new(o, "max_in_flight", json_integer(rc->max_in_flight));
	json_object_set_new(o, "max_queued", json_integer(rc->max_queued));
	json_object_set_new(o, "breaker_failures", json_integer(rc->breaker_failures));
	json_object_set_new(o, "breaker_open_ms", json_integer(rc->breaker_open_ms));
	json_object_set_new(o, "agreement", agreement);
	json_object_set_new(o, "report_within_days",
			    rc->report_within_days ? json_integer(rc->report_within_days)
						   : json_null());
	json_object_set_new(o, "services", services);
	return o;
}

static int show_json(const char *cmd, const struct recipients *r)
{
	json_t *countries = json_array(), *list = json_array();
	for (size_t i = 0; i < r->ncountries; i++)
		json_array_append_new(countries, json_string(r->allowed_countries[i]));
	for (size_t i = 0; i < r->n; i++)
		json_array_append_new(list, recipient_json(&r->recipients[i]));
	json_t *doc = json_pack("{s:{s:o}, s:o}", "cross_border", "allowed_countries",
				countries, "recipients", list);
	int rc = CLI_OK;
	if (!doc || json_dumpf(doc, stdout, JSON_INDENT(2)) != 0 ||
	    putchar('\n') == EOF) {
		cli_error(cmd, "cannot write the JSON");
		rc = CLI_ENV;
	}
	json_decref(doc);
	return rc;
}

static void print_fields(const char *label, const struct recipient_field *f, size_t n)
{
	printf("    %-9s", label);
	for (size_t i = 0; i < n; i++)
		printf(" %s", f[i].code);
	printf("%s\n", n ? "" : " -");
}

static void show_text(const char *path, const struct recipients *r)
{
	size_t services = 0;
	for (size_t i = 0; i < r->n; i++)
		services += r->recipients[i].nservices;
	printf("%s: %zu recipients, %zu services; abroad only to:", path, r->n, services);
	for (size_t i = 0; i < r->ncountries; i++)
		printf(" %s", r->allowed_countries[i]);
	printf("%s\n", r->ncountries ? "" : " nowhere");
	for (size_t i = 0; i < r->n; i++) {
		const struct recipient *rc = &r->recipients[i];
		printf("\n%s (line %u): %s / %s\n", rc->code, rc->line, rc->name_ru,
		       rc->name_kk);
		printf("  %s in %s, registration %s\n", recipient_kind_code(rc->kind),
		       rc->country,
		       rc->registration_pending ? "pending (not confirmed)"
						: rc->registration);
		printf("  endpoint %s\n", rc->endpoint);
		if (rc->credentials)
			printf("  bearer token from %s\n", rc->credentials);
		if (rc->client_cert)
			printf("  client certificate %s, key %s\n", rc->client_cert,
			       rc->client_key);
		printf("  server checked against %s\n",
		       rc->ca ? rc->ca : "the system's CAs");
		printf("  timeouts: connect %d ms, attempt %d ms; at most %d in flight, "
		       "%d "
		       "queued; breaker opens after %d failures for %d ms\n",
		       rc->connect_timeout_ms, rc->timeout_ms, rc->max_in_flight,
		       rc->max_queued, rc->breaker_failures, rc->breaker_open_ms);
		if (rc->agreement_id) {
			printf("  processing agreement %s of %s, for:", rc->agreement_id,
			       rc->agreement_date);
			for (int p = 0; p < PURPOSE__COUNT; p++)
				if (rc->agreement_purposes & PURPOSE_BIT(p))
					printf(" %s", purpose_code(p));
			printf("\n");
		}
		if (rc->report_within_days)
			printf("  alert when a loan event is not reported within %d "
			       "days\n",
			       rc->report_within_days);
		for (size_t j = 0; j < rc->nservices; j++) {
			const struct recipient_service *s = &rc->services[j];
			printf("  service %s.%s (line %u): %s, POST %s\n", rc->code,
			       s->code, s->line, recipient_api_code(s->api), s->path);
			printf("    %-9s", "purposes");
			for (int p = 0; p < PURPOSE__COUNT; p++)
				if (s->purposes & PURPOSE_BIT(p))
					printf(" %s", purpose_code(p));
			printf("\n    %-9s %s", "basis", recipient_basis_code(s->basis));
			if (s->consent >= 0)
				printf(":%s", consent_def(s->consent)->code);
			if (s->legal_ref)
				printf(": %s", s->legal_ref);
			printf("\n");
			print_fields("sends", s->sends, s->nsends);
			print_fields("receives", s->receives, s->nreceives);
			if (rc->kind == RECIPIENT_STATE_DATABASE)
				printf("    consent through the state service: %s\n",
				       s->state_service_consent ? "yes" : "no");
		}
	}
}

/* ---- the command ------------------------------------------------------------- */

int cmd_recipients(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "access-matrix", required_argument, NULL, 'm' },
		{ "skip-files", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_args a = { .cmd = "recipients", .usage = recipients_usage };
	int sub = cli_subcommand(&a, argc, argv,
				 (const char *const[]){ "check", "show", NULL });
	if (sub < 0)
		return a.rc;
	const char *matrix_file = getenv("SENIM_ACCESS_MATRIX");
	if (matrix_file && !*matrix_file)
		matrix_file = NULL;
	int skip_files = 0, as_json = 0, opt;
	while ((opt = cli_next_option(&a, longopts)) > 0) {
		if (opt == 'm')
			matrix_file = optarg;
		else if (opt == 's')
			skip_files = 1;
		else if (opt == 'j')
			as_json = 1;
	}
	if (opt < 0)
		return a.rc;
	if (sub == 0 && as_json)
		return cli_usage_error(&a, "--json goes with show");
	if (sub == 1 && skip_files)
		return cli_usage_error(&a, "--skip-files goes with check");
	if (a.first >= a.argc)
		return cli_usage_error(&a, "which file? give the recipients FILE");
	if (a.first + 1 < a.argc)
		return cli_usage_error(&a, "one recipients FILE at a time");
	const char *path = a.argv[a.first];
	if (sodium_init() < 0) {
		cli_error("recipients", "libsodium failed to initialise");
		return CLI_ENV;
	}

	struct access_matrix m;
	int rc = load_matrix("recipients", matrix_file, &m);
	if (rc)
		return rc;
	struct recipients *r = NULL;
	rc = parse_file("recipients", path, &m, &r);
	if (rc)
		return rc;
	if (sub == 1) {
		if (as_json)
			rc = show_json("recipients", r);
		else
			show_text(path, r);
	} else if (!skip_files && check_files("recipients", path, r)) {
		rc = CLI_FAILED;
	} else {
		size_t services = 0, pending = 0;
		for (size_t i = 0; i < r->n; i++) {
			services += r->recipients[i].nservices;
			pending += (size_t)r->recipients[i].registration_pending;
		}
		printf("%s: good: %zu recipients, %zu services%s", path, r->n, services,
		       skip_files ? " (the files it names were not opened)" : "");
		if (pending)
			printf("; %zu registrations pending", pending);
		printf("\n");
	}
	recipients_free(r);
	return rc;
}
