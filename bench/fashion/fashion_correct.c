/*
 * fashion_correct: vigil's image corrections (pipeline/correct) in front of
 * a set of small grey pictures, for bench/fashion/fashion_mnist.py.
 * The pictures are tiled into mosaic frames (COLS x COLS pictures each) that
 * go through one correction state in order, as the frames of one camera
 * would (auto keeps its statistics and hysteresis across them); each
 * mosaic is a full-range YUV 4:2:0 frame with grey chroma.
 * usage: fashion_correct IN.u8 OUT.u8 N W H auto|LIST [COLS]
 *   IN.u8: N pictures of W x H bytes; OUT.u8 the same corrected.
 * Prints the corrections chosen (share of mosaics per correction) on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/correct/correct.h"

static int parse_mode(const char *s, vg_correct_config_t *c)
{
    if (!strcmp(s, "auto")) {
        c->mode = VG_CORRECT_MODE_AUTO;
        return 0;
    }
    if (!strcmp(s, "off")) {
        c->mode = VG_CORRECT_MODE_OFF;
        return 0;
    }
    c->mode = VG_CORRECT_MODE_LIST;
    for (const char *p = s; *p;) {
        size_t len = strcspn(p, ",");
        uint32_t bit = 0;
        for (uint32_t b = 1; b && vg_correct_name(b); b <<= 1)
            if (strlen(vg_correct_name(b)) == len && !strncmp(p, vg_correct_name(b), len))
                bit = b;
        if (!bit)
            return -EINVAL;
        c->mask |= bit;
        p += len + (p[len] == ',');
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: fashion_correct IN.u8 OUT.u8 N W H auto|off|LIST [COLS]\n");
        return 2;
    }
    long n = atol(argv[3]);
    int w = atoi(argv[4]), h = atoi(argv[5]), cols = argc > 7 ? atoi(argv[7]) : 20;
    vg_correct_config_t cc = {.max_width = w * cols, .max_height = h * cols};
    if (n <= 0 || w <= 0 || h <= 0 || cols <= 0 || parse_mode(argv[6], &cc) < 0) {
        fprintf(stderr, "fashion_correct: bad arguments\n");
        return 2;
    }
    size_t sz = (size_t)w * h;
    uint8_t *px = malloc(sz * (size_t)n);
    FILE *f = fopen(argv[1], "rb");
    if (!px || !f || fread(px, sz, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "fashion_correct: cannot read %ld pictures from '%s'\n", n, argv[1]);
        return 1;
    }
    fclose(f);
    vg_correct_state_t *st = NULL;
    vg_image_t frame;
    int r;
    if ((r = vg_correct_new(&cc, &st)) < 0 ||
        (r = vg_image_alloc(&frame, VG_PIX_YUV420P, w * cols, h * cols)) < 0) {
        fprintf(stderr, "fashion_correct: %s\n", strerror(-r));
        return 1;
    }
    frame.full_range = true;
    long per = (long)cols * cols, mosaics = 0, chosen[8] = {0};
    for (long first = 0; first < n; first += per) {
        long k = n - first < per ? n - first : per;
        for (int y = 0; y < frame.height; y++)
            memset(frame.data[0] + (size_t)y * frame.linesize[0], 0, (size_t)frame.width);
        for (int p = 1; p < 3; p++)
            for (int y = 0; y < (frame.height + 1) / 2; y++)
                memset(frame.data[p] + (size_t)y * frame.linesize[p], 128, (size_t)(frame.width + 1) / 2);
        for (long i = 0; i < k; i++) {
            int tx = (int)(i % cols) * w, ty = (int)(i / cols) * h;
            for (int y = 0; y < h; y++)
                memcpy(frame.data[0] + (size_t)(ty + y) * frame.linesize[0] + tx, px + (first + i) * sz + (size_t)y * w,
                       (size_t)w);
        }
        vg_image_t out;
        if ((r = vg_correct_apply_image(st, &frame, &out)) < 0) {
            fprintf(stderr, "fashion_correct: %s\n", strerror(-r));
            return 1;
        }
        for (int b = 0; b < 8; b++)
            chosen[b] += (r >> b) & 1;
        mosaics++;
        for (long i = 0; i < k; i++) {
            int tx = (int)(i % cols) * w, ty = (int)(i / cols) * h;
            for (int y = 0; y < h; y++)
                memcpy(px + (first + i) * sz + (size_t)y * w, out.data[0] + (size_t)(ty + y) * out.linesize[0] + tx,
                       (size_t)w);
        }
    }
    f = fopen(argv[2], "wb");
    if (!f || fwrite(px, sz, (size_t)n, f) != (size_t)n || fclose(f) != 0) {
        fprintf(stderr, "fashion_correct: cannot write '%s'\n", argv[2]);
        return 1;
    }
    fprintf(stderr, "fashion_correct: %ld mosaics;", mosaics);
    for (int b = 0; b < 8; b++)
        if (vg_correct_name(1u << b))
            fprintf(stderr, " %s %.0f%%", vg_correct_name(1u << b), 100.0 * chosen[b] / (double)mosaics);
    fprintf(stderr, "\n");
    vg_image_release(&frame);
    vg_correct_free(&st);
    free(px);
    return 0;
}
