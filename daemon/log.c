#include "daemon/log.h"

#include <errno.h>
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

void vg_log_set_level(int max_level)
{
    atomic_store_explicit(&log_max, max_level, memory_order_relaxed);
}

int vg_log_level_from_name(const char *name)
{
    static const struct { const char *name; int level; } levels[] = {
        {"error", VG_LOG_ERROR}, {"warning", VG_LOG_WARNING}, {"info", VG_LOG_INFO}, {"debug", VG_LOG_DEBUG}};
    for (size_t i = 0; i < sizeof(levels) / sizeof(*levels); i++)
        if (strcmp(name, levels[i].name) == 0)
            return levels[i].level;
    return -EINVAL;
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

const char *vg_log_redact_urls(const char *text, char *buf, size_t len)
{
    if (!len)
        return buf;
    size_t o = 0;
    const char *p = text ? text : "";
    while (*p && o + 1 < len) {
        const char *sep = strstr(p, "://");
        const char *end = sep ? sep + 3 : p + strlen(p);
        while (p < end && o + 1 < len) /* up to and including "://" */
            buf[o++] = *p++;
        if (!sep || p < end)
            break;
        /* The userinfo ends at the last '@' before the query, the fragment
         * or the end of the word: a password may hold an unescaped '/', and
         * dropping a path's '@' part errs on the safe side. */
        size_t word = strcspn(p, "?# \t\n'\"");
        const char *at = NULL;
        for (size_t i = 0; i < word; i++)
            if (p[i] == '@')
                at = p + i;
        if (at)
            p = at + 1;
    }
    buf[o] = '\0';
    return buf;
}
