/*
 * record.c: the client's commands on recorded footage (storage/index.h):
 *   storage     usage per camera and mode, oldest and newest footage;
 *               `storage reindex` rebuilds the index from the files
 *   recordings  segments and the gaps between them
 *   clip        an event's footage, or any span, into one file (stream copy)
 * and the recorded span that `vigil replay --camera C --from T --to T` runs
 * through the pipeline (vg_cli_recorded_span).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/log.h>
#include <sqlite3.h>

#include "daemon/config.h"
#include "storage/clip.h"
#include "storage/index.h"

int vg_cli_storage(int argc, char **argv);
int vg_cli_recordings(int argc, char **argv);
int vg_cli_clip(int argc, char **argv);
int vg_cli_recorded_span(const char *config, const char *state_dir, const char *camera, const char *from,
                         const char *to, char *ret_path, size_t len);

#define GAP_US 1000000 /* a hole longer than this between segments is a gap */

static int64_t wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* state_dir from --state-dir, else from --config (or /etc/vigil/vigil.yaml
 * when it exists), else /var/lib/vigil. */
static int find_state_dir(const char *cmd, const char *config, const char *state_dir, char *buf, size_t len)
{
    if (state_dir) {
        snprintf(buf, len, "%s", state_dir);
        return 0;
    }
    if (!config && access("/etc/vigil/vigil.yaml", R_OK) == 0)
        config = "/etc/vigil/vigil.yaml";
    if (!config) {
        snprintf(buf, len, "/var/lib/vigil");
        return 0;
    }
    vg_config_t *cfg = NULL;
    char err[VG_CONFIG_ERROR_MAX];
    if (vg_config_load(config, err, sizeof(err), &cfg) < 0) {
        fprintf(stderr, "vigil %s: %s\n", cmd, err);
        return -EINVAL;
    }
    snprintf(buf, len, "%s", cfg->state_dir);
    vg_config_free(&cfg);
    return 0;
}

static int open_index(const char *cmd, const char *state_dir, vg_index_t **ret)
{
    char err[1024];
    if (vg_index_open_readonly(state_dir, ret, err, sizeof(err)) < 0) {
        fprintf(stderr, "vigil %s: no index of recordings: %s\n", cmd, err);
        return -ENOENT;
    }
    return 0;
}

static void fmt_bytes(uint64_t b, char *buf, size_t len)
{
    if (b >= (1ull << 30))
        snprintf(buf, len, "%.2f GiB", b / (double)(1ull << 30));
    else if (b >= (1ull << 20))
        snprintf(buf, len, "%.1f MiB", b / (double)(1ull << 20));
    else
        snprintf(buf, len, "%.1f KiB", b / 1024.0);
}

static int parse_time(const char *cmd, const char *what, const char *s, int64_t *ret)
{
    if (vg_time_parse(s, wall_now(), ret) < 0) {
        fprintf(stderr, "vigil %s: %s '%s' is not a time (2026-12-08T10:00:00Z, 10:00, -2h, now)\n", cmd, what, s);
        return -EINVAL;
    }
    return 0;
}

/* ---- storage ------------------------------------------------------------- */

int vg_cli_storage(int argc, char **argv)
{
    const char *config = NULL, *state = NULL;
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"state-dir", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "c:s:h", opts, NULL)) != -1) {
        switch (o) {
        case 'c': config = optarg; break;
        case 's': state = optarg; break;
        case 'h':
            printf("usage: vigil storage [reindex] [--config C | --state-dir D]\n"
                   "Prints the recorded footage per camera and mode (segments, size, oldest and\n"
                   "newest), events in the index, and the free space. `reindex` rebuilds the index\n"
                   "(state_dir/index.sqlite) from the files under state_dir/recordings: segments\n"
                   "missing from it are added, rows whose file is gone removed; a corrupt index is\n"
                   "moved aside and built anew (its events are lost).\n"
                   "  --config     take state_dir from C (default /etc/vigil/vigil.yaml if present)\n"
                   "  --state-dir  the state folder itself (default /var/lib/vigil)\n");
            return 0;
        default: return 2;
        }
    }
    char dir[PATH_MAX];
    if (find_state_dir("storage", config, state, dir, sizeof(dir)) < 0)
        return 1;
    av_log_set_level(AV_LOG_QUIET);
    if (optind < argc && strcmp(argv[optind], "reindex") == 0) {
        vg_index_t *ix = NULL;
        bool rebuilt = false;
        char err[1024];
        if (vg_index_open(dir, &ix, &rebuilt, err, sizeof(err)) < 0) {
            fprintf(stderr, "vigil storage reindex: %s\n", err);
            return 1;
        }
        int added = 0, removed = 0, recovered = 0;
        int r = vg_index_reindex(ix, &added, &removed, &recovered);
        vg_index_close(&ix);
        if (r < 0) {
            fprintf(stderr, "vigil storage reindex: %s/index.sqlite: cannot write\n", dir);
            return 1;
        }
        printf("%s/index.sqlite:%s %d segment%s added (%d left open by a crash), %d removed (file gone)\n", dir,
               rebuilt ? " was corrupt (moved to index.sqlite.corrupt), rebuilt:" : "", added, added == 1 ? "" : "s",
               recovered, removed);
        return 0;
    }
    if (optind < argc) {
        fprintf(stderr, "vigil storage: unknown argument '%s' (vigil storage [reindex])\n", argv[optind]);
        return 2;
    }
    vg_index_t *ix = NULL;
    if (open_index("storage", dir, &ix) < 0)
        return 1;
    sqlite3 *db = vg_index_db(ix);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db,
                                "SELECT camera, mode, count(*), sum(bytes), sum(duration), min(start_us), max(end_us)"
                                " FROM segments GROUP BY camera, mode ORDER BY camera, mode",
                                -1, &st, NULL);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "vigil storage: %s/index.sqlite: %s\n", dir, sqlite3_errmsg(db));
        vg_index_close(&ix);
        return 1;
    }
    printf("%-16s %-10s %8s %12s %10s  %-24s  %-24s\n", "camera", "mode", "segments", "size", "hours", "oldest",
           "newest");
    uint64_t total = 0;
    int64_t count = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        char size[32], a[40], b[40];
        uint64_t bytes = (uint64_t)sqlite3_column_int64(st, 3);
        fmt_bytes(bytes, size, sizeof(size));
        vg_time_format(sqlite3_column_int64(st, 5), a, sizeof(a));
        vg_time_format(sqlite3_column_int64(st, 6), b, sizeof(b));
        printf("%-16s %-10s %8lld %12s %10.2f  %-24s  %-24s\n", (const char *)sqlite3_column_text(st, 0),
               (const char *)sqlite3_column_text(st, 1), (long long)sqlite3_column_int64(st, 2), size,
               sqlite3_column_double(st, 4) / 3600, a, b);
        total += bytes;
        count += sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    char size[32];
    fmt_bytes(total, size, sizeof(size));
    long long events = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM events", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        events = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    struct statvfs fs;
    char free_s[32] = "?";
    if (statvfs(vg_index_recordings_dir(ix), &fs) == 0)
        fmt_bytes((uint64_t)fs.f_bavail * fs.f_frsize, free_s, sizeof(free_s));
    printf("total: %lld segments, %s in %s; %lld events in the index; %s free on its filesystem\n",
           (long long)count, size, vg_index_recordings_dir(ix), events, free_s);
    vg_index_close(&ix);
    return 0;
}

/* ---- recordings ---------------------------------------------------------- */

typedef struct {
    char camera[64];
    int64_t end_us;
    int segments, gaps;
} list_t;

static int print_segment(void *opaque, const vg_index_segment_t *s)
{
    list_t *l = opaque;
    char a[40], b[40];
    if (strcmp(l->camera, s->camera) == 0 && s->start_us - l->end_us > GAP_US) {
        vg_time_format(l->end_us, a, sizeof(a));
        vg_time_format(s->start_us, b, sizeof(b));
        printf("%-16s %s  %s %8.1fs  gap\n", s->camera, a, b, (s->start_us - l->end_us) / 1e6);
        l->gaps++;
    }
    vg_time_format(s->start_us, a, sizeof(a));
    vg_time_format(s->end_us, b, sizeof(b));
    printf("%-16s %s  %s %8.1fs  %-10s %s%s%s %s\n", s->camera, a, b, (s->end_us - s->start_us) / 1e6, s->mode,
           s->has_motion ? "motion " : "", s->has_objects ? "objects " : "", s->has_audio ? "audio" : "", s->path);
    snprintf(l->camera, sizeof(l->camera), "%s", s->camera);
    l->end_us = s->end_us;
    l->segments++;
    return 0;
}

int vg_cli_recordings(int argc, char **argv)
{
    const char *config = NULL, *state = NULL, *camera = NULL, *from = NULL, *to = NULL;
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"state-dir", required_argument, NULL, 's'},
        {"camera", required_argument, NULL, 'n'}, {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},     {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "c:s:n:f:t:h", opts, NULL)) != -1) {
        switch (o) {
        case 'c': config = optarg; break;
        case 's': state = optarg; break;
        case 'n': camera = optarg; break;
        case 'f': from = optarg; break;
        case 't': to = optarg; break;
        case 'h':
            printf("usage: vigil recordings [--camera C] [--from T] [--to T] [--config C | --state-dir D]\n"
                   "Lists recorded segments (start, end, duration, mode, what they hold, path under\n"
                   "state_dir/recordings), oldest first, and the gaps between them (a line ending\n"
                   "in \"gap\"). Times: ISO 8601 (2026-12-08T10:00:00Z; without a zone: local),\n"
                   "a time of day today (10:00), relative (-2h, -30m, now) or @UNIX_SECONDS.\n");
            return 0;
        default: return 2;
        }
    }
    char dir[PATH_MAX];
    int64_t f = 0, t = 0;
    if (find_state_dir("recordings", config, state, dir, sizeof(dir)) < 0 ||
        (from && parse_time("recordings", "--from", from, &f) < 0) || (to && parse_time("recordings", "--to", to, &t) < 0))
        return 2;
    vg_index_t *ix = NULL;
    if (open_index("recordings", dir, &ix) < 0)
        return 1;
    list_t l = {0};
    int r = vg_index_segments(ix, camera, f, t, print_segment, &l);
    vg_index_close(&ix);
    if (r < 0) {
        fprintf(stderr, "vigil recordings: cannot read %s/index.sqlite\n", dir);
        return 1;
    }
    fprintf(stderr, "%d segment%s, %d gap%s\n", l.segments, l.segments == 1 ? "" : "s", l.gaps, l.gaps == 1 ? "" : "s");
    return 0;
}

/* ---- clip ---------------------------------------------------------------- */

int vg_cli_clip(int argc, char **argv)
{
    const char *config = NULL, *state = NULL, *camera = NULL, *from = NULL, *to = NULL, *out = NULL;
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"state-dir", required_argument, NULL, 's'},
        {"camera", required_argument, NULL, 'n'}, {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},     {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "c:s:n:f:t:o:h", opts, NULL)) != -1) {
        switch (o) {
        case 'c': config = optarg; break;
        case 's': state = optarg; break;
        case 'n': camera = optarg; break;
        case 'f': from = optarg; break;
        case 't': to = optarg; break;
        case 'o': out = optarg; break;
        case 'h':
            printf("usage: vigil clip EVENT_ID -o OUT.mp4 [--config C | --state-dir D]\n"
                   "       vigil clip --camera C --from T --to T -o OUT.mp4\n"
                   "Copies recorded footage into one file without re-encoding: an event's span with\n"
                   "its pre and post capture, or any span of a camera from the keyframe at or\n"
                   "before --from, across segment boundaries. Times as in `vigil recordings --help`.\n");
            return 0;
        default: return 2;
        }
    }
    const char *event = optind < argc ? argv[optind] : NULL;
    if (!out || (!event && (!camera || !from || !to))) {
        fprintf(stderr, "vigil clip: give EVENT_ID or --camera, --from and --to, and -o OUT (vigil clip --help)\n");
        return 2;
    }
    char dir[PATH_MAX];
    int64_t f = 0, t = 0;
    if (find_state_dir("clip", config, state, dir, sizeof(dir)) < 0 ||
        (!event && (parse_time("clip", "--from", from, &f) < 0 || parse_time("clip", "--to", to, &t) < 0)))
        return 2;
    av_log_set_level(AV_LOG_ERROR);
    vg_index_t *ix = NULL;
    if (open_index("clip", dir, &ix) < 0)
        return 1;
    char cam[64];
    if (event) {
        vg_index_event_t ev;
        int r = vg_index_get_event(ix, event, &ev);
        if (r < 0) {
            fprintf(stderr, "vigil clip: %s\n", r == -ENOENT ? "no such event in the index" : "cannot read the index");
            vg_index_close(&ix);
            return 1;
        }
        snprintf(cam, sizeof(cam), "%s", ev.camera);
        f = ev.span_start_us;
        t = ev.span_end_us ? ev.span_end_us : wall_now();
    } else {
        snprintf(cam, sizeof(cam), "%s", camera);
    }
    vg_clip_info_t info;
    char err[1024];
    int r = vg_clip_write(ix, cam, f, t, out, &info, err, sizeof(err));
    vg_index_close(&ix);
    if (r < 0) {
        fprintf(stderr, "vigil clip: %s\n", err);
        return 1;
    }
    char a[40], b[40];
    vg_time_format(info.start_us, a, sizeof(a));
    vg_time_format(info.end_us, b, sizeof(b));
    fprintf(stderr, "vigil clip: %s: %s .. %s (%.1fs) of '%s' from %d segment%s, %" PRIu64 " packets%s\n", out, a, b,
            (info.end_us - info.start_us) / 1e6, cam, info.segments, info.segments == 1 ? "" : "s", info.packets,
            info.gaps ? " (the footage has gaps)" : "");
    return 0;
}

int vg_cli_recorded_span(const char *config, const char *state_dir, const char *camera, const char *from,
                         const char *to, char *ret_path, size_t len)
{
    char dir[PATH_MAX];
    int64_t f = 0, t = 0;
    if (find_state_dir("replay", config, state_dir, dir, sizeof(dir)) < 0 || parse_time("replay", "--from", from, &f) < 0 ||
        parse_time("replay", "--to", to ? to : "now", &t) < 0)
        return -EINVAL;
    vg_index_t *ix = NULL;
    if (open_index("replay", dir, &ix) < 0)
        return -ENOENT;
    const char *tmp = getenv("TMPDIR");
    snprintf(ret_path, len, "%s/vigil-replay-XXXXXX.mp4", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemps(ret_path, 4);
    if (fd < 0) {
        int e = -errno;
        fprintf(stderr, "vigil replay: cannot create %s: %s\n", ret_path, strerror(-e));
        vg_index_close(&ix);
        return e;
    }
    close(fd);
    av_log_set_level(AV_LOG_ERROR);
    char err[1024];
    vg_clip_info_t info;
    int r = vg_clip_write(ix, camera, f, t, ret_path, &info, err, sizeof(err));
    vg_index_close(&ix);
    if (r < 0) {
        fprintf(stderr, "vigil replay: %s\n", err);
        unlink(ret_path);
        return r;
    }
    return 0;
}
