/*
 * draw: boxes and short labels drawn into a YUV 4:2:0 planar picture (a
 * snapshot, `vigil detect --out`): filled rectangles, box outlines, and text
 * in a 5x7 dot font (letters, digits, . - : _ % /), scaled by whole pixels.
 *
 * Owns: nothing (the planes are the caller's).
 * Thread: any; one picture is drawn by one thread at a time.
 * Blocks on: nothing.
 */
#ifndef VG_DRAW_H
#define VG_DRAW_H

#include <stdbool.h>
#include <stdint.h>

/* A YUV 4:2:0 planar picture to draw into (borrowed planes). */
typedef struct {
    uint8_t *data[3];
    int linesize[3];
    int width, height;
} vg_draw_t;

typedef struct {
    uint8_t y, u, v;
} vg_draw_color_t;

/* The colour of r, g, b (0..255) in full-range (JPEG) or limited-range
 * (16..235) BT.601 YUV. Thread: any. */
vg_draw_color_t vg_draw_color(int r, int g, int b, bool full_range);

/* Fills [x1, x2) x [y1, y2), clamped to the picture. Thread: any. */
void vg_draw_fill(const vg_draw_t *p, int x1, int y1, int x2, int y2, vg_draw_color_t c);

/* The outline of [x1, x2) x [y1, y2), t pixels thick. Thread: any. */
void vg_draw_rect(const vg_draw_t *p, int x1, int y1, int x2, int y2, int t, vg_draw_color_t c);

/* Text with its top-left corner at (x, y), s pixels per font dot, on a
 * background of colour bg (the box is (6 n + 1) s by 9 s), moved inside the
 * picture. Unknown characters are blank. Thread: any. */
void vg_draw_text(const vg_draw_t *p, int x, int y, int s, const char *str, vg_draw_color_t fg, vg_draw_color_t bg);

#endif
