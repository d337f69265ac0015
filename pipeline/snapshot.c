/* snapshot.c: see snapshot.h. Why libturbojpeg and not libavcodec's mjpeg
 * encoder: it encodes from our planes in one call with no codec context or
 * AVFrame/AVPacket plumbing per picture, and DESIGN §4 names it. */
#include "pipeline/snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <turbojpeg.h>

#include "pipeline/draw.h"

struct vg_snapshot {
    vg_snapshot_config_t cfg;
    tjhandle tj;
    uint8_t *planes;        /* Y, then U, then V of the picture being encoded */
    size_t planes_cap;
    unsigned char *jpeg;    /* tjAlloc'd, tjBufSize of the largest picture so far */
    unsigned long jpeg_cap;
    char path[1024], tmp[1040];
};

int vg_snapshot_new(const vg_snapshot_config_t *cfg, vg_snapshot_t **ret)
{
    if (cfg->height < 0 || cfg->quality < 0 || cfg->quality > 100)
        return -EINVAL;
    vg_snapshot_t *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->cfg = *cfg;
    if (s->cfg.quality == 0)
        s->cfg.quality = 80;
    if (!(s->tj = tjInitCompress())) {
        free(s);
        return -ENOMEM;
    }
    *ret = s;
    return 0;
}

void vg_snapshot_free(vg_snapshot_t **ps)
{
    if (!ps || !*ps)
        return;
    vg_snapshot_t *s = *ps;
    if (s->tj)
        tjDestroy(s->tj);
    tjFree(s->jpeg);
    free(s->planes);
    free(s);
    *ps = NULL;
}

/* Y, U, V of source pixel (x, y) (x, y inside img). */
static void sample(const vg_image_t *img, int x, int y, uint8_t *ry, uint8_t *ru, uint8_t *rv)
{
    switch (img->format) {
    case VG_PIX_YUV420P:
        *ry = img->data[0][(size_t)y * img->linesize[0] + x];
        *ru = img->data[1][(size_t)(y / 2) * img->linesize[1] + x / 2];
        *rv = img->data[2][(size_t)(y / 2) * img->linesize[2] + x / 2];
        return;
    case VG_PIX_NV12: {
        const uint8_t *uv = img->data[1] + (size_t)(y / 2) * img->linesize[1] + (x / 2) * 2;
        *ry = img->data[0][(size_t)y * img->linesize[0] + x];
        *ru = uv[0];
        *rv = uv[1];
        return;
    }
    default: {
        const uint8_t *p = img->data[0] + (size_t)y * img->linesize[0] + (size_t)x * 3;
        int r = p[0], g = p[1], b = p[2];
        /* BT.601 full range, as JPEG expects */
        *ry = (uint8_t)((77 * r + 150 * g + 29 * b + 128) >> 8);
        *ru = (uint8_t)((-43 * r - 85 * g + 128 * b + 32768 + 128) >> 8);
        *rv = (uint8_t)((128 * r - 107 * g - 21 * b + 32768 + 128) >> 8);
        return;
    }
    }
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }


/* The box (source coordinates mapped by offset and scale) and its label
 * with the score above it, in green. */
static void overlay(uint8_t *y, uint8_t *u, uint8_t *v, int w, int h, int cw, const vg_events_snap_t *snap, int ox,
                    int oy, double sc)
{
    vg_draw_t p = {.data = {y, u, v}, .linesize = {w, cw, cw}, .width = w, .height = h};
    vg_draw_color_t green = vg_draw_color(0, 230, 0, true), black = vg_draw_color(0, 0, 0, true);
    int x1 = (int)((snap->box.x1 - ox) * sc), x2 = (int)((snap->box.x2 - ox) * sc);
    int y1 = (int)((snap->box.y1 - oy) * sc), y2 = (int)((snap->box.y2 - oy) * sc);
    int t = h >= 480 ? 3 : 2, s = h >= 720 ? 3 : h >= 360 ? 2 : 1;
    vg_draw_rect(&p, x1, y1, x2, y2, t, green);
    char text[64];
    snprintf(text, sizeof(text), "%s %.0f%%", snap->label, snap->score * 100);
    vg_draw_text(&p, x1, y1 - 9 * s, s, text, black, green);
}

int vg_snapshot_encode(vg_snapshot_t *s, const vg_image_t *img, const vg_events_snap_t *snap, const uint8_t **ret_jpeg,
                       size_t *ret_len)
{
    if (img->format != VG_PIX_YUV420P && img->format != VG_PIX_NV12 && img->format != VG_PIX_RGB24)
        return -ENOTSUP;
    /* the region: the frame, or the box grown by half its size each way */
    int rx = 0, ry = 0, rw = img->width, rh = img->height;
    if (s->cfg.crop) {
        float bw = snap->box.x2 - snap->box.x1, bh = snap->box.y2 - snap->box.y1;
        rx = clampi((int)(snap->box.x1 - bw / 2), 0, img->width - 2);
        ry = clampi((int)(snap->box.y1 - bh / 2), 0, img->height - 2);
        rw = clampi((int)(snap->box.x2 + bw / 2), rx + 2, img->width) - rx;
        rh = clampi((int)(snap->box.y2 + bh / 2), ry + 2, img->height) - ry;
    }
    double sc = s->cfg.height > 0 && s->cfg.height < rh ? (double)s->cfg.height / rh : 1.0;
    int w = ((int)(rw * sc) + 1) & ~1, h = ((int)(rh * sc) + 1) & ~1;
    if (w < 2)
        w = 2;
    if (h < 2)
        h = 2;
    int cw = w / 2, ch = h / 2;
    size_t need = (size_t)w * h + 2 * (size_t)cw * ch;
    if (need > s->planes_cap) {
        /* the first snapshot, or a bigger picture than any before */
        uint8_t *p = realloc(s->planes, need);
        if (!p)
            return -ENOMEM;
        s->planes = p;
        s->planes_cap = need;
    }
    unsigned long jcap = tjBufSize(w, h, TJSAMP_420);
    if (jcap > s->jpeg_cap) {
        tjFree(s->jpeg);
        s->jpeg_cap = 0;
        if (!(s->jpeg = tjAlloc((int)jcap)))
            return -ENOMEM;
        s->jpeg_cap = jcap;
    }
    uint8_t *py = s->planes, *pu = py + (size_t)w * h, *pv = pu + (size_t)cw * ch;
    /* nearest-neighbour scaling: a snapshot is looked at, not measured */
    for (int y = 0; y < h; y++) {
        int sy = clampi(ry + (int)(y / sc), 0, img->height - 1);
        for (int x = 0; x < w; x++) {
            int sx = clampi(rx + (int)(x / sc), 0, img->width - 1);
            uint8_t Y, U, V;
            sample(img, sx, sy, &Y, &U, &V);
            py[(size_t)y * w + x] = Y;
            if (!(x & 1) && !(y & 1)) {
                pu[(size_t)(y / 2) * cw + x / 2] = U;
                pv[(size_t)(y / 2) * cw + x / 2] = V;
            }
        }
    }
    if (s->cfg.overlay)
        overlay(py, pu, pv, w, h, cw, snap, rx, ry, sc);
    const unsigned char *planes[3] = {py, pu, pv};
    int strides[3] = {w, cw, cw};
    unsigned long len = s->jpeg_cap;
    unsigned char *out = s->jpeg;
    if (tjCompressFromYUVPlanes(s->tj, planes, w, strides, h, TJSAMP_420, &out, &len, s->cfg.quality,
                                TJFLAG_NOREALLOC) != 0)
        return -EIO;
    *ret_jpeg = out;
    *ret_len = len;
    return 0;
}

static int mkdirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int r = mkdir(path, 0755);
        *p = '/';
        if (r < 0 && errno != EEXIST)
            return -errno;
    }
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int vg_snapshot_write(vg_snapshot_t *s, const char *event_id, const uint8_t *jpeg, size_t len)
{
    if (!s->cfg.dir[0])
        return 0;
    int r;
    snprintf(s->path, sizeof(s->path), "%s/%s.jpg", s->cfg.dir, event_id);
    snprintf(s->tmp, sizeof(s->tmp), "%s/.%s.jpg.tmp", s->cfg.dir, event_id);
    int fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 && errno == ENOENT) {
        char dir[sizeof(s->cfg.dir)];
        snprintf(dir, sizeof(dir), "%s", s->cfg.dir);
        if ((r = mkdirs(dir)) < 0)
            return r;
        fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    }
    if (fd < 0)
        return -errno;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, jpeg + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = n < 0 ? -errno : -EIO;
            close(fd);
            unlink(s->tmp);
            return r;
        }
        off += (size_t)n;
    }
    if (close(fd) < 0 || rename(s->tmp, s->path) < 0) {
        r = -errno;
        unlink(s->tmp);
        return r;
    }
    return 0;
}

int vg_snapshot_prune(const char *dir, double max_age_s)
{
    if (max_age_s <= 0)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    int fd = dirfd(d), n = 0;
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".jpg") != 0)
            continue;
        struct stat st;
        if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            difftime(now, st.st_mtime) > max_age_s && unlinkat(fd, de->d_name, 0) == 0)
            n++;
    }
    closedir(d);
    return n;
}
