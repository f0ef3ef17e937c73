/*
 * sms.c — the SMS gateway client: one JSON POST per attempt over libcurl's
 * easy interface, retried with backoff inside a hard deadline.
 *
 * A client is immutable once made, so any number of threads may send through
 * it at once; each send has its own easy handle and its own buffers.  The
 * bearer token lives in sodium_malloc'ed memory and is wiped at free; the
 * phone number and text are never logged, and the request body that carries
 * them is wiped before it is freed.
 */
#include "connectors/sms.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/secretfile.h"
#include "common/banned.h"

/* A credentials file is a token and a newline, not a document. */
#define SMS_CREDENTIALS_MAX 4096
/* The gateway answers {"id": "..."}; anything longer is not that answer. */
#define SMS_RESPONSE_MAX 16384
/* Connecting to a healthy gateway takes milliseconds; don't let a dead one
 * eat the whole attempt before curl even sends. */
#define SMS_CONNECT_TIMEOUT_MS 1000
/* An attempt with less time than this left is not worth starting. */
#define SMS_MIN_ATTEMPT_MS 100

/* Pause after failed attempt n (from 1), tripling; the last value repeats.
 * With SMS_ATTEMPT_TIMEOUT_MS per attempt the worst case is
 * 3 * 2000 + 100 + 300 ms, inside SMS_DEADLINE_MS; the loop checks the
 * deadline anyway, so other constants can't turn this into a hang. */
static const int sms_backoff_ms[] = { 100, 300, 900 };
#define SMS_BACKOFF_STEPS (sizeof(sms_backoff_ms) / sizeof(sms_backoff_ms[0]))

static const char sms_path[] = "/messages";
static const char sms_bearer[] = "Authorization: Bearer ";

struct sms_client {
	char *url;	   /* <base_url>/messages, malloc'ed */
	char *auth_header; /* "Authorization: Bearer <token>", sodium_malloc'ed;
				NULL without credentials */
	size_t auth_len;   /* strlen(auth_header) */
};

/* ---- configuration ------------------------------------------------------- */

static enum senim_result refuse_credentials(const char *path, const char *reason)
{
	log_event(LOG_ERROR, "sms_credentials_refused", "path", path, "reason", reason,
		  NULL);
	return SENIM_ERR_CONFIG;
}

/*
 * Read the bearer token — the first line of `path`, without trailing blanks —
 * and build the Authorization header from it in sodium_malloc'ed memory
 * (*header, freed by the caller with sodium_free after wiping).  The file
 * must be a regular file that group and others cannot read, and the token
 * must be visible ASCII (it goes into a header line).  SENIM_ERR_CONFIG
 * for every refusal; the token itself never reaches the log.
 */
static enum senim_result read_token_header(const char *path, char **header,
					   size_t *header_len)
{
	*header = NULL;
	*header_len = 0;
	char *data = NULL;
	size_t want = 0;
	const char *why = NULL;
	enum senim_result err =
		secret_file_read(path, SMS_CREDENTIALS_MAX, &data, &want, &why);
	if (err == SENIM_ERR_NOMEM)
		return err;
	if (err)
		return refuse_credentials(path, why);

	size_t len = 0;
	while (len < want && data[len] != '\n' && data[len] != '\r')
		len++;
	while (len > 0 && (data[len - 1] == ' ' || data[len - 1] == '\t'))
		len--;
	if (len == 0) {
		err = refuse_credentials(path, "the first line holds no token");
		goto fail;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)data[i];
		if (ch < 0x21 || ch > 0x7e) {
			err = refuse_credentials(path, "the token is not visible ASCII");
			goto fail;
		}
	}

	size_t total = sizeof(sms_bearer) - 1 + len;
	char *h = sodium_malloc(total + 1);
	if (!h) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	memcpy(h, sms_bearer, sizeof(sms_bearer) - 1);
	memcpy(h + sizeof(sms_bearer) - 1, data, len);
	h[total] = '\0';
	*header = h;
	*header_len = total;
fail:
	sodium_free(data); /* wipes it */
	return err;
}

/* <base_url>/messages in a malloc'ed string, or NULL when base_url is not an
 * http(s) URL. */
static char *messages_url(const char *base_url)
{
	if (strncasecmp(base_url, "http://", 7) != 0 &&
	    strncasecmp(base_url, "https://", 8) != 0)
		return NULL;
	size_t len = strlen(base_url);
	while (len > 0 && base_url[len - 1] == '/')
		len--;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)base_url[i] <= 0x20 || base_url[i] == 0x7f)
			return NULL;
	char *url = malloc(len + sizeof(sms_path));
	if (!url)
		return NULL;
	memcpy(url, base_url, len);
	memcpy(url + len, sms_path, sizeof(sms_path));
	return url;
}

enum senim_result sms_client_new(const char *base_url, const char *credentials_file,
				 struct sms_client **out)
{
	*out = NULL;
	if (!base_url) {
		log_event(LOG_ERROR, "sms_config_refused", "reason", "no gateway URL",
			  NULL);
		return SENIM_ERR_CONFIG;
	}
	if (sodium_init() < 0)
		return SENIM_ERR_CRYPTO;
	enum senim_result err = SENIM_OK;
	struct sms_client *c = calloc(1, sizeof(*c));
	if (!c)
		return SENIM_ERR_NOMEM;
	c->url = messages_url(base_url);
	if (!c->url) {
		log_event(LOG_ERROR, "sms_config_refused", "reason",
			  "the gateway URL is not http:// or https://", NULL);
		err = SENIM_ERR_CONFIG;
		goto fail;
	}
	if (credentials_file) {
		err = read_token_header(credentials_file, &c->auth_header, &c->auth_len);
		if (err)
			goto fail;
	}
	*out = c;
	return SENIM_OK;
fail:
	sms_client_free(c);
	return err;
}

void sms_client_free(struct sms_client *c)
{
	if (!c)
		return;
	if (c->auth_header) {
		sodium_memzero(c->auth_header, c->auth_len);
		sodium_free(c->auth_header);
	}
	free(c->url);
	free(c);
}

/* ---- sending ------------------------------------------------------------- */

/* "+" and 8 to 15 digits: E.164 as the gateway takes it. */
static int is_e164(const char *s)
{
	if (s[0] != '+')
		return 0;
	size_t n = 0;
	for (const char *p = s + 1; *p; p++, n++)
		if (*p < '0' || *p > '9')
			return 0;
	return n >= 8 && n <= 15;
}

static size_t collect_response(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct buf *b = userdata;
	/* Returning less than given makes curl fail the transfer: a reply
	 * larger than the cap is not the gateway's answer. */
	size_t n = size * nmemb;
	if (buf_add(b, ptr, n))
		return 0;
	return n;
}

/* 1 when a 200/201/202 body is the protocol's {"id": "<non-empty>"}. */
static int is_acceptance(const struct buf *body)
{
	json_t *j = json_loadb(body->data, body->len, 0, NULL);
	const json_t *id = json_object_get(j, "id");
	int ok = json_is_string(id) && json_string_length(id) > 0;
	json_decref(j);
	return ok;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

enum attempt_outcome {
	ATTEMPT_ACCEPTED,
	ATTEMPT_RETRY,	/* transport error, 5xx, 408, 429, a malformed 2xx */
	ATTEMPT_REFUSED /* 3xx and other 4xx: asking again won't change it */
};

/* Log a failed attempt by its number and either its HTTP status or its curl
 * code — nothing the request carried. */
static void log_attempt(int attempt, long status, CURLcode code, const char *what)
{
	char n[16], v[24];
	snprintf(n, sizeof(n), "%d", attempt);
	if (code != CURLE_OK) {
		snprintf(v, sizeof(v), "%d", (int)code);
		log_event(LOG_WARN, "sms_attempt_failed", "attempt", n, "curl_code", v,
			  "reason", what, NULL);
	} else {
		snprintf(v, sizeof(v), "%ld", status);
		log_event(LOG_WARN, "sms_attempt_failed", "attempt", n, "http_status", v,
			  "reason", what, NULL);
	}
}

/* One POST with `timeout_ms` for all of it; the handle is already set up. */
static enum attempt_outcome attempt_once(CURL *h, struct buf *response, int attempt,
					 int64_t timeout_ms, size_t body_len,
					 int *reached)
{
	buf_reset(response);
	long connect_ms = timeout_ms < SMS_CONNECT_TIMEOUT_MS ? (long)timeout_ms
							      : SMS_CONNECT_TIMEOUT_MS;
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);

	CURLcode code = curl_easy_perform(h);
	long status = 0;
	/* The whole body went out: the gateway may hold the number even when
	 * the attempt failed after (a timeout on the answer, a 5xx). */
	curl_off_t up = 0;
	if (curl_easy_getinfo(h, CURLINFO_SIZE_UPLOAD_T, &up) == CURLE_OK && up > 0 &&
	    (size_t)up >= body_len)
		*reached = 1;
	if (code != CURLE_OK) {
		log_attempt(attempt, 0, code, "transport");
		return ATTEMPT_RETRY;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status == 200 || status == 201 || status == 202) {
		if (is_acceptance(response))
			return ATTEMPT_ACCEPTED;
		/* The gateway said yes without the answer the protocol promises;
		 * the header counts that as a failure, and it may be transient. */
		log_attempt(attempt, status, CURLE_OK, "malformed acceptance");
		return ATTEMPT_RETRY;
	}
	if (status >= 500 || status == 408 || status == 429 ||
	    (status >= 200 && status < 300)) {
		log_attempt(attempt, status, CURLE_OK, "retryable status");
		return ATTEMPT_RETRY;
	}
	log_attempt(attempt, status, CURLE_OK, "refused");
	return ATTEMPT_REFUSED;
}

/* The options every attempt shares.  CURLE_OK or the first failure. */
static CURLcode setup_handle(CURL *h, const struct sms_client *c, const char *body,
			     struct curl_slist *headers, struct buf *response)
{
	CURLcode rc = CURLE_OK;
#define SET(opt, val)                                       \
	do {                                                \
		if (rc == CURLE_OK)                         \
			rc = curl_easy_setopt(h, opt, val); \
	} while (0)
	SET(CURLOPT_URL, c->url);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	/* SIGALRM-based timeouts are not thread-safe.  Without them a
	 * name lookup is bounded only by an asynchronous resolver, which
	 * Debian's libcurl has (threaded). */
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_POST, 1L);
	SET(CURLOPT_POSTFIELDS, body);
	SET(CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	SET(CURLOPT_HTTPHEADER, headers);
	SET(CURLOPT_USERAGENT, "senim/" SENIM_VERSION);
	SET(CURLOPT_WRITEFUNCTION, collect_response);
	SET(CURLOPT_WRITEDATA, response);
#undef SET
	return rc;
}

enum senim_result sms_send(struct sms_client *c, const char *to_e164, const char *text,
			   const char *reference)
{
	return sms_send_by(c, to_e164, text, reference,
			   clock_mono_us() + (int64_t)SMS_DEADLINE_MS * 1000);
}

enum senim_result sms_send_by(struct sms_client *c, const char *to_e164, const char *text,
			      const char *reference, int64_t deadline)
{
	int reached;
	return sms_send_traced(c, to_e164, text, reference, deadline, &reached);
}

enum senim_result sms_send_traced(struct sms_client *c, const char *to_e164,
				  const char *text, const char *reference,
				  int64_t deadline, int *may_have_reached)
{
	*may_have_reached = 0;
	if (!c || !to_e164 || !text || !is_e164(to_e164))
		return SENIM_ERR_INVALID;
	if ((deadline - clock_mono_us()) / 1000 < SMS_MIN_ATTEMPT_MS) {
		/* Waited its time out in a queue: nothing was sent. */
		log_event(LOG_ERROR, "sms_unavailable", "reason",
			  "deadline passed in queue", NULL);
		return SENIM_ERR_UNAVAILABLE;
	}

	enum senim_result err = SENIM_ERR_UNAVAILABLE;
	char *body = NULL;
	size_t body_len = 0;
	CURL *h = NULL;
	struct buf response;
	buf_init(&response, SMS_RESPONSE_MAX);

	/* "s?" sends a NULL reference as null.  A text that is not UTF-8
	 * cannot be packed: that is the caller's input, not the gateway. */
	json_t *j = json_pack("{s:s, s:s, s:s?}", "to", to_e164, "text", text,
			      "reference", reference);
	if (!j) {
		err = SENIM_ERR_INVALID;
		goto fail;
	}
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!body) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	body_len = strlen(body);

	/*
	 * The list is built here rather than with curl_slist_append, which
	 * would copy the token into heap memory nobody wipes.  (curl still
	 * writes the header into its own request buffer; that copy is
	 * beyond reach.)
	 */
	static char content_type[] = "Content-Type: application/json";
	static char accept_json[] = "Accept: application/json";
	static char no_expect[] = "Expect:";
	struct curl_slist headers[4] = {
		{ content_type, &headers[1] },
		{ accept_json, &headers[2] },
		{ no_expect, c->auth_header ? &headers[3] : NULL },
		{ c->auth_header, NULL },
	};

	h = curl_easy_init();
	if (!h) {
		log_event(LOG_ERROR, "sms_unavailable", "reason", "curl_easy_init failed",
			  NULL);
		goto fail;
	}
	if (setup_handle(h, c, body, headers, &response) != CURLE_OK) {
		log_event(LOG_ERROR, "sms_unavailable", "reason",
			  "curl refused an option", NULL);
		goto fail;
	}

	int attempt = 0;
	for (;;) {
		int64_t left_ms = (deadline - clock_mono_us()) / 1000;
		if (left_ms < SMS_MIN_ATTEMPT_MS)
			break;
		attempt++;
		int64_t timeout_ms = left_ms < SMS_ATTEMPT_TIMEOUT_MS
					     ? left_ms
					     : SMS_ATTEMPT_TIMEOUT_MS;
		enum attempt_outcome o = attempt_once(h, &response, attempt, timeout_ms,
						      body_len, may_have_reached);
		if (o == ATTEMPT_ACCEPTED) {
			err = SENIM_OK;
			break;
		}
		if (o == ATTEMPT_REFUSED || attempt >= SMS_ATTEMPTS)
			break;
		size_t step = (size_t)attempt - 1;
		int64_t pause =
			sms_backoff_ms[step < SMS_BACKOFF_STEPS ? step
								: SMS_BACKOFF_STEPS - 1];
		left_ms = (deadline - clock_mono_us()) / 1000;
		if (left_ms - pause < SMS_MIN_ATTEMPT_MS)
			break;
		sleep_ms(pause);
	}
	if (!err)
		*may_have_reached = 1;
	if (err) {
		char n[16];
		snprintf(n, sizeof(n), "%d", attempt);
		log_event(LOG_ERROR, "sms_unavailable", "attempts", n, NULL);
	}
fail:
	if (h)
		curl_easy_cleanup(h);
	if (body) {
		/* It holds the number and the one-time code. */
		sodium_memzero(body, body_len);
		free(body);
	}
	buf_release(&response);
	return err;
}

void sms_global_init(void)
{
	/* A failure here shows later as curl_easy_init failing, which a send
	 * reports as SENIM_ERR_UNAVAILABLE. */
	(void)curl_global_init(CURL_GLOBAL_DEFAULT);
}

void sms_global_cleanup(void)
{
	curl_global_cleanup();
}
