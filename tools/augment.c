/*
 * vigil augment IN OUT --seed N --recipe R [--copies K]: the augment
 * library (augment/augment.h) on one picture or a whole dataset folder.
 * A folder is walked recursively and its pictures (.jpg .jpeg .png) are
 * processed in sorted order of their relative paths; copy k of the picture
 * with rank i gets the random draws of index i * K + k, so a set is
 * reproduced by the same seed and recipe (OUT/augment.txt records both).
 * Other files (labels, manifests) are copied as they are.
 * Thread: the main thread only.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavutil/log.h>

#include "augment/augment.h"
#include "tools/imageio.h"

int vg_cli_augment(int argc, char **argv);

static char **files; /* relative paths under the input folder */
static size_t n_files, cap_files;
static size_t root_len;

static int collect(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)ftw;
    if (type != FTW_F)
        return 0;
    if (n_files == cap_files) {
        cap_files = cap_files ? 2 * cap_files : 256;
        char **f = realloc(files, cap_files * sizeof(*files));
        if (!f)
            return -1;
        files = f;
    }
    if (!(files[n_files] = strdup(path + root_len + 1)))
        return -1;
    n_files++;
    return 0;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool is_picture(const char *p)
{
    const char *dot = strrchr(p, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png"));
}

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    int r = in && out ? 0 : -errno;
    char buf[65536];
    size_t n;
    while (r == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            r = -EIO;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0 && r == 0)
        r = -errno;
    return r;
}

/* Makes the folder that will hold path. */
static int parent_dirs(const char *path)
{
    char d[4096];
    snprintf(d, sizeof(d), "%s", path);
    char *s = strrchr(d, '/');
    if (!s || s == d)
        return 0;
    *s = '\0';
    return vg_mkdirs(d);
}

/* One picture: copies copy 0..copies-1 to out (suffix _aK before the extension when copies > 1). */
static int one(const char *in, const char *out, const vg_augment_recipe_t *rc, uint64_t seed, uint64_t rank,
               int copies, int quality)
{
    vg_img_t img = {0}, work = {0};
    char err[512];
    int r = vg_img_read(in, &img, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "vigil augment: %s\n", err);
        return r;
    }
    vg_augment_t *a = NULL;
    if ((r = vg_augment_new(rc, img.width, img.height, &a)) < 0 ||
        !(work.data = malloc((size_t)img.width * img.height * img.channels))) {
        fprintf(stderr, "vigil augment: %s\n", strerror(r < 0 ? -r : ENOMEM));
        r = r < 0 ? r : -ENOMEM;
        goto out;
    }
    work.width = img.width, work.height = img.height, work.channels = img.channels;
    for (int k = 0; k < copies; k++) {
        memcpy(work.data, img.data, (size_t)img.width * img.height * img.channels);
        vg_aug_image_t ai = {work.data, work.width, work.height, work.channels, work.width * work.channels};
        if ((r = vg_augment_apply(a, &ai, seed, rank * (uint64_t)copies + (uint64_t)k)) < 0) {
            fprintf(stderr, "vigil augment: '%s': %s\n", in, strerror(-r));
            goto out;
        }
        char path[4096];
        if (copies > 1) {
            const char *dot = strrchr(out, '.');
            const char *slash = strrchr(out, '/');
            size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - out) : strlen(out);
            snprintf(path, sizeof(path), "%.*s_a%d%s", (int)stem, out, k, out + stem);
        } else {
            snprintf(path, sizeof(path), "%s", out);
        }
        if ((r = parent_dirs(path)) < 0 || (r = vg_img_write(path, &work, 0, 0, work.width, work.height, quality)) < 0) {
            fprintf(stderr, "vigil augment: cannot write '%s': %s\n", path, strerror(-r));
            goto out;
        }
    }
out:
    vg_augment_free(&a);
    vg_img_release(&img);
    vg_img_release(&work);
    return r;
}

static void usage(FILE *o)
{
    fprintf(o, "usage: vigil augment IN OUT [--seed N] [--recipe R] [--copies K] [--quality Q] [--list]\n"
               "  Amplifies or degrades a picture (IN, OUT files) or a dataset (IN, OUT folders: every\n"
               "  .jpg/.jpeg/.png below IN, same relative paths below OUT, other files copied).\n"
               "  --recipe R   a recipe file, recipe text ('mirror p=0.5; rotate deg=-10:10'), or a\n"
               "               built-in: amplify (default), conditions, night, fog, rain, noise, ir\n"
               "  --seed N     random seed (default 0); the same seed and recipe give the same set\n"
               "  --copies K   K amplified copies of each picture, named NAME_aK.EXT (default 1)\n"
               "  --quality Q  JPEG quality of the pictures written (default 95)\n"
               "  --list       print the transforms and their parameters, and exit\n");
}

static void list_table(void)
{
    int n;
    const vg_aug_transform_t *t = vg_augment_table(&n);
    static const char *kind[] = {"geometric", "photometric", "condition"};
    for (int i = 0; i < n; i++) {
        printf("%-11s %-11s %s\n", t[i].name, kind[t[i].kind], t[i].doc);
        for (int k = 0; k < t[i].n_params; k++) {
            const vg_aug_param_t *p = &t[i].params[k];
            if (p->def_lo == p->def_hi)
                printf("    %-9s default %-11g range %g..%g  %s\n", p->key, p->def_lo, p->min, p->max, p->doc);
            else {
                char def[40];
                snprintf(def, sizeof(def), "%g:%g", p->def_lo, p->def_hi);
                printf("    %-9s default %-11s range %g..%g  %s\n", p->key, def, p->min, p->max, p->doc);
            }
        }
    }
    printf("every step also takes p=P (0..1): the chance it applies to a picture (default 1)\n");
}

/* --recipe: a file's text, else the argument itself. */
static char *recipe_text(const char *arg)
{
    FILE *f = strchr(arg, '=') || strchr(arg, ';') ? NULL : fopen(arg, "r");
    if (!f)
        return strdup(arg);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

int vg_cli_augment(int argc, char **argv)
{
    static const struct option lo[] = {
        {"seed", required_argument, NULL, 's'},    {"recipe", required_argument, NULL, 'r'},
        {"copies", required_argument, NULL, 'k'},  {"quality", required_argument, NULL, 'q'},
        {"list", no_argument, NULL, 'l'},          {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *recipe_arg = "amplify";
    unsigned long long seed = 0;
    long copies = 1, quality = 95;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:r:k:q:lh", lo, NULL)) != -1) {
        char *end;
        switch (c) {
        case 's':
            seed = strtoull(optarg, &end, 10);
            if (!*optarg || *end) {
                fprintf(stderr, "vigil augment: --seed takes a whole number\n");
                return 2;
            }
            break;
        case 'r': recipe_arg = optarg; break;
        case 'k':
        case 'q': {
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 1 || v > (c == 'k' ? 1000 : 100)) {
                fprintf(stderr, "vigil augment: --%s takes 1..%d\n", c == 'k' ? "copies" : "quality",
                        c == 'k' ? 1000 : 100);
                return 2;
            }
            *(c == 'k' ? &copies : &quality) = v;
            break;
        }
        case 'l': list_table(); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 2) {
        usage(stderr);
        return 2;
    }
    const char *in = argv[optind], *out = argv[optind + 1];
    av_log_set_level(AV_LOG_ERROR);
    char *text = recipe_text(recipe_arg);
    vg_augment_recipe_t rc;
    char err[512];
    if (!text || vg_augment_recipe_parse(text, &rc, err, sizeof(err)) < 0) {
        fprintf(stderr, "vigil augment: recipe '%s': %s\n", recipe_arg, text ? err : "out of memory");
        free(text);
        return 2;
    }
    free(text);
    struct stat st;
    if (stat(in, &st) < 0) {
        fprintf(stderr, "vigil augment: '%s': %s\n", in, strerror(errno));
        return 1;
    }
    if (!S_ISDIR(st.st_mode))
        return one(in, out, &rc, seed, 0, (int)copies, (int)quality) < 0 ? 1 : 0;

    root_len = strlen(in);
    while (root_len > 1 && in[root_len - 1] == '/')
        root_len--;
    if (nftw(in, collect, 16, FTW_PHYS) != 0) {
        fprintf(stderr, "vigil augment: cannot read '%s': %s\n", in, strerror(errno));
        return 1;
    }
    qsort(files, n_files, sizeof(*files), cmp);
    int status = 0, r;
    if ((r = vg_mkdirs(out)) < 0) {
        fprintf(stderr, "vigil augment: cannot make '%s': %s\n", out, strerror(-r));
        return 1;
    }
    uint64_t rank = 0;
    long pictures = 0;
    for (size_t i = 0; i < n_files && status == 0; i++) {
        char from[4096], to[4096];
        snprintf(from, sizeof(from), "%.*s/%s", (int)root_len, in, files[i]);
        snprintf(to, sizeof(to), "%s/%s", out, files[i]);
        if (is_picture(files[i])) {
            if (one(from, to, &rc, seed, rank++, (int)copies, (int)quality) < 0)
                status = 1;
            pictures++;
        } else if (strcmp(files[i], "augment.txt") != 0) {
            if ((r = parent_dirs(to)) < 0 || (r = copy_file(from, to)) < 0) {
                fprintf(stderr, "vigil augment: cannot copy '%s' to '%s': %s\n", from, to, strerror(-r));
                status = 1;
            }
        }
    }
    if (status == 0) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/augment.txt", out);
        FILE *f = fopen(path, "w");
        int n = vg_augment_recipe_format(&rc, NULL, 0);
        char *buf = n > 0 ? malloc((size_t)n + 1) : NULL;
        if (!f || !buf) {
            fprintf(stderr, "vigil augment: cannot write '%s'\n", path);
            status = 1;
        } else {
            vg_augment_recipe_format(&rc, buf, (size_t)n + 1);
            fprintf(f, "# vigil augment IN OUT --seed %llu --copies %ld --recipe augment.txt\n%s", seed, copies, buf);
        }
        free(buf);
        if (f)
            fclose(f);
        fprintf(stderr, "vigil augment: %ld pictures -> %ld in '%s'\n", pictures, pictures * copies, out);
    }
    for (size_t i = 0; i < n_files; i++)
        free(files[i]);
    free(files);
    files = NULL, n_files = cap_files = 0;
    return status;
}
