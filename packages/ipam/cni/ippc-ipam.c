/*
 * ippc-ipam: the CNI IPAM plugin executable of ippc, native flavour.
 *
 * It holds no logic: it forwards its CNI environment and standard input to the ippc-ipam node
 * daemon over a unix socket (HTTP/1.0, POST /v1/cni, environment in X-Cni-* headers) and prints
 * the daemon's answer. A runtime execs a CNI plugin on every container start, so this executable
 * is kept to the cost of an exec (~1 ms; sh + curl costs ~17 ms here, a Node process ~80 ms).
 *
 * Socket: "daemonSocket" in the config's ipam section, else /run/ippc/ipam.sock.
 * VERSION is answered locally, so it works without the daemon.
 * Exit status: 0 on success, 1 with a CNI error JSON on standard output otherwise
 * (code 11 "try again later" when the daemon cannot be reached).
 *
 * Build: cc -O2 -static -o ippc-ipam ippc-ipam.c   (installIpamPlugin() in @ippc/ipam does this)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/ippc/ipam.sock"
#define VERSIONS "[\"0.1.0\",\"0.2.0\",\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]"

static char *buf_append(char *buf, size_t *len, size_t *cap, const char *data, size_t n) {
  if (*len + n + 1 > *cap) {
    size_t c = *cap ? *cap : 4096;
    while (*len + n + 1 > c) c *= 2;
    char *nb = realloc(buf, c);
    if (!nb) exit(1);
    buf = nb;
    *cap = c;
  }
  memcpy(buf + *len, data, n);
  *len += n;
  buf[*len] = 0;
  return buf;
}

/* The string value of "key" in a JSON text (no escapes; enough for paths and versions). */
static int json_string(const char *json, const char *key, char *out, size_t outlen) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\"", key);
  const char *p = strstr(json, pat);
  if (!p) return 0;
  p += strlen(pat);
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
  if (*p++ != ':') return 0;
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
  if (*p++ != '"') return 0;
  size_t i = 0;
  while (*p && *p != '"' && i + 1 < outlen) out[i++] = *p++;
  out[i] = 0;
  return *p == '"';
}

static void fail(const char *version, int code, const char *msg, const char *detail) {
  printf("{\"cniVersion\":\"%s\",\"code\":%d,\"msg\":\"%s\",\"details\":\"%s\"}\n", version, code, msg, detail);
  exit(1);
}

static char *add_header(char *req, size_t *len, size_t *cap, const char *name, const char *env) {
  const char *v = getenv(env);
  if (!v || !*v || strpbrk(v, "\r\n")) return req;
  req = buf_append(req, len, cap, name, strlen(name));
  req = buf_append(req, len, cap, ": ", 2);
  req = buf_append(req, len, cap, v, strlen(v));
  return buf_append(req, len, cap, "\r\n", 2);
}

int main(void) {
  char *cfg = NULL;
  size_t cfglen = 0, cfgcap = 0;
  char chunk[65536];
  ssize_t n;
  while ((n = read(0, chunk, sizeof chunk)) > 0) cfg = buf_append(cfg, &cfglen, &cfgcap, chunk, (size_t)n);
  if (!cfg) cfg = buf_append(cfg, &cfglen, &cfgcap, "", 0);

  char version[32] = "1.0.0";
  json_string(cfg, "cniVersion", version, sizeof version);
  const char *command = getenv("CNI_COMMAND");
  if (command && strcmp(command, "VERSION") == 0) {
    printf("{\"cniVersion\":\"%s\",\"supportedVersions\":" VERSIONS "}\n", version);
    return 0;
  }

  char path[108] = DEFAULT_SOCKET;
  json_string(cfg, "daemonSocket", path, sizeof path);

  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path, strlen(path)); /* path holds at most 107 bytes */
  struct timeval tv = {60, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    char msg[256];
    snprintf(msg, sizeof msg, "the ippc-ipam node daemon is not reachable at %s: start ippc-ipam-node (or the agent) and retry", path);
    fail(version, 11, msg, strerror(errno));
  }

  char *req = NULL;
  size_t len = 0, cap = 0;
  char line[128];
  snprintf(line, sizeof line, "POST /v1/cni HTTP/1.0\r\nHost: ippc-ipam\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n", cfglen);
  req = buf_append(req, &len, &cap, line, strlen(line));
  req = add_header(req, &len, &cap, "X-Cni-Command", "CNI_COMMAND");
  req = add_header(req, &len, &cap, "X-Cni-ContainerId", "CNI_CONTAINERID");
  req = add_header(req, &len, &cap, "X-Cni-Netns", "CNI_NETNS");
  req = add_header(req, &len, &cap, "X-Cni-IfName", "CNI_IFNAME");
  req = add_header(req, &len, &cap, "X-Cni-Args", "CNI_ARGS");
  req = add_header(req, &len, &cap, "X-Cni-Path", "CNI_PATH");
  req = buf_append(req, &len, &cap, "\r\n", 2);
  req = buf_append(req, &len, &cap, cfg, cfglen);
  for (size_t off = 0; off < len;) {
    ssize_t w = write(fd, req + off, len - off);
    if (w <= 0) fail(version, 11, "lost the connection to the ippc-ipam node daemon while sending; retry", strerror(errno));
    off += (size_t)w;
  }

  char *res = NULL;
  size_t rlen = 0, rcap = 0;
  while ((n = read(fd, chunk, sizeof chunk)) > 0) res = buf_append(res, &rlen, &rcap, chunk, (size_t)n);
  if (n < 0 || !res) fail(version, 11, "no answer from the ippc-ipam node daemon; retry", n < 0 ? strerror(errno) : "empty response");
  int status = 0;
  if (sscanf(res, "HTTP/%*s %d", &status) != 1) fail(version, 999, "malformed answer from the ippc-ipam node daemon", "");
  char *body = strstr(res, "\r\n\r\n");
  if (body) fputs(body + 4, stdout);
  return status == 200 ? 0 : 1;
}
