/*
 * temporal: motion-adaptive denoise and streak removal on real footage
 * (vtest.avi) with deterministic synthetic noise and streaks.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/correct/temporal.h"
#include "tests/correct/frames.h"

enum { NF = 48 };
static AVFrame *clip[NF]; /* vtest.avi frames 200..247: people walking */
static int W, H;

static void setup(void)
{
    cr_assert_eq(vgt_decode(vgt_footage("vtest.avi"), 200, NF, clip), NF,
                 "cannot decode vtest.avi (run scripts/fetch-footage.sh)");
    W = clip[0]->width;
    H = clip[0]->height;
}

static void teardown(void)
{
    for (int i = 0; i < NF; i++)
        av_frame_free(&clip[i]);
}

TestSuite(correct_temporal, .init = setup, .fini = teardown, .timeout = 120);

/* dst = src + gaussian noise (sigma on luma, sigma/2 on chroma), clipped. */
static void add_noise(vg_image_t *dst, const AVFrame *src, double sigma, uint64_t *rng)
{
    for (int p = 0; p < 3; p++) {
        int pw = p ? W / 2 : W, ph = p ? H / 2 : H;
        double s = p ? sigma / 2 : sigma;
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw; x++) {
                double v = src->data[p][y * src->linesize[p] + x] + s * vgt_gauss(rng);
                dst->data[p][y * dst->linesize[p] + x] =
                    (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : lrint(v)));
            }
    }
}

static double rms_luma(const vg_image_t *a, const AVFrame *ref)
{
    double se = 0;
    long n = 0;
    for (int y = 2; y < H - 2; y++)
        for (int x = 2; x < W - 2; x++, n++) {
            double d = (double)a->data[0][y * a->linesize[0] + x] - ref->data[0][y * ref->linesize[0] + x];
            se += d * d;
        }
    return sqrt(se / n);
}

Test(correct_temporal, noise_estimate_tracks_added_noise)
{
    vg_image_t n;
    cr_assert_eq(vg_image_alloc(&n, VG_PIX_YUV420P, W, H), 0);
    uint64_t rng = 42;
    float clean = vg_noise_estimate(clip[0]->data[0], clip[0]->linesize[0], W, H);
    add_noise(&n, clip[0], 8.0, &rng);
    float noisy = vg_noise_estimate(n.data[0], n.linesize[0], W, H);
    cr_log_info("noise estimate: clean %.2f, +sigma 8: %.2f", clean, noisy);
    cr_assert_lt(clean, 3.0f);
    cr_assert(noisy > 6.5f && noisy < 10.0f, "estimate %.2f for sigma 8", noisy);
    vg_image_release(&n);
}

Test(correct_temporal, static_clip_noise_halved)
{
    vg_image_t in, out;
    cr_assert_eq(vg_image_alloc(&in, VG_PIX_YUV420P, W, H), 0);
    cr_assert_eq(vg_image_alloc(&out, VG_PIX_YUV420P, W, H), 0);
    vg_denoise_t *dn = NULL;
    cr_assert_eq(vg_denoise_new(1280, 720, &dn), 0);
    uint64_t rng = 7;
    double rin = 0, rout = 0;
    for (int i = 0; i < 30; i++) {
        add_noise(&in, clip[0], 8.0, &rng); /* the same frame: a static scene */
        cr_assert_eq(vg_denoise_run(dn, &in, &out, 0.0f, 1.0f, 0.0f), 0);
        rin = rms_luma(&in, clip[0]);
        rout = rms_luma(&out, clip[0]);
    }
    cr_log_info("static: noise rms %.2f -> %.2f", rin, rout);
    cr_assert_gt(rin, 7.0);
    cr_assert_leq(rout, rin / 2, "rms %.2f -> %.2f", rin, rout);
    vg_denoise_free(&dn);
    vg_denoise_free(&dn);
    vg_image_release(&in);
    vg_image_release(&out);
}

/*
 * Largest displacement of moving, textured 16x16 blocks: for each block where
 * the clean clip changed since the previous frame, the shift (within +-3 px)
 * that best aligns the filtered frame with the clean one.
 */
static int worst_shift(const vg_image_t *out, const AVFrame *cur, const AVFrame *prev,
                       int *ret_blocks, int *ret_over1)
{
    int worst = 0, blocks = 0, over = 0;
    const uint8_t *c = cur->data[0], *p = prev->data[0], *o = out->data[0];
    int lc = cur->linesize[0], lp = prev->linesize[0], lo = out->linesize[0];
    for (int by = 8; by + 24 < H; by += 16)
        for (int bx = 8; bx + 24 < W; bx += 16) {
            long mot = 0, tex = 0;
            for (int y = by; y < by + 16; y++)
                for (int x = bx; x < bx + 16; x++) {
                    mot += abs(c[y * lc + x] - p[y * lp + x]);
                    tex += abs(c[y * lc + x + 1] - c[y * lc + x]) +
                           abs(c[(y + 1) * lc + x] - c[y * lc + x]);
                }
            if (mot < 16 * 16 * 12 || tex < 16 * 16 * 24)
                continue;
            long best = -1;
            int bdx = 0, bdy = 0;
            for (int dy = -3; dy <= 3; dy++)
                for (int dx = -3; dx <= 3; dx++) {
                    long sad = 0;
                    for (int y = by; y < by + 16; y++)
                        for (int x = bx; x < bx + 16; x++)
                            sad += abs(o[y * lo + x] - c[(y + dy) * lc + x + dx]);
                    if (best < 0 || sad < best) {
                        best = sad;
                        bdx = dx;
                        bdy = dy;
                    }
                }
            int s = abs(bdx) > abs(bdy) ? abs(bdx) : abs(bdy);
            worst = s > worst ? s : worst;
            over += s > 1;
            blocks++;
        }
    *ret_blocks = blocks;
    *ret_over1 = over;
    return worst;
}

/* A motion-blind recursive average, to show the check catches smearing. */
static void naive_average(vg_image_t *acc, const vg_image_t *in, bool first)
{
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *a = &acc->data[0][y * acc->linesize[0] + x];
            int v = in->data[0][y * in->linesize[0] + x];
            *a = first ? (uint8_t)v : (uint8_t)lrint(*a + 0.2 * (v - *a));
        }
}

Test(correct_temporal, moving_edges_stay_in_place)
{
    vg_image_t in, out, naive;
    cr_assert_eq(vg_image_alloc(&in, VG_PIX_YUV420P, W, H), 0);
    cr_assert_eq(vg_image_alloc(&out, VG_PIX_YUV420P, W, H), 0);
    cr_assert_eq(vg_image_alloc(&naive, VG_PIX_YUV420P, W, H), 0);
    vg_denoise_t *dn = NULL;
    cr_assert_eq(vg_denoise_new(W, H, &dn), 0);
    uint64_t rng = 99;
    int worst = 0, blocks = 0, over = 0, nworst = 0, nover = 0;
    double rin = 0, rout = 0;
    for (int i = 0; i < NF; i++) {
        add_noise(&in, clip[i], 8.0, &rng);
        cr_assert_eq(vg_denoise_run(dn, &in, &out, 0.0f, 1.0f, 0.0f), 0);
        naive_average(&naive, &in, i == 0);
        if (i < 8)
            continue;
        int b, o;
        int s = worst_shift(&out, clip[i], clip[i - 1], &b, &o);
        worst = s > worst ? s : worst;
        blocks += b;
        over += o;
        s = worst_shift(&naive, clip[i], clip[i - 1], &b, &o);
        nworst = s > nworst ? s : nworst;
        nover += o;
        rin += rms_luma(&in, clip[i]);
        rout += rms_luma(&out, clip[i]);
    }
    cr_log_info("moving: %d blocks checked; ours: worst shift %d px, %d blocks > 1 px; "
                "motion-blind average: worst %d px, %d blocks > 1 px; noise rms %.2f -> %.2f",
                blocks, worst, over, nworst, nover, rin / (NF - 8), rout / (NF - 8));
    cr_assert_gt(blocks, 100, "too few moving blocks to judge (%d)", blocks);
    cr_assert_leq(worst, 1, "a moving edge moved %d px", worst);
    /* the check is able to fail: the motion-blind filter smears */
    cr_assert_gt(nover, 0);
    /* and the clip as a whole still got cleaner */
    cr_assert_lt(rout, 0.75 * rin);
    vg_denoise_free(&dn);
    vg_image_release(&in);
    vg_image_release(&out);
    vg_image_release(&naive);
}

/* Add nf thin bright streaks (rain) to luma; marks them in mask. */
static void add_streaks(vg_image_t *img, uint8_t *mask, uint64_t *rng, int nf)
{
    for (int k = 0; k < nf; k++) {
        *rng ^= *rng << 13; *rng ^= *rng >> 7; *rng ^= *rng << 17;
        int x0 = 10 + (int)(*rng % (W - 20)), y0 = (int)((*rng >> 20) % (H - 30));
        int len = 8 + (int)((*rng >> 40) % 16), amp = 40 + (int)((*rng >> 50) % 50);
        for (int t = 0; t < len; t++) {
            int x = x0 + t / 6, y = y0 + t;
            uint8_t *v = &img->data[0][y * img->linesize[0] + x];
            *v = (uint8_t)(*v + amp > 255 ? 255 : *v + amp);
            mask[y * W + x] = 1;
        }
    }
}

/* Streaks (nf per frame) over the clip: the streaks' error must fall below
 * max_ratio of what it was, and moving people stay (under 1% of their
 * pixels changed). */
static void derain_check(int nf, double max_ratio)
{
    vg_image_t in, out;
    cr_assert_eq(vg_image_alloc(&in, VG_PIX_YUV420P, W, H), 0);
    cr_assert_eq(vg_image_alloc(&out, VG_PIX_YUV420P, W, H), 0);
    uint8_t *mask = malloc((size_t)W * H);
    vg_derain_t *dr = NULL;
    cr_assert_eq(vg_derain_new(W, H, &dr), 0);
    uint64_t rng = 5;
    double err_in = 0, err_out = 0;
    long nstreak = 0, moving = 0, moving_changed = 0, moving_big = 0;
    for (int i = 0; i < NF; i++) {
        memset(mask, 0, (size_t)W * H);
        vg_image_copy(&in, &(vg_image_t){ .format = VG_PIX_YUV420P, .width = W, .height = H,
                                          .data = { clip[i]->data[0], clip[i]->data[1],
                                                    clip[i]->data[2] },
                                          .linesize = { clip[i]->linesize[0],
                                                        clip[i]->linesize[1],
                                                        clip[i]->linesize[2] } });
        add_streaks(&in, mask, &rng, nf);
        cr_assert_geq(vg_derain_run(dr, &in, &out, 2.0f), 0);
        if (i < 2)
            continue;
        const uint8_t *c = clip[i]->data[0], *p = clip[i - 1]->data[0];
        int lc = clip[i]->linesize[0];
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                int o = out.data[0][y * out.linesize[0] + x], s = in.data[0][y * in.linesize[0] + x];
                if (mask[y * W + x]) {
                    err_in += abs(s - c[y * lc + x]);
                    err_out += abs(o - c[y * lc + x]);
                    nstreak++;
                } else if (abs(c[y * lc + x] - p[y * lc + x]) > 20) {
                    moving++;
                    moving_changed += o != s;
                    moving_big += abs(o - s) > 20;
                }
            }
    }
    cr_log_info("derain, %d streaks a frame: streak error %.1f -> %.1f levels; moving pixels changed %ld of %ld (%ld by more than 20 levels)",
                nf, err_in / nstreak, err_out / nstreak, moving_changed, moving, moving_big);
    cr_assert_gt(moving, 10000);
    cr_assert_lt(err_out, max_ratio * err_in, "streak error %.1f -> %.1f", err_in / nstreak, err_out / nstreak);
    cr_assert_lt(moving_changed, moving / 100);
    vg_derain_free(&dr);
    free(mask);
    vg_image_release(&in);
    vg_image_release(&out);
}

Test(correct_temporal, derain_removes_streaks_not_people) { derain_check(300, 0.1); }

/* Heavy rain: a streak in one of the two previous frames must not hide the
 * streak of this one (the history is the derained picture). */
Test(correct_temporal, derain_in_heavy_rain) { derain_check(2000, 0.2); }

/* A thin bright thing that appears and stays (a lamp post lit, a cable)
 * looks like a streak on its first frame; it must be let through after a
 * frame or two, not held back for ever. */
Test(correct_temporal, derain_lets_a_lasting_line_through)
{
    vg_image_t in, out;
    cr_assert_eq(vg_image_alloc(&in, VG_PIX_YUV420P, W, H), 0);
    cr_assert_eq(vg_image_alloc(&out, VG_PIX_YUV420P, W, H), 0);
    vg_derain_t *dr = NULL;
    cr_assert_eq(vg_derain_new(W, H, &dr), 0);
    /* a static frame: the line's column, rows 100..140, in the sky of vtest */
    const int lx = 40, ly0 = 100, ly1 = 140;
    int kept_at = -1;
    for (int i = 0; i < 8; i++) {
        vg_image_copy(&in, &(vg_image_t){ .format = VG_PIX_YUV420P, .width = W, .height = H,
                                          .data = { clip[0]->data[0], clip[0]->data[1],
                                                    clip[0]->data[2] },
                                          .linesize = { clip[0]->linesize[0],
                                                        clip[0]->linesize[1],
                                                        clip[0]->linesize[2] } });
        if (i >= 3)
            for (int y = ly0; y < ly1; y++) {
                uint8_t *v = &in.data[0][y * in.linesize[0] + lx];
                *v = (uint8_t)(*v + 60 > 255 ? 255 : *v + 60);
            }
        cr_assert_geq(vg_derain_run(dr, &in, &out, 2.0f), 0);
        int same = 0;
        for (int y = ly0; y < ly1; y++)
            same += out.data[0][y * out.linesize[0] + lx] == in.data[0][y * in.linesize[0] + lx];
        if (i == 3)
            cr_expect_lt(same, (ly1 - ly0) / 2, "on its first frame the line is taken for a streak");
        if (i >= 3 && same == ly1 - ly0 && kept_at < 0)
            kept_at = i;
    }
    cr_assert(kept_at >= 0 && kept_at <= 6, "a line that stays is let through within 3 frames (at frame %d)",
              kept_at);
    /* and then it stays: the last frame shows it */
    for (int y = ly0; y < ly1; y++)
        cr_assert_eq(out.data[0][y * out.linesize[0] + lx], in.data[0][y * in.linesize[0] + lx]);
    vg_derain_free(&dr);
    vg_image_release(&in);
    vg_image_release(&out);
}
