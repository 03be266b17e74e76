#include "server/stats.h"

_Static_assert(sizeof skbox_latency_bounds_us / sizeof skbox_latency_bounds_us[0] == SKBOX_LATENCY_BUCKETS - 1,
               "SKBOX_LATENCY_BUCKETS is the number of bounds plus +Inf");

const char *skbox_stat_label(enum skbox_stat s) {
  switch (s) {
#define SKBOX_STAT_LABEL_CASE(name, outcome, label, width) \
  case SKBOX_STAT_##name: return label;
    SKBOX_STAT_LIST(SKBOX_STAT_LABEL_CASE)
#undef SKBOX_STAT_LABEL_CASE
    default: return "";
  }
}
