/*
 * procstat: this process's figures from /proc/self/stat (CPU time, threads,
 * virtual and resident size, start time), for the `stats` topic, the
 * memory budget log and the Prometheus page.
 * Owns: nothing. Thread: any. Blocks on: a read of /proc (no allocation:
 * the file is read into a stack buffer, not through stdio).
 */
#ifndef VG_PROCSTAT_H
#define VG_PROCSTAT_H

typedef struct {
    double cpu_s;              /* user + system CPU time, seconds */
    long threads;
    unsigned long long vsize;  /* bytes */
    unsigned long long rss_bytes;
    double start_s;            /* start time, seconds since the epoch (0 if /proc/stat lacks btime) */
} vg_procstat_t;

/* Reads the figures. Returns 0, or a negative errno (*ret untouched).
 * Thread: any. */
int vg_procstat_read(vg_procstat_t *ret);

#endif
