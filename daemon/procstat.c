#include "daemon/procstat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The whole of a small /proc file into buf (NUL-terminated); its length or
 * a negative errno. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t n = 0;
    while (n < len - 1) {
        ssize_t r = read(fd, buf + n, len - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    return (ssize_t)n;
}

/* Boot time from /proc/stat's btime line, seconds since the epoch; 0 if
 * not found. Read in chunks: the intr line before it grows with the
 * interrupts a machine has. */
static unsigned long long read_boot_time(void)
{
    int fd = open("/proc/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    enum { TAIL = 48 }; /* more than a whole "\nbtime N\n" line */
    char buf[4096 + TAIL];
    size_t keep = 0;
    unsigned long long bt = 0;
    for (;;) {
        ssize_t r = read(fd, buf + keep, sizeof(buf) - 1 - keep);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        size_t n = keep + (size_t)r;
        buf[n] = '\0';
        const char *b = strstr(buf, "\nbtime ");
        if (b && strchr(b + 1, '\n')) {
            bt = strtoull(b + 7, NULL, 10);
            break;
        }
        keep = n < TAIL ? n : TAIL; /* a line split between two reads */
        memmove(buf, buf + n - keep, keep);
    }
    close(fd);
    return bt;
}

/* The boot time does not change: read once, by whichever thread first asks
 * (two racing threads both read the same value). */
static unsigned long long boot_time(void)
{
    static _Atomic unsigned long long cached;
    /* relaxed: the value is the same whoever stores it */
    unsigned long long bt = atomic_load_explicit(&cached, memory_order_relaxed);
    if (!bt) {
        bt = read_boot_time();
        atomic_store_explicit(&cached, bt, memory_order_relaxed);
    }
    return bt;
}

int vg_procstat_read(vg_procstat_t *ret)
{
    char buf[2048];
    ssize_t n = read_small("/proc/self/stat", buf, sizeof(buf));
    if (n < 0)
        return (int)n;
    const char *s = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long utime, stime, start, vsize;
    long threads, rss;
    /* fields 3..24 of proc(5): state ppid pgrp session tty_nr tpgid flags
     * minflt cminflt majflt cmajflt utime stime cutime cstime priority nice
     * num_threads itrealvalue starttime vsize rss */
    if (!s || sscanf(s + 1,
                     " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %ld %*d %llu %llu %ld",
                     &utime, &stime, &threads, &start, &vsize, &rss) != 6)
        return -EINVAL;
    double tck = (double)sysconf(_SC_CLK_TCK);
    unsigned long long btime = boot_time();
    *ret = (vg_procstat_t){
        .cpu_s = (double)(utime + stime) / tck,
        .threads = threads,
        .vsize = vsize,
        .rss_bytes = (unsigned long long)rss * (unsigned long long)sysconf(_SC_PAGESIZE),
        .start_s = btime ? (double)btime + (double)start / tck : 0,
    };
    return 0;
}
