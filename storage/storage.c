/* storage.c: see storage.h. */
#include "storage/storage.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#define DAY_US (86400.0 * 1e6)
#define BATCH 64

enum { OP_SEGMENT, OP_EVENT };

typedef struct op {
    struct op *next;
    int kind;
    vg_index_segment_t seg; /* OP_SEGMENT */
    char camera[64];        /* OP_EVENT */
    size_t len;
    char json[];            /* OP_EVENT body */
} op_t;

struct vg_storage {
    vg_storage_config_t cfg;   /* cameras point at our copy */
    char *state_dir;
    vg_index_t *ix;            /* the thread's */
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    op_t *head, *tail;         /* under lock */
    bool stop, room;           /* under lock */
    vg_storage_camera_t *cameras; /* under lock (set_cameras swaps it) */
    int n_cameras;
    vg_storage_stats_t stats;
};

#define SADD(st, f, n) atomic_fetch_add_explicit(&(st)->stats.f, (n), memory_order_relaxed)
#define SSET(st, f, v) atomic_store_explicit(&(st)->stats.f, (v), memory_order_relaxed)

static int64_t wall_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const vg_storage_camera_t *find_camera(const vg_storage_config_t *cfg, const char *name)
{
    for (int i = 0; i < cfg->n_cameras; i++)
        if (!strcmp(cfg->cameras[i].camera, name))
            return &cfg->cameras[i];
    return &cfg->fallback;
}

/* ---- retention ------------------------------------------------------------- */

/* The days a segment is kept. */
static double keep_days(const vg_storage_camera_t *c, const char *mode, bool event)
{
    double d = !strcmp(mode, "continuous") ? c->continuous_days : c->motion_days;
    return event && c->events_days > d ? c->events_days : d;
}

#define EVENT_OVERLAP                                                                                           \
    "EXISTS(SELECT 1 FROM events e WHERE e.camera=s.camera AND e.span_start_us<s.end_us"                       \
    " AND coalesce(e.span_end_us, 9000000000000000000)>s.start_us)"

typedef struct {
    char path[VG_INDEX_PATH_MAX];
    uint64_t bytes;
} victim_t;

static int delete_victims(vg_index_t *ix, victim_t *v, int n, uint64_t *used, uint64_t *free_bytes, int *deleted)
{
    for (int i = 0; i < n; i++) {
        if (vg_index_delete_segment(ix, v[i].path) < 0)
            return -EIO;
        *used -= v[i].bytes < *used ? v[i].bytes : *used;
        *free_bytes += v[i].bytes;
        (*deleted)++;
    }
    return 0;
}

int vg_storage_retain_pass(vg_index_t *ix, const vg_storage_config_t *cfg, int64_t now_us, uint64_t free_bytes,
                           int *ret_deleted, uint64_t *ret_used)
{
    sqlite3 *db = vg_index_db(ix);
    int deleted = 0, r = 0;
    victim_t *v = calloc(BATCH, sizeof(*v));
    if (!v)
        return -ENOMEM;
    if (free_bytes == UINT64_MAX) {
        struct statvfs fs;
        free_bytes = statvfs(vg_index_recordings_dir(ix), &fs) == 0 ? (uint64_t)fs.f_bavail * fs.f_frsize
                                                                    : UINT64_MAX;
    }
    /* by age: only segments older than the shortest retention can go */
    double min_days = 1e9;
    for (int i = 0; i < cfg->n_cameras; i++) {
        const vg_storage_camera_t *c = &cfg->cameras[i];
        double m = c->continuous_days < c->motion_days ? c->continuous_days : c->motion_days;
        min_days = m < min_days ? m : min_days;
    }
    double fm = cfg->fallback.continuous_days < cfg->fallback.motion_days ? cfg->fallback.continuous_days
                                                                          : cfg->fallback.motion_days;
    min_days = fm < min_days ? fm : min_days;
    int64_t cutoff = now_us - (int64_t)(min_days * DAY_US);
    sqlite3_stmt *st = NULL;
    uint64_t used = 0;
    int n = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT s.path, s.camera, s.end_us, s.mode, s.bytes, " EVENT_OVERLAP
                           " FROM segments s WHERE s.end_us < ? ORDER BY s.start_us",
                           -1, &st, NULL) != SQLITE_OK) {
        r = -EIO;
        goto out;
    }
    sqlite3_bind_int64(st, 1, cutoff);
    /* collected in batches: rows are deleted after the statement is reset */
    for (bool more = true; more;) {
        n = 0;
        sqlite3_reset(st);
        int s;
        int skipped = 0;
        while (n < BATCH && (s = sqlite3_step(st)) == SQLITE_ROW) {
            const vg_storage_camera_t *c = find_camera(cfg, (const char *)sqlite3_column_text(st, 1));
            int64_t end = sqlite3_column_int64(st, 2);
            double days = keep_days(c, (const char *)sqlite3_column_text(st, 3), sqlite3_column_int(st, 5));
            if (end >= now_us - (int64_t)(days * DAY_US)) {
                skipped++;
                continue;
            }
            snprintf(v[n].path, sizeof(v[n].path), "%s", (const char *)sqlite3_column_text(st, 0));
            v[n].bytes = (uint64_t)sqlite3_column_int64(st, 4);
            n++;
        }
        more = n == BATCH;
        sqlite3_reset(st);
        uint64_t ignore_used = UINT64_MAX, ignore_free = 0;
        if (delete_victims(ix, v, n, &ignore_used, &ignore_free, &deleted) < 0) {
            r = -EIO;
            goto out;
        }
        (void)skipped;
    }
    sqlite3_finalize(st);
    st = NULL;
    /* events past their retention, with their snapshots */
    for (int i = -1; i < cfg->n_cameras; i++) {
        const vg_storage_camera_t *c = i < 0 ? &cfg->fallback : &cfg->cameras[i];
        int64_t ev_cut = now_us - (int64_t)(c->events_days * DAY_US);
        const char *sql = i < 0 ? "SELECT id, snapshot FROM events WHERE coalesce(end_us, start_us) < ?1 AND camera"
                                  " NOT IN (SELECT value FROM json_each(?2))"
                                : "SELECT id, snapshot FROM events WHERE coalesce(end_us, start_us) < ?1 AND camera=?2";
        char names[8192] = "[]";
        if (i < 0) {
            size_t k = 0;
            k += (size_t)snprintf(names + k, sizeof(names) - k, "[");
            for (int j = 0; j < cfg->n_cameras && k < sizeof(names); j++)
                k += (size_t)snprintf(names + k, sizeof(names) - k, "%s\"%s\"", j ? "," : "", cfg->cameras[j].camera);
            if (k < sizeof(names))
                snprintf(names + k, sizeof(names) - k, "]");
        }
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
            r = -EIO;
            goto out;
        }
        sqlite3_bind_int64(st, 1, ev_cut);
        sqlite3_bind_text(st, 2, i < 0 ? names : c->camera, -1, SQLITE_TRANSIENT);
        sqlite3_stmt *del = NULL;
        sqlite3_prepare_v2(db, "DELETE FROM events WHERE id=?", -1, &del, NULL);
        while (del && sqlite3_step(st) == SQLITE_ROW) {
            const unsigned char *snap = sqlite3_column_text(st, 1);
            if (snap && snap[0]) {
                char full[PATH_MAX * 2];
                snprintf(full, sizeof(full), "%s/../%s", vg_index_recordings_dir(ix), (const char *)snap);
                unlink(full);
            }
            sqlite3_reset(del);
            sqlite3_bind_text(del, 1, (const char *)sqlite3_column_text(st, 0), -1, SQLITE_TRANSIENT);
            sqlite3_step(del);
        }
        sqlite3_finalize(del);
        sqlite3_finalize(st);
        st = NULL;
    }
    /* by size: oldest first, footage of events last */
    if (sqlite3_prepare_v2(db, "SELECT coalesce(sum(bytes), 0) FROM segments", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        r = -EIO;
        goto out;
    }
    used = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT s.path, s.bytes FROM segments s ORDER BY " EVENT_OVERLAP ", s.start_us LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK) {
        r = -EIO;
        goto out;
    }
    for (;;) {
        bool over = cfg->max_size && used > cfg->max_size;
        bool low = cfg->min_free && free_bytes != UINT64_MAX && free_bytes < cfg->min_free;
        if (!over && !low) {
            r = 1;
            break;
        }
        sqlite3_reset(st);
        sqlite3_bind_int(st, 1, BATCH);
        n = 0;
        while (n < BATCH && sqlite3_step(st) == SQLITE_ROW) {
            snprintf(v[n].path, sizeof(v[n].path), "%s", (const char *)sqlite3_column_text(st, 0));
            v[n].bytes = (uint64_t)sqlite3_column_int64(st, 1);
            n++;
        }
        sqlite3_reset(st);
        if (n == 0) {
            r = 0; /* nothing left to delete */
            break;
        }
        /* delete one at a time until the limits are met */
        int i = 0;
        for (; i < n; i++) {
            over = cfg->max_size && used > cfg->max_size;
            low = cfg->min_free && free_bytes != UINT64_MAX && free_bytes < cfg->min_free;
            if (!over && !low)
                break;
            if (delete_victims(ix, &v[i], 1, &used, &free_bytes, &deleted) < 0) {
                r = -EIO;
                goto out;
            }
        }
    }
out:
    sqlite3_finalize(st);
    free(v);
    if (ret_deleted)
        *ret_deleted = deleted;
    if (ret_used)
        *ret_used = used;
    return r;
}

/* ---- thread ---------------------------------------------------------------- */

static int64_t event_time(json_t *root, const char *key)
{
    const char *s = json_string_value(json_object_get(root, key));
    int64_t us = 0;
    if (s && vg_time_parse(s, 0, &us) == 0)
        return us;
    return 0;
}

static void index_event(vg_storage_t *st, const op_t *op, const vg_storage_config_t *cfg)
{
    json_error_t e;
    json_t *root = json_loadb(op->json, op->len, 0, &e);
    if (!root)
        return;
    const char *type = json_string_value(json_object_get(root, "type"));
    const char *id = json_string_value(json_object_get(root, "id"));
    if (!type || !id) {
        json_decref(root);
        return;
    }
    const vg_storage_camera_t *c = find_camera(cfg, op->camera);
    vg_index_event_t ev = {0};
    snprintf(ev.id, sizeof(ev.id), "%s", id);
    snprintf(ev.camera, sizeof(ev.camera), "%s", op->camera);
    const char *label = json_string_value(json_object_get(root, "label"));
    snprintf(ev.label, sizeof(ev.label), "%s", label ? label : "");
    ev.start_us = event_time(root, "start");
    if (!ev.start_us)
        ev.start_us = event_time(root, "time");
    if (!strcmp(type, "end")) {
        ev.end_us = event_time(root, "end");
        if (!ev.end_us)
            ev.end_us = event_time(root, "time");
    }
    ev.top_score = json_number_value(json_object_get(root, "top_score"));
    json_t *zones = json_object_get(root, "zones");
    char *z = zones ? json_dumps(zones, JSON_COMPACT) : NULL;
    snprintf(ev.zones, sizeof(ev.zones), "%s", z ? z : "[]");
    free(z);
    /* the analysis writes an event's best snapshot to
     * state_dir/snapshots/<camera>/<event-id>.jpg (pipeline/snapshot.h):
     * the index keeps its path, so retention deletes it with the event */
    if (json_is_true(json_object_get(root, "has_snapshot")))
        snprintf(ev.snapshot, sizeof(ev.snapshot), "%s/snapshots/%s/%s.jpg", st->state_dir, op->camera, id);
    ev.span_start_us = ev.start_us - c->pre_capture_us;
    ev.span_end_us = ev.end_us ? ev.end_us + c->post_capture_us : 0;
    json_decref(root);
    if (vg_index_put_event(st->ix, &ev) < 0)
        SADD(st, errors, 1);
    else
        SADD(st, events, 1);
}

static void *storage_main(void *arg)
{
    vg_storage_t *st = arg;
    int64_t interval = st->cfg.interval_us > 0 ? st->cfg.interval_us : 30000000;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    bool first = true;
    for (;;) {
        pthread_mutex_lock(&st->lock);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        bool due = first || now.tv_sec > next.tv_sec || (now.tv_sec == next.tv_sec && now.tv_nsec >= next.tv_nsec);
        while (!st->head && !st->stop && !st->room && !due) {
            pthread_cond_timedwait(&st->cond, &st->lock, &next);
            clock_gettime(CLOCK_MONOTONIC, &now);
            due = now.tv_sec > next.tv_sec || (now.tv_sec == next.tv_sec && now.tv_nsec >= next.tv_nsec);
        }
        op_t *ops = st->head;
        st->head = st->tail = NULL;
        bool stop = st->stop, room = st->room;
        st->room = false;
        /* a copy of the config's cameras for this turn */
        vg_storage_config_t cfg = st->cfg;
        int n = st->n_cameras;
        vg_storage_camera_t *cams = n ? malloc(sizeof(*cams) * (size_t)n) : NULL;
        if (cams)
            memcpy(cams, st->cameras, sizeof(*cams) * (size_t)n);
        cfg.cameras = cams;
        cfg.n_cameras = cams ? n : 0;
        pthread_mutex_unlock(&st->lock);
        if (ops)
            sqlite3_exec(vg_index_db(st->ix), "BEGIN", NULL, NULL, NULL);
        while (ops) {
            op_t *o = ops;
            ops = o->next;
            if (o->kind == OP_SEGMENT) {
                if (vg_index_add_segment(st->ix, &o->seg) < 0)
                    SADD(st, errors, 1);
                else
                    SADD(st, segments, 1);
            } else {
                index_event(st, o, &cfg);
            }
            free(o);
        }
        sqlite3_exec(vg_index_db(st->ix), "COMMIT", NULL, NULL, NULL);
        if (!stop && (due || room)) {
            int deleted = 0;
            uint64_t used = 0;
            int r = vg_storage_retain_pass(st->ix, &cfg, wall_now_us(), UINT64_MAX, &deleted, &used);
            if (r < 0)
                SADD(st, errors, 1);
            SSET(st, low_space, r == 0);
            SSET(st, used, used);
            SADD(st, deleted, (uint64_t)deleted);
            if (due) {
                clock_gettime(CLOCK_MONOTONIC, &next);
                next.tv_sec += interval / 1000000;
                next.tv_nsec += (interval % 1000000) * 1000;
                if (next.tv_nsec >= 1000000000) {
                    next.tv_sec++;
                    next.tv_nsec -= 1000000000;
                }
            }
            first = false;
        }
        free(cams);
        if (stop)
            break;
    }
    return NULL;
}

static void push(vg_storage_t *st, op_t *o)
{
    pthread_mutex_lock(&st->lock);
    if (st->tail)
        st->tail->next = o;
    else
        st->head = o;
    st->tail = o;
    pthread_cond_signal(&st->cond);
    pthread_mutex_unlock(&st->lock);
}

void vg_storage_segment(vg_storage_t *st, const vg_record_segment_t *seg)
{
    if (!st)
        return;
    op_t *o = calloc(1, sizeof(*o)); /* one per closed segment, not per frame */
    if (!o) {
        SADD(st, errors, 1);
        return;
    }
    o->kind = OP_SEGMENT;
    vg_index_segment_t *s = &o->seg;
    snprintf(s->camera, sizeof(s->camera), "%s", seg->camera);
    s->start_us = seg->start_us;
    s->end_us = seg->end_us;
    const char *root = vg_index_recordings_dir(st->ix); /* set once, read-only */
    size_t n = strlen(root);
    const char *rel = strncmp(seg->path, root, n) == 0 && seg->path[n] == '/' ? seg->path + n + 1 : seg->path;
    snprintf(s->path, sizeof(s->path), "%s", rel);
    s->bytes = seg->bytes;
    snprintf(s->mode, sizeof(s->mode), "%s", vg_record_mode_name(seg->mode));
    s->has_motion = seg->has_motion;
    s->has_objects = seg->has_objects;
    s->has_audio = seg->has_audio;
    push(st, o);
}

void vg_storage_event(vg_storage_t *st, const char *camera, const char *json, size_t len)
{
    if (!st)
        return;
    op_t *o = calloc(1, sizeof(*o) + len + 1); /* events are rare: a few per minute */
    if (!o) {
        SADD(st, errors, 1);
        return;
    }
    o->kind = OP_EVENT;
    snprintf(o->camera, sizeof(o->camera), "%s", camera);
    memcpy(o->json, json, len);
    o->len = len;
    push(st, o);
}

void vg_storage_make_room(vg_storage_t *st)
{
    if (!st)
        return;
    pthread_mutex_lock(&st->lock);
    st->room = true;
    pthread_cond_signal(&st->cond);
    pthread_mutex_unlock(&st->lock);
}

int vg_storage_set_cameras(vg_storage_t *st, const vg_storage_camera_t *cameras, int n)
{
    vg_storage_camera_t *copy = n ? malloc(sizeof(*copy) * (size_t)n) : NULL;
    if (n && !copy)
        return -ENOMEM;
    if (n)
        memcpy(copy, cameras, sizeof(*copy) * (size_t)n);
    pthread_mutex_lock(&st->lock);
    free(st->cameras);
    st->cameras = copy;
    st->n_cameras = n;
    pthread_mutex_unlock(&st->lock);
    return 0;
}

const vg_storage_stats_t *vg_storage_stats(const vg_storage_t *st) { return &st->stats; }

int vg_storage_new(const vg_storage_config_t *cfg, vg_storage_t **ret, vg_storage_startup_t *ret_startup,
                   char *err, size_t errlen)
{
    vg_storage_t *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->cfg = *cfg;
    pthread_mutex_init(&st->lock, NULL);
    pthread_cond_init(&st->cond, NULL);
    int r = -ENOMEM;
    if (!(st->state_dir = strdup(cfg->state_dir)))
        goto fail;
    st->cfg.state_dir = st->state_dir;
    st->cfg.cameras = NULL;
    if ((r = vg_storage_set_cameras(st, cfg->cameras, cfg->n_cameras)) < 0)
        goto fail;
    vg_storage_startup_t su = {0};
    if ((r = vg_index_open(st->state_dir, &st->ix, &su.rebuilt, err, errlen)) < 0)
        goto fail;
    /* segments closed but not indexed (a crash), a lost index, .part files */
    if ((r = vg_index_reindex(st->ix, &su.added, &su.removed, &su.recovered)) < 0) {
        snprintf(err, errlen, "%s/index.sqlite: cannot reindex the recordings", st->state_dir);
        goto fail;
    }
    if ((r = -pthread_create(&st->thread, NULL, storage_main, st)) < 0) {
        snprintf(err, errlen, "cannot start the storage thread: %s", strerror(-r));
        goto fail;
    }
    st->started = true;
    pthread_setname_np(st->thread, "vg-storage");
    if (ret_startup)
        *ret_startup = su;
    *ret = st;
    return 0;
fail:
    vg_storage_free(&st);
    return r;
}

void vg_storage_free(vg_storage_t **pst)
{
    if (!pst || !*pst)
        return;
    vg_storage_t *st = *pst;
    if (st->started) {
        pthread_mutex_lock(&st->lock);
        st->stop = true;
        pthread_cond_signal(&st->cond);
        pthread_mutex_unlock(&st->lock);
        pthread_join(st->thread, NULL);
    }
    while (st->head) {
        op_t *o = st->head;
        st->head = o->next;
        free(o);
    }
    vg_index_close(&st->ix);
    pthread_mutex_destroy(&st->lock);
    pthread_cond_destroy(&st->cond);
    free(st->cameras);
    free(st->state_dir);
    free(st);
    *pst = NULL;
}
