/*
 * vigil detect: run vigil's analysis (image corrections, the detector and
 * optionally the face -> expression cascade) on an image or every frame of a
 * video, print one JSON line per image/frame (objects shaped as in
 * det.<camera>, docs/events.md), and with --out write an annotated JPEG or
 * video so a person can see what vigil saw.
 *
 * It answers as the daemon does on the same footage: frames come from the
 * capture's reader (capture/reader.h, which also converts the pixel formats
 * the workers cannot read), models load through vg_model_load as vigild's
 * do, and each frame goes through the workers' own vg_analysis_frame with
 * the camera's settings (corrections included), the detector on every frame.
 * tests/test_detect_replay.c checks that it agrees with `vigil replay`.
 *
 * Annotation: boxes and label text drawn into a YUV 4:2:0 copy with a
 * built-in 5x7 bitmap font; encoded with libavcodec (mjpeg for .jpg,
 * libx264 for .mp4/.mkv/.mov when present, else MJPEG in AVI).
 * Thread: the main thread only; allocations happen once per run, not per frame.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>

#include "capture/reader.h"
#include "daemon/config.h"
#include "daemon/model_map.h"
#include "pipeline/draw.h"
#include "models/heads/manifest.h"
#include "models/engine/npy.h"
#include "pipeline/analysis.h"
#include "pipeline/cascade.h"
#include "pipeline/correct/correct.h"
#include "pipeline/detect.h"
#include "pipeline/jsonw.h"
#include "tools/detect.h"

int vg_cli_detect(int argc, char **argv);

typedef vg_detect_opts_t opts_t;

/* ---------------------------------------------------------------- models */

static const char *cache_dir(void)
{
    const char *c = getenv("VIGIL_CACHE_DIR");
    return c && *c ? c : VIGIL_CACHE_DIR;
}

/* A model described only by its file and manifest (not in the config):
 * head, input size and thresholds are left to the manifest (empty, -1). The
 * path is made absolute, so that the config's folders do not apply. */
static int file_model(const char *onnx, vg_model_config_t *ret)
{
    char mpath[4096], why[512];
    snprintf(mpath, sizeof(mpath), "%s", onnx);
    char *dot = strrchr(mpath, '.');
    if (dot)
        *dot = '\0';
    strncat(mpath, ".json", sizeof(mpath) - strlen(mpath) - 1);
    vg_manifest_t *mf = NULL;
    int r = vg_manifest_load(mpath, &mf, why, sizeof(why));
    if (r < 0) {
        fprintf(stderr, "vigil detect: model '%s' needs its manifest '%s' (or use --config): %s\n", onnx, mpath,
                r == -EINVAL ? why : strerror(-r));
        return r;
    }
    static char abs_path[PATH_MAX];
    if (!realpath(onnx, abs_path))
        snprintf(abs_path, sizeof(abs_path), "%s", onnx);
    vg_model_config_t mc = {.path = abs_path, .threshold = -1, .nms_iou = -1};
    const char *base = strrchr(onnx, '/');
    snprintf(mc.name, sizeof(mc.name), "%.*s", (int)strcspn(base ? base + 1 : onnx, "."), base ? base + 1 : onnx);
    snprintf(mc.precision, sizeof(mc.precision), "fp32");
    vg_manifest_free(&mf);
    *ret = mc;
    return 0;
}

/* A model by --model NAME: a model of the config, else NAME.onnx (or the
 * path NAME) in the cache's models folder; loaded as vigild loads models,
 * with --precision and --threshold (>= 0) in place of the config's. */
static int load_named(const vg_config_t *cfg, const char *name, const char *precision, double threshold,
                      vg_detector_t **ret)
{
    const vg_model_config_t *found = vg_config_find_model(cfg, name);
    vg_model_config_t mc;
    if (found) {
        mc = *found;
    } else {
        char path[4096];
        if (strchr(name, '/') || strstr(name, ".onnx"))
            snprintf(path, sizeof(path), "%s", name);
        else
            snprintf(path, sizeof(path), "%s/models/%s.onnx", cache_dir(), name);
        if (access(path, R_OK) != 0) {
            fprintf(stderr, "vigil detect: no model '%s'%s (looked for '%s'; scripts/fetch-models.sh makes them)\n",
                    name, cfg->path ? " in the config" : "", path);
            return -ENOENT;
        }
        int r = file_model(path, &mc);
        if (r < 0)
            return r;
    }
    if (threshold >= 0)
        mc.threshold = threshold;
    if (precision)
        snprintf(mc.precision, sizeof(mc.precision), "%s", precision);
    char err[1024];
    int r = vg_model_load(cfg, &mc, 1, ret, err, sizeof(err));
    if (r < 0)
        fprintf(stderr, "vigil detect: %s\n", err);
    return r;
}

/* ------------------------------------------------------------- drawing */

/* Boxes and labels: pipeline/draw (shared with the snapshots). */
typedef vg_draw_color_t yuv_t;

static yuv_t yuv_of(int r, int g, int b, bool full) { return vg_draw_color(r, g, b, full); }

static vg_draw_t canvas(AVFrame *f)
{
    return (vg_draw_t){.data = {f->data[0], f->data[1], f->data[2]},
                       .linesize = {f->linesize[0], f->linesize[1], f->linesize[2]},
                       .width = f->width, .height = f->height};
}

static void rect(AVFrame *f, int x1, int y1, int x2, int y2, int t, yuv_t c)
{
    vg_draw_t p = canvas(f);
    vg_draw_rect(&p, x1, y1, x2, y2, t, c);
}

static void text(AVFrame *f, int x, int y, int s, const char *str, yuv_t fg, yuv_t bg)
{
    vg_draw_t p = canvas(f);
    vg_draw_text(&p, x, y, s, str, fg, bg);
}

static const unsigned char palette[][3] = {
    {0, 230, 0}, {255, 64, 64}, {64, 128, 255}, {255, 200, 0}, {255, 0, 255}, {0, 220, 220},
};

/* ------------------------------------------------------------- output */

typedef struct {
    const char *path;
    bool image;                /* one JPEG (the last frame processed) */
    AVFormatContext *oc;
    AVStream *st;
    AVCodecContext *enc;
    AVFrame *frame;            /* the annotated copy, in enc->pix_fmt */
    AVPacket *pkt;
    struct SwsContext *sws;    /* decoded frame -> annotated copy */
    int64_t next_pts;
    bool opened;
} output_t;

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

/* Opens the encoder (and the muxer for a video) for w x h frames. */
static int output_open(output_t *o, int w, int h, AVRational fps)
{
    o->image = ends_with(o->path, ".jpg") || ends_with(o->path, ".jpeg");
    const AVCodec *codec = NULL;
    bool mp4 = ends_with(o->path, ".mp4") || ends_with(o->path, ".mkv") || ends_with(o->path, ".mov");
    if (!o->image && !mp4 && !ends_with(o->path, ".avi")) {
        fprintf(stderr, "vigil detect: --out '%s': write .jpg, .mp4, .mkv, .mov or .avi\n", o->path);
        return -EINVAL;
    }
    if (mp4 && !(codec = avcodec_find_encoder_by_name("libx264"))) {
        fprintf(stderr, "vigil detect: this FFmpeg has no libx264; write --out FILE.avi (MJPEG) instead\n");
        return -ENOTSUP;
    }
    if (!codec)
        codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    if (!codec)
        return -ENOTSUP;
    o->enc = avcodec_alloc_context3(codec);
    o->frame = av_frame_alloc();
    o->pkt = av_packet_alloc();
    if (!o->enc || !o->frame || !o->pkt)
        return -ENOMEM;
    bool jpeg = codec->id == AV_CODEC_ID_MJPEG;
    o->enc->width = w & ~1;
    o->enc->height = h & ~1;
    o->enc->pix_fmt = jpeg ? AV_PIX_FMT_YUVJ420P : AV_PIX_FMT_YUV420P;
    o->enc->color_range = jpeg ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
    if (fps.num <= 0 || fps.den <= 0)
        fps = (AVRational){25, 1};
    o->enc->time_base = av_inv_q(fps);
    o->enc->framerate = fps;
    if (jpeg) {
        o->enc->flags |= AV_CODEC_FLAG_QSCALE;
        o->enc->global_quality = FF_QP2LAMBDA * 3;
    }
    int r;
    AVDictionary *eo = NULL;
    if (!jpeg)
        av_dict_set(&eo, "preset", "veryfast", 0);
    if (!o->image) {
        if ((r = avformat_alloc_output_context2(&o->oc, NULL, NULL, o->path)) < 0)
            goto out;
        if (o->oc->oformat->flags & AVFMT_GLOBALHEADER)
            o->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    }
    if ((r = avcodec_open2(o->enc, codec, &eo)) < 0)
        goto out;
    o->frame->format = o->enc->pix_fmt;
    o->frame->width = o->enc->width;
    o->frame->height = o->enc->height;
    o->frame->color_range = o->enc->color_range;
    if ((r = av_frame_get_buffer(o->frame, 0)) < 0)
        goto out;
    if (!o->image) {
        if (!(o->st = avformat_new_stream(o->oc, NULL))) {
            r = -ENOMEM;
            goto out;
        }
        o->st->time_base = o->enc->time_base;
        if ((r = avcodec_parameters_from_context(o->st->codecpar, o->enc)) < 0)
            goto out;
        if (!(o->oc->oformat->flags & AVFMT_NOFILE) && (r = avio_open(&o->oc->pb, o->path, AVIO_FLAG_WRITE)) < 0)
            goto out;
        if ((r = avformat_write_header(o->oc, NULL)) < 0)
            goto out;
    }
    o->opened = true;
out:
    av_dict_free(&eo);
    if (r < 0)
        fprintf(stderr, "vigil detect: cannot write '%s': %s\n", o->path, av_err2str(r));
    return r;
}

/* Drains the encoder's packets into the file. */
static int output_drain(output_t *o)
{
    int r;
    while ((r = avcodec_receive_packet(o->enc, o->pkt)) >= 0) {
        if (o->image) {
            FILE *fp = fopen(o->path, "wb");
            if (!fp || fwrite(o->pkt->data, 1, (size_t)o->pkt->size, fp) != (size_t)o->pkt->size) {
                r = -errno;
                if (fp)
                    fclose(fp);
                av_packet_unref(o->pkt);
                return r ? r : -EIO;
            }
            if (fclose(fp) != 0)
                r = -errno;
        } else {
            /* one frame long: without a duration the MP4 muxer's edit list
             * ends at the last frame's start and players drop that frame */
            if (o->pkt->duration <= 0)
                o->pkt->duration = 1;
            av_packet_rescale_ts(o->pkt, o->enc->time_base, o->st->time_base);
            o->pkt->stream_index = o->st->index;
            r = av_interleaved_write_frame(o->oc, o->pkt);
        }
        av_packet_unref(o->pkt);
        if (r < 0)
            return r;
    }
    return r == AVERROR(EAGAIN) || r == AVERROR_EOF ? 0 : r;
}

/* Copies the decoded frame into the annotation frame and draws on it. */
static int output_draw(output_t *o, const AVFrame *src, const vg_det_t *dets, const vg_cascade_attr_t *attrs,
                       int n, const vg_detector_t *det, const vg_cascade_t *cascade)
{
    int r = av_frame_make_writable(o->frame);
    if (r < 0)
        return r;
    o->sws = sws_getCachedContext(o->sws, src->width, src->height, (enum AVPixelFormat)src->format, o->frame->width,
                                  o->frame->height, (enum AVPixelFormat)o->frame->format, SWS_BILINEAR, NULL,
                                  NULL, NULL);
    if (!o->sws)
        return -ENOMEM;
    sws_scale(o->sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height, o->frame->data,
              o->frame->linesize);
    bool full = o->frame->color_range == AVCOL_RANGE_JPEG;
    int s = o->frame->height >= 720 ? 3 : o->frame->height >= 360 ? 2 : 1;
    int t = s + 1;
    yuv_t white = yuv_of(255, 255, 255, full), black = yuv_of(0, 0, 0, full);
    for (int i = n - 1; i >= 0; i--) { /* best last, so drawn on top */
        const vg_det_t *d = &dets[i];
        const char *label = attrs && attrs[i].label ? attrs[i].label : vg_detector_label(det, d->label);
        int pi = d->label < 0 ? 3 : d->label % (int)(sizeof(palette) / sizeof(*palette));
        yuv_t c = yuv_of(palette[pi][0], palette[pi][1], palette[pi][2], full);
        rect(o->frame, (int)d->x1, (int)d->y1, (int)d->x2, (int)d->y2, t, c);
        char buf[96];
        snprintf(buf, sizeof(buf), "%s %.2f", label ? label : "?", d->score);
        text(o->frame, (int)d->x1, (int)d->y1 - 9 * s, s, buf, black, c);
        if (attrs && attrs[i].has_face) {
            const vg_cascade_attr_t *a = &attrs[i];
            yuv_t fc = yuv_of(255, 200, 0, full);
            if (!a->label)
                rect(o->frame, (int)a->face[0], (int)a->face[1], (int)a->face[2], (int)a->face[3], t, fc);
            const char *e = vg_cascade_expression(cascade, a->expression);
            if (e) {
                snprintf(buf, sizeof(buf), "%s %.2f", e, a->expression_score);
                text(o->frame, (int)a->face[0], (int)a->face[3], s, buf, white, black);
            }
        }
    }
    return 0;
}

static int output_frame(output_t *o)
{
    o->frame->pts = o->next_pts++;
    int r = avcodec_send_frame(o->enc, o->frame);
    if (r < 0)
        return r;
    return o->image ? 0 : output_drain(o);
}

static int output_close(output_t *o)
{
    int r = 0;
    if (o->opened) {
        if ((r = avcodec_send_frame(o->enc, NULL)) >= 0)
            r = output_drain(o);
        if (!o->image) {
            int w = av_write_trailer(o->oc);
            if (r >= 0)
                r = w;
        }
    }
    if (o->oc && !(o->oc->oformat->flags & AVFMT_NOFILE))
        avio_closep(&o->oc->pb);
    avformat_free_context(o->oc);
    avcodec_free_context(&o->enc);
    av_frame_free(&o->frame);
    av_packet_free(&o->pkt);
    sws_freeContext(o->sws);
    return r;
}

/* ------------------------------------------------------------- JSON */

static void print_frame(const opts_t *op, const AVFrame *f, AVRational tb, long index, const vg_detector_t *det,
                        const vg_cascade_t *cascade, const vg_analysis_result_t *res, bool correcting)
{
    const vg_det_t *dets = res->dets;
    const vg_cascade_attr_t *attrs = res->attrs;
    int n = res->n;
    static char buf[65536];
    vg_jsonw_t w;
    vg_jsonw_init(&w, buf, sizeof(buf));
    vg_jsonw_object_begin(&w);
    vg_jsonw_key(&w, "file");
    vg_jsonw_string(&w, op->input);
    vg_jsonw_key(&w, "frame");
    vg_jsonw_int(&w, index);
    int64_t pts = f->best_effort_timestamp;
    vg_jsonw_key(&w, "pts");
    if (pts == AV_NOPTS_VALUE)
        vg_jsonw_null(&w);
    else
        vg_jsonw_int(&w, pts);
    vg_jsonw_key(&w, "pts_time");
    vg_jsonw_double(&w, pts == AV_NOPTS_VALUE ? 0.0 : (double)pts * av_q2d(tb), 3);
    vg_jsonw_key(&w, "width");
    vg_jsonw_int(&w, f->width);
    vg_jsonw_key(&w, "height");
    vg_jsonw_int(&w, f->height);
    vg_jsonw_key(&w, "detector");
    vg_jsonw_string(&w, vg_detector_name(det));
    vg_jsonw_key(&w, "detected");
    vg_jsonw_bool(&w, true);
    if (correcting) { /* as det.<camera> says it */
        char names[64];
        vg_correct_names(res->corrected, names, sizeof(names));
        vg_jsonw_key(&w, "corrections");
        vg_jsonw_string(&w, names);
    }
    vg_jsonw_key(&w, "objects");
    vg_jsonw_array_begin(&w);
    for (int i = 0; i < n; i++) {
        const char *label = attrs && attrs[i].label ? attrs[i].label : vg_detector_label(det, dets[i].label);
        vg_analysis_write_object(&w, label, &dets[i], cascade, attrs ? &attrs[i] : NULL,
                                 res->track_ids ? res->track_ids[i] : 0);
    }
    vg_jsonw_array_end(&w);
    vg_jsonw_object_end(&w);
    int len = vg_jsonw_finish(&w);
    if (len >= 0)
        printf("%.*s\n", len, buf);
    fflush(stdout);
}

/* Writes the tensor the detector made of img as FILE (.npy, flat float32)
 * and its box mapping as FILE.xform ("scale_x scale_y pad_x pad_y"). */
static int dump_input(const char *path, vg_detector_t *det, const vg_image_t *img)
{
    static float tensor[4096 * 4096 * 3 / 4];
    float xf[4];
    int n = vg_detector_prepare(det, img, tensor, sizeof(tensor) / sizeof(*tensor), xf);
    char err[256] = "";
    vg_npy_t arr = {.name = "", .ndim = 1, .dims = {n}, .count = (size_t)(n > 0 ? n : 0), .data = tensor};
    if (n < 0 || vg_npy_write(path, &arr, 1, err, sizeof(err)) < 0) {
        fprintf(stderr, "vigil detect: cannot write '%s': %s\n", path, n < 0 ? strerror(-n) : err);
        return n < 0 ? n : -EIO;
    }
    char xpath[4200];
    snprintf(xpath, sizeof(xpath), "%s.xform", path);
    FILE *f = fopen(xpath, "w");
    if (!f) {
        fprintf(stderr, "vigil detect: cannot write '%s': %s\n", xpath, strerror(errno));
        return -errno;
    }
    fprintf(f, "%.9g %.9g %.9g %.9g\n", xf[0], xf[1], xf[2], xf[3]);
    fclose(f);
    return 0;
}

/* ------------------------------------------------------------- main */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vigil detect IMAGE_OR_VIDEO [--config C] [--camera NAME] [--model NAME] [--faces]\n"
            "                    [--correct auto|off|LIST] [--out FILE] [--threshold T]\n"
            "                    [--precision fp32|bf16] [--frame N] [--max-frames N] [--dump-input F]\n"
            "  Runs vigil's analysis (the daemon's: corrections, detector, face cascade) on an image\n"
            "  (JPEG, PNG) or every frame of a video and prints one JSON line per image/frame:\n"
            "  {file, frame, pts, pts_time, width, height, detector, detected, corrections?,\n"
            "  objects: [{label, score, box, attributes?}]}.\n"
            "  --config C     take models and camera settings from C: --model NAME, else the\n"
            "                 camera's detect.model (--camera), else the model 'detector', else\n"
            "                 the model of the first camera with detect.model\n"
            "  --camera NAME  the camera of the config whose settings apply (corrections, motion,\n"
            "                 faces, decoding); default: the first camera using the model\n"
            "  --model NAME   a model of the config, or $VIGIL_CACHE_DIR/models/NAME.onnx\n"
            "                 (default nanodet), or a path to an .onnx with its manifest beside\n"
            "  --faces        also run the face -> expression cascade (blazeface, emotion; from the\n"
            "                 camera's faces: when it has one) on person boxes, or on the whole\n"
            "                 frame when the detector has no person label\n"
            "  --correct M    image corrections before detection: auto, off, or a list such as\n"
            "                 low_light,dehaze (default: the camera's correct:, else off)\n"
            "  --out FILE     write boxes and labels drawn on the picture: FILE.jpg (the last\n"
            "                 frame processed), FILE.mp4/.mkv/.mov (H.264) or FILE.avi (MJPEG)\n"
            "  --threshold T  lowest score reported (default: the model's)\n"
            "  --frame N      only frame N (from 0); --max-frames N: stop after N frames\n"
            "  --dump-input F write the model's input tensor of the last frame (after the\n"
            "                 corrections) to F (.npy, flat) and its box mapping to F.xform, to\n"
            "                 compare with other runtimes\n");
}

/* --correct: auto | off | a comma-separated list of correction names. */
static int parse_correct(const char *text, vg_correct_mode_t *ret_mode, uint32_t *ret_mask)
{
    if (strcmp(text, "auto") == 0 || strcmp(text, "off") == 0) {
        *ret_mode = text[1] == 'u' ? VG_CORRECT_MODE_AUTO : VG_CORRECT_MODE_OFF;
        *ret_mask = 0;
        return 0;
    }
    uint32_t mask = 0;
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, ",");
        uint32_t bit = 0;
        for (uint32_t b = 1; b && vg_correct_name(b); b <<= 1)
            if (strlen(vg_correct_name(b)) == len && strncmp(p, vg_correct_name(b), len) == 0)
                bit = b;
        if (!bit)
            return -EINVAL;
        mask |= bit;
        p += len + (p[len] == ',');
    }
    if (!mask)
        return -EINVAL;
    *ret_mode = VG_CORRECT_MODE_LIST;
    *ret_mask = mask;
    return 0;
}

/* Faces models: the camera's faces: when it has some, else the first
 * camera's with faces:, else the cache's blazeface and emotion. */
static int load_faces(const vg_config_t *cfg, const vg_camera_config_t *cam, const char *precision,
                      const vg_detector_t *det, vg_detector_t **face, vg_detector_t **expr, vg_cascade_on_t *on)
{
    const char *fm = "blazeface", *em = "emotion";
    *on = VG_CASCADE_ON_PERSON;
    const vg_camera_config_t *with = cam->faces_model[0] ? cam : NULL;
    for (int i = 0; !with && i < cfg->n_cameras; i++)
        if (cfg->cameras[i].faces_model[0])
            with = &cfg->cameras[i];
    if (with) {
        fm = with->faces_model;
        em = with->faces_expression[0] ? with->faces_expression : NULL;
        *on = with->faces_on == VG_FACES_ON_FRAME ? VG_CASCADE_ON_FRAME : VG_CASCADE_ON_PERSON;
    }
    int r = 0;
    if (strcmp(fm, vg_detector_name(det)) != 0 && (r = load_named(cfg, fm, precision, -1, face)) < 0)
        return r;
    if (em && (r = load_named(cfg, em, precision, 0.0, expr)) < 0)
        return r;
    return 0;
}

/* The detector's model: --model, else the --camera's detect.model, else the
 * config's 'detector', else the first camera's detect.model, else nanodet. */
static const char *model_name(const opts_t *op, const vg_config_t *cfg, const vg_camera_config_t *cam)
{
    if (op->model)
        return op->model;
    if (cam && cam->detect_model[0])
        return cam->detect_model;
    if (vg_config_find_model(cfg, "detector"))
        return "detector";
    for (int i = 0; i < cfg->n_cameras; i++)
        if (cfg->cameras[i].detect_model[0])
            return cfg->cameras[i].detect_model;
    return "nanodet";
}

/* The camera whose settings apply: --camera, else the first camera of the
 * config using the model, else a camera with the defaults (added to cfg). */
static const vg_camera_config_t *pick_camera(vg_config_t *cfg, const char *model, const char *input)
{
    for (int i = 0; i < cfg->n_cameras; i++)
        if (strcmp(cfg->cameras[i].detect_model, model) == 0)
            return &cfg->cameras[i];
    return vg_config_add_camera(cfg, "detect", input);
}

/* The analysis' messages: not needed here, vg_analysis_last gives the
 * frame's result. */
static int ignore_message(void *emitter, const char *topic, const char *camera, const char *json, size_t len)
{
    (void)emitter, (void)topic, (void)camera, (void)json, (void)len;
    return 0;
}

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int vg_detect_each(const opts_t *op, const char *who, vg_detect_fn fn, void *user)
{
    int status = -EINVAL, r;
    vg_config_t *cfg = NULL;
    vg_detector_t *det = NULL, *face = NULL, *expr = NULL;
    vg_cascade_t *cascade = NULL;
    vg_analysis_t *analysis = NULL;
    vg_reader_t *reader = NULL;
    AVFrame *frame = NULL;
    char err[VG_CONFIG_ERROR_MAX];
    vg_correct_mode_t correct_mode = VG_CORRECT_MODE_OFF;
    uint32_t correct_mask = 0;
    if (op->correct && parse_correct(op->correct, &correct_mode, &correct_mask) < 0) {
        fprintf(stderr, "vigil %s: --correct is auto, off, or a list of low_light, dehaze, denoise, derain\n", who);
        return -EINVAL;
    }

    if (op->config ? vg_config_load(op->config, err, sizeof(err), &cfg) < 0 : vg_config_new_default(&cfg) < 0) {
        fprintf(stderr, "vigil %s: %s\n", who, op->config ? err : "out of memory");
        goto done;
    }
    const vg_camera_config_t *cam = NULL;
    if (op->camera && !(cam = vg_config_find_camera(cfg, op->camera))) {
        fprintf(stderr, "vigil %s: %s has no camera '%s'\n", who, op->config ? op->config : "the defaults",
                op->camera);
        goto done;
    }
    const char *name = model_name(op, cfg, cam);
    if (!cam && !(cam = pick_camera(cfg, name, op->input))) {
        fprintf(stderr, "vigil %s: out of memory\n", who);
        goto done;
    }
    if (!op->correct) {
        correct_mode = cam->correct_mode;
        correct_mask = cam->correct_mask;
    }
    if ((r = load_named(cfg, name, op->precision, op->threshold, &det)) < 0) {
        status = r;
        goto done;
    }
    if (op->faces) {
        vg_cascade_on_t on;
        if ((r = load_faces(cfg, cam, op->precision, det, &face, &expr, &on)) < 0) {
            status = r;
            goto done;
        }
        /* no face model of its own: the detector is the face model (--model blazeface) */
        vg_cascade_config_t cc = {.face = face ? face : det, .expression = expr, .detector = det, .on = on};
        if ((r = vg_cascade_new(&cc, &cascade)) < 0) {
            fprintf(stderr, "vigil %s: cannot make the face cascade: %s\n", who, strerror(-r));
            goto done;
        }
    }
    /* what a worker runs for the camera, with the detector on every frame */
    vg_analysis_config_t ac;
    memset(&ac, 0, sizeof(ac));
    vg_camera_analysis_config(cfg, cam, &ac);
    ac.detector = det;
    ac.cascade = cascade;
    ac.detect_when = VG_DETECT_ALWAYS;
    ac.correct_mode = correct_mode;
    ac.correct_mask = correct_mask;
    ac.snapshots.enabled = false; /* vigil detect draws its own pictures (--out) */
    if ((r = vg_analysis_new(&ac, &analysis)) < 0) {
        fprintf(stderr, "vigil %s: cannot start the analysis: %s\n", who, strerror(-r));
        goto done;
    }

    const vg_reader_config_t rc = {
        .url = op->input,
        .timeout_us = cam->timeout_us,
        .rtsp_transport = cam->rtsp_transport,
        .decode_threads = cam->decode_threads,
        .convert = true, /* as the capture thread hands frames to the workers */
    };
    char why[VG_READER_ERROR_MAX];
    if ((r = vg_reader_open(&rc, &reader, why, sizeof(why))) < 0) {
        fprintf(stderr, "vigil %s: %s\n", who, why);
        status = r;
        goto done;
    }
    AVRational tb = vg_reader_stream(reader)->time_base;
    AVRational fr = vg_reader_frame_rate(reader);
    if (!(frame = av_frame_alloc())) {
        status = -ENOMEM;
        goto done;
    }

    long index = 0, processed = 0;
    while ((r = vg_reader_read(reader, frame)) == 0) {
        long this = index++;
        if (op->only_frame >= 0 && this != op->only_frame)
            continue;
        if (op->every > 1 && this % op->every != 0)
            continue;
        int64_t pts = frame->best_effort_timestamp;
        const vg_frame_t vf = {.av = frame, .wall_us = wall_us(), .pts = pts, .index = (uint64_t)this,
                               .pts_time = pts == AV_NOPTS_VALUE ? 0.0 : (double)pts * av_q2d(tb)};
        vg_analysis_frame(analysis, &vf, ignore_message, NULL);
        vg_analysis_result_t res;
        vg_analysis_last(analysis, &res);
        if (res.n < 0) {
            fprintf(stderr, "vigil %s: frame %ld: analysis failed: %s\n", who, this,
                    res.error ? strerror(-res.error) : "the detector did not run");
            status = res.error ? res.error : -EIO;
            goto done;
        }
        const vg_detect_frame_t df = {.frame = frame, .index = this, .pts_time = vf.pts_time, .time_base = tb,
                                      .frame_rate = fr,
                                      .camera = cam->name, .det = det, .cascade = cascade, .res = &res,
                                      .correcting = correct_mode != VG_CORRECT_MODE_OFF};
        if ((r = fn(user, &df)) < 0) {
            status = r;
            goto done;
        }
        processed++;
        if ((op->max_frames && processed >= op->max_frames) || op->only_frame >= 0)
            break;
    }
    if (r < 0 && r != AVERROR_EOF) {
        fprintf(stderr, "vigil %s: %s\n", who, vg_reader_error(reader));
        status = r;
        goto done;
    }
    if (vg_reader_decode_errors(reader))
        fprintf(stderr, "vigil %s: '%s': %llu packets could not be decoded (skipped)\n", who, op->input,
                (unsigned long long)vg_reader_decode_errors(reader));
    if (processed == 0) {
        fprintf(stderr, "vigil %s: no frame decoded from '%s'%s\n", who, op->input,
                op->only_frame >= 0 ? " at that --frame" : "");
        status = -ENODATA;
        goto done;
    }
    status = 0;
done:
    av_frame_free(&frame);
    vg_reader_free(&reader);
    vg_analysis_free(&analysis);
    vg_cascade_free(&cascade);
    vg_detector_free(&det);
    vg_detector_free(&face);
    vg_detector_free(&expr);
    vg_config_free(&cfg);
    return status;
}

/* vigil detect's callback: the JSON line, the input dump, the drawing. */
typedef struct {
    const opts_t *op;
    output_t *out;
} detect_ctx_t;

static int on_frame(void *user, const vg_detect_frame_t *f)
{
    detect_ctx_t *ctx = user;
    const opts_t *op = ctx->op;
    int r;
    print_frame(op, f->frame, f->time_base, f->index, f->det, f->cascade, f->res, f->correcting);
    if (op->dump_input && (r = dump_input(op->dump_input, (vg_detector_t *)f->det, &f->res->image)) < 0)
        return r;
    if (op->out) {
        output_t *out = ctx->out;
        if (!out->opened && (r = output_open(out, f->frame->width, f->frame->height, f->frame_rate)) < 0)
            return r;
        if ((r = output_draw(out, f->frame, f->res->dets, f->res->attrs, f->res->n, f->det, f->cascade)) < 0 ||
            (!out->image && (r = output_frame(out)) < 0)) {
            fprintf(stderr, "vigil detect: writing '%s': %s\n", op->out, av_err2str(r));
            return r;
        }
    }
    return 0;
}

int vg_cli_detect(int argc, char **argv)
{
    static const struct option lo[] = {
        {"config", required_argument, NULL, 'c'},    {"model", required_argument, NULL, 'm'},
        {"faces", no_argument, NULL, 'f'},           {"out", required_argument, NULL, 'o'},
        {"threshold", required_argument, NULL, 't'}, {"precision", required_argument, NULL, 'p'},
        {"frame", required_argument, NULL, 'F'},     {"max-frames", required_argument, NULL, 'n'},
        {"dump-input", required_argument, NULL, 'D'}, {"camera", required_argument, NULL, 'C'},
        {"correct", required_argument, NULL, 'k'},   {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opts_t op = {.threshold = -1, .only_frame = -1};
    vg_correct_mode_t correct_mode = VG_CORRECT_MODE_OFF;
    uint32_t correct_mask = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:m:fo:t:p:F:n:D:C:k:h", lo, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'c': op.config = optarg; break;
        case 'm': op.model = optarg; break;
        case 'f': op.faces = true; break;
        case 'o': op.out = optarg; break;
        case 'D': op.dump_input = optarg; break;
        case 'C': op.camera = optarg; break;
        case 'k':
            if (parse_correct(optarg, &correct_mode, &correct_mask) < 0) {
                fprintf(stderr, "vigil detect: --correct is auto, off, or a list of low_light, dehaze, denoise, "
                                "derain (comma-separated)\n");
                return 2;
            }
            op.correct = optarg;
            break;
        case 'p':
            if (strcmp(optarg, "fp32") != 0 && strcmp(optarg, "bf16") != 0) {
                fprintf(stderr, "vigil detect: --precision is fp32 or bf16\n");
                return 2;
            }
            op.precision = optarg;
            break;
        case 't':
            op.threshold = strtod(optarg, &end);
            if (!*optarg || *end || op.threshold < 0 || op.threshold > 1) {
                fprintf(stderr, "vigil detect: --threshold takes a number 0..1\n");
                return 2;
            }
            break;
        case 'F':
        case 'n': {
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 0) {
                fprintf(stderr, "vigil detect: --%s takes a whole number >= 0\n", c == 'F' ? "frame" : "max-frames");
                return 2;
            }
            if (c == 'F')
                op.only_frame = v;
            else
                op.max_frames = v;
            break;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    op.input = argv[optind];
    if (op.out && !ends_with(op.out, ".jpg") && !ends_with(op.out, ".jpeg") && !ends_with(op.out, ".mp4") &&
        !ends_with(op.out, ".mkv") && !ends_with(op.out, ".mov") && !ends_with(op.out, ".avi")) {
        fprintf(stderr, "vigil detect: --out '%s': write .jpg, .mp4, .mkv, .mov or .avi\n", op.out);
        return 2;
    }
    av_log_set_level(AV_LOG_ERROR); /* no libx264 statistics or swscale notes on stderr */

    output_t out = {.path = op.out};
    detect_ctx_t ctx = {.op = &op, .out = &out};
    int r = vg_detect_each(&op, "detect", on_frame, &ctx);
    if (r >= 0 && op.out && out.image && (r = output_frame(&out)) < 0)
        fprintf(stderr, "vigil detect: writing '%s': %s\n", op.out, av_err2str(r));
    if (r >= 0 && op.out) {
        r = output_close(&out);
        memset(&out, 0, sizeof(out));
        if (r < 0)
            fprintf(stderr, "vigil detect: writing '%s': %s\n", op.out, av_err2str(r));
    }
    if (out.enc || out.oc)
        output_close(&out);
    return r < 0 ? 1 : 0;
}
