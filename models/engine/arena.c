/* Memory planning: liveness of every activation over the planned steps, one
 * arena placed by vg_arena_place(), and the storage pointers bound into the
 * oneDNN memories and our own steps. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "models/engine/arena.h"
#include "models/engine/eng_internal.h"

typedef struct {
    int i;                  /* block index */
    int64_t bytes;          /* rounded size */
} order_t;

static int cmp_order(const void *a, const void *b)
{
    const order_t *x = a, *y = b;
    return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : x->i - y->i;
}

int vg_arena_place(vg_arena_block_t *b, int n, size_t align, int64_t *ret_total)
{
    if (!align || (align & (align - 1)) || align > (1u << 20) || n < 0)
        return -EINVAL;
    if (n == 0) {
        *ret_total = 0;
        return 0;
    }
    for (int i = 0; i < n; i++) {
        if (b[i].def < 0 || b[i].last < b[i].def)
            return -EINVAL;
        if (b[i].bytes > (size_t)(INT64_MAX / 2))
            return -EFBIG;
    }
    order_t *ord = malloc(n * sizeof(*ord));
    int64_t *off = malloc(n * sizeof(*off));
    if (!ord || !off) {
        free(ord);
        free(off);
        return -ENOMEM;
    }
    for (int i = 0; i < n; i++)
        ord[i] = (order_t){i, (int64_t)((b[i].bytes + align - 1) & ~(align - 1))};
    qsort(ord, n, sizeof(*ord), cmp_order);
    int64_t total = 0;
    int r = 0;
    for (int i = 0; i < n && !r; i++) {
        const vg_arena_block_t *v = &b[ord[i].i];
        /* first fit among the already placed blocks that overlap in time:
         * move past each one in the way until none is */
        int64_t o = 0;
        bool moved = true;
        while (moved) {
            moved = false;
            for (int j = 0; j < i; j++) {
                const vg_arena_block_t *u = &b[ord[j].i];
                int64_t uo = off[ord[j].i];
                if (u->last < v->def || v->last < u->def)
                    continue;
                if (o < uo + ord[j].bytes && uo < o + ord[i].bytes) {
                    o = uo + ord[j].bytes;
                    moved = true;
                }
            }
        }
        off[ord[i].i] = o;
        if (o > INT64_MAX - ord[i].bytes)
            r = -EFBIG;
        else if (o + ord[i].bytes > total)
            total = o + ord[i].bytes;
    }
    if (!r) {
        for (int i = 0; i < n; i++)
            b[i].off = off[i];
        *ret_total = total;
    }
    free(ord);
    free(off);
    return r;
}

/* def/last of every storage root: the first and last step reading or
 * writing it (through any alias). */
static void liveness(vg_engine_t *e)
{
    vg_graph_t *g = &e->g;
    for (int i = 0; i < g->nv; i++) {
        g->v[i].def = g->v[i].last = -1;
        g->v[i].bytes = 0;
    }
    for (int s = 0; s < e->nsteps; s++) {
        vg_step_t *st = &e->steps[s];
        for (int k = 0; k < st->nr; k++) {
            int rt = vg_root_of(g, st->rd[k]);
            if (g->v[rt].last < s)
                g->v[rt].last = s;
            if (g->v[rt].def < 0)
                g->v[rt].def = s;
        }
        for (int k = 0; k < st->nw; k++) {
            int rt = vg_root_of(g, st->wr[k]);
            if (g->v[rt].def < 0 || g->v[rt].def > s)
                g->v[rt].def = s;
            if (g->v[rt].last < s)
                g->v[rt].last = s;
        }
    }
    /* a root holds the largest of the views that share it */
    for (int i = 0; i < g->nv; i++) {
        vg_value_t *v = &g->v[i];
        if (!v->mem || v->cdata)
            continue;
        int rt = vg_root_of(g, i);
        size_t b = dnnl_memory_desc_get_size(&v->md);
        if (b > g->v[rt].bytes)
            g->v[rt].bytes = b;
    }
}

/* Every value's pointer (its root's storage), then the scratchpad, view and
 * own-kernel tensors of the steps. */
static int bind(vg_engine_t *e)
{
    vg_graph_t *g = &e->g;
    for (int i = 0; i < g->nv; i++) {
        vg_value_t *v = &g->v[i];
        if (!v->mem || v->cdata)
            continue;
        const vg_value_t *r = &g->v[vg_root_of(g, i)];
        void *p = r->ptr ? r->ptr : r->off >= 0 ? (char *)e->arena + r->off : NULL;
        if (!p)
            p = e->arena; /* never read nor written (dead branch) */
        v->ptr = p;
        dnnl_memory_set_data_handle(v->mem, p);
    }
    if (e->scratch_bytes) {
        e->scratch = aligned_alloc(64, (e->scratch_bytes + 63) & ~(size_t)63);
        if (!e->scratch)
            return -ENOMEM;
    }
    for (int s = 0; s < e->nsteps; s++) {
        vg_step_t *st = &e->steps[s];
        for (int k = 0; k < st->nargs; k++)
            if (st->args[k].arg == DNNL_ARG_SCRATCHPAD)
                dnnl_memory_set_data_handle(st->args[k].memory, e->scratch);
        if (st->view)
            dnnl_memory_set_data_handle(st->view, g->v[st->view_val].ptr);
        if (st->kind != STEP_OWN)
            continue;
        const vg_node_t *n = &g->n[st->node];
        /* rd lists the runtime inputs in order, skipping absent ones */
        int j = 0;
        for (int k = 0; k < n->nin; k++) {
            if (n->in[k] < 0)
                continue;
            int v = st->rd[j++];
            if (!g->v[v].cdata)
                st->tin[k].data = g->v[v].ptr;
        }
        for (int k = 0; k < n->nout; k++) {
            if (n->out[k] < 0)
                continue;
            const vg_value_t *v = &g->v[n->out[k]];
            st->tout[k].dtype = DT_F32;
            st->tout[k].ndim = v->ndim;
            memcpy(st->tout[k].dims, v->dims, sizeof(v->dims));
            st->tout[k].data = v->ptr;
        }
    }
    return 0;
}

int vg_eng_plan_memory(vg_engine_t *e)
{
    vg_graph_t *g = &e->g;
    liveness(e);
    int nb = 0, r;
    int *which = malloc((g->nv + 1) * sizeof(*which));
    vg_arena_block_t *b = malloc((g->nv + 1) * sizeof(*b));
    if (!which || !b) {
        free(which);
        free(b);
        return -ENOMEM;
    }
    for (int i = 0; i < g->nv; i++) {
        vg_value_t *v = &g->v[i];
        if (v->alias >= 0 || !v->mem || v->cdata || v->ptr || v->def < 0)
            continue; /* external (inputs/outputs) or never touched */
        which[nb] = i;
        b[nb++] = (vg_arena_block_t){v->def, v->last, v->bytes, -1};
    }
    int64_t total = 0;
    r = vg_arena_place(b, nb, 64, &total);
    for (int i = 0; i < nb && r == 0; i++)
        g->v[which[i]].off = b[i].off;
    free(which);
    free(b);
    if (r == -ENOMEM)
        return r;
    if (r < 0 || total > VG_MAX_ARENA)
        return vg_eng_err(e, -EFBIG, "activation memory of %lld bytes is absurd", (long long)total);
    e->arena_bytes = (size_t)total;
    e->arena = aligned_alloc(64, total ? (size_t)total : 64);
    if (!e->arena)
        return vg_eng_err(e, -ENOMEM, "out of memory for %zu bytes of activations", e->arena_bytes);
    return bind(e);
}
