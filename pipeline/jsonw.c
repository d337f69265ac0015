#include "pipeline/jsonw.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void vg_jsonw_init(vg_jsonw_t *w, char *buf, size_t cap)
{
    memset(w, 0, sizeof(*w));
    w->buf = buf;
    w->cap = cap;
    if (cap)
        buf[0] = '\0';
}

static void put(vg_jsonw_t *w, const char *s, size_t n)
{
    if (w->overflow || w->len + n + 1 > w->cap) {
        w->overflow = true;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void putf(vg_jsonw_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(vg_jsonw_t *w, const char *fmt, ...)
{
    if (w->overflow)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->buf + w->len, w->cap - w->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n + 1 > w->cap - w->len) {
        w->overflow = true;
        return;
    }
    w->len += (size_t)n;
}

/* Writes the comma a new value needs, unless it follows a key. */
static void sep(vg_jsonw_t *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth > 0) {
        if (!w->first[w->depth - 1])
            put(w, ",", 1);
        w->first[w->depth - 1] = false;
    }
}

static void open_(vg_jsonw_t *w, char c)
{
    sep(w);
    if (w->depth >= VG_JSONW_MAX_DEPTH) {
        w->overflow = true;
        return;
    }
    put(w, &c, 1);
    w->first[w->depth++] = true;
}

static void close_(vg_jsonw_t *w, char c)
{
    if (w->depth <= 0) {
        w->overflow = true;
        return;
    }
    w->depth--;
    put(w, &c, 1);
}

void vg_jsonw_object_begin(vg_jsonw_t *w) { open_(w, '{'); }
void vg_jsonw_object_end(vg_jsonw_t *w) { close_(w, '}'); }
void vg_jsonw_array_begin(vg_jsonw_t *w) { open_(w, '['); }
void vg_jsonw_array_end(vg_jsonw_t *w) { close_(w, ']'); }

static void put_escaped(vg_jsonw_t *w, const char *s)
{
    put(w, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': put(w, "\\\"", 2); break;
        case '\\': put(w, "\\\\", 2); break;
        case '\n': put(w, "\\n", 2); break;
        case '\r': put(w, "\\r", 2); break;
        case '\t': put(w, "\\t", 2); break;
        default:
            if (*p < 0x20)
                putf(w, "\\u%04x", *p);
            else
                put(w, (const char *)p, 1);
        }
    }
    put(w, "\"", 1);
}

void vg_jsonw_key(vg_jsonw_t *w, const char *key)
{
    sep(w);
    put_escaped(w, key);
    put(w, ":", 1);
    w->after_key = true;
}

void vg_jsonw_string(vg_jsonw_t *w, const char *s)
{
    sep(w);
    put_escaped(w, s ? s : "");
}

void vg_jsonw_int(vg_jsonw_t *w, int64_t v)
{
    sep(w);
    putf(w, "%" PRId64, v);
}

void vg_jsonw_uint(vg_jsonw_t *w, uint64_t v)
{
    sep(w);
    putf(w, "%" PRIu64, v);
}

void vg_jsonw_double(vg_jsonw_t *w, double v, int decimals)
{
    sep(w);
    if (!isfinite(v)) {
        put(w, "null", 4);
        return;
    }
    putf(w, "%.*f", decimals, v);
}

void vg_jsonw_bool(vg_jsonw_t *w, bool v)
{
    sep(w);
    if (v)
        put(w, "true", 4);
    else
        put(w, "false", 5);
}

void vg_jsonw_null(vg_jsonw_t *w)
{
    sep(w);
    put(w, "null", 4);
}

void vg_format_time(int64_t unix_us, char *buf, size_t len)
{
    time_t secs = (time_t)(unix_us / 1000000);
    int ms = (int)((unix_us % 1000000) / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

void vg_jsonw_time(vg_jsonw_t *w, int64_t unix_us)
{
    char buf[40];
    vg_format_time(unix_us, buf, sizeof(buf));
    vg_jsonw_string(w, buf);
}

int vg_jsonw_finish(vg_jsonw_t *w)
{
    if (w->overflow || w->depth != 0)
        return -ENOBUFS;
    return (int)w->len;
}
