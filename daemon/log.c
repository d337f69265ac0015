#include "daemon/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *log_program = "vigil";
static _Atomic int log_max = VG_LOG_INFO; /* relaxed everywhere: a setting */
static bool log_journal;

void vg_log_setup(const char *program, int max_level)
{
    log_program = program;
    atomic_store_explicit(&log_max, max_level, memory_order_relaxed);
    log_journal = getenv("JOURNAL_STREAM") != NULL;
}

int vg_log_level_from_name(const char *name)
{
    static const struct { const char *name; int level; } levels[] = {
        {"error", VG_LOG_ERROR}, {"warning", VG_LOG_WARNING}, {"info", VG_LOG_INFO}, {"debug", VG_LOG_DEBUG}};
    for (size_t i = 0; i < sizeof(levels) / sizeof(*levels); i++)
        if (strcmp(name, levels[i].name) == 0)
            return levels[i].level;
    return -1;
}

void vg_log(int level, const char *fmt, ...)
{
    if (level > atomic_load_explicit(&log_max, memory_order_relaxed))
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    static const char *const names[8] = {"", "", "", "error", "warning", "", "info", "debug"};
    if (log_journal)
        fprintf(stderr, "<%d>%s\n", level, line);
    else
        fprintf(stderr, "%s: %s%s%s\n", log_program, names[level & 7], names[level & 7][0] ? ": " : "", line);
}
