/*
 * bench/ring: vigil's ring (pipeline/ring.h) against Concurrency Kit's
 * ck_ring, in one run, one producer thread and one consumer thread, the
 * producer waiting for space (no eviction), pointers as items.
 * Prints items per second of each and the ratio (ours / ck_ring), median of
 * 5 alternating rounds, for two shapes: one thread pushing and popping in
 * bursts (the operations' own cost), and two spinning threads (cross-core
 * traffic; meaningless unless both cores are idle: the spinning threads
 * measure the scheduler on a loaded machine).
 * Our ring pays a compare-and-swap per pop, the price of producer-side
 * eviction; at camera frame rates (<= 1000 items/s per ring) both are far
 * below 0.1% of a core.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <ck_ring.h>

#include "pipeline/ring.h"

#define N 2000000u
#define CAP 64

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- ours ---- */
static vg_ring_t *our_ring;
static void *our_producer(void *arg)
{
    (void)arg;
    for (uintptr_t i = 1; i <= N; i++)
        while (!vg_ring_push(our_ring, (void *)i))
            ;
    return NULL;
}
static void *our_consumer(void *arg)
{
    uintptr_t sum = 0;
    for (uint32_t got = 0; got < N;) {
        void *p = vg_ring_pop(our_ring);
        if (p) {
            sum += (uintptr_t)p;
            got++;
        }
    }
    *(uintptr_t *)arg = sum;
    return NULL;
}

/* ---- ck_ring SPSC ---- */
static ck_ring_t ck;
static ck_ring_buffer_t ck_buf[CAP];
static void *ck_producer(void *arg)
{
    (void)arg;
    for (uintptr_t i = 1; i <= N; i++)
        while (!ck_ring_enqueue_spsc(&ck, ck_buf, (void *)i))
            ;
    return NULL;
}
static void *ck_consumer(void *arg)
{
    uintptr_t sum = 0;
    for (uint32_t got = 0; got < N;) {
        void *p;
        if (ck_ring_dequeue_spsc(&ck, ck_buf, &p)) {
            sum += (uintptr_t)p;
            got++;
        }
    }
    *(uintptr_t *)arg = sum;
    return NULL;
}

static double run(void *(*prod)(void *), void *(*cons)(void *))
{
    uintptr_t sum = 0;
    pthread_t p, c;
    double t0 = now();
    pthread_create(&c, NULL, cons, &sum);
    pthread_create(&p, NULL, prod, NULL);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    double dt = now() - t0;
    if (sum != (uintptr_t)N * (N + 1) / 2) {
        fprintf(stderr, "bench_ring: wrong sum\n");
        exit(1);
    }
    return N / dt;
}

/* One thread, bursts of 32 pushes then 32 pops: the cost of the operations
 * themselves, without the other core's cache-line traffic or scheduling. */
static double run_single(bool ours)
{
    uintptr_t sum = 0;
    double t0 = now();
    for (uintptr_t base = 0; base < N; base += 32) {
        for (uintptr_t i = 1; i <= 32; i++) {
            if (ours)
                vg_ring_push(our_ring, (void *)(base + i));
            else
                ck_ring_enqueue_spsc(&ck, ck_buf, (void *)(base + i));
        }
        for (int i = 0; i < 32; i++) {
            void *p = NULL;
            if (ours)
                p = vg_ring_pop(our_ring);
            else
                ck_ring_dequeue_spsc(&ck, ck_buf, &p);
            sum += (uintptr_t)p;
        }
    }
    double dt = now() - t0;
    if (sum != (uintptr_t)N * (N + 1) / 2) {
        fprintf(stderr, "bench_ring: wrong sum (single)\n");
        exit(1);
    }
    return N / dt;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    vg_ring_new(CAP, &our_ring);
    double ours[5], theirs[5], ours1[5], theirs1[5];
    for (int r = 0; r < 5; r++) {
        ck_ring_init(&ck, CAP);
        theirs1[r] = run_single(false);
        ours1[r] = run_single(true);
        ck_ring_init(&ck, CAP);
        theirs[r] = run(ck_producer, ck_consumer);
        ours[r] = run(our_producer, our_consumer);
    }
    qsort(ours, 5, sizeof(double), cmp);
    qsort(theirs, 5, sizeof(double), cmp);
    qsort(ours1, 5, sizeof(double), cmp);
    qsort(theirs1, 5, sizeof(double), cmp);
    printf("ring, %u pointers, one thread, bursts of 32 (operation cost), median of 5\n", N);
    printf("  vigil vg_ring      %8.1f M items/s\n", ours1[2] / 1e6);
    printf("  ck_ring (spsc)     %8.1f M items/s\n", theirs1[2] / 1e6);
    printf("  ratio vigil/ck     %8.2f\n", ours1[2] / theirs1[2]);
    printf("ring, %u pointers, capacity %d, 1 producer + 1 consumer thread, median of 5\n", N, CAP);
    printf("  vigil vg_ring      %8.1f M items/s\n", ours[2] / 1e6);
    printf("  ck_ring (spsc)     %8.1f M items/s\n", theirs[2] / 1e6);
    printf("  ratio vigil/ck     %8.2f\n", ours[2] / theirs[2]);
    vg_ring_free(&our_ring);
    return 0;
}
