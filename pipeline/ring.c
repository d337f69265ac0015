/* ring.c: see ring.h for the contract. Head and tail are 64-bit counters that
 * never wrap in practice (2^64 frames), so a compare-and-swap on head cannot
 * suffer ABA. */
#include "pipeline/ring.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define VG_CACHELINE 64

struct vg_ring {
    /* Written by the consumer (pop) and by the producer (evict), via CAS. */
    _Alignas(VG_CACHELINE) _Atomic uint64_t head;
    /* Written by the producer only. */
    _Alignas(VG_CACHELINE) _Atomic uint64_t tail;
    /* Read-only after creation. */
    _Alignas(VG_CACHELINE) uint64_t mask;
    uint32_t capacity;
    _Atomic(void *) *slots;
    int efd;                 /* -1 unless vg_ring_enable_wait */
    /* Set by the side in vg_ring_wait, read by the other after each move. */
    _Alignas(VG_CACHELINE) _Atomic int waiting;
};

/* After a push or pop: wakes the other side if it waits. On a waitable
 * ring the push's tail store and the pop's head CAS are seq_cst, as are
 * this load and the waiter's store of `waiting` and its loads of head and
 * tail (vg_ring_wait): in their single total order either the waiter sees
 * our move or we see it waiting (the Dekker pattern, without fences, which
 * TSan cannot follow). */
static void wake_waiter(vg_ring_t *ring)
{
    if (ring->efd < 0)
        return;
    if (atomic_load_explicit(&ring->waiting, memory_order_seq_cst)) {
        uint64_t one = 1;
        ssize_t w = write(ring->efd, &one, sizeof(one)); /* cannot block: the counter would need 2^64 */
        (void)w;
    }
}

/* seq_cst on a waitable ring (see wake_waiter), else the weaker order the
 * operation needs on its own. */
static memory_order waitable_or(const vg_ring_t *ring, memory_order mo)
{
    return ring->efd >= 0 ? memory_order_seq_cst : mo;
}

int vg_ring_new(uint32_t capacity, vg_ring_t **ret)
{
    if (capacity < 2 || capacity > 65536 || (capacity & (capacity - 1)) != 0)
        return -EINVAL;
    vg_ring_t *ring = aligned_alloc(VG_CACHELINE, sizeof(*ring));
    if (!ring)
        return -ENOMEM;
    ring->slots = calloc(capacity, sizeof(*ring->slots));
    if (!ring->slots) {
        free(ring);
        return -ENOMEM;
    }
    atomic_init(&ring->head, 0);
    atomic_init(&ring->tail, 0);
    ring->mask = capacity - 1;
    ring->capacity = capacity;
    ring->efd = -1;
    atomic_init(&ring->waiting, 0);
    for (uint32_t i = 0; i < capacity; i++)
        atomic_init(&ring->slots[i], NULL);
    *ret = ring;
    return 0;
}

void vg_ring_free(vg_ring_t **ring)
{
    if (!ring || !*ring)
        return;
    if ((*ring)->efd >= 0)
        close((*ring)->efd);
    free((*ring)->slots);
    free(*ring);
    *ring = NULL;
}

bool vg_ring_push(vg_ring_t *ring, void *item)
{
    /* relaxed: only this thread writes tail */
    uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
    /* acquire: the consumer's read of the slot we are about to reuse happened
     * before its head CAS; we must not overwrite the slot before that read */
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
    if (tail - head >= ring->capacity)
        return false;
    /* relaxed: published by the release store of tail below */
    atomic_store_explicit(&ring->slots[tail & ring->mask], item, memory_order_relaxed);
    /* release: the slot write becomes visible before the new tail */
    atomic_store_explicit(&ring->tail, tail + 1, waitable_or(ring, memory_order_release));
    wake_waiter(ring);
    return true;
}

/* Takes the item at head if head is still `head` when we swap it. */
static void *take_head(vg_ring_t *ring, uint64_t head)
{
    void *item = atomic_load_explicit(&ring->slots[head & ring->mask], memory_order_relaxed);
    /* acq_rel on success: release orders our slot read before the producer's
     * reuse of the slot (it acquires head); acquire pairs with a concurrent
     * taker's release. relaxed on failure: we retry or give up. */
    if (atomic_compare_exchange_strong_explicit(&ring->head, &head, head + 1,
                                                waitable_or(ring, memory_order_acq_rel), memory_order_relaxed))
        return item;
    return NULL;
}

void *vg_ring_evict_oldest(vg_ring_t *ring)
{
    /* acquire: pairs with the consumer's CAS so we see its progress */
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
    /* relaxed: only this thread writes tail */
    uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
    if (head == tail)
        return NULL;
    return take_head(ring, head);
}

void *vg_ring_pop(vg_ring_t *ring)
{
    for (;;) {
        /* acquire on both: tail publishes the slot contents; head may have
         * been advanced by the producer's eviction */
        uint64_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
        uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
        if (head == tail)
            return NULL;
        void *item = take_head(ring, head);
        if (item) {
            wake_waiter(ring);
            return item;
        }
        /* the producer evicted this one first: try the next */
    }
}

uint32_t vg_ring_count(const vg_ring_t *ring)
{
    /* relaxed: a snapshot for statistics and drain loops */
    uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    return tail >= head ? (uint32_t)(tail - head) : 0;
}

uint32_t vg_ring_capacity(const vg_ring_t *ring) { return ring->capacity; }

int vg_ring_enable_wait(vg_ring_t *ring)
{
    if (ring->efd >= 0)
        return 0;
    ring->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return ring->efd < 0 ? -errno : 0;
}

int vg_ring_wait(vg_ring_t *ring, bool for_room, int stop_fd, int timeout_ms)
{
    if (ring->efd < 0)
        return -EINVAL;
    /* seq_cst: ordered against the other side's move and its load of
     * `waiting` (see wake_waiter) */
    atomic_store_explicit(&ring->waiting, 1, memory_order_seq_cst);
    uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_seq_cst);
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_seq_cst);
    uint32_t n = tail >= head ? (uint32_t)(tail - head) : 0;
    int r = 0;
    if (for_room ? n >= ring->capacity : n == 0) {
        struct pollfd p[2] = {{.fd = ring->efd, .events = POLLIN}, {.fd = stop_fd, .events = POLLIN}};
        int k = poll(p, stop_fd >= 0 ? 2 : 1, timeout_ms);
        if (k < 0 && errno != EINTR)
            r = -errno;
        else if (k == 0)
            r = -ETIMEDOUT;
        else if (stop_fd >= 0 && (p[1].revents & POLLIN))
            r = -ECANCELED;
        uint64_t v;
        ssize_t got = read(ring->efd, &v, sizeof(v)); /* clear: non-blocking */
        (void)got;
    }
    atomic_store_explicit(&ring->waiting, 0, memory_order_relaxed);
    return r;
}
