/*
 * roles.h — the lender's staff roles (S3).  Pure data, no I/O.
 *
 * A role is what an employee or a service account is for; every route
 * declares the set of roles that may call it as a bit mask of ROLE_BIT()s.
 */
#ifndef SENIM_ROLES_H
#define SENIM_ROLES_H

enum role {
	ROLE_ADMIN,	   /* runs the system: staff accounts, policy publication */
	ROLE_UNDERWRITER,  /* reviews loan applications (U1) */
	ROLE_SUPPORT,	   /* answers borrowers (U6) */
	ROLE_MARKETING,	   /* campaigns, within consent (U7, U8) */
	ROLE_DPO,	   /* data-protection officer: blocks, restrictions, requests */
	ROLE_INVESTIGATOR, /* internal audits and investigations (U9) */
	ROLE_AUDITOR,	   /* reads the audit trail, changes nothing */
	/* Not a person: the payment provider's service account, which reports
	 * repayments (U2) on POST /v1/loans/{id}/payments and nothing else.
	 * Created only with --api-token; STAFF_ANY in api/routes.c leaves it
	 * out. */
	ROLE_PAYMENT_PROVIDER,
	ROLE__COUNT
};

#define ROLE_BIT(r) (1u << (r))
#define ROLE_ALL ((1u << ROLE__COUNT) - 1)

/* "admin", "underwriter", ...; NULL for an out-of-range value. */
const char *role_name(enum role r);
/* The role named `name`, or -1. */
int role_parse(const char *name);
/* "admin, underwriter, ..." for help texts (static string). */
const char *role_list(void);

#endif
