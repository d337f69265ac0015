/*
 * detect_when: the gate in front of a camera's detector: on which analysed
 * frames the CNN runs. Owned by the analysis that takes it; the daemon's
 * config maps its `detect.when` key into these values.
 * Thread: plain values, no state.
 */
#ifndef VG_DETECT_WHEN_H
#define VG_DETECT_WHEN_H

typedef enum {
    VG_DETECT_ALWAYS = 0, /* every analysed frame */
    VG_DETECT_ON_MOTION,  /* only frames where the motion gate fired (default) */
    VG_DETECT_NEVER,      /* motion only */
} vg_detect_when_t;

#endif
