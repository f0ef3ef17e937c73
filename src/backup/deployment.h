/*
 * deployment.h — the deployment's identity: a random id made at the first
 * start, kept in the store (table `deployment`, one row) and in a file in
 * the key directory (DEPLOYMENT_FILE_NAME beside the key file).
 *
 * A backup names the deployment it was made in; a restore compares that
 * with the key directory's id and refuses another deployment's backup
 * (backup/backup.h), so one lender's data never lands in another's
 * store under keys that cannot open it, or that open it for the wrong
 * people.
 *
 * Invariants: the id is 32 lower-case hex digits and never changes; the
 * file, mode 0600, is created atomically (written beside, then linked: of
 * two processes starting at once exactly one id wins); when the store and
 * the file both hold an id they hold the same one — a store opened with
 * another deployment's key directory is refused (SENIM_ERR_CONFLICT).
 */
#ifndef SENIM_BACKUP_DEPLOYMENT_H
#define SENIM_BACKUP_DEPLOYMENT_H

#include <stddef.h>

#include "common/result.h"
#include "store/store.h"

#define DEPLOYMENT_FILE_NAME "senim.deployment"
#define DEPLOYMENT_ID_LEN 33 /* 32 hex digits + NUL */

/* The id file's path beside key_file into out; SENIM_ERR_INVALID when it
 * does not fit. */
SENIM_MUST_CHECK enum senim_result deployment_path(const char *key_file, char *out,
						   size_t size);

/* 1 when id is 32 lower-case hex digits. */
int deployment_id_valid(const char *id);

/*
 * Read the id file at path.  SENIM_ERR_NOT_FOUND when there is none,
 * SENIM_ERR_INVALID when it does not hold an id, SENIM_ERR_IO otherwise.
 */
SENIM_MUST_CHECK enum senim_result deployment_read_file(const char *path,
							char id[DEPLOYMENT_ID_LEN]);

/* The store's id; SENIM_ERR_NOT_FOUND when it has none yet. */
SENIM_MUST_CHECK enum senim_result deployment_read_store(struct store *st,
							 char id[DEPLOYMENT_ID_LEN]);

/*
 * At start, after migrations: make sure the store and the key directory
 * hold the same id, making one when neither has it, copying it where one
 * lacks it.  id gets it.  SENIM_ERR_CONFLICT (both ids in store_id and
 * file_id, which may be NULL) when they differ; SENIM_ERR_IO or
 * SENIM_ERR_STORE when either cannot be read or written.
 */
SENIM_MUST_CHECK enum senim_result
deployment_ensure(struct store *st, const char *key_file, char id[DEPLOYMENT_ID_LEN],
		  char store_id[DEPLOYMENT_ID_LEN], char file_id[DEPLOYMENT_ID_LEN]);

#endif
