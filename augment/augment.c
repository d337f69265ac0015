/* augment.c: see augment.h. */
#include "augment/augment.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef VG_HAVE_TURBOJPEG
#include <turbojpeg.h>
#endif

enum {
    T_TRANSLATE, T_ROTATE, T_SCALE, T_MIRROR, T_CROP,
    T_BRIGHTNESS, T_CONTRAST, T_GAMMA, T_GAUSS, T_POISSON, T_SALTPEPPER, T_BLUR, T_JPEG,
    T_NIGHT, T_FOG, T_RAIN, T_IR, T_COUNT
};

/* The table: every transform with its parameters. The conditions' defaults
 * are bench/degrade's first conditions (night gain 0.08 gamma 1.3, fog t
 * 0.12..0.45, rain 400 streaks per 768x576, ir gain 0.35); their other
 * parameters cover the families of bench/degrade/family.h (shot noise,
 * banding, hot pixels, vignette, fog direction and colour, rain angle,
 * width, blending and darkening), so that bench can draw its samples and
 * have them rendered here. */
static const vg_aug_transform_t table[T_COUNT] = {
    [T_TRANSLATE] = {"translate", VG_AUG_GEOMETRIC, 2,
                     {{"dx", -0.1, 0.1, -1, 1, "shift, fraction of the width"},
                      {"dy", -0.1, 0.1, -1, 1, "shift, fraction of the height"}},
                     "shift (borders repeat the edge)"},
    [T_ROTATE] = {"rotate", VG_AUG_GEOMETRIC, 1, {{"deg", -10, 10, -180, 180, "degrees, counter-clockwise"}},
                  "rotation about the centre"},
    [T_SCALE] = {"scale", VG_AUG_GEOMETRIC, 1, {{"s", 0.9, 1.1, 0.25, 4, "zoom factor (>1 enlarges)"}},
                 "zoom about the centre"},
    [T_MIRROR] = {"mirror", VG_AUG_GEOMETRIC, 0, {{0}}, "left-right mirror (exact)"},
    [T_CROP] = {"crop", VG_AUG_GEOMETRIC, 1, {{"area", 0.64, 1.0, 0.05, 1, "kept share of the area"}},
                "random crop of the same aspect, resized back to the full size"},
    [T_BRIGHTNESS] = {"brightness", VG_AUG_PHOTOMETRIC, 1, {{"add", -25, 25, -255, 255, "added to every value"}},
                      "brightness offset"},
    [T_CONTRAST] = {"contrast", VG_AUG_PHOTOMETRIC, 1, {{"factor", 0.75, 1.25, 0, 4, "about the image mean"}},
                    "contrast about the mean"},
    [T_GAMMA] = {"gamma", VG_AUG_PHOTOMETRIC, 1, {{"g", 0.8, 1.25, 0.1, 10, "out = in^g (normalized)"}},
                 "gamma curve"},
    [T_GAUSS] = {"gauss", VG_AUG_PHOTOMETRIC, 1, {{"sigma", 0, 8, 0, 128, "standard deviation, 0..255 units"}},
                 "additive Gaussian noise"},
    [T_POISSON] = {"poisson", VG_AUG_PHOTOMETRIC, 1,
                   {{"peak", 30, 30, 1, 10000, "photons at full white: fewer = noisier"}},
                   "shot noise, std sqrt(value) in photon units"},
    [T_SALTPEPPER] = {"saltpepper", VG_AUG_PHOTOMETRIC, 1,
                      {{"amount", 0.01, 0.01, 0, 1, "share of pixels set to 0 or 255"}},
                      "salt and pepper noise"},
    [T_BLUR] = {"blur", VG_AUG_PHOTOMETRIC, 1, {{"sigma", 0.5, 1.5, 0, 8, "Gaussian sigma, pixels"}},
                "Gaussian blur"},
    [T_JPEG] = {"jpeg", VG_AUG_PHOTOMETRIC, 1, {{"quality", 30, 90, 1, 100, "JPEG quality"}},
                "JPEG re-compression (libturbojpeg)"},
    [T_NIGHT] = {"night", VG_AUG_CONDITION, 8,
                 {{"gain", 0.08, 0.08, 0.005, 1, "light kept"},
                  {"gamma", 1.3, 1.3, 0.2, 5, "sensor response"},
                  {"noise", 2.5, 2.5, 0, 64, "read noise sigma"},
                  {"cgain", -1, -1, -1, 4, "colour kept (YUV chroma gain); -1 = gain"},
                  {"shot", 0, 0, 0, 8, "shot noise: sigma^2 += shot^2 * signal"},
                  {"banding", 0, 0, 0, 32, "row noise sigma (one offset per row)"},
                  {"hot", 0, 0, 0, 0.1, "share of hot pixels (bright, 200..239)"},
                  {"vignette", 0, 0, 0, 1, "edges keep (1 - vignette) of the centre's gain"}},
                 "low light: darkened, crushed, noisy; colour fades"},
    [T_FOG] = {"fog", VG_AUG_CONDITION, 8,
               {{"t_far", 0.12, 0.12, 0.01, 1, "transmission at the far edge"},
                {"t_near", 0.45, 0.45, 0.01, 1, "transmission at the near edge"},
                {"airlight", 210, 210, 0, 255, "atmospheric light A (grey level, 0..255 of the range)"},
                {"noise", 1, 1, 0, 64, "noise sigma"},
                {"dir", 0, 0, 0, 3, "far edge: 0 top, 1 bottom, 2 left, 3 none (uniform t_far)"},
                {"linear", 0, 0, 0, 1, "1: t linear between the edges; 0: depth d = -ln t linear"},
                {"air_u", 128, 128, 0, 255, "airlight chroma U (YUV; RGB gets the colour it makes)"},
                {"air_v", 128, 128, 0, 255, "airlight chroma V"}},
               "haze: I = J t + A (1 - t), t = exp(-d), depth d from the far edge to the near one"},
    [T_RAIN] = {"rain", VG_AUG_CONDITION, 8,
                {{"streaks", 400, 400, 0, 100000, "streaks per 768x576 (scaled with the area)"},
                 {"amp", 30, 70, 0, 255, "streak brightness added (blend: alpha in %), drawn per streak"},
                 {"noise", 3, 3, 0, 64, "noise sigma"},
                 {"len", 10, 30, 1, 400, "streak length in rows, drawn per streak"},
                 {"angle", 11.3, 11.3, -60, 60, "degrees from vertical (positive leans right)"},
                 {"width", 1, 1, 1, 4, "streak width in pixels"},
                 {"blend", 0, 0, 0, 1, "1: v + a (max - v), tapered at both ends (motion blur)"},
                 {"darken", 1, 1, 0.05, 1, "gain of the rainy picture"}},
                "thin bright slanted streaks + noise"},
    [T_IR] = {"ir", VG_AUG_CONDITION, 5,
              {{"gain", 0.35, 0.35, 0.005, 1, "light kept"},
               {"gamma", 1.1, 1.1, 0.2, 5, "sensor response"},
               {"noise", 10, 10, 0, 64, "read noise sigma"},
               {"shot", 0, 0, 0, 8, "shot noise: sigma^2 += shot^2 * signal"},
               {"vignette", 0, 0, 0, 1, "IR hotspot: edges keep (1 - vignette) of the centre's gain"}},
              "IR night mode: grey, dark, strong noise"},
};

static const struct {
    const char *name, *text;
} builtins[] = {
    {"amplify", "mirror p=0.5; translate dx=-0.1:0.1 dy=-0.1:0.1 p=0.8; rotate deg=-10:10 p=0.5; "
                "scale s=0.9:1.1 p=0.5; brightness add=-25:25 p=0.5; contrast factor=0.75:1.25 p=0.5; "
                "gauss sigma=0:6 p=0.3"},
    {"conditions", "night p=0.25; fog p=0.25; rain p=0.25; ir p=0.15; gauss sigma=0:8 p=0.3"},
    {"night", "night"},
    {"fog", "fog"},
    {"rain", "rain"},
    {"noise", "gauss sigma=12"},
    {"ir", "ir"},
};

struct vg_augment {
    vg_augment_recipe_t recipe;
    int max_w, max_h;
    uint8_t *tmp;     /* max_w * max_h * 3: warp / blur destination */
    float *kernel;    /* blur taps */
#ifdef VG_HAVE_TURBOJPEG
    tjhandle tj_c, tj_d;
    unsigned char *jpeg; /* compressed bytes, tjBufSize of the largest image */
    unsigned long jpeg_size;
#endif
};

/* ------------------------------------------------------------ random */

typedef struct {
    uint64_t s;
} rng_t;

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform(rng_t *r) { return (double)(splitmix(&r->s) >> 11) * (1.0 / 9007199254740992.0); }

static double gauss(rng_t *r)
{
    double u = uniform(r) + 0x1p-54, v = uniform(r);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static rng_t image_rng(uint64_t seed, uint64_t index)
{
    uint64_t s = seed * 0xD1B54A32D192ED03ull ^ index;
    rng_t r = {splitmix(&s)};
    splitmix(&r.s);
    return r;
}

static inline uint8_t q8(double v)
{
    long q = lrint(v);
    return (uint8_t)(q < 0 ? 0 : (q > 255 ? 255 : q));
}

/* ------------------------------------------------------------ recipe */

const vg_aug_transform_t *vg_augment_table(int *ret_n)
{
    if (ret_n)
        *ret_n = T_COUNT;
    return table;
}

const char *vg_augment_builtin(const char *name)
{
    for (size_t i = 0; i < sizeof(builtins) / sizeof(*builtins); i++)
        if (strcmp(builtins[i].name, name) == 0)
            return builtins[i].text;
    return NULL;
}

static int fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t n, const char *fmt, ...)
{
    if (err && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static bool parse_num(const char *s, size_t len, double *ret)
{
    char buf[64];
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (*end || !isfinite(v))
        return false;
    *ret = v;
    return true;
}

/* One step from "name key=v key=lo:hi p=P" (len bytes, no separators). */
static int parse_step(const char *s, size_t len, int line, vg_aug_step_t *st, char *err, size_t errlen)
{
    const char *end = s + len;
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    size_t nl = 0;
    while (s + nl < end && s[nl] != ' ' && s[nl] != '\t')
        nl++;
    int t = -1;
    for (int i = 0; i < T_COUNT; i++)
        if (strlen(table[i].name) == nl && strncmp(table[i].name, s, nl) == 0)
            t = i;
    if (t < 0)
        return fail(err, errlen, "step %d: unknown transform '%.*s'", line, (int)nl, s);
    const vg_aug_transform_t *tr = &table[t];
    *st = (vg_aug_step_t){.transform = t, .p = 1};
    for (int k = 0; k < tr->n_params; k++) {
        st->lo[k] = tr->params[k].def_lo;
        st->hi[k] = tr->params[k].def_hi;
    }
    s += nl;
    while (s < end) {
        while (s < end && (*s == ' ' || *s == '\t'))
            s++;
        if (s >= end)
            break;
        size_t wl = 0;
        while (s + wl < end && s[wl] != ' ' && s[wl] != '\t')
            wl++;
        const char *eq = memchr(s, '=', wl);
        if (!eq)
            return fail(err, errlen, "step %d: %s: '%.*s' is not key=value", line, tr->name, (int)wl, s);
        size_t kl = (size_t)(eq - s);
        const char *v = eq + 1;
        size_t vl = wl - kl - 1;
        const char *colon = memchr(v, ':', vl);
        double lo, hi;
        if (colon ? !parse_num(v, (size_t)(colon - v), &lo) || !parse_num(colon + 1, vl - (size_t)(colon - v) - 1, &hi)
                  : !parse_num(v, vl, &lo))
            return fail(err, errlen, "step %d: %s: '%.*s' wants a number or lo:hi", line, tr->name, (int)wl, s);
        if (!colon)
            hi = lo;
        if (hi < lo)
            return fail(err, errlen, "step %d: %s: range '%.*s' has lo > hi", line, tr->name, (int)wl, s);
        if (kl == 1 && *s == 'p') {
            if (colon || lo < 0 || lo > 1)
                return fail(err, errlen, "step %d: %s: p is one number 0..1", line, tr->name);
            st->p = lo;
        } else {
            int k = -1;
            for (int i = 0; i < tr->n_params; i++)
                if (strlen(tr->params[i].key) == kl && strncmp(tr->params[i].key, s, kl) == 0)
                    k = i;
            if (k < 0)
                return fail(err, errlen, "step %d: %s: unknown parameter '%.*s'", line, tr->name, (int)kl, s);
            if (lo < tr->params[k].min || hi > tr->params[k].max)
                return fail(err, errlen, "step %d: %s: %s must be within %g..%g", line, tr->name, tr->params[k].key,
                            tr->params[k].min, tr->params[k].max);
            st->lo[k] = lo;
            st->hi[k] = hi;
        }
        s += wl;
    }
    return 0;
}

/* Appends the steps of text to *r; a step that is a built-in's name alone
 * ("amplify") appends that recipe's steps (depth: built-ins use no built-ins). */
static int parse_into(const char *text, vg_augment_recipe_t *r, int depth, char *err, size_t errlen)
{
    int step = 0;
    for (const char *s = text; *s;) {
        size_t len = strcspn(s, ";\n");
        size_t cl = strcspn(s, "#");
        size_t use = cl < len ? cl : len;
        size_t k = 0;
        while (k < use && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r'))
            k++;
        size_t e = use;
        while (e > k && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r'))
            e--;
        if (e > k) {
            step++;
            char name[32];
            snprintf(name, sizeof(name), "%.*s", (int)(e - k), s + k);
            const char *b = depth == 0 && e - k < sizeof(name) ? vg_augment_builtin(name) : NULL;
            int rc;
            if (b) {
                if ((rc = parse_into(b, r, depth + 1, err, errlen)) < 0)
                    return rc;
            } else {
                if (r->n_steps >= VG_AUGMENT_MAX_STEPS)
                    return fail(err, errlen, "more than %d steps", VG_AUGMENT_MAX_STEPS);
                if ((rc = parse_step(s + k, e - k, step, &r->steps[r->n_steps], err, errlen)) < 0)
                    return rc;
                r->n_steps++;
            }
        }
        s += len + (s[len] != '\0');
    }
    return 0;
}

int vg_augment_recipe_parse(const char *text, vg_augment_recipe_t *ret, char *err, size_t errlen)
{
    if (!text || !ret)
        return fail(err, errlen, "no recipe");
    vg_augment_recipe_t r = {0};
    int rc = parse_into(text, &r, 0, err, errlen);
    if (rc < 0)
        return rc;
    *ret = r;
    return 0;
}

/* The shortest of %.15g / %.17g that reads back as v. */
static const char *num(double v, char buf[32])
{
    snprintf(buf, 32, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, 32, "%.17g", v);
    return buf;
}

int vg_augment_recipe_format(const vg_augment_recipe_t *r, char *buf, size_t n)
{
    char a[32], b[32];
    if (!r || r->n_steps < 0 || r->n_steps > VG_AUGMENT_MAX_STEPS)
        return -EINVAL;
    size_t len = 0;
#define PUT(...)                                                                                                   \
    do {                                                                                                           \
        int w_ = snprintf(buf ? buf + (len < n ? len : n) : NULL, len < n ? n - len : 0, __VA_ARGS__);               \
        if (w_ < 0)                                                                                                \
            return -EINVAL;                                                                                        \
        len += (size_t)w_;                                                                                         \
    } while (0)
    if (buf && n)
        buf[0] = '\0';
    for (int i = 0; i < r->n_steps; i++) {
        const vg_aug_step_t *st = &r->steps[i];
        if (st->transform < 0 || st->transform >= T_COUNT)
            return -EINVAL;
        const vg_aug_transform_t *tr = &table[st->transform];
        PUT("%s", tr->name);
        for (int k = 0; k < tr->n_params; k++) {
            if (st->lo[k] == st->hi[k])
                PUT(" %s=%s", tr->params[k].key, num(st->lo[k], a));
            else
                PUT(" %s=%s:%s", tr->params[k].key, num(st->lo[k], a), num(st->hi[k], b));
        }
        PUT(" p=%s\n", num(st->p, a));
    }
#undef PUT
    return (int)len;
}

/* ------------------------------------------------------------ lifecycle */

int vg_augment_new(const vg_augment_recipe_t *recipe, int max_w, int max_h, vg_augment_t **ret)
{
    if (!recipe || max_w <= 0 || max_h <= 0 || recipe->n_steps < 0 || recipe->n_steps > VG_AUGMENT_MAX_STEPS ||
        (size_t)max_w * (size_t)max_h > ((size_t)1 << 28))
        return -EINVAL;
    bool jpeg = false;
    for (int i = 0; i < recipe->n_steps; i++) {
        if (recipe->steps[i].transform < 0 || recipe->steps[i].transform >= T_COUNT)
            return -EINVAL;
        jpeg |= recipe->steps[i].transform == T_JPEG;
    }
#ifndef VG_HAVE_TURBOJPEG
    if (jpeg)
        return -ENOTSUP;
#endif
    vg_augment_t *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->recipe = *recipe;
    a->max_w = max_w;
    a->max_h = max_h;
    a->tmp = malloc((size_t)max_w * (size_t)max_h * 3);
    a->kernel = malloc(sizeof(float) * 64);
    if (!a->tmp || !a->kernel)
        goto fail;
#ifdef VG_HAVE_TURBOJPEG
    if (jpeg) {
        a->tj_c = tjInitCompress();
        a->tj_d = tjInitDecompress();
        a->jpeg_size = tjBufSize(max_w, max_h, TJSAMP_444);
        a->jpeg = tjAlloc((int)a->jpeg_size);
        if (!a->tj_c || !a->tj_d || !a->jpeg)
            goto fail;
    }
#endif
    (void)jpeg;
    *ret = a;
    return 0;
fail:
    vg_augment_free(&a);
    return -ENOMEM;
}

void vg_augment_free(vg_augment_t **p)
{
    if (!p || !*p)
        return;
    vg_augment_t *a = *p;
#ifdef VG_HAVE_TURBOJPEG
    if (a->tj_c)
        tjDestroy(a->tj_c);
    if (a->tj_d)
        tjDestroy(a->tj_d);
    tjFree(a->jpeg);
#endif
    free(a->tmp);
    free(a->kernel);
    free(a);
    *p = NULL;
}

/* ------------------------------------------------------------ kernels */

/* A plane of one or more interleaved channels, with the value range it
 * lives in (limited-range luma: lo 16, span 219). */
typedef struct {
    uint8_t *d;
    int w, h, c, stride;
    double lo, span;
} plane_t;

/* Inverse affine map: source (x, y) = (m0 x + m1 y + m2, m3 x + m4 y + m5)
 * for each destination pixel, bilinear, edges repeated; into tmp, then
 * copied back. */
static void warp(vg_augment_t *a, plane_t *p, const double m[6])
{
    const int w = p->w, h = p->h, c = p->c;
    uint8_t *out = a->tmp;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            double sx = m[0] * x + m[1] * y + m[2], sy = m[3] * x + m[4] * y + m[5];
            if (sx < 0) sx = 0;
            if (sy < 0) sy = 0;
            if (sx > w - 1) sx = w - 1;
            if (sy > h - 1) sy = h - 1;
            int x0 = (int)sx, y0 = (int)sy;
            int x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
            double fx = sx - x0, fy = sy - y0;
            const uint8_t *r0 = p->d + (size_t)y0 * p->stride, *r1 = p->d + (size_t)y1 * p->stride;
            for (int k = 0; k < c; k++) {
                double top = r0[x0 * c + k] + fx * (r0[x1 * c + k] - r0[x0 * c + k]);
                double bot = r1[x0 * c + k] + fx * (r1[x1 * c + k] - r1[x0 * c + k]);
                out[((size_t)y * w + x) * c + k] = q8(top + fy * (bot - top));
            }
        }
    }
    for (int y = 0; y < h; y++)
        memcpy(p->d + (size_t)y * p->stride, out + (size_t)y * w * c, (size_t)w * c);
}

/* dst = centre + R (src - centre) for zoom z and angle th: the inverse is
 * src = centre + R^-1 (dst - centre) / z, plus the shift (tx, ty) before. */
static void affine(vg_augment_t *a, plane_t *p, double z, double th, double tx, double ty)
{
    double cx = (p->w - 1) / 2.0, cy = (p->h - 1) / 2.0;
    double co = cos(th) / z, si = sin(th) / z;
    /* inverse of rotation by th (counter-clockwise on screen: y grows down) */
    double m[6] = {co, -si, 0, si, co, 0};
    m[2] = cx - m[0] * (cx + tx) - m[1] * (cy + ty);
    m[5] = cy - m[3] * (cx + tx) - m[4] * (cy + ty);
    if (th == 0 && z == 1) { /* pure shift: no rounding of the identity */
        m[0] = 1, m[1] = 0, m[3] = 0, m[4] = 1, m[2] = -tx, m[5] = -ty;
    }
    warp(a, p, m);
}

static void mirror(plane_t *p)
{
    for (int y = 0; y < p->h; y++) {
        uint8_t *r = p->d + (size_t)y * p->stride;
        for (int i = 0, j = p->w - 1; i < j; i++, j--)
            for (int k = 0; k < p->c; k++) {
                uint8_t t = r[i * p->c + k];
                r[i * p->c + k] = r[j * p->c + k];
                r[j * p->c + k] = t;
            }
    }
}

/* value v -> f(v) through a table (brightness, contrast, gamma, night/ir curves). */
static void lut_apply(plane_t *p, const uint8_t lut[256])
{
    for (int y = 0; y < p->h; y++) {
        uint8_t *r = p->d + (size_t)y * p->stride;
        for (int x = 0; x < p->w * p->c; x++)
            r[x] = lut[r[x]];
    }
}

static double mean_of(const plane_t *p)
{
    double s = 0;
    for (int y = 0; y < p->h; y++) {
        const uint8_t *r = p->d + (size_t)y * p->stride;
        long row = 0;
        for (int x = 0; x < p->w * p->c; x++)
            row += r[x];
        s += (double)row;
    }
    return s / ((double)p->w * p->h * p->c);
}

static void add_noise(plane_t *p, rng_t *rng, double sigma)
{
    if (sigma <= 0)
        return;
    for (int y = 0; y < p->h; y++) {
        uint8_t *r = p->d + (size_t)y * p->stride;
        for (int x = 0; x < p->w * p->c; x++)
            r[x] = q8(r[x] + sigma * gauss(rng));
    }
}

static void poisson(plane_t *p, rng_t *rng, double peak)
{
    double k = p->span / peak; /* value units per photon */
    for (int y = 0; y < p->h; y++) {
        uint8_t *r = p->d + (size_t)y * p->stride;
        for (int x = 0; x < p->w * p->c; x++) {
            double v = r[x] - p->lo;
            double sd = v > 0 ? sqrt(v * k) : 0;
            r[x] = q8(r[x] + sd * gauss(rng));
        }
    }
}

static void saltpepper(plane_t *p, rng_t *rng, double amount)
{
    for (int y = 0; y < p->h; y++) {
        uint8_t *r = p->d + (size_t)y * p->stride;
        for (int x = 0; x < p->w; x++) {
            double u = uniform(rng);
            if (u >= amount)
                continue;
            uint8_t v = u < amount / 2 ? (uint8_t)p->lo : (uint8_t)(p->lo + p->span);
            for (int k = 0; k < p->c; k++)
                r[x * p->c + k] = v;
        }
    }
}

static void blur(vg_augment_t *a, plane_t *p, double sigma)
{
    if (sigma <= 0.05)
        return;
    int rad = (int)ceil(3 * sigma);
    if (rad > 31)
        rad = 31;
    float *kk = a->kernel, sum = 0;
    for (int i = -rad; i <= rad; i++)
        sum += kk[i + rad] = (float)exp(-0.5 * i * i / (sigma * sigma));
    for (int i = 0; i <= 2 * rad; i++)
        kk[i] /= sum;
    const int w = p->w, h = p->h, c = p->c;
    uint8_t *t = a->tmp;
    for (int y = 0; y < h; y++) { /* horizontal into tmp */
        const uint8_t *r = p->d + (size_t)y * p->stride;
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++) {
                float s = 0;
                for (int i = -rad; i <= rad; i++) {
                    int xx = x + i < 0 ? 0 : (x + i >= w ? w - 1 : x + i);
                    s += kk[i + rad] * r[xx * c + k];
                }
                t[((size_t)y * w + x) * c + k] = q8(s);
            }
    }
    for (int y = 0; y < h; y++) { /* vertical back */
        uint8_t *r = p->d + (size_t)y * p->stride;
        for (int x = 0; x < w * c; x++) {
            float s = 0;
            for (int i = -rad; i <= rad; i++) {
                int yy = y + i < 0 ? 0 : (y + i >= h ? h - 1 : y + i);
                s += kk[i + rad] * t[(size_t)yy * w * c + x];
            }
            r[x] = q8(s);
        }
    }
}

static int jpeg(vg_augment_t *a, plane_t *p, int quality)
{
#ifdef VG_HAVE_TURBOJPEG
    int pf = p->c == 1 ? TJPF_GRAY : TJPF_RGB, samp = p->c == 1 ? TJSAMP_GRAY : TJSAMP_420;
    unsigned long size = a->jpeg_size;
    if (tjCompress2(a->tj_c, p->d, p->w, p->stride, p->h, pf, &a->jpeg, &size, samp, quality,
                    TJFLAG_NOREALLOC | TJFLAG_ACCURATEDCT) != 0)
        return -EIO;
    if (tjDecompress2(a->tj_d, a->jpeg, size, p->d, p->w, p->stride, p->h, pf, TJFLAG_ACCURATEDCT) != 0)
        return -EIO;
    return 0;
#else
    (void)a, (void)p, (void)quality;
    return -ENOTSUP;
#endif
}

/* curve: lo + span * gain * ((v - lo) / span)^gamma */
static void curve_lut(uint8_t lut[256], double lo, double span, double gain, double gamma)
{
    for (int v = 0; v < 256; v++) {
        double n = (v - lo) / span;
        lut[v] = q8(lo + span * gain * pow(n > 0 ? n : 0, gamma));
    }
}

/* Transmission at (fx, fy) in 0..1 of the picture. */
static double transmission(const double *x, double fx, double fy)
{
    double far = x[0], near = x[1], f;
    switch ((int)lrint(x[4])) {
    case 0: f = fy; break;
    case 1: f = 1 - fy; break;
    case 2: f = fx; break;
    default: return far;
    }
    if (lrint(x[5]))
        return far + f * (near - far);
    double d_far = -log(far), d_near = -log(near);
    return exp(-(d_far + f * (d_near - d_far)));
}

/* I = J t + A (1 - t) on a plane; air[c] per interleaved channel. */
static void fog(plane_t *p, rng_t *rng, const double *x, const double air[3], double noise)
{
    for (int y = 0; y < p->h; y++) {
        double fy = p->h > 1 ? (double)y / (p->h - 1) : 1;
        uint8_t *r = p->d + (size_t)y * p->stride;
        for (int i = 0; i < p->w; i++) {
            double fx = p->w > 1 ? (double)i / (p->w - 1) : 1;
            double t = transmission(x, fx, fy);
            for (int c = 0; c < p->c; c++)
                r[i * p->c + c] = q8(r[i * p->c + c] * t + air[c] * (1 - t) + (noise > 0 ? noise * gauss(rng) : 0));
        }
    }
}

/* Rain: x = streaks, amp lo:hi (per streak), noise, len lo:hi (per streak),
 * angle, width, blend, darken (see the table). */
static void rain(plane_t *p, rng_t *rng, const double *x, const vg_aug_step_t *st)
{
    double top = p->lo + p->span;
    int n = (int)(x[0] * p->w * p->h / (768.0 * 576.0) + 0.5);
    double slope = tan(x[4] * M_PI / 180.0);
    int width = (int)lrint(x[5]), blend = (int)lrint(x[6]);
    for (int k = 0; k < n; k++) {
        int len = (int)lrint(st->lo[3] + uniform(rng) * (st->hi[3] - st->lo[3]));
        double amp = st->lo[1] + uniform(rng) * (st->hi[1] - st->lo[1]);
        if (len > p->h - 1)
            len = p->h - 1;
        double sx = uniform(rng), sy = uniform(rng);
        if (len < 1)
            continue;
        int dx = (int)lrint((len - 1) * slope);
        int xmin = dx < 0 ? -dx : 0, xmax = p->w - width - (dx > 0 ? dx : 0);
        if (xmax <= xmin)
            continue;
        int x0 = xmin + (int)(sx * (xmax - xmin)), y0 = (int)(sy * (p->h - len));
        for (int i = 0; i < len; i++) {
            int yy = y0 + i, xx = x0 + (int)lrint(i * slope);
            for (int w = 0; w < width; w++) {
                uint8_t *v = p->d + (size_t)yy * p->stride + (size_t)(xx + w) * p->c;
                for (int c = 0; c < p->c; c++) {
                    if (blend) {
                        double a = amp * 0.01 * sin(M_PI * (i + 0.5) / len);
                        v[c] = q8(v[c] + a * (top - v[c]));
                    } else {
                        v[c] = q8(v[c] + amp);
                    }
                }
            }
        }
    }
}

/* Low light (night, ir): per value lo + span * g * ((v - lo) / span)^gamma
 * with g the gain times the vignette, noise with shot noise, banding per
 * row, hot pixels. k: colour kept relative to the light (RGB: each channel
 * about the pixel's grey; YUV chroma: separately by chroma_fade). */
static void lowlight(plane_t *p, rng_t *rng, double gain, double gamma, double noise, double shot, double banding,
                     double hot, double vignette, double k)
{
    for (int y = 0; y < p->h; y++) {
        uint8_t *r = p->d + (size_t)y * p->stride;
        double fy = p->h > 1 ? (double)y / (p->h - 1) : 0.5;
        double band = banding > 0 ? banding * gauss(rng) : 0;
        for (int i = 0; i < p->w; i++) {
            double g = gain;
            if (vignette > 0) {
                double fx = p->w > 1 ? (double)i / (p->w - 1) : 0.5;
                g *= 1 - vignette * 2 * ((fx - 0.5) * (fx - 0.5) + (fy - 0.5) * (fy - 0.5));
            }
            double out[3], grey = 0;
            for (int c = 0; c < p->c; c++) {
                double n = (r[i * p->c + c] - p->lo) / p->span;
                double sig = p->span * g * pow(n > 0 ? n : 0, gamma);
                out[c] = sig;
                grey += sig / p->c;
            }
            bool is_hot = hot > 0 && uniform(rng) < hot;
            double hv = is_hot ? 200 + floor(uniform(rng) * 40) : 0;
            for (int c = 0; c < p->c; c++) {
                double sig = p->c == 3 ? grey + (out[c] - grey) * k : out[c];
                double sd = shot > 0 ? sqrt(noise * noise + shot * shot * (sig > 0 ? sig : 0)) : noise;
                double v = p->lo + sig + (sd > 0 ? sd * gauss(rng) : 0) + band;
                r[i * p->c + c] = is_hot ? (uint8_t)hv : q8(v);
            }
        }
    }
}

/* RGB -> grey in every channel (IR mode). */
static void to_grey(plane_t *p)
{
    if (p->c != 3)
        return;
    for (int y = 0; y < p->h; y++) {
        uint8_t *r = p->d + (size_t)y * p->stride;
        for (int x = 0; x < p->w; x++) {
            uint8_t g = q8(0.299 * r[3 * x] + 0.587 * r[3 * x + 1] + 0.114 * r[3 * x + 2]);
            r[3 * x] = r[3 * x + 1] = r[3 * x + 2] = g;
        }
    }
}

/* Chroma of a YUV picture pulled toward grey: c' = 128 + (c - 128) k,
 * plus noise (night, fog: k per row from the transmission). */
static void chroma_fade(plane_t *p, rng_t *rng, double k, double noise)
{
    for (int y = 0; y < p->h; y++) {
        uint8_t *r = p->d + (size_t)y * p->stride;
        for (int x = 0; x < p->w; x++)
            r[x] = q8(128 + (r[x] - 128) * k + (noise > 0 ? noise * gauss(rng) : 0));
    }
}

/* ------------------------------------------------------------ apply */

static double draw(rng_t *r, const vg_aug_step_t *st, int k)
{
    return st->lo[k] == st->hi[k] ? st->lo[k] : st->lo[k] + uniform(r) * (st->hi[k] - st->lo[k]);
}

/* Runs step st on the main plane p (an RGB/grey image, or a YUV luma) and,
 * for YUV, on the chroma planes u, v (NULL otherwise). */
static int run_step(vg_augment_t *a, const vg_aug_step_t *st, rng_t *r, plane_t *p, plane_t *u, plane_t *v)
{
    double x[VG_AUGMENT_MAX_PARAMS];
    /* draws happen whether or not the step applies, so that changing one
     * step's p leaves the other steps' draws alone */
    double coin = uniform(r);
    for (int k = 0; k < table[st->transform].n_params; k++)
        x[k] = draw(r, st, k);
    if (coin >= st->p)
        return 0;
    uint8_t lut[256];
    switch (st->transform) {
    case T_TRANSLATE: affine(a, p, 1, 0, x[0] * p->w, x[1] * p->h); break;
    case T_ROTATE: affine(a, p, 1, x[0] * M_PI / 180.0, 0, 0); break;
    case T_SCALE: affine(a, p, x[0], 0, 0, 0); break;
    case T_MIRROR: mirror(p); break;
    case T_CROP: {
        double side = sqrt(x[0]);
        /* a window of `side` of each dimension at a random place, enlarged to the full size */
        double ox = uniform(r) * (1 - side), oy = uniform(r) * (1 - side);
        double ccx = (ox + side / 2 - 0.5) * (p->w - 1), ccy = (oy + side / 2 - 0.5) * (p->h - 1);
        affine(a, p, 1 / side, 0, -ccx / side, -ccy / side);
        break;
    }
    case T_BRIGHTNESS:
        for (int i = 0; i < 256; i++)
            lut[i] = q8(i + x[0]);
        lut_apply(p, lut);
        break;
    case T_CONTRAST: {
        double m = mean_of(p);
        for (int i = 0; i < 256; i++)
            lut[i] = q8(m + (i - m) * x[0]);
        lut_apply(p, lut);
        break;
    }
    case T_GAMMA:
        curve_lut(lut, p->lo, p->span, 1, x[0]);
        lut_apply(p, lut);
        break;
    case T_GAUSS: add_noise(p, r, x[0]); break;
    case T_POISSON: poisson(p, r, x[0]); break;
    case T_SALTPEPPER: saltpepper(p, r, x[0]); break;
    case T_BLUR: blur(a, p, x[0]); break;
    case T_JPEG: return jpeg(a, p, (int)lrint(x[0]));
    case T_NIGHT: {
        double cg = x[3] < 0 ? x[0] : x[3];
        lowlight(p, r, x[0], x[1], x[2], x[4], x[5], x[6], x[7], x[0] > 0 ? cg / x[0] : 1);
        if (u) {
            chroma_fade(u, r, cg, cg > 0 ? 0.6 * x[2] : 0);
            chroma_fade(v, r, cg, cg > 0 ? 0.6 * x[2] : 0);
        }
        break;
    }
    case T_FOG: {
        /* the airlight as this plane's values: grey + chroma (YUV), or the
         * RGB colour of (Y, U, V) */
        double ay = p->lo + x[2] / 255.0 * p->span, du = x[6] - 128, dv = x[7] - 128;
        double air[3] = {ay, ay, ay};
        if (!u && p->c == 3) {
            air[0] = x[2] + 1.402 * dv;
            air[1] = x[2] - 0.344136 * du - 0.714136 * dv;
            air[2] = x[2] + 1.772 * du;
        }
        fog(p, r, x, air, x[3]);
        if (u) {
            double au[3] = {x[6], x[6], x[6]}, av[3] = {x[7], x[7], x[7]};
            fog(u, r, x, au, x[3] / 2);
            fog(v, r, x, av, x[3] / 2);
        }
        break;
    }
    case T_RAIN:
        if (x[7] != 1) {
            for (int i = 0; i < 256; i++)
                lut[i] = q8(p->lo + (i - p->lo) * x[7]);
            lut_apply(p, lut);
            if (u) {
                chroma_fade(u, r, x[7], 0);
                chroma_fade(v, r, x[7], 0);
            }
        }
        add_noise(p, r, x[2]);
        rain(p, r, x, st);
        if (u) {
            add_noise(u, r, x[2] / 2);
            add_noise(v, r, x[2] / 2);
        }
        break;
    case T_IR:
        to_grey(p);
        lowlight(p, r, x[0], x[1], x[2], x[3], 0, 0, x[4], 1);
        if (u) {
            chroma_fade(u, r, 0, 0);
            chroma_fade(v, r, 0, 0);
        }
        break;
    default: return -EINVAL;
    }
    return 0;
}

int vg_augment_apply(vg_augment_t *a, vg_aug_image_t *img, uint64_t seed, uint64_t index)
{
    if (!a || !img || !img->data || img->width <= 0 || img->height <= 0 || img->width > a->max_w ||
        img->height > a->max_h || (img->channels != 1 && img->channels != 3) ||
        img->stride < img->width * img->channels)
        return -EINVAL;
    plane_t p = {img->data, img->width, img->height, img->channels, img->stride, 0, 255};
    rng_t r = image_rng(seed, index);
    for (int i = 0; i < a->recipe.n_steps; i++) {
        int rc = run_step(a, &a->recipe.steps[i], &r, &p, NULL, NULL);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int vg_augment_apply_yuv420(vg_augment_t *a, uint8_t *const planes[3], const int linesize[3], int width,
                            int height, int full_range, uint64_t seed, uint64_t index)
{
    if (!a || !planes || !planes[0] || !planes[1] || !planes[2] || width <= 0 || height <= 0 ||
        width > a->max_w || height > a->max_h)
        return -EINVAL;
    for (int i = 0; i < a->recipe.n_steps; i++)
        if (table[a->recipe.steps[i].transform].kind == VG_AUG_GEOMETRIC || a->recipe.steps[i].transform == T_JPEG)
            return -ENOTSUP;
    int cw = (width + 1) / 2, ch = (height + 1) / 2;
    plane_t y = {planes[0], width, height, 1, linesize[0], full_range ? 0 : 16, full_range ? 255 : 219};
    plane_t u = {planes[1], cw, ch, 1, linesize[1], full_range ? 0 : 16, full_range ? 255 : 224};
    plane_t v = {planes[2], cw, ch, 1, linesize[2], full_range ? 0 : 16, full_range ? 255 : 224};
    rng_t r = image_rng(seed, index);
    for (int i = 0; i < a->recipe.n_steps; i++) {
        int rc = run_step(a, &a->recipe.steps[i], &r, &y, &u, &v);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ------------------------------------------------------------ ctypes */

vg_augment_t *vg_augment_open(const char *recipe_text, int max_w, int max_h, char *err, size_t errlen)
{
    vg_augment_recipe_t rc;
    if (vg_augment_recipe_parse(recipe_text, &rc, err, errlen) < 0)
        return NULL;
    vg_augment_t *a = NULL;
    int r = vg_augment_new(&rc, max_w, max_h, &a);
    if (r < 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s", strerror(-r));
        return NULL;
    }
    return a;
}

int vg_augment_batch(vg_augment_t *a, const uint8_t *in, uint8_t *out, int n, int w, int h, int c, uint64_t seed,
                     uint64_t first_index)
{
    if (!a || !in || !out || n < 0 || w <= 0 || h <= 0 || (c != 1 && c != 3))
        return -EINVAL;
    size_t sz = (size_t)w * h * c;
    for (int k = 0; k < n; k++) {
        if (in != out)
            memcpy(out + sz * k, in + sz * k, sz);
        vg_aug_image_t im = {out + sz * k, w, h, c, w * c};
        int r = vg_augment_apply(a, &im, seed, first_index + (uint64_t)k);
        if (r < 0)
            return r;
    }
    return 0;
}

void vg_augment_close(vg_augment_t *a) { vg_augment_free(&a); }
