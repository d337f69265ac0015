/* monotonic.c: see monotonic.h. */
#include "pipeline/monotonic.h"

int vg_cond_init_monotonic(pthread_cond_t *c)
{
    pthread_condattr_t ca;
    int r = pthread_condattr_init(&ca);
    if (r != 0)
        return r;
    r = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (r == 0)
        r = pthread_cond_init(c, &ca);
    pthread_condattr_destroy(&ca);
    return r;
}

void vg_deadline_in(struct timespec *ret, int64_t us)
{
    clock_gettime(CLOCK_MONOTONIC, ret);
    ret->tv_sec += us / 1000000;
    ret->tv_nsec += (long)(us % 1000000) * 1000;
    if (ret->tv_nsec >= 1000000000L) {
        ret->tv_sec++;
        ret->tv_nsec -= 1000000000L;
    }
}
