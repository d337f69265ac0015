/*
 * A vigild under test: its temporary folder, config file and PUB endpoint,
 * the process, a SUB socket on every topic, what it wrote on stderr, and
 * (for the service tests) the NOTIFY_SOCKET it reports to. Shared by the
 * end-to-end suites (test_daemon, test_service) so that they start, read and
 * stop the daemon the same way.
 * Thread: the test's main thread. Failures abort the test (Criterion).
 */
#ifndef VG_TEST_VIGILD_H
#define VG_TEST_VIGILD_H

#include <stddef.h>

#include <jansson.h>

#include "vg_test_util.h"

typedef struct {
    char dir[64];        /* /tmp/vigil-TAG-XXXXXX, removed at stop */
    char config[128];    /* DIR/vigil.yaml */
    char endpoint[300];  /* ipc://DIR/pub: put it in the config's daemon.publish */
    char notify[96];     /* NOTIFY_SOCKET path when notify_fd >= 0 (fits sun_path) */
    int notify_fd;       /* -1 when unused */
    vg_test_proc_t proc;
    void *ctx, *sub;
    char err[262144];    /* vigild's stderr so far (vg_test_vigild_stderr) */
} vg_test_vigild_t;

/* Writes text to path (replacing it). */
void vg_test_write_file(const char *path, const char *text);

/* Zeroes d and makes its folder /tmp/vigil-TAG-XXXXXX; nothing runs yet. */
void vg_test_vigild_prepare(vg_test_vigild_t *d, const char *tag);

/* Connects the SUB socket to d->endpoint (every topic, a deep receive
 * queue, no linger), then starts build/daemon/vigild --config d->config:
 * connecting first, the subscriber sees the daemon's first messages. */
void vg_test_vigild_start(vg_test_vigild_t *d);

/* What vigild wrote on stderr so far (also kept in d->err). */
const char *vg_test_vigild_stderr(vg_test_vigild_t *d);

/* Stops vigild with sig (SIGKILL after timeout_ms), closes the sockets and
 * removes the folder. Returns vg_test_stop's status, or -1 when vigild had
 * already been reaped. */
int vg_test_vigild_stop(vg_test_vigild_t *d, int sig, int timeout_ms);

/* Receives one [topic][json] message on sub within timeout_ms: the topic
 * into topic (NUL-terminated), the parsed JSON returned (caller decrefs);
 * NULL on timeout. A missing JSON part or invalid JSON fails the test. */
json_t *vg_test_recv_json(void *sub, int timeout_ms, char *topic, size_t topiclen);

/* The third part of the message vg_test_recv_json returned last (a
 * snapshot's JPEG), valid until the next call: its size, 0 when none. */
size_t vg_test_last_blob(const void **ret);

#endif
