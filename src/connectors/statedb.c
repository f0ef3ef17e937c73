/*
 * statedb.c — the family_ties/1, address/1 and legal_capacity/1 codecs
 * (statedb.h).
 */
#include "connectors/statedb.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/banned.h"

static const char *const maritals[] = { "single", "married", "divorced", "widowed",
					NULL };
static const char *const capacities[] = { "full", "limited", "incapable", NULL };

int statedb_api_of(enum recipient_api api, enum statedb_api *out)
{
	switch (api) {
	case RECIPIENT_API_FAMILY_TIES:
		*out = STATEDB_FAMILY_TIES;
		return 1;
	case RECIPIENT_API_ADDRESS:
		*out = STATEDB_ADDRESS;
		return 1;
	case RECIPIENT_API_LEGAL_CAPACITY:
		*out = STATEDB_LEGAL_CAPACITY;
		return 1;
	default:
		return 0;
	}
}

enum senim_result statedb_request(const char *iin, const char *consent_ref, json_t **out,
				  char *why)
{
	*out = NULL;
	if (why)
		why[0] = '\0';
	if (!codec_iin_ok(iin)) {
		if (why)
			snprintf(why, CODEC_REASON_MAX, "iin is not a valid IIN");
		return SENIM_ERR_INVALID;
	}
	if (!codec_text_ok(consent_ref, 1, 128)) {
		if (why)
			snprintf(why, CODEC_REASON_MAX,
				 "consent_ref is not 1 to 128 characters");
		return SENIM_ERR_INVALID;
	}
	*out = json_pack("{s:s, s:s}", "iin", iin, "consent_ref", consent_ref);
	return *out ? SENIM_OK : SENIM_ERR_NOMEM;
}

void statedb_answer_free(struct statedb_answer *a)
{
	if (!a)
		return;
	json_decref(a->root_);
	free(a);
}

/* A third person at `path`: checked, and its IIN removed from the answer
 * (D2: the spouse's and children's IINs are not the subject's data to
 * keep). */
static int check_person(json_t *x, const char *path, const char *subject_iin,
			struct statedb_person *p, struct codec_verdict *v)
{
	const char *iin;
	if (!json_is_object(x))
		return codec_fail(v, CODEC_INVALID_ANSWER, "%s is not an object", path);
	if (!codec_iin(x, path, "iin", &iin, v))
		return 0;
	if (strcmp(iin, subject_iin) == 0)
		return codec_fail(v, CODEC_INVALID_ANSWER, "%s.iin is the subject's own",
				  path);
	if (!codec_string(x, path, "surname", 1, 100, 0, &p->surname, v) ||
	    !codec_string(x, path, "given_name", 1, 100, 0, &p->given_name, v) ||
	    !codec_string(x, path, "patronymic", 1, 100, 1, &p->patronymic, v) ||
	    !codec_date(x, path, "birth_date", 0, &p->birth_date, v))
		return 0;
	json_object_del(x, "iin");
	return 1;
}

static int check_family(struct statedb_answer *a, const char *subject_iin,
			struct codec_verdict *v)
{
	json_t *root = a->root_, *spouse, *children;
	int k;
	if (!codec_enum(root, "", "marital_status", maritals, 0, &k, v))
		return 0;
	a->marital_status = (enum statedb_marital)k;
	if (!codec_object(root, "", "spouse", 1, &spouse, v))
		return 0;
	if ((a->marital_status == STATEDB_MARRIED) != (spouse != NULL))
		return codec_fail(v, CODEC_INVALID_ANSWER,
				  "spouse is not a person exactly when married");
	if (spouse && !check_person(spouse, "spouse", subject_iin, &a->spouse, v))
		return 0;
	a->has_spouse = spouse != NULL;
	if (!codec_array(root, "", "children", STATEDB_CHILDREN_MAX, &children, v))
		return 0;
	a->nchildren = json_array_size(children);
	for (size_t i = 0; i < a->nchildren; i++) {
		char path[40];
		snprintf(path, sizeof(path), "children[%zu]", i);
		if (!check_person(json_array_get(children, i), path, subject_iin,
				  &a->children[i], v))
			return 0;
	}
	return 1;
}

static int check_address(struct statedb_answer *a, const char *today,
			 struct codec_verdict *v)
{
	json_t *addr;
	if (!codec_object(a->root_, "", "registered_address", 1, &addr, v))
		return 0;
	if (!addr)
		return 1;
	if (!codec_string(addr, "registered_address", "text", 1, 500, 0, &a->address_text,
			  v) ||
	    !codec_string(addr, "registered_address", "registry_id", 1, 64, 0,
			  &a->address_registry_id, v) ||
	    !codec_date(addr, "registered_address", "since", 0, &a->address_since, v))
		return 0;
	if (strcmp(a->address_since, today) > 0)
		return codec_fail(v, CODEC_INVALID_ANSWER,
				  "registered_address.since is in the future");
	return 1;
}

static int check_capacity(struct statedb_answer *a, struct codec_verdict *v)
{
	json_t *root = a->root_;
	int k;
	if (!codec_enum(root, "", "legal_capacity", capacities, 0, &k, v))
		return 0;
	a->legal_capacity = (enum statedb_capacity)k;
	if (!codec_string(root, "", "source_body", 1, 200, 0, &a->source_body, v))
		return 0;
	/* Required unless full; with full it may be null or left out. */
	if (a->legal_capacity == STATEDB_FULL && !json_object_get(root, "decision_date"))
		return 1;
	if (!codec_date(root, "", "decision_date", a->legal_capacity == STATEDB_FULL,
			&a->decision_date, v))
		return 0;
	return 1;
}

static int check_answer(struct statedb_answer *a, const char *asked_iin,
			const char *today, struct codec_verdict *v)
{
	const char *iin;
	if (!codec_iin(a->root_, "", "iin", &iin, v))
		return 0;
	if (strcmp(iin, asked_iin) != 0)
		return codec_fail(v, CODEC_WRONG_SUBJECT,
				  "iin is not the IIN asked about");
	if (!codec_date(a->root_, "", "as_of", 0, &a->as_of, v))
		return 0;
	if (strcmp(a->as_of, today) > 0)
		return codec_fail(v, CODEC_INVALID_ANSWER, "as_of is in the future");
	switch (a->api) {
	case STATEDB_FAMILY_TIES:
		return check_family(a, asked_iin, v);
	case STATEDB_ADDRESS:
		return check_address(a, today, v);
	case STATEDB_LEGAL_CAPACITY:
		return check_capacity(a, v);
	}
	return codec_fail(v, CODEC_INVALID_ANSWER, "api is unknown");
}

enum senim_result statedb_parse(enum statedb_api api, const char *body, size_t len,
				const char *asked_iin, const char *today,
				struct statedb_answer **out, struct codec_verdict *v)
{
	*out = NULL;
	json_t *root;
	if (!codec_decode(body, len, &root, v))
		return SENIM_OK;
	struct statedb_answer *a = calloc(1, sizeof(*a));
	if (!a) {
		json_decref(root);
		return SENIM_ERR_NOMEM;
	}
	a->root_ = root;
	a->api = api;
	if (!check_answer(a, asked_iin ? asked_iin : "", today ? today : "", v)) {
		statedb_answer_free(a);
		return SENIM_OK;
	}
	*out = a;
	return SENIM_OK;
}

/* "Surname Given Patronymic" as a new JSON string (NULL: out of memory).
 * 300 code points of at most 4 bytes, two spaces and the NUL fit. */
static json_t *full_name(const struct statedb_person *p)
{
	char name[1210];
	snprintf(name, sizeof(name), "%s %s%s%s", p->surname, p->given_name,
		 p->patronymic ? " " : "", p->patronymic ? p->patronymic : "");
	json_t *s = json_string(name);
	sodium_memzero(name, sizeof(name));
	return s;
}

static json_t *dependants(const struct statedb_answer *a)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < a->nchildren; i++) {
		json_t *name = full_name(&a->children[i]);
		json_t *o =
			name ? json_pack("{s:s, s:o, s:s}", "relation", "child", "name",
					 name, "birth_date", a->children[i].birth_date)
			     : NULL;
		if (json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *opt_string(const char *s)
{
	return s ? json_string(s) : json_null();
}

enum senim_result statedb_kept(const struct statedb_answer *a,
			       const struct recipient_service *s, json_t **out)
{
	*out = NULL;
	json_t *k = json_object();
	if (!k)
		return SENIM_ERR_NOMEM;
	enum senim_result err = SENIM_OK;
	for (size_t i = 0; !err && i < s->nreceives; i++) {
		const char *code = s->receives[i].code;
		json_t *x = NULL;
		int known = 1;
		switch (a->api) {
		case STATEDB_FAMILY_TIES:
			if (strcmp(code, "family.marital_status") == 0)
				x = json_string(maritals[a->marital_status]);
			else if (strcmp(code, "family.spouse_name") == 0)
				x = a->has_spouse ? full_name(&a->spouse) : json_null();
			else if (strcmp(code, "family.dependants") == 0)
				x = dependants(a);
			else
				known = 0;
			break;
		case STATEDB_ADDRESS:
			if (strcmp(code, "contact.registered_address") == 0)
				x = opt_string(a->address_text);
			else if (strcmp(code, "contact.address_registry_id") == 0)
				x = opt_string(a->address_registry_id);
			else
				known = 0;
			break;
		case STATEDB_LEGAL_CAPACITY:
			if (strcmp(code, "medical.legal_capacity") == 0)
				x = json_string(capacities[a->legal_capacity]);
			else if (strcmp(code, "medical.source_body") == 0)
				x = json_string(a->source_body);
			else
				known = 0;
			break;
		}
		if (!known) {
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
