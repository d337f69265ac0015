/* http_footage.c: the routes on recorded footage, read from the index of
 * recordings (storage/index.h) in state_dir: /api/events (+ /{id}) from the
 * index while recording is on, /api/events/{id}/snapshot.jpg (the file the
 * analysis wrote), /api/events/{id}/clip.mp4 and
 * /api/recordings/{camera}/clip.mp4 (stream-copied by vg_clip_write), and
 * /api/recordings (segments and gaps).
 *
 * Each request opens its own read-only connection (SQLite in WAL mode reads
 * while the storage thread writes; connections are per thread). A clip is
 * written to an unlinked temporary file and kept in a small cache, so the
 * range requests a browser sends while it seeks see the same bytes (an open
 * event's clip ends where it ended at its first request, for CLIP_KEEP_US).
 * See http.h. */
#include "daemon/http_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "storage/clip.h"
#include "storage/index.h"

#define CLIP_SLOTS 4
#define CLIP_KEEP_US (30 * 1000000LL) /* a cached clip serves range requests this long */
#define GAP_US 1000000                /* a hole longer than this between segments is a gap */
#define MAX_SEGMENTS 20000            /* per /api/recordings answer */

typedef struct {
    char key[256];                    /* "" = free */
    int fd;                           /* unlinked file */
    uint64_t size;
    int64_t made_us;                  /* CLOCK_MONOTONIC */
} clip_slot_t;

static pthread_mutex_t clip_lock = PTHREAD_MUTEX_INITIALIZER;
static clip_slot_t clips[CLIP_SLOTS];

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

bool http_footage_on(vg_http_t *h)
{
    /* relaxed: a flag the main thread flips on reload */
    return h->state_dir[0] && atomic_load_explicit(&h->recording, memory_order_relaxed);
}

/* The index, read-only, or NULL: *ret_missing says there is none yet (no
 * answer queued), else the error is queued in *ret. */
static vg_index_t *open_index(vg_http_t *h, struct MHD_Connection *c, bool *ret_missing, enum MHD_Result *ret)
{
    vg_index_t *ix = NULL;
    char err[256];
    int r = vg_index_open_readonly(h->state_dir, &ix, err, sizeof(err));
    *ret_missing = r == -ENOENT;
    if (r < 0 && r != -ENOENT)
        *ret = http_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "index of recordings: %s", err);
    return r < 0 ? NULL : ix;
}

/* ISO 8601 (the API's), else anything vg_time_parse reads ("-1h", "@secs"). */
static int parse_time(const char *s, int64_t *ret_us)
{
    return http_parse_time(s, ret_us) == 0 ? 0 : vg_time_parse(s, wall_us(), ret_us);
}

static json_t *time_json(int64_t us)
{
    if (!us)
        return json_null();
    char t[40];
    vg_time_format(us, t, sizeof(t));
    return json_string(t);
}

static json_t *event_json(vg_http_t *h, const vg_index_event_t *ev)
{
    json_error_t jerr;
    json_t *zones = json_loads(ev->zones[0] ? ev->zones : "[]", 0, &jerr);
    if (!json_is_array(zones)) {
        json_decref(zones);
        zones = json_array();
    }
    json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:o,s:f,s:o,s:b,s:o,s:o}", "id", ev->id, "camera", ev->camera, "label",
                          ev->label, "start", time_json(ev->start_us), "end", time_json(ev->end_us), "top_score",
                          ev->top_score, "zones", zones, "has_snapshot", ev->snapshot[0] != '\0', "span_start",
                          time_json(ev->span_start_us), "span_end", time_json(ev->span_end_us));
    /* the latest message, when this daemon saw it, adds what the index does not keep (box, score, ...) */
    json_t *last = h->events ? http_events_lookup(h->events, ev->id) : NULL;
    if (last) {
        json_object_update_missing(o, last);
        json_decref(last);
    }
    return o;
}

/* ------------------------------------------------------------ events */

enum MHD_Result http_footage_events(vg_http_t *h, struct MHD_Connection *c)
{
    const char *camera = http_arg(c, "camera"), *label = http_arg(c, "label"), *zone = http_arg(c, "zone");
    const char *from_s = http_arg(c, "from"), *to_s = http_arg(c, "to"), *limit_s = http_arg(c, "limit");
    const char *before_s = http_arg(c, "before");
    int64_t from = INT64_MIN, to = INT64_MAX, before = INT64_MAX;
    char before_id[128] = "";
    if ((from_s && parse_time(from_s, &from) < 0) || (to_s && parse_time(to_s, &to) < 0))
        return http_error(c, MHD_HTTP_BAD_REQUEST, "from/to: expected ISO 8601 like 2026-01-02T03:04:05Z");
    long limit = limit_s ? strtol(limit_s, NULL, 10) : 50;
    if (limit < 1 || limit > 500)
        return http_error(c, MHD_HTTP_BAD_REQUEST, "limit: 1..500");
    if (before_s) {
        /* the previous page's `next`: "START_US~ID"; or a time */
        char *end;
        long long v = strtoll(before_s, &end, 10);
        if (*end == '~' && end != before_s) {
            before = v;
            snprintf(before_id, sizeof(before_id), "%s", end + 1);
        } else if (parse_time(before_s, &before) < 0) {
            return http_error(c, MHD_HTTP_BAD_REQUEST, "before: the previous page's `next`, or an ISO 8601 time");
        }
    }
    enum MHD_Result ret;
    bool missing;
    vg_index_t *ix = open_index(h, c, &missing, &ret);
    if (!ix) /* nothing recorded yet: no events either */
        return missing ? http_json(c, MHD_HTTP_OK, json_pack("{s:[],s:n,s:s}", "events", "next", "source", "index"))
                       : ret;
    sqlite3 *db = vg_index_db(ix);
    sqlite3_stmt *st = NULL;
    const char *sql =
        "SELECT id,camera,label,start_us,coalesce(end_us,0),top_score,zones,coalesce(snapshot,''),span_start_us,"
        "coalesce(span_end_us,0) FROM events WHERE (?1 IS NULL OR camera=?1) AND (?2 IS NULL OR label=?2)"
        " AND (?3 IS NULL OR EXISTS (SELECT 1 FROM json_each(events.zones) WHERE value=?3))"
        " AND start_us>=?4 AND start_us<?5 AND (start_us<?6 OR (start_us=?6 AND id<?7))"
        " ORDER BY start_us DESC, id DESC LIMIT ?8";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        ret = http_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "index of recordings: %s", sqlite3_errmsg(db));
        vg_index_close(&ix);
        return ret;
    }
    if (camera)
        sqlite3_bind_text(st, 1, camera, -1, SQLITE_STATIC);
    if (label)
        sqlite3_bind_text(st, 2, label, -1, SQLITE_STATIC);
    if (zone)
        sqlite3_bind_text(st, 3, zone, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, from);
    sqlite3_bind_int64(st, 5, to);
    sqlite3_bind_int64(st, 6, before);
    sqlite3_bind_text(st, 7, before_id, -1, SQLITE_STATIC); /* "" sorts first: only with a cursor */
    sqlite3_bind_int64(st, 8, limit + 1);
    json_t *list = json_array();
    char next[192] = "";
    vg_index_event_t *ev = malloc(sizeof(*ev));
    int n = 0, rc;
    while (ev && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == limit) /* one more than asked: there is a next page */
            break;
        memset(ev, 0, sizeof(*ev));
#define COPY(dst, col) snprintf(dst, sizeof(dst), "%s", (const char *)(sqlite3_column_text(st, col) ? (const char *)sqlite3_column_text(st, col) : ""))
        COPY(ev->id, 0);
        COPY(ev->camera, 1);
        COPY(ev->label, 2);
        COPY(ev->zones, 6);
        COPY(ev->snapshot, 7);
#undef COPY
        ev->start_us = sqlite3_column_int64(st, 3);
        ev->end_us = sqlite3_column_int64(st, 4);
        ev->top_score = sqlite3_column_double(st, 5);
        ev->span_start_us = sqlite3_column_int64(st, 8);
        ev->span_end_us = sqlite3_column_int64(st, 9);
        json_array_append_new(list, event_json(h, ev));
        snprintf(next, sizeof(next), "%" PRId64 "~%s", ev->start_us, ev->id);
        n++;
    }
    bool more = ev && rc == SQLITE_ROW;
    free(ev);
    sqlite3_finalize(st);
    vg_index_close(&ix);
    return http_json(c, MHD_HTTP_OK,
                     json_pack("{s:o,s:s?,s:s}", "events", list, "next", more ? next : NULL, "source", "index"));
}

/* The event from the index: 0, or the answer queued in *ret. */
static int lookup(vg_http_t *h, struct MHD_Connection *c, const char *id, vg_index_event_t *ev, enum MHD_Result *ret)
{
    bool missing;
    vg_index_t *ix = open_index(h, c, &missing, ret);
    if (!ix) {
        if (missing)
            *ret = http_error(c, MHD_HTTP_NOT_FOUND, "no event '%s': nothing recorded yet", id);
        return -ENOENT;
    }
    int r = vg_index_get_event(ix, id, ev);
    vg_index_close(&ix);
    if (r == -ENOENT)
        *ret = http_error(c, MHD_HTTP_NOT_FOUND, "no event '%s' in the index of recordings", id);
    else if (r < 0)
        *ret = http_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "index of recordings: cannot read");
    return r;
}

enum MHD_Result http_footage_event(vg_http_t *h, struct MHD_Connection *c, const char *id)
{
    enum MHD_Result ret;
    vg_index_event_t *ev = malloc(sizeof(*ev));
    if (!ev)
        return MHD_NO;
    if (lookup(h, c, id, ev, &ret) == 0)
        ret = http_json(c, MHD_HTTP_OK, event_json(h, ev));
    free(ev);
    return ret;
}

/* Serves an open file (taken) with its type; honours one "Range: bytes=" range. */
static enum MHD_Result send_file(struct MHD_Connection *c, int fd, uint64_t size, const char *type)
{
    uint64_t first = 0, last = size ? size - 1 : 0;
    bool partial = false;
    const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
    if (range && strncmp(range, "bytes=", 6) == 0 && !strchr(range, ',')) {
        const char *p = range + 6;
        char *end;
        bool ok = true;
        if (*p == '-') { /* the last N bytes */
            unsigned long long n = strtoull(p + 1, &end, 10);
            ok = *end == '\0' && n > 0 && end != p + 1;
            if (ok)
                first = n >= size ? 0 : size - n;
        } else {
            first = strtoull(p, &end, 10);
            ok = end != p && *end == '-';
            if (ok && end[1]) {
                uint64_t l = strtoull(end + 1, &end, 10);
                ok = *end == '\0' && l >= first;
                if (ok && l < last)
                    last = l;
            }
        }
        if (!ok || first >= size) {
            close(fd);
            struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
            if (!r)
                return MHD_NO;
            char cr[64];
            snprintf(cr, sizeof(cr), "bytes */%" PRIu64, size);
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
            http_common_headers(r);
            enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_RANGE_NOT_SATISFIABLE, r);
            MHD_destroy_response(r);
            return ret;
        }
        partial = true;
    }
    uint64_t len = size ? last - first + 1 : 0;
    struct MHD_Response *r = MHD_create_response_from_fd_at_offset64(len, fd, (int64_t)first);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    if (partial) {
        char cr[96];
        snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, size);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
    }
    http_common_headers(r);
    enum MHD_Result ret = MHD_queue_response(c, partial ? MHD_HTTP_PARTIAL_CONTENT : MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result http_footage_snapshot(vg_http_t *h, struct MHD_Connection *c, const char *id)
{
    enum MHD_Result ret;
    vg_index_event_t *ev = malloc(sizeof(*ev));
    if (!ev)
        return MHD_NO;
    if (lookup(h, c, id, ev, &ret) < 0) {
        free(ev);
        return ret;
    }
    /* the event message may say has_snapshot before the storage thread
     * wrote the path into the index: the file is where the analysis puts it
     * (pipeline/snapshot.h); the id has no '/' (the router splits on it) */
    char path[PATH_MAX + 256];
    if (ev->snapshot[0])
        snprintf(path, sizeof(path), "%s", ev->snapshot);
    else
        snprintf(path, sizeof(path), "%s/snapshots/%s/%s.jpg", h->state_dir, ev->camera, ev->id);
    int fd = strcmp(id, ".") && strcmp(id, "..") ? open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        ret = http_error(c, MHD_HTTP_NOT_FOUND, "event '%s' has no snapshot%s", id,
                         ev->snapshot[0] ? " (its file is gone)" : "");
        free(ev);
        return ret;
    }
    free(ev);
    return send_file(c, fd, (uint64_t)st.st_size, "image/jpeg");
}

/* A clip of camera's [from, to) (to 0 = now) under key: from the cache, or
 * written now. Returns a descriptor of its own (the caller closes it) and
 * *ret_size, or -1 with the answer queued in *ret. */
static int clip_fd(vg_http_t *h, struct MHD_Connection *c, const char *key, const char *camera, int64_t from,
                   int64_t to, uint64_t *ret_size, enum MHD_Result *ret)
{
    int64_t now = mono_us();
    pthread_mutex_lock(&clip_lock);
    for (int i = 0; i < CLIP_SLOTS; i++)
        if (clips[i].key[0] && strcmp(clips[i].key, key) == 0 && now - clips[i].made_us < CLIP_KEEP_US) {
            int fd = fcntl(clips[i].fd, F_DUPFD_CLOEXEC, 0);
            *ret_size = clips[i].size;
            pthread_mutex_unlock(&clip_lock);
            if (fd < 0)
                *ret = http_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot serve the clip: %s", strerror(errno));
            return fd;
        }
    pthread_mutex_unlock(&clip_lock);

    bool missing;
    vg_index_t *ix = open_index(h, c, &missing, ret);
    if (!ix) {
        if (missing)
            *ret = http_error(c, MHD_HTTP_NOT_FOUND, "no footage of '%s': nothing recorded yet", camera);
        return -1;
    }
    const char *tmp = getenv("TMPDIR");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/vigild-clip-XXXXXX.mp4", tmp && *tmp ? tmp : "/tmp");
    int fd = mkostemps(path, 4, O_CLOEXEC);
    if (fd < 0) {
        *ret = http_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot create %s: %s", path, strerror(errno));
        vg_index_close(&ix);
        return -1;
    }
    char err[512];
    int r = vg_clip_write(ix, camera, from, to ? to : wall_us(), path, NULL, err, sizeof(err));
    vg_index_close(&ix);
    unlink(path); /* the descriptor keeps it until the last response is done */
    struct stat st;
    if (r < 0 || fstat(fd, &st) < 0) {
        close(fd);
        *ret = r == -ENOENT ? http_error(c, MHD_HTTP_NOT_FOUND, "no footage of '%s' in that span", camera)
                            : http_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "clip: %s", err);
        return -1;
    }
    *ret_size = (uint64_t)st.st_size;
    pthread_mutex_lock(&clip_lock);
    clip_slot_t *slot = &clips[0];
    for (int i = 1; i < CLIP_SLOTS && slot->key[0]; i++)
        if (!clips[i].key[0] || clips[i].made_us < slot->made_us)
            slot = &clips[i];
    if (slot->key[0])
        close(slot->fd);
    snprintf(slot->key, sizeof(slot->key), "%s", key);
    slot->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (slot->fd < 0)
        slot->key[0] = '\0';
    slot->size = *ret_size;
    slot->made_us = now;
    pthread_mutex_unlock(&clip_lock);
    return fd;
}

void http_footage_free(void)
{
    pthread_mutex_lock(&clip_lock);
    for (int i = 0; i < CLIP_SLOTS; i++)
        if (clips[i].key[0]) {
            close(clips[i].fd);
            clips[i].key[0] = '\0';
        }
    pthread_mutex_unlock(&clip_lock);
}

enum MHD_Result http_footage_event_clip(vg_http_t *h, struct MHD_Connection *c, const char *id)
{
    enum MHD_Result ret;
    vg_index_event_t *ev = malloc(sizeof(*ev));
    if (!ev)
        return MHD_NO;
    if (lookup(h, c, id, ev, &ret) < 0) {
        free(ev);
        return ret;
    }
    char key[256];
    snprintf(key, sizeof(key), "event %s", ev->id);
    uint64_t size = 0;
    int fd = clip_fd(h, c, key, ev->camera, ev->span_start_us, ev->span_end_us, &size, &ret);
    free(ev);
    return fd < 0 ? ret : send_file(c, fd, size, "video/mp4");
}

enum MHD_Result http_footage_clip(vg_http_t *h, struct MHD_Connection *c, const char *camera)
{
    const char *from_s = http_arg(c, "from"), *to_s = http_arg(c, "to");
    int64_t from = 0, to = 0;
    if (!from_s || parse_time(from_s, &from) < 0 || (to_s && parse_time(to_s, &to) < 0))
        return http_error(c, MHD_HTTP_BAD_REQUEST, "from (required) and to: ISO 8601 like 2026-01-02T03:04:05Z");
    /* without to: until now (an hour at most) */
    if (!to_s)
        to = from + 3600 * 1000000LL < wall_us() ? from + 3600 * 1000000LL : 0;
    if (to && (to <= from || to - from > 3600 * 1000000LL))
        return http_error(c, MHD_HTTP_BAD_REQUEST, "to: after from, an hour at most");
    char key[256];
    snprintf(key, sizeof(key), "span %s %" PRId64 " %" PRId64, camera, from, to);
    enum MHD_Result ret;
    uint64_t size = 0;
    int fd = clip_fd(h, c, key, camera, from, to, &size, &ret);
    return fd < 0 ? ret : send_file(c, fd, size, "video/mp4");
}

/* ------------------------------------------------------------ recordings */

typedef struct {
    json_t *cameras;                  /* object: name -> {segments, gaps} */
    char camera[64];
    int64_t end_us;
    int n;
} rec_t;

static int add_segment(void *opaque, const vg_index_segment_t *s)
{
    rec_t *l = opaque;
    json_t *cam = json_object_get(l->cameras, s->camera);
    if (!cam) {
        cam = json_pack("{s:s,s:[],s:[]}", "name", s->camera, "segments", "gaps");
        json_object_set_new(l->cameras, s->camera, cam);
    }
    if (strcmp(l->camera, s->camera) == 0 && s->start_us - l->end_us > GAP_US)
        json_array_append_new(json_object_get(cam, "gaps"),
                              json_pack("{s:o,s:o,s:f}", "start", time_json(l->end_us), "end",
                                        time_json(s->start_us), "duration", (s->start_us - l->end_us) / 1e6));
    json_array_append_new(json_object_get(cam, "segments"),
                          json_pack("{s:o,s:o,s:f,s:s,s:b,s:b,s:b,s:I}", "start", time_json(s->start_us), "end",
                                    time_json(s->end_us), "duration", (s->end_us - s->start_us) / 1e6, "mode",
                                    s->mode, "has_motion", s->has_motion, "has_objects", s->has_objects,
                                    "has_audio", s->has_audio, "bytes", (json_int_t)s->bytes));
    snprintf(l->camera, sizeof(l->camera), "%s", s->camera);
    l->end_us = s->end_us;
    return ++l->n >= MAX_SEGMENTS;
}

enum MHD_Result http_footage_recordings(vg_http_t *h, struct MHD_Connection *c)
{
    const char *camera = http_arg(c, "camera"), *from_s = http_arg(c, "from"), *to_s = http_arg(c, "to");
    int64_t now = wall_us(), from = now - 24 * 3600 * 1000000LL, to = now;
    if ((from_s && parse_time(from_s, &from) < 0) || (to_s && parse_time(to_s, &to) < 0))
        return http_error(c, MHD_HTTP_BAD_REQUEST, "from/to: expected ISO 8601 like 2026-01-02T03:04:05Z");
    if (to <= from)
        return http_error(c, MHD_HTTP_BAD_REQUEST, "to must be after from");
    rec_t l = {.cameras = json_object()};
    enum MHD_Result ret;
    bool missing;
    vg_index_t *ix = open_index(h, c, &missing, &ret);
    int r = 0;
    if (ix) {
        r = vg_index_segments(ix, camera, from, to, add_segment, &l);
        vg_index_close(&ix);
    } else if (!missing) {
        json_decref(l.cameras);
        return ret;
    } /* else nothing recorded yet: no segments */
    if (r < 0) {
        json_decref(l.cameras);
        return http_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "index of recordings: cannot read");
    }
    json_t *arr = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(l.cameras, k, v) json_array_append(arr, v);
    json_decref(l.cameras);
    return http_json(c, MHD_HTTP_OK,
                     json_pack("{s:o,s:o,s:o,s:b}", "from", time_json(from), "to", time_json(to), "cameras", arr,
                               "truncated", l.n >= MAX_SEGMENTS));
}
