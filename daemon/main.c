/*
 * vigild: the monitoring daemon. Main thread: config, signals (signalfd),
 * sd_notify, the housekeeping tick; everything else runs in the runtime's
 * threads (daemon/runtime.h).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/log.h>
#include <systemd/sd-daemon.h>

#include "capture/recorder.h"
#include "daemon/check.h"
#include "daemon/config.h"
#include "daemon/log.h"
#include "daemon/http.h"
#include "daemon/metrics.h"
#include "daemon/runtime.h"

#define DEFAULT_CONFIG "/etc/vigil/vigil.yaml"
#define TICK_MS 100
/* SIGTERM must be done within 2 s: the workers get 1 s to drain. */
#define DRAIN_MS 1000
/* READY=1 waits for every camera to open or fail, but not longer than this
 * (systemd's TimeoutStartSec= is 90 s by default; a camera's open is bounded
 * by its own timeout anyway, 10 s by default) */
#define READY_MAX_MS 60000

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vigild [--config FILE]      run the daemon (default " DEFAULT_CONFIG ")\n"
            "       vigild --check-config FILE  validate FILE and exit 0 (valid) or 1: the schema, the\n"
            "                                   endpoints (bindable now), the models (load, manifest)\n"
            "       vigild --version | --help\n"
            "Signals: SIGHUP reloads the config (only changed cameras restart);\n"
            "SIGTERM/SIGINT drain the pipeline and exit 0.\n");
}

static int check_config(const char *path)
{
    char err[VG_CONFIG_ERROR_MAX];
    vg_config_t *cfg = NULL;
    if (vg_config_load(path, err, sizeof(err), &cfg) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    /* what would fail at start or lose detection: endpoints, model files */
    if (vg_check_config(cfg, stdout, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        vg_config_free(&cfg);
        return 1;
    }
    printf("%s: ok (%d camera%s, %d model%s)\n", path, cfg->n_cameras, cfg->n_cameras == 1 ? "" : "s",
           cfg->n_models, cfg->n_models == 1 ? "" : "s");
    vg_config_free(&cfg);
    return 0;
}

static void notify_status(vg_runtime_t *rt)
{
    int streaming = 0, total = vg_runtime_cameras(rt, &streaming);
    vg_runtime_totals_t t;
    vg_runtime_totals(rt, &t);
    sd_notifyf(0, "STATUS=%d/%d cameras streaming, %llu frames analysed, %llu dropped", streaming, total,
               (unsigned long long)t.analysed,
               (unsigned long long)(t.dropped_ring + t.dropped_pool + t.dropped_publish));
}

/* The listener's address: daemon.http, else its old name daemon.metrics;
 * NULL when neither is set. */
static const char *http_listen(const vg_config_t *cfg)
{
    if (cfg->http && cfg->http[0])
        return cfg->http;
    if (cfg->metrics && cfg->metrics[0])
        return cfg->metrics;
    return NULL;
}

/* Some camera records: the HTTP side serves events and footage from the
 * index of recordings. */
static bool any_recording(const vg_config_t *cfg)
{
    for (int i = 0; i < cfg->n_cameras; i++)
        if (cfg->cameras[i].record_mode != VG_RECORD_OFF)
            return true;
    return false;
}

/* Starts the HTTP listener (web UI, API, /metrics) when the config asks for
 * one; NULL with the cause logged when it cannot listen. */
static vg_http_t *http_start(const vg_config_t *cfg, vg_runtime_t *rt, bool *ret_failed)
{
    vg_http_t *h = NULL;
    char err[1024], root[4096];
    *ret_failed = false;
    const char *listen = http_listen(cfg);
    if (!listen)
        return NULL;
    vg_http_config_t hc = {
        .listen = listen,
        .web_root = vg_http_default_web_root(cfg->web_root, root, sizeof(root)),
        .users_file = cfg->http_users,
        .tls_cert = cfg->http_tls_cert,
        .tls_key = cfg->http_tls_key,
        .publish = cfg->publish,
        .curve_key_file = cfg->curve_secret_key_file,
        .live = vg_runtime_live(rt),
        .state_dir = cfg->state_dir,
        .recording = any_recording(cfg),
    };
    if (vg_http_new(&hc, err, sizeof(err), &h) < 0) {
        vg_log(VG_LOG_ERROR, "%s", err);
        *ret_failed = true;
        return NULL;
    }
    /* "metrics on port" stays: scripts and tests look for it */
    vg_log(VG_LOG_INFO, "http on port %d (%s: web UI from %s, /api/, /metrics); metrics on port %d", vg_http_port(h),
           listen, root, vg_http_port(h));
    return h;
}

static bool str_same(const char *a, const char *b) { return strcmp(a ? a : "", b ? b : "") == 0; }

/* Sets vigild's log level (and libav*'s, which follows it). Thread: main. */
static void apply_log_level(const char *name)
{
    int level = vg_log_level_from_name(name);
    if (level < 0)
        level = VG_LOG_INFO; /* the schema only lets known names through */
    vg_log_set_level(level);
    /* libav* would print every damaged packet; we count them (stats) and
     * log each camera's failures and recoveries once (runtime.c), so its
     * own messages are for debugging */
    av_log_set_level(level >= VG_LOG_DEBUG ? AV_LOG_WARNING : AV_LOG_FATAL);
}

/* SIGHUP: parse, validate, apply per camera; a bad file changes nothing. */
static void reload(vg_runtime_t *rt, vg_config_t **cfg, const char *path, vg_http_t **http, bool ready)
{
    if (ready)
        sd_notify(0, "RELOADING=1");
    char err[VG_CONFIG_ERROR_MAX];
    vg_config_t *next = NULL;
    if (vg_config_load(path, err, sizeof(err), &next) < 0) {
        vg_log(VG_LOG_ERROR, "reload refused, the running configuration stays: %s", err);
    } else {
        char msg[512];
        if (vg_runtime_apply(rt, next, msg, sizeof(msg)) > 0)
            vg_log(VG_LOG_WARNING, "reload: %s", msg);
        const vg_config_t *o = *cfg;
        if (!str_same(http_listen(o), http_listen(next)) || !str_same(o->web_root, next->web_root) ||
            !str_same(o->http_users, next->http_users) || !str_same(o->http_tls_cert, next->http_tls_cert) ||
            !str_same(o->http_tls_key, next->http_tls_key) || !str_same(o->publish, next->publish)) {
            bool failed;
            vg_http_free(http);
            *http = http_start(next, rt, &failed);
        }
        if (*http)
            vg_http_set_recording(*http, any_recording(next));
        if (strcmp((*cfg)->log_level, next->log_level) != 0) {
            /* said at the more verbose of the two levels, so that it shows
             * whichever way the level went */
            int was = vg_log_level_from_name((*cfg)->log_level), now = vg_log_level_from_name(next->log_level);
            vg_log_set_level(was > now ? was : now);
            vg_log(VG_LOG_WARNING, "reload: log_level %s -> %s", (*cfg)->log_level, next->log_level);
            apply_log_level(next->log_level);
        }
        vg_config_free(cfg);
        *cfg = next;
        vg_log(VG_LOG_INFO, "reloaded %s (%d cameras)", path, (*cfg)->n_cameras);
    }
    if (ready) {
        sd_notify(0, "READY=1");
        notify_status(rt);
    }
}

int main(int argc, char **argv)
{
    const char *config_path = DEFAULT_CONFIG;
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"check-config", required_argument, NULL, 'C'},
        {"version", no_argument, NULL, 'V'},      {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int o;
    vg_runtime_tune_process();
    vg_log_setup("vigild", VG_LOG_INFO);
    while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (o) {
        case 'c': config_path = optarg; break;
        case 'C': return check_config(optarg);
        case 'V': printf("vigild %s\n", VIGIL_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vigild: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    char err[VG_CONFIG_ERROR_MAX];
    vg_config_t *cfg = NULL;
    if (vg_config_load(config_path, err, sizeof(err), &cfg) < 0) {
        vg_log(VG_LOG_ERROR, "%s", err);
        return 1;
    }
    apply_log_level(cfg->log_level);

    /* Block the signals before any thread starts, so every thread inherits
     * the mask and only the signalfd sees them. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        vg_log(VG_LOG_ERROR, "signalfd: %s", strerror(errno));
        return 1;
    }

    vg_runtime_t *rt = NULL;
    char rerr[512];
    int r = vg_runtime_new(cfg, NULL, rerr, sizeof(rerr), &rt);
    if (r < 0) {
        vg_log(VG_LOG_ERROR, "%s", rerr);
        vg_config_free(&cfg);
        return 1;
    }
    vg_log(VG_LOG_INFO, "publishing on %s, %d camera%s, config %s", cfg->publish, cfg->n_cameras,
           cfg->n_cameras == 1 ? "" : "s", config_path);
    bool http_failed;
    vg_http_t *http = http_start(cfg, rt, &http_failed);
    if (http_failed) {
        vg_runtime_free(&rt, 0);
        vg_config_free(&cfg);
        return 1;
    }
    /* the HTTP thread reads copies of this; ~1 KB per camera, taken every tick */
    vg_runtime_snapshot_t *snap = malloc(sizeof(*snap));
    if (!snap) {
        vg_log(VG_LOG_ERROR, "out of memory");
        vg_http_free(&http);
        vg_runtime_free(&rt, 0);
        vg_config_free(&cfg);
        return 1;
    }
    uint64_t watchdog_us = 0;
    bool watchdog = sd_watchdog_enabled(0, &watchdog_us) > 0;
    struct timespec last_ping = {0}, started;
    clock_gettime(CLOCK_MONOTONIC, &started);
    bool ready = false;
    int exit_code = 0;
    for (bool running = true; running;) {
        struct pollfd p = {.fd = sfd, .events = POLLIN};
        poll(&p, 1, TICK_MS);
        struct signalfd_siginfo si;
        while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
            if (si.ssi_signo == SIGHUP) {
                reload(rt, &cfg, config_path, &http, ready);
            } else {
                vg_log(VG_LOG_INFO, "%s: stopping", strsignal((int)si.ssi_signo));
                sd_notify(0, "STOPPING=1");
                running = false;
            }
        }
        if (!running)
            break;
        vg_runtime_tick(rt, false);
        if (http) {
            vg_runtime_snapshot(rt, snap);
            vg_http_update(http, snap);
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (!ready) {
            /* READY=1 once every camera has opened or failed for a reason it
             * reported (health.<camera>) */
            int64_t ms = (now.tv_sec - started.tv_sec) * 1000LL + (now.tv_nsec - started.tv_nsec) / 1000000;
            int opening = vg_runtime_opening(rt);
            if (opening > 0 && ms < READY_MAX_MS)
                continue;
            int streaming = 0, total = vg_runtime_cameras(rt, &streaming);
            if (opening > 0)
                vg_log(VG_LOG_WARNING, "ready after %lld ms with %d camera%s still opening", (long long)ms, opening,
                       opening == 1 ? "" : "s");
            else
                vg_log(VG_LOG_INFO, "ready after %lld ms: %d/%d cameras streaming", (long long)ms, streaming, total);
            vg_runtime_log_memory(rt);
            sd_notify(0, "READY=1");
            notify_status(rt);
            ready = true;
            last_ping = now;
        }
        if (watchdog) {
            int64_t since = (now.tv_sec - last_ping.tv_sec) * 1000000LL + (now.tv_nsec - last_ping.tv_nsec) / 1000;
            /* ping at half the period, and only while the pipeline moves */
            if (since >= (int64_t)watchdog_us / 2) {
                const char *why = "";
                if (vg_runtime_alive(rt, &why)) {
                    sd_notify(0, "WATCHDOG=1");
                    notify_status(rt);
                } else {
                    vg_log(VG_LOG_ERROR, "%s; withholding the watchdog ping", why);
                }
                last_ping = now;
            }
        }
    }
    vg_http_free(&http);
    free(snap);
    vg_runtime_free(&rt, DRAIN_MS);
    vg_config_free(&cfg);
    close(sfd);
    vg_log(VG_LOG_INFO, "stopped");
    return exit_code;
}
