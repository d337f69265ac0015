/* index.c: see index.h. */
#include "storage/index.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavformat/avformat.h>
#include <sqlite3.h>

#include "capture/recorder.h"

#define SCHEMA_VERSION 1

struct vg_index {
    sqlite3 *db;
    char state_dir[PATH_MAX];
    char recordings[PATH_MAX];
};

static const char *const schema =
    "CREATE TABLE IF NOT EXISTS segments("
    " id INTEGER PRIMARY KEY, camera TEXT NOT NULL, start_us INTEGER NOT NULL, end_us INTEGER NOT NULL,"
    " duration REAL NOT NULL, path TEXT NOT NULL UNIQUE, bytes INTEGER NOT NULL, mode TEXT NOT NULL,"
    " has_motion INTEGER NOT NULL, has_objects INTEGER NOT NULL, has_audio INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS segments_camera_start ON segments(camera, start_us);"
    "CREATE INDEX IF NOT EXISTS segments_start ON segments(start_us);"
    "CREATE TABLE IF NOT EXISTS events("
    " id TEXT PRIMARY KEY, camera TEXT NOT NULL, label TEXT NOT NULL, start_us INTEGER NOT NULL,"
    " end_us INTEGER, top_score REAL NOT NULL, zones TEXT NOT NULL, snapshot TEXT,"
    " span_start_us INTEGER NOT NULL, span_end_us INTEGER);"
    "CREATE INDEX IF NOT EXISTS events_camera_span ON events(camera, span_start_us);";

static int fail_db(vg_index_t *ix, char *err, size_t errlen, const char *what)
{
    if (err)
        snprintf(err, errlen, "%s/index.sqlite: %s: %s", ix->state_dir, what,
                 ix->db ? sqlite3_errmsg(ix->db) : "cannot open");
    return -EIO;
}

/* Opens and checks the schema; -EBADMSG when the file is not a usable index. */
static int open_db(vg_index_t *ix, int flags, char *err, size_t errlen)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/index.sqlite", ix->state_dir);
    if (sqlite3_open_v2(path, &ix->db, flags, NULL) != SQLITE_OK)
        return fail_db(ix, err, errlen, "cannot open");
    sqlite3_busy_timeout(ix->db, 5000);
    if (!(flags & SQLITE_OPEN_READWRITE))
        return 0;
    char *msg = NULL;
    int r = sqlite3_exec(ix->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, &msg);
    if (r == SQLITE_OK)
        r = sqlite3_exec(ix->db, schema, NULL, NULL, &msg);
    if (r == SQLITE_OK) {
        /* a quick look at the pages: a torn or overwritten file fails here */
        sqlite3_stmt *st = NULL;
        r = sqlite3_prepare_v2(ix->db, "PRAGMA quick_check", -1, &st, NULL);
        if (r == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
            strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
            r = SQLITE_CORRUPT;
        sqlite3_finalize(st);
    }
    if (r != SQLITE_OK) {
        if (err)
            snprintf(err, errlen, "%s: %s", path, msg ? msg : sqlite3_errstr(r));
        sqlite3_free(msg);
        return r == SQLITE_CORRUPT || r == SQLITE_NOTADB || r == SQLITE_ERROR ? -EBADMSG : -EIO;
    }
    return 0;
}

int vg_index_open(const char *state_dir, vg_index_t **ret, bool *ret_rebuilt, char *err, size_t errlen)
{
    vg_index_t *ix = calloc(1, sizeof(*ix));
    if (!ix)
        return -ENOMEM;
    snprintf(ix->state_dir, sizeof(ix->state_dir), "%s", state_dir);
    snprintf(ix->recordings, sizeof(ix->recordings), "%s/recordings", state_dir);
    mkdir(state_dir, 0750);
    mkdir(ix->recordings, 0750);
    bool rebuilt = false;
    int r = open_db(ix, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err, errlen);
    if (r == -EBADMSG) {
        /* keep the broken file for a post-mortem, start a new one */
        sqlite3_close(ix->db);
        ix->db = NULL;
        char a[PATH_MAX + 32], b[PATH_MAX + 48];
        static const char *const suffix[] = {"", "-wal", "-shm"};
        for (int i = 0; i < 3; i++) {
            snprintf(a, sizeof(a), "%s/index.sqlite%s", state_dir, suffix[i]);
            snprintf(b, sizeof(b), "%s/index.sqlite.corrupt%s", state_dir, suffix[i]);
            rename(a, b);
        }
        rebuilt = true;
        r = open_db(ix, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err, errlen);
    }
    if (r < 0) {
        vg_index_close(&ix);
        return r;
    }
    if (ret_rebuilt)
        *ret_rebuilt = rebuilt;
    *ret = ix;
    return 0;
}

int vg_index_open_readonly(const char *state_dir, vg_index_t **ret, char *err, size_t errlen)
{
    vg_index_t *ix = calloc(1, sizeof(*ix));
    if (!ix)
        return -ENOMEM;
    snprintf(ix->state_dir, sizeof(ix->state_dir), "%s", state_dir);
    snprintf(ix->recordings, sizeof(ix->recordings), "%s/recordings", state_dir);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/index.sqlite", state_dir);
    if (access(path, R_OK) < 0) {
        int e = -errno;
        if (err)
            snprintf(err, errlen, "%s: %s", path, strerror(-e));
        free(ix);
        return e;
    }
    int r = open_db(ix, SQLITE_OPEN_READONLY, err, errlen);
    if (r < 0) {
        vg_index_close(&ix);
        return r;
    }
    *ret = ix;
    return 0;
}

void vg_index_close(vg_index_t **pix)
{
    if (!pix || !*pix)
        return;
    sqlite3_close((*pix)->db);
    free(*pix);
    *pix = NULL;
}

const char *vg_index_recordings_dir(const vg_index_t *ix) { return ix->recordings; }

struct sqlite3 *vg_index_db(vg_index_t *ix) { return ix->db; }

int vg_index_add_segment(vg_index_t *ix, const vg_index_segment_t *s)
{
    sqlite3_stmt *st = NULL;
    int r = sqlite3_prepare_v2(ix->db,
                               "INSERT OR REPLACE INTO segments(camera,start_us,end_us,duration,path,bytes,mode,"
                               "has_motion,has_objects,has_audio) VALUES(?,?,?,?,?,?,?,?,?,?)",
                               -1, &st, NULL);
    if (r == SQLITE_OK) {
        sqlite3_bind_text(st, 1, s->camera, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, s->start_us);
        sqlite3_bind_int64(st, 3, s->end_us);
        sqlite3_bind_double(st, 4, (s->end_us - s->start_us) / 1e6);
        sqlite3_bind_text(st, 5, s->path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)s->bytes);
        sqlite3_bind_text(st, 7, s->mode, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 8, s->has_motion);
        sqlite3_bind_int(st, 9, s->has_objects);
        sqlite3_bind_int(st, 10, s->has_audio);
        r = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? 0 : -EIO;
}

int vg_index_put_event(vg_index_t *ix, const vg_index_event_t *e)
{
    sqlite3_stmt *st = NULL;
    int r = sqlite3_prepare_v2(
        ix->db,
        "INSERT INTO events(id,camera,label,start_us,end_us,top_score,zones,snapshot,span_start_us,span_end_us)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10) ON CONFLICT(id) DO UPDATE SET end_us=?5,"
        " top_score=max(top_score,?6), zones=?7, snapshot=coalesce(?8,snapshot), span_end_us=?10",
        -1, &st, NULL);
    if (r == SQLITE_OK) {
        sqlite3_bind_text(st, 1, e->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, e->camera, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, e->label, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, e->start_us);
        if (e->end_us)
            sqlite3_bind_int64(st, 5, e->end_us);
        else
            sqlite3_bind_null(st, 5);
        sqlite3_bind_double(st, 6, e->top_score);
        sqlite3_bind_text(st, 7, e->zones[0] ? e->zones : "[]", -1, SQLITE_STATIC);
        if (e->snapshot[0])
            sqlite3_bind_text(st, 8, e->snapshot, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 8);
        sqlite3_bind_int64(st, 9, e->span_start_us);
        if (e->span_end_us)
            sqlite3_bind_int64(st, 10, e->span_end_us);
        else
            sqlite3_bind_null(st, 10);
        r = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? 0 : -EIO;
}

static void copy_text(char *dst, size_t len, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, len, "%s", t ? (const char *)t : "");
}

int vg_index_get_event(vg_index_t *ix, const char *id, vg_index_event_t *ret)
{
    sqlite3_stmt *st = NULL;
    int r = sqlite3_prepare_v2(ix->db,
                               "SELECT id,camera,label,start_us,coalesce(end_us,0),top_score,zones,"
                               "coalesce(snapshot,''),span_start_us,coalesce(span_end_us,0) FROM events WHERE id=?",
                               -1, &st, NULL);
    if (r != SQLITE_OK)
        return -EIO;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        vg_index_event_t e = {0};
        copy_text(e.id, sizeof(e.id), st, 0);
        copy_text(e.camera, sizeof(e.camera), st, 1);
        copy_text(e.label, sizeof(e.label), st, 2);
        e.start_us = sqlite3_column_int64(st, 3);
        e.end_us = sqlite3_column_int64(st, 4);
        e.top_score = sqlite3_column_double(st, 5);
        copy_text(e.zones, sizeof(e.zones), st, 6);
        copy_text(e.snapshot, sizeof(e.snapshot), st, 7);
        e.span_start_us = sqlite3_column_int64(st, 8);
        e.span_end_us = sqlite3_column_int64(st, 9);
        *ret = e;
    }
    sqlite3_finalize(st);
    return r == SQLITE_ROW ? 0 : r == SQLITE_DONE ? -ENOENT : -EIO;
}

int vg_index_segments(vg_index_t *ix, const char *camera, int64_t from_us, int64_t to_us,
                      int (*fn)(void *opaque, const vg_index_segment_t *seg), void *opaque)
{
    sqlite3_stmt *st = NULL;
    int r = sqlite3_prepare_v2(ix->db,
                               "SELECT camera,start_us,end_us,path,bytes,mode,has_motion,has_objects,has_audio"
                               " FROM segments WHERE (?1 IS NULL OR camera=?1) AND end_us>?2 AND start_us<?3"
                               " ORDER BY camera, start_us",
                               -1, &st, NULL);
    if (r != SQLITE_OK)
        return -EIO;
    if (camera)
        sqlite3_bind_text(st, 1, camera, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 1);
    sqlite3_bind_int64(st, 2, from_us);
    sqlite3_bind_int64(st, 3, to_us > 0 ? to_us : INT64_MAX);
    int n = 0;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        vg_index_segment_t s = {0};
        copy_text(s.camera, sizeof(s.camera), st, 0);
        s.start_us = sqlite3_column_int64(st, 1);
        s.end_us = sqlite3_column_int64(st, 2);
        copy_text(s.path, sizeof(s.path), st, 3);
        s.bytes = (uint64_t)sqlite3_column_int64(st, 4);
        copy_text(s.mode, sizeof(s.mode), st, 5);
        s.has_motion = sqlite3_column_int(st, 6);
        s.has_objects = sqlite3_column_int(st, 7);
        s.has_audio = sqlite3_column_int(st, 8);
        n++;
        if (fn && fn(opaque, &s)) {
            r = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? n : -EIO;
}

int vg_index_delete_segment(vg_index_t *ix, const char *path)
{
    char full[PATH_MAX * 2];
    snprintf(full, sizeof(full), "%s/%s", ix->recordings, path);
    if (unlink(full) < 0 && errno != ENOENT)
        return -errno;
    sqlite3_stmt *st = NULL;
    int r = sqlite3_prepare_v2(ix->db, "DELETE FROM segments WHERE path=?", -1, &st, NULL);
    if (r == SQLITE_OK) {
        sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
        r = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    /* the hour and day folders go when they are empty */
    char *slash;
    for (int i = 0; i < 2 && (slash = strrchr(full, '/')); i++) {
        *slash = '\0';
        if (rmdir(full) < 0)
            break;
    }
    return r == SQLITE_DONE ? 0 : -EIO;
}

int vg_index_clear(vg_index_t *ix)
{
    return sqlite3_exec(ix->db, "DELETE FROM segments; DELETE FROM events;", NULL, NULL, NULL) == SQLITE_OK ? 0
                                                                                                       : -EIO;
}

int vg_index_probe(const char *path, int64_t *ret_duration_us, bool *ret_audio)
{
    AVFormatContext *fmt = NULL;
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "format_whitelist", "mov,mp4,m4a,3gp,3g2,mj2", 0);
    const AVInputFormat *mp4 = av_find_input_format("mp4");
    int r = avformat_open_input(&fmt, path, mp4, &opts);
    av_dict_free(&opts);
    if (r < 0)
        return r;
    int v = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (v < 0) {
        avformat_close_input(&fmt);
        return v;
    }
    bool audio = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, v, NULL, 0) >= 0;
    AVRational tb = fmt->streams[v]->time_base;
    int64_t first = AV_NOPTS_VALUE, end = AV_NOPTS_VALUE;
    AVPacket *pkt = av_packet_alloc();
    while (pkt && av_read_frame(fmt, pkt) >= 0) {
        if (pkt->stream_index == v && pkt->dts != AV_NOPTS_VALUE) {
            int64_t pts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
            if (first == AV_NOPTS_VALUE || pkt->dts < first)
                first = pkt->dts;
            if (end == AV_NOPTS_VALUE || pts + pkt->duration > end)
                end = pts + pkt->duration;
        }
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    avformat_close_input(&fmt);
    if (first == AV_NOPTS_VALUE)
        return AVERROR_INVALIDDATA;
    *ret_duration_us = av_rescale_q(end - first, tb, (AVRational){1, 1000000});
    *ret_audio = audio;
    return 0;
}

/* ---- reindex --------------------------------------------------------------- */

typedef struct {
    vg_index_t *ix;
    int added, recovered;
    sqlite3_stmt *has;
} scan_t;

static bool indexed(scan_t *s, const char *rel)
{
    sqlite3_reset(s->has);
    sqlite3_bind_text(s->has, 1, rel, -1, SQLITE_TRANSIENT);
    return sqlite3_step(s->has) == SQLITE_ROW;
}

/* One file under recordings/<camera>/<day>/<hour>/. */
static void scan_file(scan_t *s, const char *camera, const char *rel_dir, const char *name)
{
    int64_t start;
    vg_record_mode_t mode;
    if (vg_record_parse_name(name, &start, &mode) < 0)
        return;
    char rel[VG_INDEX_PATH_MAX], full[PATH_MAX * 2];
    if (snprintf(rel, sizeof(rel), "%s/%s", rel_dir, name) >= (int)sizeof(rel) ||
        snprintf(full, sizeof(full), "%s/%s", s->ix->recordings, rel) >= (int)sizeof(full))
        return; /* not a name we write */
    size_t n = strlen(rel);
    bool part = n > 5 && strcmp(rel + n - 5, ".part") == 0;
    if (!part && indexed(s, rel))
        return;
    int64_t dur = 0;
    bool audio = false;
    if (vg_index_probe(full, &dur, &audio) < 0 || dur <= 0) {
        if (part)
            unlink(full); /* a crash before its first fragment: nothing to keep */
        return;
    }
    if (part) {
        /* the segment a crash left open: its complete fragments play */
        rel[n - 5] = '\0';
        char final[PATH_MAX * 2];
        snprintf(final, sizeof(final), "%s/%s", s->ix->recordings, rel);
        if (rename(full, final) < 0)
            return;
        snprintf(full, sizeof(full), "%s", final);
        s->recovered++;
    }
    struct stat st;
    if (stat(full, &st) < 0)
        return;
    vg_index_segment_t seg = {0};
    if (snprintf(seg.camera, sizeof(seg.camera), "%s", camera) >= (int)sizeof(seg.camera))
        return; /* not a camera name */
    seg.start_us = start;
    seg.end_us = start + dur;
    snprintf(seg.path, sizeof(seg.path), "%s", rel);
    seg.bytes = (uint64_t)st.st_size;
    snprintf(seg.mode, sizeof(seg.mode), "%s", vg_record_mode_name(mode));
    /* what the segment held is not in the file: its mode says the least */
    seg.has_motion = mode == VG_RECORD_MOTION || mode == VG_RECORD_OBJECTS;
    seg.has_objects = mode == VG_RECORD_OBJECTS;
    seg.has_audio = audio;
    if (vg_index_add_segment(s->ix, &seg) == 0)
        s->added++;
}

/* Lists the entries of dir (not . or ..), sorted. Caller frees. */
static int list_dir(const char *dir, struct dirent ***ret)
{
    return scandir(dir, ret, NULL, alphasort);
}

static void free_list(struct dirent **l, int n)
{
    for (int i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

static void scan_tree(scan_t *s)
{
    struct dirent **cams = NULL, **days = NULL, **hours = NULL, **files = NULL;
    int nc = list_dir(s->ix->recordings, &cams);
    for (int c = 0; c < nc; c++) {
        const char *cam = cams[c]->d_name;
        if (cam[0] == '.')
            continue;
        char p[PATH_MAX * 2];
        snprintf(p, sizeof(p), "%s/%s", s->ix->recordings, cam);
        int nd = list_dir(p, &days);
        for (int d = 0; d < nd; d++) {
            if (days[d]->d_name[0] == '.')
                continue;
            snprintf(p, sizeof(p), "%s/%s/%s", s->ix->recordings, cam, days[d]->d_name);
            int nh = list_dir(p, &hours);
            for (int h = 0; h < nh; h++) {
                if (hours[h]->d_name[0] == '.')
                    continue;
                char rel[VG_INDEX_PATH_MAX];
                if (snprintf(rel, sizeof(rel), "%s/%s/%s", cam, days[d]->d_name, hours[h]->d_name) >=
                    (int)sizeof(rel))
                    continue;
                snprintf(p, sizeof(p), "%s/%s", s->ix->recordings, rel);
                int nf = list_dir(p, &files);
                for (int f = 0; f < nf; f++)
                    if (files[f]->d_name[0] != '.')
                        scan_file(s, cam, rel, files[f]->d_name);
                if (nf >= 0)
                    free_list(files, nf);
            }
            if (nh >= 0)
                free_list(hours, nh);
        }
        if (nd >= 0)
            free_list(days, nd);
    }
    if (nc >= 0)
        free_list(cams, nc);
}

int vg_index_reindex(vg_index_t *ix, int *ret_added, int *ret_removed, int *ret_recovered)
{
    scan_t s = {.ix = ix};
    if (sqlite3_prepare_v2(ix->db, "SELECT 1 FROM segments WHERE path=?", -1, &s.has, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_exec(ix->db, "BEGIN", NULL, NULL, NULL);
    scan_tree(&s);
    sqlite3_finalize(s.has);
    /* rows whose file is gone */
    int removed = 0;
    sqlite3_stmt *st = NULL, *del = NULL;
    if (sqlite3_prepare_v2(ix->db, "SELECT path FROM segments", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(ix->db, "DELETE FROM segments WHERE path=?", -1, &del, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            char full[PATH_MAX * 2];
            snprintf(full, sizeof(full), "%s/%s", ix->recordings, (const char *)sqlite3_column_text(st, 0));
            if (access(full, F_OK) == 0)
                continue;
            sqlite3_reset(del);
            sqlite3_bind_text(del, 1, (const char *)sqlite3_column_text(st, 0), -1, SQLITE_TRANSIENT);
            if (sqlite3_step(del) == SQLITE_DONE)
                removed++;
        }
    }
    sqlite3_finalize(st);
    sqlite3_finalize(del);
    int r = sqlite3_exec(ix->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
    if (ret_added)
        *ret_added = s.added;
    if (ret_removed)
        *ret_removed = removed;
    if (ret_recovered)
        *ret_recovered = s.recovered;
    return r;
}

/* ---- times ----------------------------------------------------------------- */

void vg_time_format(int64_t us, char *buf, size_t len)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(us % 1000000 / 1000));
}

int vg_time_parse(const char *s, int64_t now_us, int64_t *ret_us)
{
    if (!s || !*s)
        return -EINVAL;
    if (!strcmp(s, "now")) {
        *ret_us = now_us;
        return 0;
    }
    if (s[0] == '@') {
        char *end;
        double v = strtod(s + 1, &end);
        if (end == s + 1 || *end)
            return -EINVAL;
        *ret_us = (int64_t)(v * 1e6);
        return 0;
    }
    if (s[0] == '-' || s[0] == '+') {
        char *end;
        double v = strtod(s + 1, &end);
        if (end == s + 1)
            return -EINVAL;
        double unit = !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600
                    : !strcmp(end, "d") ? 86400 : !strcmp(end, "ms") ? 1e-3 : -1;
        if (unit < 0)
            return -EINVAL;
        int64_t d = (int64_t)(v * unit * 1e6);
        *ret_us = s[0] == '-' ? now_us - d : now_us + d;
        return 0;
    }
    struct tm tm = {0};
    int n = 0;
    double sec = 0;
    const char *rest;
    bool have_date = false;
    if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) == 3 && n == 10) {
        have_date = true;
        rest = s + n;
        if (*rest == 'T' || *rest == ' ')
            rest++;
        else if (*rest)
            return -EINVAL;
    } else {
        time_t now = (time_t)(now_us / 1000000);
        struct tm today;
        localtime_r(&now, &today);
        tm.tm_year = today.tm_year + 1900;
        tm.tm_mon = today.tm_mon + 1;
        tm.tm_mday = today.tm_mday;
        rest = s;
    }
    if (*rest) {
        n = 0;
        if (sscanf(rest, "%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &n) != 2 || n != 5)
            return -EINVAL;
        rest += n;
        if (*rest == ':') {
            char *end;
            sec = strtod(rest + 1, &end);
            if (end == rest + 1 || sec < 0 || sec >= 61)
                return -EINVAL;
            rest = end;
        }
    } else if (!have_date) {
        return -EINVAL;
    }
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour < 0 || tm.tm_hour > 23 ||
        tm.tm_min < 0 || tm.tm_min > 59)
        return -EINVAL;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    tm.tm_sec = 0;
    time_t t;
    if (*rest == 'Z' && !rest[1]) {
        t = timegm(&tm);
    } else if ((*rest == '+' || *rest == '-') && strlen(rest) >= 3) {
        int hh = 0, mm = 0;
        if (sscanf(rest + 1, "%2d:%2d", &hh, &mm) < 1 && sscanf(rest + 1, "%2d%2d", &hh, &mm) < 1)
            return -EINVAL;
        t = timegm(&tm) - (*rest == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
    } else if (!*rest) {
        tm.tm_isdst = -1;
        t = mktime(&tm); /* no zone: local time */
    } else {
        return -EINVAL;
    }
    if (t == (time_t)-1)
        return -EINVAL;
    *ret_us = (int64_t)t * 1000000 + (int64_t)(sec * 1e6 + 0.5);
    return 0;
}
