/*
 * fuzz_processing_answer.c — processing_job_parse on arbitrary bytes, as a
 * processor's answer to processing/1 (src/connectors/processing.c).
 *
 * The first 26 bytes are the job id asked about ("trf_" and 22 more in the
 * seeds; any bytes here), the rest the body, an exactly sized heap block
 * that is not NUL-terminated.  Besides "no crash, no leak" and
 * codec_checks.h's checks of every verdict, an answer that parses ok is a
 * JSON object whose job_id is the one asked about and whose status is
 * "accepted".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec_checks.h"
#include "connectors/processing.h"
#include "common/banned.h"

#define JOB_LEN 26

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < JOB_LEN)
		return 0;
	char job[JOB_LEN + 1];
	memcpy(job, data, JOB_LEN);
	job[JOB_LEN] = '\0';
	size_t len = size - JOB_LEN;
	char *body = malloc(len ? len : 1);
	if (!body)
		abort();
	memcpy(body, data + JOB_LEN, len);

	struct codec_verdict v;
	if (processing_job_parse(body, len, job, &v) != SENIM_OK)
		abort();
	int ok = v.status == CODEC_OK;
	fuzz_check_verdict(&v, ok, body, len);
	if (ok) {
		json_error_t e;
		json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
		if (!root ||
		    strcmp(json_string_value(json_object_get(root, "job_id")), job) !=
			    0 ||
		    strcmp(json_string_value(json_object_get(root, "status")),
			   "accepted") != 0)
			abort();
		json_decref(root);
	}
	free(body);
	return 0;
}
