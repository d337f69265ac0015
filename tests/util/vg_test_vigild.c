#include "vg_test_vigild.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <zmq.h>

void vg_test_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0, "cannot write %s", path);
}

void vg_test_vigild_prepare(vg_test_vigild_t *d, const char *tag)
{
    memset(d, 0, sizeof(*d));
    d->notify_fd = -1;
    d->proc.out_fd = d->proc.err_fd = -1;
    snprintf(d->dir, sizeof(d->dir), "/tmp/vigil-%s-XXXXXX", tag);
    cr_assert_not_null(mkdtemp(d->dir));
    snprintf(d->config, sizeof(d->config), "%s/vigil.yaml", d->dir);
    snprintf(d->endpoint, sizeof(d->endpoint), "ipc://%s/pub", d->dir);
}

void vg_test_vigild_start(vg_test_vigild_t *d)
{
    char bin[4096];
    vg_test_build_path("daemon/vigild", bin, sizeof(bin));
    char *argv[] = {bin, "--config", d->config, NULL};
    d->ctx = zmq_ctx_new();
    d->sub = zmq_socket(d->ctx, ZMQ_SUB);
    zmq_setsockopt(d->sub, ZMQ_SUBSCRIBE, "", 0);
    /* the tests count every message: a deep queue, so none is dropped here */
    int zero = 0, hwm = 100000;
    zmq_setsockopt(d->sub, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(d->sub, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    cr_assert_eq(zmq_connect(d->sub, d->endpoint), 0);
    cr_assert_eq(vg_test_spawn(argv, &d->proc), 0);
}

const char *vg_test_vigild_stderr(vg_test_vigild_t *d)
{
    if (d->proc.err_fd >= 0)
        vg_test_read_stderr(&d->proc, d->err, sizeof(d->err));
    return d->err;
}

int vg_test_vigild_stop(vg_test_vigild_t *d, int sig, int timeout_ms)
{
    int st = d->proc.pid > 0 ? vg_test_stop(&d->proc, sig, timeout_ms) : -1;
    if (d->sub)
        zmq_close(d->sub);
    if (d->ctx)
        zmq_ctx_term(d->ctx);
    d->sub = d->ctx = NULL;
    if (d->notify_fd >= 0)
        close(d->notify_fd);
    d->notify_fd = -1;
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", d->dir);
    cr_assert_eq(system(cmd), 0);
    return st;
}

static const void *last_blob; /* the third part of the last message received */
static size_t last_blob_len;

json_t *vg_test_recv_json(void *sub, int timeout_ms, char *topic, size_t topiclen)
{
    zmq_pollitem_t it = {.socket = sub, .events = ZMQ_POLLIN};
    if (zmq_poll(&it, 1, timeout_ms) <= 0)
        return NULL;
    int n = zmq_recv(sub, topic, topiclen - 1, 0);
    cr_assert_gt(n, 0);
    topic[n < (int)topiclen - 1 ? n : (int)topiclen - 1] = '\0';
    static char body[65536];
    int more = 0;
    size_t ml = sizeof(more);
    zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &ml);
    cr_assert(more, "[topic][json]: the json part of '%s' is missing", topic);
    int bl = zmq_recv(sub, body, sizeof(body) - 1, 0);
    cr_assert_gt(bl, 0);
    cr_assert_lt(bl, (int)sizeof(body), "a message above %zu bytes", sizeof(body) - 1);
    json_error_t e;
    json_t *m = json_loadb(body, (size_t)bl, 0, &e);
    cr_assert_not_null(m, "not JSON (%s): %.*s", e.text, bl, body);
    /* a third part (snap.<camera>: the JPEG) is kept for vg_test_last_blob */
    static zmq_msg_t blob;
    static bool have_blob;
    if (have_blob)
        zmq_msg_close(&blob);
    have_blob = false;
    last_blob = NULL;
    last_blob_len = 0;
    zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &ml);
    if (more) {
        zmq_msg_init(&blob);
        cr_assert_geq(zmq_msg_recv(&blob, sub, 0), 0);
        have_blob = true;
        last_blob = zmq_msg_data(&blob);
        last_blob_len = zmq_msg_size(&blob);
        zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &ml);
        cr_assert(!more, "'%s': more than three parts", topic);
    }
    return m;
}

size_t vg_test_last_blob(const void **ret)
{
    *ret = last_blob;
    return last_blob_len;
}
