/* http_auth.c: users (a file of "name:crypto_pwhash_str" lines, written by
 * `vigil passwd`), sessions (random tokens in memory: a restart logs
 * everyone out), login and its rate limit. See http.h. */
#include "daemon/http_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "daemon/log.h"

#define SESSION_US (12 * 3600 * 1000000LL)  /* a login lasts 12 h */
#define RATE_WINDOW_US (5 * 60 * 1000000LL) /* failures counted over 5 min */
#define RATE_MAX_FAILURES 5                 /* then the address waits */
#define RATE_BLOCK_US (60 * 1000000LL)      /* 1 min */

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int http_auth_init(http_auth_t *a, const char *users_file, bool secure, char *err, size_t errlen)
{
    memset(a, 0, sizeof(*a));
    pthread_mutex_init(&a->lock, NULL);
    pthread_mutex_init(&a->verify_lock, NULL);
    a->secure = secure;
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium cannot start");
        return -EIO;
    }
    if (!users_file || !users_file[0])
        return 0;
    FILE *f = fopen(users_file, "re");
    if (!f) {
        int e = errno;
        snprintf(err, errlen, "daemon.http_users: cannot read '%s': %s", users_file, strerror(e));
        return -e;
    }
    char line[512];
    int lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        char *colon = strchr(line, ':');
        if (!colon || colon == line || (size_t)(colon - line) >= sizeof(a->users[0].name) ||
            strncmp(colon + 1, "$argon2", 7) != 0 || strlen(colon + 1) >= sizeof(a->users[0].hash)) {
            snprintf(err, errlen, "%s:%d: expected NAME:HASH (written by `vigil passwd`)", users_file, lineno);
            fclose(f);
            return -EINVAL;
        }
        if (a->n_users == HTTP_MAX_USERS) {
            snprintf(err, errlen, "%s:%d: more than %d users", users_file, lineno, HTTP_MAX_USERS);
            fclose(f);
            return -EINVAL;
        }
        *colon = '\0';
        http_user_t *u = &a->users[a->n_users++];
        memcpy(u->name, line, (size_t)(colon - line) + 1);          /* length checked above */
        memcpy(u->hash, colon + 1, strlen(colon + 1) + 1);
    }
    fclose(f);
    return 0;
}

void http_auth_fini(http_auth_t *a)
{
    pthread_mutex_destroy(&a->lock);
    pthread_mutex_destroy(&a->verify_lock);
    sodium_memzero(a->sessions, sizeof(a->sessions));
}

/* The rate slot of ip (a new or the stalest one). Caller holds a->lock. */
static http_rate_t *rate_slot(http_auth_t *a, const char *ip, int64_t now)
{
    http_rate_t *oldest = &a->rate[0];
    for (int i = 0; i < HTTP_RATE_SLOTS; i++) {
        if (strcmp(a->rate[i].ip, ip) == 0)
            return &a->rate[i];
        if (a->rate[i].window_us < oldest->window_us)
            oldest = &a->rate[i];
    }
    memset(oldest, 0, sizeof(*oldest));
    snprintf(oldest->ip, sizeof(oldest->ip), "%s", ip);
    oldest->window_us = now;
    return oldest;
}

/* 0 when ip may try a password now, else the seconds it must wait. */
static int rate_wait_s(http_auth_t *a, const char *ip)
{
    int64_t now = mono_us();
    pthread_mutex_lock(&a->lock);
    http_rate_t *r = rate_slot(a, ip, now);
    int wait = r->blocked_until_us > now ? (int)((r->blocked_until_us - now) / 1000000 + 1) : 0;
    pthread_mutex_unlock(&a->lock);
    return wait;
}

/* Counts a failure of ip (logged), or clears its count on success. */
static void rate_result(http_auth_t *a, const char *ip, const char *user, bool ok)
{
    int64_t now = mono_us();
    pthread_mutex_lock(&a->lock);
    http_rate_t *r = rate_slot(a, ip, now);
    int failures = 0;
    bool blocked = false;
    if (ok) {
        r->failures = 0;
    } else {
        if (now - r->window_us > RATE_WINDOW_US) {
            r->window_us = now;
            r->failures = 0;
        }
        failures = ++r->failures;
        if (r->failures >= RATE_MAX_FAILURES) {
            r->blocked_until_us = now + RATE_BLOCK_US;
            r->failures = 0;
            r->window_us = now;
            blocked = true;
        }
    }
    pthread_mutex_unlock(&a->lock);
    if (!ok)
        vg_log(VG_LOG_WARNING, "http: failed login for '%.63s' from %s (%d in a row)%s", user, ip, failures,
               blocked ? "; this address must wait 60 s" : "");
}

/* true when name/password match a user. Slow on purpose (crypto_pwhash);
 * one at a time, since each takes the hash's memory (64 MiB by default). */
static bool verify(http_auth_t *a, const char *name, const char *password)
{
    const http_user_t *u = NULL;
    for (int i = 0; i < a->n_users; i++)
        if (strcmp(a->users[i].name, name) == 0)
            u = &a->users[i];
    pthread_mutex_lock(&a->verify_lock);
    /* an unknown user costs the same time as a wrong password */
    bool ok = crypto_pwhash_str_verify(u ? u->hash : a->users[0].hash, password, strlen(password)) == 0 && u;
    pthread_mutex_unlock(&a->verify_lock);
    return ok;
}

static bool session_find(http_auth_t *a, const char *token, char ret_user[64])
{
    if (!token || strlen(token) != 64)
        return false;
    int64_t now = mono_us();
    bool ok = false;
    pthread_mutex_lock(&a->lock);
    for (int i = 0; i < HTTP_MAX_SESSIONS && !ok; i++) {
        http_session_t *s = &a->sessions[i];
        if (s->token[0] && s->expires_us > now && sodium_memcmp(s->token, token, 64) == 0) {
            ok = true;
            snprintf(ret_user, 64, "%s", s->user);
        }
    }
    pthread_mutex_unlock(&a->lock);
    return ok;
}

bool http_auth_check(http_auth_t *a, struct MHD_Connection *c, const char *ip, char ret_user[64])
{
    ret_user[0] = '\0';
    if (a->n_users == 0)
        return true;
    if (session_find(a, MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "vigil_session"), ret_user))
        return true;
    const char *hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (hdr && strncmp(hdr, "Bearer ", 7) == 0)
        return session_find(a, hdr + 7, ret_user);
    if (hdr && strncmp(hdr, "Basic ", 6) == 0) {
        /* Prometheus' basic_auth: a password check per scrape, rate-limited like logins */
        char *pass = NULL;
        char *user = MHD_basic_auth_get_username_password(c, &pass);
        bool ok = false;
        if (user && pass && rate_wait_s(a, ip) == 0) {
            ok = verify(a, user, pass);
            rate_result(a, ip, user, ok);
            if (ok)
                snprintf(ret_user, 64, "%s", user);
        }
        if (pass) {
            sodium_memzero(pass, strlen(pass));
            MHD_free(pass);
        }
        if (user)
            MHD_free(user);
        return ok;
    }
    return false;
}

enum MHD_Result http_auth_login(http_auth_t *a, struct MHD_Connection *c, const http_req_t *rq)
{
    if (a->n_users == 0)
        return http_error(c, MHD_HTTP_BAD_REQUEST, "no users are configured: nothing to log in to");
    int wait = rate_wait_s(a, rq->ip);
    if (wait > 0) {
        vg_log(VG_LOG_WARNING, "http: login from %s refused: too many failures, %d s to wait", rq->ip, wait);
        return http_error(c, MHD_HTTP_TOO_MANY_REQUESTS, "too many failed logins: try again in %d s", wait);
    }
    json_error_t jerr;
    json_t *body = rq->body ? json_loadb(rq->body, rq->len, 0, &jerr) : NULL;
    const char *user = NULL, *password = NULL;
    if (!body || json_unpack(body, "{s:s,s:s}", "user", &user, "password", &password) < 0) {
        json_decref(body);
        return http_error(c, MHD_HTTP_BAD_REQUEST, "expected JSON {\"user\": ..., \"password\": ...}");
    }
    bool ok = verify(a, user, password);
    rate_result(a, rq->ip, user, ok);
    if (!ok) {
        json_decref(body);
        return http_error(c, MHD_HTTP_UNAUTHORIZED, "wrong user or password");
    }
    unsigned char raw[32];
    randombytes_buf(raw, sizeof(raw));
    char token[65];
    sodium_bin2hex(token, sizeof(token), raw, sizeof(raw));
    int64_t now = mono_us();
    pthread_mutex_lock(&a->lock);
    http_session_t *slot = &a->sessions[0];
    for (int i = 0; i < HTTP_MAX_SESSIONS; i++) {
        if (!a->sessions[i].token[0] || a->sessions[i].expires_us <= now) {
            slot = &a->sessions[i];
            break;
        }
        if (a->sessions[i].expires_us < slot->expires_us)
            slot = &a->sessions[i]; /* full: the oldest login goes */
    }
    snprintf(slot->token, sizeof(slot->token), "%s", token);
    snprintf(slot->user, sizeof(slot->user), "%s", user);
    slot->expires_us = now + SESSION_US;
    pthread_mutex_unlock(&a->lock);
    vg_log(VG_LOG_INFO, "http: '%s' logged in from %s", user, rq->ip);
    char *text = json_dumps(json_pack("{s:s,s:s,s:i}", "user", user, "token", token, "expires_in",
                                      (int)(SESSION_US / 1000000)),
                            JSON_COMPACT);
    json_decref(body);
    if (!text)
        return MHD_NO;
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    char cookie[200];
    snprintf(cookie, sizeof(cookie), "vigil_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s", token,
             (int)(SESSION_US / 1000000), a->secure ? "; Secure" : "");
    MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    http_common_headers(r);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    sodium_memzero(token, sizeof(token));
    return ret;
}

enum MHD_Result http_auth_logout(http_auth_t *a, struct MHD_Connection *c)
{
    const char *token = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "vigil_session");
    const char *hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!token && hdr && strncmp(hdr, "Bearer ", 7) == 0)
        token = hdr + 7;
    pthread_mutex_lock(&a->lock);
    for (int i = 0; token && strlen(token) == 64 && i < HTTP_MAX_SESSIONS; i++)
        if (a->sessions[i].token[0] && sodium_memcmp(a->sessions[i].token, token, 64) == 0)
            memset(&a->sessions[i], 0, sizeof(a->sessions[i]));
    pthread_mutex_unlock(&a->lock);
    char *text = strdup("{\"logged_in\":false}");
    struct MHD_Response *r = text ? MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE) : NULL;
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE,
                            "vigil_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    http_common_headers(r);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}
