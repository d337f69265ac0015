/*
 * publisher: the one thread that owns vigil's outward ZeroMQ sockets.
 *
 * Producers (capture threads, workers, the main thread) each own an emitter,
 * a PUSH socket connected to the publisher's inproc PULL. The publisher adds
 * "topic", "camera" and the per-camera "seq" (rising by one over every topic
 * of that camera) to each message and sends it as [topic][json] on the PUB
 * socket, or prints it as one JSON line (replay). It also answers the control
 * socket (ROUTER, daemon/control.h): "status" returns the latest stats of
 * every camera, "since <camera> <seq>" replays what a subscriber missed from
 * the camera's catch-up log (its newest messages, bounded in number and
 * bytes).
 *
 * With CURVE (curve_secret_key_file), both sockets encrypt and a ZAP handler
 * in the publisher thread lets in only clients whose public key is in the
 * curve_clients folder (re-read at every handshake, so adding a key needs no
 * restart); anyone else gets nothing.
 *
 * A slow subscriber never slows the pipeline: the PUB socket drops at its
 * send high-water mark (subscribers see the gap in seq), and an emitter whose
 * queue to the publisher is full drops the message and counts it, unless the
 * publisher was made lossless (replay), where emitters wait instead.
 *
 * Owns: the PUB socket, the control ROUTER, the inproc PULL, the seq table,
 * the catch-up logs.
 * Thread: new/free and emitter new/free from the main thread; each emitter is
 * then used by exactly one thread (ZeroMQ sockets are not thread-safe; a
 * socket may move to another thread across a thread start).
 * Blocks on: zmq_poll in its own thread; emitters never block unless lossless.
 */
#ifndef VG_PUBLISHER_H
#define VG_PUBLISHER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    void *zmq_context;     /* borrowed; shared by the process */
    const char *endpoint;  /* PUB bind endpoint; NULL when print_to is set */
    const char *control;   /* ROUTER bind endpoint; NULL or "" = none */
    int hwm;               /* PUB send high-water mark (messages) */
    FILE *print_to;        /* print JSON lines here instead of publishing */
    bool lossless;         /* emitters block instead of dropping */
    const char *curve_secret_key_file; /* CURVE on the PUB and control sockets; NULL = plain */
    const char *curve_clients;         /* folder of the client public keys allowed (ZAP) */
    int log_messages;      /* catch-up log per camera: at most this many messages */
    size_t log_bytes;      /* ... and this many bytes of JSON; either 0 = no log */
} vg_publisher_config_t;

typedef struct {
    _Atomic uint64_t published; /* messages sent or printed */
    _Atomic uint64_t dropped;   /* messages emitters could not queue */
    _Atomic uint64_t invalid;   /* malformed internal messages (a bug if > 0) */
    _Atomic uint64_t loops;     /* turns of the publisher thread (one per <= 50 ms, even idle):
                                 * the watchdog's sign that it is alive */
} vg_publisher_stats_t;

typedef struct vg_publisher vg_publisher_t;
typedef struct vg_emitter vg_emitter_t;

/* Binds the sockets and starts the thread. On failure returns a negative
 * errno and writes the cause into err, e.g.
 * "cannot bind publish endpoint 'tcp://127.0.0.1:5555': Address already in use".
 * Thread: main. */
int vg_publisher_new(const vg_publisher_config_t *cfg, char *err, size_t errlen, vg_publisher_t **ret);

/* Sends what is queued, stops the thread (woken at once through its
 * eventfd), closes the sockets (lingering at most 500 ms for subscribers).
 * Free every emitter first. Accepts NULL. Thread: main. */
void vg_publisher_free(vg_publisher_t **pub);

/* The publisher's counters; read them relaxed. Thread: any. */
const vg_publisher_stats_t *vg_publisher_stats(const vg_publisher_t *pub);

/* A new emitter (a PUSH socket to the publisher); returns 0 or a negative
 * errno. Thread: main; the emitter is then used by one thread at a time. */
int vg_emitter_new(vg_publisher_t *pub, vg_emitter_t **ret);
/* Closes it; messages it queued still go out. Accepts NULL. Thread: main,
 * once the thread that used it is done with it. */
void vg_emitter_free(vg_emitter_t **em);

/* Reads a Z85 CURVE key from a file written by `vigil keygen`: the value of
 * the line "which: KEY" (which = "public" or "secret"), or a line that is a
 * bare 40-character key. Returns 0, -ENOKEY when there is none, or open's
 * negative errno. Thread: any. */
int vg_curve_read_key(const char *path, const char *which, char ret_key[41]);

/* Tells the publisher that camera was removed (a reload): "status" stops
 * listing it; its seq and catch-up log stay, should it come back.
 * Returns 0 or -EAGAIN. Thread: the one thread that uses this emitter. */
int vg_emitter_forget(vg_emitter_t *em, const char *camera);

/* Queues one message (see vg_emit_fn in pipeline/analysis.h: body is a JSON
 * object without topic, camera and seq). emitter is a vg_emitter_t.
 * Returns 0, or -EAGAIN when dropped (counted), -EINVAL on a bad message.
 * Thread: the one thread that uses this emitter. */
int vg_emitter_send(void *emitter, const char *topic, const char *camera, const char *json, size_t len);

/* The same with a binary third part (a snapshot's JPEG, copied), published
 * as [topic][json][blob]; only for topics starting with "snap.". When the
 * publisher prints JSON lines (replay) the blob is not printed.
 * Thread: the one thread that uses this emitter. */
int vg_emitter_send_blob(void *emitter, const char *topic, const char *camera, const char *json, size_t len,
                         const void *blob, size_t blob_len);

#endif
