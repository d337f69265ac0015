/* Activation arena placement (internal to the engine): given blocks with a
 * lifetime in plan steps and a size, give each an offset in one buffer so
 * that two blocks alive at the same step never share a byte, and blocks that
 * are never alive together may. Greedy: largest block first, each at the
 * lowest offset that clears every already-placed block overlapping it in
 * time (first fit). It is O(n^2) per placed block in the worst case; models
 * for cameras have a few hundred blocks and this runs once at load.
 *
 * Thread: pure function, any thread. */
#ifndef VG_ENG_ARENA_H
#define VG_ENG_ARENA_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int def, last;          /* first and last step that touch the block, inclusive (def <= last) */
    size_t bytes;           /* size wanted; rounded up to the alignment */
    int64_t off;            /* out: offset in the arena, a multiple of the alignment */
} vg_arena_block_t;

/* Places the n blocks of b (b[i].off written for every i) with offsets and
 * sizes rounded to align (a power of two), and sets *ret_total to the arena
 * size needed (0 when n is 0). Ties in size are placed in index order, so the
 * result is deterministic. Returns 0, -EINVAL (align not a power of two, a
 * block with def > last or def < 0), -EFBIG (sizes overflow int64) or
 * -ENOMEM; on failure b and *ret_total are left untouched. */
int vg_arena_place(vg_arena_block_t *b, int n, size_t align, int64_t *ret_total);

#endif
