/*
 * correct/mode: what a camera asks of the image corrections: off, auto (the
 * corrections choose per scene), or a fixed list (a bit set of VG_CORRECT_*).
 * Owned here, by the corrections that take it; the daemon's config maps its
 * `correct:` key into these values.
 * Thread: plain values, no state.
 */
#ifndef VG_CORRECT_MODE_H
#define VG_CORRECT_MODE_H

/* Image corrections a camera may ask for (bit set). */
enum {
    VG_CORRECT_LOW_LIGHT = 1u << 0,
    VG_CORRECT_DEHAZE = 1u << 1,
    VG_CORRECT_DENOISE = 1u << 2,
    VG_CORRECT_DERAIN = 1u << 3,
};

typedef enum {
    VG_CORRECT_MODE_OFF = 0, /* correct: off (the default) */
    VG_CORRECT_MODE_AUTO,    /* correct: auto */
    VG_CORRECT_MODE_LIST,    /* correct: [low_light, dehaze, ...] -> a mask of VG_CORRECT_* */
} vg_correct_mode_t;

#endif
