/*
 * delay_queue.h — answers held back without holding a worker.
 *
 * A failed sign-in is answered after a pause (so that guessing is slow and
 * every failure takes as long).  Sleeping on a worker would stall the other
 * connections it serves, so the connection is suspended instead and this
 * queue's one thread resumes it when the pause is over; libmicrohttpd then
 * calls the request handler again, which sends the answer it kept.
 *
 * Invariants:
 * - At most DELAY_QUEUE_SLOTS connections are held.  When the queue is full
 *   or stopping, delay_queue_hold() refuses and the caller answers at once:
 *   refusing to wait beats refusing to answer.
 * - A held connection is resumed exactly once: when due, or at
 *   delay_queue_stop(), which resumes every one still held, so the daemon
 *   never stops with a connection left suspended by this queue.
 * - The suspension happens under the queue's lock, before the connection
 *   is listed, so the thread never resumes a connection not yet suspended.
 */
#ifndef SENIM_DELAY_QUEUE_H
#define SENIM_DELAY_QUEUE_H

#include "common/result.h"

#define DELAY_QUEUE_SLOTS 1024

struct delay_queue;
struct MHD_Connection;

/* Start the thread.  *out is freed by delay_queue_free(); NULL on error. */
SENIM_MUST_CHECK enum senim_result delay_queue_new(struct delay_queue **out);

/* Suspend `conn` and resume it delay_ms from now: SENIM_OK, or
 * SENIM_ERR_UNAVAILABLE (nothing done) when the queue is full or stopping. */
SENIM_MUST_CHECK enum senim_result
delay_queue_hold(struct delay_queue *q, struct MHD_Connection *conn, int delay_ms);

/* Resume every held connection and stop the thread; hold() refuses from
 * now on.  Call before MHD_stop_daemon. */
void delay_queue_stop(struct delay_queue *q);

/* Free the queue; after delay_queue_stop() and after MHD_stop_daemon (until
 * the daemon stops, a connection may still ask to be held).  NULL does
 * nothing. */
void delay_queue_free(struct delay_queue *q);

#endif
