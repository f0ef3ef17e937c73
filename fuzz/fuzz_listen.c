/*
 * fuzz_listen.c — server_parse_listen on arbitrary --listen values.
 *
 * The first byte picks the size of the host buffer (0..63), which is an
 * exactly sized heap block so ASan catches any write past it; the rest is the
 * value, NUL-terminated.  On success the host must be a C string inside the
 * buffer and everything after the last ':' must be the port's digits.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/result.h"
#include "http/server.h"
#include "common/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t host_len = data[0] & 63;
	char *value = malloc(size);
	char *host = malloc(host_len ? host_len : 1);
	if (!value || !host)
		goto out;
	memcpy(value, data + 1, size - 1);
	value[size - 1] = '\0';
	uint16_t port = 0;
	if (server_parse_listen(value, host, host_len, &port) == SENIM_OK) {
		if (!host_len || !memchr(host, '\0', host_len))
			abort();
		const char *colon = strrchr(value, ':');
		if (!colon || !colon[1])
			abort();
		unsigned long p = 0;
		for (const char *c = colon + 1; *c; c++) {
			if (*c < '0' || *c > '9')
				abort();
			p = p * 10 + (unsigned long)(*c - '0');
			if (p > 65535)
				abort();
		}
		if (p != port)
			abort();
	}
out:
	free(value);
	free(host);
	return 0;
}
