/*
 * reply.c — the http_reply_* helpers and request accessors of http.h.
 */
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#include "http/http.h"
#include "common/banned.h"

const char *http_header(struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_query(struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

enum senim_result http_reply_bytes(struct http_response *resp, int status,
				   const char *type, const void *data, size_t len)
{
	buf_reset(&resp->body);
	resp->shared_body = NULL;
	enum senim_result err = buf_add(&resp->body, data, len);
	if (err)
		return err;
	resp->status = status;
	resp->content_type = type;
	resp->replied = 1;
	return SENIM_OK;
}

enum senim_result http_reply_json(struct http_response *resp, int status, json_t *doc)
{
	if (!doc)
		return SENIM_ERR_NOMEM;
	char *text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!text)
		return SENIM_ERR_NOMEM;
	enum senim_result err =
		http_reply_bytes(resp, status, "application/json", text, strlen(text));
	buf_wipe_free(text);
	return err;
}

enum senim_result http_reply_shared(struct http_response *resp, int status,
				    const char *type, const void *data, size_t len)
{
	buf_reset(&resp->body);
	resp->shared_body = data;
	resp->shared_len = len;
	resp->status = status;
	resp->content_type = type;
	resp->replied = 1;
	return SENIM_OK;
}

enum senim_result http_reply_empty(struct http_response *resp)
{
	buf_reset(&resp->body);
	resp->shared_body = NULL;
	resp->status = 204;
	resp->content_type = NULL;
	resp->replied = 1;
	return SENIM_OK;
}

enum senim_result http_reply_problem(struct http_request *req, struct http_response *resp,
				     struct problem *p)
{
	buf_reset(&resp->body);
	resp->shared_body = NULL;
	enum senim_result err =
		problem_render(p, req->lang, req->request_id, &resp->body);
	if (err)
		return err;
	resp->status = problem_status(p->code);
	resp->content_type = "application/problem+json";
	resp->replied = 1;
	/* RFC 9110 15.5.2: every 401 names the scheme that would do (a wrong
	 * code or password as much as a missing token). */
	if (resp->status == 401)
		return http_add_header(req, resp, "WWW-Authenticate",
				       "Bearer realm=\"senim\"");
	return SENIM_OK;
}

enum senim_result http_reply_code(struct http_request *req, struct http_response *resp,
				  const char *code)
{
	struct problem p = { .code = code };
	return http_reply_problem(req, resp, &p);
}

enum senim_result http_reply_policy_required(struct http_request *req,
					     struct http_response *resp,
					     const char *current_version)
{
	struct problem p = { .code = "policy_acceptance_required",
			     .extra = json_pack("{s:s?,s:s}", "current_version",
						current_version && current_version[0]
							? current_version
							: NULL,
						"missing_consent", "policy") };
	return http_reply_problem(req, resp, &p);
}

enum senim_result http_add_header(struct http_request *req, struct http_response *resp,
				  const char *name, const char *value)
{
	if (resp->nheaders == HTTP_MAX_HEADERS)
		return SENIM_ERR_TOO_LARGE;
	char *copy = arena_strdup(&req->arena, value);
	if (!copy)
		return SENIM_ERR_NOMEM;
	resp->header_names[resp->nheaders] = name;
	resp->header_values[resp->nheaders] = copy;
	resp->nheaders++;
	return SENIM_OK;
}

/* "application/json" or "application/json; charset=utf-8", any case. */
static int is_json_type(const char *type)
{
	if (!type)
		return 0;
	size_t n = strlen("application/json");
	if (strncasecmp(type, "application/json", n) != 0)
		return 0;
	const char *rest = type + n;
	while (*rest == ' ')
		rest++;
	if (*rest == '\0')
		return 1;
	if (*rest != ';')
		return 0;
	rest++;
	while (*rest == ' ')
		rest++;
	return strncasecmp(rest, "charset=utf-8", 13) == 0 && rest[13] == '\0';
}

enum senim_result http_json_body_or_reply(struct http_request *req,
					  struct http_response *resp,
					  const struct jsonin_field *fields, size_t n,
					  json_t **out)
{
	*out = NULL;
	if (!is_json_type(http_header(req, "Content-Type"))) {
		http_reply_code(req, resp, "unsupported_media_type");
		return SENIM_ERR_INVALID;
	}
	struct jsonin_error e;
	json_t *doc;
	if (jsonin_parse(req->body, req->body_len, &doc, &e)) {
		struct problem p = { .code = e.rule ? "validation_failed"
						    : "malformed_json",
				     .field = e.rule ? e.field : NULL,
				     .rule = e.rule,
				     .limit = e.limit };
		http_reply_problem(req, resp, &p);
		return SENIM_ERR_INVALID;
	}
	if (fields && jsonin_check(doc, fields, n, &e)) {
		struct problem p = { .code = "validation_failed",
				     .field = e.field,
				     .rule = e.rule,
				     .limit = e.limit };
		http_reply_problem(req, resp, &p);
		json_decref(doc);
		return SENIM_ERR_INVALID;
	}
	*out = doc;
	return SENIM_OK;
}

size_t http_client_key(const struct http_request *req, unsigned char out[16])
{
	const union MHD_ConnectionInfo *ci =
		req->conn ? MHD_get_connection_info(req->conn,
						    MHD_CONNECTION_INFO_CLIENT_ADDRESS)
			  : NULL;
	if (!ci || !ci->client_addr)
		return 0;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return 4;
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	const struct in6_addr *a6 =
		&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(a6)) {
		memcpy(out, a6->s6_addr + 12, 4);
		return 4;
	}
	memcpy(out, a6->s6_addr, 8);
	return 8;
}
