#include "pipeline/frame.h"

#include <errno.h>
#include <stdlib.h>

struct vg_frame_pool {
    uint32_t count;
    vg_frame_t *frames;
    vg_ring_t *free_list; /* producer: whoever puts; consumer: the capture thread */
};

static uint32_t next_pow2(uint32_t v)
{
    uint32_t p = 2;
    while (p < v)
        p <<= 1;
    return p;
}

int vg_frame_pool_new(uint32_t count, vg_frame_pool_t **ret)
{
    if (count == 0 || count > 65535)
        return -EINVAL;
    vg_frame_pool_t *pool = calloc(1, sizeof(*pool));
    if (!pool)
        return -ENOMEM;
    int r = -ENOMEM;
    pool->frames = calloc(count, sizeof(*pool->frames));
    if (!pool->frames)
        goto fail;
    pool->count = count;
    r = vg_ring_new(next_pow2(count), &pool->free_list);
    if (r < 0)
        goto fail;
    for (uint32_t i = 0; i < count; i++) {
        pool->frames[i].av = av_frame_alloc();
        if (!pool->frames[i].av) {
            r = -ENOMEM;
            goto fail;
        }
        vg_ring_push(pool->free_list, &pool->frames[i]);
    }
    *ret = pool;
    return 0;
fail:
    vg_frame_pool_free(&pool);
    return r;
}

void vg_frame_pool_free(vg_frame_pool_t **pool)
{
    if (!pool || !*pool)
        return;
    vg_frame_pool_t *p = *pool;
    if (p->frames)
        for (uint32_t i = 0; i < p->count; i++)
            av_frame_free(&p->frames[i].av);
    free(p->frames);
    vg_ring_free(&p->free_list);
    free(p);
    *pool = NULL;
}

vg_frame_t *vg_frame_pool_get(vg_frame_pool_t *pool) { return vg_ring_pop(pool->free_list); }

void vg_frame_pool_put(vg_frame_pool_t *pool, vg_frame_t *frame)
{
    if (!frame)
        return;
    av_frame_unref(frame->av);
    /* cannot fail: the free list holds every frame the pool owns */
    vg_ring_push(pool->free_list, frame);
}

uint32_t vg_frame_pool_available(const vg_frame_pool_t *pool) { return vg_ring_count(pool->free_list); }

int vg_frame_pool_enable_wait(vg_frame_pool_t *pool) { return vg_ring_enable_wait(pool->free_list); }

int vg_frame_pool_wait(vg_frame_pool_t *pool, int stop_fd, int timeout_ms)
{
    return vg_ring_wait(pool->free_list, false, stop_fd, timeout_ms);
}
