/*
 * package.h — the access package (R1) and the lawful limits on it (R5).
 *
 * For one subject, everything senim holds about them, gathered in one read
 * transaction with one query per table (no query per row): every category
 * with every version and its source (R2's history), what came in from
 * third parties, consents with their signed receipts, applications,
 * decisions, offers, loans with their schedules and payments, imported
 * obligations and bureau events, the disclosure register's entries, the
 * findings, and the audit records about them.  Two documents are made from
 * it and both are signed with the key ring's Ed25519 key the way consent
 * receipts are (consent/receipt.h: receipt_sign_document, receipt_sign_bytes):
 *
 *   JSON: {"version": PACKAGE_VERSION, "package_id", "generated_at",
 *          "subject_id", "controller", "legal_basis", "subject",
 *          "categories", "sources", "redactions", "consents", "applications",
 *          "decisions", "offers", "loans", "loan_payments", "obligations",
 *          "bureau_events", "disclosures", "findings", "audit",
 *          "signature"}; the signature covers the canonical form of the
 *          rest (keys sorted, compact).
 *   HTML: a readable document, each heading in Russian then Kazakh; its
 *          last line is "<!-- senim-signature {...} -->" whose JSON is a
 *          receipt signature over every byte before that line.
 *
 * Invariants:
 *   - Third parties' data (R5): the family fields that describe another
 *     person (spouse, dependants, represented persons) are replaced by
 *     PACKAGE_REDACTED and each is listed in "redactions" with its reason;
 *     the audit record says the package was redacted.
 *   - A limit (R5: AML/CFT, a court order, another law; table
 *     access_limits) refuses the package with ACCESS_LIMITED_BY_LAW — one
 *     reason for every ground, so the answer never tells which, and the
 *     refused path does the very work the granted one does (the package is
 *     gathered, rendered and signed, then wiped): no timing tell.  The
 *     limit's own audit records ("subject.access_limit.*") never appear in
 *     a package.
 *   - Decrypted data lives in the op and is wiped by its dispose.
 */
#ifndef SENIM_RIGHTS_PACKAGE_H
#define SENIM_RIGHTS_PACKAGE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "core/access.h"
#include "store/store.h"
#include "vault/keyring.h"

#define PACKAGE_VERSION "senim-access-package-v1"
#define PACKAGE_REDACTED "[redacted: third_party_rights]"
/* The HTML's signature line begins with this (after a newline). */
#define PACKAGE_HTML_SIGNATURE "<!-- senim-signature "
/* The most text package_verify_text reads. */
#define PACKAGE_MAX_TEXT ((size_t)64 * 1024 * 1024)

/* ---- building a package --------------------------------------------------- */

/*
 * One package, for one subject.  The caller allocates the op zeroed (a
 * handler: from the request's arena with package_build_dispose), fills "in",
 * calls package_build_fetch (a read transaction: gathers, decrypts, renders,
 * signs, decides the limit), then runs package_build_record in the writer
 * (its audit record, "subject.package", purpose legal_obligation, outcome
 * "success" or "denied").  The outputs are read once that write returned
 * SENIM_OK: refused.why is ACCESS_GRANTED or ACCESS_LIMITED_BY_LAW; on
 * ACCESS_GRANTED doc and html hold the package.
 */
struct package_build {
	/* in (strings must outlive the op) */
	const struct keyring *kr;
	const char *actor; /* the audit record's actor */
	const char *request_id;
	const char *subject_id;
	const char *format; /* "json" or "html": only names the audit record */
	/* out, owned by the op */
	json_t *doc; /* the signed JSON package */
	char *html;  /* the signed HTML, NUL-terminated */
	size_t html_len;
	struct access_refusal refused;
	/* private, between the two steps */
	uint32_t categories; /* CATEGORY_BIT mask of what the package holds */
	int redacted;	     /* fields redacted for third parties */
};

/* Gather and render in a read transaction; writes nothing.
 * SENIM_ERR_NOT_FOUND for an unknown subject (unrecorded), store, vault and
 * memory errors. */
SENIM_MUST_CHECK enum senim_result package_build_fetch(struct store *st,
						       struct package_build *op);
/* Inside the writer's batch: the package's audit record. */
SENIM_MUST_CHECK enum senim_result package_build_record(struct store_tx *tx, void *op);
/* Wipe and free what the op owns (not the op); safe on any op. */
void package_build_dispose(void *op);

/* ---- the lawful limit (R5) -------------------------------------------------- */

/*
 * The DPO sets or lifts the limit on a subject's own access.  ground is
 * "aml_cft", "court_order" or "other_law"; reference the legal act or case
 * reference as a code (1-64 of A-Z a-z 0-9 . / _ - : no personal data).
 * Setting again replaces the ground and reference.  Audited as
 * "subject.access_limit.set" / ".lift" (purpose legal_obligation; a lift
 * with no limit is "unchanged").  SENIM_ERR_NOT_FOUND for an unknown
 * subject; SENIM_ERR_INVALID for a bad ground or reference.  Owns nothing.
 */
struct package_limit {
	/* in */
	const struct keyring *kr;
	const char *actor;
	const char *request_id;
	const char *subject_id;
	int set; /* 1 set, 0 lift */
	const char *ground;
	const char *reference;
	/* out */
	int limited; /* after the act */
};

SENIM_MUST_CHECK enum senim_result package_limit_tx(struct store_tx *tx, void *op);

/* Inside a transaction: *limited = 1 when the subject's own access is
 * limited by law now (a row in access_limits), else 0.  For every read a
 * borrower makes of their own data: the caller does the same work either
 * way and answers ACCESS_LIMITED_BY_LAW, never the ground.  Store errors. */
SENIM_MUST_CHECK enum senim_result
package_limited_tx(struct store_tx *tx, const char *subject_id, int *limited);

/* 1 when s is a ground package_limit accepts. */
int package_limit_ground_valid(const char *s);
/* 1 when s is a reference package_limit accepts. */
int package_limit_reference_valid(const char *s);

/* ---- checking a package offline ------------------------------------------- */

/*
 * Check a package, JSON or HTML (told apart by its first non-blank byte),
 * with the rules of receipt_verify (kr: the key file's keys; or trusted_pk
 * without one).  *is_html (may be NULL) says which it was.  SENIM_OK when
 * valid; SENIM_ERR_CRYPTO when a byte was changed or another key signed;
 * SENIM_ERR_INVALID when the text is not a package.
 */
SENIM_MUST_CHECK enum senim_result package_verify_text(const struct keyring *kr,
						       const unsigned char *trusted_pk,
						       const char *text, size_t len,
						       int *is_html);

#endif
