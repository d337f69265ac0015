/* zones.c: see zones.h. */
#include "pipeline/zones.h"

#include <string.h>

bool vg_polygon_contains(const vg_polygon_t *p, float x, float y)
{
    bool in = false;
    for (int i = 0, j = p->n - 1; i < p->n; j = i++) {
        const vg_point_t a = p->p[i], b = p->p[j];
        if ((a.y > y) != (b.y > y) && x < (b.x - a.x) * (y - a.y) / (b.y - a.y) + a.x)
            in = !in;
    }
    return in;
}

/* Twice the signed area of (a, b, c): > 0 when c is left of a->b (y up). */
static double orient(vg_point_t a, vg_point_t b, vg_point_t c)
{
    return ((double)b.x - a.x) * ((double)c.y - a.y) - ((double)b.y - a.y) * ((double)c.x - a.x);
}

static bool on_segment(vg_point_t a, vg_point_t b, vg_point_t c)
{
    return c.x >= (a.x < b.x ? a.x : b.x) && c.x <= (a.x > b.x ? a.x : b.x) && c.y >= (a.y < b.y ? a.y : b.y) &&
           c.y <= (a.y > b.y ? a.y : b.y);
}

static bool segments_intersect(vg_point_t a, vg_point_t b, vg_point_t c, vg_point_t d)
{
    double d1 = orient(c, d, a), d2 = orient(c, d, b), d3 = orient(a, b, c), d4 = orient(a, b, d);
    if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)))
        return true;
    return (d1 == 0 && on_segment(c, d, a)) || (d2 == 0 && on_segment(c, d, b)) ||
           (d3 == 0 && on_segment(a, b, c)) || (d4 == 0 && on_segment(a, b, d));
}

bool vg_polygon_self_intersects(const vg_polygon_t *p)
{
    int n = p->n;
    for (int i = 0; i < n; i++) {
        vg_point_t a = p->p[i], b = p->p[(i + 1) % n];
        if (a.x == b.x && a.y == b.y)
            return true;
        for (int j = i + 1; j < n; j++) {
            /* neighbours share a point by construction */
            if (j == i + 1 || (i == 0 && j == n - 1))
                continue;
            if (segments_intersect(a, b, p->p[j], p->p[(j + 1) % n]))
                return true;
        }
    }
    return false;
}

vg_point_t vg_point_scale(vg_point_t p, bool normalized, int w, int h)
{
    if (!normalized)
        return p;
    return (vg_point_t){p.x * (float)w, p.y * (float)h};
}

void vg_polygon_scale(const vg_polygon_t *p, int w, int h, vg_polygon_t *ret)
{
    *ret = *p;
    for (int i = 0; i < p->n; i++)
        ret->p[i] = vg_point_scale(p->p[i], p->normalized, w, h);
    ret->normalized = false;
}

int vg_segment_cross(vg_point_t a, vg_point_t b, vg_point_t p, vg_point_t q)
{
    double sp = orient(a, b, p), sq = orient(a, b, q);
    /* p must be strictly on one side; q on the other side or on the line */
    if (sp == 0 || (sp > 0 && sq > 0) || (sp < 0 && sq < 0))
        return 0;
    /* and the move must pass between a and b */
    double ta = orient(p, q, a), tb = orient(p, q, b);
    if ((ta > 0 && tb > 0) || (ta < 0 && tb < 0))
        return 0;
    /* y grows downwards on a picture: orient > 0 is the right-hand side of a->b */
    return sq > 0 || (sq == 0 && sp < 0) ? 1 : -1;
}

bool vg_zone_label_matches(const char (*labels)[VG_LABEL_NAME_MAX], int n, const char *label)
{
    if (n == 0)
        return true;
    for (int i = 0; i < n; i++)
        if (strcmp(labels[i], label) == 0)
            return true;
    return false;
}
