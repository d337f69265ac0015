/* ring, frame pool and worker pool, one thread at a time. The threaded
 * stress tests are in stress_threads.c (plain main, because Criterion cannot
 * run under ThreadSanitizer: Criterion issue #274). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include <criterion/criterion.h>

#include "pipeline/frame.h"
#include "pipeline/ring.h"
#include "pipeline/workers.h"

/* Items are small integers cast to pointers; 0 (NULL) is never pushed. */
#define ITEM(i) ((void *)(uintptr_t)(i))
#define VALUE(p) ((uintptr_t)(p))

Test(ring, rejects_bad_capacity)
{
    vg_ring_t *r = (vg_ring_t *)0x1;
    cr_assert_eq(vg_ring_new(0, &r), -EINVAL);
    cr_assert_eq(vg_ring_new(3, &r), -EINVAL);
    cr_assert_eq(vg_ring_new(1, &r), -EINVAL);
    cr_assert_eq(vg_ring_new(1u << 17, &r), -EINVAL);
    cr_assert_eq(r, (vg_ring_t *)0x1, "ret must be untouched on failure");
}

Test(ring, fifo_until_full_then_refuses)
{
    vg_ring_t *r;
    cr_assert_eq(vg_ring_new(4, &r), 0);
    cr_assert_null(vg_ring_pop(r));
    for (int i = 1; i <= 4; i++)
        cr_assert(vg_ring_push(r, ITEM(i)));
    cr_assert_not(vg_ring_push(r, ITEM(5)), "a full ring refuses");
    cr_assert_eq(vg_ring_count(r), 4);
    for (int i = 1; i <= 4; i++)
        cr_assert_eq(VALUE(vg_ring_pop(r)), (uintptr_t)i);
    cr_assert_null(vg_ring_pop(r));
    cr_assert_eq(vg_ring_count(r), 0);
    vg_ring_free(&r);
    cr_assert_null(r);
    vg_ring_free(&r); /* accepts NULL */
}

Test(ring, eviction_makes_the_newest_win)
{
    vg_ring_t *r;
    cr_assert_eq(vg_ring_new(2, &r), 0);
    cr_assert_null(vg_ring_evict_oldest(r), "nothing to evict when empty");
    vg_ring_push(r, ITEM(1));
    vg_ring_push(r, ITEM(2));
    cr_assert_eq(VALUE(vg_ring_evict_oldest(r)), 1);
    cr_assert(vg_ring_push(r, ITEM(3)));
    cr_assert_eq(VALUE(vg_ring_pop(r)), 2);
    cr_assert_eq(VALUE(vg_ring_pop(r)), 3);
    vg_ring_free(&r);
}

Test(ring, wraps_many_times)
{
    vg_ring_t *r;
    cr_assert_eq(vg_ring_new(8, &r), 0);
    uintptr_t next_in = 1, next_out = 1;
    for (int round = 0; round < 10000; round++) {
        int n = 1 + round % 8;
        for (int i = 0; i < n; i++)
            cr_assert(vg_ring_push(r, ITEM(next_in++)));
        for (int i = 0; i < n; i++)
            cr_assert_eq(VALUE(vg_ring_pop(r)), next_out++);
    }
    vg_ring_free(&r);
}

Test(frame_pool, hands_out_each_frame_once)
{
    vg_frame_pool_t *pool;
    cr_assert_eq(vg_frame_pool_new(5, &pool), 0);
    vg_frame_t *got[5];
    for (int i = 0; i < 5; i++) {
        got[i] = vg_frame_pool_get(pool);
        cr_assert_not_null(got[i]);
        cr_assert_not_null(got[i]->av);
        for (int k = 0; k < i; k++)
            cr_assert_neq(got[i], got[k]);
    }
    cr_assert_null(vg_frame_pool_get(pool), "an empty pool returns NULL, it does not allocate");
    for (int i = 0; i < 5; i++)
        vg_frame_pool_put(pool, got[i]);
    cr_assert_eq(vg_frame_pool_available(pool), 5);
    vg_frame_pool_free(&pool);
    cr_assert_null(pool);
}

static int count_handled(void *camera, vg_frame_t *f, void *worker_ctx)
{
    (void)f;
    (void)worker_ctx;
    (*(int *)camera)++;
    return VG_WORKER_DONE;
}

Test(workers, remove_returns_queued_frames_to_the_pool)
{
    vg_workers_t *w;
    cr_assert_eq(vg_workers_new(1, NULL, &w), 0);
    vg_ring_t *ring;
    vg_frame_pool_t *pool;
    cr_assert_eq(vg_ring_new(4, &ring), 0);
    cr_assert_eq(vg_frame_pool_new(4, &pool), 0);
    /* frames queued before the camera joins, no notify: the worker sleeps */
    for (int i = 0; i < 3; i++)
        vg_ring_push(ring, vg_frame_pool_get(pool));
    int handled = 0;
    int q = vg_workers_add(w, ring, pool, count_handled, NULL, &handled);
    int left = vg_workers_remove(w, q);
    cr_assert_eq(left + handled, 3, "each frame is either handled or returned");
    cr_assert_eq(vg_frame_pool_available(pool), 4);
    vg_workers_free(&w);
    vg_ring_free(&ring);
    vg_frame_pool_free(&pool);
}
