/*
 * policies.c — the privacy policy over HTTP (P1-P3).
 *
 * GET /v1/policies/current is the most-read route (every app start shows the
 * policy), so its answers are kept ready-made per language and rebuilt only
 * when a newer version appears.  Freshness is checked on every request with
 * one indexed read, so a version published by another process (the CLI) is
 * served from the very next request: P2, in force from publication.
 */
#include <pthread.h>
#include <stdint.h>
#include <zlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/app.h"
#include "common/clock.h"
#include "policy/policy.h"
#include "common/banned.h"

/* Policy texts exist in Russian and Kazakh; any other language gets Russian. */
static enum lang text_lang(enum lang l)
{
	return l == LANG_KK ? LANG_KK : LANG_RU;
}

static json_t *doc_meta_json(const struct policy_doc *d)
{
	char when[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(d->published_at, when);
	return json_pack("{s:s,s:s,s:{s:s,s:s}}", "version", d->version, "published_at",
			 when, "sha256", "ru", d->sha256_ru, "kk", d->sha256_kk);
}

static json_t *doc_json(const struct policy_doc *d, enum lang l)
{
	json_t *o = doc_meta_json(d);
	if (!o)
		return NULL;
	l = text_lang(l);
	const char *text = l == LANG_KK ? d->text_kk : d->text_ru;
	size_t len = l == LANG_KK ? d->len_kk : d->len_ru;
	json_object_set_new(o, "language", json_string(lang_code(l)));
	json_object_set_new(o, "text", json_stringn(text, len));
	return o;
}

/* ---- the cache of the current version's answers ------------------------- */

/* Bodies are never freed while serving: a response may still be sending
 * one when a newer version replaces it, so replaced bodies go on the
 * retired list and are freed with the cache.  Versions are few. */
struct retired_body {
	struct retired_body *next;
	char *body;
};

struct policy_cache {
	pthread_mutex_t lock;
	int64_t seq;	      /* 0: empty */
	int64_t data_version; /* the store's, when seq was last read */
	int have_version;
	char *body[2]; /* [0] ru, [1] kk: ready JSON */
	size_t len[2];
	char *gz[2]; /* the same, gzip-compressed, for clients that accept it */
	size_t gz_len[2];
	struct retired_body *retired;
};

struct policy_cache *api_policy_cache_new(void)
{
	struct policy_cache *c = calloc(1, sizeof(*c));
	if (c)
		pthread_mutex_init(&c->lock, NULL);
	return c;
}

void api_policy_cache_free(struct policy_cache *c)
{
	if (!c)
		return;
	free(c->body[0]);
	free(c->body[1]);
	free(c->gz[0]);
	free(c->gz[1]);
	while (c->retired) {
		struct retired_body *r = c->retired;
		c->retired = r->next;
		free(r->body);
		free(r);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Keep a replaced body alive until the cache is freed. */
static void retire(struct policy_cache *c, char *body)
{
	if (!body)
		return;
	struct retired_body *r = malloc(sizeof(*r));
	if (!r)
		return; /* leak rather than free under a response still sending */
	r->body = body;
	r->next = c->retired;
	c->retired = r;
}

/* A gzip member of data (heap), or NULL when compression fails (then the
 * plain body is served). */
static char *gzip(const char *data, size_t len, size_t *out_len)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	uLong cap = deflateBound(&z, (uLong)len);
	char *out = malloc(cap);
	if (out) {
		z.next_in = (Bytef *)(uintptr_t)data;
		z.avail_in = (uInt)len;
		z.next_out = (Bytef *)out;
		z.avail_out = (uInt)cap;
		if (deflate(&z, Z_FINISH) == Z_STREAM_END) {
			*out_len = z.total_out;
		} else {
			free(out);
			out = NULL;
		}
	}
	deflateEnd(&z);
	return out;
}

/* 1 when Accept-Encoding admits gzip (and does not refuse it with q=0). */
static int accepts_gzip(const char *h)
{
	if (!h)
		return 0;
	const char *p = strstr(h, "gzip");
	if (!p)
		return 0;
	const char *end = strchr(p, ',');
	const char *q = strstr(p, "q=0");
	return !(q && (!end || q < end) && !(q[3] == '.' && q[4] >= '1' && q[4] <= '9'));
}

/* Rebuild the cache from the store; called with the lock held. */
static enum senim_result cache_fill(struct policy_cache *c, struct store *st)
{
	struct policy_doc d;
	char *bodies[2] = { NULL, NULL };
	size_t lens[2] = { 0, 0 };
	enum senim_result err = policy_get(st, NULL, &d);
	if (err)
		return err;
	for (int i = 0; i < 2; i++) {
		json_t *o = doc_json(&d, i == 0 ? LANG_RU : LANG_KK);
		bodies[i] = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (!bodies[i]) {
			err = SENIM_ERR_NOMEM;
			goto fail;
		}
		lens[i] = strlen(bodies[i]);
	}
	for (int i = 0; i < 2; i++) {
		retire(c, c->body[i]);
		retire(c, c->gz[i]);
		c->body[i] = bodies[i];
		c->len[i] = lens[i];
		/* Compressed once per version: a mobile client's HTTP stack
		 * asks for gzip, and the policy is ~24 KB of text. */
		c->gz[i] = gzip(bodies[i], lens[i], &c->gz_len[i]);
		bodies[i] = NULL; /* the cache's now */
	}
	c->seq = d.seq;
fail:
	free(bodies[0]);
	free(bodies[1]);
	policy_doc_release(&d);
	return err;
}

/* The cached answer in text language `text` (index i), gzip-compressed when
 * the client takes it; called with the lock held. */
static enum senim_result reply_cached(struct http_request *req,
				      struct http_response *resp,
				      const struct policy_cache *c, int i, enum lang text)
{
	enum senim_result err;
	if (c->gz[i] && accepts_gzip(http_header(req, "Accept-Encoding"))) {
		err = http_reply_shared(resp, 200, "application/json", c->gz[i],
					c->gz_len[i]);
		if (err)
			return err;
		err = http_add_header(req, resp, "Content-Encoding", "gzip");
	} else {
		err = http_reply_shared(resp, 200, "application/json", c->body[i],
					c->len[i]);
	}
	if (err)
		return err;
	req->lang = text; /* Content-Language: the text's own */
	return http_add_header(req, resp, "Vary", "Accept-Encoding, Accept-Language");
}

enum senim_result api_policy_current(struct http_request *req, struct http_response *resp)
{
	struct app *app = req->app;
	struct policy_cache *c = app->policies;
	/* The text is Russian or Kazakh; an error stays in the asked language. */
	enum lang text = text_lang(req->lang);
	int i = text == LANG_KK ? 1 : 0;
	/* P2: a version published by any process is served from the very next
	 * request.  The store's data version says cheaply whether anything was
	 * committed since the cache was checked; only then is the current
	 * version looked up (every time, on engines without one). */
	int64_t version = 0;
	int have_version = store_data_version(app->store, &version) == SENIM_OK;
	pthread_mutex_lock(&c->lock);
	enum senim_result err = SENIM_OK;
	if (!(have_version && c->have_version && c->seq && version == c->data_version)) {
		int64_t seq = 0;
		err = policy_current_seq(app->store, &seq);
		if (err)
			goto fail;
		if (seq > c->seq) {
			err = cache_fill(c, app->store);
			if (err)
				goto fail;
		}
		c->data_version = version;
		c->have_version = have_version;
		if (seq == 0)
			c->seq = 0;
	}
	if (c->seq == 0)
		err = http_reply_code(req, resp, "policy_not_published");
	else
		err = reply_cached(req, resp, c, i, text);
fail:
	pthread_mutex_unlock(&c->lock);
	return err;
}

enum senim_result api_policy_get(struct http_request *req, struct http_response *resp)
{
	const char *version = req->params[0];
	if (!policy_version_valid(version))
		return http_reply_code(req, resp, "policy_not_found");
	struct policy_doc d;
	enum senim_result err = policy_get(req->app->store, version, &d);
	if (err == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "policy_not_found");
	if (err)
		return err;
	/* The text is Russian or Kazakh (Content-Language: the text's own);
	 * the errors above stay in the asked language. */
	req->lang = text_lang(req->lang);
	err = http_reply_json(resp, 200, doc_json(&d, req->lang));
	policy_doc_release(&d);
	return err;
}

static enum senim_result add_to_list(const struct policy_doc *d, void *ctx)
{
	json_t *o = doc_meta_json(d);
	return o && json_array_append_new(ctx, o) == 0 ? SENIM_OK : SENIM_ERR_NOMEM;
}

enum senim_result api_policy_list(struct http_request *req, struct http_response *resp)
{
	json_t *items = json_array();
	if (!items)
		return SENIM_ERR_NOMEM;
	enum senim_result err = policy_list(req->app->store, add_to_list, items);
	if (err) {
		json_decref(items);
		return err;
	}
	return http_reply_json(resp, 200, json_pack("{s:o}", "policies", items));
}

static const struct jsonin_field publish_fields[] = {
	{ .name = "version",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 1,
	  .max_len = POLICY_VERSION_MAX },
	{ .name = "ru",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 1,
	  .max_len = POLICY_TEXT_MAX,
	  .multiline = 1 },
	{ .name = "kk",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 1,
	  .max_len = POLICY_TEXT_MAX,
	  .multiline = 1 },
};

static int version_format(const char *v, size_t len)
{
	(void)len;
	return policy_version_valid(v);
}

/* A publication in the request's arena: the op, and the body its texts
 * point into, released with the request. */
struct publish_req {
	struct policy_publish op; /* first: the write's ctx */
	json_t *body;
};

static void publish_dispose(void *p)
{
	json_decref(((struct publish_req *)p)->body);
}

/* After the write: 201 for a new version, 200 for the same texts again. */
static enum senim_result publish_answer(struct http_request *req,
					struct http_response *resp,
					enum senim_result result, void *ctx)
{
	struct policy_publish *op = ctx;
	if (result == SENIM_ERR_CONFLICT)
		return http_reply_code(req, resp, "policy_version_conflict");
	if (result)
		return result;
	json_t *o = doc_meta_json(&op->doc);
	if (o)
		json_object_set_new(o, "seq", json_integer(op->doc.seq));
	char location[64 + POLICY_VERSION_MAX];
	snprintf(location, sizeof(location), "/v1/policies/%s", op->doc.version);
	enum senim_result err = http_reply_json(resp, op->created ? 201 : 200, o);
	if (err)
		return err;
	return http_add_header(req, resp, "Location", location);
}

enum senim_result api_policy_publish(struct http_request *req, struct http_response *resp)
{
	json_t *body;
	if (http_json_body_or_reply(req, resp, publish_fields,
				    sizeof(publish_fields) / sizeof(publish_fields[0]),
				    &body))
		return SENIM_OK;
	const char *version = jsonin_str(body, "version");
	if (!version_format(version, strlen(version))) {
		json_decref(body);
		struct problem p = { .code = "validation_failed",
				     .field = "version",
				     .rule = "format" };
		return http_reply_problem(req, resp, &p);
	}
	struct publish_req *pr =
		arena_alloc_disposable(&req->arena, sizeof(*pr), publish_dispose);
	if (!pr) {
		json_decref(body);
		return SENIM_ERR_NOMEM;
	}
	pr->body = body;
	json_t *ru = json_object_get(body, "ru"), *kk = json_object_get(body, "kk");
	struct policy_publish *op = &pr->op;
	op->kr = req->app->keys;
	op->actor = req->actor.label;
	op->request_id = req->request_id;
	op->version = version;
	op->ru = json_string_value(ru);
	op->ru_len = json_string_length(ru);
	op->kk = json_string_value(kk);
	op->kk_len = json_string_length(kk);
	enum senim_result err = policy_publish_prepare(op);
	if (err == SENIM_ERR_INVALID) {
		struct problem p = { .code = "validation_failed",
				     .field = "ru",
				     .rule = "forbidden_characters" };
		return http_reply_problem(req, resp, &p);
	}
	if (err)
		return err;
	return http_write_then(req, policy_publish_tx, op, publish_answer);
}
