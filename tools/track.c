/*
 * vigil track --mot DET.txt: runs vigil's tracker (pipeline/track, the
 * daemon's code) on detections in the MOT-Challenge text format and writes
 * the tracks in the same format, so that the tracker can be scored with the
 * standard tools (TrackEval, py-motmetrics) beside published trackers.
 *
 * In:  frame,id,left,top,width,height,score[,class[,...]] per line; frames
 *      from 1; id is ignored; a class >= 0 in the 8th column is the label
 *      (MOT detection files have -1 there: label 0). Every frame from 1 to
 *      the last one in the file is a detector run at time (frame-1)/fps;
 *      a frame with no line is a run that saw nothing.
 * Out: frame,id,left,top,width,height,score,-1,-1,-1 for each confirmed
 *      track matched in that frame (its Kalman-filtered box).
 * Thread: the main thread; the file is read whole (a tool, not the daemon).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/track/track.h"

int vg_cli_track(int argc, char **argv);

typedef struct {
    int frame, line;
    vg_det_t d;
} row_t;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vigil track --mot DET.txt [--fps F] [-o TRACKS.txt] [options]\n"
            "  run vigil's tracker on MOT-Challenge detections, write MOT-Challenge tracks\n"
            "  --fps F          frame rate of the sequence (default 30): times are (frame-1)/F\n"
            "  -o, --out FILE   where to write the tracks (default: stdout)\n"
            "  --min-hits N     matches needed to confirm a track (default 3)\n"
            "  --lost-after S   seconds a lost track is kept (default 3)\n"
            "  --min-score S    confident detections: start tracks (default 0.5)\n"
            "  --low-score S    lower scores are ignored; between: second stage (default 0.1)\n"
            "  --threshold S    median score a track needs to be confirmed (default 0.5)\n");
}

static int by_frame(const void *a, const void *b)
{
    const row_t *x = a, *y = b;
    if (x->frame != y->frame)
        return x->frame < y->frame ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

/* Reads a MOT file into *ret (malloc'd). 0, or 1 after printing why. */
static int read_mot(const char *path, row_t **ret, int *ret_n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "vigil track: cannot open '%s': %s\n", path, strerror(errno));
        return 1;
    }
    row_t *v = NULL;
    int n = 0, cap = 0, line = 0, rc = 0;
    char buf[1024];
    while (fgets(buf, sizeof(buf), f)) {
        line++;
        char *p = buf;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\n' || *p == '\r' || *p == '\0' || *p == '#')
            continue;
        double c[8] = {0, 0, 0, 0, 0, 0, 0, -1};
        int k = 0;
        for (; k < 8; k++) {
            char *end;
            c[k] = strtod(p, &end);
            if (end == p)
                break;
            p = end;
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p != ',')
                break;
            p++;
        }
        if (k < 6 || c[0] < 1 || c[0] > 1e8 || !(c[4] > 0) || !(c[5] > 0) || !isfinite(c[2]) || !isfinite(c[3]) ||
            !isfinite(c[6])) {
            fprintf(stderr, "vigil track: %s:%d: expected frame,id,left,top,width,height,score,...\n", path, line);
            rc = 1;
            break;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            row_t *nv = realloc(v, sizeof(*v) * (size_t)cap);
            if (!nv) {
                fprintf(stderr, "vigil track: out of memory\n");
                rc = 1;
                break;
            }
            v = nv;
        }
        v[n++] = (row_t){.frame = (int)c[0], .line = line,
                         .d = {(float)c[2], (float)c[3], (float)(c[2] + c[4]), (float)(c[3] + c[5]), (float)c[6],
                               k >= 7 && c[7] >= 0 ? (int)c[7] : 0}};
    }
    if (!rc && ferror(f)) {
        fprintf(stderr, "vigil track: reading '%s': %s\n", path, strerror(errno));
        rc = 1;
    }
    fclose(f);
    if (rc) {
        free(v);
        return rc;
    }
    qsort(v, (size_t)n, sizeof(*v), by_frame);
    *ret = v;
    *ret_n = n;
    return 0;
}

int vg_cli_track(int argc, char **argv)
{
    static const struct option opts[] = {
        {"mot", required_argument, NULL, 'm'},       {"fps", required_argument, NULL, 'f'},
        {"out", required_argument, NULL, 'o'},       {"min-hits", required_argument, NULL, 'H'},
        {"lost-after", required_argument, NULL, 'L'}, {"min-score", required_argument, NULL, 'S'},
        {"low-score", required_argument, NULL, 'l'}, {"threshold", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0}};
    const char *mot = NULL, *out_path = NULL;
    double fps = 30;
    vg_track_config_t cfg;
    vg_track_config_default(&cfg);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'm': mot = optarg; break;
        case 'o': out_path = optarg; break;
        case 'f': fps = strtod(optarg, &end); break;
        case 'H': cfg.min_hits = (int)strtol(optarg, &end, 10); break;
        case 'L': cfg.lost_after = strtod(optarg, &end); break;
        case 'S': cfg.defaults.min_score = strtof(optarg, &end); break;
        case 'l': cfg.low_score = strtof(optarg, &end); break;
        case 't': cfg.defaults.threshold = strtof(optarg, &end); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (end && (*end || end == optarg)) {
            fprintf(stderr, "vigil track: bad number '%s'\n", optarg);
            return 2;
        }
    }
    if (!mot || optind < argc || !(fps > 0)) {
        usage(stderr);
        return 2;
    }
    if (cfg.confirm_frames < cfg.min_hits)
        cfg.confirm_frames = cfg.min_hits + 2;
    row_t *rows = NULL;
    int n = 0;
    if (read_mot(mot, &rows, &n))
        return 1;
    int max_per_frame = 1;
    for (int i = 0, k = 0; i < n; i = k) {
        for (k = i; k < n && rows[k].frame == rows[i].frame; k++)
            ;
        if (k - i > max_per_frame)
            max_per_frame = k - i;
    }
    cfg.max_dets = max_per_frame;
    vg_track_t *t = NULL;
    vg_det_t *dets = malloc(sizeof(*dets) * (size_t)max_per_frame);
    FILE *out = out_path ? fopen(out_path, "w") : stdout;
    int r = dets ? vg_track_new(&cfg, &t) : -ENOMEM, rc = 0;
    if (r < 0 || !out) {
        if (!out)
            fprintf(stderr, "vigil track: cannot write '%s': %s\n", out_path, strerror(errno));
        else
            fprintf(stderr, "vigil track: %s\n", r == -EINVAL ? "bad tracker settings" : strerror(-r));
        rc = 1;
        goto done;
    }
    int last_frame = n ? rows[n - 1].frame : 0;
    for (int f = 1, i = 0; f <= last_frame; f++) {
        int k = 0;
        for (; i < n && rows[i].frame == f; i++)
            dets[k++] = rows[i].d;
        vg_track_update(t, (f - 1) / fps, dets, k, NULL);
        const vg_track_obj_t *o;
        int no = vg_track_objects(t, &o);
        for (int j = 0; j < no; j++)
            if (o[j].confirmed && o[j].det_index >= 0 && !o[j].ended)
                fprintf(out, "%d,%llu,%.2f,%.2f,%.2f,%.2f,%.4f,-1,-1,-1\n", f, (unsigned long long)o[j].id,
                        o[j].box.x1, o[j].box.y1, o[j].box.x2 - o[j].box.x1, o[j].box.y2 - o[j].box.y1, o[j].score);
    }
    if (fflush(out) != 0 || ferror(out)) {
        fprintf(stderr, "vigil track: writing '%s': %s\n", out_path ? out_path : "stdout", strerror(errno));
        rc = 1;
    }
done:
    if (out && out != stdout && fclose(out) != 0 && rc == 0) {
        fprintf(stderr, "vigil track: writing '%s': %s\n", out_path, strerror(errno));
        rc = 1;
    }
    vg_track_free(&t);
    free(dets);
    free(rows);
    return rc;
}
