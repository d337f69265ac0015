/*
 * augment/: each transform does what its row of the table says, measured on
 * a real photograph (messi5.jpg, decoded with libturbojpeg), results are a
 * function of (seed, index) only, the recipe text round-trips, and applying
 * allocates nothing.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "augment/augment.h"

static uint8_t *photo;    /* RGB, packed */
static int pw, ph;

static void load_photo(void)
{
    char path[4096];
    const char *cache = getenv("VIGIL_CACHE_DIR");
    snprintf(path, sizeof(path), "%s/images/messi5.jpg", cache && *cache ? cache : VIGIL_CACHE_DIR);
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s missing (scripts/fetch-footage.sh)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n);
    cr_assert(fread(buf, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    tjhandle d = tjInitDecompress();
    int sub, cs;
    cr_assert(tjDecompressHeader3(d, buf, (unsigned long)n, &pw, &ph, &sub, &cs) == 0);
    photo = malloc((size_t)pw * ph * 3);
    cr_assert(tjDecompress2(d, buf, (unsigned long)n, photo, pw, 0, ph, TJPF_RGB, 0) == 0);
    tjDestroy(d);
    free(buf);
}

static void unload_photo(void) { free(photo); photo = NULL; }

TestSuite(augment, .init = load_photo, .fini = unload_photo, .timeout = 60);

/* A copy of the photo (c = 3) or its grey version (c = 1). */
static vg_aug_image_t copy_photo(int c)
{
    vg_aug_image_t im = {malloc((size_t)pw * ph * c), pw, ph, c, pw * c};
    for (size_t i = 0; i < (size_t)pw * ph; i++) {
        if (c == 3)
            memcpy(im.data + 3 * i, photo + 3 * i, 3);
        else
            im.data[i] = (uint8_t)lrint(0.299 * photo[3 * i] + 0.587 * photo[3 * i + 1] + 0.114 * photo[3 * i + 2]);
    }
    return im;
}

static vg_aug_image_t run(const char *recipe, int c, uint64_t seed, uint64_t index)
{
    vg_augment_recipe_t r;
    char err[256];
    cr_assert(vg_augment_recipe_parse(recipe, &r, err, sizeof(err)) == 0, "%s: %s", recipe, err);
    vg_augment_t *a = NULL;
    cr_assert(vg_augment_new(&r, pw, ph, &a) == 0);
    vg_aug_image_t im = copy_photo(c);
    cr_assert(vg_augment_apply(a, &im, seed, index) == 0, "%s", recipe);
    vg_augment_free(&a);
    cr_assert_null(a);
    return im;
}

static double mean(const vg_aug_image_t *im)
{
    double s = 0;
    for (size_t i = 0; i < (size_t)im->width * im->height * im->channels; i++)
        s += im->data[i];
    return s / ((double)im->width * im->height * im->channels);
}

static double stdev(const vg_aug_image_t *im)
{
    double m = mean(im), s = 0;
    for (size_t i = 0; i < (size_t)im->width * im->height * im->channels; i++)
        s += (im->data[i] - m) * (im->data[i] - m);
    return sqrt(s / ((double)im->width * im->height * im->channels));
}

/* mean |a - b| */
static double mad(const vg_aug_image_t *a, const vg_aug_image_t *b)
{
    double s = 0;
    size_t n = (size_t)a->width * a->height * a->channels;
    for (size_t i = 0; i < n; i++)
        s += abs(a->data[i] - b->data[i]);
    return s / (double)n;
}

/* energy of horizontal differences: what blur removes */
static double detail(const vg_aug_image_t *im)
{
    double s = 0;
    for (int y = 0; y < im->height; y++)
        for (int x = im->channels; x < im->width * im->channels; x++) {
            int d = im->data[(size_t)y * im->stride + x] - im->data[(size_t)y * im->stride + x - im->channels];
            s += d * d;
        }
    return s;
}

static bool same(const vg_aug_image_t *a, const vg_aug_image_t *b)
{
    return memcmp(a->data, b->data, (size_t)a->height * a->stride) == 0;
}

Test(augment, table_and_builtins_parse)
{
    int n;
    const vg_aug_transform_t *t = vg_augment_table(&n);
    cr_assert_eq(n, 17);
    vg_augment_recipe_t r;
    char err[256];
    for (int i = 0; i < n; i++) /* every transform with its defaults */
        cr_assert(vg_augment_recipe_parse(t[i].name, &r, err, sizeof(err)) == 0 && r.n_steps == 1, "%s: %s",
                  t[i].name, err);
    const char *names[] = {"amplify", "conditions", "night", "fog", "rain", "noise", "ir"};
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        cr_assert(vg_augment_recipe_parse(names[i], &r, err, sizeof(err)) == 0 && r.n_steps >= 1, "%s", names[i]);
}

Test(augment, bad_recipes_say_why)
{
    vg_augment_recipe_t r;
    char err[256];
    cr_assert_eq(vg_augment_recipe_parse("rotate angle=3", &r, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "unknown parameter 'angle'"), "%s", err);
    cr_assert_eq(vg_augment_recipe_parse("mirror\nswirl", &r, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "step 2") && strstr(err, "swirl"), "%s", err);
    cr_assert_eq(vg_augment_recipe_parse("rotate deg=10:-10", &r, err, sizeof(err)), -EINVAL);
    cr_assert_eq(vg_augment_recipe_parse("gauss sigma=500", &r, err, sizeof(err)), -EINVAL);
    cr_assert_eq(vg_augment_recipe_parse("mirror p=2", &r, err, sizeof(err)), -EINVAL);
    cr_assert_eq(vg_augment_recipe_parse("blur sigma", &r, err, sizeof(err)), -EINVAL);
}

Test(augment, recipe_text_round_trips)
{
    vg_augment_recipe_t r, back;
    char err[256], text[4096], again[4096];
    cr_assert(vg_augment_recipe_parse("amplify", &r, err, sizeof(err)) == 0);
    int n = vg_augment_recipe_format(&r, text, sizeof(text));
    cr_assert(n > 0 && n < (int)sizeof(text));
    cr_assert(vg_augment_recipe_parse(text, &back, err, sizeof(err)) == 0, "%s\n%s", text, err);
    cr_assert(memcmp(&r, &back, sizeof(r)) == 0, "%s", text);
    vg_augment_recipe_format(&back, again, sizeof(again));
    cr_assert_str_eq(text, again);
    cr_assert_eq(vg_augment_recipe_format(&r, NULL, 0), n); /* the size it needs */
}

Test(augment, deterministic_by_seed_and_index)
{
    const char *rc = "amplify; conditions; blur sigma=0:1 p=0.5; jpeg p=0.5; poisson p=0.3; saltpepper p=0.3; "
                     "crop p=0.5";
    vg_aug_image_t a = run(rc, 3, 7, 3), b = run(rc, 3, 7, 3), c = run(rc, 3, 7, 4), d = run(rc, 3, 8, 3);
    cr_assert(same(&a, &b), "same seed and index, different pictures");
    cr_assert(!same(&a, &c), "index 3 and 4 gave the same picture");
    cr_assert(!same(&a, &d), "seed 7 and 8 gave the same picture");
    /* a batch gives image k the index first + k, whatever batch it is in */
    vg_augment_t *aug = vg_augment_open(rc, pw, ph, NULL, 0);
    cr_assert_not_null(aug);
    size_t sz = (size_t)pw * ph * 3;
    uint8_t *batch = malloc(2 * sz);
    memcpy(batch, photo, sz);
    memcpy(batch + sz, photo, sz);
    cr_assert_eq(vg_augment_batch(aug, batch, batch, 2, pw, ph, 3, 7, 2), 0);
    cr_assert(memcmp(batch + sz, a.data, sz) == 0, "batch image 1 (index 3) differs from a lone index 3");
    vg_augment_close(aug);
    free(batch);
    free(a.data), free(b.data), free(c.data), free(d.data);
}

Test(augment, geometric_identities)
{
    vg_aug_image_t o = copy_photo(3);
    const char *ids[] = {"rotate deg=0", "translate dx=0 dy=0", "scale s=1", "crop area=1", "mirror p=0",
                         "blur sigma=0", "brightness add=0", "contrast factor=1", "gamma g=1", "gauss sigma=0"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(*ids); i++) {
        vg_aug_image_t im = run(ids[i], 3, 1, 0);
        cr_assert(same(&im, &o), "'%s' is not the identity (mean diff %.3f)", ids[i], mad(&im, &o));
        free(im.data);
    }
    free(o.data);
}

Test(augment, mirror_is_exact)
{
    vg_aug_image_t o = copy_photo(3), m = run("mirror", 3, 1, 0);
    for (int y = 0; y < ph; y += 7)
        for (int x = 0; x < pw; x++)
            for (int c = 0; c < 3; c++)
                cr_assert_eq(m.data[(size_t)y * m.stride + 3 * x + c],
                             o.data[(size_t)y * o.stride + 3 * (pw - 1 - x) + c]);
    free(o.data), free(m.data);
}

Test(augment, geometry_moves_the_picture)
{
    vg_aug_image_t o = copy_photo(1);
    /* a shift of 10% right: column x + dx of the result is column x of the original */
    int dx = pw / 10;
    char shift[64];
    snprintf(shift, sizeof(shift), "translate dx=%.17g dy=0", (double)dx / pw);
    vg_aug_image_t t = run(shift, 1, 1, 0);
    for (int y = 0; y < ph; y += 5)
        for (int x = 0; x + dx < pw; x += 3)
            cr_assert_eq(t.data[(size_t)y * pw + x + dx], o.data[(size_t)y * pw + x]);
    /* rotation by 180 is a mirror both ways (up to the bilinear rounding) */
    vg_aug_image_t r = run("rotate deg=180", 1, 1, 0);
    double e = 0;
    for (int y = 0; y < ph; y++)
        for (int x = 0; x < pw; x++)
            e += abs(r.data[(size_t)y * pw + x] - o.data[(size_t)(ph - 1 - y) * pw + (pw - 1 - x)]);
    cr_assert_lt(e / ((double)pw * ph), 0.6, "rotate 180: mean error %.3f", e / ((double)pw * ph));
    /* scale 2: the centre pixel stays, the picture's detail spreads out */
    vg_aug_image_t s = run("scale s=2", 1, 1, 0);
    int cx = pw / 2, cy = ph / 2;
    cr_assert_leq(abs(s.data[(size_t)cy * pw + cx] - o.data[(size_t)cy * pw + cx]), 40);
    cr_assert_lt(detail(&s), 0.6 * detail(&o));
    free(o.data), free(t.data), free(r.data), free(s.data);
}

Test(augment, photometric_do_what_they_say)
{
    vg_aug_image_t o = copy_photo(3);
    double m0 = mean(&o), s0 = stdev(&o);
    vg_aug_image_t b = run("brightness add=20", 3, 1, 0);
    cr_assert(mean(&b) > m0 + 15 && mean(&b) < m0 + 20.5, "brightness +20: %.1f -> %.1f", m0, mean(&b));
    vg_aug_image_t c = run("contrast factor=0.5", 3, 1, 0);
    cr_assert(fabs(stdev(&c) - 0.5 * s0) < 1.0 && fabs(mean(&c) - m0) < 1.0, "contrast 0.5: std %.1f -> %.1f", s0,
              stdev(&c));
    vg_aug_image_t g = run("gamma g=2", 3, 1, 0);
    cr_assert_lt(mean(&g), m0 - 10, "gamma 2 should darken mid-tones");
    vg_aug_image_t n = run("gauss sigma=10", 3, 1, 0);
    double d = 0;
    for (size_t i = 0; i < (size_t)pw * ph * 3; i++)
        d += (double)(n.data[i] - o.data[i]) * (n.data[i] - o.data[i]);
    d = sqrt(d / ((double)pw * ph * 3));
    cr_assert(d > 8.5 && d < 10.5, "gauss 10: rms difference %.2f", d); /* clipping at 0/255 lowers it a bit */
    vg_aug_image_t sp = run("saltpepper amount=0.05", 3, 1, 0);
    long changed = 0;
    for (size_t i = 0; i < (size_t)pw * ph; i++)
        changed += memcmp(sp.data + 3 * i, o.data + 3 * i, 3) != 0;
    double share = (double)changed / ((double)pw * ph);
    cr_assert(share > 0.04 && share < 0.06, "saltpepper 5%%: %.3f changed", share);
    vg_aug_image_t p = run("poisson peak=20", 3, 1, 0), p2 = run("poisson peak=2000", 3, 1, 0);
    cr_assert_gt(mad(&p, &o), 3 * mad(&p2, &o), "fewer photons must be noisier");
    vg_aug_image_t bl = run("blur sigma=2", 3, 1, 0);
    cr_assert_lt(detail(&bl), 0.3 * detail(&o));
    cr_assert_lt(fabs(mean(&bl) - m0), 1.0);
    vg_aug_image_t j = run("jpeg quality=10", 3, 1, 0), j2 = run("jpeg quality=95", 3, 1, 0);
    cr_assert(!same(&j, &o) && mad(&j, &o) > 2 * mad(&j2, &o), "jpeg q10 %.2f vs q95 %.2f", mad(&j, &o),
              mad(&j2, &o));
    vg_aug_image_t jg = run("jpeg quality=50", 1, 1, 0); /* grey: TJSAMP_GRAY */
    vg_aug_image_t og = copy_photo(1);
    cr_assert(mad(&jg, &og) > 0.2 && mad(&jg, &og) < 6, "jpeg grey %.2f", mad(&jg, &og));
    free(o.data), free(b.data), free(c.data), free(g.data), free(n.data), free(sp.data), free(p.data);
    free(p2.data), free(bl.data), free(j.data), free(j2.data), free(jg.data), free(og.data);
}

Test(augment, conditions_do_what_they_say)
{
    vg_aug_image_t o = copy_photo(3);
    double m0 = mean(&o), s0 = stdev(&o);
    vg_aug_image_t n = run("night", 3, 1, 0);
    cr_assert_lt(mean(&n), 0.15 * m0, "night: mean %.1f -> %.1f", m0, mean(&n));
    vg_aug_image_t f = run("fog", 3, 1, 0);
    cr_assert_lt(stdev(&f), 0.5 * s0, "fog: contrast %.1f -> %.1f", s0, stdev(&f));
    cr_assert_gt(mean(&f), m0, "fog lightens toward the airlight");
    /* depth: the top (far) is foggier than the bottom (near) */
    double top = 0, bot = 0, otop = 0, obot = 0;
    for (int x = 0; x < pw * 3; x++) {
        top += abs(f.data[x] - 210), otop += abs(o.data[x] - 210);
        bot += abs(f.data[(size_t)(ph - 1) * f.stride + x] - 210), obot += abs(o.data[(size_t)(ph - 1) * o.stride + x] - 210);
    }
    cr_assert_lt(top / otop, bot / obot, "fog must be denser at the top");
    vg_aug_image_t r = run("rain noise=0", 3, 1, 0);
    cr_assert_gt(mean(&r), m0 + 0.1, "rain streaks brighten");
    long streak = 0;
    for (size_t i = 0; i < (size_t)pw * ph * 3; i++)
        streak += r.data[i] > o.data[i];
    cr_assert_gt(streak, 400 * 10 * 0.3 * pw * ph / (768.0 * 576.0), "too few streak pixels: %ld", streak);
    vg_aug_image_t ir = run("ir noise=0", 3, 1, 0);
    for (size_t i = 0; i < (size_t)pw * ph; i++)
        cr_assert(ir.data[3 * i] == ir.data[3 * i + 1] && ir.data[3 * i] == ir.data[3 * i + 2], "ir keeps colour");
    cr_assert_lt(mean(&ir), 0.45 * m0);
    free(o.data), free(n.data), free(f.data), free(r.data), free(ir.data);
}

/* The parameters bench/degrade's families need (degrade/family.h). */
Test(augment, condition_parameters)
{
    vg_aug_image_t o = copy_photo(1);
    /* fog from the left: the left column is foggier (closer to the airlight) than the right */
    vg_aug_image_t f = run("fog dir=2 noise=0 linear=1", 1, 1, 0);
    double l = 0, r = 0, ol = 0, orr = 0;
    for (int y = 0; y < ph; y++) {
        l += abs(f.data[(size_t)y * pw] - 210), ol += abs(o.data[(size_t)y * pw] - 210);
        r += abs(f.data[(size_t)y * pw + pw - 1] - 210), orr += abs(o.data[(size_t)y * pw + pw - 1] - 210);
    }
    cr_assert_lt(l / ol, 0.2, "left: %.2f", l / ol);
    cr_assert(fabs(r / orr - 0.45) < 0.05, "right keeps t_near of the contrast: %.2f", r / orr);
    /* hot pixels: about the share asked, at 200..239 in a dark picture */
    vg_aug_image_t h = run("night noise=0 hot=0.01", 1, 1, 0);
    long hot = 0;
    for (size_t i = 0; i < (size_t)pw * ph; i++)
        hot += h.data[i] >= 200 && h.data[i] < 240;
    cr_assert(hot > 0.007 * pw * ph && hot < 0.013 * pw * ph, "hot pixels: %ld", hot);
    /* vignette: the corners lose light against the centre */
    vg_aug_image_t flat = copy_photo(1), vig = copy_photo(1);
    memset(flat.data, 200, (size_t)pw * ph);
    memset(vig.data, 200, (size_t)pw * ph);
    vg_augment_t *a = vg_augment_open("ir noise=0 vignette=0.5 gamma=1", pw, ph, NULL, 0);
    cr_assert_eq(vg_augment_apply(a, &vig, 1, 0), 0);
    vg_augment_close(a);
    int centre = vig.data[(size_t)(ph / 2) * pw + pw / 2], corner = vig.data[0];
    cr_assert(abs(centre - 70) <= 1 && abs(corner - 35) <= 1, "vignette: centre %d corner %d", centre, corner);
    /* banding: rows of a flat picture get different offsets, columns within a row do not */
    vg_augment_t *b = vg_augment_open("night gain=1 gamma=1 noise=0 banding=4", pw, ph, NULL, 0);
    cr_assert_eq(vg_augment_apply(b, &flat, 1, 0), 0);
    vg_augment_close(b);
    int rows_differ = 0;
    for (int y = 1; y < ph; y++) {
        rows_differ += flat.data[(size_t)y * pw] != flat.data[(size_t)(y - 1) * pw];
        cr_assert_eq(flat.data[(size_t)y * pw + 5], flat.data[(size_t)y * pw], "row %d not flat", y);
    }
    cr_assert_gt(rows_differ, ph / 2);
    /* rain: darkened picture, slanted blended streaks that never pass the white level */
    vg_aug_image_t rn = run("rain noise=0 darken=0.5 angle=20 blend=1 amp=60:90 width=2", 1, 1, 0);
    cr_assert(mean(&rn) < 0.6 * mean(&o), "darken 0.5: %.1f -> %.1f", mean(&o), mean(&rn));
    vg_aug_image_t rr = run("rain noise=0 angle=-30 len=20:20 streaks=200 amp=255", 1, 1, 0);
    int slanted = 0;
    for (int y = 0; y + 1 < ph; y++)
        for (int x = 1; x < pw; x++)
            if (rr.data[(size_t)y * pw + x] == 255 && o.data[(size_t)y * pw + x] < 200 &&
                rr.data[(size_t)(y + 1) * pw + x - 1] == 255)
                slanted++;
    cr_assert_gt(slanted, 50, "streaks at -30 degrees lean left going down: %d", slanted);
    free(o.data), free(f.data), free(h.data), free(flat.data), free(vig.data), free(rn.data), free(rr.data);
}

Test(augment, yuv420_for_footage)
{
    /* the photo as limited-range YUV 4:2:0 (BT.601) */
    int cw = (pw + 1) / 2, ch = (ph + 1) / 2;
    uint8_t *y = malloc((size_t)pw * ph), *u = malloc((size_t)cw * ch), *v = malloc((size_t)cw * ch);
    for (int j = 0; j < ph; j++)
        for (int i = 0; i < pw; i++) {
            const uint8_t *p = photo + ((size_t)j * pw + i) * 3;
            y[(size_t)j * pw + i] = (uint8_t)lrint(16 + (0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]) * 219 / 255);
            if (!(i & 1) && !(j & 1)) {
                u[(size_t)(j / 2) * cw + i / 2] = (uint8_t)lrint(128 + (-0.1687 * p[0] - 0.3313 * p[1] + 0.5 * p[2]) * 224 / 255);
                v[(size_t)(j / 2) * cw + i / 2] = (uint8_t)lrint(128 + (0.5 * p[0] - 0.4187 * p[1] - 0.0813 * p[2]) * 224 / 255);
            }
        }
    vg_augment_t *a = vg_augment_open("night noise=0", pw, ph, NULL, 0);
    cr_assert_not_null(a);
    uint8_t *planes[3] = {y, u, v};
    int ls[3] = {pw, cw, cw};
    double ym = 0;
    for (size_t i = 0; i < (size_t)pw * ph; i++)
        ym += y[i];
    cr_assert_eq(vg_augment_apply_yuv420(a, planes, ls, pw, ph, 0, 1, 0), 0);
    double ym2 = 0;
    int lo = 255, far = 0;
    for (size_t i = 0; i < (size_t)pw * ph; i++)
        ym2 += y[i], lo = y[i] < lo ? y[i] : lo;
    for (size_t i = 0; i < (size_t)cw * ch; i++)
        far = abs(u[i] - 128) > far ? abs(u[i] - 128) : far;
    double black = 16.0 * pw * ph;
    cr_assert_lt(ym2 - black, 0.2 * (ym - black));
    cr_assert_geq(lo, 16, "limited range: black stays at 16");
    cr_assert_leq(far, 10, "night fades colour");
    vg_augment_close(a);
    a = vg_augment_open("rotate", pw, ph, NULL, 0);
    cr_assert_eq(vg_augment_apply_yuv420(a, planes, ls, pw, ph, 0, 1, 0), -ENOTSUP);
    vg_augment_close(a);
    free(y), free(u), free(v);
}

Test(augment, no_allocation_per_image)
{
    /* net heap use is the same before and after 20 images through every
     * transform but jpeg (libjpeg allocates its pools inside each call) */
    vg_augment_t *a = vg_augment_open("amplify; conditions; crop; blur; poisson; saltpepper; gamma", pw, ph, NULL, 0);
    cr_assert_not_null(a);
    vg_aug_image_t im = copy_photo(3);
    vg_augment_apply(a, &im, 1, 0);
    struct mallinfo2 before = mallinfo2();
    for (int i = 1; i <= 20; i++)
        cr_assert_eq(vg_augment_apply(a, &im, 1, (uint64_t)i), 0);
    struct mallinfo2 after = mallinfo2();
    cr_assert_eq(after.uordblks, before.uordblks, "heap grew by %zu bytes", after.uordblks - before.uordblks);
    cr_assert_eq(vg_augment_apply(a, &(vg_aug_image_t){im.data, pw + 1, ph, 3, (pw + 1) * 3}, 1, 0), -EINVAL);
    vg_augment_close(a);
    free(im.data);
}
