/*
 * textconf.c — dates, numbers and names of senim's text files (textconf.h).
 */
#include "common/textconf.h"

#include <string.h>

#include "common/utf8.h"

#include "common/banned.h"

/* Count whole years from a March-based year so that the leap day falls
 * last. */
int32_t textconf_days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	int yoe = y - era * 400;
	int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The same March-based count, run backwards. */
void textconf_civil_from_days(int32_t days, int *y, int *m, int *d)
{
	int32_t z = days + 719468;
	int32_t era = (z >= 0 ? z : z - 146096) / 146097;
	int32_t doe = z - era * 146097;
	int32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int32_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

int textconf_date(const char *s, size_t len, int32_t *days)
{
	if (len != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (size_t i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return 0;
	int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
		(s[3] - '0');
	int m = (s[5] - '0') * 10 + (s[6] - '0');
	int d = (s[8] - '0') * 10 + (s[9] - '0');
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (y < 1900 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return 0;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (m == 2 && d == 29 && !leap)
		return 0;
	*days = textconf_days_from_civil(y, m, d);
	return 1;
}

int textconf_number(const char *s, size_t len, int64_t min, int64_t max, int64_t *out)
{
	if (len == 0 || len > TEXTCONF_DIGITS_MAX)
		return 0;
	int64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return 0;
	*out = v;
	return 1;
}

int textconf_plain_name(const char *s, size_t len)
{
	if (len == 0 || len > 32)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_'))
			return 0;
	return 1;
}

int textconf_is_space(char c)
{
	return c == ' ' || c == '\t';
}

int textconf_has_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			return 1;
	return utf8_has_invisible_control(s, len);
}

int textconf_each_line(const char *text, size_t len, textconf_line_fn fn, void *ctx,
		       unsigned *next_line)
{
	unsigned line = 1;
	size_t at = 0;
	int rc = 0;
	while (at < len) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t end = nl ? (size_t)(nl - text) : len;
		rc = fn(ctx, line, text + at, end - at);
		if (rc)
			break;
		at = end + 1;
		line++;
	}
	if (next_line)
		*next_line = line;
	return rc;
}
