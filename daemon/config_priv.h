/*
 * config_priv.h: the schema's row type and what the config files share.
 * Not a public header: only daemon/config*.c include it.
 *   config_schema.c  the tables: every key, its type, default, range, doc line
 *   config_yaml.c    the YAML walker and the per-type setters (vg_config_parse)
 *   config.c         the API: defaults, load, free, equality, lookups, paths
 *   config_doc.c     docs/config.md, printed from the tables
 *
 * Thread: as config.h (the main thread parses), unless a function says otherwise.
 */
#ifndef VG_CONFIG_PRIV_H
#define VG_CONFIG_PRIV_H

#include "daemon/config.h"

typedef enum {
    T_BOOL,     /* bool */
    T_INT,      /* int, min..max */
    T_DOUBLE,   /* double, min..max */
    T_DURATION, /* int64_t microseconds, min..max in microseconds */
    T_STRING,   /* char *, owned */
    T_ENUM,     /* int-sized enum, index into values[] */
    T_CHOICE,   /* char[size], one of values[] */
    T_NAME,     /* char[size], [A-Za-z0-9_-]{0,63} (a reference to a name) */
    T_PAIR,     /* int at off, int at off2: [w, h], each min..max */
    T_FLOAT3,   /* float[3]: [a, b, c] or one number for all three */
    T_CORRECT,  /* correct: auto | off | [values...] -> mode at off, mask at off2 */
    T_LABELS,   /* char[size]: a list of detector labels [a, b] (or one), stored "a,b" */
    T_SECTION,  /* nested mapping: sub table on the same struct */
    /* a camera's objects (config_yaml.c, "objects, zones, lines"): */
    T_OBJECTS,  /* objects: label -> { threshold, min_score, ..., mask } */
    T_ZONES,    /* zones: name -> { points, inertia, loitering_time, labels } */
    T_LINES,    /* lines: name -> { points: [a, b], labels } */
    T_POLYGONS, /* motion_mask: a list of polygons */
    T_NAMES,    /* required_zones: a list of zone names */
    T_SIZE,     /* uint64_t bytes: 0, 512K, 64M, 200G, 2T (powers of 1024), min..max in bytes */
} opt_type_t;

enum {
    F_REQUIRED = 1u << 0,   /* must be present */
    F_POW2 = 1u << 1,       /* T_INT: power of two */
    F_NONEMPTY = 1u << 2,   /* T_STRING: "" refused */
    F_ENDPOINT = 1u << 3,   /* T_STRING: ZeroMQ endpoint (or "" unless F_NONEMPTY) */
    F_EMPTY_NULL = 1u << 4, /* T_STRING: "" stored as NULL */
    F_LISTEN = 1u << 5,     /* T_STRING: [tcp://|http://]HOST:PORT (or "" unless F_NONEMPTY) */
    F_MODELS_OWN = 1u << 6, /* T_DOUBLE, no default: absent is -1, "the model's own value" */
};

typedef struct opt {
    const char *key;
    opt_type_t type;
    size_t off, off2;
    size_t size;               /* T_CHOICE, T_NAME: sizeof the char[] */
    const char *def;           /* default as YAML text; NULL = none */
    double min, max;           /* T_INT, T_DOUBLE, T_PAIR, T_DURATION (microseconds) */
    const char *const *values; /* T_ENUM, T_CHOICE, T_CORRECT */
    unsigned flags;
    const struct opt *sub; /* T_SECTION */
    const char *doc;       /* one line for docs/config.md */
} opt_t;

#define KEY_MAX 256 /* a dotted key, e.g. cameras.NAME.detect.model */

/* The tables (config_schema.c), each ended by a row with key NULL. */
extern const opt_t vg_cfg_daemon_opts[], vg_cfg_model_opts[], vg_cfg_camera_opts[], vg_cfg_curve_opts[];
extern const opt_t vg_cfg_detect_opts[], vg_cfg_faces_opts[], vg_cfg_classify_opts[], vg_cfg_motion_opts[];
extern const opt_t vg_cfg_track_opts[], vg_cfg_snapshot_opts[];
extern const opt_t vg_cfg_record_opts[], vg_cfg_retain_opts[], vg_cfg_storage_opts[];
/* "64M", "200G": the largest unit that divides exactly. */
void vg_cfg_fmt_size(uint64_t bytes, char *buf, size_t len);
/* Parses a size ("0", "512K", "64M", "1.5G", "2T"; powers of 1024). Returns 0 or -EINVAL. */
int vg_cfg_parse_size(const char *text, uint64_t *ret_bytes);

/* Tables by where they sit, for "this key belongs elsewhere" hints. */
typedef struct {
    const opt_t *table;
    const char *where;
} vg_cfg_table_t;
extern const vg_cfg_table_t vg_cfg_tables[];
extern const size_t vg_cfg_n_tables;

/* A camera or model name: 1 to VG_CONFIG_NAME_MAX - 1 of [A-Za-z0-9_-]. */
bool vg_cfg_valid_name(const char *s);
/* "5s", "100ms", "1h": the largest unit that divides exactly. */
void vg_cfg_fmt_duration(int64_t us, char *buf, size_t len);
/* values v (NULL-ended) joined by sep into buf (truncated to len). */
void vg_cfg_join_values(const char *const *v, const char *sep, char *buf, size_t len);
/* Sets every default of table on base (config_yaml.c). Defaults are YAML
 * text in the table, so they go through the same setters and checks as user
 * values. Returns 0 or a negative errno. */
int vg_cfg_apply_defaults(const opt_t *table, void *base);

#endif
