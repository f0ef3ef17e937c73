/*
 * payment.c — the payout/1 codec and the repayment notice (payment.h).
 */
#include "connectors/payment.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "common/banned.h"

#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
#define REF_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-"
#define CONTRACT_CHARS \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./-"
#define CODE_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_"
#define DIGITS_MAX 16 /* "1000000000000000" is 10^15 */

static const char *const statuses[] = { "accepted", "completed", "rejected", NULL };
static const char *const channels[] = { "card", "bank_transfer", "terminal", "cash_desk",
					NULL };
static const char *const kzt[] = { "KZT", NULL };
static const char *const notice_keys[] = {
	"provider_ref", "amount_tiyn", "currency", "paid_at", "channel", "kind", NULL
};
static const char *const kinds[] = { "due", "early", NULL };
static const char *const binding_statuses[] = { "pending", "bound", "failed", NULL };
/* RFC 3986's characters of a URI, less the quote: a page URL goes to the
 * borrower as it came, and must not break out of anything it is put in. */
#define URL_CHARS                                                        \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" \
	"-._~:/?#[]@!$&()*+,;=%"

const char *payment_status_code(enum payment_status s)
{
	return (unsigned)s <= PAYMENT_REJECTED ? statuses[s] : NULL;
}

const char *payment_channel_code(enum payment_channel c)
{
	return (unsigned)c <= PAYMENT_CHANNEL_CASH_DESK ? channels[c] : NULL;
}

/* 1 when s is min..max characters, all of `set`. */
static int chars_ok(const char *s, size_t min, size_t max, const char *set)
{
	size_t n = s ? strlen(s) : 0;
	return n >= min && n <= max && strspn(s, set) == n;
}

int payment_key_ok(const char *s)
{
	return s && strlen(s) == PAYMENT_KEY_LEN &&
	       memcmp(s, PAYMENT_KEY_PREFIX, 4) == 0 &&
	       strspn(s + 4, B64URL) == PAYMENT_KEY_LEN - 4;
}

int payment_status_path(const char *operation_key, char out[PAYMENT_STATUS_PATH_SIZE])
{
	out[0] = '\0';
	if (!payment_key_ok(operation_key))
		return 0;
	snprintf(out, PAYMENT_STATUS_PATH_SIZE, "%s/%s", PAYMENT_PATH, operation_key);
	return 1;
}

static enum senim_result refuse(char *why, const char *reason)
{
	if (why)
		snprintf(why, CODEC_REASON_MAX, "%s", reason);
	return SENIM_ERR_INVALID;
}

/* The destination object of a payout, or NULL (*err set). */
static json_t *destination(const struct payment_payout *p, enum senim_result *err,
			   char *why)
{
	*err = SENIM_OK;
	json_t *d = NULL;
	switch (p->dest) {
	case PAYMENT_DEST_CARD_TOKEN:
		if (!chars_ok(p->card_token, PAYMENT_TOKEN_MIN, PAYMENT_TOKEN_MAX,
			      B64URL))
			return *err = refuse(why, "destination.token is not 16 to 64 "
						  "base64url characters"),
			       NULL;
		/* Minimisation: the provider holds the card; it needs no IIN. */
		if (p->holder_iin)
			return *err = refuse(why, "holder_iin goes only with an IBAN"),
			       NULL;
		d = json_pack("{s:s, s:s}", "type", "card_token", "token", p->card_token);
		break;
	case PAYMENT_DEST_IBAN:
		if (!p->iban || !iban_kz_valid(p->iban, strlen(p->iban)))
			return *err = refuse(why,
					     "destination.iban is not a valid KZ IBAN"),
			       NULL;
		if (!codec_iin_ok(p->holder_iin))
			return *err = refuse(why, "destination.holder_iin is not a valid "
						  "IIN"),
			       NULL;
		d = json_pack("{s:s, s:s, s:s}", "type", "iban", "iban", p->iban,
			      "holder_iin", p->holder_iin);
		break;
	default:
		return *err = refuse(why, "destination is not card_token or iban"), NULL;
	}
	if (!d)
		*err = SENIM_ERR_NOMEM;
	return d;
}

enum senim_result payment_payout_request(const struct payment_payout *p, json_t **out,
					 char *why)
{
	*out = NULL;
	if (why)
		why[0] = '\0';
	if (!payment_key_ok(p->operation_key))
		return refuse(why,
			      "operation_key is not pyo_ and 22 base64url characters");
	if (p->amount_tiyn < 1 || p->amount_tiyn > CODEC_TIYN_MAX)
		return refuse(why, "amount_tiyn is not 1 to 10^15");
	if (!chars_ok(p->contract_ref, 1, PAYMENT_REF_MAX, CONTRACT_CHARS))
		return refuse(why, "contract_ref is not 1 to 64 of [A-Za-z0-9_./-]");
	enum senim_result err;
	json_t *d = destination(p, &err, why);
	if (!d)
		return err;
	/* A string: a provider's JSON parser that reads numbers as doubles
	 * keeps every amount up to 10^15 exact, but a string leaves it no
	 * choice. */
	char amount[24];
	snprintf(amount, sizeof(amount), "%lld", (long long)p->amount_tiyn);
	*out = json_pack("{s:s, s:s, s:s, s:s, s:o}", "operation_key", p->operation_key,
			 "amount_tiyn", amount, "currency", "KZT", "contract_ref",
			 p->contract_ref, "destination", d);
	return *out ? SENIM_OK : SENIM_ERR_NOMEM;
}

/*
 * An amount in tiyn at obj.key: a JSON integer, or a string of 1 to 16
 * digits without a leading zero; 0 to 10^15.  1 and *out, else 0 with
 * *v invalid_answer.
 */
static int amount_of(json_t *obj, const char *key, long long *out,
		     struct codec_verdict *v)
{
	json_t *x = json_object_get(obj, key);
	if (!x)
		return codec_fail(v, CODEC_INVALID_ANSWER, "%s is missing", key);
	if (json_is_integer(x)) {
		long long n = json_integer_value(x);
		if (n < 0 || n > CODEC_TIYN_MAX)
			return codec_fail(v, CODEC_INVALID_ANSWER, "%s is not 0 to 10^15",
					  key);
		*out = n;
		return 1;
	}
	if (!json_is_string(x))
		return codec_fail(v, CODEC_INVALID_ANSWER,
				  "%s is not an integer or a string of digits", key);
	const char *s = json_string_value(x);
	size_t n = json_string_length(x);
	if (n < 1 || n > DIGITS_MAX || strspn(s, "0123456789") != n ||
	    (s[0] == '0' && n > 1))
		return codec_fail(v, CODEC_INVALID_ANSWER,
				  "%s is not an integer or a string of digits", key);
	long long r = 0;
	for (size_t i = 0; i < n; i++)
		r = r * 10 + (s[i] - '0'); /* 16 digits fit in 63 bits */
	if (r > CODEC_TIYN_MAX)
		return codec_fail(v, CODEC_INVALID_ANSWER, "%s is not 0 to 10^15", key);
	*out = r;
	return 1;
}

/* The checks of an answer after its identity held. */
static int answer_fields(json_t *root, int64_t now, struct payment_answer *a,
			 struct codec_verdict *v)
{
	const char *ref, *code;
	int status;
	if (!codec_enum(root, "", "status", statuses, 0, &status, v) ||
	    !codec_string(root, "", "provider_ref", 1, PAYMENT_REF_MAX, 0, &ref, v))
		return 0;
	if (strspn(ref, REF_CHARS) != strlen(ref))
		return codec_fail(v, CODEC_INVALID_ANSWER,
				  "provider_ref is not [A-Za-z0-9_.:-]");
	a->status = (enum payment_status)status;
	snprintf(a->provider_ref, sizeof(a->provider_ref), "%s", ref);
	if (a->status == PAYMENT_COMPLETED) {
		int64_t at;
		if (!codec_time(root, "", "completed_at", &at, v))
			return 0;
		if (at > now + CODEC_CLOCK_SKEW_S)
			return codec_fail(v, CODEC_INVALID_ANSWER,
					  "completed_at is in the future");
		if (at < PAYMENT_PAID_AT_MIN)
			return codec_fail(v, CODEC_INVALID_ANSWER,
					  "completed_at is before 2000");
		a->completed_at = at;
	} else if (a->status == PAYMENT_REJECTED) {
		if (!codec_string(root, "", "reject_code", 1, PAYMENT_CODE_MAX, 0, &code,
				  v))
			return 0;
		if (strspn(code, CODE_CHARS) != strlen(code))
			return codec_fail(v, CODEC_INVALID_ANSWER,
					  "reject_code is not [a-z0-9_]{1,64}");
		snprintf(a->reject_code, sizeof(a->reject_code), "%s", code);
	}
	return 1;
}

enum senim_result payment_payout_parse(const char *body, size_t len,
				       const char *asked_key, int64_t asked_amount,
				       int64_t now, struct payment_answer *a,
				       struct codec_verdict *v)
{
	json_t *root;
	const char *key;
	long long amount;
	int cur;
	memset(a, 0, sizeof(*a));
	if (!codec_decode(body, len, &root, v))
		return SENIM_OK;
	/* Who the answer is about comes first: an answer about another payout,
	 * or with another amount, is never trusted, however well formed. */
	if (!codec_string(root, "", "operation_key", 1, 64, 0, &key, v))
		goto done;
	if (!asked_key || strcmp(key, asked_key) != 0) {
		codec_fail(v, CODEC_WRONG_SUBJECT,
			   "operation_key is not the payout sent");
		goto done;
	}
	if (!amount_of(root, "amount_tiyn", &amount, v))
		goto done;
	if (amount != asked_amount) {
		codec_fail(v, CODEC_WRONG_SUBJECT, "amount_tiyn is not the amount sent");
		goto done;
	}
	if (!json_is_string(json_object_get(root, "currency"))) {
		codec_fail(v, CODEC_INVALID_ANSWER, "currency is not a string");
		goto done;
	}
	if (!codec_enum(root, "", "currency", kzt, 0, &cur, v)) {
		codec_fail(v, CODEC_WRONG_SUBJECT, "currency is not the currency sent");
		goto done;
	}
	if (answer_fields(root, now, a, v))
		codec_verdict_ok(v);
done:
	if (v->status != CODEC_OK)
		memset(a, 0, sizeof(*a));
	json_decref(root);
	return SENIM_OK;
}

enum senim_result payment_notice_parse(const char *body, size_t len, int64_t now,
				       struct payment_notice *n, char *why)
{
	struct codec_verdict v;
	json_t *root = NULL;
	const char *ref, *at_text, *k;
	json_t *x;
	long long amount;
	int64_t at;
	int ch, cur;
	memset(n, 0, sizeof(*n));
	if (why)
		why[0] = '\0';
	if (len > PAYMENT_NOTICE_MAX) {
		codec_fail(&v, CODEC_INVALID_ANSWER, "body exceeds %d bytes",
			   PAYMENT_NOTICE_MAX);
		goto fail;
	}
	if (!codec_decode(body, len, &root, &v))
		goto fail;
	/* Input, not an answer: a key senim does not know is refused, not
	 * ignored (a second amount under another name must not pass). */
	json_object_foreach(root, k, x)
	{
		size_t i = 0;
		while (notice_keys[i] && strcmp(k, notice_keys[i]) != 0)
			i++;
		if (!notice_keys[i]) {
			codec_fail(&v, CODEC_INVALID_ANSWER, "body has an unknown field");
			goto fail;
		}
	}
	if (!codec_string(root, "", "provider_ref", 1, PAYMENT_REF_MAX, 0, &ref, &v))
		goto fail;
	if (strspn(ref, REF_CHARS) != strlen(ref)) {
		codec_fail(&v, CODEC_INVALID_ANSWER,
			   "provider_ref is not [A-Za-z0-9_.:-]");
		goto fail;
	}
	if (!amount_of(root, "amount_tiyn", &amount, &v))
		goto fail;
	if (amount < 1) {
		codec_fail(&v, CODEC_INVALID_ANSWER, "amount_tiyn is not 1 to 10^15");
		goto fail;
	}
	if (!codec_enum(root, "", "currency", kzt, 0, &cur, &v) ||
	    !codec_time(root, "", "paid_at", &at, &v) ||
	    !codec_enum(root, "", "channel", channels, 0, &ch, &v))
		goto fail;
	/* kind is optional: a provider that does not know the borrower's
	 * intent sends none, and the payment pays what is due. */
	int kd = PAYMENT_KIND_DUE;
	if (json_object_get(root, "kind") &&
	    !codec_enum(root, "", "kind", kinds, 0, &kd, &v))
		goto fail;
	if (at > now + CODEC_CLOCK_SKEW_S) {
		codec_fail(&v, CODEC_INVALID_ANSWER, "paid_at is in the future");
		goto fail;
	}
	if (at < PAYMENT_PAID_AT_MIN) {
		codec_fail(&v, CODEC_INVALID_ANSWER, "paid_at is before 2000");
		goto fail;
	}
	at_text = json_string_value(json_object_get(root, "paid_at"));
	if (strlen(at_text) >= sizeof(n->paid_at_text)) {
		codec_fail(&v, CODEC_INVALID_ANSWER, "paid_at is too long");
		goto fail;
	}
	snprintf(n->provider_ref, sizeof(n->provider_ref), "%s", ref);
	snprintf(n->paid_at_text, sizeof(n->paid_at_text), "%s", at_text);
	n->amount_tiyn = amount;
	n->paid_at = at;
	n->channel = (enum payment_channel)ch;
	n->kind = (enum payment_kind)kd;
	json_decref(root);
	return SENIM_OK;
fail:
	json_decref(root);
	memset(n, 0, sizeof(*n));
	/* codec's reasons say "answer" of a body that is not JSON; this is a
	 * request, and the reason carries no byte of it either way. */
	if (why)
		snprintf(why, CODEC_REASON_MAX, "%s", v.reason);
	return SENIM_ERR_INVALID;
}

/* ---- the card binding -------------------------------------------------------- */

const char *payment_binding_status_code(enum payment_binding_status s)
{
	return (unsigned)s <= PAYMENT_BINDING_FAILED ? binding_statuses[s] : NULL;
}

int payment_binding_key_ok(const char *s)
{
	return s && strlen(s) == PAYMENT_BINDING_KEY_LEN &&
	       memcmp(s, PAYMENT_BINDING_KEY_PREFIX, 4) == 0 &&
	       strspn(s + 4, B64URL) == PAYMENT_BINDING_KEY_LEN - 4;
}

int payment_binding_path(const char *binding_key, char out[PAYMENT_BINDING_PATH_SIZE])
{
	out[0] = '\0';
	if (!payment_binding_key_ok(binding_key))
		return 0;
	snprintf(out, PAYMENT_BINDING_PATH_SIZE, "%s/%s", PAYMENT_BINDING_PATH,
		 binding_key);
	return 1;
}

enum senim_result payment_binding_request(const char *binding_key, json_t **out,
					  char *why)
{
	*out = NULL;
	if (why)
		why[0] = '\0';
	if (!payment_binding_key_ok(binding_key))
		return refuse(why, "binding_key is not cbd_ and 22 base64url characters");
	*out = json_pack("{s:s}", "binding_key", binding_key);
	return *out ? SENIM_OK : SENIM_ERR_NOMEM;
}

/* 6 digits, 2 to 9 '*', 4 digits. */
static int masked_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 12 || n > PAYMENT_MASKED_MAX)
		return 0;
	return strspn(s, "0123456789") == 6 && strspn(s + 6, "*") == n - 10 &&
	       strspn(s + n - 4, "0123456789") == 4;
}

/* "YYYY-MM", 2000-2099, month 01-12. */
static int expiry_ok(const char *s)
{
	if (strlen(s) != PAYMENT_EXPIRY_LEN || strncmp(s, "20", 2) != 0 ||
	    strspn(s, "0123456789") != 4 || s[4] != '-' ||
	    strspn(s + 5, "0123456789") != 2)
		return 0;
	int m = (s[5] - '0') * 10 + (s[6] - '0');
	return m >= 1 && m <= 12;
}

static int binding_fields(json_t *root, struct payment_binding *b,
			  struct codec_verdict *v)
{
	const char *x, *y, *z;
	int status;
	if (!codec_enum(root, "", "status", binding_statuses, 0, &status, v))
		return 0;
	b->status = (enum payment_binding_status)status;
	switch (b->status) {
	case PAYMENT_BINDING_PENDING:
		if (!codec_string(root, "", "page_url", 12, PAYMENT_URL_MAX, 0, &x, v))
			return 0;
		if (strspn(x, URL_CHARS) != strlen(x) ||
		    (strncmp(x, "https://", 8) != 0 && strncmp(x, "http://", 7) != 0))
			return codec_fail(v, CODEC_INVALID_ANSWER,
					  "page_url is not an http(s) URL");
		snprintf(b->page_url, sizeof(b->page_url), "%s", x);
		break;
	case PAYMENT_BINDING_BOUND:
		if (!codec_string(root, "", "token", PAYMENT_TOKEN_MIN, PAYMENT_TOKEN_MAX,
				  0, &x, v) ||
		    !codec_string(root, "", "masked_pan", 12, PAYMENT_MASKED_MAX, 0, &y,
				  v) ||
		    !codec_string(root, "", "expiry", PAYMENT_EXPIRY_LEN,
				  PAYMENT_EXPIRY_LEN, 0, &z, v))
			return 0;
		if (strspn(x, B64URL) != strlen(x))
			return codec_fail(v, CODEC_INVALID_ANSWER,
					  "token is not 16 to 64 base64url characters");
		/* A full card number here would be one senim must never hold:
		 * only six digits, stars, and four digits pass. */
		if (!masked_ok(y))
			return codec_fail(v, CODEC_INVALID_ANSWER,
					  "masked_pan is not 6 digits, 2 to 9 '*' and 4 "
					  "digits");
		if (!expiry_ok(z))
			return codec_fail(v, CODEC_INVALID_ANSWER,
					  "expiry is not YYYY-MM");
		snprintf(b->token, sizeof(b->token), "%s", x);
		snprintf(b->masked_pan, sizeof(b->masked_pan), "%s", y);
		snprintf(b->expiry, sizeof(b->expiry), "%s", z);
		break;
	case PAYMENT_BINDING_FAILED:
		if (!codec_string(root, "", "fail_code", 1, PAYMENT_CODE_MAX, 0, &x, v))
			return 0;
		if (strspn(x, CODE_CHARS) != strlen(x))
			return codec_fail(v, CODEC_INVALID_ANSWER,
					  "fail_code is not [a-z0-9_]{1,64}");
		snprintf(b->fail_code, sizeof(b->fail_code), "%s", x);
		break;
	}
	return 1;
}

enum senim_result payment_binding_parse(const char *body, size_t len,
					const char *asked_key, struct payment_binding *b,
					struct codec_verdict *v)
{
	json_t *root;
	const char *key;
	memset(b, 0, sizeof(*b));
	if (!codec_decode(body, len, &root, v))
		return SENIM_OK;
	/* Whose binding first: a token for another binding is never kept. */
	if (!codec_string(root, "", "binding_key", 1, 64, 0, &key, v))
		goto done;
	if (!asked_key || strcmp(key, asked_key) != 0) {
		codec_fail(v, CODEC_WRONG_SUBJECT,
			   "binding_key is not the binding asked");
		goto done;
	}
	if (binding_fields(root, b, v))
		codec_verdict_ok(v);
done:
	if (v->status != CODEC_OK)
		sodium_memzero(b, sizeof(*b));
	json_decref(root);
	return SENIM_OK;
}

static const char *const unbind_statuses[] = { "removed", NULL };

enum senim_result payment_unbind_parse(const char *body, size_t len,
				       const char *asked_key, struct codec_verdict *v)
{
	json_t *root;
	const char *key;
	int status;
	if (!codec_decode(body, len, &root, v))
		return SENIM_OK;
	if (!codec_string(root, "", "binding_key", 1, 64, 0, &key, v))
		goto done;
	if (!asked_key || strcmp(key, asked_key) != 0) {
		codec_fail(v, CODEC_WRONG_SUBJECT,
			   "binding_key is not the binding asked");
		goto done;
	}
	/* Anything but "removed" (a binding still bound or pending) is no
	 * unbinding: the card stays as it is. */
	if (codec_enum(root, "", "status", unbind_statuses, 0, &status, v))
		codec_verdict_ok(v);
done:
	json_decref(root);
	return SENIM_OK;
}
