/*
 * reader: the one demux/decode loop. Opens a file or URL with libavformat
 * (a file, an image, rtsp://, http(s)://, anything libavformat reads), picks
 * the best video stream, decodes it with libavcodec and hands out its
 * pictures in order as reference-counted AVFrames. vigild's capture threads
 * (capture/source.h), `vigil detect`, the benches and the tests all read
 * video through it, so that they decode alike.
 *
 * Blocking I/O is bounded by timeout_us through an AVIOInterruptCB: the
 * timeout means "no data for timeout_us", not "this call took longer"
 * (bytes that keep arriving move the deadline on). The caller can also
 * interrupt a read from another thread through cfg.interrupt.
 *
 * With cfg.convert, pictures come out only in the pixel formats the pipeline
 * reads (YUV420P, YUVJ420P, NV12); any other (4:2:2, 4:4:4, grey, 10-bit,
 * RGB from a PNG) is converted to YUV420P (limited range) by libswscale into
 * buffers from a pool, so that the daemon and `vigil detect` see the same
 * pixels.
 *
 * Owns: the demuxer, the decoder, a packet, the conversion context and its
 * buffer pool. Frames handed out are references the caller owns; they stay
 * valid after vg_reader_free.
 * Thread: one thread at a time per reader (a camera's capture thread, or the
 * tool's main thread); cfg.interrupt may be set from any thread.
 * Blocks on: network and file I/O, for at most about timeout_us without
 * data.
 * Logs: nothing; errors come back as negative AVERROR values with a message
 * (vg_reader_error) for the caller to log.
 */
#ifndef VG_READER_H
#define VG_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libavcodec/packet.h>
#include <libavformat/avformat.h>
#include <libavutil/frame.h>

#define VG_READER_ERROR_MAX 512

typedef struct {
    const char *url;            /* borrowed for the reader's life */
    int64_t timeout_us;         /* no data for this long fails the call; 0 = wait forever */
    const char *rtsp_transport; /* "tcp" or "udp"; NULL = tcp */
    int decode_threads;         /* libavcodec threads; 0 = libavcodec decides */
    bool convert;               /* deliver only YUV420P/YUVJ420P/NV12 (see above) */
    /* Polled while reading (also from inside blocking I/O): non-zero stops
     * the current call with AVERROR_EXIT. NULL = never. Called on the
     * reader's thread; it must not block. */
    int (*interrupt)(void *opaque);
    /* Keep the best audio stream too (a recorder's stream copy): its packets
     * go to on_packet, never to the decoder. */
    bool audio;
    /* Each demuxed packet of the video stream (and of the audio stream with
     * cfg.audio: tell them apart by stream_index), before it is decoded (a
     * recorder's stream copy, a packet count). The packet is borrowed for
     * the call (av_packet_ref it to keep it). NULL = none. */
    void (*on_packet)(void *opaque, const AVPacket *pkt);
    void *opaque;
} vg_reader_config_t;

typedef struct vg_reader vg_reader_t;

/* Opens cfg->url and its decoder. cfg is copied (its strings are borrowed).
 * Returns 0 and *ret, or a negative AVERROR with one line in err naming the
 * URL and the cause ("cannot open 'rtsp://cam1': Connection refused",
 * "cannot open 'x': no data for 10.0s (timed out)"); *ret is untouched on
 * failure. A timeout is AVERROR(ETIMEDOUT); cfg.interrupt firing is
 * AVERROR_EXIT. err may be NULL. Thread: the reader's. */
int vg_reader_open(const vg_reader_config_t *cfg, vg_reader_t **ret, char *err, size_t errlen);

/* Decodes the next picture into ret_frame (unreferenced first; the caller
 * owns the reference it gets and unrefs it). Returns
 *   0                 a picture;
 *   AVERROR_EOF       the input ended and the decoder gave all it held (a
 *                     state: vg_reader_rewind starts again);
 *   AVERROR_EXIT      cfg.interrupt asked to stop;
 *   AVERROR(ETIMEDOUT) no data for timeout_us;
 *   another negative AVERROR: a read error (vg_reader_error says what).
 * AVERROR(EAGAIN) from the demuxer or the decoder is a state handled inside:
 * a packet the decoder refuses is counted (vg_reader_decode_errors) and
 * skipped, not returned. Thread: the reader's. */
int vg_reader_read(vg_reader_t *r, AVFrame *ret_frame);

/* Seeks back to the start (a looping file) and flushes the decoder. Returns
 * 0 or a negative AVERROR (vg_reader_error says what). Thread: the reader's. */
int vg_reader_rewind(vg_reader_t *r);

/* The message of the last failure of vg_reader_read or vg_reader_rewind
 * ("read failed on 'x': ..."); "" when none. Valid until the next call.
 * Thread: the reader's. */
const char *vg_reader_error(const vg_reader_t *r);

/* The video stream being decoded (time_base, codecpar, frame rates);
 * borrowed for the reader's life. Thread: the reader's. */
const AVStream *vg_reader_stream(const vg_reader_t *r);

/* The audio stream kept with cfg.audio, borrowed for the reader's life;
 * NULL when not asked for or the input has none. Thread: the reader's. */
const AVStream *vg_reader_audio_stream(const vg_reader_t *r);

/* libavformat's guess of the stream's frame rate ({0, 1} when unknown).
 * Thread: the reader's. */
AVRational vg_reader_frame_rate(const vg_reader_t *r);

/* The decoder's name ("h264"), borrowed. Thread: the reader's. */
const char *vg_reader_codec_name(const vg_reader_t *r);

/* Pictures handed out, and packets the decoder refused, since open.
 * Thread: the reader's. */
uint64_t vg_reader_frames(const vg_reader_t *r);
uint64_t vg_reader_decode_errors(const vg_reader_t *r);

/* Closes everything; frames already handed out stay valid. Accepts NULL
 * and sets *r = NULL. Thread: the reader's. */
void vg_reader_free(vg_reader_t **r);

/* True when the URL names a network stream (rtsp://, http://, udp://, ...)
 * rather than a file. Thread: any (pure). */
bool vg_reader_url_is_network(const char *url);

#endif
