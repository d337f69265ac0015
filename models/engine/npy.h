/*
 * NumPy .npy / .npz reading and writing for the models CLI and the tests.
 * Reads little-endian float32/float64/int64/int32 arrays (C order) into
 * float32; .npz archives must be stored (np.savez), not compressed
 * (np.savez_compressed is refused with a clear error). Writes float32.
 * Thread: any; no shared state. Allocates (not for hot paths).
 */
#ifndef VG_NPY_H
#define VG_NPY_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *name;        /* key in an .npz ("" for .npy); owned */
    int ndim;
    int64_t dims[8];
    size_t count;
    float *data;       /* owned */
} vg_npy_t;

/* Reads an .npy (one array) or .npz (several) file. On success returns 0 and
 * sets *ret (free with vg_npy_free) and *ret_n. On failure returns a negative
 * errno and writes a message into err. */
int vg_npy_read(const char *path, vg_npy_t **ret, int *ret_n, char *err, size_t errlen);

/* Writes n arrays: an .npy when path ends in ".npy" (n must be 1), else an
 * uncompressed .npz keyed by name. Returns 0 or a negative errno. */
int vg_npy_write(const char *path, const vg_npy_t *arr, int n, char *err, size_t errlen);

void vg_npy_free(vg_npy_t *arr, int n);

#endif
