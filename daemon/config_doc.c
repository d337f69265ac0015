/* config_doc.c: docs/config.md, printed from the schema (config_schema.c). */
#include "daemon/config_priv.h"

#include <errno.h>
#include <stdio.h>

static const char *type_name(const opt_t *o) {
    switch (o->type) {
    case T_BOOL: return "bool";
    case T_INT: return "integer";
    case T_DOUBLE: return "number";
    case T_DURATION: return "duration";
    case T_STRING: return "string";
    case T_ENUM:
    case T_CHOICE: return "enum";
    case T_NAME: return "name";
    case T_PAIR: return "[w, h]";
    case T_FLOAT3: return "number or [a, b, c]";
    case T_CORRECT: return "auto, off or list";
    case T_LABELS: return "list of labels";
    case T_SECTION: return "mapping";
    case T_OBJECTS: return "label: mapping";
    case T_ZONES:
    case T_LINES: return "name: mapping";
    case T_POLYGONS: return "list of polygons";
    case T_NAMES: return "list of names";
    case T_SIZE: return "size";
    }
    return "?";
}

static void dump_table(FILE *out, const opt_t *table, const char *prefix) {
    for (const opt_t *o = table; o->key; o++) {
        char key[KEY_MAX], allowed[256] = "", def[128];
        snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", o->key);
        if (o->type == T_SECTION) {
            dump_table(out, o->sub, key);
            continue;
        }
        switch (o->type) {
        case T_INT:
        case T_DOUBLE:
        case T_PAIR:
            snprintf(allowed, sizeof allowed, "%.10g..%.10g%s", o->min, o->max,
                     (o->flags & F_POW2) ? ", a power of two" : "");
            break;
        case T_DURATION: {
            char lo[32], hi[32];
            vg_cfg_fmt_duration((int64_t)o->min, lo, sizeof lo);
            vg_cfg_fmt_duration((int64_t)o->max, hi, sizeof hi);
            snprintf(allowed, sizeof allowed, "%s..%s", lo, hi);
            break;
        }
        case T_SIZE: {
            char lo[32], hi[32];
            vg_cfg_fmt_size((uint64_t)o->min, lo, sizeof lo);
            vg_cfg_fmt_size((uint64_t)o->max, hi, sizeof hi);
            snprintf(allowed, sizeof allowed, "%s..%s", lo, hi);
            break;
        }
        case T_ENUM:
        case T_CHOICE:
            vg_cfg_join_values(o->values, " \\| ", allowed, sizeof allowed);
            break;
        case T_CORRECT: {
            char list[200];
            vg_cfg_join_values(o->values, ", ", list, sizeof list);
            snprintf(allowed, sizeof allowed, "auto \\| off \\| [%s]", list);
            break;
        }
        case T_LABELS:
            snprintf(allowed, sizeof allowed, "labels of the camera's detector");
            break;
        case T_NAME:
            snprintf(allowed, sizeof allowed, "a name under models:");
            break;
        case T_STRING:
            if (o->flags & F_ENDPOINT)
                snprintf(allowed, sizeof allowed, "ZeroMQ endpoint");
            else if (o->flags & F_LISTEN)
                snprintf(allowed, sizeof allowed, "HOST:PORT");
            break;
        default:
            break;
        }
        if (o->flags & F_REQUIRED)
            snprintf(def, sizeof def, "**required**");
        else if (o->flags & F_MODELS_OWN)
            snprintf(def, sizeof def, "the model's");
        else if (o->def)
            snprintf(def, sizeof def, "`%s`", o->def);
        else
            snprintf(def, sizeof def, "none");
        fprintf(out, "| `%s` | %s | %s | %s | %s |\n", key, type_name(o), def, allowed, o->doc);
    }
}

int vg_config_dump_schema(FILE *out) {
    static const char head[] = "| key | type | default | allowed | what it does |\n"
                               "|---|---|---|---|---|\n";
    fprintf(out,
            "# vigil configuration reference\n"
            "\n"
            "<!-- Generated from the schema table in daemon/config_schema.c by vg_config_dump_schema();\n"
            "     tests/test_config.c fails when this file and the table differ. -->\n"
            "\n"
            "One YAML file, `/etc/vigil/vigil.yaml` by default (`vigild --config FILE`);\n"
            "`etc/vigil.yaml` is the commented example. Check a file with\n"
            "`vigild --check-config FILE`.\n"
            "\n"
            "- A key that is not in this schema is an error, as is a key written twice.\n"
            "- Errors are one line, `file:line: key: what is wrong`, with the dotted key,\n"
            "  e.g. `vigil.yaml:14: cameras.entrance.analysis_fps: 0 is out of range 0.1..120`.\n"
            "- Durations take a unit: `250us`, `500ms`, `5s`, `2m`, `1h` (a bare number is\n"
            "  refused).\n"
            "- Sizes are bytes with an optional unit, powers of 1024: `0`, `512K`, `64M`,\n"
            "  `200G`, `2T`.\n"
            "- Booleans are `true` or `false`; numbers are written as numbers: `\"4\"` and\n"
            "  `!!str 4` are strings and refused, and a whole-number key takes `64`, not `64.0`.\n"
            "- A model's `head` and `input`, and its `color`, `mean`, `scale` and `letterbox`\n"
            "  when written out, must agree with the model's manifest (`<model>.json`): a\n"
            "  contradiction is an error naming the key; a key left at its default gives way\n"
            "  to the manifest.\n"
            "- Settings can be shared with YAML anchors and merge keys: write `&cam` after\n"
            "  a camera's name and `<<: *cam` in another; keys written in the camera win,\n"
            "  and a nested mapping (`detect`, `faces`, `motion`) is taken whole, not key by key.\n"
            "- Camera and model names are map keys of 1 to %d characters from\n"
            "  `A-Z a-z 0-9 _ -`; a camera's name is the suffix of its topics\n"
            "  (`event.<camera>`). At most %d cameras and %d models.\n"
            "- SIGHUP re-reads the file; a broken file is refused and the running\n"
            "  config stays. A model reloads only when one of its keys changed, and a\n"
            "  camera restarts only when one of its keys or its model changed (comments\n"
            "  and moved lines change nothing).\n"
            "\n"
            "## daemon\n\n%s",
            VG_CONFIG_NAME_MAX - 1, VG_CONFIG_MAX_CAMERAS, VG_CONFIG_MAX_MODELS, head);
    dump_table(out, vg_cfg_daemon_opts, "daemon");
    fprintf(out,
            "\n## models\n\n"
            "A map from model name to settings; cameras refer to a model by its name.\n\n%s",
            head);
    dump_table(out, vg_cfg_model_opts, "models.NAME");
    fprintf(out,
            "\n## cameras\n\n"
            "A map from camera name to settings. `detect`, `faces`, `motion`, `track`,\n"
            "`snapshots`, `record` and `retain` are nested mappings, e.g. `detect: { model: detector, when: on_motion }`.\n"
            "\n"
            "Polygons are lists of `[x, y]` points, in pixels of the source frame or, when\n"
            "every coordinate is within 0..1, in fractions of its width and height. A\n"
            "polygon needs 3 to %d points and must not cross itself; on a V4L2 camera,\n"
            "whose size is known, pixel points must lie inside `v4l2.size`. Zones, lines and\n"
            "masks test the bottom centre of a box (where feet or wheels touch the ground).\n"
            "\n"
            "- `objects.LABEL` (LABEL is a detector label, e.g. `person`): `threshold`\n"
            "  (median score a track needs to become an event; default the model's threshold),\n"
            "  `min_score` (a detection at or above it is confident: it starts and continues\n"
            "  tracks and is published on `det.`; default the model's threshold), `min_area`,\n"
            "  `max_area` (box area in pixels²; 0 = no limit), `min_ratio`, `max_ratio`\n"
            "  (width / height; 0 = no limit), `mask` (a list of polygons: detections of this\n"
            "  label whose bottom centre falls there are dropped).\n"
            "- `zones.NAME`: `points` (a polygon), `inertia` (detector frames the object must be\n"
            "  inside before it counts as entered, and outside before it counts as left;\n"
            "  default 3, 1..100), `loitering_time` (a duration: an update says so when an object\n"
            "  stays longer; default 0s = off), `labels` (the labels the zone is about;\n"
            "  default all). At most %d zones.\n"
            "- `required_zones`: names of zones; events start only for objects that entered one.\n"
            "- `lines.NAME`: `points` (two points, a to b), `labels`. Crossing towards the\n"
            "  right-hand side of a to b as seen on the picture is `in`, the other way `out`.\n"
            "  At most %d lines.\n"
            "- `motion_mask`: a list of polygons the motion gate ignores (at most %d).\n\n%s",
            VG_POLYGON_MAX_POINTS, VG_ZONES_MAX, VG_LINES_MAX, VG_MOTION_MASK_MAX, head);
    dump_table(out, vg_cfg_camera_opts, "cameras.NAME");
    fprintf(out,
            "\n## storage\n\n"
            "Recordings live under `daemon.state_dir/recordings/<camera>/YYYY-MM-DD/HH/`, indexed\n"
            "in `daemon.state_dir/index.sqlite`. These limits hold over every camera; a change\n"
            "takes effect at the next start (SIGHUP says so).\n\n%s",
            head);
    dump_table(out, vg_cfg_storage_opts, "storage");
    return ferror(out) ? -EIO : 0;
}
