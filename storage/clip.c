/* clip.c: see clip.h. */
#include "storage/clip.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/mathematics.h>

#define US ((AVRational){1, 1000000})
#define GAP_US 1000000

typedef struct {
    vg_index_segment_t *v;
    int n, cap;
} seglist_t;

static int collect(void *opaque, const vg_index_segment_t *seg)
{
    seglist_t *l = opaque;
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 16;
        vg_index_segment_t *v = realloc(l->v, sizeof(*v) * (size_t)cap);
        if (!v)
            return 1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *seg;
    return 0;
}

typedef struct {
    AVFormatContext *oc;
    int64_t origin_us;     /* UTC of the first video packet written; INT64_MIN before */
    int64_t last[2];       /* last dts written per output stream */
    bool audio;            /* the output has an audio stream */
    vg_clip_info_t info;
} out_t;

static int open_output(out_t *o, AVFormatContext *in, int v, int a, const char *path, char *err, size_t errlen)
{
    int r = avformat_alloc_output_context2(&o->oc, NULL, NULL, path);
    if (r < 0)
        r = avformat_alloc_output_context2(&o->oc, NULL, "mp4", path);
    if (r < 0) {
        snprintf(err, errlen, "cannot write '%s': %s", path, av_err2str(r));
        return r;
    }
    int idx[2] = {v, a};
    for (int i = 0; i < 2; i++) {
        if (idx[i] < 0)
            continue;
        const AVStream *is = in->streams[idx[i]];
        if (i == 1 && avformat_query_codec(o->oc->oformat, is->codecpar->codec_id, FF_COMPLIANCE_NORMAL) != 1)
            continue;
        AVStream *os = avformat_new_stream(o->oc, NULL);
        if (!os || avcodec_parameters_copy(os->codecpar, is->codecpar) < 0)
            return AVERROR(ENOMEM);
        os->codecpar->codec_tag = 0;
        os->time_base = is->time_base;
        if (i == 1)
            o->audio = true;
    }
    if (!(o->oc->oformat->flags & AVFMT_NOFILE) && (r = avio_open(&o->oc->pb, path, AVIO_FLAG_WRITE)) < 0) {
        snprintf(err, errlen, "cannot write '%s': %s", path, av_err2str(r));
        return r;
    }
    if ((r = avformat_write_header(o->oc, NULL)) < 0) {
        snprintf(err, errlen, "cannot write '%s': %s", path, av_err2str(r));
        return r;
    }
    o->last[0] = o->last[1] = INT64_MIN;
    return 0;
}

/* Copies one segment's packets in [from_us, to_us) (from the keyframe at or
 * before from_us for the first). Returns 0, 1 when to_us was reached, or a
 * negative AVERROR. */
static int copy_segment(out_t *o, const char *root, const vg_index_segment_t *seg, int64_t from_us, int64_t to_us,
                        const char *out_path, AVPacket *pkt, char *err, size_t errlen)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof(path), "%s/%s", root, seg->path);
    AVFormatContext *in = NULL;
    int r = avformat_open_input(&in, path, NULL, NULL);
    if (r < 0) {
        snprintf(err, errlen, "cannot read '%s': %s", path, av_err2str(r));
        return r;
    }
    int done = 0;
    if ((r = avformat_find_stream_info(in, NULL)) < 0)
        goto out;
    int v = av_find_best_stream(in, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    int a = av_find_best_stream(in, AVMEDIA_TYPE_AUDIO, -1, v, NULL, 0);
    if (v < 0) {
        r = v;
        goto out;
    }
    if (!o->oc && (r = open_output(o, in, v, a < 0 ? -1 : a, out_path, err, errlen)) < 0)
        goto out;
    AVRational vtb = in->streams[v]->time_base;
    /* the segment's own origin: its first video dts is its start time */
    int64_t base = AV_NOPTS_VALUE;
    while ((r = av_read_frame(in, pkt)) >= 0) {
        bool got = pkt->stream_index == v && pkt->dts != AV_NOPTS_VALUE;
        if (got)
            base = pkt->dts;
        av_packet_unref(pkt);
        if (got)
            break;
    }
    if (base == AV_NOPTS_VALUE) {
        r = 0; /* nothing in it */
        goto out;
    }
    bool first = o->origin_us == INT64_MIN;
    int64_t target = first && from_us > seg->start_us ? base + av_rescale_q(from_us - seg->start_us, US, vtb) : base;
    if ((r = av_seek_frame(in, v, target, AVSEEK_FLAG_BACKWARD)) < 0 &&
        (r = av_seek_frame(in, v, base, AVSEEK_FLAG_BACKWARD)) < 0)
        goto out;
    bool started = !first;
    while ((r = av_read_frame(in, pkt)) >= 0) {
        int s = pkt->stream_index == v ? 0 : (pkt->stream_index == a && o->audio) ? 1 : -1;
        if (s < 0 || pkt->dts == AV_NOPTS_VALUE) {
            av_packet_unref(pkt);
            continue;
        }
        AVRational tb = in->streams[pkt->stream_index]->time_base;
        int64_t sbase = s ? av_rescale_q(base, vtb, tb) : base;
        int64_t pts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
        int64_t at_us = seg->start_us + av_rescale_q(pts - sbase, tb, US);
        if (!started) {
            /* the keyframe at or before from_us opens the clip */
            if (s != 0 || !(pkt->flags & AV_PKT_FLAG_KEY)) {
                av_packet_unref(pkt);
                continue;
            }
            started = true;
            o->origin_us = at_us;
            o->info.start_us = at_us;
        }
        if (at_us >= to_us && s == 0) {
            av_packet_unref(pkt);
            done = 1;
            break;
        }
        if (at_us < o->origin_us) { /* audio from before the first picture */
            av_packet_unref(pkt);
            continue;
        }
        /* timestamps: the segment's own, moved to its place in the clip */
        int64_t shift = av_rescale_q(seg->start_us - o->origin_us, US, tb) - sbase;
        pkt->pts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts + shift : AV_NOPTS_VALUE;
        pkt->dts += shift;
        if (s == 0) {
            int64_t end = at_us + av_rescale_q(pkt->duration, tb, US);
            if (end > o->info.end_us)
                o->info.end_us = end;
        }
        AVStream *os = o->oc->streams[s];
        av_packet_rescale_ts(pkt, tb, os->time_base);
        if (pkt->dts <= o->last[s]) {
            pkt->dts = o->last[s] + 1;
            if (pkt->pts != AV_NOPTS_VALUE && pkt->pts < pkt->dts)
                pkt->pts = pkt->dts;
        }
        o->last[s] = pkt->dts;
        pkt->stream_index = s;
        pkt->pos = -1;
        if ((r = av_interleaved_write_frame(o->oc, pkt)) < 0) {
            snprintf(err, errlen, "cannot write '%s': %s", out_path, av_err2str(r));
            goto out;
        }
        o->info.packets++;
    }
    if (r == AVERROR_EOF)
        r = 0;
out:
    av_packet_unref(pkt);
    avformat_close_input(&in);
    if (r < 0 && !err[0])
        snprintf(err, errlen, "cannot read '%s': %s", path, av_err2str(r));
    return r < 0 ? r : done;
}

int vg_clip_write(vg_index_t *ix, const char *camera, int64_t from_us, int64_t to_us, const char *out_path,
                  vg_clip_info_t *ret_info, char *err, size_t errlen)
{
    char scratch[8];
    if (!err) {
        err = scratch;
        errlen = sizeof(scratch);
    }
    err[0] = '\0';
    if (to_us <= from_us) {
        snprintf(err, errlen, "the span ends before it starts");
        return -EINVAL;
    }
    seglist_t l = {0};
    int r = vg_index_segments(ix, camera, from_us, to_us, collect, &l);
    if (r < 0) {
        snprintf(err, errlen, "cannot read the index");
        free(l.v);
        return r;
    }
    if (l.n == 0) {
        snprintf(err, errlen, "no footage of '%s' in that span", camera);
        free(l.v);
        return -ENOENT;
    }
    out_t o = {.origin_us = INT64_MIN};
    AVPacket *pkt = av_packet_alloc();
    r = pkt ? 0 : AVERROR(ENOMEM);
    for (int i = 0; i < l.n && r == 0; i++) {
        if (i > 0 && l.v[i].start_us - l.v[i - 1].end_us > GAP_US)
            o.info.gaps++;
        r = copy_segment(&o, vg_index_recordings_dir(ix), &l.v[i], from_us, to_us, out_path, pkt, err, errlen);
        o.info.segments++;
    }
    if (r >= 0 && !o.oc) {
        snprintf(err, errlen, "no footage of '%s' in that span", camera);
        r = -ENOENT;
    }
    if (o.oc) {
        int t = o.oc->pb ? av_write_trailer(o.oc) : 0;
        if (r >= 0 && t < 0) {
            snprintf(err, errlen, "cannot finish '%s': %s", out_path, av_err2str(t));
            r = t;
        }
        if (o.oc->pb)
            avio_closep(&o.oc->pb);
        avformat_free_context(o.oc);
    }
    av_packet_free(&pkt);
    free(l.v);
    if (r < 0)
        return r;
    if (ret_info)
        *ret_info = o.info;
    return 0;
}
