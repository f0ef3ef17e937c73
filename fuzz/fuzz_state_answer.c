/*
 * fuzz_state_answer.c — statedb_parse on arbitrary bytes, as a state
 * database's answer to family_ties/1, address/1 or legal_capacity/1
 * (src/connectors/statedb.c).
 *
 * Byte 0 picks the API (its value mod 3: family, address, capacity), the
 * next 12 bytes are the IIN asked about, the rest the body, an exactly
 * sized heap block that is not NUL-terminated; "today" is fixed.  Besides
 * "no crash, no leak" and codec_checks.h's checks of every verdict, an
 * answer that parses ok echoes the IIN asked about, has as_of (and an
 * address's since) not after today, a spouse exactly when married, at most
 * 20 children, no third person's IIN left in the decoded answer (checked,
 * then dropped), a decision date unless full; its kept record has exactly
 * the API's items and no IIN of the answer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec_checks.h"
#include "connectors/statedb.h"
#include "common/banned.h"

#define TODAY "2026-12-31"

static void check_answer(const struct statedb_answer *a, const char *asked)
{
	json_t *root = a->root_;
	if (strcmp(json_string_value(json_object_get(root, "iin")), asked) != 0 ||
	    strcmp(a->as_of, TODAY) > 0)
		abort();
	switch (a->api) {
	case STATEDB_FAMILY_TIES: {
		json_t *kids = json_object_get(root, "children"), *x;
		size_t i;
		if ((a->marital_status == STATEDB_MARRIED) != a->has_spouse ||
		    a->nchildren > STATEDB_CHILDREN_MAX ||
		    json_object_get(json_object_get(root, "spouse"), "iin"))
			abort();
		json_array_foreach(kids, i, x) if (json_object_get(x, "iin")) abort();
		break;
	}
	case STATEDB_ADDRESS:
		if (a->address_text && (strcmp(a->address_since, TODAY) > 0 ||
					!codec_text_ok(a->address_text, 1, 500) ||
					!codec_text_ok(a->address_registry_id, 1, 64)))
			abort();
		break;
	case STATEDB_LEGAL_CAPACITY:
		if (a->legal_capacity != STATEDB_FULL && !a->decision_date)
			abort();
		if (!codec_text_ok(a->source_body, 1, 200))
			abort();
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const items[3][4] = {
		{ "family.marital_status", "family.spouse_name", "family.dependants",
		  NULL },
		{ "contact.registered_address", "contact.address_registry_id", NULL },
		{ "medical.legal_capacity", "medical.source_body", NULL },
	};
	if (size < 13)
		return 0;
	enum statedb_api api = (enum statedb_api)(data[0] % 3);
	char asked[13];
	memcpy(asked, data + 1, 12);
	asked[12] = '\0';
	size_t len = size - 13;
	char *body = malloc(len ? len : 1);
	if (!body)
		abort();
	memcpy(body, data + 13, len);

	struct statedb_answer *a = NULL;
	struct codec_verdict v;
	if (statedb_parse(api, body, len, asked, TODAY, &a, &v) != SENIM_OK)
		abort();
	fuzz_check_verdict(&v, a != NULL, body, len);
	if (a) {
		check_answer(a, asked);
		struct fuzz_svc s;
		json_t *k;
		fuzz_svc_make(&s, items[api]);
		if (statedb_kept(a, &s.s, &k) != SENIM_OK)
			abort();
		fuzz_check_kept(k, items[api], body, len);
	}
	statedb_answer_free(a);
	free(body);
	return 0;
}
