/* NumPy .npy/.npz I/O (see npy.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "models/engine/npy.h"

static int fail(char *err, size_t errlen, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

void vg_npy_free(vg_npy_t *arr, int n)
{
    if (!arr)
        return;
    for (int i = 0; i < n; i++) {
        free(arr[i].name);
        free(arr[i].data);
    }
    free(arr);
}

/* Parses one .npy image in memory into a. */
static int parse_npy(const uint8_t *b, size_t len, vg_npy_t *a, const char *what, char *err, size_t errlen)
{
    if (len < 10 || memcmp(b, "\x93NUMPY", 6))
        return fail(err, errlen, -EINVAL, "%s: not a .npy array (bad magic)", what);
    size_t hl, ho;
    if (b[6] == 1) {
        hl = b[8] | (b[9] << 8);
        ho = 10;
    } else {
        if (len < 12)
            return fail(err, errlen, -EINVAL, "%s: truncated", what);
        hl = b[8] | (b[9] << 8) | ((size_t)b[10] << 16) | ((size_t)b[11] << 24);
        ho = 12;
    }
    if (ho + hl > len || hl > 65536)
        return fail(err, errlen, -EINVAL, "%s: truncated header", what);
    char h[65537];
    memcpy(h, b + ho, hl);
    h[hl] = 0;
    const char *d = strstr(h, "'descr'");
    const char *fo = strstr(h, "'fortran_order'");
    const char *sh = strstr(h, "'shape'");
    if (!d || !fo || !sh)
        return fail(err, errlen, -EINVAL, "%s: bad header", what);
    d = strchr(d + 7, '\'');
    if (!d)
        return fail(err, errlen, -EINVAL, "%s: bad descr", what);
    d++;
    int kind; /* 0 f4 1 f8 2 i8 3 i4 */
    if (!strncmp(d, "<f4", 3) || !strncmp(d, "|f4", 3)) kind = 0;
    else if (!strncmp(d, "<f8", 3)) kind = 1;
    else if (!strncmp(d, "<i8", 3)) kind = 2;
    else if (!strncmp(d, "<i4", 3)) kind = 3;
    else
        return fail(err, errlen, -ENOTSUP, "%s: dtype '%.4s' is not supported (float32, float64, int64, int32)", what, d);
    if (strstr(fo, "True") && strstr(fo, "True") < sh + 200 && strstr(fo, "True") - fo < 24)
        return fail(err, errlen, -ENOTSUP, "%s: Fortran order is not supported", what);
    const char *p = strchr(sh, '(');
    if (!p)
        return fail(err, errlen, -EINVAL, "%s: bad shape", what);
    p++;
    a->ndim = 0;
    a->count = 1;
    while (*p && *p != ')') {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == ')')
            break;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 0 || a->ndim >= 8)
            return fail(err, errlen, -EINVAL, "%s: bad shape", what);
        a->dims[a->ndim++] = v;
        a->count *= (size_t)v;
        p = end;
    }
    size_t esz = kind == 0 || kind == 3 ? 4 : 8;
    if (ho + hl + a->count * esz > len)
        return fail(err, errlen, -EINVAL, "%s: truncated data (%zu elements expected)", what, a->count);
    a->data = malloc(a->count * 4 + 4);
    if (!a->data)
        return -ENOMEM;
    const uint8_t *s = b + ho + hl;
    for (size_t i = 0; i < a->count; i++) {
        switch (kind) {
        case 0: memcpy(&a->data[i], s + 4 * i, 4); break;
        case 1: { double x; memcpy(&x, s + 8 * i, 8); a->data[i] = (float)x; break; }
        case 2: { int64_t x; memcpy(&x, s + 8 * i, 8); a->data[i] = (float)x; break; }
        default: { int32_t x; memcpy(&x, s + 4 * i, 4); a->data[i] = (float)x; break; }
        }
    }
    return 0;
}

static uint32_t rd16(const uint8_t *p) { return p[0] | (p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t)p[3] << 24); }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | ((uint64_t)rd32(p + 4) << 32); }

static int parse_npz(const uint8_t *b, size_t len, const char *path, vg_npy_t **ret, int *ret_n, char *err, size_t errlen)
{
    /* end of central directory */
    size_t eocd = (size_t)-1;
    for (size_t i = len >= 22 ? len - 22 : 0; i + 22 <= len; i--) {
        if (rd32(b + i) == 0x06054b50) {
            eocd = i;
            break;
        }
        if (i == 0 || len - i > 65536 + 22)
            break;
    }
    if (eocd == (size_t)-1)
        return fail(err, errlen, -EINVAL, "%s: not a zip archive", path);
    uint64_t nent = rd16(b + eocd + 10), cdoff = rd32(b + eocd + 16);
    if ((nent == 0xffff || cdoff == 0xffffffffu) && eocd >= 20 && rd32(b + eocd - 20) == 0x07064b50) {
        uint64_t z = rd64(b + eocd - 20 + 8);
        if (z + 56 > len || rd32(b + z) != 0x06064b50)
            return fail(err, errlen, -EINVAL, "%s: bad zip64 directory", path);
        nent = rd64(b + z + 32);
        cdoff = rd64(b + z + 48);
    }
    if (nent > 4096)
        return fail(err, errlen, -EINVAL, "%s: too many entries", path);
    vg_npy_t *arr = calloc(nent + 1, sizeof(*arr));
    if (!arr)
        return -ENOMEM;
    size_t p = cdoff;
    int r = 0;
    for (uint64_t k = 0; k < nent; k++) {
        if (p + 46 > len || rd32(b + p) != 0x02014b50) {
            r = fail(err, errlen, -EINVAL, "%s: bad zip directory", path);
            goto out;
        }
        uint32_t method = rd16(b + p + 10);
        uint64_t csize = rd32(b + p + 20), usize = rd32(b + p + 24), loff = rd32(b + p + 42);
        uint32_t nl = rd16(b + p + 28), xl = rd16(b + p + 30), cl = rd16(b + p + 32);
        if (p + 46 + nl + xl > len) {
            r = fail(err, errlen, -EINVAL, "%s: truncated zip directory", path);
            goto out;
        }
        const uint8_t *x = b + p + 46 + nl, *xe = x + xl;
        while (x + 4 <= xe) {
            uint32_t id = rd16(x), sz = rd16(x + 2);
            if (id == 1) {
                const uint8_t *q = x + 4;
                if (usize == 0xffffffffu && q + 8 <= xe) { usize = rd64(q); q += 8; }
                if (csize == 0xffffffffu && q + 8 <= xe) { csize = rd64(q); q += 8; }
                if (loff == 0xffffffffu && q + 8 <= xe) { loff = rd64(q); }
            }
            x += 4 + sz;
        }
        if (method != 0) {
            r = fail(err, errlen, -ENOTSUP, "%s: compressed .npz is not supported (use np.savez, not savez_compressed)", path);
            goto out;
        }
        char *name = strndup((const char *)b + p + 46, nl);
        if (!name) {
            r = -ENOMEM;
            goto out;
        }
        size_t l = strlen(name);
        if (l > 4 && !strcmp(name + l - 4, ".npy"))
            name[l - 4] = 0;
        arr[k].name = name;
        if (loff + 30 > len || rd32(b + loff) != 0x04034b50) {
            r = fail(err, errlen, -EINVAL, "%s: bad local header for '%s'", path, name);
            goto out;
        }
        size_t data = loff + 30 + rd16(b + loff + 26) + rd16(b + loff + 28);
        if (data + csize > len || csize != usize) {
            r = fail(err, errlen, -EINVAL, "%s: truncated entry '%s'", path, name);
            goto out;
        }
        char what[512];
        snprintf(what, sizeof(what), "%s:%s", path, name);
        if ((r = parse_npy(b + data, csize, &arr[k], what, err, errlen)) < 0)
            goto out;
        p += 46 + nl + xl + cl;
    }
    *ret = arr;
    *ret_n = (int)nent;
    return 0;
out:
    vg_npy_free(arr, (int)nent);
    return r;
}

int vg_npy_read(const char *path, vg_npy_t **ret, int *ret_n, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, errlen, -errno, "cannot open '%s': %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (len < 0 || len > (1L << 34)) {
        fclose(f);
        return fail(err, errlen, -EFBIG, "'%s': bad size", path);
    }
    uint8_t *b = malloc(len ? len : 1);
    if (!b) {
        fclose(f);
        return -ENOMEM;
    }
    size_t n = fread(b, 1, len, f);
    fclose(f);
    int r;
    if (n != (size_t)len) {
        r = fail(err, errlen, -EIO, "short read on '%s'", path);
    } else if (len >= 4 && rd32(b) == 0x04034b50) {
        r = parse_npz(b, len, path, ret, ret_n, err, errlen);
    } else {
        vg_npy_t *a = calloc(1, sizeof(*a));
        if (!a) {
            free(b);
            return -ENOMEM;
        }
        a->name = strdup("");
        r = parse_npy(b, len, a, path, err, errlen);
        if (r < 0)
            vg_npy_free(a, 1);
        else {
            *ret = a;
            *ret_n = 1;
        }
    }
    free(b);
    return r;
}

static uint32_t crc_table[256];

static uint32_t crc32_buf(uint32_t c, const uint8_t *p, size_t n)
{
    if (!crc_table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t x = i;
            for (int k = 0; k < 8; k++)
                x = x & 1 ? 0xedb88320u ^ (x >> 1) : x >> 1;
            crc_table[i] = x;
        }
    c = ~c;
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return ~c;
}

/* Serializes a as .npy into a malloc'd buffer. */
static uint8_t *npy_image(const vg_npy_t *a, size_t *ret_len)
{
    char h[256];
    int l = snprintf(h, sizeof(h), "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < a->ndim; i++)
        l += snprintf(h + l, sizeof(h) - l, "%lld%s", (long long)a->dims[i], a->ndim == 1 ? "," : i + 1 < a->ndim ? ", " : "");
    l += snprintf(h + l, sizeof(h) - l, "), }");
    int total = 10 + l + 1;
    int pad = (64 - total % 64) % 64;
    size_t hl = l + pad + 1;
    size_t len = 10 + hl + a->count * 4;
    uint8_t *b = malloc(len);
    if (!b)
        return NULL;
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = hl & 0xff;
    b[9] = hl >> 8;
    memcpy(b + 10, h, l);
    memset(b + 10 + l, ' ', pad);
    b[10 + l + pad] = '\n';
    memcpy(b + 10 + hl, a->data, a->count * 4);
    *ret_len = len;
    return b;
}

static void wr16(FILE *f, uint32_t v) { fputc(v & 0xff, f); fputc((v >> 8) & 0xff, f); }
static void wr32(FILE *f, uint32_t v) { wr16(f, v & 0xffff); wr16(f, v >> 16); }

int vg_npy_write(const char *path, const vg_npy_t *arr, int n, char *err, size_t errlen)
{
    size_t pl = strlen(path);
    int is_npy = pl > 4 && !strcmp(path + pl - 4, ".npy");
    if (is_npy && n != 1)
        return fail(err, errlen, -EINVAL, "'%s': an .npy file holds one array, the model has %d outputs (use .npz)", path, n);
    FILE *f = fopen(path, "wb");
    if (!f)
        return fail(err, errlen, -errno, "cannot create '%s': %s", path, strerror(errno));
    int r = 0;
    if (is_npy) {
        size_t len;
        uint8_t *b = npy_image(&arr[0], &len);
        if (!b) {
            fclose(f);
            return -ENOMEM;
        }
        if (fwrite(b, 1, len, f) != len)
            r = -EIO;
        free(b);
    } else {
        uint32_t *offs = calloc(n + 1, sizeof(uint32_t)), *crcs = calloc(n + 1, sizeof(uint32_t)), *sizes = calloc(n + 1, sizeof(uint32_t));
        if (!offs || !crcs || !sizes) {
            free(offs); free(crcs); free(sizes);
            fclose(f);
            return -ENOMEM;
        }
        char name[512];
        for (int i = 0; i < n && !r; i++) {
            size_t len;
            uint8_t *b = npy_image(&arr[i], &len);
            if (!b || len > 0xffffffffu) {
                free(b);
                r = -EFBIG;
                break;
            }
            snprintf(name, sizeof(name), "%s.npy", arr[i].name && arr[i].name[0] ? arr[i].name : "arr");
            for (char *c = name; *c; c++)
                if (*c == '/')
                    *c = '_';
            offs[i] = (uint32_t)ftell(f);
            crcs[i] = crc32_buf(0, b, len);
            sizes[i] = (uint32_t)len;
            wr32(f, 0x04034b50); wr16(f, 20); wr16(f, 0); wr16(f, 0); wr16(f, 0); wr16(f, 0x21);
            wr32(f, crcs[i]); wr32(f, sizes[i]); wr32(f, sizes[i]); wr16(f, (uint32_t)strlen(name)); wr16(f, 0);
            fwrite(name, 1, strlen(name), f);
            if (fwrite(b, 1, len, f) != len)
                r = -EIO;
            free(b);
        }
        uint32_t cd = (uint32_t)ftell(f);
        for (int i = 0; i < n && !r; i++) {
            snprintf(name, sizeof(name), "%s.npy", arr[i].name && arr[i].name[0] ? arr[i].name : "arr");
            for (char *c = name; *c; c++)
                if (*c == '/')
                    *c = '_';
            wr32(f, 0x02014b50); wr16(f, 20); wr16(f, 20); wr16(f, 0); wr16(f, 0); wr16(f, 0); wr16(f, 0x21);
            wr32(f, crcs[i]); wr32(f, sizes[i]); wr32(f, sizes[i]); wr16(f, (uint32_t)strlen(name)); wr16(f, 0); wr16(f, 0);
            wr16(f, 0); wr16(f, 0); wr32(f, 0); wr32(f, offs[i]);
            fwrite(name, 1, strlen(name), f);
        }
        uint32_t cdlen = (uint32_t)ftell(f) - cd;
        wr32(f, 0x06054b50); wr16(f, 0); wr16(f, 0); wr16(f, n); wr16(f, n); wr32(f, cdlen); wr32(f, cd); wr16(f, 0);
        free(offs); free(crcs); free(sizes);
    }
    if (fclose(f) != 0 && !r)
        r = -EIO;
    if (r < 0)
        return fail(err, errlen, r, "writing '%s' failed", path);
    return 0;
}
