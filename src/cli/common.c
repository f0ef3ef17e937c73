#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "common/log.h"
#include "common/banned.h"

const char *cli_program = "senim";

void cli_common_init(struct cli_common *c)
{
	c->data_dir = getenv("SENIM_DATA_DIR");
	c->db = getenv("SENIM_DB");
	c->keys = getenv("SENIM_KEYS");
	c->db_default[0] = c->keys_default[0] = '\0';
	unsigned char id[8];
	randombytes_buf(id, sizeof(id));
	snprintf(c->run_id, sizeof(c->run_id), "cli-");
	sodium_bin2hex(c->run_id + 4, sizeof(c->run_id) - 4, id, sizeof(id));
}

int cli_common_option(struct cli_common *c, int opt, const char *arg)
{
	switch (opt) {
	case 1001:
		c->data_dir = arg;
		return 1;
	case 1002:
		c->db = arg;
		return 1;
	case 1003:
		c->keys = arg;
		return 1;
	default:
		return 0;
	}
}

void cli_common_finish(struct cli_common *c)
{
	if (!c->data_dir || !*c->data_dir)
		c->data_dir = "var";
	if (!c->db || !*c->db) {
		snprintf(c->db_default, sizeof(c->db_default), "%s/senim.db",
			 c->data_dir);
		c->db = c->db_default;
	}
	if (!c->keys || !*c->keys) {
		snprintf(c->keys_default, sizeof(c->keys_default), "%s/keys/senim.keys",
			 c->data_dir);
		c->keys = c->keys_default;
	}
}

void cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "senim %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_open(struct cli_common *c, int connections, struct store **st,
	     struct keyring **kr)
{
	*st = NULL;
	*kr = NULL;
	if (sodium_init() < 0) {
		cli_error("store", "libsodium failed to initialise");
		return CLI_ENV;
	}
	int err = keyring_open(c->keys, 1, kr);
	if (err) {
		cli_error("keys", "cannot use key file %s: %s", c->keys,
			  senim_result_name(err));
		return CLI_ENV;
	}
	err = store_open(c->db, connections, st);
	if (!err)
		err = store_migrate(*st, NULL);
	if (err) {
		/* Never print c->db: a PostgreSQL URL may carry a password. */
		cli_error("store", "cannot open the store: %s", senim_result_name(err));
		store_free(*st);
		keyring_free(*kr);
		*st = NULL;
		*kr = NULL;
		return CLI_ENV;
	}
	return CLI_OK;
}
