/*
 * cards.h — the borrower's payout cards, bound at the payment provider
 * (issue 12; docs/payout.md "Card payouts", docs/connectors/
 * payment-provider.md "The card binding").
 *
 * The card number never reaches senim (PCI DSS): senim starts a binding at
 * the provider (POST /v1/card-bindings under the binding key "cbd_" + the
 * card id's body, nothing else sent), answers the borrower the provider's
 * page, where the borrower types the card; then it reads the binding's
 * result (GET /v1/card-bindings/{key}) and keeps the provider's token, the
 * masked number ("440043******1234") and the expiry, each sealed with the
 * subject's data key bound to the card.  A card payout names a bound card
 * and the pump sends its token (lending/payouts.c).
 *
 * A card is one row of `cards` (migration 26): pending (the borrower has
 * the page), bound (the token kept), failed (the provider declined it, or
 * the start or an answer failed; `reason` a code).  Ids, states and codes
 * in the clear; the token and the masked number only sealed.
 *
 * The provider is the recipients file's first payout/1 service (the
 * pump's).  Each call is decided as the lender's own processing under
 * loan_servicing (exchange_decide, by_system: the subject's block,
 * restriction and consents, the processor's agreement) and put on the
 * disclosure register as a payout is: the start `out` (delivered, failed,
 * refused), a result kept `in` (received).  Every write is audited in its
 * transaction: card.start, card.bind, card.fail, card.read, card.unbind,
 * card.remove.  A card removed (cards_remove) is unbound at the provider
 * and its row deleted, the token with it.
 *
 * Both entry points block (a write, the hub, a write): run them off the
 * server's workers (http_call_then).
 */
#ifndef SENIM_LENDING_CARDS_H
#define SENIM_LENDING_CARDS_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/ids.h"
#include "common/result.h"
#include "connectors/payment.h"
#include "core/access.h"
#include "core/recipients.h"
#include "store/store.h"
#include "vault/keyring.h"
#include "vault/vault.h"

#define CARD_ID_LEN (4 + ID_BODY_CHARS + 1) /* "crd_" + 22 + NUL */
#define CARD_LIST_MAX 20		    /* cards a borrower has listed */
#define CARD_PENDING_MAX 5		    /* bindings pending at once */

struct hub;

/* 1 when s is a card id: "crd_" and 22 id characters. */
int card_id_valid(const char *s);

/* One card as the borrower sees it. */
struct card_view {
	char id[CARD_ID_LEN];
	char state[12];			     /* pending, bound, failed */
	char reason[PAYMENT_CODE_MAX + 1];   /* failed: a code (card_declined, ...) */
	char masked[PAYMENT_MASKED_MAX + 1]; /* bound: "440043******1234" */
	char expiry[PAYMENT_EXPIRY_LEN + 1]; /* bound: "2029-04" */
	char page_url[PAYMENT_URL_MAX + 1];  /* pending, one card read: the page */
	int64_t created_at, updated_at;	     /* microseconds */
};

enum card_outcome {
	CARD_DONE,	      /* op->card holds the card */
	CARD_NOT_CONFIGURED,  /* no payout/1 service in the recipients file */
	CARD_REFUSED,	      /* the access refused (op->refused): nothing sent */
	CARD_NOT_FOUND,	      /* no such card of this subject */
	CARD_TOO_MANY,	      /* CARD_PENDING_MAX bindings already pending */
	CARD_PROVIDER_FAILED, /* the start failed: op->card.reason, state failed;
			       * the unbinding failed: op->card.reason, the card
			       * as it was */
	CARD_IN_USE,	      /* removal: a signed application, not yet paid
			       * out, names the card */
};

/* What the calls run on; borrowed. */
struct card_env {
	struct store *store;
	const struct keyring *kr;
	struct hub *hub;
	const struct recipients *recipients;
	const struct access_matrix *matrix;
	int deadline_ms; /* a call to the provider, all its attempts */
};

/*
 * POST /v1/me/cards: start a binding for subject_id.  CARD_DONE with the
 * card `pending` and its page URL.  SENIM_OK whatever the outcome; the
 * store's errors.
 */
struct card_op {
	/* in */
	const struct card_env *env;
	const char *actor, *request_id, *subject_id;
	const char *id; /* read: one card, NULL: the list */
	/* out */
	enum card_outcome outcome;
	struct access_refusal refused;
	struct card_view card;
	struct card_view list[CARD_LIST_MAX];
	size_t n;
};
SENIM_MUST_CHECK enum senim_result cards_start(struct card_op *op);

/*
 * GET /v1/me/cards[/{id}]: the subject's cards, newest first; one card that
 * is pending is asked about at the provider first and settled (bound: the
 * token kept; failed: the reason).  The provider unreachable leaves it
 * pending.  Audited card.read.  SENIM_OK (CARD_DONE or CARD_NOT_FOUND), or
 * the store's errors.
 */
SENIM_MUST_CHECK enum senim_result cards_read(struct card_op *op);

/*
 * DELETE /v1/me/cards/{id}: remove the subject's card op->id.  Not when a
 * signed application still to be paid out names it (CARD_IN_USE, audited
 * card.remove denied).  A failed card is deleted at once.  A pending or
 * bound one is decided as the start is (CARD_REFUSED), card.unbind is
 * recorded, and the provider is asked to end the binding (DELETE
 * /v1/card-bindings/{key}, put on the register `out`); once it says
 * "removed" (or that it does not know the key), the row is deleted with
 * its sealed token and details (audited card.remove success); any other
 * end leaves the card as it was (CARD_PROVIDER_FAILED, card.remove
 * failed, the register's `failed`).  A signed application made between
 * the check and the deletion finds its card gone: its payout fails
 * card_not_bound, nothing paid (lending/payouts.c).  CARD_DONE,
 * CARD_NOT_FOUND (another borrower's card too), CARD_NOT_CONFIGURED.
 * SENIM_OK whatever the outcome; the store's errors.
 */
SENIM_MUST_CHECK enum senim_result cards_remove(struct card_op *op);

/*
 * Inside a transaction: 1 in *bound when card_id is the subject's and
 * bound, and then its last four digits in last4 (NULL: not wanted); 0
 * otherwise.  dek is the subject's.
 */
SENIM_MUST_CHECK enum senim_result
cards_bound_in(struct store_tx *tx, const struct vault_dek *dek, const char *subject_id,
	       const char *card_id, int *bound, char last4[5]);

/* The masked number and expiry of subject_id's card card_id, sealed in
 * cards.details_sealed (the n bytes at sealed), opened with the subject's
 * dek; SENIM_ERR_CRYPTO when they do not open or are not as sealed.  For
 * the access package (rights/package.c). */
SENIM_MUST_CHECK enum senim_result
cards_details_open(const struct vault_dek *dek, const char *subject_id,
		   const char *card_id, const void *sealed, size_t n,
		   char masked[PAYMENT_MASKED_MAX + 1],
		   char expiry[PAYMENT_EXPIRY_LEN + 1]);

/* Inside a transaction: the provider's token of the subject's bound card
 * into *token (wipe it); SENIM_ERR_NOT_FOUND when it is not a bound card
 * of the subject. */
SENIM_MUST_CHECK enum senim_result cards_token_in(struct store_tx *tx,
						  const struct vault_dek *dek,
						  const char *subject_id,
						  const char *card_id, struct buf *token);

#endif
