/* control.c: see control.h. */
#include "daemon/control.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define USAGE "expected 'status' or 'since <camera> <seq>'"

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static int refuse(char *why, size_t whylen, const char *what)
{
    if (why && whylen)
        snprintf(why, whylen, "%s", what);
    return -EINVAL;
}

int vg_control_parse(const char *text, size_t len, vg_control_request_t *ret, char *why, size_t whylen)
{
    if (!text || !ret)
        return refuse(why, whylen, USAGE);
    if (len == 6 && memcmp(text, "status", 6) == 0) {
        *ret = (vg_control_request_t){.kind = VG_CONTROL_STATUS};
        return 0;
    }
    if (len < 6 || memcmp(text, "since ", 6) != 0)
        return refuse(why, whylen, USAGE);
    size_t i = 6, n = 0;
    vg_control_request_t r = {.kind = VG_CONTROL_SINCE};
    while (i < len && name_char(text[i])) {
        if (n + 1 >= sizeof(r.camera))
            return refuse(why, whylen, "since: the camera name is longer than 63 characters");
        r.camera[n++] = text[i++];
    }
    if (n == 0 || i >= len || text[i] != ' ')
        return refuse(why, whylen, "since: " USAGE);
    i++;
    size_t digits = 0;
    uint64_t seq = 0;
    for (; i < len && text[i] >= '0' && text[i] <= '9'; i++, digits++) {
        unsigned d = (unsigned)(text[i] - '0');
        if (seq > (UINT64_MAX - d) / 10)
            return refuse(why, whylen, "since: seq is too large");
        seq = seq * 10 + d;
    }
    if (digits == 0 || i != len)
        return refuse(why, whylen, "since: " USAGE);
    r.seq = seq;
    *ret = r;
    return 0;
}
