/*
 * processing.c — the processing/1 codec and pseudonyms (processing.h).
 */
#include "connectors/processing.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "common/banned.h"

#define DOMAIN "senim/processing-pseudonym/1"
#define JOB_ID_LEN 26 /* "trf_" + 22 */
#define RECIPIENT_MAX 64

static const char *const statuses[] = { "accepted", NULL };

void processing_pseudonym_key(const struct keyring *kr, const char *recipient,
			      unsigned char key[PROCESSING_KEY_BYTES])
{
	/* Domain-separated from the IIN, phone and e-mail indexes, which
	 * hash bare normalised values: the NUL keeps "ab"+"c" apart from
	 * "a"+"bc". */
	unsigned char msg[sizeof(DOMAIN) + RECIPIENT_MAX];
	size_t n = strnlen(recipient, RECIPIENT_MAX);
	memcpy(msg, DOMAIN, sizeof(DOMAIN)); /* with its NUL */
	memcpy(msg + sizeof(DOMAIN), recipient, n);
	keyring_blind_index(kr, msg, sizeof(DOMAIN) + n, key);
}

void processing_pseudonym(const unsigned char key[PROCESSING_KEY_BYTES],
			  const char *subject_id, char out[PROCESSING_PSEUDONYM_LEN])
{
	unsigned char h[16];
	crypto_generichash(h, sizeof(h), (const unsigned char *)subject_id,
			   strlen(subject_id), key, PROCESSING_KEY_BYTES);
	sodium_bin2hex(out, PROCESSING_PSEUDONYM_LEN, h, sizeof(h));
}

int processing_pseudonym_ok(const char *s)
{
	return s && strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

static int job_id_ok(const char *s)
{
	return s && strlen(s) == JOB_ID_LEN && strncmp(s, "trf_", 4) == 0 &&
	       strspn(s + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456"
			     "789-_") == JOB_ID_LEN - 4;
}

static int purpose_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n >= 1 && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz_") == n;
}

static int field_code_ok(const char *k)
{
	const char *dot = strchr(k, '.');
	size_t n = strlen(k);
	return n >= 3 && n <= 64 && dot && dot != k && dot[1] &&
	       strspn(k, "abcdefghijklmnopqrstuvwxyz_.") == n && !strchr(dot + 1, '.');
}

static enum senim_result refuse(char *why, const char *reason)
{
	if (why)
		snprintf(why, CODEC_REASON_MAX, "%s", reason);
	return SENIM_ERR_INVALID;
}

enum senim_result processing_job_request(const char *job_id, const char *purpose,
					 const char *pseudonym, const json_t *data,
					 json_t **out, char *why)
{
	*out = NULL;
	if (why)
		why[0] = '\0';
	if (!job_id_ok(job_id))
		return refuse(why, "job_id is not trf_ and 22 base64url characters");
	if (!purpose_ok(purpose))
		return refuse(why, "purpose is not a purpose code");
	if (!processing_pseudonym_ok(pseudonym))
		return refuse(why, "pseudonym is not 32 lowercase hex digits");
	size_t n = json_is_object(data) ? json_object_size(data) : 0;
	if (n < 1 || n > PROCESSING_DATA_MAX)
		return refuse(why, "data is not an object of 1 to 32 fields");
	const char *k;
	json_t *x;
	json_object_foreach((json_t *)data, k, x)
	{
		if (!field_code_ok(k))
			return refuse(why, "data has a key that is not category.field");
		/* The subject is the pseudonym, never their IIN (T5). */
		if (strcmp(k, "identity.iin") == 0)
			return refuse(why, "data holds identity.iin");
		if (json_is_object(x) || json_is_array(x))
			return refuse(why, "data has a field that is not a scalar");
	}
	json_t *copy = json_deep_copy(data);
	if (!copy)
		return SENIM_ERR_NOMEM;
	*out = json_pack("{s:s, s:s, s:s, s:o}", "job_id", job_id, "purpose", purpose,
			 "pseudonym", pseudonym, "data", copy);
	return *out ? SENIM_OK : SENIM_ERR_NOMEM;
}

enum senim_result processing_job_parse(const char *body, size_t len,
				       const char *asked_job_id, struct codec_verdict *v)
{
	json_t *root;
	const char *job_id;
	int status;
	if (!codec_decode(body, len, &root, v))
		return SENIM_OK;
	if (codec_string(root, "", "job_id", 1, 64, 0, &job_id, v)) {
		if (!asked_job_id || strcmp(job_id, asked_job_id) != 0)
			codec_fail(v, CODEC_WRONG_SUBJECT, "job_id is not the job sent");
		else if (codec_enum(root, "", "status", statuses, 0, &status, v))
			codec_verdict_ok(v);
	}
	json_decref(root);
	return SENIM_OK;
}
