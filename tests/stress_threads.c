/*
 * Threaded stress tests of the ring and the worker pool, as a plain program:
 * Criterion cannot run under ThreadSanitizer (Criterion issue #274), and
 * these are the tests TSan must see. Run by ctest in every build; in the
 * TSan build a data race makes the program fail (TSan's exit code 66).
 * Prints "N passed, N failed".
 */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <time.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/frame.h"
#include "pipeline/ring.h"
#include "pipeline/workers.h"

#define ITEM(i) ((void *)(uintptr_t)(i))
#define VALUE(p) ((uintptr_t)(p))

static int failures;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* ---- ring: producer pushes 1..N evicting the oldest when full; consumer
 * pops. Every item comes out exactly once: popped in order, or evicted. --- */

typedef struct {
    vg_ring_t *ring;
    uint32_t n;
    int evict;         /* 1: latest wins (live); 0: wait for space (replay) */
    int spin;          /* busy work per push, so both sides contend */
    _Atomic int done;
    uint64_t evicted, evicted_sum, popped, popped_sum;
    int order_ok;
} ring_stress_t;

static void *ring_producer(void *arg)
{
    ring_stress_t *s = arg;
    volatile unsigned sink = 0; /* keeps the busy work from being optimized out */
    for (uintptr_t i = 1; i <= s->n; i++) {
        for (int k = 0; k < s->spin; k++)
            sink += (unsigned)k;
        while (!vg_ring_push(s->ring, ITEM(i))) {
            if (!s->evict)
                continue;
            void *old = vg_ring_evict_oldest(s->ring);
            if (old) {
                s->evicted++;
                s->evicted_sum += VALUE(old);
            }
        }
    }
    /* release: every push happens-before the consumer's final drain */
    atomic_store_explicit(&s->done, 1, memory_order_release);
    return NULL;
}

static void *ring_consumer(void *arg)
{
    ring_stress_t *s = arg;
    uintptr_t last = 0;
    s->order_ok = 1;
    for (;;) {
        void *p = vg_ring_pop(s->ring);
        if (!p) {
            if (!atomic_load_explicit(&s->done, memory_order_acquire))
                continue;
            p = vg_ring_pop(s->ring); /* pushed before done was set */
            if (!p)
                break;
        }
        if (VALUE(p) <= last)
            s->order_ok = 0;
        last = VALUE(p);
        s->popped++;
        s->popped_sum += VALUE(p);
    }
    return NULL;
}

static int test_ring_stress(uint32_t n, uint32_t capacity, int evict, int spin)
{
    int before = failures;
    ring_stress_t s = {.n = n, .evict = evict, .spin = spin};
    CHECK(vg_ring_new(capacity, &s.ring) == 0, "ring_new");
    pthread_t p, c;
    pthread_create(&c, NULL, ring_consumer, &s);
    pthread_create(&p, NULL, ring_producer, &s);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    CHECK(s.order_ok, "popped items must keep the push order");
    CHECK(s.popped + s.evicted == n, "popped %llu + evicted %llu != %u", (unsigned long long)s.popped,
          (unsigned long long)s.evicted, n);
    CHECK(s.popped_sum + s.evicted_sum == (uint64_t)n * (n + 1) / 2, "an item was lost or duplicated");
    if (!evict)
        CHECK(s.evicted == 0 && s.popped == n, "without eviction every item is popped");
    if (evict && spin >= 200) /* long enough that the consumer surely ran */
        CHECK(s.popped > 0 && s.evicted > 0, "both pop and evict must have run (popped %llu, evicted %llu)",
              (unsigned long long)s.popped, (unsigned long long)s.evicted);
    printf("ring stress: %u items through a ring of %u (%s, spin %d): %llu popped, %llu evicted\n", n,
           capacity, evict ? "evicting" : "waiting", spin, (unsigned long long)s.popped,
           (unsigned long long)s.evicted);
    vg_ring_free(&s.ring);
    return failures == before;
}

/* ---- workers: several cameras fed by their own threads; frames reach each
 * camera's handler in order, never on two workers at once. ---------------- */

typedef struct {
    vg_ring_t *ring;
    vg_frame_pool_t *pool;
    uint64_t last_index, handled; /* under the scheduler's claim */
    _Atomic int inside, overlap;
    int order_ok;
    vg_workers_t *w;
    uint64_t frames;
    uint64_t stranded; /* feeder: frame index + 1 it gave up on, 0 if none */
} cam_t;

static int handle(void *camera, vg_frame_t *f, void *worker_ctx)
{
    (void)worker_ctx;
    cam_t *c = camera;
    /* relaxed: a counter of concurrent entries; the claim orders the rest */
    if (atomic_fetch_add_explicit(&c->inside, 1, memory_order_relaxed) != 0)
        atomic_fetch_add_explicit(&c->overlap, 1, memory_order_relaxed);
    if (c->handled > 0 && f->index != c->last_index + 1)
        c->order_ok = 0;
    c->last_index = f->index;
    c->handled++;
    atomic_fetch_sub_explicit(&c->inside, 1, memory_order_relaxed);
    return VG_WORKER_DONE;
}

/* A frame that waits this long for the workers was stranded: a lost
 * wake-up. The feeder gives up so the test fails instead of hanging. */
#define STRANDED_NS (20 * 1000000000LL)

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Replay semantics: wait for the workers, without notifying again (a capture
 * thread notifies once per push), yielding so that on 2 cores the workers
 * run. Returns false when the wait passed STRANDED_NS. */
static bool wait_for(bool (*ready)(cam_t *, vg_frame_t **), cam_t *c, vg_frame_t **f)
{
    int64_t deadline = now_ns() + STRANDED_NS;
    while (!ready(c, f)) {
        if (now_ns() > deadline)
            return false;
        sched_yield();
    }
    return true;
}

static bool got_frame(cam_t *c, vg_frame_t **f) { return (*f = vg_frame_pool_get(c->pool)) != NULL; }
static bool pushed(cam_t *c, vg_frame_t **f) { return vg_ring_push(c->ring, *f); }

/* The workers have handled frame *f and every one before it (one camera). */
static bool handled_it(cam_t *c, vg_frame_t **f)
{
    uint64_t progress = 0;
    for (int k = 0; k < vg_workers_count(c->w); k++)
        progress += vg_workers_progress(c->w, k);
    return progress == (*f)->index + 1;
}

static void *feed(void *arg)
{
    cam_t *c = arg;
    for (uint64_t i = 0; i < c->frames; i++) {
        vg_frame_t *f = NULL;
        if (!wait_for(got_frame, c, &f) || (f->index = i, !wait_for(pushed, c, &f))) {
            /* a frame taken but not pushed stays out of the pool (only the
             * workers put frames back); the pool check then fails too */
            c->stranded = i + 1;
            return NULL;
        }
        vg_workers_notify(c->w);
    }
    return NULL;
}

static int test_workers_order(int n_workers, int n_cams, uint64_t frames)
{
    int before = failures;
    vg_workers_t *w;
    CHECK(vg_workers_new(n_workers, NULL, &w) == 0, "workers_new");
    cam_t *cams = calloc((size_t)n_cams, sizeof(*cams));
    int *queue = calloc((size_t)n_cams, sizeof(*queue));
    pthread_t *th = calloc((size_t)n_cams, sizeof(*th));
    for (int i = 0; i < n_cams; i++) {
        cams[i].order_ok = 1;
        cams[i].w = w;
        cams[i].frames = frames;
        vg_ring_new(4, &cams[i].ring);
        vg_frame_pool_new(7, &cams[i].pool);
        queue[i] = vg_workers_add(w, cams[i].ring, cams[i].pool, handle, NULL, &cams[i]);
        CHECK(queue[i] >= 0, "workers_add");
    }
    for (int i = 0; i < n_cams; i++)
        pthread_create(&th[i], NULL, feed, &cams[i]);
    for (int i = 0; i < n_cams; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < n_cams; i++) {
        CHECK(vg_workers_drain(w, queue[i], 30000) == 0, "drain camera %d", i);
        CHECK(vg_workers_remove(w, queue[i]) == 0, "a drained ring has nothing left");
    }
    uint64_t progress = 0;
    for (int i = 0; i < vg_workers_count(w); i++)
        progress += vg_workers_progress(w, i);
    vg_workers_free(&w);
    for (int i = 0; i < n_cams; i++) {
        CHECK(cams[i].stranded == 0, "camera %d: frame %llu waited 20 s for the workers (lost wake-up)", i,
              (unsigned long long)cams[i].stranded);
        CHECK(cams[i].handled == frames, "camera %d: %llu frames", i, (unsigned long long)cams[i].handled);
        CHECK(cams[i].order_ok, "camera %d: frames out of order", i);
        CHECK(atomic_load(&cams[i].overlap) == 0, "camera %d ran on two workers at once", i);
        CHECK(vg_frame_pool_available(cams[i].pool) == 7, "camera %d: frames not back in the pool", i);
        vg_ring_free(&cams[i].ring);
        vg_frame_pool_free(&cams[i].pool);
    }
    CHECK(progress == (uint64_t)n_cams * frames, "progress %llu", (unsigned long long)progress);
    printf("workers: %d workers, %d cameras x %llu frames in order\n", n_workers, n_cams,
           (unsigned long long)frames);
    free(cams);
    free(queue);
    free(th);
    return failures == before;
}

/* ---- workers: one frame in flight at a time. A worker that finished a
 * frame re-scans and briefly holds the camera's claim with an empty ring,
 * the very moment the next frame is pushed and another worker wakes for it:
 * the shape in which a wake-up can be lost. Every frame must be handled
 * without another notification. ------------------------------------------ */

static int test_workers_ping_pong(int n_workers, uint64_t frames)
{
    int before = failures;
    vg_workers_t *w;
    CHECK(vg_workers_new(n_workers, NULL, &w) == 0, "workers_new");
    cam_t cam = {.order_ok = 1, .w = w, .frames = frames};
    CHECK(vg_ring_new(2, &cam.ring) == 0 && vg_frame_pool_new(2, &cam.pool) == 0, "ring/pool");
    int queue = vg_workers_add(w, cam.ring, cam.pool, handle, NULL, &cam);
    CHECK(queue >= 0, "workers_add");
    uint64_t stranded = 0;
    for (uint64_t i = 0; i < frames && !stranded; i++) {
        vg_frame_t *f = NULL;
        /* the previous frame is back in the pool only after its handler */
        if (!wait_for(got_frame, &cam, &f)) {
            stranded = i + 1;
            break;
        }
        f->index = i;
        /* a varying pause sweeps the push across the worker's re-scan */
        volatile unsigned sink = 0;
        for (unsigned k = 0, n = (unsigned)(i * 2654435761u) % 4096; k < n; k++)
            sink += k;
        CHECK(vg_ring_push(cam.ring, f), "a ring of 2 with one frame in flight has room");
        vg_workers_notify(w);
        if (!wait_for(handled_it, &cam, &f))
            stranded = i + 1;
    }
    CHECK(stranded == 0, "frame %llu was never handled (lost wake-up)", (unsigned long long)stranded - 1);
    CHECK(vg_workers_drain(w, queue, 30000) == 0, "drain");
    CHECK(vg_workers_remove(w, queue) == 0, "a drained ring has nothing left");
    vg_workers_free(&w);
    CHECK(stranded || cam.handled == frames, "%llu frames handled", (unsigned long long)cam.handled);
    CHECK(cam.order_ok, "frames out of order");
    printf("workers ping-pong: %d workers, %llu frames one at a time, all handled without a second wake-up\n",
           n_workers, (unsigned long long)cam.handled);
    vg_ring_free(&cam.ring);
    vg_frame_pool_free(&cam.pool);
    return failures == before;
}

/* ---- workers with parking: handlers hand two frames in three to an
 * "inference" thread of the test, which resumes them after a varying pause
 * (often before the handler has even returned: the race the park/resume
 * protocol must survive). Frames and resumes stay in order, never on two
 * workers at once; removal waits for a parked frame. --------------------- */

typedef struct {
    cam_t base;
    int queue;
    uint64_t parked_index, resumed; /* under the claim */
    int resume_ok;
} park_cam_t;

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    park_cam_t *pending[64];
    int n;
    bool stop;
    vg_workers_t *w;
} actor_t;

static actor_t actor;

static int handle_park(void *camera, vg_frame_t *f, void *worker_ctx)
{
    park_cam_t *c = camera;
    handle(&c->base, f, worker_ctx);
    if (f->index % 3 == 0)
        return VG_WORKER_DONE;
    c->parked_index = f->index;
    pthread_mutex_lock(&actor.lock);
    actor.pending[actor.n++] = c;
    pthread_cond_signal(&actor.wake);
    pthread_mutex_unlock(&actor.lock);
    return VG_WORKER_PARKED;
}

static void resume_park(void *camera, vg_frame_t *f, void *worker_ctx)
{
    (void)worker_ctx;
    park_cam_t *c = camera;
    /* relaxed: as in handle */
    if (atomic_fetch_add_explicit(&c->base.inside, 1, memory_order_relaxed) != 0)
        atomic_fetch_add_explicit(&c->base.overlap, 1, memory_order_relaxed);
    if (f->index != c->parked_index || f->index != c->base.last_index)
        c->resume_ok = 0;
    c->resumed++;
    atomic_fetch_sub_explicit(&c->base.inside, 1, memory_order_relaxed);
}

static void *actor_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&actor.lock);
    for (unsigned spin = 1;; spin = spin * 1103515245u + 12345u) {
        while (!actor.stop && actor.n == 0)
            pthread_cond_wait(&actor.wake, &actor.lock);
        if (actor.n == 0)
            break;
        park_cam_t *c = actor.pending[0];
        memmove(actor.pending, actor.pending + 1, sizeof(*actor.pending) * (size_t)--actor.n);
        pthread_mutex_unlock(&actor.lock);
        volatile unsigned sink = 0; /* "inference": a varying pause */
        for (unsigned k = 0, n = (spin >> 8) % 2048; k < n; k++)
            sink += k;
        vg_workers_resume(actor.w, c->queue);
        pthread_mutex_lock(&actor.lock);
    }
    pthread_mutex_unlock(&actor.lock);
    return NULL;
}

static int test_workers_park(int n_workers, int n_cams, uint64_t frames)
{
    int before = failures;
    vg_workers_t *w;
    CHECK(vg_workers_new(n_workers, NULL, &w) == 0, "workers_new");
    pthread_mutex_init(&actor.lock, NULL);
    pthread_cond_init(&actor.wake, NULL);
    actor.n = 0;
    actor.stop = false;
    actor.w = w;
    pthread_t at;
    pthread_create(&at, NULL, actor_main, NULL);
    park_cam_t *cams = calloc((size_t)n_cams, sizeof(*cams));
    pthread_t *th = calloc((size_t)n_cams, sizeof(*th));
    for (int i = 0; i < n_cams; i++) {
        cams[i].base.order_ok = 1;
        cams[i].resume_ok = 1;
        cams[i].base.w = w;
        cams[i].base.frames = frames;
        vg_ring_new(4, &cams[i].base.ring);
        vg_frame_pool_new(7, &cams[i].base.pool);
        cams[i].queue = vg_workers_add(w, cams[i].base.ring, cams[i].base.pool, handle_park, resume_park, &cams[i]);
        CHECK(cams[i].queue >= 0, "workers_add");
    }
    for (int i = 0; i < n_cams; i++)
        pthread_create(&th[i], NULL, feed, &cams[i].base);
    for (int i = 0; i < n_cams; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < n_cams; i++) {
        /* the last camera is removed without a drain: remove must wait for
         * its parked frame, not free it under the actor */
        if (i < n_cams - 1)
            CHECK(vg_workers_drain(w, cams[i].queue, 30000) == 0, "drain camera %d", i);
        int left = vg_workers_remove(w, cams[i].queue);
        CHECK(left >= 0, "remove");
        cams[i].base.handled += (uint64_t)left; /* dropped at removal: accounted */
    }
    pthread_mutex_lock(&actor.lock);
    actor.stop = true;
    pthread_cond_signal(&actor.wake);
    pthread_mutex_unlock(&actor.lock);
    pthread_join(at, NULL);
    vg_workers_free(&w);
    for (int i = 0; i < n_cams; i++) {
        park_cam_t *c = &cams[i];
        CHECK(c->base.stranded == 0, "camera %d: frame %llu waited 20 s (lost wake-up)", i,
              (unsigned long long)c->base.stranded);
        CHECK(c->base.handled == frames, "camera %d: %llu frames", i, (unsigned long long)c->base.handled);
        CHECK(c->base.order_ok, "camera %d: frames out of order", i);
        CHECK(c->resume_ok, "camera %d: a resume ran on the wrong frame or after the next", i);
        CHECK(atomic_load(&c->base.overlap) == 0, "camera %d ran on two workers at once", i);
        CHECK(vg_frame_pool_available(c->base.pool) == 7, "camera %d: frames not back in the pool", i);
        vg_ring_free(&c->base.ring);
        vg_frame_pool_free(&c->base.pool);
    }
    printf("workers with parking: %d workers, %d cameras x %llu frames, 2 in 3 parked and resumed in order\n",
           n_workers, n_cams, (unsigned long long)frames);
    pthread_cond_destroy(&actor.wake);
    pthread_mutex_destroy(&actor.lock);
    free(cams);
    free(th);
    return failures == before;
}

int main(void)
{
    int passed = 0, failed = 0;
    /* smaller runs under TSan, which is ~10x slower */
    const char *scale_env = getenv("VIGIL_STRESS_SCALE");
    double scale = scale_env ? atof(scale_env) : 1.0;
    if (test_ring_stress((uint32_t)(2000000 * scale), 16, 0, 0)) passed++; else failed++;
    if (test_ring_stress((uint32_t)(1000000 * scale), 16, 1, 0)) passed++; else failed++;
    if (test_ring_stress((uint32_t)(1000000 * scale), 4, 1, 200)) passed++; else failed++;
    if (test_ring_stress((uint32_t)(500000 * scale), 2, 1, 50)) passed++; else failed++;
    if (test_workers_order(3, 4, (uint64_t)(20000 * scale))) passed++; else failed++;
    if (test_workers_order(2, 16, (uint64_t)(2000 * scale))) passed++; else failed++;
    if (test_workers_ping_pong(2, (uint64_t)(200000 * scale))) passed++; else failed++;
    if (test_workers_ping_pong(3, (uint64_t)(100000 * scale))) passed++; else failed++;
    if (test_workers_park(2, 4, (uint64_t)(20000 * scale))) passed++; else failed++;
    if (test_workers_park(3, 12, (uint64_t)(3000 * scale))) passed++; else failed++;
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
