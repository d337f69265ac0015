#include "vg_test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

extern char **environ;

long long vg_test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *vg_test_footage(const char *name)
{
    static char path[4096];
    const char *cache = getenv("VIGIL_CACHE_DIR");
    snprintf(path, sizeof(path), "%s/footage/%s", cache && *cache ? cache : VIGIL_CACHE_DIR, name);
    if (access(path, R_OK) != 0)
        cr_assert_fail("sample footage '%s' is missing: run scripts/fetch-footage.sh", path);
    return path;
}

const char *vg_test_build_path(const char *rel, char *buf, size_t len)
{
    const char *b = getenv("VIGIL_BUILD_DIR");
    snprintf(buf, len, "%s/%s", b && *b ? b : ".", rel);
    return buf;
}

int vg_test_spawn(char *const argv[], vg_test_proc_t *ret)
{
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) < 0)
        return -errno;
    if (pipe2(err, O_CLOEXEC) < 0) {
        close(out[0]);
        close(out[1]);
        return -errno;
    }
    /* fork + exec rather than posix_spawn: the child must die with the test
     * (PR_SET_PDEATHSIG), or a failed assertion, which ends the test process
     * at once, would leave a daemon or stream server running */
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(out[0]);
        close(out[1]);
        close(err[0]);
        close(err[1]);
        return -e;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127); /* the test already ended */
        dup2(out[1], 1);
        dup2(err[1], 2);
        execve(argv[0], argv, environ);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(err[0], F_SETFL, O_NONBLOCK);
    *ret = (vg_test_proc_t){.pid = pid, .out_fd = out[0], .err_fd = err[0]};
    return 0;
}

bool vg_test_read_line(vg_test_proc_t *p, const char *prefix, char *line, size_t len, int timeout_ms)
{
    char buf[4096];
    size_t have = 0;
    long long deadline = vg_test_now_ms() + timeout_ms;
    while (vg_test_now_ms() < deadline) {
        struct pollfd pf = {.fd = p->out_fd, .events = POLLIN};
        if (poll(&pf, 1, 100) <= 0)
            continue;
        /* byte by byte: we must not swallow lines after the one we want */
        char c;
        ssize_t n = read(p->out_fd, &c, 1);
        if (n == 0)
            return false; /* the child closed stdout */
        if (n < 0)
            continue;
        if (c == '\n') {
            buf[have] = '\0';
            if (strncmp(buf, prefix, strlen(prefix)) == 0) {
                snprintf(line, len, "%s", buf);
                return true;
            }
            have = 0;
        } else if (have + 1 < sizeof(buf)) {
            buf[have++] = c;
        }
    }
    return false;
}

void vg_test_read_stderr(vg_test_proc_t *p, char *buf, size_t len)
{
    size_t have = strlen(buf);
    while (have + 1 < len) {
        ssize_t n = read(p->err_fd, buf + have, len - 1 - have);
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    buf[have] = '\0';
}

static int decode_status(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

int vg_test_wait(vg_test_proc_t *p, int timeout_ms)
{
    long long deadline = vg_test_now_ms() + timeout_ms;
    do {
        int st;
        pid_t r = waitpid(p->pid, &st, WNOHANG);
        if (r == p->pid) {
            p->pid = 0;
            return decode_status(st);
        }
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    } while (vg_test_now_ms() < deadline);
    return -2;
}

int vg_test_stop(vg_test_proc_t *p, int sig, int timeout_ms)
{
    if (p->pid <= 0)
        return -1;
    kill(p->pid, sig);
    int st = vg_test_wait(p, timeout_ms);
    if (st == -2) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        p->pid = 0;
        st = -1;
    }
    if (p->out_fd >= 0)
        close(p->out_fd);
    if (p->err_fd >= 0)
        close(p->err_fd);
    p->out_fd = p->err_fd = -1;
    return st;
}
