/*
 * clip: a span of one camera's recorded footage into one file, by stream
 * copy: from the keyframe at or before from_us, across segment boundaries
 * (segments that follow each other continue each other's timestamps, so
 * the clip has no gap where they meet), until to_us.
 *
 * Owns: nothing beyond the call.
 * Thread: any (it reads through the caller's index connection).
 * Blocks on: the disk.
 * Logs: nothing.
 */
#ifndef VG_CLIP_H
#define VG_CLIP_H

#include <stddef.h>
#include <stdint.h>

#include "storage/index.h"

typedef struct {
    int segments;           /* segments read */
    int64_t start_us, end_us; /* UTC span written (start: the keyframe's) */
    uint64_t packets;
    int gaps;               /* holes in the footage inside the span (> 1 s) */
} vg_clip_info_t;

/* Writes camera's footage of [from_us, to_us) into out (format from its
 * extension; .mp4 when unknown). Returns 0 and fills *ret_info (may be
 * NULL), -ENOENT when no footage overlaps the span, or another negative
 * errno / AVERROR with a message in err. Thread: the index's owner. */
int vg_clip_write(vg_index_t *ix, const char *camera, int64_t from_us, int64_t to_us, const char *out,
                  vg_clip_info_t *ret_info, char *err, size_t errlen);

#endif
