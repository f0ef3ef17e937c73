/*
 * fuzz_loan_event_answer.c — bureau_events_parse on arbitrary bytes, as a
 * credit bureau's answer to a loan_event/1 batch (src/connectors/bureau.c).
 *
 * The input's first line is the batch's event ids, comma-separated (1 to
 * 16 of them; an empty line is one empty id), the rest the body, an exactly
 * sized heap block that is not NUL-terminated.  Besides "no crash, no
 * leak" and codec_checks.h's checks of every verdict, an answer that
 * parses ok has exactly one result per event, in order, each naming its
 * event, with a known status, and an error code of [a-z0-9_]{1,64} exactly
 * when rejected.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec_checks.h"
#include "connectors/bureau.h"
#include "common/banned.h"

#define IDS_MAX 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size < 1024 ? size : 1024);
	if (!nl)
		return 0;
	size_t idlen = (size_t)(nl - data);
	char *line = malloc(idlen + 1);
	if (!line)
		abort();
	memcpy(line, data, idlen);
	line[idlen] = '\0';
	const char *ids[IDS_MAX];
	size_t n = 0;
	for (char *p = line; p && n < IDS_MAX; n++) {
		ids[n] = p;
		p = strchr(p, ',');
		if (p)
			*p++ = '\0';
	}
	size_t len = size - idlen - 1;
	char *body = malloc(len ? len : 1);
	if (!body)
		abort();
	memcpy(body, nl + 1, len);

	struct bureau_event_results *r = NULL;
	struct codec_verdict v;
	if (bureau_events_parse(body, len, ids, n, &r, &v) != SENIM_OK)
		abort();
	fuzz_check_verdict(&v, r != NULL, body, len);
	if (r) {
		json_t *results = json_object_get(r->root_, "results");
		if (r->n != n || json_array_size(results) != n)
			abort();
		for (size_t i = 0; i < n; i++) {
			const struct bureau_event_result *x = &r->results[i];
			json_t *id =
				json_object_get(json_array_get(results, i), "event_id");
			if (!json_is_string(id) ||
			    strcmp(json_string_value(id), ids[i]) != 0)
				abort();
			if (x->status != BUREAU_EVENT_ACCEPTED &&
			    x->status != BUREAU_EVENT_DUPLICATE &&
			    x->status != BUREAU_EVENT_REJECTED)
				abort();
			if ((x->status == BUREAU_EVENT_REJECTED) !=
			    (x->error_code != NULL))
				abort();
			if (x->error_code &&
			    (!x->error_code[0] || strlen(x->error_code) > 64 ||
			     strspn(x->error_code,
				    "abcdefghijklmnopqrstuvwxyz0123456789_") !=
				     strlen(x->error_code)))
				abort();
		}
	}
	bureau_event_results_free(r);
	free(body);
	free(line);
	return 0;
}
