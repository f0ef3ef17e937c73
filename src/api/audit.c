/*
 * audit.c — GET /v1/audit/verify: the chain checked on demand, for the
 * auditor and the DPO (S4).  The same walk as `senim audit verify`, against
 * the anchor this server appends to.
 */
#include "api/api.h"
#include "api/app.h"
#include "audit/audit.h"
#include "common/banned.h"

enum senim_result api_audit_verify(struct http_request *req, struct http_response *resp)
{
	struct audit_report rep;
	enum senim_result err = audit_verify(req->app->store, req->app->keys, &rep);
	if (err && err != SENIM_ERR_TAMPERED)
		return err; /* (the server made its anchor: it cannot be missing) */
	json_t *o = json_pack("{s:b,s:I,s:I}", "intact", err == SENIM_OK, "records",
			      (json_int_t)rep.records, "checkpoints",
			      (json_int_t)rep.checkpoints);
	if (o && err) {
		json_object_set_new(o, "first_bad_seq", json_integer(rep.first_bad_seq));
		json_object_set_new(o, "problem", json_string(rep.problem));
	}
	return http_reply_json(resp, 200, o);
}
