/*
 * assign: exact optimal assignment on small dense matrices (the tracker's
 * association, the MOT evaluator's IDF1 matching).
 *
 * Shortest augmenting paths with dual potentials (the Hungarian method in the
 * Jonker-Volgenant form, as in scipy's linear_sum_assignment): one row at a
 * time, O(rows^2 * cols). Exact for any finite costs; potentials are kept in
 * double so that float costs do not accumulate rounding into a wrong answer.
 * A library would do the same job (lap, scipy), but none that Debian ships is
 * a C library; this is ~150 lines.
 *
 * Owns: scratch arrays sized at vg_assign_new for the largest problem; no
 * allocation per call.
 * Thread: one caller at a time per vg_assign_t (the tracker's camera worker).
 * Blocks on: nothing.
 */
#ifndef VG_ASSIGN_H
#define VG_ASSIGN_H

typedef struct vg_assign vg_assign_t;

/* Scratch for problems up to max_rows x max_cols (either orientation).
 * Returns 0, -EINVAL (a size < 1) or -ENOMEM; *ret untouched on failure.
 * Thread: any. */
int vg_assign_new(int max_rows, int max_cols, vg_assign_t **ret);

/* Frees a (accepts NULL and *a == NULL) and sets *a = NULL. Thread: the owner. */
void vg_assign_free(vg_assign_t **a);

/*
 * Minimum-cost assignment of a rows x cols matrix (row-major, borrowed) with
 * rows <= cols: every row gets a distinct column and the sum of the chosen
 * costs is the smallest possible. Writes ret_row_to_col[rows] and, if
 * ret_total is not NULL, the sum. Returns 0; -EINVAL when rows > cols, a size
 * is out of the capacity given at new, or a cost is not finite (outputs then
 * untouched). rows == 0 is a valid empty problem. Thread: the owner.
 */
int vg_assign_min_cost(vg_assign_t *a, const float *cost, int rows, int cols, int *ret_row_to_col,
                       double *ret_total);

/*
 * Maximum-weight matching of a rows x cols weight matrix (row-major,
 * borrowed; any orientation): pairs with weight <= 0 are never matched, and
 * the sum of the matched weights is the largest possible. This is the
 * "assignment with a cost limit" that trackers use: weight = limit - cost.
 * Rows and columns with no positive weight are set aside before solving, so a
 * sparse matrix costs what its dense part costs.
 * Writes ret_row_to_col[rows] and ret_col_to_row[cols] (-1: unmatched);
 * returns the number of pairs, or -EINVAL (size out of capacity, weight not
 * finite; outputs then untouched). Thread: the owner.
 */
int vg_assign_max_weight(vg_assign_t *a, const float *weight, int rows, int cols, int *ret_row_to_col,
                         int *ret_col_to_row);

#endif
