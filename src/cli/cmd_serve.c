/*
 * cmd_serve.c — `senim serve`: open the store and keys, apply migrations,
 * serve HTTP until SIGTERM or SIGINT, then stop gracefully: stop accepting,
 * finish what is in flight, close the store (every batch's audit records
 * were signed and anchored when it committed).
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/app.h"
#include "api/gate.h"
#include "audit/audit.h"
#include "borrower/auth.h"
#include "cli/cli.h"
#include "common/backoff.h"
#include "common/buf.h"
#include "common/clock.h"
#include "core/loan_rules.h"
#include "core/retention.h"
#include "core/workdays.h"
#include "core/scorecard.h"
#include "contract/contract.h"
#include "core/purposes.h"
#include "connectors/hub.h"
#include "core/recipients.h"
#include "exchange/outbox.h"
#include "exchange/reporter.h"
#include "lending/payouts.h"
#include "exchange/transfer.h"
#include "common/log.h"
#include "connectors/sms.h"
#include "http/metrics.h"
#include "http/ratelimit.h"
#include "http/server.h"
#include "staff/sign_in.h"
#include "vault/shred.h"
#include "common/banned.h"

#define DEFAULT_LISTEN "127.0.0.1:8080"
#define DEFAULT_MAX_BODY (1024 * 1024)
#define SHUTDOWN_GRACE_MS 30000
#define DEFAULT_LOAN_RULES "data/loan-rules.conf"
#define DEFAULT_SCORECARD "data/scorecard.conf"

static const char usage_text[] =
	"usage: senim serve [OPTIONS]\n\n"
	"Serve the senim HTTP API until SIGTERM or SIGINT.\n\n"
	"options:\n"
	"  --listen HOST:PORT  address to listen on (SENIM_LISTEN; "
	"default " DEFAULT_LISTEN ")\n"
	"                      port 0 picks a free port; the address is printed\n"
	"  --threads N         worker threads (SENIM_THREADS; default 2 per CPU, >= 4)\n"
	"  --max-body BYTES    largest request body accepted (SENIM_MAX_BODY;\n"
	"                      default 1048576)\n"
	"  --failure-delay-ms N  pause before answering a failed sign-in\n"
	"                      (SENIM_FAILURE_DELAY_MS; default 250)\n"
	"  --log-level LEVEL   debug, info, warn or error (SENIM_LOG_LEVEL; default "
	"info)\n"
	"  --access-matrix FILE  purpose x category (read and write) and role x\n"
	"                      purpose matrices\n"
	"                      (SENIM_ACCESS_MATRIX; default: the built-in defaults,\n"
	"                      the same as data/access-matrix.json); a bad file is\n"
	"                      refused and senim does not start\n"
	"  --recipients FILE   who may receive borrowers' data, and on what ground\n"
	"                      (SENIM_RECIPIENTS; see 'senim recipients --help');\n"
	"                      a file that breaks a rule is refused, naming its\n"
	"                      line, and senim does not start (exit 2); without\n"
	"                      it no data goes to any recipient\n"
	"  --scorecard FILE    the scorecard that decides submitted applications\n"
	"                      (SENIM_SCORECARD; default " DEFAULT_SCORECARD "); a\n"
	"                      named file that is bad or missing is refused and\n"
	"                      senim does not start (exit 2 or 3); without one no\n"
	"                      application is decided\n"
	"  --contract-template FILE\n"
	"                      the contract's template (SENIM_CONTRACT_TEMPLATE;\n"
	"                      default " CONTRACT_TEMPLATE_DEFAULT "); a named file\n"
	"                      that is bad or missing is refused; offers are\n"
	"                      accepted only with a template and the lender named\n"
	"                      in SENIM_LENDER_NAME and SENIM_LENDER_DETAILS\n"
	"  --loan-rules FILE   the regulatory rules every application and offer\n"
	"                      keeps (SENIM_LOAN_RULES; default " DEFAULT_LOAN_RULES ",\n"
	"                      see 'senim rules --help'); a named file that is bad\n"
	"                      or missing is refused and senim does not start;\n"
	"                      without the default file no application is taken\n"
	"                      (503)\n"
	"  --calendar DIR      the working-day calendar, DIR/kz-YYYY.conf\n"
	"                      (SENIM_CALENDAR; default " CLI_CALENDAR_DIR ", see\n"
	"                      'senim calendar --help'); a named directory that\n"
	"                      is bad is refused and senim does not start; without\n"
	"                      one no rights request is taken (503)\n"
	"  --retention FILE    the retention periods and their legal minimums\n"
	"                      (SENIM_RETENTION; default " CLI_RETENTION_FILE ",\n"
	"                      see 'senim retention --help'): a destruction\n"
	"                      request is refused while a minimum runs; a named\n"
	"                      file that is bad is refused and senim does not\n"
	"                      start; without one, a destruction is refused\n"
	"                      whenever a minimum may run\n"
	"  --sms-gateway URL   SMS gateway for borrowers' one-time codes\n"
	"                      (SENIM_SMS_GATEWAY_URL); without it, the endpoint\n"
	"                      and credentials of the recipients file's sms/1\n"
	"                      processor; with neither, sign-in codes cannot be\n"
	"                      sent (503)\n"
	"  --sms-credentials FILE  the gateway's bearer token, first line, mode 0600\n"
	"                      (SENIM_SMS_CREDENTIALS)\n" CLI_COMMON_HELP
	"  --otp-ip-limit N    sign-in codes one client address may ask for in 10\n"
	"                      minutes (SENIM_OTP_IP_LIMIT; default 30; 0 = no\n"
	"                      per-address limit, for clients behind one gateway)\n"
	"  --sign-in-ip-limit N  staff sign-in tries one client address may make a\n"
	"                      minute; after repeated failures it also waits a pause\n"
	"                      that doubles, up to 60 s (SENIM_SIGN_IN_IP_LIMIT;\n"
	"                      default 20; 0 = neither, for clients behind one\n"
	"                      gateway).  Each account pauses the same way, always\n"
	"  --max-conn-per-address N  connections one client address may hold open\n"
	"                      (SENIM_MAX_CONN_PER_ADDRESS; default 64; 0 = no limit,\n"
	"                      only behind a reverse proxy that limits them); in all\n"
	"                      at most 4096, fewer when the descriptor limit is lower\n"
	"  --header-timeout S  a request's headers must arrive within S seconds of\n"
	"                      the connection opening (or of its keep-alive idle\n"
	"                      time), however steadily bytes trickle in\n"
	"                      (SENIM_HEADER_TIMEOUT; default 10)\n"
	"  --body-timeout S    its body within S seconds of the headers\n"
	"                      (SENIM_BODY_TIMEOUT; default 30); a connection past\n"
	"                      either deadline is closed\n"
	"  --idle-timeout S    a keep-alive connection without a byte for S seconds\n"
	"                      is closed (SENIM_IDLE_TIMEOUT; default 30)\n"
	"  --bureau-report-interval S  every S seconds, report the loan events not\n"
	"                      yet reported to each credit bureau of --recipients,\n"
	"                      as 'senim bureau report' does\n"
	"                      (SENIM_BUREAU_REPORT_INTERVAL; default 300; 0 = never,\n"
	"                      when a scheduled 'senim bureau report' does it)\n"
	"  --payout-interval S every S seconds, pay out the signed microcredits whose\n"
	"                      payout is due, through the payout/1 provider of\n"
	"                      --recipients (SENIM_PAYOUT_INTERVAL; default 30; 0 =\n"
	"                      never)\n"
	"  --payout-confirm-days N  a signed application whose cooling-off hold is\n"
	"                      over and whose borrower has not confirmed the payout\n"
	"                      within N days of it is withdrawn by the payout pump,\n"
	"                      nothing sent (SENIM_PAYOUT_CONFIRM_DAYS; default 7;\n"
	"                      1 to 365)\n"
	"  --help              this text\n\n"
	"The log (stderr) is one JSON object per line and never holds personal data.\n"
	"exit codes: 0 stopped cleanly, 2 usage error, 3 cannot open store, keys or "
	"port\n";

/* A whole decimal number in [min, max]: SENIM_OK, or SENIM_ERR_INVALID and
 * *out untouched. */
static enum senim_result parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max)
		return SENIM_ERR_INVALID;
	*out = v;
	return SENIM_OK;
}

struct serve_opts {
	const char *listen;
	const char *matrix_file;
	const char *recipients_file;
	const char *loan_rules_file; /* NULL: the default, if it exists */
	const char *scorecard_file;  /* NULL: the default, if it exists */
	const char *contract_file;   /* NULL: the default, if it exists */
	const char *calendar_dir;    /* NULL: the default, if it exists */
	const char *retention_file;  /* NULL: the default, if it exists */
	const char *sms_url;
	const char *sms_credentials;
	long otp_ip_limit;
	long sign_in_ip_limit;
	long max_per_address;
	long header_timeout;
	long body_timeout;
	long idle_timeout;
	long bureau_report_interval;
	long payout_interval;
	long payout_confirm_days;
	long threads;
	long max_body;
	long failure_delay_ms;
};

/* The environment variable `name`, when set, as parse_long() reads it;
 * SENIM_ERR_INVALID (said on stderr) when it is no such number. */
static enum senim_result env_long(const char *name, long min, long max, long *out)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return SENIM_OK;
	if (parse_long(v, min, max, out)) {
		cli_error("serve", "%s must be a number from %ld to %ld", name, min, max);
		return SENIM_ERR_INVALID;
	}
	return SENIM_OK;
}

static int parse_args(int argc, char **argv, struct cli_common *common,
		      struct serve_opts *o)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 't' },
		{ "max-body", required_argument, NULL, 'b' },
		{ "failure-delay-ms", required_argument, NULL, 'f' },
		{ "log-level", required_argument, NULL, 'v' },
		{ "access-matrix", required_argument, NULL, 'm' },
		{ "recipients", required_argument, NULL, 'r' },
		{ "loan-rules", required_argument, NULL, 'L' },
		{ "calendar", required_argument, NULL, 'C' },
		{ "retention", required_argument, NULL, 'E' },
		{ "scorecard", required_argument, NULL, 'K' },
		{ "contract-template", required_argument, NULL, 'T' },
		{ "sms-gateway", required_argument, NULL, 's' },
		{ "sms-credentials", required_argument, NULL, 'c' },
		{ "otp-ip-limit", required_argument, NULL, 'o' },
		{ "max-conn-per-address", required_argument, NULL, 'a' },
		{ "sign-in-ip-limit", required_argument, NULL, 'S' },
		{ "header-timeout", required_argument, NULL, 'H' },
		{ "body-timeout", required_argument, NULL, 'B' },
		{ "idle-timeout", required_argument, NULL, 'I' },
		{ "bureau-report-interval", required_argument, NULL, 'R' },
		{ "payout-interval", required_argument, NULL, 'P' },
		{ "payout-confirm-days", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		CLI_COMMON_LONG_OPTIONS,
		{ 0, 0, 0, 0 },
	};
	o->listen = getenv("SENIM_LISTEN");
	if (!o->listen || !*o->listen)
		o->listen = DEFAULT_LISTEN;
	/* The busy writes and the SMS sends wait without a worker
	 * (http_write_then, http_call_then); what still blocks one — a read
	 * transaction, a staff write, an Argon2id hash — is short.  More threads
	 * than CPUs then only preempt each other: 2 per CPU, at least 4. */
	o->threads = sysconf(_SC_NPROCESSORS_ONLN) * 2;
	if (o->threads < 4)
		o->threads = 4;
	if (o->threads > 256)
		o->threads = 256;
	o->max_body = DEFAULT_MAX_BODY;
	o->failure_delay_ms = 250;
	o->otp_ip_limit = 30;
	o->sign_in_ip_limit = 20;
	o->max_per_address = SERVER_DEFAULT_PER_ADDRESS;
	o->header_timeout = SERVER_DEFAULT_HEADER_TIMEOUT_S;
	o->body_timeout = SERVER_DEFAULT_BODY_TIMEOUT_S;
	o->idle_timeout = SERVER_DEFAULT_IDLE_TIMEOUT_S;
	o->bureau_report_interval = 300;
	o->payout_interval = 30;
	o->payout_confirm_days = PAYOUT_CONFIRM_DAYS;
	o->sms_url = getenv("SENIM_SMS_GATEWAY_URL");
	o->sms_credentials = getenv("SENIM_SMS_CREDENTIALS");
	o->matrix_file = getenv("SENIM_ACCESS_MATRIX");
	if (o->matrix_file && !*o->matrix_file)
		o->matrix_file = NULL;
	o->recipients_file = getenv("SENIM_RECIPIENTS");
	if (o->recipients_file && !*o->recipients_file)
		o->recipients_file = NULL;
	o->scorecard_file = getenv("SENIM_SCORECARD");
	if (o->scorecard_file && !*o->scorecard_file)
		o->scorecard_file = NULL;
	o->contract_file = getenv("SENIM_CONTRACT_TEMPLATE");
	if (o->contract_file && !*o->contract_file)
		o->contract_file = NULL;
	o->calendar_dir = getenv("SENIM_CALENDAR");
	if (o->calendar_dir && !*o->calendar_dir)
		o->calendar_dir = NULL;
	o->retention_file = getenv("SENIM_RETENTION");
	if (o->retention_file && !*o->retention_file)
		o->retention_file = NULL;
	o->loan_rules_file = getenv("SENIM_LOAN_RULES");
	if (o->loan_rules_file && !*o->loan_rules_file)
		o->loan_rules_file = NULL;
	if (env_long("SENIM_THREADS", 1, 256, &o->threads) ||
	    env_long("SENIM_MAX_BODY", 1024, 64L << 20, &o->max_body) ||
	    env_long("SENIM_FAILURE_DELAY_MS", 0, 10000, &o->failure_delay_ms) ||
	    env_long("SENIM_OTP_IP_LIMIT", 0, 1000000, &o->otp_ip_limit) ||
	    env_long("SENIM_SIGN_IN_IP_LIMIT", 0, 1000000, &o->sign_in_ip_limit) ||
	    env_long("SENIM_MAX_CONN_PER_ADDRESS", 0, SERVER_CONNECTION_LIMIT,
		     &o->max_per_address) ||
	    env_long("SENIM_HEADER_TIMEOUT", 1, 3600, &o->header_timeout) ||
	    env_long("SENIM_BODY_TIMEOUT", 1, 3600, &o->body_timeout) ||
	    env_long("SENIM_IDLE_TIMEOUT", 1, 3600, &o->idle_timeout) ||
	    env_long("SENIM_BUREAU_REPORT_INTERVAL", 0, 86400,
		     &o->bureau_report_interval) ||
	    env_long("SENIM_PAYOUT_INTERVAL", 0, 86400, &o->payout_interval) ||
	    env_long("SENIM_PAYOUT_CONFIRM_DAYS", 1, PAYOUT_CONFIRM_DAYS_MAX,
		     &o->payout_confirm_days))
		return CLI_USAGE;
	const char *level = getenv("SENIM_LOG_LEVEL");
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_option(common, opt, optarg))
			continue;
		switch (opt) {
		case 'l':
			o->listen = optarg;
			break;
		case 't':
			if (parse_long(optarg, 1, 256, &o->threads)) {
				cli_error("serve", "--threads must be 1 to 256");
				return CLI_USAGE;
			}
			break;
		case 'b':
			if (parse_long(optarg, 1024, 64L << 20, &o->max_body)) {
				cli_error("serve", "--max-body must be 1024 to 67108864");
				return CLI_USAGE;
			}
			break;
		case 'f':
			if (parse_long(optarg, 0, 10000, &o->failure_delay_ms)) {
				cli_error("serve",
					  "--failure-delay-ms must be 0 to 10000");
				return CLI_USAGE;
			}
			break;
		case 'v':
			level = optarg;
			break;
		case 'm':
			o->matrix_file = optarg;
			break;
		case 'r':
			o->recipients_file = optarg;
			break;
		case 'L':
			o->loan_rules_file = optarg;
			break;
		case 'C':
			o->calendar_dir = optarg;
			break;
		case 'E':
			o->retention_file = optarg;
			break;
		case 'K':
			o->scorecard_file = optarg;
			break;
		case 'T':
			o->contract_file = optarg;
			break;
		case 's':
			o->sms_url = optarg;
			break;
		case 'c':
			o->sms_credentials = optarg;
			break;
		case 'o':
			if (parse_long(optarg, 0, 1000000, &o->otp_ip_limit)) {
				cli_error("serve", "--otp-ip-limit must be 0 to 1000000");
				return CLI_USAGE;
			}
			break;
		case 'S':
			if (parse_long(optarg, 0, 1000000, &o->sign_in_ip_limit)) {
				cli_error("serve",
					  "--sign-in-ip-limit must be 0 to 1000000");
				return CLI_USAGE;
			}
			break;
		case 'a':
			if (parse_long(optarg, 0, SERVER_CONNECTION_LIMIT,
				       &o->max_per_address)) {
				cli_error("serve",
					  "--max-conn-per-address must be 0 to %d",
					  SERVER_CONNECTION_LIMIT);
				return CLI_USAGE;
			}
			break;
		case 'H':
		case 'B':
		case 'I': {
			long *t = opt == 'H'   ? &o->header_timeout
				  : opt == 'B' ? &o->body_timeout
					       : &o->idle_timeout;
			if (parse_long(optarg, 1, 3600, t)) {
				cli_error("serve",
					  "--%s-timeout must be 1 to 3600 seconds",
					  opt == 'H'   ? "header"
					  : opt == 'B' ? "body"
						       : "idle");
				return CLI_USAGE;
			}
			break;
		}
		case 'R':
			if (parse_long(optarg, 0, 86400, &o->bureau_report_interval)) {
				cli_error("serve", "--bureau-report-interval must be 0 "
						   "to 86400 seconds");
				return CLI_USAGE;
			}
			break;
		case 'P':
			if (parse_long(optarg, 0, 86400, &o->payout_interval)) {
				cli_error("serve", "--payout-interval must be 0 to 86400 "
						   "seconds");
				return CLI_USAGE;
			}
			break;
		case 'D':
			if (parse_long(optarg, 1, PAYOUT_CONFIRM_DAYS_MAX,
				       &o->payout_confirm_days)) {
				cli_error("serve",
					  "--payout-confirm-days must be 1 to %d days",
					  PAYOUT_CONFIRM_DAYS_MAX);
				return CLI_USAGE;
			}
			break;
		case 'h':
			fputs(usage_text, stdout);
			return -1;
		default:
			fputs(usage_text, stderr);
			return CLI_USAGE;
		}
	}
	if (optind < argc) {
		cli_error("serve", "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if (level && *level) {
		int l = log_level_parse(level);
		if (l < 0) {
			cli_error("serve", "unknown log level '%s'", level);
			return CLI_USAGE;
		}
		log_set_level((enum log_level)l);
	}
	char host[64];
	uint16_t port;
	if (server_parse_listen(o->listen, host, sizeof(host), &port)) {
		cli_error("serve", "--listen wants HOST:PORT, e.g. 127.0.0.1:8080");
		return CLI_USAGE;
	}
	return CLI_OK;
}

/* The access matrices: the built-in defaults, or a file that must pass
 * every check (core/purposes.h) — senim refuses to start on a bad one. */
static int load_matrix(const char *path, struct access_matrix *m)
{
	access_matrix_default(m);
	if (!path)
		return CLI_OK;
	FILE *f = fopen(path, "rb");
	if (!f) {
		cli_error("serve", "cannot read the access matrix %s: %s", path,
			  strerror(errno));
		return CLI_ENV;
	}
	struct buf text;
	buf_init(&text, 1 << 20);
	char chunk[4096];
	char why[256] = "";
	size_t n;
	int rc = CLI_USAGE;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_add(&text, chunk, n)) {
			snprintf(why, sizeof(why), "too large");
			goto fail;
		}
	}
	if (access_matrix_parse(text.data, text.len, m, why, sizeof(why)) != 0)
		goto fail;
	rc = CLI_OK;
fail:
	if (rc)
		cli_error("serve", "refusing the access matrix %s: %s", path, why);
	fclose(f);
	buf_release(&text);
	return rc;
}

static void on_commit(int64_t duration_us, void *ctx)
{
	metrics_commit(ctx, duration_us);
}

static void print_banner(struct cli_common *common, struct store *st, const char *host,
			 uint16_t port)
{
	printf("senim %s listening on http://%s:%u\n", SENIM_VERSION, host,
	       (unsigned)port);
	if (store_kind(st) == STORE_SQLITE)
		printf("store: SQLite at %s; keys: %s\n", common->db, common->keys);
	else
		printf("store: PostgreSQL; keys: %s\n", common->keys);
	printf("first staff account: %s staff add LOGIN --role admin --data-dir %s\n"
	       "stop with Ctrl-C (SIGINT) or SIGTERM\n",
	       cli_program, common->data_dir);
	fflush(stdout);
}

/* Block until SIGTERM or SIGINT; returns the signal. */
static int wait_for_stop(const sigset_t *set)
{
	int sig = 0;
	while (sigwait(set, &sig) != 0)
		;
	return sig;
}

/* T2: the bureaus' loan events go out while the server runs.  Sends a
 * crash left unsettled are taken back first (outbox.h), then the thread
 * reports every interval. */
static int start_reporter(const struct serve_opts *o, struct exchange_env *ex,
			  struct reporter **out)
{
	if (o->bureau_report_interval == 0)
		return CLI_OK;
	char owner[OUTBOX_OWNER_LEN];
	outbox_owner(owner);
	struct outbox_recovery rec = { .owner = owner };
	if (store_write(ex->store, outbox_recover_tx, &rec)) {
		cli_error("serve", "cannot take back the outbox's interrupted sends");
		return CLI_ENV;
	}
	struct reporter_config cfg = { .store = ex->store,
				       .kr = ex->kr,
				       .hub = ex->hub,
				       .recipients = ex->recipients,
				       .matrix = ex->matrix,
				       .interval_ms =
					       o->bureau_report_interval * 1000LL };
	if (reporter_start(&cfg, out)) {
		cli_error("serve", "cannot start the bureau reporter");
		return CLI_ENV;
	}
	return CLI_OK;
}

/* C2: signed microcredits are paid out while the server runs, as the
 * lender's own processing (lending/payouts.h). */
static int start_payouts(const struct serve_opts *o, struct exchange_env *ex,
			 const struct loan_rules *rules, struct payout_pump **out)
{
	if (o->payout_interval == 0)
		return CLI_OK;
	struct payout_pump_config cfg = { .store = ex->store,
					  .kr = ex->kr,
					  .hub = ex->hub,
					  .recipients = ex->recipients,
					  .matrix = ex->matrix,
					  .rules = rules,
					  .interval_ms = o->payout_interval * 1000LL,
					  .confirm_days = o->payout_confirm_days };
	if (payout_pump_start(&cfg, out)) {
		cli_error("serve", "cannot start the payout pump");
		return CLI_ENV;
	}
	return CLI_OK;
}

/* An access package is a megabyte answer built in buffers that grow by
 * doubling.  glibc maps such blocks afresh and gives them back (or trims
 * the heap) when they are freed, so every package paid its page faults
 * again: about a quarter of a package's time (bench/package).  Served blocks up to
 * 64 MiB come from the heap and stay there; buffers that held personal
 * data are wiped before they are freed (buf.h), as before.  Before any
 * thread starts: the settings are the process's. */
static void keep_large_buffers_in_the_heap(void)
{
	(void)mallopt(M_MMAP_THRESHOLD, 64 << 20);
	(void)mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

/* The files serve loads and checks before it opens the store. */
struct serve_files {
	struct recipients *recipients;
	struct loan_rules *loan_rules;
	struct scorecard *scorecard;
	struct contract_template *contract; /* NULL without the lender's name */
	const char *lender_name, *lender_details;
	struct workdays *calendar;
	struct retention_rules *retention;
};

static void serve_files_free(struct serve_files *f)
{
	recipients_free(f->recipients);
	loan_rules_free(f->loan_rules);
	scorecard_free(f->scorecard);
	contract_template_free(f->contract);
	workdays_free(f->calendar);
	retention_rules_free(f->retention);
	memset(f, 0, sizeof(*f));
}

/* A year without its МРП is no fault (the earlier one is stricter), but
 * the operator must add it: say so at start. */
static void warn_of_an_earlier_mrp(const struct loan_rules *rules)
{
	char today[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(clock_now_us(), today);
	today[10] = '\0';
	struct loan_rules_in_force f;
	char why[256];
	if (loan_rules_in_force(rules, today, &f, why, sizeof(why)) == SENIM_OK &&
	    loan_rules_mrp_of_an_earlier_year(&f)) {
		char year[5];
		snprintf(year, sizeof(year), "%.4s", today);
		log_event(LOG_WARN, "mrp_of_an_earlier_year", "year", year, "from",
			  f.rule[LOAN_RULE_MRP]->from_text, NULL);
	}
}

/* Load every file serve works from, each checked at start so a bad file
 * never serves.  On failure what was loaded is still in *f: the caller
 * frees it with serve_files_free(). */
static int serve_files_load(const struct serve_opts *o,
			    const struct access_matrix *matrix, struct serve_files *f)
{
	int rc;
	memset(f, 0, sizeof(*f));
	if (o->recipients_file) {
		rc = cli_recipients_load("serve", o->recipients_file, matrix,
					 &f->recipients);
		if (rc)
			return rc;
	}
	/* The loan rules, checked at start too.  A file named on the command
	 * line or in the environment must be good; the default may be absent
	 * (a deployment that takes no applications), never bad. */
	const char *rules_file =
		o->loan_rules_file ? o->loan_rules_file : DEFAULT_LOAN_RULES;
	if (o->loan_rules_file || access(rules_file, F_OK) == 0) {
		rc = cli_loan_rules_load("serve", rules_file, &f->loan_rules);
		if (rc)
			return rc;
		warn_of_an_earlier_mrp(f->loan_rules);
	} else {
		log_event(LOG_WARN, "loan_rules_absent", "file", rules_file, NULL);
	}
	/* The scorecard, as the loan rules: a named file must be good. */
	const char *card_file = o->scorecard_file ? o->scorecard_file : DEFAULT_SCORECARD;
	if (o->scorecard_file || access(card_file, F_OK) == 0) {
		rc = cli_scorecard_load(card_file, &f->scorecard);
		if (rc)
			return rc;
	} else {
		log_event(LOG_WARN, "scorecard_absent", "file", card_file, NULL);
	}
	/* The contract's template, as the scorecard: a named file must be
	 * good; without one (or without the lender's name) no offer is
	 * accepted. */
	const char *tpl_file =
		o->contract_file ? o->contract_file : CONTRACT_TEMPLATE_DEFAULT;
	if (o->contract_file || access(tpl_file, F_OK) == 0) {
		char why[512];
		enum senim_result terr =
			contract_template_load(tpl_file, &f->contract, why, sizeof(why));
		if (terr) {
			cli_error("serve", "%s", why[0] ? why : senim_result_name(terr));
			return terr == SENIM_ERR_INVALID || terr == SENIM_ERR_TOO_LARGE
				       ? CLI_USAGE
				       : CLI_ENV;
		}
	}
	f->lender_name = getenv("SENIM_LENDER_NAME");
	f->lender_details = getenv("SENIM_LENDER_DETAILS");
	if (!f->lender_name || !*f->lender_name || !f->lender_details ||
	    !*f->lender_details) {
		if (f->contract)
			log_event(LOG_WARN, "lender_unnamed", NULL);
		contract_template_free(f->contract);
		f->contract = NULL;
	}
	/* The working-day calendar, as the loan rules: a named directory must
	 * be good; without one no rights request is taken (its deadline cannot
	 * be known). */
	const char *calendar_dir = o->calendar_dir ? o->calendar_dir : CLI_CALENDAR_DIR;
	if (o->calendar_dir || access(calendar_dir, F_OK) == 0) {
		rc = cli_calendar_load("serve", calendar_dir, &f->calendar);
		if (rc)
			return rc;
	} else {
		log_event(LOG_WARN, "calendar_absent", "dir", calendar_dir, NULL);
	}
	/* The retention file, as the calendar: a named one must be good;
	 * without one a destruction request is refused whenever a legal
	 * keeping period may run (subjects/retention.h). */
	const char *retention_file =
		o->retention_file ? o->retention_file : CLI_RETENTION_FILE;
	if (o->retention_file || access(retention_file, F_OK) == 0) {
		rc = cli_retention_load("serve", retention_file, &f->retention);
		if (rc)
			return rc;
	} else {
		log_event(LOG_WARN, "retention_absent", "file", retention_file, NULL);
	}
	return CLI_OK;
}

int cmd_serve(int argc, char **argv)
{
	struct cli_common common;
	struct serve_opts o;
	cli_common_init(&common);
	int rc = parse_args(argc, argv, &common, &o);
	if (rc)
		return rc < 0 ? CLI_OK : rc;
	cli_common_finish(&common);

	/* Block the stop signals before any thread starts, so only sigwait sees
	 * them; ignore SIGPIPE from clients that hang up. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	keep_large_buffers_in_the_heap();

	struct access_matrix matrix;
	rc = load_matrix(o.matrix_file, &matrix);
	if (rc)
		return rc;
	struct serve_files files;
	rc = serve_files_load(&o, &matrix, &files);
	if (rc) {
		serve_files_free(&files);
		return rc;
	}
	struct recipients *recipients = files.recipients;
	struct loan_rules *loan_rules = files.loan_rules;
	struct store *st;
	struct keyring *kr;
	rc = cli_open(&common, (int)o.threads + 2, &st, &kr);
	if (rc) {
		serve_files_free(&files);
		return rc;
	}
	/* A destruction request is fulfilled through the shred journal beside
	 * the key file (vault/shred.h); without its path none is. */
	char shred_journal[4096];
	int have_journal = shred_journal_path(common.keys, shred_journal,
					      sizeof(shred_journal)) == SENIM_OK;
	size_t nroutes;
	const struct route *routes = routes_table(&nroutes);
	struct app app = { .store = st,
			   .keys = kr,
			   .metrics = metrics_new((int)nroutes),
			   .policies = api_policy_cache_new(),
			   .failure_delay_ms = (int)o.failure_delay_ms,
			   .matrix = matrix,
			   .otp_ip_limit = (int)o.otp_ip_limit,
			   .sign_in_ip_limit = (int)o.sign_in_ip_limit,
			   .recipients = recipients,
			   .loan_rules = loan_rules,
			   .scorecard = files.scorecard,
			   .contract_template = files.contract,
			   .lender_name = files.lender_name,
			   .lender_details = files.lender_details,
			   .calendar = files.calendar,
			   .retention = files.retention,
			   .shred_journal = have_journal ? shred_journal : NULL };
	/* The exchange: one hub thread carries every call to a recipient. */
	struct exchange_env exchange = {
		.recipients = recipients, .store = st, .kr = kr, .matrix = &app.matrix
	};
	struct server *srv = NULL;
	struct reporter *reporter = NULL;
	struct payout_pump *payouts = NULL;
	/* The server serves the API's routes, and asks the API's gate who may
	 * call them. */
	struct server_config cfg = { .listen = o.listen,
				     .threads = (int)o.threads,
				     .max_per_address = (int)o.max_per_address,
				     .header_timeout_s = (int)o.header_timeout,
				     .body_timeout_s = (int)o.body_timeout,
				     .idle_timeout_s = (int)o.idle_timeout,
				     .max_body = (size_t)o.max_body,
				     .routes = routes,
				     .nroutes = nroutes,
				     .authorize_or_reply = api_authorize_or_reply,
				     .app = &app,
				     .store = st };
	app.limits = ratelimit_new(65536);
	app.sign_in_pauses = backoff_new(65536, staff_backoff_policy());
	/* T5: the recipients file's SMS processor is the gateway unless
	 * --sms-gateway names another (docs/recipients.md). */
	const struct recipient_service *sms_svc = NULL;
	const struct recipient *sms_rc = borrower_sms_processor(recipients, &sms_svc);
	if (!(o.sms_url && *o.sms_url) && sms_rc) {
		o.sms_url = sms_rc->endpoint;
		if (!(o.sms_credentials && *o.sms_credentials))
			o.sms_credentials = sms_rc->credentials;
	}
	if (o.sms_url && *o.sms_url &&
	    sms_client_new(o.sms_url,
			   o.sms_credentials && *o.sms_credentials ? o.sms_credentials
								   : NULL,
			   &app.sms)) {
		cli_error("serve",
			  "cannot use the SMS gateway settings (URL, or a credentials "
			  "file that is missing or readable by others)");
		rc = CLI_USAGE;
		goto done;
	}
	if (!app.metrics || !app.policies || !app.limits || !app.sign_in_pauses) {
		cli_error("serve", "out of memory");
		rc = CLI_ENV;
		goto done;
	}
	/* Before any thread that writes starts (the hub, the reporter, the
	 * payout pump): the hook is read by whichever thread commits. */
	store_set_commit_hook(st, on_commit, app.metrics);
	if (recipients) {
		if (hub_start(recipients, &exchange.hub)) {
			cli_error("serve", "cannot start the exchange (a recipient's "
					   "credentials file is refused: see the log)");
			rc = CLI_USAGE;
			goto done;
		}
		app.exchange = &exchange;
		struct transfer_recovery rec = { .ex = &exchange };
		if (store_write(st, transfer_recover_tx, &rec)) {
			cli_error("serve",
				  "cannot settle the transfers a stop interrupted");
			rc = CLI_ENV;
			goto done;
		}
		if (rec.abandoned) {
			char count[16];
			snprintf(count, sizeof(count), "%d", rec.abandoned);
			log_event(LOG_WARN, "transfers_abandoned", "count", count, NULL);
		}
		rc = start_reporter(&o, &exchange, &reporter);
		if (rc != CLI_OK)
			goto done;
		rc = start_payouts(&o, &exchange, loan_rules, &payouts);
		if (rc != CLI_OK)
			goto done;
	}
	cfg.metrics = app.metrics;
	if (server_start(&cfg, &srv)) {
		cli_error("serve", "cannot listen on %s: %s", o.listen, strerror(errno));
		rc = CLI_ENV;
		goto done;
	}
	char host[64];
	uint16_t port;
	if (server_parse_listen(o.listen, host, sizeof(host), &port) == SENIM_OK)
		print_banner(&common, st, host, server_port(srv));
	log_event(LOG_INFO, "serving", "listen", o.listen, NULL);

	int sig = wait_for_stop(&stop);
	log_event(LOG_INFO, "stopping", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM",
		  NULL);
	server_quiesce(srv);
	server_stop(srv, SHUTDOWN_GRACE_MS);
	srv = NULL;
	log_event(LOG_INFO, "stopped", NULL);
	rc = CLI_OK;
done:
	server_stop(srv, 0);
	/* After the server: its last requests may still wait for the hub; the
	 * reporter's pass too. */
	reporter_stop(reporter);
	payout_pump_stop(payouts);
	hub_stop(exchange.hub);
	api_policy_cache_free(app.policies);
	sms_client_free(app.sms);
	ratelimit_free(app.limits);
	backoff_free(app.sign_in_pauses);
	metrics_free(app.metrics);
	store_free(st);
	keyring_free(kr);
	serve_files_free(&files);
	return rc;
}
