/*
 * monotonic: timed waits on CLOCK_MONOTONIC, so that a wall-clock step
 * (NTP, an operator setting the date) neither cuts a wait short nor
 * stretches it. One condition-variable setup and one deadline helper for
 * every thread that waits with a bound (workers, inference, HTTP).
 * Owns: nothing. Thread: any. Blocks on: nothing.
 */
#ifndef VG_MONOTONIC_H
#define VG_MONOTONIC_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Initialises c to time its waits on CLOCK_MONOTONIC. Returns 0 or a
 * positive pthread error, as pthread_cond_init. Thread: any. */
int vg_cond_init_monotonic(pthread_cond_t *c);

/* The CLOCK_MONOTONIC time `us` microseconds from now, for
 * pthread_cond_timedwait on such a condition variable. Thread: any. */
void vg_deadline_in(struct timespec *ret, int64_t us);

#endif
