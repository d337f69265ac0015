#include "pipeline/workers.h"
#include "pipeline/monotonic.h"

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
    /* set by vg_workers_resume (an actor's thread), taken by the holder of
     * the claim that runs the resume handler */
    _Atomic int resumed;
    /* the holder writes it when a handler parks or a resume ends; read by
     * main's drain as a hint (remove re-checks parked under the claim) */
    _Atomic int has_parked;
    vg_frame_t *parked;  /* the frame waiting for its inference; under the claim */
    vg_ring_t *ring;
    vg_frame_pool_t *pool;
    vg_worker_handler_fn handler;
    vg_worker_resume_fn resume;
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
    /* main waiting in drain/remove: workers that changed a queue's state
     * broadcast `idle` (only when someone waits: a load per claim otherwise) */
    _Atomic int idle_waiters;
    pthread_mutex_t idle_lock;
    pthread_cond_t idle;
    queue_t queues[VG_WORKERS_MAX_QUEUES];
    worker_t workers[VG_WORKERS_MAX];
    int started;
};

/* Wakes main if it waits in drain/remove. seq_cst load: ordered after the
 * caller's seq_cst store to the queue state, against the waiter's increment
 * before it checks that state (so one of the two sees the other). */
static void wake_main(vg_workers_t *w)
{
    if (atomic_load_explicit(&w->idle_waiters, memory_order_seq_cst) == 0)
        return;
    pthread_mutex_lock(&w->idle_lock);
    pthread_cond_broadcast(&w->idle);
    pthread_mutex_unlock(&w->idle_lock);
}

/* Main: waits until done(q) holds, or the deadline (CLOCK_MONOTONIC) passes.
 * Workers call wake_main after every change of a queue's state; the timed
 * wait is only a bound. */
static bool wait_until(vg_workers_t *w, queue_t *q, bool (*done)(queue_t *), const struct timespec *deadline)
{
    bool ok;
    pthread_mutex_lock(&w->idle_lock);
    atomic_fetch_add_explicit(&w->idle_waiters, 1, memory_order_seq_cst);
    while (!(ok = done(q))) {
        if (deadline) {
            if (pthread_cond_timedwait(&w->idle, &w->idle_lock, deadline) == ETIMEDOUT) {
                ok = done(q);
                break;
            }
        } else {
            pthread_cond_wait(&w->idle, &w->idle_lock);
        }
    }
    atomic_fetch_sub_explicit(&w->idle_waiters, 1, memory_order_seq_cst);
    pthread_mutex_unlock(&w->idle_lock);
    return ok;
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

/* Runs the resume handler of q's parked frame if its result is in, then up
 * to FRAMES_PER_CLAIM frames of q (stopping at one that parks). Returns how
 * many, plus one when another worker missed q meanwhile (the caller then
 * scans again instead of sleeping). */
static int run_queue(worker_t *self, queue_t *q)
{
    /* the claim's acquire: everything the previous holder did to the
     * camera's state and ring happens-before our work */
    if (!claim(q))
        return 0;
    int done = 0;
    /* acquire: pairs with the release in vg_workers_resume, so what the
     * inference thread wrote for the frame (detections) is visible */
    if (q->parked && atomic_exchange_explicit(&q->resumed, 0, memory_order_acquire)) {
        vg_frame_t *f = q->parked;
        q->parked = NULL;
        q->resume(q->camera, f, self->ctx);
        vg_frame_pool_put(q->pool, f);
        /* relaxed: a hint for main's drain, which is woken below */
        atomic_store_explicit(&q->has_parked, 0, memory_order_relaxed);
        done++;
        /* relaxed: a heartbeat counter, read for liveness only */
        atomic_fetch_add_explicit(&self->progress, 1, memory_order_relaxed);
    }
    /* acquire: pairs with the release in vg_workers_add that published q */
    if (!q->parked && atomic_load_explicit(&q->active, memory_order_acquire)) {
        while (done < FRAMES_PER_CLAIM) {
            vg_frame_t *f = vg_ring_pop(q->ring);
            if (!f)
                break;
            int r = q->handler(q->camera, f, self->ctx);
            done++;
            /* relaxed: a heartbeat counter, read for liveness only */
            atomic_fetch_add_explicit(&self->progress, 1, memory_order_relaxed);
            if (r == VG_WORKER_PARKED) {
                /* the camera waits for vg_workers_resume; other cameras go on */
                q->parked = f;
                atomic_store_explicit(&q->has_parked, 1, memory_order_relaxed); /* hint, see above */
                break;
            }
            vg_frame_pool_put(q->pool, f);
        }
    }
    /* seq_cst (a release, and ordered before the take of the mark below):
     * our work on the camera becomes visible to the next holder */
    atomic_store_explicit(&q->claimed, 0, memory_order_seq_cst);
    /* seq_cst: a mark left before a miss-er's second attempt failed is seen
     * here; its acquire also makes the frame that woke the miss-er visible */
    if (atomic_exchange_explicit(&q->missed, 0, memory_order_seq_cst))
        done++;
    wake_main(self->pool);
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
            /* relaxed: hints; run_queue re-checks under the claim, and only
             * reads the queue's fields while it holds the claim. A removed
             * camera's parked frame is still resumed (remove waits for it). */
            if (!atomic_load_explicit(&q->active, memory_order_relaxed) &&
                !atomic_load_explicit(&q->has_parked, memory_order_relaxed))
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
        atomic_init(&w->queues[i].resumed, 0);
        atomic_init(&w->queues[i].has_parked, 0);
    }
    atomic_init(&w->stop, 0);
    atomic_init(&w->idle_waiters, 0);
    pthread_mutex_init(&w->idle_lock, NULL);
    vg_cond_init_monotonic(&w->idle);
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

int vg_workers_add(vg_workers_t *w, vg_ring_t *ring, vg_frame_pool_t *pool, vg_worker_handler_fn handler,
                   vg_worker_resume_fn resume, void *camera)
{
    for (int i = 0; i < VG_WORKERS_MAX_QUEUES; i++) {
        queue_t *q = &w->queues[i];
        /* relaxed: only main writes active */
        if (atomic_load_explicit(&q->active, memory_order_relaxed))
            continue;
        q->ring = ring;
        q->pool = pool;
        q->handler = handler;
        q->resume = resume;
        q->camera = camera;
        /* parked, resumed and has_parked are already clear: a slot is free
         * only after remove found nothing parked (workers may read them on
         * an inactive slot under the claim, so they are not written here) */
        /* release: the fields above are visible to a worker that sees active */
        atomic_store_explicit(&q->active, 1, memory_order_release);
        return i;
    }
    return -ENOSPC;
}

/* Main's predicates for wait_until. The claim is read first, with acquire:
 * when it is free, what its last holder stored (has_parked) is seen by the
 * loads after it. */
static bool queue_idle(queue_t *q)
{
    return !atomic_load_explicit(&q->claimed, memory_order_acquire) &&
           !atomic_load_explicit(&q->has_parked, memory_order_relaxed) && vg_ring_count(q->ring) == 0;
}

/* Takes the claim for main when no frame of q is parked; true when held. */
static bool claim_unparked(queue_t *q)
{
    int expected = 0;
    /* acquire: the last holder's work happens-before ours */
    if (!atomic_compare_exchange_strong_explicit(&q->claimed, &expected, 1, memory_order_acquire,
                                                 memory_order_relaxed))
        return false;
    if (!q->parked)
        return true;
    /* release: nothing of ours to publish, but keep the claim's pairing */
    atomic_store_explicit(&q->claimed, 0, memory_order_release);
    return false;
}

int vg_workers_drain(vg_workers_t *w, int queue, int timeout_ms)
{
    queue_t *q = &w->queues[queue];
    struct timespec deadline;
    vg_deadline_in(&deadline, (int64_t)timeout_ms * 1000);
    vg_workers_notify(w);
    return wait_until(w, q, queue_idle, &deadline) ? 0 : -ETIMEDOUT;
}

int vg_workers_remove(vg_workers_t *w, int queue)
{
    queue_t *q = &w->queues[queue];
    /* relaxed: workers re-check active under the claim we take below */
    atomic_store_explicit(&q->active, 0, memory_order_relaxed);
    /* A handler runs one frame's analysis and a parked frame waits for one
     * inference run, so this wait is short; it has no deadline because the
     * camera's state may not be freed while a worker or the actor holds it. */
    vg_workers_notify(w);
    wait_until(w, q, claim_unparked, NULL);
    int left = 0;
    vg_frame_t *f;
    while ((f = vg_ring_pop(q->ring))) {
        vg_frame_pool_put(q->pool, f);
        left++;
    }
    q->ring = NULL;
    q->pool = NULL;
    q->handler = NULL;
    q->resume = NULL;
    q->camera = NULL;
    /* release: the cleared slot is reusable by a later add */
    atomic_store_explicit(&q->claimed, 0, memory_order_release);
    return left;
}

void vg_workers_resume(vg_workers_t *w, int queue)
{
    /* release: the inference result written before this call is visible to
     * the worker that takes the mark (its acquire exchange) */
    atomic_store_explicit(&w->queues[queue].resumed, 1, memory_order_release);
    vg_workers_notify(w);
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
    pthread_cond_destroy(&w->idle);
    pthread_mutex_destroy(&w->idle_lock);
    free(w);
    *pw = NULL;
}
