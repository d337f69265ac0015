/*
 * ring: a bounded lock-free queue of pointers between one camera's capture
 * thread (the producer) and whichever worker currently owns that camera (the
 * consumer).
 *
 * Concurrency contract: one producer thread; one consumer at a time (the
 * scheduler's claim makes consumers take turns, and its acquire/release hand
 * the ring over). The producer may also evict the oldest item when the ring is
 * full (latest wins); eviction and pop both advance `head` by compare-and-swap,
 * so each item leaves the ring exactly once, through one of them.
 * The ring never blocks and never allocates after vg_ring_new; the caller
 * decides what to drop and counts it. A side that would rather wait than
 * drop (lossless replay) asks for it: vg_ring_enable_wait gives the ring an
 * eventfd, after which every push and pop wakes a waiter in vg_ring_wait
 * (a fence and a load per operation; a syscall only when someone waits).
 *
 * Why not ck_ring: Concurrency Kit's ck_pr primitives are inline asm and
 * volatile accesses that ThreadSanitizer cannot see, so the TSan stress test
 * would report the slots as races (or prove nothing); and its SPSC mode has no
 * producer-side eviction. bench/ring measures this ring against ck_ring's
 * SPSC and SPMC modes in one run.
 */
#ifndef VG_RING_H
#define VG_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct vg_ring vg_ring_t;

/* Creates a ring holding up to `capacity` items; capacity must be a power of
 * two between 2 and 65536. Returns 0 or -EINVAL/-ENOMEM; *ret untouched on
 * failure. Thread: any (before the ring is shared). */
int vg_ring_new(uint32_t capacity, vg_ring_t **ret);

/* Frees the ring (not the items still in it: drain first). Accepts NULL. */
void vg_ring_free(vg_ring_t **ring);

/* Producer. Appends item (never NULL); returns false when the ring is full (item not
 * taken). Thread: the producer only. */
bool vg_ring_push(vg_ring_t *ring, void *item);

/* Producer. Takes the oldest item out so that a newer one fits. Returns the
 * evicted item (now owned by the caller), or NULL when the consumer emptied a
 * slot first. Thread: the producer only. */
void *vg_ring_evict_oldest(vg_ring_t *ring);

/* Consumer. Takes the oldest item, or returns NULL when empty. Thread: the
 * camera's current consumer (or the producer after the consumers stopped). */
void *vg_ring_pop(vg_ring_t *ring);

/* Lets vg_ring_wait be used on this ring. Returns 0 or a negative errno.
 * Thread: any, before the ring is shared. */
int vg_ring_enable_wait(vg_ring_t *ring);

/* Waits until the ring has room (for_room: the producer) or an item (the
 * consumer), the stop_fd (may be -1) is readable, or timeout_ms passes
 * (-1: no limit). Returns 0 when the condition holds or the other side
 * moved (check again), -ECANCELED on stop, -ETIMEDOUT, -EINVAL when waiting
 * was not enabled. One waiter at a time. Thread: the producer or the
 * consumer, as for_room says. Blocks on: poll. */
int vg_ring_wait(vg_ring_t *ring, bool for_room, int stop_fd, int timeout_ms);

/* Items in the ring now; exact only when both sides are idle. Thread: any. */
uint32_t vg_ring_count(const vg_ring_t *ring);
uint32_t vg_ring_capacity(const vg_ring_t *ring);

#endif
