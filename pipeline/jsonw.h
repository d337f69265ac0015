/*
 * jsonw: writes JSON text into a caller's fixed buffer.
 *
 * Why not jansson here: building a jansson tree allocates per object and per
 * string, and these messages are built for every analysed frame; this writer
 * allocates nothing, and a message is one pass of snprintf-sized appends.
 * jansson still parses JSON everywhere we read it (tools, tests).
 *
 * Owns: nothing (the buffer is the caller's).
 * Thread: any; a writer is used by one thread at a time.
 * Blocks on: nothing.
 */
#ifndef VG_JSONW_H
#define VG_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VG_JSONW_MAX_DEPTH 16

typedef struct {
    char *buf;
    size_t cap, len;
    int depth;
    bool first[VG_JSONW_MAX_DEPTH]; /* no member written yet at this depth */
    bool after_key;
    bool overflow;                  /* the text did not fit; buf is not valid JSON */
} vg_jsonw_t;

void vg_jsonw_init(vg_jsonw_t *w, char *buf, size_t cap);
void vg_jsonw_object_begin(vg_jsonw_t *w);
void vg_jsonw_object_end(vg_jsonw_t *w);
void vg_jsonw_array_begin(vg_jsonw_t *w);
void vg_jsonw_array_end(vg_jsonw_t *w);
void vg_jsonw_key(vg_jsonw_t *w, const char *key);
void vg_jsonw_string(vg_jsonw_t *w, const char *s);
void vg_jsonw_int(vg_jsonw_t *w, int64_t v);
void vg_jsonw_uint(vg_jsonw_t *w, uint64_t v);
/* Finite values with up to `decimals` digits after the point; NaN/inf as null. */
void vg_jsonw_double(vg_jsonw_t *w, double v, int decimals);
void vg_jsonw_bool(vg_jsonw_t *w, bool v);
void vg_jsonw_null(vg_jsonw_t *w);
/* Time as ISO 8601 UTC with milliseconds, e.g. "2026-11-25T09:21:13.042Z". */
void vg_jsonw_time(vg_jsonw_t *w, int64_t unix_us);

/* Length of the text, or -ENOBUFS if it overflowed or is unbalanced. */
int vg_jsonw_finish(vg_jsonw_t *w);

/* Formats unix_us as ISO 8601 UTC with milliseconds into buf (>= 25 bytes). */
void vg_format_time(int64_t unix_us, char *buf, size_t len);

#endif
