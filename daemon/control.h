/*
 * control: the requests vigild's control socket (ZeroMQ ROUTER, answered by
 * the publisher thread) understands, parsed from the one text frame a client
 * sends. The socket is read-only: it reports and replays, never changes
 * state.
 *   status                 the latest stats of every camera
 *   since <camera> <seq>   every message of <camera> after <seq> still in the
 *                          catch-up log, or a gap saying what is gone
 * Owns: nothing. Thread: any (a pure function over its arguments).
 */
#ifndef VG_CONTROL_H
#define VG_CONTROL_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    VG_CONTROL_STATUS,
    VG_CONTROL_SINCE,
} vg_control_kind_t;

typedef struct {
    vg_control_kind_t kind;
    char camera[64];  /* since: a camera name, [A-Za-z0-9_-]{1,63} */
    uint64_t seq;     /* since: the last seq the client has (0 = none) */
} vg_control_request_t;

/* Parses one request of len bytes (need not be NUL-terminated). Returns 0
 * and fills ret, or -EINVAL with a one-line reason in why (when not NULL)
 * and ret untouched. Thread: any. */
int vg_control_parse(const char *text, size_t len, vg_control_request_t *ret, char *why, size_t whylen);

#endif
