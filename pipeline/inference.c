/* inference.c: see inference.h. */
#include "pipeline/inference.h"
#include "pipeline/monotonic.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SLOTS 64
#define MAX_WAITING 64 /* vg_inference_run callers at once: at most one per worker */

typedef struct {
    vg_inference_slot_t pub; /* first: a vg_inference_slot_t * is a slot_t * */
    vg_inference_done_fn done;
    void *arg;
    bool busy;               /* taken by a worker, or queued, or running */
} slot_t;

/* A vg_inference_run call, on its caller's stack. */
typedef struct {
    const vg_image_t *img;
    vg_det_t *dets;
    int max;
    int result;
    bool done;
} run_request_t;

struct vg_inference {
    vg_detector_t *det;
    int batch;
    int64_t wait_us;
    size_t tensor_floats;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;       /* guards everything below */
    pthread_cond_t wake;        /* work arrived, or stop */
    pthread_cond_t finished;    /* a run request's result is in */
    pthread_cond_t slot_freed;  /* for slot_take(wait) */
    int n_slots;
    slot_t slots[MAX_SLOTS];
    float *tensors;             /* n_slots * tensor_floats, one allocation */
    slot_t *ready[MAX_SLOTS];   /* submitted, in submission order */
    int ready_head, n_ready;
    run_request_t *waiting[MAX_WAITING];
    int n_waiting;
    bool stop;
    uint64_t runs, images;
};

/* One waiting vg_inference_run, run alone. Called and returns with q->lock held. */
static void serve_run_request(vg_inference_t *q)
{
    run_request_t *req = q->waiting[0];
    memmove(q->waiting, q->waiting + 1, sizeof(*q->waiting) * (size_t)--q->n_waiting);
    pthread_mutex_unlock(&q->lock);
    int r = vg_detector_run(q->det, req->img, req->dets, req->max);
    pthread_mutex_lock(&q->lock);
    q->runs++;
    q->images++;
    req->result = r;
    req->done = true;
    pthread_cond_broadcast(&q->finished);
}

/* Up to batch submitted slots in one engine run; their done callbacks run
 * after the slots are free again (so a woken camera can take one at once).
 * Called and returns with q->lock held. */
static void serve_batch(vg_inference_t *q)
{
    if (q->n_ready < q->batch && q->wait_us > 0 && !q->stop) {
        /* give other cameras' frames a moment to join this batch */
        struct timespec until;
        vg_deadline_in(&until, q->wait_us);
        while (q->n_ready < q->batch && !q->stop &&
               pthread_cond_timedwait(&q->wake, &q->lock, &until) != ETIMEDOUT)
            ;
    }
    int k = q->n_ready < q->batch ? q->n_ready : q->batch;
    vg_detect_prepared_t in[VG_DETECT_MAX_BATCH];
    slot_t *taken[VG_DETECT_MAX_BATCH];
    for (int i = 0; i < k; i++) {
        taken[i] = q->ready[q->ready_head];
        q->ready_head = (q->ready_head + 1) % MAX_SLOTS;
        in[i] = taken[i]->pub;
    }
    q->n_ready -= k;
    pthread_mutex_unlock(&q->lock);

    int n[VG_DETECT_MAX_BATCH];
    vg_detector_run_prepared(q->det, in, k, n);
    vg_inference_done_fn done[VG_DETECT_MAX_BATCH];
    void *arg[VG_DETECT_MAX_BATCH];
    pthread_mutex_lock(&q->lock);
    q->runs++;
    q->images += (uint64_t)k;
    for (int i = 0; i < k; i++) {
        done[i] = taken[i]->done;
        arg[i] = taken[i]->arg;
        taken[i]->busy = false;
    }
    pthread_cond_broadcast(&q->slot_freed);
    pthread_mutex_unlock(&q->lock);
    for (int i = 0; i < k; i++)
        done[i](arg[i], n[i]);
    pthread_mutex_lock(&q->lock);
}

static void *inference_main(void *arg)
{
    vg_inference_t *q = arg;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->stop && q->n_ready == 0 && q->n_waiting == 0)
            pthread_cond_wait(&q->wake, &q->lock);
        if (q->n_waiting > 0)
            serve_run_request(q); /* a worker is blocked on it: first */
        else if (q->n_ready > 0)
            serve_batch(q);
        else if (q->stop)
            break;
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

int vg_inference_new(vg_detector_t *d, int slots, int64_t wait_us, vg_inference_t **ret)
{
    if (!d || slots < 1 || slots > MAX_SLOTS || wait_us < 0) {
        vg_detector_free(&d);
        return -EINVAL;
    }
    vg_inference_t *q = calloc(1, sizeof(*q));
    if (!q) {
        vg_detector_free(&d);
        return -ENOMEM;
    }
    q->det = d;
    q->batch = vg_detector_batch(d);
    q->wait_us = wait_us;
    q->n_slots = slots;
    q->tensor_floats = vg_detector_input_size(d);
    pthread_mutex_init(&q->lock, NULL);
    vg_cond_init_monotonic(&q->wake);
    pthread_cond_init(&q->finished, NULL);
    pthread_cond_init(&q->slot_freed, NULL);
    /* one allocation for every slot's tensor, at start-up: large enough to
     * be its own mapping, so slots never used cost no resident memory */
    q->tensors = aligned_alloc(64, (q->tensor_floats * sizeof(float) * (size_t)slots + 63) / 64 * 64);
    if (!q->tensors) {
        vg_inference_free(&q);
        return -ENOMEM;
    }
    for (int i = 0; i < slots; i++)
        q->slots[i].pub.tensor = q->tensors + (size_t)i * q->tensor_floats;
    int r = pthread_create(&q->thread, NULL, inference_main, q);
    if (r != 0) {
        vg_inference_free(&q);
        return -r;
    }
    pthread_setname_np(q->thread, "vg-inference");
    q->started = true;
    *ret = q;
    return 0;
}

void vg_inference_free(vg_inference_t **pq)
{
    if (!pq || !*pq)
        return;
    vg_inference_t *q = *pq;
    if (q->started) {
        pthread_mutex_lock(&q->lock);
        q->stop = true;
        pthread_cond_signal(&q->wake);
        pthread_cond_broadcast(&q->slot_freed);
        pthread_mutex_unlock(&q->lock);
        pthread_join(q->thread, NULL);
    }
    pthread_cond_destroy(&q->wake);
    pthread_cond_destroy(&q->finished);
    pthread_cond_destroy(&q->slot_freed);
    pthread_mutex_destroy(&q->lock);
    free(q->tensors);
    vg_detector_free(&q->det);
    free(q);
    *pq = NULL;
}

vg_detector_t *vg_inference_detector(const vg_inference_t *q) { return q->det; }

int vg_inference_slot_take(vg_inference_t *q, bool wait, vg_inference_slot_t **ret_slot)
{
    pthread_mutex_lock(&q->lock);
    for (;;) {
        if (q->stop) {
            pthread_mutex_unlock(&q->lock);
            return -ESHUTDOWN;
        }
        for (int i = 0; i < q->n_slots; i++)
            if (!q->slots[i].busy) {
                q->slots[i].busy = true;
                pthread_mutex_unlock(&q->lock);
                *ret_slot = &q->slots[i].pub;
                return 0;
            }
        if (!wait)
            break;
        pthread_cond_wait(&q->slot_freed, &q->lock);
    }
    pthread_mutex_unlock(&q->lock);
    return -EAGAIN;
}

void vg_inference_slot_cancel(vg_inference_t *q, vg_inference_slot_t *slot)
{
    slot_t *s = (slot_t *)slot;
    pthread_mutex_lock(&q->lock);
    s->busy = false;
    pthread_cond_broadcast(&q->slot_freed);
    pthread_mutex_unlock(&q->lock);
}

void vg_inference_submit(vg_inference_t *q, vg_inference_slot_t *slot, vg_inference_done_fn done, void *arg)
{
    slot_t *s = (slot_t *)slot;
    pthread_mutex_lock(&q->lock);
    s->done = done;
    s->arg = arg;
    /* n_ready < n_slots: only busy slots are queued, each once */
    q->ready[(q->ready_head + q->n_ready) % MAX_SLOTS] = s;
    q->n_ready++;
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->lock);
}

int vg_inference_run(vg_inference_t *q, const vg_image_t *img, vg_det_t *dets, int max)
{
    run_request_t req = {.img = img, .dets = dets, .max = max};
    pthread_mutex_lock(&q->lock);
    if (q->stop || q->n_waiting >= MAX_WAITING) {
        int r = q->stop ? -ESHUTDOWN : -EAGAIN;
        pthread_mutex_unlock(&q->lock);
        return r;
    }
    q->waiting[q->n_waiting++] = &req;
    pthread_cond_signal(&q->wake);
    while (!req.done)
        pthread_cond_wait(&q->finished, &q->lock);
    pthread_mutex_unlock(&q->lock);
    return req.result;
}

void vg_inference_counts(vg_inference_t *q, uint64_t *ret_runs, uint64_t *ret_images)
{
    pthread_mutex_lock(&q->lock);
    *ret_runs = q->runs;
    *ret_images = q->images;
    pthread_mutex_unlock(&q->lock);
}

size_t vg_inference_memory(const vg_inference_t *q)
{
    return vg_detector_memory(q->det) + q->tensor_floats * sizeof(float) * (size_t)q->n_slots;
}
