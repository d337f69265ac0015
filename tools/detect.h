/*
 * tools/detect.h: vigil detect's run of the daemon's analysis on a file,
 * shared by `vigil detect` and `vigil dataset export`: models load as
 * vigild loads them, frames come from the capture's reader and go through
 * vg_analysis_frame with the camera's settings, the detector on every frame.
 * Thread: the main thread of the vigil CLI.
 */
#ifndef VG_TOOLS_DETECT_H
#define VG_TOOLS_DETECT_H

#include <stdbool.h>

#include <libavutil/frame.h>

#include "pipeline/analysis.h"
#include "pipeline/cascade.h"
#include "pipeline/detect.h"

typedef struct {
    const char *input, *config, *model, *out, *precision;
    const char *camera;     /* --camera NAME: the config's camera whose settings apply */
    const char *correct;    /* --correct auto|off|LIST: instead of the camera's */
    const char *dump_input; /* --dump-input FILE.npy (vigil detect only) */
    double threshold; /* < 0: the model's */
    bool faces;
    long max_frames;  /* 0 = all */
    long only_frame;  /* -1 = all */
    long every;       /* analyse every Nth frame only; 0 or 1 = all */
} vg_detect_opts_t;

/* One analysed frame, borrowed for the callback's duration. */
typedef struct {
    const AVFrame *frame;      /* the decoded frame */
    long index;                /* frame number in the file, from 0 */
    double pts_time;           /* seconds */
    AVRational time_base;
    AVRational frame_rate;     /* the stream's, {0, 1} when unknown */
    const char *camera;        /* the camera whose settings applied */
    const vg_detector_t *det;
    const vg_cascade_t *cascade;
    const vg_analysis_result_t *res;
    bool correcting;           /* corrections were on */
} vg_detect_frame_t;

/* Called per analysed frame; a negative return stops the run with it. */
typedef int (*vg_detect_fn)(void *user, const vg_detect_frame_t *f);

/*
 * Runs the analysis on op->input, calling fn on each analysed frame.
 * Prints its own errors (prefixed "vigil <who>: ") on stderr. Returns 0,
 * a callback's negative return, or -EIO/-EINVAL/-ENOENT... after printing.
 * Thread: main.
 */
int vg_detect_each(const vg_detect_opts_t *op, const char *who, vg_detect_fn fn, void *user);

#endif
