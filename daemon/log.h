/*
 * log: the daemon's and tools' messages on stderr. Library code (capture/,
 * pipeline/, models/) does not log; the caller that decides logs, once.
 * Under systemd (JOURNAL_STREAM set) lines carry "<N>" priority prefixes so
 * the journal gets levels.
 * Thread: any (one fprintf per line, which stdio locks), unless a function
 * says otherwise.
 */
#ifndef VG_LOG_H
#define VG_LOG_H

#include <stddef.h>

enum { VG_LOG_ERROR = 3, VG_LOG_WARNING = 4, VG_LOG_INFO = 6, VG_LOG_DEBUG = 7 };

/* Sets the program name and the most verbose level printed.
 * Thread: main, before other threads log. */
void vg_log_setup(const char *program, int max_level);

/* Changes the most verbose level printed (a reload). Thread: any. */
void vg_log_set_level(int max_level);

/* "error" | "warning" | "info" | "debug" -> level (VG_LOG_*), or -EINVAL.
 * Thread: any. */
int vg_log_level_from_name(const char *name);

/* Writes one line at level. Thread: any. */
void vg_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copies text into buf (truncated to len) with the user:password@ of every
 * URL in it removed ("rtsp://admin:pw@10.0.0.9/s" -> "rtsp://10.0.0.9/s"),
 * for logging camera URLs and the reasons that quote them. Returns buf.
 * Thread: any. */
const char *vg_log_redact_urls(const char *text, char *buf, size_t len);

#endif
