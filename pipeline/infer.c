/* infer.c: see infer.h. */
#include "pipeline/infer.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

typedef struct {
    const vg_image_t *img;
    vg_det_t *dets;
    int max;
    int result;
    bool done;
} request_t;

struct vg_infer {
    vg_detector_t *det;
    int batch;
    int64_t wait_us;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;    /* guards everything below */
    pthread_cond_t wake;     /* a request arrived, or stop */
    pthread_cond_t finished; /* a batch's results are in */
    request_t *queue[VG_DETECT_MAX_BATCH];
    int queued;
    bool stop;
    uint64_t runs, images;
};

static void deadline_after(struct timespec *ts, int64_t us)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += us / 1000000;
    ts->tv_nsec += (us % 1000000) * 1000;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *infer_main(void *arg)
{
    vg_infer_t *q = arg;
    const vg_image_t *imgs[VG_DETECT_MAX_BATCH];
    vg_det_t *dets[VG_DETECT_MAX_BATCH];
    int max[VG_DETECT_MAX_BATCH], n[VG_DETECT_MAX_BATCH];
    request_t *taken[VG_DETECT_MAX_BATCH];
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->stop && q->queued == 0)
            pthread_cond_wait(&q->wake, &q->lock);
        if (q->queued == 0 && q->stop)
            break;
        if (q->queued < q->batch && q->wait_us > 0 && !q->stop) {
            /* give other cameras' frames a moment to join this batch */
            struct timespec until;
            deadline_after(&until, q->wait_us);
            while (q->queued < q->batch && !q->stop &&
                   pthread_cond_timedwait(&q->wake, &q->lock, &until) != ETIMEDOUT)
                ;
        }
        int k = q->queued;
        for (int i = 0; i < k; i++) {
            taken[i] = q->queue[i];
            imgs[i] = taken[i]->img;
            dets[i] = taken[i]->dets;
            max[i] = taken[i]->max;
        }
        q->queued = 0;
        pthread_mutex_unlock(&q->lock);
        vg_detector_run_batch(q->det, imgs, k, dets, max, n);
        pthread_mutex_lock(&q->lock);
        q->runs++;
        q->images += (uint64_t)k;
        for (int i = 0; i < k; i++) {
            taken[i]->result = n[i];
            taken[i]->done = true;
        }
        pthread_cond_broadcast(&q->finished);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

int vg_infer_new(vg_detector_t *d, int64_t wait_us, vg_infer_t **ret)
{
    vg_infer_t *q = calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    q->det = d;
    q->batch = vg_detector_batch(d);
    q->wait_us = wait_us;
    pthread_mutex_init(&q->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&q->finished, NULL);
    int r = pthread_create(&q->thread, NULL, infer_main, q);
    if (r != 0) {
        vg_infer_free(&q);
        return -r;
    }
    pthread_setname_np(q->thread, "vg-infer");
    q->started = true;
    *ret = q;
    return 0;
}

void vg_infer_free(vg_infer_t **pq)
{
    if (!pq || !*pq)
        return;
    vg_infer_t *q = *pq;
    if (q->started) {
        pthread_mutex_lock(&q->lock);
        q->stop = true;
        pthread_cond_signal(&q->wake);
        pthread_mutex_unlock(&q->lock);
        pthread_join(q->thread, NULL);
    }
    pthread_cond_destroy(&q->wake);
    pthread_cond_destroy(&q->finished);
    pthread_mutex_destroy(&q->lock);
    free(q);
    *pq = NULL;
}

int vg_infer_run(vg_infer_t *q, const vg_image_t *img, vg_det_t *dets, int max)
{
    request_t req = {.img = img, .dets = dets, .max = max};
    pthread_mutex_lock(&q->lock);
    if (q->stop || q->queued >= q->batch) {
        pthread_mutex_unlock(&q->lock);
        return -EAGAIN;
    }
    q->queue[q->queued++] = &req;
    pthread_cond_signal(&q->wake);
    while (!req.done)
        pthread_cond_wait(&q->finished, &q->lock);
    pthread_mutex_unlock(&q->lock);
    return req.result;
}

void vg_infer_counts(vg_infer_t *q, uint64_t *ret_runs, uint64_t *ret_images)
{
    pthread_mutex_lock(&q->lock);
    *ret_runs = q->runs;
    *ret_images = q->images;
    pthread_mutex_unlock(&q->lock);
}
