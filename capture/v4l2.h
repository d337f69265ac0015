/*
 * v4l2: a V4L2 camera (/dev/videoN, or a stable /dev/v4l/by-id/... name)
 * read through libv4l2 with mmap streaming, its frames turned into AVFrames.
 *
 * The format is negotiated from what the device enumerates
 * (vg_v4l2_choose_format, a pure function): the size closest to the request,
 * then the rate closest to it, then MJPEG (decoded by libavcodec's mjpeg
 * decoder into YUVJ422P/YUVJ420P frames) over YUYV (converted to YUV420P by
 * libswscale) over YUV420 (which libv4l2 also offers, converting in software,
 * for devices whose own formats are Bayer or vendor-specific) over a few other
 * raw formats swscale reads.
 *
 * Owns: the device fd (through libv4l2), its 4 mmap'ed buffers, the MJPEG
 * decoder or the swscale context, and the buffer pools converted frames come
 * from. Nothing is allocated per frame once the device streams: MJPEG packets
 * come from an AVBufferPool, decoded pictures from libavcodec's pools, and
 * converted pictures from an AVBufferPool.
 * Thread: one thread at a time per object (the camera's capture thread);
 * vg_v4l2_choose_format and vg_v4l2_url_is_device are pure and thread-safe.
 * Blocks on: open() and the ioctls (brief), and poll() in vg_v4l2_next for up
 * to its timeout (woken early by the stop fd).
 */
#ifndef VG_V4L2_H
#define VG_V4L2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libavutil/frame.h>

/* What the capture thread asks for when the camera config says nothing. */
#define VG_V4L2_DEFAULT_WIDTH 1280
#define VG_V4L2_DEFAULT_HEIGHT 720
#define VG_V4L2_DEFAULT_FPS 30.0
#define VG_V4L2_BUFFERS 4   /* mmap buffers queued to the driver */
#define VG_V4L2_MAX_MODES 1024 /* (format, size, rate) triples enumerated */

/* One (format, size, frame interval) the device offers. */
typedef struct {
    uint32_t pixfmt;         /* V4L2_PIX_FMT_* fourcc */
    uint32_t width, height;
    uint32_t interval_num;   /* frame period = num/den seconds; 0/0 = unknown */
    uint32_t interval_den;
    bool emulated;           /* libv4l2 converts to it in software */
} vg_v4l2_mode_t;

typedef struct {
    uint32_t width, height;  /* 0x0 = no preference (the largest size wins) */
    double fps;              /* 0 = no preference (the fastest rate wins) */
} vg_v4l2_request_t;

/* True when url names a V4L2 device: it starts with /dev/video or /dev/v4l/,
 * or it is a character device with the video4linux major number (81).
 * Thread: any. Blocks on: a stat(). */
bool vg_v4l2_url_is_device(const char *url);

/* How much the pipeline likes a pixel format: 0 MJPEG/JPEG, 1 YUYV,
 * 2 YUV420, 3 other raw formats swscale converts (UYVY, NV12, RGB24, BGR24,
 * GREY), -1 unusable (H.264, Bayer, vendor formats...). Thread: any. */
int vg_v4l2_format_rank(uint32_t pixfmt);

/* Picks the mode closest to req from the n modes a device offers, by, in
 * order: size distance (|dw| + |dh|), larger area, rate distance (relative;
 * a rate below the request costs twice as much as one above; an unknown rate
 * costs as much as 25% off), format rank (vg_v4l2_format_rank), native over
 * emulated. Modes with an unusable format are ignored.
 * Returns 0 and *ret, -EINVAL (n == 0 or NULL arguments) or -ENOTSUP (no
 * usable format); *ret is untouched on failure. Pure; thread: any. */
int vg_v4l2_choose_format(const vg_v4l2_mode_t *modes, size_t n, const vg_v4l2_request_t *req,
                          vg_v4l2_mode_t *ret);

/* A converter from one V4L2 buffer layout to AVFrames (the part of a camera
 * that does not need a device). */
typedef struct vg_v4l2_conv vg_v4l2_conv_t;

/* For pixfmt at width x height; bytesperline is the driver's stride of the
 * first plane (0 = packed tightly). Returns 0, -ENOTSUP (unusable format),
 * -EINVAL or -ENOMEM (or an AVERROR from opening the decoder). */
int vg_v4l2_conv_new(uint32_t pixfmt, uint32_t width, uint32_t height, uint32_t bytesperline,
                     vg_v4l2_conv_t **ret);

/* Converts one buffer of bytesused bytes (borrowed; not kept) into ret, which
 * must be empty (unref'd); ret then holds a reference-counted picture the
 * caller unrefs. Returns 0, AVERROR_INVALIDDATA for a corrupt or short
 * buffer, or another AVERROR; ret stays empty on failure. */
int vg_v4l2_conv_run(vg_v4l2_conv_t *conv, const uint8_t *data, size_t bytesused, AVFrame *ret);

/* Frees the converter; pictures already handed out stay valid. Accepts NULL. */
void vg_v4l2_conv_free(vg_v4l2_conv_t **conv);

typedef struct vg_v4l2 vg_v4l2_t;

/* Opens the device at path (a by-id symlink is resolved; messages name both),
 * checks it can capture and stream, negotiates the mode closest to req, maps
 * VG_V4L2_BUFFERS buffers and starts streaming.
 * Returns 0 and *ret, or a negative errno with a sentence in why (naming the
 * path) and *ret untouched. Errors that reopening cannot fix: -ENOTTY (not a
 * V4L2 device), -EOPNOTSUPP (no video capture or no streaming, or no format
 * we can use). Anything else (-ENOENT, -ENODEV, -EBUSY, -EACCES...) may go
 * away when the camera is plugged in, released or given permissions. */
int vg_v4l2_open(const char *path, const vg_v4l2_request_t *req, vg_v4l2_t **ret, char *why,
                 size_t whylen);

/* Gives back the buffer the last call returned, then waits up to timeout_us
 * for the next filled one (poll on the device and on stop_fd, which may be
 * -1) and dequeues it. *ret_pts_us is its capture time (the driver's
 * monotonic timestamp, microseconds).
 * Returns 0; -ECANCELED when stop_fd became readable; -ETIMEDOUT when no
 * frame came; -ENODEV when the camera was unplugged (ENODEV/EIO from the
 * driver, an error on poll, or the path is gone); another negative errno.
 * On failure why says what happened, naming the path. */
int vg_v4l2_next(vg_v4l2_t *cam, int64_t timeout_us, int stop_fd, int64_t *ret_pts_us, char *why,
                 size_t whylen);

/* Converts the buffer vg_v4l2_next returned into ret (see vg_v4l2_conv_run). */
int vg_v4l2_convert(vg_v4l2_t *cam, AVFrame *ret);

/* The negotiated mode, and its format and rate in words ("MJPG 30fps",
 * "YU12 15fps (converted by libv4l2)"); both live as long as cam. */
const vg_v4l2_mode_t *vg_v4l2_mode(const vg_v4l2_t *cam);
const char *vg_v4l2_describe(const vg_v4l2_t *cam);

/* Stops streaming, unmaps, closes. Accepts NULL and half-opened objects. */
void vg_v4l2_free(vg_v4l2_t **cam);

#endif
