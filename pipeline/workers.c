#include "pipeline/workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* Frames a worker takes from one camera before looking at the others, so
 * one busy camera cannot starve the rest. */
#define FRAMES_PER_CLAIM 4

typedef struct {
    _Atomic int active;   /* main writes (add/remove), workers read */
    _Atomic int claimed;  /* 0 free, 1 held by a worker or by main during remove */
    /* set by a worker that found the queue claimed; the holder re-scans after
     * letting go, so a frame pushed while it held the claim is not stranded */
    _Atomic int missed;
    vg_ring_t *ring;
    vg_frame_pool_t *pool;
    vg_worker_handler_fn handler;
    void *camera;
} queue_t;

typedef struct {
    vg_workers_t *pool;
    int index;
    void *ctx;
    pthread_t thread;
    _Atomic uint64_t progress; /* written by the worker, read by the watchdog */
} worker_t;

struct vg_workers {
    int n;
    int efd;
    _Atomic int stop;  /* main writes once; workers read */
    queue_t queues[VG_WORKERS_MAX_QUEUES];
    worker_t workers[VG_WORKERS_MAX];
    int started;
};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Claims q for the calling worker. A worker that finds q held leaves a mark
 * and tries once more. The holder takes the mark after it lets go (see
 * run_queue), so a frame whose wake-up this worker consumed while q was held
 * is seen by one of the two: without this, both could go to sleep with the
 * frame in the ring and, in replay, the camera would wait for ever.
 * seq_cst on the mark and both claim attempts orders them against the
 * holder's release and its take of the mark (the Dekker pattern). */
static bool claim(queue_t *q)
{
    int expected = 0;
    if (atomic_compare_exchange_strong_explicit(&q->claimed, &expected, 1, memory_order_seq_cst,
                                                memory_order_seq_cst))
        return true;
    atomic_store_explicit(&q->missed, 1, memory_order_seq_cst);
    expected = 0;
    return atomic_compare_exchange_strong_explicit(&q->claimed, &expected, 1, memory_order_seq_cst,
                                                   memory_order_seq_cst);
}

/* Runs up to FRAMES_PER_CLAIM frames of queue q. Returns how many, plus one
 * when another worker missed q meanwhile (the caller then scans again
 * instead of sleeping). */
static int run_queue(worker_t *self, queue_t *q)
{
    /* the claim's acquire: everything the previous holder did to the
     * camera's state and ring happens-before our work */
    if (!claim(q))
        return 0;
    int done = 0;
    /* acquire: pairs with the release in vg_workers_add that published q */
    if (atomic_load_explicit(&q->active, memory_order_acquire)) {
        while (done < FRAMES_PER_CLAIM) {
            vg_frame_t *f = vg_ring_pop(q->ring);
            if (!f)
                break;
            q->handler(q->camera, f, self->ctx);
            vg_frame_pool_put(q->pool, f);
            done++;
            /* relaxed: a heartbeat counter, read for liveness only */
            atomic_fetch_add_explicit(&self->progress, 1, memory_order_relaxed);
        }
    }
    /* seq_cst (a release, and ordered before the take of the mark below):
     * our work on the camera becomes visible to the next holder */
    atomic_store_explicit(&q->claimed, 0, memory_order_seq_cst);
    /* seq_cst: a mark left before a miss-er's second attempt failed is seen
     * here; its acquire also makes the frame that woke the miss-er visible */
    if (atomic_exchange_explicit(&q->missed, 0, memory_order_seq_cst))
        done++;
    return done;
}

static void *worker_main(void *arg)
{
    worker_t *self = arg;
    vg_workers_t *w = self->pool;
    int start = self->index;
    /* relaxed: stop is re-checked after every wake-up; no data rides on it */
    while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
        int did = 0;
        for (int k = 0; k < VG_WORKERS_MAX_QUEUES; k++) {
            queue_t *q = &w->queues[(start + k) % VG_WORKERS_MAX_QUEUES];
            /* relaxed: a hint; run_queue re-checks under the claim, and only
             * reads the queue's fields while it holds the claim */
            if (!atomic_load_explicit(&q->active, memory_order_relaxed))
                continue;
            did += run_queue(self, q);
        }
        start = (start + 1) % VG_WORKERS_MAX_QUEUES;
        if (!did) {
            uint64_t v;
            /* blocks until a capture thread pushes or stop is requested */
            if (read(w->efd, &v, sizeof(v)) < 0 && errno != EINTR && errno != EAGAIN)
                break;
        }
    }
    return NULL;
}

int vg_workers_new(int n, void *const *worker_ctx, vg_workers_t **ret)
{
    if (n < 1 || n > VG_WORKERS_MAX)
        return -EINVAL;
    vg_workers_t *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->n = n;
    /* semaphore mode: each read takes one wake-up, so one worker cannot
     * swallow the wake-ups meant for the others (stop relies on this) */
    w->efd = eventfd(0, EFD_CLOEXEC | EFD_SEMAPHORE);
    if (w->efd < 0) {
        int r = -errno;
        free(w);
        return r;
    }
    for (int i = 0; i < VG_WORKERS_MAX_QUEUES; i++) {
        atomic_init(&w->queues[i].active, 0);
        atomic_init(&w->queues[i].claimed, 0);
        atomic_init(&w->queues[i].missed, 0);
    }
    atomic_init(&w->stop, 0);
    for (int i = 0; i < n; i++) {
        worker_t *t = &w->workers[i];
        t->pool = w;
        t->index = i;
        t->ctx = worker_ctx ? worker_ctx[i] : NULL;
        atomic_init(&t->progress, 0);
        int r = pthread_create(&t->thread, NULL, worker_main, t);
        if (r != 0) {
            vg_workers_free(&w);
            return -r;
        }
        char name[32]; /* "vg-worker-63" fits the kernel's 16 bytes */
        snprintf(name, sizeof(name), "vg-worker-%d", i);
        pthread_setname_np(t->thread, name);
        w->started++;
    }
    *ret = w;
    return 0;
}

int vg_workers_add(vg_workers_t *w, vg_ring_t *ring, vg_frame_pool_t *pool,
                   vg_worker_handler_fn handler, void *camera)
{
    for (int i = 0; i < VG_WORKERS_MAX_QUEUES; i++) {
        queue_t *q = &w->queues[i];
        /* relaxed: only main writes active */
        if (atomic_load_explicit(&q->active, memory_order_relaxed))
            continue;
        q->ring = ring;
        q->pool = pool;
        q->handler = handler;
        q->camera = camera;
        /* release: the fields above are visible to a worker that sees active */
        atomic_store_explicit(&q->active, 1, memory_order_release);
        return i;
    }
    return -ENOSPC;
}

int vg_workers_drain(vg_workers_t *w, int queue, int timeout_ms)
{
    queue_t *q = &w->queues[queue];
    for (int waited = 0; vg_ring_count(q->ring) > 0; waited++) {
        if (waited >= timeout_ms)
            return -ETIMEDOUT;
        vg_workers_notify(w);
        sleep_ms(1);
    }
    /* the last frame may still be in a handler: wait for the claim */
    for (int waited = 0; atomic_load_explicit(&q->claimed, memory_order_acquire); waited++) {
        if (waited >= timeout_ms)
            return -ETIMEDOUT;
        sleep_ms(1);
    }
    return 0;
}

int vg_workers_remove(vg_workers_t *w, int queue)
{
    queue_t *q = &w->queues[queue];
    /* relaxed: workers re-check active under the claim we take below */
    atomic_store_explicit(&q->active, 0, memory_order_relaxed);
    int expected = 0;
    /* acquire: the last worker's handler finished before we touch the ring.
     * A handler runs one frame's analysis, so this wait is short. */
    while (!atomic_compare_exchange_weak_explicit(&q->claimed, &expected, 1, memory_order_acquire,
                                                  memory_order_relaxed)) {
        expected = 0;
        sleep_ms(1);
    }
    int left = 0;
    vg_frame_t *f;
    while ((f = vg_ring_pop(q->ring))) {
        vg_frame_pool_put(q->pool, f);
        left++;
    }
    q->ring = NULL;
    q->pool = NULL;
    q->handler = NULL;
    q->camera = NULL;
    /* release: the cleared slot is reusable by a later add */
    atomic_store_explicit(&q->claimed, 0, memory_order_release);
    return left;
}

void vg_workers_notify(vg_workers_t *w)
{
    uint64_t one = 1;
    /* cannot block: the counter would need 2^64-2 unread notifications */
    ssize_t r = write(w->efd, &one, sizeof(one));
    (void)r;
}

uint64_t vg_workers_progress(const vg_workers_t *w, int i)
{
    /* relaxed: liveness reading */
    return atomic_load_explicit(&w->workers[i].progress, memory_order_relaxed);
}

int vg_workers_count(const vg_workers_t *w) { return w->n; }

void vg_workers_free(vg_workers_t **pw)
{
    if (!pw || !*pw)
        return;
    vg_workers_t *w = *pw;
    /* relaxed: the eventfd writes below wake the workers, and read() is a
     * syscall boundary after which they re-load stop */
    atomic_store_explicit(&w->stop, 1, memory_order_relaxed);
    for (int i = 0; i < w->started; i++)
        vg_workers_notify(w);
    for (int i = 0; i < w->started; i++)
        pthread_join(w->workers[i].thread, NULL);
    close(w->efd);
    free(w);
    *pw = NULL;
}
