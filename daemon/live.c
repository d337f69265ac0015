/* live.c: see live.h. */
#include "daemon/live.h"
#include "pipeline/monotonic.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/config.h"

struct vg_live {
    _Atomic int refs;
    _Atomic int viewers;      /* HTTP threads watching; the worker reads it relaxed */
    int64_t next_us;          /* worker only: earliest CLOCK_MONOTONIC time of the next hand-over
                               * (the workers' claim orders it between workers) */
    int64_t interval_us;      /* 1 / max_fps */
    char camera[64];
    pthread_mutex_t lock;     /* guards everything below */
    pthread_cond_t cond;      /* a new frame, or closed */
    AVFrame *frame;           /* the last frame handed over; empty (no buffers) when unwatched */
    uint64_t seq;             /* counts hand-overs, from 1 */
    int64_t wall_us;          /* the frame's decode time */
    int n_objects;
    vg_live_object_t objects[VG_LIVE_MAX_OBJECTS];
    bool closed;
};

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int vg_live_new(const char *camera, double max_fps, vg_live_t **ret)
{
    if (!camera || max_fps <= 0)
        return -EINVAL;
    vg_live_t *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    if (!(l->frame = av_frame_alloc())) {
        free(l);
        return -ENOMEM;
    }
    atomic_init(&l->refs, 1);
    atomic_init(&l->viewers, 0);
    l->interval_us = (int64_t)(1e6 / max_fps);
    snprintf(l->camera, sizeof(l->camera), "%s", camera);
    pthread_mutex_init(&l->lock, NULL);
    vg_cond_init_monotonic(&l->cond);
    *ret = l;
    return 0;
}

vg_live_t *vg_live_ref(vg_live_t *l)
{
    /* relaxed: the caller already holds a reference, so the object is alive */
    atomic_fetch_add_explicit(&l->refs, 1, memory_order_relaxed);
    return l;
}

void vg_live_unref(vg_live_t **pl)
{
    vg_live_t *l = pl ? *pl : NULL;
    if (!l)
        return;
    *pl = NULL;
    /* acq_rel: the last holder must see every other holder's writes before freeing */
    if (atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) != 1)
        return;
    av_frame_free(&l->frame);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->cond);
    free(l);
}

const char *vg_live_camera(const vg_live_t *l) { return l->camera; }

void vg_live_offer(vg_live_t *l, const vg_frame_t *f, const vg_analysis_t *a)
{
    /* relaxed: a hint; a viewer that just arrived gets the next frame */
    if (!l || atomic_load_explicit(&l->viewers, memory_order_relaxed) == 0)
        return;
    int64_t now = mono_us();
    if (now < l->next_us)
        return;
    if (pthread_mutex_trylock(&l->lock) != 0)
        return; /* an HTTP thread is copying: skip this one, never wait */
    /* relaxed: the lock orders it after a last viewer's leaving (vg_live_watch
     * lowers the count before it takes the lock), so no frame is pinned for nobody */
    if (atomic_load_explicit(&l->viewers, memory_order_relaxed) == 0) {
        pthread_mutex_unlock(&l->lock);
        return;
    }
    vg_analysis_object_t objs[VG_LIVE_MAX_OBJECTS];
    int n = vg_analysis_objects(a, objs, VG_LIVE_MAX_OBJECTS);
    av_frame_unref(l->frame);
    if (av_frame_ref(l->frame, f->av) == 0) {
        for (int i = 0; i < n; i++) {
            vg_live_object_t *o = &l->objects[i];
            if (objs[i].label)
                snprintf(o->label, sizeof(o->label), "%s", objs[i].label);
            else
                snprintf(o->label, sizeof(o->label), "%d", objs[i].label_index);
            o->score = objs[i].score;
            memcpy(o->box, objs[i].box, sizeof(o->box));
        }
        l->n_objects = n;
        l->wall_us = f->wall_us;
        l->seq++;
        pthread_cond_broadcast(&l->cond);
    }
    pthread_mutex_unlock(&l->lock);
    /* 3/4 of the interval: frames that come exactly at max_fps, with jitter,
     * are all taken instead of every other one */
    l->next_us = now + l->interval_us * 3 / 4;
}

void vg_live_watch(vg_live_t *l, int delta)
{
    /* acq_rel: pairs the count with the release of the frame below */
    int was = atomic_fetch_add_explicit(&l->viewers, delta, memory_order_acq_rel);
    if (was + delta == 0) {
        /* nobody watches: do not pin a decoder buffer */
        pthread_mutex_lock(&l->lock);
        if (atomic_load_explicit(&l->viewers, memory_order_relaxed) == 0)
            av_frame_unref(l->frame);
        pthread_mutex_unlock(&l->lock);
    }
}

int vg_live_take(vg_live_t *l, uint64_t *seq, int timeout_ms, AVFrame *dst, vg_live_object_t *ret_objects,
                 int64_t *ret_wall_us)
{
    struct timespec until;
    vg_deadline_in(&until, (int64_t)timeout_ms * 1000);
    int r = 0;
    pthread_mutex_lock(&l->lock);
    while (!l->closed && (l->seq == *seq || !l->frame->buf[0]) && r == 0)
        r = pthread_cond_timedwait(&l->cond, &l->lock, &until);
    if (l->closed) {
        r = -ESHUTDOWN;
    } else if (l->seq == *seq || !l->frame->buf[0]) {
        r = -ETIMEDOUT;
    } else {
        av_frame_unref(dst);
        if (av_frame_ref(dst, l->frame) < 0) {
            r = -ENOMEM;
        } else {
            memcpy(ret_objects, l->objects, (size_t)l->n_objects * sizeof(l->objects[0]));
            r = l->n_objects;
            *seq = l->seq;
            if (ret_wall_us)
                *ret_wall_us = l->wall_us;
        }
    }
    pthread_mutex_unlock(&l->lock);
    return r;
}

void vg_live_close(vg_live_t *l)
{
    pthread_mutex_lock(&l->lock);
    l->closed = true;
    av_frame_unref(l->frame);
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
}

/* ------------------------------------------------------------ registry */

struct vg_live_registry {
    pthread_mutex_t lock;
    vg_live_t *slots[VG_CONFIG_MAX_CAMERAS];
};

int vg_live_registry_new(vg_live_registry_t **ret)
{
    vg_live_registry_t *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    pthread_mutex_init(&r->lock, NULL);
    *ret = r;
    return 0;
}

void vg_live_registry_free(vg_live_registry_t **pr)
{
    vg_live_registry_t *r = pr ? *pr : NULL;
    if (!r)
        return;
    for (int i = 0; i < VG_CONFIG_MAX_CAMERAS; i++) {
        if (r->slots[i])
            vg_live_close(r->slots[i]);
        vg_live_unref(&r->slots[i]);
    }
    pthread_mutex_destroy(&r->lock);
    free(r);
    *pr = NULL;
}

int vg_live_registry_put(vg_live_registry_t *r, vg_live_t *l)
{
    vg_live_t *old = NULL;
    int ret = -ENOSPC;
    pthread_mutex_lock(&r->lock);
    int free_i = -1;
    for (int i = 0; i < VG_CONFIG_MAX_CAMERAS; i++) {
        if (r->slots[i] && strcmp(r->slots[i]->camera, l->camera) == 0) {
            old = r->slots[i];
            r->slots[i] = vg_live_ref(l);
            ret = 0;
            break;
        }
        if (!r->slots[i] && free_i < 0)
            free_i = i;
    }
    if (ret < 0 && free_i >= 0) {
        r->slots[free_i] = vg_live_ref(l);
        ret = 0;
    }
    pthread_mutex_unlock(&r->lock);
    if (old) {
        vg_live_close(old);
        vg_live_unref(&old);
    }
    return ret;
}

void vg_live_registry_remove(vg_live_registry_t *r, vg_live_t *l)
{
    vg_live_t *old = NULL;
    pthread_mutex_lock(&r->lock);
    for (int i = 0; i < VG_CONFIG_MAX_CAMERAS; i++) {
        if (r->slots[i] == l) {
            old = l;
            r->slots[i] = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&r->lock);
    vg_live_close(l);
    vg_live_unref(&old);
}

vg_live_t *vg_live_registry_get(vg_live_registry_t *r, const char *name)
{
    vg_live_t *l = NULL;
    pthread_mutex_lock(&r->lock);
    for (int i = 0; i < VG_CONFIG_MAX_CAMERAS && !l; i++)
        if (r->slots[i] && strcmp(r->slots[i]->camera, name) == 0)
            l = vg_live_ref(r->slots[i]);
    pthread_mutex_unlock(&r->lock);
    return l;
}
