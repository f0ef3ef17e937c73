/*
 * operator.c — the phone_check/1 codec (operator.h).
 */
#include "connectors/operator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/banned.h"

static const char *const results[] = { "match", "mismatch", "unknown_number", NULL };
static const char *const subscribers[] = { "prepaid", "postpaid", NULL };

int operator_msisdn_ok(const char *s)
{
	return s && strlen(s) == 12 && s[0] == '+' && s[1] == '7' &&
	       (s[2] == '6' || s[2] == '7') && strspn(s + 3, "0123456789") == 9;
}

const char *operator_result_code(enum operator_result r)
{
	return (unsigned)r <= OPERATOR_UNKNOWN_NUMBER ? results[r] : NULL;
}

enum senim_result operator_check_request(const char *msisdn, const char *iin,
					 json_t **out, char *why)
{
	*out = NULL;
	if (why)
		why[0] = '\0';
	if (!operator_msisdn_ok(msisdn)) {
		if (why)
			snprintf(why, CODEC_REASON_MAX,
				 "msisdn is not +7 6|7 and 9 digits");
		return SENIM_ERR_INVALID;
	}
	if (!codec_iin_ok(iin)) {
		if (why)
			snprintf(why, CODEC_REASON_MAX, "iin is not a valid IIN");
		return SENIM_ERR_INVALID;
	}
	*out = json_pack("{s:s, s:s}", "msisdn", msisdn, "iin", iin);
	return *out ? SENIM_OK : SENIM_ERR_NOMEM;
}

void operator_answer_free(struct operator_answer *a)
{
	if (!a)
		return;
	json_decref(a->root_);
	free(a);
}

static int check_score(struct operator_answer *a, struct codec_verdict *v)
{
	json_t *val, *min, *max;
	if (!codec_object(a->root_, "", "score", 1, &a->score, v))
		return 0;
	if (!a->score)
		return 1;
	if (!codec_number(a->score, "score", "value", &val, v) ||
	    !codec_number(a->score, "score", "min", &min, v) ||
	    !codec_number(a->score, "score", "max", &max, v))
		return 0;
	a->score_value = json_number_value(val);
	a->score_min = json_number_value(min);
	a->score_max = json_number_value(max);
	if (!(a->score_min < a->score_max))
		return codec_fail(v, CODEC_INVALID_ANSWER,
				  "score.min is not below score.max");
	if (a->score_value < a->score_min || a->score_value > a->score_max)
		return codec_fail(v, CODEC_INVALID_ANSWER,
				  "score.value is outside score.min to score.max");
	return 1;
}

static int check_answer(struct operator_answer *a, const char *asked_msisdn,
			const char *asked_iin, const char *today, struct codec_verdict *v)
{
	json_t *root = a->root_;
	const char *msisdn, *iin;
	int k;
	if (!codec_string(root, "", "msisdn", 1, 16, 0, &msisdn, v) ||
	    !codec_iin(root, "", "iin", &iin, v))
		return 0;
	if (strcmp(msisdn, asked_msisdn) != 0)
		return codec_fail(v, CODEC_WRONG_SUBJECT,
				  "msisdn is not the number asked about");
	if (strcmp(iin, asked_iin) != 0)
		return codec_fail(v, CODEC_WRONG_SUBJECT,
				  "iin is not the IIN asked about");
	if (!codec_enum(root, "", "result", results, 0, &k, v))
		return 0;
	a->result = (enum operator_result)k;
	if (!codec_date(root, "", "owner_since", 1, &a->owner_since, v) ||
	    !codec_enum(root, "", "subscriber_type", subscribers, 1, &a->subscriber_type,
			v) ||
	    !check_score(a, v))
		return 0;
	if (a->result != OPERATOR_MATCH) {
		/* An operator never says more about a number that is not the
		 * person's: anything more would be about someone else. */
		if (a->owner_since)
			return codec_fail(
				v, CODEC_INVALID_ANSWER,
				"owner_since is set although result is not match");
		if (a->subscriber_type >= 0)
			return codec_fail(
				v, CODEC_INVALID_ANSWER,
				"subscriber_type is set although result is not match");
		if (a->score)
			return codec_fail(v, CODEC_INVALID_ANSWER,
					  "score is set although result is not match");
	}
	if (a->owner_since && strcmp(a->owner_since, today) > 0)
		return codec_fail(v, CODEC_INVALID_ANSWER,
				  "owner_since is in the future");
	return 1;
}

enum senim_result operator_check_parse(const char *body, size_t len,
				       const char *asked_msisdn, const char *asked_iin,
				       const char *today, struct operator_answer **out,
				       struct codec_verdict *v)
{
	*out = NULL;
	json_t *root;
	if (!codec_decode(body, len, &root, v))
		return SENIM_OK;
	struct operator_answer *a = calloc(1, sizeof(*a));
	if (!a) {
		json_decref(root);
		return SENIM_ERR_NOMEM;
	}
	a->root_ = root;
	if (!check_answer(a, asked_msisdn ? asked_msisdn : "", asked_iin ? asked_iin : "",
			  today ? today : "", v)) {
		operator_answer_free(a);
		return SENIM_OK;
	}
	*out = a;
	return SENIM_OK;
}

enum senim_result operator_check_kept(const struct operator_answer *a,
				      const struct recipient_service *s, json_t **out)
{
	*out = NULL;
	json_t *k = json_object();
	if (!k)
		return SENIM_ERR_NOMEM;
	enum senim_result err = SENIM_OK;
	for (size_t i = 0; !err && i < s->nreceives; i++) {
		const char *code = s->receives[i].code;
		json_t *x;
		if (strcmp(code, "phone.match") == 0)
			x = json_string(results[a->result]);
		else if (strcmp(code, "phone.owner_since") == 0)
			x = a->owner_since ? json_string(a->owner_since) : json_null();
		else if (strcmp(code, "phone.subscriber_type") == 0)
			x = a->subscriber_type >= 0
				    ? json_string(subscribers[a->subscriber_type])
				    : json_null();
		else if (strcmp(code, "phone.score") == 0)
			x = a->score ? json_pack("{s:O, s:O, s:O}", "value",
						 json_object_get(a->score, "value"),
						 "min", json_object_get(a->score, "min"),
						 "max", json_object_get(a->score, "max"))
				     : json_null();
		else {
			err = SENIM_ERR_INVALID;
			break;
		}
		err = codec_set(k, code, x);
	}
	if (err) {
		json_decref(k);
		return err;
	}
	*out = k;
	return SENIM_OK;
}
