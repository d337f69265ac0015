/*
 * Helpers for vigil's tests: where the fetched footage is, starting and
 * stopping helper processes (stream servers, vigild) with bounded waits.
 * Thread: the test's main thread.
 */
#ifndef VG_TEST_UTIL_H
#define VG_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Path of a fetched clip ($VIGIL_CACHE_DIR/footage/NAME) in a static buffer;
 * aborts the test with a message naming scripts/fetch-footage.sh when absent. */
const char *vg_test_footage(const char *name);

/* Path of a built binary ($VIGIL_BUILD_DIR/REL). */
const char *vg_test_build_path(const char *rel, char *buf, size_t len);

typedef struct {
    pid_t pid;
    int out_fd;   /* child's stdout (non-blocking), -1 if not captured */
    int err_fd;   /* child's stderr (non-blocking), -1 if not captured */
} vg_test_proc_t;

/* Starts argv (argv[0] is a path) with stdout/stderr piped; 0 or -errno. */
int vg_test_spawn(char *const argv[], vg_test_proc_t *ret);

/* Reads the child's stdout until a line starting with prefix arrives (copied
 * into line) or timeout_ms passes; true if found. */
bool vg_test_read_line(vg_test_proc_t *p, const char *prefix, char *line, size_t len, int timeout_ms);

/* Appends what the child wrote on stderr so far to buf (NUL-terminated). */
void vg_test_read_stderr(vg_test_proc_t *p, char *buf, size_t len);

/* Sends sig and waits up to timeout_ms; returns the exit status (WEXITSTATUS
 * style), 128+signal if killed by a signal, or -1 if it had to be SIGKILLed. */
int vg_test_stop(vg_test_proc_t *p, int sig, int timeout_ms);

/* Waits up to timeout_ms for the child to exit by itself; status as above,
 * -2 if still running. */
int vg_test_wait(vg_test_proc_t *p, int timeout_ms);

/* Milliseconds on the monotonic clock. */
long long vg_test_now_ms(void);

#endif
