/* assign: see assign.h. */
#include "pipeline/track/assign.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct vg_assign {
    int max_rows, max_cols, n; /* n = max(max_rows, max_cols) */
    double *u, *v, *minv;      /* n + 1 each: row and column potentials, slack */
    int *p, *way;              /* n + 1 each: column -> row (1-based), path */
    bool *used;                /* n + 1 */
    int *rows_kept, *cols_kept, *sub; /* n each: max_weight's compaction and result */
    float *mat;                /* max_rows * max_cols: max_weight's dense sub-problem */
};

int vg_assign_new(int max_rows, int max_cols, vg_assign_t **ret)
{
    if (max_rows < 1 || max_cols < 1)
        return -EINVAL;
    vg_assign_t *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    int n = max_rows > max_cols ? max_rows : max_cols;
    a->max_rows = max_rows;
    a->max_cols = max_cols;
    a->n = n;
    a->u = malloc(sizeof(double) * (size_t)(n + 1));
    a->v = malloc(sizeof(double) * (size_t)(n + 1));
    a->minv = malloc(sizeof(double) * (size_t)(n + 1));
    a->p = malloc(sizeof(int) * (size_t)(n + 1));
    a->way = malloc(sizeof(int) * (size_t)(n + 1));
    a->used = malloc(sizeof(bool) * (size_t)(n + 1));
    a->rows_kept = malloc(sizeof(int) * (size_t)n);
    a->cols_kept = malloc(sizeof(int) * (size_t)n);
    a->sub = malloc(sizeof(int) * (size_t)n);
    a->mat = malloc(sizeof(float) * (size_t)max_rows * (size_t)max_cols);
    if (!a->u || !a->v || !a->minv || !a->p || !a->way || !a->used || !a->rows_kept || !a->cols_kept ||
        !a->sub || !a->mat) {
        vg_assign_free(&a);
        return -ENOMEM;
    }
    *ret = a;
    return 0;
}

void vg_assign_free(vg_assign_t **pa)
{
    if (!pa || !*pa)
        return;
    vg_assign_t *a = *pa;
    free(a->u);
    free(a->v);
    free(a->minv);
    free(a->p);
    free(a->way);
    free(a->used);
    free(a->rows_kept);
    free(a->cols_kept);
    free(a->sub);
    free(a->mat);
    free(a);
    *pa = NULL;
}

static bool fits(const vg_assign_t *a, int rows, int cols)
{
    if (rows < 0 || cols < 0)
        return false;
    return (rows <= a->max_rows && cols <= a->max_cols) || (rows <= a->max_cols && cols <= a->max_rows);
}

/*
 * The solver, rows <= cols, sizes checked. For each new row i, grow a tree of
 * tight edges from it (Dijkstra on reduced costs c[i][j] - u[i] - v[j]),
 * adjusting the potentials by the smallest slack until a free column is
 * reached, then flip the path. Reduced costs stay >= 0 on every edge and are
 * 0 on the matched ones: that is the optimality certificate.
 */
static double solve(vg_assign_t *a, const float *c, int rows, int cols, int *ret_row_to_col)
{
    double *u = a->u, *v = a->v, *minv = a->minv;
    int *p = a->p, *way = a->way;
    bool *used = a->used;
    for (int j = 0; j <= cols; j++) {
        v[j] = 0;
        p[j] = 0;
        way[j] = 0;
    }
    for (int i = 0; i <= rows; i++)
        u[i] = 0;
    for (int i = 1; i <= rows; i++) {
        p[0] = i;
        int j0 = 0;
        for (int j = 0; j <= cols; j++) {
            minv[j] = INFINITY;
            used[j] = false;
        }
        do {
            used[j0] = true;
            int i0 = p[j0], j1 = 0;
            double delta = INFINITY;
            const float *row = c + (size_t)(i0 - 1) * (size_t)cols;
            for (int j = 1; j <= cols; j++) {
                if (used[j])
                    continue;
                double cur = (double)row[j - 1] - u[i0] - v[j];
                if (cur < minv[j]) {
                    minv[j] = cur;
                    way[j] = j0;
                }
                if (minv[j] < delta) {
                    delta = minv[j];
                    j1 = j;
                }
            }
            for (int j = 0; j <= cols; j++) {
                if (used[j]) {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
        } while (p[j0] != 0);
        do {
            int j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
        } while (j0);
    }
    double total = 0;
    for (int j = 1; j <= cols; j++) {
        if (p[j]) {
            ret_row_to_col[p[j] - 1] = j - 1;
            total += c[(size_t)(p[j] - 1) * (size_t)cols + (size_t)(j - 1)];
        }
    }
    return total;
}

int vg_assign_min_cost(vg_assign_t *a, const float *cost, int rows, int cols, int *ret_row_to_col,
                       double *ret_total)
{
    if (rows > cols || !fits(a, rows, cols))
        return -EINVAL;
    for (size_t k = 0; k < (size_t)rows * (size_t)cols; k++)
        if (!isfinite(cost[k]))
            return -EINVAL;
    double total = rows ? solve(a, cost, rows, cols, ret_row_to_col) : 0;
    if (ret_total)
        *ret_total = total;
    return 0;
}

int vg_assign_max_weight(vg_assign_t *a, const float *weight, int rows, int cols, int *ret_row_to_col,
                         int *ret_col_to_row)
{
    if (!fits(a, rows, cols))
        return -EINVAL;
    /* rows and columns with a positive weight: the only ones that can match.
     * cols_kept[j] first marks the columns seen, then lists them. */
    int nr = 0, nc = 0;
    memset(a->used, 0, sizeof(bool) * (size_t)(cols + 1));
    for (int i = 0; i < rows; i++) {
        const float *w = weight + (size_t)i * (size_t)cols;
        bool any = false;
        for (int j = 0; j < cols; j++) {
            if (!isfinite(w[j]))
                return -EINVAL;
            if (w[j] > 0) {
                any = true;
                a->used[j] = true;
            }
        }
        if (any)
            a->rows_kept[nr++] = i;
    }
    for (int j = 0; j < cols; j++)
        if (a->used[j])
            a->cols_kept[nc++] = j;
    for (int i = 0; i < rows; i++)
        ret_row_to_col[i] = -1;
    for (int j = 0; j < cols; j++)
        ret_col_to_row[j] = -1;
    if (nr == 0)
        return 0;
    /* the dense sub-problem as costs -max(w, 0), fewer side as rows: a row
     * left on a cost-0 column is unmatched, and an optimal full assignment of
     * the smaller side is a maximum-weight matching (a row and a column both
     * left unmatched with a positive weight between them would improve it) */
    bool transposed = nr > nc;
    int r = transposed ? nc : nr, c = transposed ? nr : nc;
    for (int i = 0; i < nr; i++) {
        const float *w = weight + (size_t)a->rows_kept[i] * (size_t)cols;
        for (int j = 0; j < nc; j++) {
            float x = w[a->cols_kept[j]];
            float cst = x > 0 ? -x : 0.0f;
            if (transposed)
                a->mat[(size_t)j * (size_t)c + (size_t)i] = cst;
            else
                a->mat[(size_t)i * (size_t)c + (size_t)j] = cst;
        }
    }
    solve(a, a->mat, r, c, a->sub);
    int pairs = 0;
    for (int k = 0; k < r; k++) {
        int i = transposed ? a->sub[k] : k, j = transposed ? k : a->sub[k];
        int ri = a->rows_kept[i], cj = a->cols_kept[j];
        if (weight[(size_t)ri * (size_t)cols + (size_t)cj] > 0) {
            ret_row_to_col[ri] = cj;
            ret_col_to_row[cj] = ri;
            pairs++;
        }
    }
    return pairs;
}
