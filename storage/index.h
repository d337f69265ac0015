/*
 * index: the SQLite index of recorded footage, state_dir/index.sqlite (WAL).
 * Two tables: segments (camera, start, end, duration, path, bytes, mode,
 * has_motion, has_objects, has_audio) and events (id, camera, label, start,
 * end, top_score, zones, snapshot, and the span of footage that belongs to
 * the event: start - pre_capture .. end + post_capture). Segment paths are
 * relative to state_dir/recordings.
 *
 * The files are the truth: vg_index_reindex walks state_dir/recordings,
 * adds the segments missing from the index (a crash between a segment's
 * close and its insert, or a lost index), recovers the .part segment a crash
 * left (renamed to .mp4, or removed when it holds nothing playable) and
 * forgets rows whose file is gone. Events live only in the index.
 *
 * Owns: one SQLite connection.
 * Thread: one thread at a time per vg_index_t. In vigild only the storage
 * thread (storage/storage.h) writes; the CLI opens its own connection to
 * read (WAL lets it read while the daemon writes).
 * Blocks on: the disk (SQLite, readdir, reading segment files).
 * Logs: nothing; errors come back as negative errno with a message.
 */
#ifndef VG_INDEX_H
#define VG_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VG_INDEX_PATH_MAX 512

typedef struct vg_index vg_index_t;

typedef struct {
    char camera[64];
    int64_t start_us, end_us;     /* UTC microseconds */
    char path[VG_INDEX_PATH_MAX]; /* relative to state_dir/recordings */
    uint64_t bytes;
    char mode[16];                /* continuous | motion | objects */
    bool has_motion, has_objects, has_audio;
} vg_index_segment_t;

typedef struct {
    char id[96];
    char camera[64];
    char label[64];
    int64_t start_us, end_us;           /* end 0 while open */
    double top_score;
    char zones[256];                    /* JSON array */
    char snapshot[VG_INDEX_PATH_MAX];   /* "" = none */
    int64_t span_start_us, span_end_us; /* footage that belongs to it; end 0 while open */
} vg_index_event_t;

/* Opens (creating when missing) state_dir/index.sqlite. A file that is not
 * a usable index (corrupt, or another schema) is moved aside to
 * index.sqlite.corrupt and a new one created; *ret_rebuilt (may be NULL)
 * then says the caller must vg_index_reindex. Returns 0 or a negative errno
 * with a message in err. Thread: any (the opener owns it). */
int vg_index_open(const char *state_dir, vg_index_t **ret, bool *ret_rebuilt, char *err, size_t errlen);

/* Opens an existing index read-only (the CLI). -ENOENT when there is none.
 * Thread: any. */
int vg_index_open_readonly(const char *state_dir, vg_index_t **ret, char *err, size_t errlen);

/* Closes the connection. Accepts NULL; sets *ix = NULL. Thread: the owner's. */
void vg_index_close(vg_index_t **ix);

/* state_dir/recordings, the root of segment paths. Thread: the owner's. */
const char *vg_index_recordings_dir(const vg_index_t *ix);

/* Inserts (or replaces, by path) a segment. Returns 0 or -EIO.
 * Thread: the owner's. */
int vg_index_add_segment(vg_index_t *ix, const vg_index_segment_t *seg);

/* Inserts or updates an event by id (fields of an update replace those
 * stored; start_us and span_start_us keep their first value). Returns 0 or
 * -EIO. Thread: the owner's. */
int vg_index_put_event(vg_index_t *ix, const vg_index_event_t *ev);

/* Looks an event up by id. Returns 0, -ENOENT or -EIO. Thread: the owner's. */
int vg_index_get_event(vg_index_t *ix, const char *id, vg_index_event_t *ret);

/* Calls fn for each segment of camera (NULL = every camera) overlapping
 * [from_us, to_us) (0 = open end), by camera and oldest first; fn (may be
 * NULL: only count) returning non-zero stops. Returns the number of segments
 * seen, or -EIO. Thread: the owner's. */
int vg_index_segments(vg_index_t *ix, const char *camera, int64_t from_us, int64_t to_us,
                      int (*fn)(void *opaque, const vg_index_segment_t *seg), void *opaque);

/* Removes a segment's row and its file (path relative), and its hour and day
 * folders once empty. Returns 0, -EIO, or unlink's negative errno.
 * Thread: the owner's. */
int vg_index_delete_segment(vg_index_t *ix, const char *path);

/* Walks the recordings and brings the index in line with them (see the top
 * of this file). Counts are optional. Returns 0 or a negative errno. Cost:
 * a readdir of every folder and a read of each segment not yet indexed.
 * Thread: the owner's. */
int vg_index_reindex(vg_index_t *ix, int *ret_added, int *ret_removed, int *ret_recovered);

/* Deletes everything in the index (the files stay). Returns 0 or -EIO.
 * Thread: the owner's. */
int vg_index_clear(vg_index_t *ix);

/* The SQLite handle (retention runs its own queries). Thread: the owner's. */
struct sqlite3 *vg_index_db(vg_index_t *ix);

/* Reads a segment file's duration (video packets, no decoding) and whether
 * it has audio. Returns 0 or a negative AVERROR. Thread: any. */
int vg_index_probe(const char *path, int64_t *ret_duration_us, bool *ret_audio);

/* Parses a time: ISO 8601 ("2026-12-08T03:30:00Z", "...T03:30:00.250+01:00",
 * "2026-12-08 03:30" local), a time of day today ("10:00", "10:00:30", local),
 * relative to now ("-2h", "-30m", "-10s", "-1d", "now"), or UTC seconds
 * ("@1765164600"). Returns 0 and *ret_us (UTC microseconds), or -EINVAL.
 * Thread: any. */
int vg_time_parse(const char *text, int64_t now_us, int64_t *ret_us);

/* Formats UTC microseconds as ISO 8601 with milliseconds ("...Z").
 * Thread: any. */
void vg_time_format(int64_t us, char *buf, size_t len);

#endif
