/* counters.c: see counters.h. */
#include "daemon/counters.h"

#define VG_COUNTER_INFO_(name, from, json, key, kind, family, labels, help)                                    \
    {#name, offsetof(vg_camera_counters_t, name), VG_COUNTER_JSON_##json, key, VG_COUNTER_KIND_##kind,          \
     family, labels, help},
const vg_counter_info_t vg_camera_counter_info[] = {VG_CAMERA_COUNTERS(VG_COUNTER_INFO_)};
#undef VG_COUNTER_INFO_
const int vg_camera_counter_count = (int)(sizeof(vg_camera_counter_info) / sizeof(vg_camera_counter_info[0]));

void vg_camera_counters_add(vg_camera_counters_t *sum, const vg_camera_counters_t *c)
{
    for (int i = 0; i < vg_camera_counter_count; i++) {
        if (vg_camera_counter_info[i].kind == VG_COUNTER_KIND_gauge)
            continue;
        uint64_t *p = (uint64_t *)((char *)sum + vg_camera_counter_info[i].offset);
        *p += vg_camera_counter_get(c, i);
    }
}
