/* certvet-smtp-sink: a tiny SMTP server for tests. Listens on 127.0.0.1 (port 0), writes its port
 * to a file, speaks just enough SMTP for libcurl and stores each message (dot-unstuffed, CRLF kept)
 * as <dir>/msg-<n>.eml. One connection at a time; bounded lines and messages; a read timeout.
 * Usage: certvet-smtp-sink PORT_FILE MAIL_DIR. Runs until killed. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define LINE_MAX_BYTES    4096               /* a command or data line, CRLF included */
#define MESSAGE_MAX_BYTES (4u * 1024 * 1024) /* one message */
#define READ_TIMEOUT_S    10

struct conn {
    int fd;
    char buf[LINE_MAX_BYTES];
    size_t len; /* bytes buffered, not yet returned as a line */
};

static int send_str(int fd, const char *s)
{
    size_t n = strlen(s), off = 0;
    while (off < n) {
        ssize_t w = send(fd, s + off, n - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    return 0;
}

/* Reads one line (ending in LF) into 'line' (NUL-terminated, LF kept). Returns its length, 0 on
 * EOF, timeout or error, and -1 for a line longer than the buffer. */
static long read_line(struct conn *c, char *line)
{
    for (;;) {
        char *lf = memchr(c->buf, '\n', c->len);
        ssize_t r;
        if (lf) {
            size_t n = (size_t)(lf - c->buf) + 1;
            memcpy(line, c->buf, n);
            line[n] = '\0';
            memmove(c->buf, c->buf + n, c->len - n);
            c->len -= n;
            return (long)n;
        }
        if (c->len == sizeof(c->buf))
            return -1;
        r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        c->len += (size_t)r;
    }
}

static int store_message(const char *dir, unsigned seq, const char *data, size_t len)
{
    char path[4096], tmp[4200];
    FILE *f;
    snprintf(path, sizeof(path), "%s/msg-%u.eml", dir, seq);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "wb");
    if (!f)
        return -1;
    if (fwrite(data, 1, len, f) != len) {
        fclose(f);
        return -1;
    }
    if (fclose(f))
        return -1;
    return rename(tmp, path); /* readers never see half a message */
}

/* Receives the DATA section up to the lone ".". Returns 0, or -1 when the connection must end. */
static int read_data(struct conn *c, const char *dir, unsigned *seq)
{
    char line[LINE_MAX_BYTES + 1];
    char *msg = malloc(MESSAGE_MAX_BYTES);
    size_t len = 0;
    int too_large = 0, rc = -1;

    if (!msg)
        return -1;
    for (;;) {
        long n = read_line(c, line);
        const char *p = line;
        if (n <= 0)
            goto out;
        if (!strcmp(line, ".\r\n") || !strcmp(line, ".\n"))
            break;
        if (line[0] == '.') { /* dot-unstuffing */
            p++;
            n--;
        }
        if ((size_t)n > MESSAGE_MAX_BYTES - len)
            too_large = 1;
        else {
            memcpy(msg + len, p, (size_t)n);
            len += (size_t)n;
        }
    }
    if (too_large)
        rc = send_str(c->fd, "552 message too large\r\n");
    else if (store_message(dir, (*seq)++, msg, len))
        rc = send_str(c->fd, "451 cannot store the message\r\n");
    else
        rc = send_str(c->fd, "250 OK queued\r\n");
out:
    free(msg);
    return rc;
}

static void serve(int fd, const char *dir, unsigned *seq)
{
    struct conn c = {.fd = fd};
    char line[LINE_MAX_BYTES + 1];
    struct timeval tv = {.tv_sec = READ_TIMEOUT_S};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (send_str(fd, "220 certvet-smtp-sink ESMTP\r\n"))
        return;
    for (;;) {
        long n = read_line(&c, line);
        int rc;
        if (n == 0)
            return;
        if (n < 0) {
            send_str(fd, "500 line too long\r\n");
            return;
        }
        if (!strncasecmp(line, "EHLO", 4))
            rc = send_str(fd, "250-certvet-smtp-sink\r\n250-8BITMIME\r\n250 SIZE 4194304\r\n");
        else if (!strncasecmp(line, "HELO", 4))
            rc = send_str(fd, "250 certvet-smtp-sink\r\n");
        else if (!strncasecmp(line, "MAIL FROM:", 10) || !strncasecmp(line, "RCPT TO:", 8) ||
                 !strncasecmp(line, "RSET", 4) || !strncasecmp(line, "NOOP", 4))
            rc = send_str(fd, "250 OK\r\n");
        else if (!strncasecmp(line, "DATA", 4)) {
            rc = send_str(fd, "354 end with <CRLF>.<CRLF>\r\n");
            if (!rc)
                rc = read_data(&c, dir, seq);
        } else if (!strncasecmp(line, "QUIT", 4)) {
            send_str(fd, "221 bye\r\n");
            return;
        } else
            rc = send_str(fd, "502 command not implemented\r\n");
        if (rc)
            return;
    }
}

int main(int argc, char **argv)
{
    struct sockaddr_in a = {0};
    socklen_t alen = sizeof(a);
    char tmp[4200];
    unsigned seq = 1;
    FILE *f;
    int ls, one = 1;

    if (argc != 3) {
        fprintf(stderr, "usage: %s PORT_FILE MAIL_DIR\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0) {
        perror("socket");
        return 1;
    }
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 16) ||
        getsockname(ls, (struct sockaddr *)&a, &alen)) {
        perror("bind/listen");
        return 1;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
    f = fopen(tmp, "w");
    if (!f || fprintf(f, "%u\n", (unsigned)ntohs(a.sin_port)) < 0 || fclose(f) ||
        rename(tmp, argv[1])) {
        perror("port file");
        return 1;
    }
    for (;;) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            perror("accept");
            return 1;
        }
        serve(fd, argv[2], &seq);
        close(fd);
    }
}
