#include "common/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/banned.h"

static enum log_level log_min = LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_set_level(enum log_level level)
{
	log_min = level;
}

int log_level_parse(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

/* Append a JSON string literal; control characters and quotes escaped. */
static enum senim_result add_json_string(struct buf *b, const char *s)
{
	enum senim_result err = buf_addch(b, '"');
	if (err)
		return err;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			err = buf_addf(b, "\\%c", *p);
		else if (*p < 0x20)
			err = buf_addf(b, "\\u%04x", *p);
		else
			err = buf_addch(b, (char)*p);
		if (err)
			return err;
	}
	return buf_addch(b, '"');
}

/* Append `prefix` (JSON text: a comma, a quoted key and a colon), then
 * value as a JSON string. */
static enum senim_result add_member(struct buf *b, const char *prefix, const char *value)
{
	enum senim_result err = buf_addstr(b, prefix);
	return err ? err : add_json_string(b, value);
}

/* Close the line's object and write it, whole, as one line. */
static void log_write(struct buf *line)
{
	if (buf_addstr(line, "}\n"))
		return;
	pthread_mutex_lock(&log_lock);
	fwrite(line->data, 1, line->len, stderr);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
}

static enum senim_result add_head(struct buf *b, enum log_level level, const char *event)
{
	char now[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(clock_now_us(), now);
	enum senim_result err =
		buf_addf(b, "{\"time\":\"%s\",\"level\":\"%s\",\"event\":", now,
			 level_names[level]);
	return err ? err : add_json_string(b, event);
}

/* A line that cannot be built (out of memory, over the cap) is dropped:
 * the log never stops what it reports on. */
void log_event(enum log_level level, const char *event, ...)
{
	if (level < log_min)
		return;
	struct buf b;
	va_list ap;
	const char *key;
	buf_init(&b, 8192);
	va_start(ap, event);
	enum senim_result err = add_head(&b, level, event);
	if (err)
		goto fail;
	while ((key = va_arg(ap, const char *))) {
		const char *value = va_arg(ap, const char *);
		err = buf_addch(&b, ',');
		if (err)
			goto fail;
		err = add_json_string(&b, key);
		if (err)
			goto fail;
		err = buf_addch(&b, ':');
		if (err)
			goto fail;
		err = value ? add_json_string(&b, value) : buf_addstr(&b, "null");
		if (err)
			goto fail;
	}
	log_write(&b);
fail:
	va_end(ap);
	buf_release(&b);
}

void log_access(const struct log_access *a)
{
	if (LOG_INFO < log_min)
		return;
	struct buf b;
	buf_init(&b, 4096);
	enum senim_result err = add_head(&b, LOG_INFO, "http_request");
	if (err)
		goto fail;
	err = add_member(&b, ",\"method\":", a->method);
	if (err)
		goto fail;
	err = add_member(&b, ",\"route\":", a->route);
	if (err)
		goto fail;
	err = buf_addf(&b, ",\"status\":%d,\"duration_ms\":%.3f", a->status,
		       (double)a->duration_us / 1000.0);
	if (err)
		goto fail;
	err = add_member(&b, ",\"request_id\":", a->request_id);
	if (err)
		goto fail;
	err = add_member(&b, ",\"actor\":", a->actor);
	if (err)
		goto fail;
	log_write(&b);
fail:
	buf_release(&b);
}
