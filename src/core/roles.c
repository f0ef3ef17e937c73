#include "core/roles.h"

#include <string.h>

#include "common/banned.h"

static const char *const names[ROLE__COUNT] = {
	[ROLE_ADMIN] = "admin",	    [ROLE_UNDERWRITER] = "underwriter",
	[ROLE_SUPPORT] = "support", [ROLE_MARKETING] = "marketing",
	[ROLE_DPO] = "dpo",	    [ROLE_INVESTIGATOR] = "investigator",
	[ROLE_AUDITOR] = "auditor", [ROLE_PAYMENT_PROVIDER] = "payment_provider",
};

const char *role_name(enum role r)
{
	if ((int)r < 0 || r >= ROLE__COUNT)
		return NULL;
	return names[r];
}

int role_parse(const char *name)
{
	for (int i = 0; i < ROLE__COUNT; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

const char *role_list(void)
{
	return "admin, underwriter, support, marketing, dpo, investigator, auditor,"
	       " payment_provider";
}
