/*
 * config_yaml: YAML -> vg_config_t through the schema table (config_schema.c).
 *
 * libyaml's document API loads the whole file into a node tree in which every
 * node has its start line; we walk that tree against the tables below. Each
 * table row is { key, type, offset, default, min, max, ... } and one generic
 * setter per type does the parsing and range checks (nginx's ngx_command_t
 * with ngx_conf_set_*_slot). Defaults are written in the table as YAML text
 * and go through the same setters as user values, so a default can never
 * escape the checks, and docs/config.md is printed from the same rows.
 *
 * The first error stops the parse; the message is one line
 * "file:line: dotted.key: what is wrong".
 */
#include "daemon/config_priv.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ----------------------------------------------------------------- parsing */

typedef struct {
    const char *name; /* file name for messages */
    yaml_document_t *doc;
    char *err;
    size_t errlen;
    int name_line[4];                          /* line of the last detect.model, faces.model,
                                                  faces.expression, classify.model set (REF_*) */
    int ref_line[VG_CONFIG_MAX_CAMERAS][4];    /* the same per camera, 0 = unset */
    int merges;                             /* "<<" merges applied so far */
    size_t *str_tagged;                     /* byte offsets of scalars tagged !!str (sorted) */
    size_t n_str_tagged, cap_str_tagged;
    /* the camera being parsed: required_zones (resolved once its zones are
     * known) and where each polygon was written (for the frame-size check) */
    int req_line, n_req;
    char req[VG_ZONES_MAX][VG_ZONE_NAME_MAX];
    int zone_line[VG_ZONES_MAX], lines_line[VG_LINES_MAX], mask_line[VG_MOTION_MASK_MAX];
    int object_line[VG_OBJECTS_MAX];
} pctx_t;

#define C_OFF(field) offsetof(vg_camera_config_t, field)
enum { REF_DETECT, REF_FACES, REF_EXPRESSION, REF_CLASSIFY }; /* model references of a camera */

__attribute__((format(printf, 4, 5))) static int fail(pctx_t *c, int line, const char *key,
                                                      const char *fmt, ...) {
    if (!c->err || c->errlen == 0)
        return -EINVAL;
    int n = snprintf(c->err, c->errlen, "%s:%d: %s: ", c->name, line, key);
    if (n >= 0 && (size_t)n < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    /* One line, whatever the file holds: keys and values quoted in the message
     * may contain newlines (multi-line scalars) or other control characters. */
    for (char *p = c->err; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return -EINVAL;
}

static int fail_nomem(pctx_t *c) {
    if (c->err && c->errlen)
        snprintf(c->err, c->errlen, "%s: %s", c->name, strerror(ENOMEM));
    return -ENOMEM;
}

static int line_of(const yaml_node_t *n) { return (int)n->start_mark.line + 1; }

static bool is_scalar(const yaml_node_t *n) { return n->type == YAML_SCALAR_NODE; }

static const char *sval(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

/* An empty plain scalar: "key:" with nothing after it (YAML null). */
static bool is_null(const yaml_node_t *n) {
    if (!is_scalar(n) || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = sval(n);
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0;
}

/* Numbers in the file are written with a '.', whatever locale a tool that
 * links us has set (strtod would read "0,5" in de_DE): parse in "C". */
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void c_locale_init(void) { c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0); }

static double strtod_c(const char *s, char **end) {
    pthread_once(&c_locale_once, c_locale_init);
    return c_locale ? strtod_l(s, end, c_locale) : strtod(s, end);
}

static bool parse_double(const char *s, double *ret) {
    char *end;
    if (!*s || isspace((unsigned char)*s))
        return false;
    errno = 0;
    double v = strtod_c(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(v))
        return false;
    *ret = v;
    return true;
}

static bool parse_ll(const char *s, long long *ret) {
    char *end;
    if (!*s || isspace((unsigned char)*s))
        return false;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno == ERANGE)
        return false;
    *ret = v;
    return true;
}


int vg_config_parse_duration(const char *text, int64_t *ret_us) {
    static const struct {
        const char *unit;
        double us;
    } units[] = {{"us", 1}, {"ms", 1e3}, {"s", 1e6}, {"m", 60e6}, {"h", 3600e6}, {"d", 86400e6}};
    if (!text || !isdigit((unsigned char)text[0]))
        return -EINVAL; /* no sign, no blank, no ".5s" */
    char *end;
    errno = 0;
    double v = strtod_c(text, &end);
    if (end == text || (errno == ERANGE && v != HUGE_VAL) || isnan(v))
        return -EINVAL;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].unit) == 0) {
            double us = v * units[i].us;
            if (us > 9.2e18)
                return -ERANGE; /* a duration, too long for any key */
            *ret_us = (int64_t)(us + 0.5); /* us >= 0; no libm needed */
            return 0;
        }
    }
    return -EINVAL; /* bare number or unknown unit */
}

static int find_value(const char *const *v, const char *s) {
    for (int i = 0; v[i]; i++)
        if (strcmp(v[i], s) == 0)
            return i;
    return -1;
}

static int fail_values(pctx_t *c, int line, const char *key, const char *const *v) {
    char list[256];
    vg_cfg_join_values(v, ", ", list, sizeof list);
    return fail(c, line, key, "expected one of: %s", list);
}

/* Number in min..max; the message quotes the text as written. */
static int check_range(pctx_t *c, const opt_t *o, int line, const char *key, const char *text,
                       double v) {
    if (v < o->min || v > o->max)
        return fail(c, line, key, "%s is out of range %.10g..%.10g", text, o->min, o->max);
    return 0;
}

/* True when the scalar was written with an explicit !!str tag: libyaml's
 * document API gives every untagged scalar the same str tag, so the event
 * pass (check_events) noted where the explicit ones start. */
static bool str_tagged(const pctx_t *c, const yaml_node_t *n) {
    size_t at = n->start_mark.index, lo = 0, hi = c->n_str_tagged;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->str_tagged[mid] == at)
            return true;
        if (c->str_tagged[mid] < at)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* A number or a boolean must be written as one: "4" (quoted) and !!str 4
 * are strings in YAML, and a schema that took them as numbers would accept
 * what another YAML reader of the same file sees as text. what: "a number". */
static int refuse_string(pctx_t *c, yaml_node_t *n, const char *key, const char *what) {
    if (!is_scalar(n))
        return 0;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return fail(c, line_of(n), key, "expected %s, not the quoted string \"%s\" (remove the quotes)", what,
                    sval(n));
    if (str_tagged(c, n))
        return fail(c, line_of(n), key, "expected %s, not a string (!!str %s)", what, sval(n));
    return 0;
}

/* Digits with an optional sign: a whole number, however large. */
static bool all_digits(const char *s) {
    if (*s == '-' || *s == '+')
        s++;
    return *s && strspn(s, "0123456789") == strlen(s);
}

static int get_int(pctx_t *c, const opt_t *o, yaml_node_t *n, const char *key, int *ret) {
    long long v;
    double d;
    if (!is_scalar(n))
        return fail(c, line_of(n), key, "expected a number");
    if (refuse_string(c, n, key, "a whole number") < 0)
        return -EINVAL;
    if (!parse_ll(sval(n), &v)) {
        /* 99999999999999999999 overflows long long but is simply out of
         * range; 64.0, 2.5 and 1e3 are not written as whole numbers */
        if (!all_digits(sval(n)))
            return fail(c, line_of(n), key, parse_double(sval(n), &d) ? "expected a whole number"
                                                                       : "expected a number");
        v = sval(n)[0] == '-' ? LLONG_MIN : LLONG_MAX;
    }
    if (check_range(c, o, line_of(n), key, sval(n), (double)v) < 0)
        return -EINVAL;
    *ret = (int)v;
    return 0;
}

static yaml_node_t *seq_item(pctx_t *c, yaml_node_t *seq, int i) {
    return yaml_document_get_node(c->doc, seq->data.sequence.items.start[i]);
}

static int seq_len(yaml_node_t *seq) {
    return (int)(seq->data.sequence.items.top - seq->data.sequence.items.start);
}

static int set_string(pctx_t *c, const opt_t *o, yaml_node_t *n, void *base, const char *key) {
    char **p = (char **)((char *)base + o->off);
    if (!is_scalar(n))
        return fail(c, line_of(n), key, "expected a string");
    /* a null (~, null, nothing) is no value at all, before any other check */
    const char *s = is_null(n) ? "" : sval(n);
    if (!*s && (o->flags & F_NONEMPTY))
        return fail(c, line_of(n), key, is_null(n) ? "must not be empty (it has no value)" : "must not be empty");
    if (!is_null(n) && strlen(s) != n->data.scalar.length)
        return fail(c, line_of(n), key, "contains a NUL character");
    if (*s && (o->flags & F_ENDPOINT)) {
        char why[160];
        if (vg_config_check_endpoint(s, why, sizeof why) < 0)
            return fail(c, line_of(n), key, "%s", why);
    }
    if (*s && (o->flags & F_LISTEN)) {
        const char *hp = !strncmp(s, "tcp://", 6) ? s + 6 : !strncmp(s, "http://", 7) ? s + 7 : s;
        const char *colon = strrchr(hp, ':');
        if (!colon || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
            strlen(colon + 1) > 5 || atoi(colon + 1) > 65535)
            return fail(c, line_of(n), key, "expected HOST:PORT like 127.0.0.1:9108 (port 0..65535)");
        /* ":9108" would listen on every interface without saying so */
        if (colon == hp)
            return fail(c, line_of(n), key,
                        "'%s' has no host: write 127.0.0.1%s for this machine only, or 0.0.0.0%s for every "
                        "interface", s, colon, colon);
    }
    char *copy = NULL;
    if (*s || !(o->flags & F_EMPTY_NULL)) {
        copy = strdup(s);
        if (!copy)
            return fail_nomem(c);
    }
    free(*p);
    *p = copy;
    return 0;
}

static int check_key(pctx_t *c, yaml_node_t *map, yaml_node_pair_t *p, const char *prefix);
static int fail_unknown(pctx_t *c, int line, const char *key, const char *word,
                        const char *const *candidates, size_t stride);
/* ------------------------------------------ objects, zones, lines (issue 11) */

static int get_num(pctx_t *c, yaml_node_t *n, const char *key, double lo, double hi, double *ret) {
    double v;
    if (!is_scalar(n) || !parse_double(sval(n), &v))
        return fail(c, line_of(n), key, "expected a number");
    if (v < lo || v > hi)
        return fail(c, line_of(n), key, "%s is out of range %g..%g", sval(n), lo, hi);
    *ret = v;
    return 0;
}

/* [[x, y], ...]: min..max points, pixels or (every coordinate in 0..1)
 * fractions of the frame; a polygon (min >= 3) must not cross itself. */
static int get_points(pctx_t *c, yaml_node_t *n, const char *key, int min, int max, vg_polygon_t *ret) {
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(c, line_of(n), key, "expected a list of [x, y] points");
    int k = seq_len(n);
    if (k < min)
        return fail(c, line_of(n), key, min == 2 ? "a line needs 2 points, got %d"
                                                 : "a polygon needs at least 3 points, got %d", k);
    if (k > max)
        return fail(c, line_of(n), key, "%d points, at most %d", k, max);
    vg_polygon_t p = {.n = k, .normalized = true};
    for (int i = 0; i < k; i++) {
        yaml_node_t *it = seq_item(c, n, i);
        double xy[2];
        if (it->type != YAML_SEQUENCE_NODE || seq_len(it) != 2)
            return fail(c, line_of(it), key, "expected a point [x, y]");
        for (int j = 0; j < 2; j++) {
            int r = get_num(c, seq_item(c, it, j), key, 0, 100000, &xy[j]);
            if (r < 0)
                return r;
            if (xy[j] > 1)
                p.normalized = false;
        }
        p.p[i] = (vg_point_t){(float)xy[0], (float)xy[1]};
    }
    if (min >= 3 && vg_polygon_self_intersects(&p))
        return fail(c, line_of(n), key, "the polygon crosses itself (or repeats a point)");
    *ret = p;
    return 0;
}

static int get_labels(pctx_t *c, yaml_node_t *n, const char *key, char (*labels)[VG_LABEL_NAME_MAX], int *ret_n) {
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(c, line_of(n), key, "expected a list of labels like [person, car]");
    if (seq_len(n) > VG_ZONE_MAX_LABELS)
        return fail(c, line_of(n), key, "at most %d labels", VG_ZONE_MAX_LABELS);
    for (int i = 0; i < seq_len(n); i++) {
        yaml_node_t *it = seq_item(c, n, i);
        if (!is_scalar(it) || !sval(it)[0] || strlen(sval(it)) >= VG_LABEL_NAME_MAX)
            return fail(c, line_of(it), key, "expected a label of 1 to %d characters", VG_LABEL_NAME_MAX - 1);
        snprintf(labels[i], VG_LABEL_NAME_MAX, "%s", sval(it));
    }
    *ret_n = seq_len(n);
    return 0;
}

/* A list of polygons (motion_mask, objects.X.mask). */
static int get_polygons(pctx_t *c, yaml_node_t *n, const char *key, vg_polygon_t *ret, int max, int *ret_n) {
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(c, line_of(n), key, "expected a list of polygons like [[[0, 0], [0.2, 0], [0.2, 0.1]]]");
    if (seq_len(n) > max)
        return fail(c, line_of(n), key, "%d polygons, at most %d", seq_len(n), max);
    for (int i = 0; i < seq_len(n); i++) {
        int r = get_points(c, seq_item(c, n, i), key, 3, VG_POLYGON_MAX_POINTS, &ret[i]);
        if (r < 0)
            return r;
    }
    *ret_n = seq_len(n);
    return 0;
}

/* The pairs of a name -> mapping entry, checked against `keys`; calls
 * one(c, index of the key, value, dotted key, arg) for each. */
static int walk_entry(pctx_t *c, yaml_node_t *map, const char *prefix, const char *const *keys,
                      int (*one)(pctx_t *, int, yaml_node_t *, const char *, void *), void *arg) {
    if (map->type != YAML_MAPPING_NODE)
        return fail(c, line_of(map), prefix, "expected a mapping of keys to values");
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        int r = check_key(c, map, p, prefix);
        if (r < 0)
            return r;
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        char key[KEY_MAX];
        snprintf(key, sizeof key, "%s.%s", prefix, sval(k));
        int i = find_value(keys, sval(k));
        if (i < 0)
            return fail_unknown(c, line_of(k), key, sval(k), keys, sizeof(keys[0]));
        if ((r = one(c, i, yaml_document_get_node(c->doc, p->value), key, arg)) < 0)
            return r;
    }
    return 0;
}

static const char *const object_keys[] = {"threshold", "min_score", "min_area", "max_area", "min_ratio",
                                          "max_ratio", "mask", NULL};
static int object_one(pctx_t *c, int i, yaml_node_t *v, const char *key, void *arg) {
    vg_object_filter_t *f = arg;
    if (i == 6)
        return get_polygons(c, v, key, f->mask, VG_MASK_MAX_POLYGONS, &f->n_mask);
    double x = 0;
    int r = get_num(c, v, key, 0, i < 2 ? 1 : i < 4 ? 1e9 : 1000, &x);
    float *field[] = {&f->filter.threshold, &f->filter.min_score, &f->filter.min_area,
                      &f->filter.max_area, &f->filter.min_ratio, &f->filter.max_ratio};
    if (r == 0)
        *field[i] = (float)x;
    return r;
}

static const char *const zone_keys[] = {"points", "inertia", "loitering_time", "labels", NULL};
static int zone_one(pctx_t *c, int i, yaml_node_t *v, const char *key, void *arg) {
    vg_zone_t *z = arg;
    double x;
    int64_t us;
    int r;
    switch (i) {
    case 0: return get_points(c, v, key, 3, VG_POLYGON_MAX_POINTS, &z->poly);
    case 1:
        if ((r = get_num(c, v, key, 1, 100, &x)) < 0)
            return r;
        if (x != (int)x)
            return fail(c, line_of(v), key, "expected a whole number");
        z->inertia = (int)x;
        return 0;
    case 2:
        if (!is_scalar(v) || vg_config_parse_duration(sval(v), &us) < 0)
            return fail(c, line_of(v), key, "expected a duration like 30s, 2m");
        z->loitering_time = us / 1e6;
        return 0;
    default: return get_labels(c, v, key, z->labels, &z->n_labels);
    }
}

static const char *const line_keys[] = {"points", "labels", NULL};
static int line_one(pctx_t *c, int i, yaml_node_t *v, const char *key, void *arg) {
    vg_line_t *l = arg;
    if (i == 1)
        return get_labels(c, v, key, l->labels, &l->n_labels);
    vg_polygon_t p;
    int r = get_points(c, v, key, 2, 2, &p);
    if (r < 0)
        return r;
    if (p.p[0].x == p.p[1].x && p.p[0].y == p.p[1].y)
        return fail(c, line_of(v), key, "the two points are the same");
    l->a = p.p[0];
    l->b = p.p[1];
    l->normalized = p.normalized;
    return 0;
}

static bool has_key(pctx_t *c, yaml_node_t *map, const char *name) {
    if (map->type != YAML_MAPPING_NODE)
        return false;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++)
        if (strcmp(sval(yaml_document_get_node(c->doc, p->key)), name) == 0)
            return true;
    return false;
}

/* objects:, zones:, lines:, motion_mask:, required_zones: of a camera. */
static int set_objects(pctx_t *c, const opt_t *o, yaml_node_t *n, void *base, const char *key) {
    vg_camera_config_t *cam = base;
    int r;
    if (o->type == T_POLYGONS) {
        if ((r = get_polygons(c, n, key, cam->motion_mask, VG_MOTION_MASK_MAX, &cam->n_motion_mask)) < 0)
            return r;
        for (int i = 0; i < cam->n_motion_mask; i++)
            c->mask_line[i] = line_of(n);
        return 0;
    }
    if (o->type == T_NAMES) {
        if (n->type != YAML_SEQUENCE_NODE)
            return fail(c, line_of(n), key, "expected a list of zone names like [driveway]");
        if (seq_len(n) > VG_ZONES_MAX)
            return fail(c, line_of(n), key, "at most %d zones", VG_ZONES_MAX);
        for (int i = 0; i < seq_len(n); i++) {
            yaml_node_t *it = seq_item(c, n, i);
            if (!is_scalar(it) || !sval(it)[0] || strlen(sval(it)) >= VG_ZONE_NAME_MAX)
                return fail(c, line_of(it), key, "expected a zone name");
            snprintf(c->req[i], VG_ZONE_NAME_MAX, "%s", sval(it));
        }
        c->n_req = seq_len(n);
        c->req_line = line_of(n);
        return 0;
    }
    if (is_null(n))
        return 0;
    if (n->type != YAML_MAPPING_NODE)
        return fail(c, line_of(n), key, "expected a mapping of %s to settings",
                    o->type == T_OBJECTS ? "labels" : "names");
    int max = o->type == T_OBJECTS ? VG_OBJECTS_MAX : o->type == T_ZONES ? VG_ZONES_MAX : VG_LINES_MAX;
    int count = 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++, count++) {
        if ((r = check_key(c, n, p, key)) < 0)
            return r;
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        char prefix[KEY_MAX];
        snprintf(prefix, sizeof prefix, "%s.%s", key, sval(k));
        if (count == max)
            return fail(c, line_of(k), key, "more than %d entries", max);
        if (!sval(k)[0] || strlen(sval(k)) >= (o->type == T_OBJECTS ? VG_LABEL_NAME_MAX : VG_ZONE_NAME_MAX) ||
            (o->type != T_OBJECTS && !vg_cfg_valid_name(sval(k))))
            return fail(c, line_of(k), prefix, "not a valid %s", o->type == T_OBJECTS ? "label" : "name");
        if (o->type == T_OBJECTS) {
            vg_object_filter_t *f = &cam->objects[count];
            memset(f, 0, sizeof(*f));
            snprintf(f->label, sizeof f->label, "%s", sval(k));
            f->filter = (vg_track_filter_t){-1, -1, -1, -1, -1, -1};
            c->object_line[count] = line_of(k);
            if (!is_null(v) && (r = walk_entry(c, v, prefix, object_keys, object_one, f)) < 0)
                return r;
        } else if (o->type == T_ZONES) {
            vg_zone_t *z = &cam->zones[count];
            memset(z, 0, sizeof(*z));
            snprintf(z->name, sizeof z->name, "%s", sval(k));
            z->inertia = 3;
            c->zone_line[count] = line_of(k);
            if (!has_key(c, v, "points"))
                return fail(c, line_of(k), prefix, "missing required key 'points'");
            if ((r = walk_entry(c, v, prefix, zone_keys, zone_one, z)) < 0)
                return r;
        } else {
            vg_line_t *l = &cam->lines[count];
            memset(l, 0, sizeof(*l));
            snprintf(l->name, sizeof l->name, "%s", sval(k));
            c->lines_line[count] = line_of(k);
            if (!has_key(c, v, "points"))
                return fail(c, line_of(k), prefix, "missing required key 'points'");
            if ((r = walk_entry(c, v, prefix, line_keys, line_one, l)) < 0)
                return r;
        }
    }
    if (o->type == T_OBJECTS)
        cam->n_objects = count;
    else if (o->type == T_ZONES)
        cam->n_zones = count;
    else
        cam->n_lines = count;
    return 0;
}

static bool point_outside(vg_point_t p, bool normalized, int w, int h) {
    return !normalized && (p.x > w || p.y > h);
}

/* After a camera's keys: required_zones name zones, and pixel points lie in
 * the frame when its size is known (a V4L2 camera's v4l2.size). */
static int check_camera_objects(pctx_t *c, vg_camera_config_t *cam, const char *prefix) {
    char key[KEY_MAX + 128]; /* prefix (< KEY_MAX) and a key with a name */
    for (int i = 0; i < c->n_req; i++) {
        int z = 0;
        while (z < cam->n_zones && strcmp(cam->zones[z].name, c->req[i]) != 0)
            z++;
        snprintf(key, sizeof key, "%s.required_zones", prefix);
        if (z == cam->n_zones)
            return fail(c, c->req_line, key, "no zone named '%s' under zones:", c->req[i]);
        cam->zones[z].required = true;
    }
    if (!cam->url || strncmp(cam->url, "/dev/", 5) != 0)
        return 0; /* the size is known only once the stream opens */
    int w = cam->v4l2_width, h = cam->v4l2_height;
    for (int z = 0; z < cam->n_zones; z++)
        for (int i = 0; i < cam->zones[z].poly.n; i++)
            if (point_outside(cam->zones[z].poly.p[i], cam->zones[z].poly.normalized, w, h)) {
                snprintf(key, sizeof key, "%s.zones.%s.points", prefix, cam->zones[z].name);
                return fail(c, c->zone_line[z], key, "point [%g, %g] is outside the %dx%d frame",
                            cam->zones[z].poly.p[i].x, cam->zones[z].poly.p[i].y, w, h);
            }
    for (int k = 0; k < cam->n_lines; k++)
        if (point_outside(cam->lines[k].a, cam->lines[k].normalized, w, h) ||
            point_outside(cam->lines[k].b, cam->lines[k].normalized, w, h)) {
            snprintf(key, sizeof key, "%s.lines.%s.points", prefix, cam->lines[k].name);
            return fail(c, c->lines_line[k], key, "a point is outside the %dx%d frame", w, h);
        }
    for (int m = 0; m < cam->n_motion_mask; m++)
        for (int i = 0; i < cam->motion_mask[m].n; i++)
            if (point_outside(cam->motion_mask[m].p[i], cam->motion_mask[m].normalized, w, h)) {
                snprintf(key, sizeof key, "%s.motion_mask", prefix);
                return fail(c, c->mask_line[m], key, "a point is outside the %dx%d frame", w, h);
            }
    for (int k = 0; k < cam->n_objects; k++)
        for (int m = 0; m < cam->objects[k].n_mask; m++)
            for (int i = 0; i < cam->objects[k].mask[m].n; i++)
                if (point_outside(cam->objects[k].mask[m].p[i], cam->objects[k].mask[m].normalized, w, h)) {
                    snprintf(key, sizeof key, "%s.objects.%s.mask", prefix, cam->objects[k].label);
                    return fail(c, c->object_line[k], key, "a point is outside the %dx%d frame", w, h);
                }
    return 0;
}

static int set_value(pctx_t *c, const opt_t *o, yaml_node_t *n, void *base, const char *key);
static int apply_map(pctx_t *c, const opt_t *table, yaml_node_t *map, int owner_line, void *base,
                     const char *prefix);

static int set_value(pctx_t *c, const opt_t *o, yaml_node_t *n, void *base, const char *key) {
    char *field = (char *)base + o->off;
    int line = line_of(n);
    switch (o->type) {
    case T_BOOL:
        if (refuse_string(c, n, key, "true or false") < 0)
            return -EINVAL;
        if (is_scalar(n) && strcmp(sval(n), "true") == 0)
            *(bool *)field = true;
        else if (is_scalar(n) && strcmp(sval(n), "false") == 0)
            *(bool *)field = false;
        else
            return fail(c, line, key, "expected true or false");
        return 0;
    case T_INT: {
        int v, r = get_int(c, o, n, key, &v);
        if (r < 0)
            return r;
        if ((o->flags & F_POW2) && (v & (v - 1)) != 0)
            return fail(c, line, key, "%d is not a power of two (%g, %g, ... %g)", v, o->min,
                        o->min * 2, o->max);
        *(int *)field = v;
        return 0;
    }
    case T_DOUBLE: {
        double v;
        if (refuse_string(c, n, key, "a number") < 0)
            return -EINVAL;
        if (!is_scalar(n) || !parse_double(sval(n), &v))
            return fail(c, line, key, "expected a number");
        int r = check_range(c, o, line, key, sval(n), v);
        if (r < 0)
            return r;
        *(double *)field = v;
        return 0;
    }
    case T_DURATION: {
        int64_t us = 0;
        int r = is_scalar(n) ? vg_config_parse_duration(sval(n), &us) : -EINVAL;
        if (r == -EINVAL)
            return fail(c, line, key, "expected a duration like 500ms, 5s, 2m");
        if (r == -ERANGE || (double)us < o->min || (double)us > o->max) {
            char lo[32], hi[32];
            vg_cfg_fmt_duration((int64_t)o->min, lo, sizeof lo);
            vg_cfg_fmt_duration((int64_t)o->max, hi, sizeof hi);
            return fail(c, line, key, "%s is out of range %s..%s", sval(n), lo, hi);
        }
        *(int64_t *)field = us;
        return 0;
    }
    case T_SIZE: {
        uint64_t b;
        if (!is_scalar(n) || vg_cfg_parse_size(sval(n), &b) < 0)
            return fail(c, line, key, "expected a size like 0, 512M, 200G");
        if ((double)b < o->min || (double)b > o->max) {
            char lo[32], hi[32];
            vg_cfg_fmt_size((uint64_t)o->min, lo, sizeof lo);
            vg_cfg_fmt_size((uint64_t)o->max, hi, sizeof hi);
            return fail(c, line, key, "%s is out of range %s..%s", sval(n), lo, hi);
        }
        *(uint64_t *)field = b;
        return 0;
    }
    case T_STRING:
        return set_string(c, o, n, base, key);
    case T_ENUM: {
        int i = is_scalar(n) ? find_value(o->values, sval(n)) : -1;
        if (i < 0)
            return fail_values(c, line, key, o->values);
        *(int *)field = i;
        return 0;
    }
    case T_CHOICE: {
        int i = is_scalar(n) ? find_value(o->values, sval(n)) : -1;
        if (i < 0)
            return fail_values(c, line, key, o->values);
        snprintf(field, o->size, "%s", o->values[i]);
        return 0;
    }
    case T_NAME: {
        if (!is_scalar(n))
            return fail(c, line, key, "expected a name");
        const char *s = is_null(n) ? "" : sval(n);
        if (*s && !vg_cfg_valid_name(s))
            return fail(c, line, key, "'%s' is not a valid name (1 to %d of A-Z a-z 0-9 _ -)", s,
                        VG_CONFIG_NAME_MAX - 1);
        snprintf(field, o->size, "%s", s);
        /* where the reference was written, checked after the parse */
        c->name_line[o->off == C_OFF(faces_model)        ? REF_FACES
                     : o->off == C_OFF(faces_expression) ? REF_EXPRESSION
                     : o->off == C_OFF(classify_model)   ? REF_CLASSIFY
                                                         : REF_DETECT] = line;
        return 0;
    }
    case T_PAIR: {
        if (n->type != YAML_SEQUENCE_NODE || seq_len(n) != 2)
            return fail(c, line, key, "expected [width, height] like [416, 416]");
        int v[2];
        for (int i = 0; i < 2; i++) {
            int r = get_int(c, o, seq_item(c, n, i), key, &v[i]);
            if (r < 0)
                return r;
        }
        *(int *)field = v[0];
        *(int *)((char *)base + o->off2) = v[1];
        return 0;
    }
    case T_FLOAT3: {
        double v[3];
        if (is_scalar(n)) {
            if (refuse_string(c, n, key, "a number") < 0)
                return -EINVAL;
            if (!parse_double(sval(n), &v[0]))
                return fail(c, line, key, "expected a number or a list of 3 numbers");
            v[1] = v[2] = v[0];
        } else if (n->type == YAML_SEQUENCE_NODE && seq_len(n) == 3) {
            for (int i = 0; i < 3; i++) {
                yaml_node_t *it = seq_item(c, n, i);
                if (refuse_string(c, it, key, "a number") < 0)
                    return -EINVAL;
                if (!is_scalar(it) || !parse_double(sval(it), &v[i]))
                    return fail(c, line_of(it), key, "expected a number");
            }
        } else {
            return fail(c, line, key, "expected a number or a list of 3 numbers");
        }
        for (int i = 0; i < 3; i++) {
            char text[32];
            snprintf(text, sizeof text, "%g", v[i]);
            int r = check_range(c, o, line, key, text, v[i]);
            if (r < 0)
                return r;
        }
        float *f = (float *)field;
        for (int i = 0; i < 3; i++)
            f[i] = (float)v[i];
        return 0;
    }
    case T_LABELS: {
        /* one label or a list; labels may hold spaces ("traffic light"), not commas */
        int items = n->type == YAML_SEQUENCE_NODE ? seq_len(n) : 1;
        if (n->type != YAML_SEQUENCE_NODE && !is_scalar(n))
            return fail(c, line, key, "expected a list of labels like [person, car]");
        size_t len = 0;
        field[0] = '\0';
        for (int i = 0; i < items; i++) {
            yaml_node_t *it = n->type == YAML_SEQUENCE_NODE ? seq_item(c, n, i) : n;
            const char *s = is_scalar(it) && !is_null(it) ? sval(it) : NULL;
            if (!s || !*s || strchr(s, ','))
                return fail(c, line_of(it), key, "expected a label (text without commas)");
            int w = snprintf(field + len, o->size - len, "%s%s", len ? "," : "", s);
            if (w < 0 || (size_t)w >= o->size - len)
                return fail(c, line_of(it), key, "the list is longer than %zu characters", o->size - 1);
            len += (size_t)w;
        }
        return 0;
    }
    case T_CORRECT: {
        int *mode = (int *)field;
        uint32_t *mask = (uint32_t *)((char *)base + o->off2);
        char list[128];
        vg_cfg_join_values(o->values, ", ", list, sizeof list);
        if (is_scalar(n)) {
            if (strcmp(sval(n), "auto") == 0)
                *mode = VG_CORRECT_MODE_AUTO;
            else if (strcmp(sval(n), "off") == 0)
                *mode = VG_CORRECT_MODE_OFF;
            else
                return fail(c, line, key, "expected auto, off or a list of: %s", list);
            *mask = 0;
            return 0;
        }
        if (n->type != YAML_SEQUENCE_NODE)
            return fail(c, line, key, "expected auto, off or a list of: %s", list);
        uint32_t m = 0;
        for (int i = 0; i < seq_len(n); i++) {
            yaml_node_t *it = seq_item(c, n, i);
            int b = is_scalar(it) ? find_value(o->values, sval(it)) : -1;
            if (b < 0)
                return fail(c, line_of(it), key, "expected one of: %s", list);
            if (m & (1u << b))
                return fail(c, line_of(it), key, "%s is listed twice", o->values[b]);
            m |= 1u << b;
        }
        *mode = m ? VG_CORRECT_MODE_LIST : VG_CORRECT_MODE_OFF;
        *mask = m;
        return 0;
    }
    case T_SECTION:
        return apply_map(c, o->sub, n, line, base, key);
    case T_OBJECTS:
    case T_ZONES:
    case T_LINES:
    case T_POLYGONS:
    case T_NAMES:
        return set_objects(c, o, n, base, key);
    }
    return -EINVAL;
}

/* Levenshtein distance, for "did you mean". O(|a|*|b|) on short keys. */
static int edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    int prev[64], cur[64];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(int) * (lb + 1));
    }
    return prev[lb];
}

static int fail_unknown(pctx_t *c, int line, const char *key, const char *word,
                        const char *const *candidates, size_t stride) {
    const char *best = NULL;
    int best_d = 3;
    for (const char *const *k = candidates; *k; k = (const char *const *)((const char *)k + stride)) {
        int d = edit_distance(word, *k);
        if (d < best_d) {
            best_d = d;
            best = *k;
        }
    }
    if (best)
        return fail(c, line, key, "unknown key (did you mean '%s'?)", best);
    /* Not a typo: maybe a key of another section, e.g. analysis_fps under daemon. */
    char where[256];
    size_t n = 0;
    where[0] = '\0';
    for (size_t t = 0; t < vg_cfg_n_tables; t++)
        for (const opt_t *o = vg_cfg_tables[t].table; o->key; o++)
            if (o->type != T_SECTION && strcmp(o->key, word) == 0 && n < sizeof where)
                n += (size_t)snprintf(where + n, sizeof where - n, "%s%s.%s", n ? " or " : "",
                                      vg_cfg_tables[t].where, word);
    if (n)
        return fail(c, line, key, "unknown key here (did you mean %s?)", where);
    return fail(c, line, key, "unknown key");
}

/* Checks the key of pair p of map: a plain scalar, not seen earlier in the
 * mapping (libyaml keeps both). Called as the loop reaches p, so that the
 * work stays O(keys accepted so far), bounded by the schema. */
static int check_key(pctx_t *c, yaml_node_t *map, yaml_node_pair_t *p, const char *prefix) {
    yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
    if (!is_scalar(k))
        return fail(c, line_of(k), *prefix ? prefix : "(top level)", "expected a plain key");
    for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
        yaml_node_t *k0 = yaml_document_get_node(c->doc, q->key);
        if (strcmp(sval(k0), sval(k)) == 0) {
            char key[KEY_MAX];
            snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", sval(k));
            return fail(c, line_of(k), key, "duplicate key (first on line %d)", line_of(k0));
        }
    }
    return 0;
}

/* Remembers where some keys were written (for the checks that come after
 * the parse, e.g. --check-config's endpoints and model files), and which of
 * a model's preprocessing keys were written out rather than defaulted. */
static void note_key(const opt_t *table, const opt_t *o, void *base, int line) {
    if (table == vg_cfg_curve_opts) {
        vg_config_t *cfg = base;
        *(strcmp(o->key, "clients") == 0 ? &cfg->line_curve_clients : &cfg->line_curve) = line;
    } else if (table == vg_cfg_daemon_opts) {
        vg_config_t *cfg = base;
        if (strcmp(o->key, "publish") == 0)
            cfg->line_publish = line;
        else if (strcmp(o->key, "control") == 0)
            cfg->line_control = line;
        else if (strcmp(o->key, "metrics") == 0)
            cfg->line_metrics = line;
        else if (strcmp(o->key, "http") == 0)
            cfg->line_http = line;
    } else if (table == vg_cfg_model_opts) {
        vg_model_config_t *m = base;
        static const struct { const char *key; unsigned given; size_t line; } keys[] = {
            {"path", 0, offsetof(vg_model_config_t, line_path)},
            {"head", VG_MODEL_GIVEN_HEAD, offsetof(vg_model_config_t, line_head)},
            {"input", VG_MODEL_GIVEN_INPUT, offsetof(vg_model_config_t, line_input)},
            {"color", VG_MODEL_GIVEN_COLOR, offsetof(vg_model_config_t, line_color)},
            {"mean", VG_MODEL_GIVEN_MEAN, offsetof(vg_model_config_t, line_mean)},
            {"scale", VG_MODEL_GIVEN_SCALE, offsetof(vg_model_config_t, line_scale)},
            {"letterbox", VG_MODEL_GIVEN_LETTERBOX, offsetof(vg_model_config_t, line_letterbox)},
        };
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (strcmp(o->key, keys[i].key) == 0) {
                m->given |= keys[i].given;
                *(int *)((char *)m + keys[i].line) = line;
            }
    }
}

#define MERGES_MAX 256 /* "<<" visits per file; aliases could make them exponential */
#define MERGE_DEPTH_MAX 8

/* Applies the pairs of map to base through table, skipping keys already in
 * *seen. Then YAML merge keys ("<<: *anchor" or "<<: [*a, *b]") fill the keys
 * still unset, the first source winning, as in YAML 1.1's merge: explicit keys
 * override, and a merged nested mapping (detect:) is taken whole or not at all. */
static int apply_pairs(pctx_t *c, const opt_t *table, yaml_node_t *map, void *base,
                       const char *prefix, uint64_t *seen, int depth) {
    int r;
    if (map->type != YAML_MAPPING_NODE)
        return fail(c, line_of(map), prefix, depth ? "expected a mapping to merge"
                                                   : "expected a mapping of keys to values");
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        if ((r = check_key(c, map, p, prefix)) < 0)
            return r;
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        if (strcmp(sval(k), "<<") == 0)
            continue; /* below, once the explicit keys are in */
        char key[KEY_MAX];
        snprintf(key, sizeof key, "%s.%s", prefix, sval(k));
        const opt_t *o = table;
        while (o->key && strcmp(o->key, sval(k)) != 0)
            o++;
        if (!o->key)
            return fail_unknown(c, line_of(k), key, sval(k), &table->key, sizeof(opt_t));
        if (*seen & (1ull << (o - table)))
            continue; /* set by a mapping that merges this one */
        *seen |= 1ull << (o - table);
        if ((r = set_value(c, o, v, base, key)) < 0)
            return r;
        note_key(table, o, base, line_of(k));
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        if (strcmp(sval(k), "<<") != 0)
            continue;
        char key[KEY_MAX];
        snprintf(key, sizeof key, "%s.<<", prefix);
        if (depth >= MERGE_DEPTH_MAX || ++c->merges > MERGES_MAX)
            return fail(c, line_of(k), key, "merges nested too deep or too many");
        if (v->type == YAML_SEQUENCE_NODE) {
            for (int i = 0; i < seq_len(v); i++)
                if ((r = apply_pairs(c, table, seq_item(c, v, i), base, prefix, seen, depth + 1)) < 0)
                    return r;
        } else if ((r = apply_pairs(c, table, v, base, prefix, seen, depth + 1)) < 0) {
            return r;
        }
    }
    return 0;
}

/* Applies a mapping of user values to base through table. owner_line is the
 * line of the key that owns the mapping (for "missing required key"). */
static int apply_map(pctx_t *c, const opt_t *table, yaml_node_t *map, int owner_line, void *base,
                     const char *prefix) {
    uint64_t seen = 0;
    int r;
    if (!is_null(map) && (r = apply_pairs(c, table, map, base, prefix, &seen, 0)) < 0)
        return r;
    for (const opt_t *o = table; o->key; o++)
        if ((o->flags & F_REQUIRED) && !(seen & (1ull << (o - table))))
            return fail(c, owner_line, prefix, "missing required key '%s'", o->key);
    return 0;
}

/* Sets every default of table on base. Defaults are YAML text in the table,
 * so they go through the same setters and checks as user values. */
int vg_cfg_apply_defaults(const opt_t *table, void *base) {
    for (const opt_t *o = table; o->key; o++) {
        int r = 0;
        if (o->type == T_SECTION) {
            r = vg_cfg_apply_defaults(o->sub, base);
        } else if (o->flags & F_MODELS_OWN) {
            *(double *)((char *)base + o->off) = -1.0;
        } else if (o->def) {
            yaml_parser_t parser;
            yaml_document_t doc;
            char err[VG_CONFIG_ERROR_MAX];
            if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
            yaml_parser_set_input_string(&parser, (const unsigned char *)o->def, strlen(o->def));
            if (!yaml_parser_load(&parser, &doc)) {
                r = parser.error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
                yaml_parser_delete(&parser);
                return r;
            }
            yaml_node_t *root = yaml_document_get_root_node(&doc);
            pctx_t c = {.name = "(default)", .doc = &doc, .err = err, .errlen = sizeof err};
            r = root ? set_value(&c, o, root, base, o->key) : -EINVAL;
            yaml_document_delete(&doc);
            yaml_parser_delete(&parser);
        }
        if (r < 0)
            return r;
    }
    return 0;
}

typedef enum { MAP_MODELS, MAP_CAMERAS } named_kind_t;

/* models: and cameras:, maps of name -> settings. */
static int parse_named(pctx_t *c, vg_config_t *cfg, yaml_node_t *map, named_kind_t kind) {
    const char *what = kind == MAP_MODELS ? "models" : "cameras";
    int r;
    if (is_null(map))
        return 0;
    if (map->type != YAML_MAPPING_NODE)
        return fail(c, line_of(map), what, "expected a mapping of %s names to settings",
                    kind == MAP_MODELS ? "model" : "camera");
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        if ((r = check_key(c, map, p, what)) < 0)
            return r;
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        const char *name = sval(k);
        if (!vg_cfg_valid_name(name))
            return fail(c, line_of(k), what,
                        "'%s' is not a valid %s name (1 to %d of A-Z a-z 0-9 _ -)", name,
                        kind == MAP_MODELS ? "model" : "camera", VG_CONFIG_NAME_MAX - 1);
        char prefix[KEY_MAX];
        snprintf(prefix, sizeof prefix, "%s.%s", what, name);
        if (kind == MAP_MODELS) {
            if (cfg->n_models == VG_CONFIG_MAX_MODELS)
                return fail(c, line_of(k), what, "more than %d models", VG_CONFIG_MAX_MODELS);
            vg_model_config_t *m = &cfg->models[cfg->n_models++];
            snprintf(m->name, sizeof m->name, "%s", name);
            m->line = line_of(k);
            if ((r = vg_cfg_apply_defaults(vg_cfg_model_opts, m)) < 0)
                return r == -ENOMEM ? fail_nomem(c) : r;
            if ((r = apply_map(c, vg_cfg_model_opts, v, m->line, m, prefix)) < 0)
                return r;
        } else {
            if (cfg->n_cameras == VG_CONFIG_MAX_CAMERAS)
                return fail(c, line_of(k), what, "more than %d cameras", VG_CONFIG_MAX_CAMERAS);
            int idx = cfg->n_cameras++;
            vg_camera_config_t *cam = &cfg->cameras[idx];
            snprintf(cam->name, sizeof cam->name, "%s", name);
            cam->line = line_of(k);
            if ((r = vg_cfg_apply_defaults(vg_cfg_camera_opts, cam)) < 0)
                return r == -ENOMEM ? fail_nomem(c) : r;
            memset(c->name_line, 0, sizeof c->name_line);
            c->n_req = 0;
            if ((r = apply_map(c, vg_cfg_camera_opts, v, cam->line, cam, prefix)) < 0)
                return r;
            if ((r = check_camera_objects(c, cam, prefix)) < 0)
                return r;
            memcpy(c->ref_line[idx], c->name_line, sizeof c->name_line); /* for the check below */
        }
    }
    return 0;
}

static const char *const top_keys[] = {"daemon", "models", "cameras", "storage", NULL};

/* A camera's reference to a model (what, e.g. "detect.model") names a model. */
static int check_ref(pctx_t *c, const vg_config_t *cfg, const vg_camera_config_t *cam, const char *what,
                     const char *model, int line) {
    if (!model[0] || vg_config_find_model(cfg, model))
        return 0;
    char key[KEY_MAX], names[256];
    size_t n = 0;
    snprintf(key, sizeof key, "cameras.%s.%s", cam->name, what);
    names[0] = '\0';
    for (int j = 0; j < cfg->n_models && n < sizeof names; j++)
        n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", j ? ", " : "", cfg->models[j].name);
    if (cfg->n_models == 0)
        return fail(c, line, key, "no model named '%s' (no models are defined)", model);
    return fail(c, line, key, "no model named '%s' (defined: %s)", model, names);
}

/* "HOST:PORT" of a tcp:// endpoint or a metrics address, NULL when none. */
static const char *host_port(const char *s) {
    if (!s || !*s)
        return NULL;
    if (!strncmp(s, "ipc://", 6))
        return NULL;
    return !strncmp(s, "tcp://", 6) ? s + 6 : !strncmp(s, "http://", 7) ? s + 7 : s;
}

/* Two listeners on one port: the same HOST:PORT, or the same port with a
 * wildcard host on either side. */
static bool same_listener(const char *a, const char *b) {
    const char *ha = host_port(a), *hb = host_port(b);
    if (!ha || !hb) /* ipc:// paths */
        return a && b && !host_port(a) && !host_port(b) && *a && strcmp(a, b) == 0;
    const char *ca = strrchr(ha, ':'), *cb = strrchr(hb, ':');
    if (!ca || !cb || atoi(ca + 1) != atoi(cb + 1) || atoi(ca + 1) == 0)
        return false;
    size_t la = (size_t)(ca - ha), lb = (size_t)(cb - hb);
    bool wa = (la == 1 && ha[0] == '*') || (la == 7 && !strncmp(ha, "0.0.0.0", 7));
    bool wb = (lb == 1 && hb[0] == '*') || (lb == 7 && !strncmp(hb, "0.0.0.0", 7));
    return wa || wb || (la == lb && strncmp(ha, hb, la) == 0);
}

/* daemon.publish, daemon.control and the HTTP listener (daemon.http, or
 * its old name daemon.metrics) listen on distinct endpoints (the second bind
 * would fail at start). */
static int check_listeners(pctx_t *c, const vg_config_t *cfg) {
    bool http = cfg->http && cfg->http[0];
    const char *web = http ? cfg->http : cfg->metrics;
    const char *wkey = http ? "daemon.http" : "daemon.metrics";
    int wline = http ? cfg->line_http : cfg->line_metrics;
    if (cfg->control && cfg->control[0] && same_listener(cfg->publish, cfg->control))
        return fail(c, cfg->line_control ? cfg->line_control : cfg->line_publish, "daemon.control",
                    "'%s' is the same endpoint as daemon.publish", cfg->control);
    if (web && same_listener(cfg->publish, web))
        return fail(c, wline, wkey, "'%s' is the same port as daemon.publish '%s'", web, cfg->publish);
    if (web && cfg->control && same_listener(cfg->control, web))
        return fail(c, wline, wkey, "'%s' is the same port as daemon.control '%s'", web, cfg->control);
    return 0;
}

static int parse_root(pctx_t *c, vg_config_t *cfg, yaml_node_t *root) {
    int r;
    if (root->type != YAML_MAPPING_NODE)
        return fail(c, line_of(root), "(top level)",
                    "expected a mapping with daemon:, models: and cameras:");
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        if ((r = check_key(c, root, p, "")) < 0)
            return r;
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        const char *key = sval(k);
        if (strcmp(key, "daemon") == 0)
            r = apply_map(c, vg_cfg_daemon_opts, v, line_of(k), cfg, "daemon");
        else if (strcmp(key, "models") == 0)
            r = parse_named(c, cfg, v, MAP_MODELS);
        else if (strcmp(key, "cameras") == 0)
            r = parse_named(c, cfg, v, MAP_CAMERAS);
        else if (strcmp(key, "storage") == 0)
            r = apply_map(c, vg_cfg_storage_opts, v, line_of(k), cfg, "storage");
        else
            r = fail_unknown(c, line_of(k), key, key, top_keys, sizeof(top_keys[0]));
        if (r < 0)
            return r;
    }
    if ((r = check_listeners(c, cfg)) < 0)
        return r;
    if (!cfg->curve_secret_key_file != !cfg->curve_clients)
        return fail(c, cfg->curve_clients ? cfg->line_curve_clients : cfg->line_curve,
                    cfg->curve_clients ? "daemon.curve.secret_key_file" : "daemon.curve.clients",
                    "daemon.curve needs both secret_key_file and clients (the folder of allowed client keys)");
    /* Cross references, once every model is known (models may come after cameras). */
    for (int i = 0; i < cfg->n_cameras; i++) {
        const vg_camera_config_t *cam = &cfg->cameras[i];
        if ((r = check_ref(c, cfg, cam, "detect.model", cam->detect_model, c->ref_line[i][REF_DETECT])) < 0 ||
            (r = check_ref(c, cfg, cam, "faces.model", cam->faces_model, c->ref_line[i][REF_FACES])) < 0 ||
            (r = check_ref(c, cfg, cam, "faces.expression", cam->faces_expression,
                           c->ref_line[i][REF_EXPRESSION])) < 0 ||
            (r = check_ref(c, cfg, cam, "classify.model", cam->classify_model, c->ref_line[i][REF_CLASSIFY])) < 0)
            return r;
        if (cam->faces_expression[0] && !cam->faces_model[0]) {
            char key[KEY_MAX];
            snprintf(key, sizeof key, "cameras.%s.faces.expression", cam->name);
            return fail(c, c->ref_line[i][REF_EXPRESSION], key,
                        "needs faces.model (the face detector whose faces it classifies)");
        }
    }
    return 0;
}

/* Line of a byte offset, for libyaml reader errors that carry no mark. */
static int line_at(const char *text, size_t len, size_t offset) {
    int line = 1;
    for (size_t i = 0; i < offset && i < len; i++)
        line += text[i] == '\n';
    return line;
}

static int fail_syntax(pctx_t *c, yaml_parser_t *p, const char *text, size_t len) {
    if (p->error == YAML_MEMORY_ERROR)
        return fail_nomem(c);
    int line = p->error == YAML_READER_ERROR ? line_at(text, len, p->problem_offset)
                                               : (int)p->problem_mark.line + 1;
    if (c->err && c->errlen) {
        if (p->context)
            snprintf(c->err, c->errlen, "%s:%d: YAML syntax: %s %s started on line %d", c->name,
                     line, p->problem ? p->problem : "error", p->context,
                     (int)p->context_mark.line + 1);
        else
            snprintf(c->err, c->errlen, "%s:%d: YAML syntax: %s", c->name, line,
                     p->problem ? p->problem : "error");
    }
    return -EINVAL;
}

#define NESTING_MAX 32 /* the schema needs 4 levels */

/* A first pass over libyaml's events, before building the node tree: reports
 * syntax errors, and refuses deep nesting early. libyaml's scanner costs
 * O(depth) per token inside flow collections, so 100 KB of "[" takes ~30 s;
 * stopping at depth 32 keeps any input linear. */
static int check_events(pctx_t *c, const char *text, size_t len) {
    yaml_parser_t parser;
    yaml_event_t ev;
    int depth = 0, r = 0;
    if (!yaml_parser_initialize(&parser))
        return fail_nomem(c);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    for (;;) {
        if (!yaml_parser_parse(&parser, &ev)) {
            r = fail_syntax(c, &parser, text, len);
            break;
        }
        yaml_event_type_t type = ev.type;
        int line = (int)ev.start_mark.line + 1;
        bool tagged_str = type == YAML_SCALAR_EVENT && ev.data.scalar.tag &&
                          strcmp((const char *)ev.data.scalar.tag, YAML_STR_TAG) == 0;
        size_t at = ev.start_mark.index;
        yaml_event_delete(&ev);
        if (tagged_str) { /* events come in file order: the array stays sorted */
            if (c->n_str_tagged == c->cap_str_tagged) {
                size_t cap = c->cap_str_tagged ? c->cap_str_tagged * 2 : 16;
                size_t *nt = realloc(c->str_tagged, cap * sizeof *nt);
                if (!nt) {
                    r = fail_nomem(c);
                    break;
                }
                c->str_tagged = nt;
                c->cap_str_tagged = cap;
            }
            c->str_tagged[c->n_str_tagged++] = at;
        }
        if (type == YAML_STREAM_END_EVENT)
            break;
        if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
            if (++depth > NESTING_MAX) {
                if (c->err && c->errlen)
                    snprintf(c->err, c->errlen, "%s:%d: YAML syntax: nested deeper than %d levels",
                             c->name, line, NESTING_MAX);
                r = -EINVAL;
                break;
            }
        } else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) {
            depth--;
        }
    }
    yaml_parser_delete(&parser);
    return r;
}

int vg_config_parse(const char *name, const char *text, size_t len, char *err, size_t errlen,
                    vg_config_t **ret_config) {
    pctx_t c = {.name = name ? name : "(config)", .err = err, .errlen = errlen};
    yaml_parser_t parser;
    yaml_document_t doc, extra;
    vg_config_t *cfg = NULL;
    bool have_doc = false;
    int r;

    if (err && errlen)
        err[0] = '\0';
    if (!text)
        text = "", len = 0;
    if ((r = check_events(&c, text, len)) < 0) {
        free(c.str_tagged);
        return r;
    }
    if (!yaml_parser_initialize(&parser)) {
        free(c.str_tagged);
        return fail_nomem(&c);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        r = fail_syntax(&c, &parser, text, len);
        goto out;
    }
    have_doc = true;
    c.doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        r = fail(&c, 1, "(top level)", "the configuration is empty");
        goto out;
    }
    /* A second document would be silently ignored: refuse it. */
    if (!yaml_parser_load(&parser, &extra)) {
        r = fail_syntax(&c, &parser, text, len);
        goto out;
    }
    yaml_node_t *extra_root = yaml_document_get_root_node(&extra);
    int extra_line = extra_root ? (int)extra.start_mark.line + 1 : 0;
    yaml_document_delete(&extra);
    if (extra_root) {
        r = fail(&c, extra_line, "(top level)", "only one YAML document is allowed");
        goto out;
    }

    if ((r = vg_config_new_default(&cfg)) < 0) {
        r = fail_nomem(&c);
        goto out;
    }
    if (!(cfg->path = strdup(c.name))) {
        r = fail_nomem(&c);
        goto out;
    }
    if ((r = parse_root(&c, cfg, root)) < 0)
        goto out;
    *ret_config = cfg;
    cfg = NULL;
    r = 0;
out:
    free(c.str_tagged);
    vg_config_free(&cfg);
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return r;
}

