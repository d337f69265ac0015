/*
 * test_cascade: the face -> expression cascade (pipeline/cascade) and
 * `vigil detect --faces` on real photos with the real converted models.
 *
 * Photos: OpenCV's facereg.jpg (200x200, four faces in a 2x2 grid) and
 * messi5.jpg (548x342, one player), both from Debian's opencv-doc, put in
 * $VIGIL_CACHE_DIR/images by scripts/fetch-footage.sh (the ctest fixture runs
 * it). Models: blazeface, emotion and nanodet from scripts/fetch-models.sh.
 *
 * The face regions below were measured once (BlazeFace boxes, checked by eye
 * on the annotated picture); a face found must overlap its region with
 * IoU >= 0.5. Expressions: the classifier sees a square 1.4 times the face
 * box (cascade.h, expression_margin 0.2). Asserted: facereg.jpg's two broad
 * smiles (top right, bottom left) read "happy" (measured 0.89 and 0.98; with
 * margins 0.1..0.3 both stay happy, 0.55..0.99). Not asserted: the other two
 * faces (smiles with landmark dots drawn over the mouth) read "angry", and
 * messi5.jpg's concentrated player reads "happy" 0.64 (sad or angry with other
 * margins): the model is not sure there, so the test only asks for one of the
 * seven labels with probabilities summing to 1.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>


#include "capture/reader.h"
#include "daemon/config.h"
#include "pipeline/cascade.h"
#include "pipeline/detect.h"

static const char *const expressions[7] = {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"};

/* facereg.jpg's faces: top-left, top-right, bottom-left (broad smile), bottom-right */
static const float facereg_faces[4][4] = {{14, 15, 79, 80}, {116, 18, 180, 82}, {13, 118, 77, 182}, {115, 113, 183, 180}};
/* messi5.jpg: the player's face */
static const float messi_face[4] = {221, 97, 256, 130};

static const char *cache(void)
{
    const char *c = getenv("VIGIL_CACHE_DIR");
    return c && *c ? c : VIGIL_CACHE_DIR;
}

/* A decoded photo: the frame and a view of it. */
typedef struct {
    AVFrame *f;
    vg_image_t img;
} photo_t;

static void photo_load_path(const char *path, photo_t *p)
{
    const vg_reader_config_t rc = {.url = path, .decode_threads = 1};
    vg_reader_t *rd = NULL;
    char err[VG_READER_ERROR_MAX];
    cr_assert_eq(vg_reader_open(&rc, &rd, err, sizeof(err)), 0, "%s (run scripts/fetch-footage.sh)", err);
    p->f = av_frame_alloc();
    int r = vg_reader_read(rd, p->f);
    cr_assert_eq(r, 0, "decoding %s: %s", path, r == AVERROR_EOF ? "no picture" : vg_reader_error(rd));
    cr_assert_eq(vg_image_from_frame(p->f, &p->img), 0, "%s: pixel format %d", path, p->f->format);
    vg_reader_free(&rd);
}

/* What a file that vigil detect wrote holds. */
typedef struct {
    enum AVCodecID codec;
    int width, height, packets, frames;
} clip_t;

static void count_packet(void *opaque, const AVPacket *pkt)
{
    (void)pkt;
    ((clip_t *)opaque)->packets++;
}

static void clip_probe(const char *path, clip_t *c)
{
    memset(c, 0, sizeof(*c));
    const vg_reader_config_t rc = {.url = path, .decode_threads = 1, .on_packet = count_packet, .opaque = c};
    vg_reader_t *rd = NULL;
    char err[VG_READER_ERROR_MAX];
    cr_assert_eq(vg_reader_open(&rc, &rd, err, sizeof(err)), 0, "%s", err);
    const AVCodecParameters *par = vg_reader_stream(rd)->codecpar;
    c->codec = par->codec_id;
    c->width = par->width;
    c->height = par->height;
    AVFrame *f = av_frame_alloc();
    while (vg_reader_read(rd, f) == 0)
        c->frames++;
    av_frame_free(&f);
    vg_reader_free(&rd);
}

static void photo_load(const char *name, photo_t *p)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/images/%s", cache(), name);
    photo_load_path(path, p);
}

/* A converted model with the given thresholds (-1: the manifest's). */
static vg_detector_t *model_thresholds(const char *name, double threshold, double nms_iou)
{
    char onnx[1024], labels[1024], err[1024];
    snprintf(onnx, sizeof(onnx), "%s/models/%s.onnx", cache(), name);
    struct stat st;
    cr_assert_eq(stat(onnx, &st), 0, "no %s (run scripts/fetch-models.sh)", onnx);
    vg_detector_config_t mc = {.threshold = threshold, .nms_iou = nms_iou};
    snprintf(mc.name, sizeof(mc.name), "%s", name);
    snprintf(mc.precision, sizeof(mc.precision), "fp32");
    const char *lf = strcmp(name, "emotion") == 0 ? "emotion7.txt" : strcmp(name, "blazeface") == 0 ? "face1.txt"
                                                                                                      : "coco80.txt";
    snprintf(labels, sizeof(labels), "%s/models/labels/%s", VIGIL_SOURCE_DIR, lf);
    vg_detector_t *d = NULL;
    cr_assert_eq(vg_detector_new(&mc, onnx, labels, &d, err, sizeof(err)), 0, "%s", err);
    return d;
}

static vg_detector_t *model(const char *name, double threshold)
{
    return model_thresholds(name, threshold, strcmp(name, "nanodet") == 0 ? 0.6 : 0.3);
}

static float iou4(const float a[4], const float b[4])
{
    float ix = fminf(a[2], b[2]) - fmaxf(a[0], b[0]), iy = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    if (ix <= 0 || iy <= 0)
        return 0;
    float inter = ix * iy, ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return inter / ua;
}

Test(cascade, crop_is_a_view_with_even_chroma_origin)
{
    vg_image_t img;
    cr_assert_eq(vg_image_alloc(&img, VG_PIX_YUV420P, 64, 48), 0);
    vg_image_t v;
    cr_assert_eq(vg_cascade_crop(&img, 5, 7, 20, 11, &v), 0);
    /* origin rounded down to (4, 6), size rounded up to even: 22 x 12 */
    cr_expect_eq(v.width, 22);
    cr_expect_eq(v.height, 12);
    cr_expect_eq(v.data[0], img.data[0] + 6 * img.linesize[0] + 4);
    cr_expect_eq(v.data[1], img.data[1] + 3 * img.linesize[1] + 2);
    cr_expect_eq(v.data[2], img.data[2] + 3 * img.linesize[2] + 2);
    cr_expect_eq(v.linesize[0], img.linesize[0]);
    /* clamped to the image; empty is refused and leaves *ret alone */
    cr_assert_eq(vg_cascade_crop(&img, -10, 40, 100, 100, &v), 0);
    cr_expect_eq(v.width, 64);
    cr_expect_eq(v.height, 8);
    cr_expect_eq(v.data[0], img.data[0] + 40 * img.linesize[0]);
    vg_image_t keep = v;
    cr_expect_eq(vg_cascade_crop(&img, 70, 0, 10, 10, &v), -EINVAL);
    cr_expect_eq(memcmp(&keep, &v, sizeof(v)), 0);
    vg_image_release(&img);

    cr_assert_eq(vg_image_alloc(&img, VG_PIX_RGB24, 10, 10), 0);
    cr_assert_eq(vg_cascade_crop(&img, 3, 5, 4, 4, &v), 0);
    cr_expect_eq(v.data[0], img.data[0] + 5 * img.linesize[0] + 9, "RGB is not rounded");
    cr_expect_eq(v.width, 4);
    vg_image_release(&img);
}

Test(cascade, faces_and_expressions_on_facereg, .timeout = 120)
{
    photo_t p;
    photo_load("facereg.jpg", &p);
    vg_detector_t *face = model("blazeface", 0.75), *emo = model("emotion", 0.0);
    vg_cascade_t *c = NULL;
    vg_cascade_config_t cc = {.face = face, .expression = emo, .on = VG_CASCADE_ON_PERSON};
    cr_assert_eq(vg_cascade_new(&cc, &c), 0);
    cr_expect_eq(vg_cascade_mode(c), VG_CASCADE_ON_FRAME, "no detector: whole frame");
    vg_det_t dets[16];
    vg_cascade_attr_t attrs[16];
    int n = vg_cascade_run(c, &p.img, dets, 0, 16, attrs);
    cr_assert_eq(n, 4, "four faces in facereg.jpg, found %d", n);
    bool matched[4] = {0};
    for (int i = 0; i < n; i++) {
        cr_expect_str_eq(attrs[i].label, "face");
        cr_expect(attrs[i].has_face);
        float box[4] = {dets[i].x1, dets[i].y1, dets[i].x2, dets[i].y2};
        int best = -1;
        for (int k = 0; k < 4; k++)
            if (iou4(box, facereg_faces[k]) >= 0.5f)
                best = k;
        cr_assert_geq(best, 0, "face %d [%g %g %g %g] overlaps no known face", i, box[0], box[1], box[2], box[3]);
        matched[best] = true;
        const char *e = vg_cascade_expression(c, attrs[i].expression);
        cr_assert_not_null(e, "face %d has no expression", i);
        bool known = false;
        for (int k = 0; k < 7; k++)
            known |= strcmp(e, expressions[k]) == 0;
        cr_expect(known, "'%s' is not a FER2013 expression", e);
        cr_expect(attrs[i].expression_score > 1.0f / 7 && attrs[i].expression_score <= 1.0f, "top-1 %g",
                  attrs[i].expression_score);

        /* the classifier's seven probabilities on the same crop sum to 1, and
         * its top-1 is what the cascade reported */
        vg_image_t crop;
        float side = fmaxf(box[2] - box[0], box[3] - box[1]) * 1.4f;
        float cx = 0.5f * (box[0] + box[2]), cy = 0.5f * (box[1] + box[3]);
        cr_assert_eq(vg_cascade_crop(&p.img, (int)(cx - side / 2), (int)(cy - side / 2), (int)(side + 0.5f),
                                     (int)(side + 0.5f), &crop),
                     0);
        float prob[8];
        cr_assert_eq(vg_detector_scores(emo, &crop, prob, 8), 7);
        float sum = 0;
        int top = 0;
        for (int k = 0; k < 7; k++) {
            cr_expect(prob[k] >= 0 && prob[k] <= 1, "p[%d] = %g", k, prob[k]);
            sum += prob[k];
            if (prob[k] > prob[top])
                top = k;
        }
        cr_expect(fabsf(sum - 1) < 1e-3f, "probabilities sum to %g", sum);
        cr_expect_eq(top, attrs[i].expression);
        cr_expect(fabsf(prob[top] - attrs[i].expression_score) < 1e-5f);
        if (best == 1 || best == 2)
            cr_expect_str_eq(e, "happy", "face %d smiles broadly: %s %.2f", best, e, attrs[i].expression_score);
    }
    for (int k = 0; k < 4; k++)
        cr_expect(matched[k], "known face %d not found", k);
    vg_cascade_free(&c);
    vg_cascade_free(&c); /* NULL is fine */
    vg_detector_free(&emo);
    vg_detector_free(&face);
    av_frame_free(&p.f);
}

/* The camera's detector is the face detector: its boxes are the faces, only
 * the expression runs, nothing is appended. */
Test(cascade, detector_is_the_face_model, .timeout = 120)
{
    photo_t p;
    photo_load("facereg.jpg", &p);
    vg_detector_t *face = model("blazeface", 0.75), *emo = model("emotion", 0.0);
    vg_cascade_t *c = NULL;
    vg_cascade_config_t cc = {.face = face, .expression = emo, .detector = face, .on = VG_CASCADE_ON_PERSON};
    cr_assert_eq(vg_cascade_new(&cc, &c), 0);
    vg_det_t dets[16];
    vg_cascade_attr_t attrs[16];
    int n = vg_detector_run(face, &p.img, dets, 16);
    cr_assert_eq(n, 4);
    cr_assert_eq(vg_cascade_run(c, &p.img, dets, n, 16, attrs), 4, "nothing appended");
    for (int i = 0; i < n; i++) {
        cr_expect(attrs[i].has_face && attrs[i].label == NULL);
        cr_expect_eq(attrs[i].face[0], dets[i].x1);
        cr_expect_not_null(vg_cascade_expression(c, attrs[i].expression));
    }
    vg_cascade_config_t bad = cc;
    bad.expression_margin = -0.1f;
    vg_cascade_t *no = NULL;
    cr_expect_eq(vg_cascade_new(&bad, &no), -EINVAL);
    cr_expect_null(no);
    bad = cc;
    bad.face = NULL;
    cr_expect_eq(vg_cascade_new(&bad, &no), -EINVAL);
    vg_cascade_free(&c);
    vg_detector_free(&emo);
    vg_detector_free(&face);
    av_frame_free(&p.f);
}

/* A model config without threshold / nms_iou (-1, as the config parser
 * leaves them) takes the model's own from its manifest: BlazeFace's 0.75 and
 * 0.3. Set lower by the config (0.1), the threshold does apply. */
Test(cascade, unset_thresholds_are_the_models_own, .timeout = 120)
{
    photo_t p;
    photo_load("facereg.jpg", &p);
    vg_detector_t *own = model_thresholds("blazeface", -1, -1), *low = model_thresholds("blazeface", 0.1, -1);
    vg_det_t d_own[32], d_low[32];
    int n_own = vg_detector_run(own, &p.img, d_own, 32), n_low = vg_detector_run(low, &p.img, d_low, 32);
    cr_assert_eq(n_own, 4, "the manifest's 0.75 finds facereg.jpg's four faces, not %d", n_own);
    for (int i = 0; i < n_own; i++)
        cr_expect_geq(d_own[i].score, 0.75f, "a face scored %.2f passed the manifest's 0.75", d_own[i].score);
    cr_expect_gt(n_low, n_own, "at 0.1 more boxes pass (%d), so the 0.75 above was not a coincidence", n_low);
    vg_detector_free(&own);
    vg_detector_free(&low);
    av_frame_free(&p.f);
}

Test(cascade, face_on_the_person_box, .timeout = 120)
{
    photo_t p;
    photo_load("messi5.jpg", &p);
    vg_detector_t *det = model("nanodet", 0.35), *face = model("blazeface", 0.75), *emo = model("emotion", 0.0);
    vg_cascade_t *c = NULL;
    vg_cascade_config_t cc = {.face = face, .expression = emo, .detector = det, .on = VG_CASCADE_ON_PERSON};
    cr_assert_eq(vg_cascade_new(&cc, &c), 0);
    cr_assert_eq(vg_cascade_mode(c), VG_CASCADE_ON_PERSON);
    vg_det_t dets[VG_DETECT_MAX];
    vg_cascade_attr_t attrs[VG_DETECT_MAX];
    int n = vg_detector_run(det, &p.img, dets, VG_DETECT_MAX);
    cr_assert_gt(n, 0);
    vg_det_t before[VG_DETECT_MAX];
    memcpy(before, dets, sizeof(before));
    int m = vg_cascade_run(c, &p.img, dets, n, VG_DETECT_MAX, attrs);
    cr_assert_eq(m, n, "ON_PERSON adds no objects");
    cr_expect_eq(memcmp(before, dets, sizeof(vg_det_t) * (size_t)n), 0, "detections untouched");
    int faces = 0;
    for (int i = 0; i < n; i++) {
        const char *label = vg_detector_label(det, dets[i].label);
        if (!attrs[i].has_face)
            continue;
        faces++;
        cr_expect_str_eq(label, "person", "a face only on a person box");
        cr_expect(attrs[i].face[0] >= dets[i].x1 - 1 && attrs[i].face[2] <= dets[i].x2 + 1 &&
                  attrs[i].face[1] >= dets[i].y1 - 40 && attrs[i].face[3] <= dets[i].y2);
        float iou = iou4(attrs[i].face, messi_face);
        cr_expect(iou >= 0.5f, "face [%g %g %g %g] vs the player's face: IoU %g", attrs[i].face[0], attrs[i].face[1],
                  attrs[i].face[2], attrs[i].face[3], iou);
        cr_expect_not_null(vg_cascade_expression(c, attrs[i].expression));
    }
    cr_expect_eq(faces, 1, "one face (the player's), found %d", faces);
    vg_cascade_free(&c);
    vg_detector_free(&emo);
    vg_detector_free(&face);
    vg_detector_free(&det);
    av_frame_free(&p.f);
}

/* `vigil detect --faces PHOTO --out X.jpg`: a JSON line with a person whose
 * attributes carry a face and an expression, and a JPEG of the photo's size. */
Test(cascade, vigil_detect_faces_cli, .timeout = 180)
{
    const char *bd = getenv("VIGIL_BUILD_DIR");
    cr_assert_not_null(bd, "run through ctest (VIGIL_BUILD_DIR)");
    char cmd[4096], out[1024];
    snprintf(out, sizeof(out), "%s/cascade_messi.jpg", bd);
    remove(out);
    snprintf(cmd, sizeof(cmd), "'%s/tools/vigil' detect --faces '%s/images/messi5.jpg' --out '%s'", bd, cache(), out);
    FILE *fp = popen(cmd, "r");
    cr_assert_not_null(fp);
    static char line[65536];
    cr_assert_not_null(fgets(line, sizeof(line), fp), "no output from %s", cmd);
    char extra[16];
    cr_expect_null(fgets(extra, sizeof(extra), fp), "one line for one photo");
    cr_assert_eq(pclose(fp), 0, "%s failed", cmd);
    json_error_t je;
    json_t *root = json_loads(line, 0, &je);
    cr_assert_not_null(root, "not JSON: %s", line);
    cr_expect_eq(json_integer_value(json_object_get(root, "width")), 548);
    cr_expect_eq(json_integer_value(json_object_get(root, "height")), 342);
    json_t *objs = json_object_get(root, "objects");
    cr_assert(json_is_array(objs));
    int with_expr = 0;
    float person[4] = {0};
    for (size_t i = 0; i < json_array_size(objs); i++) {
        json_t *o = json_array_get(objs, i), *a = json_object_get(o, "attributes");
        cr_expect(json_is_string(json_object_get(o, "label")) && json_is_number(json_object_get(o, "score")) &&
                  json_array_size(json_object_get(o, "box")) == 4);
        if (!a)
            continue;
        cr_expect_str_eq(json_string_value(json_object_get(o, "label")), "person");
        for (int k = 0; k < 4; k++)
            person[k] = (float)json_number_value(json_array_get(json_object_get(o, "box"), (size_t)k));
        json_t *fb = json_object_get(a, "face");
        cr_assert_eq(json_array_size(fb), 4);
        float face[4];
        for (int k = 0; k < 4; k++)
            face[k] = (float)json_number_value(json_array_get(fb, (size_t)k));
        cr_expect(iou4(face, messi_face) >= 0.5f, "the printed face is the player's");
        const char *e = json_string_value(json_object_get(a, "expression"));
        cr_assert_not_null(e, "a face without an expression: %s", line);
        bool known = false;
        for (int k = 0; k < 7; k++)
            known |= strcmp(e, expressions[k]) == 0;
        cr_expect(known, "'%s'", e);
        double s = json_number_value(json_object_get(a, "expression_score"));
        cr_expect(s > 1.0 / 7 && s <= 1.0);
        with_expr++;
    }
    cr_expect_eq(with_expr, 1, "%s", line);
    json_decref(root);

    /* the annotated picture is a JPEG of the photo's size, with the person's
     * box drawn: its left edge is green (palette colour of label 0) */
    photo_t p;
    clip_t jpeg;
    clip_probe(out, &jpeg);
    cr_expect_eq(jpeg.codec, AV_CODEC_ID_MJPEG);
    photo_load_path(out, &p);
    cr_expect_eq(p.img.width, 548);
    cr_expect_eq(p.img.height, 342);
    cr_assert_eq(p.img.format, VG_PIX_YUV420P);
    int green = 0, rows = 0;
    for (int y = (int)person[1] + 20; y < (int)person[3] - 20; y += 2, rows++) {
        int x = (int)person[0] + 1;
        int u = p.img.data[1][(y / 2) * p.img.linesize[1] + x / 2], v = p.img.data[2][(y / 2) * p.img.linesize[2] + x / 2];
        green += u < 90 && v < 90; /* (0, 230, 0): U 52, V 32; the photo there is not green-blue */
    }
    cr_expect(green > rows * 9 / 10, "box edge green on %d of %d rows", green, rows);
    av_frame_free(&p.f);
}

/* `vigil detect VIDEO --max-frames 10 --out X.mp4`: one line per frame, in
 * order, people walking in each (vtest.avi has 3 or more throughout), and an
 * H.264 file of those 10 frames at the source size. */
Test(cascade, vigil_detect_video_cli, .timeout = 300)
{
    const char *bd = getenv("VIGIL_BUILD_DIR");
    cr_assert_not_null(bd, "run through ctest (VIGIL_BUILD_DIR)");
    char cmd[4096], out[1024];
    snprintf(out, sizeof(out), "%s/cascade_vtest.mp4", bd);
    remove(out);
    snprintf(cmd, sizeof(cmd), "'%s/tools/vigil' detect '%s/footage/vtest.avi' --max-frames 10 --out '%s'", bd,
             cache(), out);
    FILE *fp = popen(cmd, "r");
    cr_assert_not_null(fp);
    static char line[65536];
    int lines = 0;
    while (fgets(line, sizeof(line), fp)) {
        json_error_t je;
        json_t *root = json_loads(line, 0, &je);
        cr_assert_not_null(root, "not JSON: %s", line);
        cr_expect_eq(json_integer_value(json_object_get(root, "frame")), lines);
        cr_expect_eq(json_integer_value(json_object_get(root, "width")), 768);
        json_t *objs = json_object_get(root, "objects");
        int persons = 0;
        for (size_t i = 0; i < json_array_size(objs); i++) {
            json_t *o = json_array_get(objs, i), *b = json_object_get(o, "box");
            persons += strcmp(json_string_value(json_object_get(o, "label")), "person") == 0;
            double x1 = json_number_value(json_array_get(b, 0)), y1 = json_number_value(json_array_get(b, 1));
            double x2 = json_number_value(json_array_get(b, 2)), y2 = json_number_value(json_array_get(b, 3));
            cr_expect(x1 >= 0 && y1 >= 0 && x1 < x2 && y1 < y2 && x2 <= 768 && y2 <= 576, "box in the frame");
        }
        cr_expect_geq(persons, 3, "frame %d: %d people", lines, persons);
        json_decref(root);
        lines++;
    }
    cr_assert_eq(pclose(fp), 0, "%s failed", cmd);
    cr_expect_eq(lines, 10);
    clip_t clip;
    clip_probe(out, &clip);
    cr_expect_eq(clip.codec, AV_CODEC_ID_H264);
    cr_expect_eq(clip.width, 768);
    cr_expect_eq(clip.height, 576);
    cr_expect_eq(clip.packets, 10, "10 frames written, %d packets", clip.packets);
    cr_expect_eq(clip.frames, 10, "10 frames written, %d decoded", clip.frames);
}
