/*
 * ippc-cni-forwarder: the thin executable behind every CNI plugin of ippc (ippc-ipam,
 * ippc-isolation), native flavour.
 *
 * It holds no logic: it forwards its CNI environment (X-Cni-* headers) and standard input (the
 * body) to a node daemon over a unix socket (HTTP/1.0 POST) and prints the daemon's answer. A
 * runtime execs a CNI plugin on every container start, so this executable costs one exec of a
 * static binary (about 1 ms; sh + curl costs 12-15 ms here, a Node process about 80 ms).
 *
 * One source for every plugin: what differs is fixed at build time (installCniForwarder() in
 * @ippc/core passes these):
 *   FWD_NAME            plugin name, in messages                     "ippc-isolation"
 *   FWD_DEFAULT_SOCKET  socket when the config names none            "/run/ippc/isolation.sock"
 *   FWD_SOCKET_KEY      dotted path of the config key with the socket "socket", "ipam.daemonSocket"
 *   FWD_URL_PATH        the daemon's CNI endpoint                    "/cni"
 *   FWD_VERSIONS        JSON array VERSION answers with              "[\"1.0.0\"]"
 *   FWD_HOST            Host header (default FWD_NAME)
 *   FWD_DAEMON          who answers, in messages (default FWD_NAME " daemon")
 *   FWD_HINT            what to do when it does not answer (default "start it, then retry")
 *   FWD_TIMEOUT_S       seconds to wait for the answer (default 60)
 *
 * Contract (the same for the sh flavour, ippc-cni-forwarder.sh):
 * - VERSION is answered here (works without the daemon): {"cniVersion","supportedVersions"}.
 * - Otherwise POST FWD_URL_PATH with CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME,
 *   CNI_ARGS, CNI_PATH as X-Cni-Command, -ContainerId, -Netns, -IfName, -Args, -Path (empty or
 *   multi-line values are left out) and the config as the body.
 * - A 2xx answer: its body on standard output, exit 0. Any other answer: its body, exit 1 (the
 *   daemon answers 400 with a CNI error JSON); an answer without a body becomes code 999.
 * - The daemon not reachable, or no answer in time: code 11 ("try again later"), exit 1. A
 *   socket key that is not a string, or a path that does not fit a unix socket: code 7.
 * Keys are looked up in the config's JSON structure (top-level "cniVersion", FWD_SOCKET_KEY by
 * its path), so the same key inside prevResult or args cannot redirect the call.
 *
 * Build: cc -O2 -static -DFWD_NAME='"x"' ... -o x ippc-cni-forwarder.c
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#if !defined(FWD_NAME) || !defined(FWD_DEFAULT_SOCKET) || !defined(FWD_SOCKET_KEY) || !defined(FWD_URL_PATH) || !defined(FWD_VERSIONS)
#error "define FWD_NAME, FWD_DEFAULT_SOCKET, FWD_SOCKET_KEY, FWD_URL_PATH and FWD_VERSIONS (installCniForwarder in @ippc/core does)"
#endif
#ifndef FWD_HOST
#define FWD_HOST FWD_NAME
#endif
#ifndef FWD_DAEMON
#define FWD_DAEMON FWD_NAME " daemon"
#endif
#ifndef FWD_HINT
#define FWD_HINT "start it, then retry"
#endif
#ifndef FWD_TIMEOUT_S
#define FWD_TIMEOUT_S 60
#endif

struct buf {
  char *data;
  size_t len, cap;
};

static void put(struct buf *b, const char *data, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t c = b->cap ? b->cap : 4096;
    while (b->len + n + 1 > c) c *= 2;
    char *nd = realloc(b->data, c);
    if (!nd) exit(1);
    b->data = nd;
    b->cap = c;
  }
  memcpy(b->data + b->len, data, n);
  b->len += n;
  b->data[b->len] = 0;
}

static void puts_buf(struct buf *b, const char *s) { put(b, s, strlen(s)); }

/* ---- just enough JSON to find two keys by their path ---------------------------------------- */

static const char *ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  return p;
}

/* p at '"': the position after the closing quote, or NULL. */
static const char *skip_string(const char *p, const char *end) {
  for (p++; p < end; p++) {
    if (*p == '\\') p++;
    else if (*p == '"') return p + 1;
  }
  return NULL;
}

/* The position after one JSON value, or NULL when the text is not JSON there. */
static const char *skip_value(const char *p, const char *end, int depth) {
  p = ws(p, end);
  if (p >= end) return NULL;
  if (*p == '"') return skip_string(p, end);
  if (*p == '{' || *p == '[') {
    char close = *p == '{' ? '}' : ']';
    if (depth > 64) return NULL;
    p = ws(p + 1, end);
    if (p < end && *p == close) return p + 1;
    for (;;) {
      if (close == '}') {
        p = ws(p, end);
        if (p >= end || *p != '"' || !(p = skip_string(p, end))) return NULL;
        p = ws(p, end);
        if (p >= end || *p++ != ':') return NULL;
      }
      if (!(p = skip_value(p, end, depth + 1))) return NULL;
      p = ws(p, end);
      if (p >= end) return NULL;
      if (*p == close) return p + 1;
      if (*p++ != ',') return NULL;
    }
  }
  const char *start = p;
  while (p < end && (isalnum((unsigned char)*p) || *p == '-' || *p == '+' || *p == '.')) p++;
  return p > start ? p : NULL;
}

/* In the object at p, the value of member key[0..n) (the last one, as JSON.parse does), or NULL. */
static const char *member(const char *p, const char *end, const char *key, size_t n) {
  p = ws(p, end);
  if (p >= end || *p != '{') return NULL;
  const char *found = NULL;
  p = ws(p + 1, end);
  if (p < end && *p == '}') return NULL;
  for (;;) {
    p = ws(p, end);
    if (p >= end || *p != '"') return NULL;
    const char *k = p + 1;
    if (!(p = skip_string(p, end))) return NULL;
    int match = (size_t)(p - 1 - k) == n && memcmp(k, key, n) == 0;
    p = ws(p, end);
    if (p >= end || *p++ != ':') return NULL;
    p = ws(p, end);
    if (match) found = p;
    if (!(p = skip_value(p, end, 1))) return NULL;
    p = ws(p, end);
    if (p >= end) return NULL;
    if (*p == '}') return found;
    if (*p++ != ',') return NULL;
  }
}

/* The value at a dotted path ("ipam.daemonSocket") in the document, or NULL. */
static const char *lookup(const char *doc, const char *end, const char *path) {
  const char *p = doc;
  for (;;) {
    const char *dot = strchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    if (!(p = member(p, end, path, n))) return NULL;
    if (!dot) return p;
    path = dot + 1;
  }
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int hex4(const char *p, const char *end) {
  if (end - p < 4) return -1;
  int v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval(p[i]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

/*
 * Decodes the JSON string at p into out (NUL-terminated). 1: done; 0: not a string; -1: longer
 * than outlen - 1 bytes or holding a NUL.
 */
static int string_value(const char *p, const char *end, char *out, size_t outlen) {
  if (!p || p >= end || *p != '"') return 0;
  size_t i = 0;
  for (p++; p < end && *p != '"'; p++) {
    if (*p != '\\') {
      /* A plain byte (ASCII, or part of raw UTF-8 text): copied as is. */
      if (i + 1 >= outlen) return -1;
      out[i++] = *p;
      continue;
    }
    if (++p >= end) return 0;
    unsigned long cp;
    switch (*p) {
      case 'b': cp = '\b'; break;
      case 'f': cp = '\f'; break;
      case 'n': cp = '\n'; break;
      case 'r': cp = '\r'; break;
      case 't': cp = '\t'; break;
      case 'u': {
        int v = hex4(p + 1, end);
        if (v < 0) return 0;
        p += 4;
        cp = (unsigned long)v;
        if (v >= 0xD800 && v <= 0xDBFF && end - p > 6 && p[1] == '\\' && p[2] == 'u') {
          int lo = hex4(p + 3, end);
          if (lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + (((unsigned long)v - 0xD800) << 10) + ((unsigned long)lo - 0xDC00);
            p += 6;
          }
        }
        break;
      }
      default: cp = (unsigned char)*p; /* \" \\ \/ */
    }
    if (cp == 0) return -1;
    char enc[4];
    size_t n;
    if (cp < 0x80) n = 1, enc[0] = (char)cp;
    else if (cp < 0x800) n = 2, enc[0] = (char)(0xC0 | (cp >> 6)), enc[1] = (char)(0x80 | (cp & 0x3F));
    else if (cp < 0x10000) n = 3, enc[0] = (char)(0xE0 | (cp >> 12)), enc[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), enc[2] = (char)(0x80 | (cp & 0x3F));
    else n = 4, enc[0] = (char)(0xF0 | (cp >> 18)), enc[1] = (char)(0x80 | ((cp >> 12) & 0x3F)), enc[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), enc[3] = (char)(0x80 | (cp & 0x3F));
    if (i + n >= outlen) return -1;
    memcpy(out + i, enc, n);
    i += n;
  }
  if (p >= end) return 0;
  out[i] = 0;
  return 1;
}

/* ---- output --------------------------------------------------------------------------------- */

static void json_text(FILE *f, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
}

static char version[64] = "1.0.0";

static void fail(int code, const char *msg, const char *details) {
  fputs("{\"cniVersion\":\"", stdout);
  json_text(stdout, version);
  printf("\",\"code\":%d,\"msg\":\"", code);
  json_text(stdout, msg);
  fputs("\",\"details\":\"", stdout);
  json_text(stdout, details);
  fputs("\"}\n", stdout);
  exit(1);
}

static void header(struct buf *req, const char *name, const char *env) {
  const char *v = getenv(env);
  if (!v || !*v || strpbrk(v, "\r\n")) return;
  puts_buf(req, name);
  puts_buf(req, ": ");
  puts_buf(req, v);
  puts_buf(req, "\r\n");
}

int main(void) {
  struct buf cfg = {0};
  char chunk[65536];
  ssize_t n;
  while ((n = read(0, chunk, sizeof chunk)) > 0) put(&cfg, chunk, (size_t)n);
  put(&cfg, "", 0);
  const char *end = cfg.data + cfg.len;

  char v[sizeof version];
  if (string_value(lookup(cfg.data, end, "cniVersion"), end, v, sizeof v) == 1) strcpy(version, v);
  const char *command = getenv("CNI_COMMAND");
  if (command && strcmp(command, "VERSION") == 0) {
    fputs("{\"cniVersion\":\"", stdout);
    json_text(stdout, version);
    fputs("\",\"supportedVersions\":" FWD_VERSIONS "}\n", stdout);
    return 0;
  }

  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  char path[sizeof addr.sun_path];
  const char *at = lookup(cfg.data, end, FWD_SOCKET_KEY);
  if (!at) strcpy(path, FWD_DEFAULT_SOCKET);
  else {
    int r = string_value(at, end, path, sizeof path);
    if (r == 0) fail(7, FWD_NAME ": \"" FWD_SOCKET_KEY "\" in the network configuration must be a string (the path of the " FWD_DAEMON "'s unix socket)", "");
    if (r < 0) fail(7, FWD_NAME ": \"" FWD_SOCKET_KEY "\" is not a usable unix socket path (at most 107 bytes, no NUL): use a shorter path", "");
  }
  memcpy(addr.sun_path, path, strlen(path));

  char msg[512];
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    const char *why = strerror(errno);
    snprintf(msg, sizeof msg, "%s: no answer from %s at %s (%s): %s", FWD_NAME, FWD_DAEMON, path, why, FWD_HINT);
    fail(11, msg, why);
  }
  struct timeval tv = {FWD_TIMEOUT_S, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

  struct buf req = {0};
  snprintf(msg, sizeof msg, "POST %s HTTP/1.0\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n", FWD_URL_PATH, FWD_HOST, cfg.len);
  puts_buf(&req, msg);
  header(&req, "X-Cni-Command", "CNI_COMMAND");
  header(&req, "X-Cni-ContainerId", "CNI_CONTAINERID");
  header(&req, "X-Cni-Netns", "CNI_NETNS");
  header(&req, "X-Cni-IfName", "CNI_IFNAME");
  header(&req, "X-Cni-Args", "CNI_ARGS");
  header(&req, "X-Cni-Path", "CNI_PATH");
  puts_buf(&req, "\r\n");
  put(&req, cfg.data, cfg.len);
  for (size_t off = 0; off < req.len;) {
    /* MSG_NOSIGNAL: a daemon that hangs up mid-request is an error to report, not a SIGPIPE. */
    ssize_t w = send(fd, req.data + off, req.len - off, MSG_NOSIGNAL);
    if (w <= 0) {
      const char *why = w < 0 ? strerror(errno) : "connection closed";
      snprintf(msg, sizeof msg, "%s: lost the connection to %s at %s while sending (%s): retry", FWD_NAME, FWD_DAEMON, path, why);
      fail(11, msg, why);
    }
    off += (size_t)w;
  }

  /* Read to the end of the body (Content-Length) or of the connection. */
  struct buf res = {0};
  char *body = NULL;
  long want = -1;
  while ((n = read(fd, chunk, sizeof chunk)) > 0) {
    put(&res, chunk, (size_t)n);
    if (!body && (body = strstr(res.data, "\r\n\r\n"))) {
      body += 4;
      for (char *h = strstr(res.data, "\r\n"); h && h < body - 2; h = strstr(h + 2, "\r\n")) {
        if (strncasecmp(h + 2, "Content-Length:", 15) == 0) want = strtol(h + 17, NULL, 10);
      }
    }
    if (body && want >= 0 && (long)(res.data + res.len - body) >= want) break;
  }
  if (n < 0 || !res.data) {
    const char *why = n < 0 ? (errno == EAGAIN || errno == EWOULDBLOCK ? "timed out" : strerror(errno)) : "connection closed without an answer";
    snprintf(msg, sizeof msg, "%s: no answer from %s at %s (%s): retry, and check its log", FWD_NAME, FWD_DAEMON, path, why);
    fail(11, msg, why);
  }
  int status = 0;
  body = strstr(res.data, "\r\n\r\n");
  if (sscanf(res.data, "HTTP/%*s %d", &status) != 1 || !body) fail(999, FWD_NAME ": malformed answer from " FWD_DAEMON, "");
  body += 4;
  size_t blen = (size_t)(res.data + res.len - body);
  if (want >= 0 && (size_t)want < blen) blen = (size_t)want;
  int ok = status >= 200 && status < 300;
  int empty = 1;
  for (size_t i = 0; i < blen; i++) empty &= isspace((unsigned char)body[i]) != 0;
  if (!ok && empty) {
    snprintf(msg, sizeof msg, "%s: %s answered HTTP %d without a message: check its log", FWD_NAME, FWD_DAEMON, status);
    fail(999, msg, "");
  }
  fwrite(body, 1, blen, stdout);
  return ok ? 0 : 1;
}
