/*
 * vigil dataset export: a training set from footage. Objects the daemon's
 * own analysis finds (tools/detect.h: models, corrections and detector as
 * vigild runs them) become crops (imagefolder) or frames with boxes (yolo,
 * coco), with a manifest saying where each came from (source, frame, time,
 * camera, label, score, box).
 *
 * The recordings' index (the footage issue) is not there yet, so the source
 * is a file: --from-video FILE (repeatable); --from/--to are seconds into
 * each file. A file is the user's own: no retention rule applies to it.
 *
 * Deterministic: files are taken in the order given, frames in order,
 * objects in the detector's order (best first); names derive from those
 * ranks, nothing from the clock.
 * Thread: the main thread only.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <libavutil/log.h>

#include "tools/detect.h"
#include "tools/imageio.h"

int vg_cli_dataset(int argc, char **argv);

typedef enum { F_IMAGEFOLDER, F_YOLO, F_COCO } format_t;

typedef struct {
    const char *out;
    format_t format;
    const char *labels[32];
    int n_labels;
    double from, to, min_score, margin;
    int quality;
    /* state of the run */
    const char *source;   /* the file being read */
    char stem[128];       /* its name without folder and extension */
    vg_img_t rgb;         /* the current frame, RGB */
    json_t *items;        /* manifest items */
    json_t *coco_images, *coco_anns;
    long n_items, n_frames;
    json_t *det_labels;   /* the detector's labels, copied (it is gone after the run) */
    char det_name[64];
} export_t;

static const char *label_of(const vg_detect_frame_t *f, int i)
{
    const vg_cascade_attr_t *a = f->res->attrs;
    const char *l = a && a[i].label ? a[i].label : vg_detector_label(f->det, f->res->dets[i].label);
    return l ? l : "unknown";
}

static bool wanted(const export_t *x, const vg_detect_frame_t *f, int i)
{
    if (f->res->dets[i].score < x->min_score)
        return false;
    if (x->n_labels == 0)
        return true;
    for (int k = 0; k < x->n_labels; k++)
        if (strcmp(x->labels[k], label_of(f, i)) == 0)
            return true;
    return false;
}

/* A label as a folder name: letters, digits, '-', '_'; the rest become '_'. */
static void safe(const char *in, char *out, size_t n)
{
    size_t k = 0;
    for (; *in && k + 1 < n; in++)
        out[k++] = (*in >= 'a' && *in <= 'z') || (*in >= 'A' && *in <= 'Z') || (*in >= '0' && *in <= '9') ||
                           *in == '-' || *in == '_'
                       ? *in
                       : '_';
    out[k] = '\0';
}

static int on_frame(void *user, const vg_detect_frame_t *f)
{
    export_t *x = user;
    if (!x->det_labels) {
        x->det_labels = json_array();
        const char *s;
        for (int i = 0; (s = vg_detector_label(f->det, i)) != NULL; i++)
            json_array_append_new(x->det_labels, json_string(s));
        snprintf(x->det_name, sizeof(x->det_name), "%s", vg_detector_name(f->det));
    }
    if (f->pts_time < x->from || (x->to >= 0 && f->pts_time > x->to))
        return 0;
    int keep = 0;
    for (int i = 0; i < f->res->n; i++)
        keep += wanted(x, f, i);
    if (!keep)
        return 0;
    int r = vg_img_from_frame(f->frame, &x->rgb);
    if (r < 0)
        return r;
    char frame_file[512], path[4096];
    snprintf(frame_file, sizeof(frame_file), "images/%s_f%06ld.jpg", x->stem, f->index);
    long image_id = x->n_frames + 1;
    if (x->format != F_IMAGEFOLDER) {
        snprintf(path, sizeof(path), "%s/%s", x->out, frame_file);
        if ((r = vg_img_write(path, &x->rgb, 0, 0, x->rgb.width, x->rgb.height, x->quality)) < 0) {
            fprintf(stderr, "vigil dataset: cannot write '%s': %s\n", path, strerror(-r));
            return r;
        }
        if (x->format == F_COCO)
            json_array_append_new(x->coco_images, json_pack("{s:I, s:s, s:i, s:i}", "id", (json_int_t)image_id,
                                                            "file_name", frame_file, "width", x->rgb.width,
                                                            "height", x->rgb.height));
    }
    FILE *yolo = NULL;
    if (x->format == F_YOLO) {
        snprintf(path, sizeof(path), "%s/labels/%s_f%06ld.txt", x->out, x->stem, f->index);
        if (!(yolo = fopen(path, "w"))) {
            fprintf(stderr, "vigil dataset: cannot write '%s': %s\n", path, strerror(errno));
            return -errno;
        }
    }
    int k = 0;
    for (int i = 0; i < f->res->n; i++) {
        if (!wanted(x, f, i))
            continue;
        const vg_det_t *d = &f->res->dets[i];
        const char *label = label_of(f, i);
        int bx = (int)floorf(d->x1), by = (int)floorf(d->y1), bw = (int)ceilf(d->x2) - bx, bh = (int)ceilf(d->y2) - by;
        char file[512];
        if (x->format == F_IMAGEFOLDER) {
            char dir[128];
            safe(label, dir, sizeof(dir));
            snprintf(file, sizeof(file), "%s/%s_f%06ld_%d.jpg", dir, x->stem, f->index, k);
            snprintf(path, sizeof(path), "%s/%s", x->out, dir);
            if ((r = vg_mkdirs(path)) < 0)
                return r;
            snprintf(path, sizeof(path), "%s/%s", x->out, file);
            int mx = (int)lrint(x->margin * bw), my = (int)lrint(x->margin * bh);
            if ((r = vg_img_write(path, &x->rgb, bx - mx, by - my, bw + 2 * mx, bh + 2 * my, x->quality)) < 0) {
                fprintf(stderr, "vigil dataset: cannot write '%s': %s\n", path, strerror(-r));
                return r;
            }
        } else {
            snprintf(file, sizeof(file), "%s", frame_file);
        }
        if (yolo)
            fprintf(yolo, "%d %.6f %.6f %.6f %.6f\n", d->label, (d->x1 + d->x2) / 2 / x->rgb.width,
                    (d->y1 + d->y2) / 2 / x->rgb.height, (d->x2 - d->x1) / x->rgb.width,
                    (d->y2 - d->y1) / x->rgb.height);
        if (x->format == F_COCO)
            json_array_append_new(
                x->coco_anns,
                json_pack("{s:I, s:I, s:i, s:[f,f,f,f], s:f, s:i, s:f}", "id", (json_int_t)(x->n_items + 1),
                          "image_id", (json_int_t)image_id, "category_id", d->label + 1, "bbox", (double)d->x1,
                          (double)d->y1, (double)(d->x2 - d->x1), (double)(d->y2 - d->y1), "area",
                          (double)((d->x2 - d->x1) * (d->y2 - d->y1)), "iscrowd", 0, "score", (double)d->score));
        json_array_append_new(x->items,
                              json_pack("{s:s, s:s, s:I, s:f, s:s, s:s, s:f, s:[f,f,f,f]}", "file", file, "source",
                                        x->source, "frame", (json_int_t)f->index,
                                        "time", round(f->pts_time * 1000) / 1000, "camera", f->camera, "label",
                                        label, "score", round(d->score * 10000) / 10000, "box",
                                        round(d->x1 * 10) / 10, round(d->y1 * 10) / 10, round(d->x2 * 10) / 10,
                                        round(d->y2 * 10) / 10));
        x->n_items++;
        k++;
    }
    if (yolo && fclose(yolo) != 0)
        return -errno;
    x->n_frames++;
    return 0;
}

static int dump(json_t *j, const char *out, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", out, name);
    int r = json_dump_file(j, path, JSON_INDENT(1) | JSON_PRESERVE_ORDER) == 0 ? 0 : -EIO;
    if (r < 0)
        fprintf(stderr, "vigil dataset: cannot write '%s'\n", path);
    return r;
}

static void usage(FILE *o)
{
    fprintf(o,
            "usage: vigil dataset export --out DIR --from-video FILE [--from-video FILE]...\n"
            "                            [--camera C] [--label L]... [--from T] [--to T] [--min-score S]\n"
            "                            [--format imagefolder|yolo|coco] [--every N] [--max-frames N]\n"
            "                            [--config C] [--model M] [--correct M] [--margin F]\n"
            "  A training set from what vigil's analysis (as vigild runs it) finds in FILE:\n"
            "  imagefolder  DIR/LABEL/NAME.jpg, one crop per object (default)\n"
            "  yolo         DIR/images/*.jpg, DIR/labels/*.txt (class cx cy w h, 0..1), DIR/classes.txt\n"
            "  coco         DIR/images/*.jpg, DIR/annotations.json\n"
            "  and DIR/manifest.json: per object its file, source, frame, time, camera, label,\n"
            "  score and box. DIR must be new or empty. The same inputs give the same set.\n"
            "  --camera C     the config's camera whose settings apply (models, corrections)\n"
            "  --label L      only objects labelled L (repeatable); --min-score S: score >= S\n"
            "  --from/--to T  seconds into each file\n"
            "  --every N      analyse every Nth frame (default 1); --max-frames N per file\n"
            "  --margin F     imagefolder: widen each crop by F of its size on each side (default 0.1)\n"
            "  (recordings as a source come with the footage index; until then, files)\n");
}

int vg_cli_dataset(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "export") != 0) {
        usage(argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
        return argc >= 2 && !strcmp(argv[1], "--help") ? 0 : 2;
    }
    argc--, argv++;
    static const struct option lo[] = {
        {"out", required_argument, NULL, 'o'},        {"from-video", required_argument, NULL, 'v'},
        {"camera", required_argument, NULL, 'C'},     {"label", required_argument, NULL, 'l'},
        {"from", required_argument, NULL, 'f'},       {"to", required_argument, NULL, 't'},
        {"min-score", required_argument, NULL, 's'},  {"format", required_argument, NULL, 'F'},
        {"every", required_argument, NULL, 'e'},      {"max-frames", required_argument, NULL, 'n'},
        {"config", required_argument, NULL, 'c'},     {"model", required_argument, NULL, 'm'},
        {"correct", required_argument, NULL, 'k'},    {"margin", required_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0},
    };
    export_t x = {.format = F_IMAGEFOLDER, .to = -1, .quality = 95, .margin = 0.1};
    vg_detect_opts_t op = {.threshold = -1, .only_frame = -1};
    const char *videos[64];
    int n_videos = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:v:C:l:f:t:s:F:e:n:c:m:k:M:h", lo, NULL)) != -1) {
        char *end = NULL;
        double v = 0;
        if (strchr("ftsenM", c)) {
            v = strtod(optarg, &end);
            if (!*optarg || *end || v < 0) {
                fprintf(stderr, "vigil dataset: '%s' is not a number >= 0\n", optarg);
                return 2;
            }
        }
        switch (c) {
        case 'o': x.out = optarg; break;
        case 'v':
            if (n_videos < 64)
                videos[n_videos++] = optarg;
            break;
        case 'C': op.camera = optarg; break;
        case 'l':
            if (x.n_labels < 32)
                x.labels[x.n_labels++] = optarg;
            break;
        case 'f': x.from = v; break;
        case 't': x.to = v; break;
        case 's': x.min_score = v; break;
        case 'e': op.every = (long)v; break;
        case 'n': op.max_frames = (long)v; break;
        case 'M': x.margin = v; break;
        case 'c': op.config = optarg; break;
        case 'm': op.model = optarg; break;
        case 'k': op.correct = optarg; break;
        case 'F':
            if (!strcmp(optarg, "imagefolder"))
                x.format = F_IMAGEFOLDER;
            else if (!strcmp(optarg, "yolo"))
                x.format = F_YOLO;
            else if (!strcmp(optarg, "coco"))
                x.format = F_COCO;
            else {
                fprintf(stderr, "vigil dataset: --format is imagefolder, yolo or coco\n");
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!x.out || n_videos == 0 || optind != argc) {
        fprintf(stderr, "vigil dataset export: --out DIR and --from-video FILE are needed "
                        "(recordings as a source come with the footage index)\n");
        return 2;
    }
    if (x.to >= 0 && x.to < x.from) {
        fprintf(stderr, "vigil dataset: --to is before --from\n");
        return 2;
    }
    DIR *d = opendir(x.out);
    if (d) {
        struct dirent *e;
        bool empty = true;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                empty = false;
        closedir(d);
        if (!empty) {
            fprintf(stderr, "vigil dataset: '%s' is not empty; export into a new folder\n", x.out);
            return 1;
        }
    }
    av_log_set_level(AV_LOG_ERROR);
    char path[4096];
    int r = vg_mkdirs(x.out);
    if (r >= 0 && x.format != F_IMAGEFOLDER) {
        snprintf(path, sizeof(path), "%s/images", x.out);
        r = vg_mkdirs(path);
        if (r >= 0 && x.format == F_YOLO) {
            snprintf(path, sizeof(path), "%s/labels", x.out);
            r = vg_mkdirs(path);
        }
    }
    if (r < 0) {
        fprintf(stderr, "vigil dataset: cannot make '%s': %s\n", x.out, strerror(-r));
        return 1;
    }
    x.items = json_array();
    x.coco_images = json_array();
    x.coco_anns = json_array();
    int status = 0;
    for (int i = 0; i < n_videos && status == 0; i++) {
        x.source = videos[i];
        char tmp[4096];
        snprintf(tmp, sizeof(tmp), "%s", videos[i]);
        const char *base = basename(tmp);
        int sl = (int)strcspn(base, ".");
        if (sl > 100)
            sl = 100;
        if (n_videos > 1) /* two files of the same name stay apart */
            snprintf(x.stem, sizeof(x.stem), "%d_%.*s", i, sl, base);
        else
            snprintf(x.stem, sizeof(x.stem), "%.*s", sl, base);
        op.input = videos[i];
        if (vg_detect_each(&op, "dataset", on_frame, &x) < 0)
            status = 1;
    }
    if (status == 0 && x.det_labels) {
        json_t *labels = x.det_labels;
        x.det_labels = NULL;
        if (x.format == F_YOLO) {
            snprintf(path, sizeof(path), "%s/classes.txt", x.out);
            FILE *f = fopen(path, "w");
            for (size_t i = 0; f && i < json_array_size(labels); i++)
                fprintf(f, "%s\n", json_string_value(json_array_get(labels, i)));
            if (!f || fclose(f) != 0)
                status = 1;
        }
        if (x.format == F_COCO) {
            json_t *cats = json_array();
            for (size_t i = 0; i < json_array_size(labels); i++)
                json_array_append_new(cats, json_pack("{s:I, s:s}", "id", (json_int_t)i + 1, "name",
                                                      json_string_value(json_array_get(labels, i))));
            json_t *coco = json_pack("{s:O, s:O, s:o}", "images", x.coco_images, "annotations", x.coco_anns,
                                     "categories", cats);
            if (dump(coco, x.out, "annotations.json") < 0)
                status = 1;
            json_decref(coco);
        }
        static const char *fmt[] = {"imagefolder", "yolo", "coco"};
        json_t *filters = json_pack("{s:f, s:f}", "from", x.from, "min_score", x.min_score);
        if (x.to >= 0)
            json_object_set_new(filters, "to", json_real(x.to));
        if (x.n_labels) {
            json_t *l = json_array();
            for (int i = 0; i < x.n_labels; i++)
                json_array_append_new(l, json_string(x.labels[i]));
            json_object_set_new(filters, "labels", l);
        }
        json_error_t je;
        json_t *m = json_pack_ex(&je, 0, "{s:s, s:s, s:o, s:O, s:o, s:I, s:I, s:O}", "format", fmt[x.format], "detector",
                              x.det_name, "filters", filters, "labels", labels, "every",
                              json_integer(op.every > 1 ? op.every : 1), "objects", (json_int_t)x.n_items, "frames",
                              (json_int_t)x.n_frames, "items", x.items);
        json_decref(labels);
        if (!m)
            fprintf(stderr, "vigil dataset: manifest: %s\n", je.text);
        if (!m || dump(m, x.out, "manifest.json") < 0)
            status = 1;
        json_decref(m);
        if (status == 0)
            fprintf(stderr, "vigil dataset: %ld objects from %ld frames in '%s'\n", x.n_items, x.n_frames, x.out);
    }
    json_decref(x.items);
    json_decref(x.coco_images);
    json_decref(x.coco_anns);
    vg_img_release(&x.rgb);
    return status;
}
