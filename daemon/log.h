/*
 * log: the daemon's and tools' messages on stderr. Library code (capture/,
 * pipeline/, models/) does not log; the caller that decides logs, once.
 * Under systemd (JOURNAL_STREAM set) lines carry "<N>" priority prefixes so
 * the journal gets levels.
 * Thread: any (one fprintf per line, which stdio locks).
 */
#ifndef VG_LOG_H
#define VG_LOG_H

enum { VG_LOG_ERROR = 3, VG_LOG_WARNING = 4, VG_LOG_INFO = 6, VG_LOG_DEBUG = 7 };

/* Sets the program name and the most verbose level printed. */
void vg_log_setup(const char *program, int max_level);
/* "error" | "warning" | "info" | "debug" -> level, or -1. */
int vg_log_level_from_name(const char *name);
void vg_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
