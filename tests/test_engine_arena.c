/* Arena placement of the engine (models/engine/arena.c): blocks alive at the
 * same step never share a byte, blocks that never meet may, offsets are
 * aligned, the size lies between the peak of live bytes and the sum of all
 * blocks; and the same holds for the plan of a real model. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "models/engine/arena.h"
#include "models/engine/eng_internal.h"

static bool meet(const vg_arena_block_t *a, const vg_arena_block_t *b)
{
    return !(a->last < b->def || b->last < a->def);
}

static size_t round_up(size_t x, size_t a)
{
    return (x + a - 1) & ~(a - 1);
}

/* The invariants on a placed set; returns the peak of live (rounded) bytes. */
static int64_t check_placement(const vg_arena_block_t *b, int n, size_t align, int64_t total)
{
    int64_t end = 0, sum = 0, peak = 0;
    int maxstep = 0;
    for (int i = 0; i < n; i++) {
        int64_t sz = (int64_t)round_up(b[i].bytes, align);
        cr_assert_geq(b[i].off, 0, "block %d not placed", i);
        cr_assert_eq(b[i].off % (int64_t)align, 0, "block %d at %lld, not a multiple of %zu", i, (long long)b[i].off, align);
        if (b[i].off + sz > end)
            end = b[i].off + sz;
        sum += sz;
        if (b[i].last > maxstep)
            maxstep = b[i].last;
        for (int j = 0; j < i; j++) {
            if (!meet(&b[i], &b[j]))
                continue;
            int64_t szj = (int64_t)round_up(b[j].bytes, align);
            bool apart = b[i].off + sz <= b[j].off || b[j].off + szj <= b[i].off;
            cr_assert(apart, "blocks %d [%d,%d] @%lld+%lld and %d [%d,%d] @%lld+%lld are alive together and overlap", i,
                      b[i].def, b[i].last, (long long)b[i].off, (long long)sz, j, b[j].def, b[j].last, (long long)b[j].off,
                      (long long)szj);
        }
    }
    for (int s = 0; s <= maxstep; s++) {
        int64_t live = 0;
        for (int i = 0; i < n; i++)
            if (b[i].def <= s && s <= b[i].last)
                live += (int64_t)round_up(b[i].bytes, align);
        if (live > peak)
            peak = live;
    }
    cr_assert_eq(total, end, "total %lld, blocks end at %lld", (long long)total, (long long)end);
    cr_assert_geq(total, peak, "total %lld below the live peak %lld", (long long)total, (long long)peak);
    cr_assert_leq(total, sum, "total %lld above the sum of all blocks %lld", (long long)total, (long long)sum);
    return peak;
}

Test(arena, chain_reuses_dead_blocks)
{
    /* a -> b -> c -> d: each block lives from its producer to its consumer;
     * a and c never meet, nor b and d: two slots suffice */
    vg_arena_block_t b[4] = {{0, 1, 1000, -1}, {1, 2, 1000, -1}, {2, 3, 1000, -1}, {3, 4, 1000, -1}};
    int64_t total = -1;
    cr_assert_eq(vg_arena_place(b, 4, 64, &total), 0);
    check_placement(b, 4, 64, total);
    cr_expect_eq(total, 2 * 1024);
    cr_expect_eq(b[0].off, b[2].off);
    cr_expect_eq(b[1].off, b[3].off);
    cr_expect_neq(b[0].off, b[1].off);
}

Test(arena, disjoint_lifetimes_share_everything)
{
    vg_arena_block_t b[3] = {{0, 0, 300, -1}, {1, 1, 5000, -1}, {2, 5, 64, -1}};
    int64_t total = -1;
    cr_assert_eq(vg_arena_place(b, 3, 64, &total), 0);
    check_placement(b, 3, 64, total);
    cr_expect_eq(total, 5056); /* the largest block, rounded up */
    for (int i = 0; i < 3; i++)
        cr_expect_eq(b[i].off, 0);
}

Test(arena, all_alive_together_is_the_sum)
{
    vg_arena_block_t b[5];
    int64_t sum = 0;
    for (int i = 0; i < 5; i++) {
        b[i] = (vg_arena_block_t){0, 9, (size_t)(1 + 97 * i), -1};
        sum += (int64_t)round_up(b[i].bytes, 128);
    }
    int64_t total = -1;
    cr_assert_eq(vg_arena_place(b, 5, 128, &total), 0);
    check_placement(b, 5, 128, total);
    cr_expect_eq(total, sum);
}

Test(arena, alignment)
{
    size_t aligns[] = {1, 8, 64, 4096};
    for (size_t a = 0; a < sizeof(aligns) / sizeof(aligns[0]); a++) {
        vg_arena_block_t b[4] = {{0, 3, 1, -1}, {1, 2, 65, -1}, {0, 0, 4097, -1}, {2, 3, 200, -1}};
        int64_t total = -1;
        cr_assert_eq(vg_arena_place(b, 4, aligns[a], &total), 0);
        check_placement(b, 4, aligns[a], total);
    }
}

Test(arena, random_sets)
{
    /* deterministic pseudo-random lifetimes and sizes, as a model's would be */
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int round = 0; round < 200; round++) {
        int n = 1 + round % 60;
        vg_arena_block_t b[60];
        for (int i = 0; i < n; i++) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            int def = (int)((x >> 33) % 50);
            int len = (int)((x >> 20) % 8);
            size_t bytes = 1 + (size_t)((x >> 40) % 100000);
            b[i] = (vg_arena_block_t){def, def + len, bytes, -1};
        }
        int64_t total = -1;
        cr_assert_eq(vg_arena_place(b, n, 64, &total), 0);
        check_placement(b, n, 64, total);
    }
}

Test(arena, bad_arguments_leave_blocks_untouched)
{
    vg_arena_block_t b[2] = {{0, 1, 100, -7}, {2, 1, 100, -7}};
    int64_t total = -7;
    cr_expect_eq(vg_arena_place(b, 2, 64, &total), -EINVAL, "def > last");
    b[1].def = 1;
    cr_expect_eq(vg_arena_place(b, 2, 0, &total), -EINVAL, "alignment 0");
    cr_expect_eq(vg_arena_place(b, 2, 48, &total), -EINVAL, "alignment not a power of two");
    b[1].bytes = SIZE_MAX - 10;
    cr_expect_eq(vg_arena_place(b, 2, 64, &total), -EFBIG, "size overflows");
    cr_expect_eq(total, -7);
    cr_expect_eq(b[0].off, -7);
    cr_expect_eq(b[1].off, -7);
    cr_expect_eq(vg_arena_place(NULL, 0, 64, &total), 0);
    cr_expect_eq(total, 0);
}

/* The plan of a real network: the arena roots the engine placed (values
 * with an offset, their lifetime in steps) satisfy the same invariants, and
 * the engine's arena is exactly as large as the placement says. */
static void check_model(const char *file)
{
    char p[1024], msg[512];
    const char *cache = getenv("VIGIL_CACHE_DIR");
    cr_assert_not_null(cache, "VIGIL_CACHE_DIR is not set");
    snprintf(p, sizeof(p), "%s/models/%s", cache, file);
    vg_engine_t *e = NULL;
    cr_assert_eq(vg_engine_load(p, NULL, &e, msg, sizeof(msg)), 0, "%s: %s", p, msg);
    const vg_graph_t *g = &e->g;
    vg_arena_block_t *b = calloc(g->nv + 1, sizeof(*b));
    cr_assert_not_null(b);
    int n = 0;
    for (int i = 0; i < g->nv; i++) {
        const vg_value_t *v = &g->v[i];
        if (v->alias >= 0 || !v->mem || v->cdata || v->def < 0 || v->off < 0 || v->ptr != (char *)e->arena + v->off)
            continue;
        b[n++] = (vg_arena_block_t){v->def, v->last, v->bytes, v->off};
    }
    cr_expect_gt(n, 10, "%s: only %d blocks in the arena", file, n);
    int64_t end = 0;
    for (int i = 0; i < n; i++)
        if (b[i].off + (int64_t)round_up(b[i].bytes, 64) > end)
            end = b[i].off + (int64_t)round_up(b[i].bytes, 64);
    int64_t peak = check_placement(b, n, 64, end);
    cr_expect_eq((int64_t)vg_engine_arena_bytes(e), end, "%s: arena %zu, blocks end at %lld", file, vg_engine_arena_bytes(e),
                 (long long)end);
    /* liveness pays: far below one buffer per tensor */
    int64_t sum = 0;
    for (int i = 0; i < n; i++)
        sum += (int64_t)round_up(b[i].bytes, 64);
    cr_expect_lt(end, sum / 2, "%s: arena %lld of %lld bytes of tensors (peak %lld)", file, (long long)end, (long long)sum,
                 (long long)peak);
    free(b);
    vg_engine_free(&e);
}

Test(arena, real_model_plans, .timeout = 120)
{
    check_model("nanodet.onnx");
    check_model("blazeface.onnx");
}
