/* passwd.c: `vigil passwd NAME [--file FILE] [--delete]`: adds, changes or
 * removes a web user in the users file that daemon.http_users names
 * ("NAME:HASH" lines, HASH from libsodium's crypto_pwhash_str: Argon2id,
 * interactive limits). The password is read from the terminal (twice,
 * without echo) or, when stdin is not a terminal, as one line of stdin.
 * The file is replaced atomically (mode 0640); vigild reads it at start and
 * on SIGHUP when the key changes, else at restart. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#define DEFAULT_USERS "/etc/vigil/users"

int vg_cli_passwd(int argc, char **argv);

static int read_password(const char *prompt, char *buf, size_t len)
{
    bool tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    if (tty) {
        fprintf(stderr, "%s", prompt);
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    bool ok = fgets(buf, (int)len, stdin) != NULL;
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSANOW, &old);
        fprintf(stderr, "\n");
    }
    if (!ok)
        return -EIO;
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

int vg_cli_passwd(int argc, char **argv)
{
    const char *file = DEFAULT_USERS;
    bool del = false;
    static const struct option opts[] = {{"file", required_argument, NULL, 'f'},
                                         {"delete", no_argument, NULL, 'd'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "f:dh", opts, NULL)) != -1) {
        switch (o) {
        case 'f': file = optarg; break;
        case 'd': del = true; break;
        case 'h':
            printf("usage: vigil passwd NAME [--file FILE] [--delete]\n"
                   "  adds or changes NAME's password in FILE (default " DEFAULT_USERS
                   "), the file daemon.http_users names;\n  the password comes from the terminal, or one line "
                   "of stdin\n");
            return 0;
        default: return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: vigil passwd NAME [--file FILE] [--delete]\n");
        return 2;
    }
    const char *name = argv[optind];
    if (!name[0] || strlen(name) > 63 || strpbrk(name, ":\n\r \t")) {
        fprintf(stderr, "vigil passwd: a name is 1..63 characters without ':' or spaces\n");
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "vigil passwd: libsodium cannot start\n");
        return 1;
    }
    char hash[crypto_pwhash_STRBYTES] = "";
    if (!del) {
        char pw[256], again[256];
        if (read_password("password: ", pw, sizeof(pw)) < 0) {
            fprintf(stderr, "vigil passwd: no password given\n");
            return 1;
        }
        if (isatty(STDIN_FILENO) && (read_password("again: ", again, sizeof(again)) < 0 || strcmp(pw, again))) {
            fprintf(stderr, "vigil passwd: the passwords differ\n");
            return 1;
        }
        if (strlen(pw) < 8) {
            fprintf(stderr, "vigil passwd: use at least 8 characters\n");
            return 1;
        }
        if (crypto_pwhash_str(hash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
            fprintf(stderr, "vigil passwd: out of memory hashing the password\n");
            return 1;
        }
        sodium_memzero(pw, sizeof(pw));
        sodium_memzero(again, sizeof(again));
    }
    /* copy every other user's line, then ours */
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.XXXXXX", file);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr, "vigil passwd: cannot write beside '%s': %s\n", file, strerror(errno));
        return 1;
    }
    fchmod(fd, 0640);
    FILE *out = fdopen(fd, "w");
    FILE *in = fopen(file, "re");
    char line[512];
    bool found = false;
    size_t nl = strlen(name);
    while (in && fgets(line, sizeof(line), in)) {
        if (strncmp(line, name, nl) == 0 && line[nl] == ':') {
            found = true;
            continue;
        }
        fputs(line, out);
    }
    if (in)
        fclose(in);
    if (!del)
        fprintf(out, "%s:%s\n", name, hash);
    if (fclose(out) != 0 || rename(tmp, file) != 0) {
        fprintf(stderr, "vigil passwd: cannot write '%s': %s\n", file, strerror(errno));
        unlink(tmp);
        return 1;
    }
    if (del && !found) {
        fprintf(stderr, "vigil passwd: no user '%s' in %s\n", name, file);
        return 1;
    }
    fprintf(stderr, "vigil passwd: %s '%s' in %s\n", del ? "removed" : found ? "changed" : "added", name, file);
    return 0;
}
