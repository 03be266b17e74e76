#include "server/access_log.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void format_end(char *out, size_t size, const uint8_t *addr, const uint8_t *port) {
  char text[INET6_ADDRSTRLEN];
  if (!inet_ntop(AF_INET6, addr, text, sizeof text)) strcpy(text, "?");
  snprintf(out, size, "[%s]:%u", text, (unsigned)port[0] << 8 | port[1]);
}

/* Paths come from the config, but a JSON line must stay valid whatever they hold. */
static void json_escape(char *out, size_t size, const char *in) {
  size_t o = 0;
  for (; *in && o + 7 < size; in++) {
    unsigned char c = (unsigned char)*in;
    if (c == '"' || c == '\\') {
      out[o++] = '\\';
      out[o++] = (char)c;
    } else if (c < 0x20) {
      o += (size_t)snprintf(out + o, size - o, "\\u%04x", c);
    } else {
      out[o++] = (char)c;
    }
  }
  out[o] = 0;
}

void skbox_access_log(skbox_log_sink *sink, int format, const skbox_tuple *tuple, const char *target, const char *outcome,
                      uint64_t latency_us) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  struct tm tm;
  gmtime_r(&now.tv_sec, &tm);
  char when[40];
  size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(when + n, sizeof when - n, ".%03ldZ", now.tv_nsec / 1000000);
  char remote[64], local[64];
  format_end(remote, sizeof remote, &tuple->bytes[16], &tuple->bytes[34]);
  format_end(local, sizeof local, &tuple->bytes[0], &tuple->bytes[32]);
  char line[512];
  int len;
  if (format == SKBOX_ACCESS_LOG_JSON) {
    char escaped[256];
    json_escape(escaped, sizeof escaped, target);
    len = snprintf(line, sizeof line,
                   "{\"time\":\"%s\",\"event\":\"connection\",\"remote\":\"%s\",\"local\":\"%s\",\"target\":\"%s\","
                   "\"outcome\":\"%s\",\"latency_us\":%llu}\n",
                   when, remote, local, escaped, outcome, (unsigned long long)latency_us);
  } else {
    len = snprintf(line, sizeof line, "%s %s -> %s target=%s outcome=%s latency_us=%llu\n", when, remote, local, target,
                   outcome, (unsigned long long)latency_us);
  }
  skbox_log_sink_write(sink, line, skbox_log_line_length(line, sizeof line, len));
}
