// What the addon was compiled with, for the TypeScript side to check against: the
// counter layouts and the names operators see, expanded from the same X(...) lists
// (server/stats.h, server/registrar.h, fastpath/fastpath_abi.h), and the source rate
// table's size and limits (server/source_rate.h), that scripts/native-contracts.js turns
// into src/native/contracts.generated.ts.
#include <napi.h>

#include "server_bindings.h"

extern "C" {
#include "fastpath/fastpath_abi.h"
#include "server/registrar.h"
#include "server/source_rate.h"
#include "server/stats.h"
}

namespace {

// Appends one object to a JavaScript array.
void Push(Napi::Array a, Napi::Object o) {
  a.Set(a.Length(), o);
}

Napi::Object Entry(Napi::Env env, const char *name, uint32_t index, const char *label) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", name);
  o.Set("index", index);
  o.Set("label", label);
  return o;
}

// Names are the C names without their prefix (ACCEPTED for SKBOX_STAT_ACCEPTED), as the generator reads them.
Napi::Object NativeContracts(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);

  Napi::Array stats = Napi::Array::New(env);
#define STAT_ENTRY(name, outcome, label, width) \
  { \
    /* The label as the access log gets it, so that its outcome words are what is checked. */ \
    Napi::Object e = Entry(env, #name, SKBOX_STAT_##name, skbox_stat_label(SKBOX_STAT_##name)); \
    e.Set("width", (uint32_t)(SKBOX_STAT_##name##_LAST - SKBOX_STAT_##name + 1)); \
    e.Set("outcome", #outcome); \
    Push(stats, e); \
  }
  SKBOX_STAT_LIST(STAT_ENTRY)
#undef STAT_ENTRY
  c.Set("stats", stats);
  c.Set("statCount", (uint32_t)SKBOX_STAT_COUNT);

  Napi::Array bounds = Napi::Array::New(env);
  for (uint32_t us : skbox_latency_bounds_us) bounds.Set(bounds.Length(), us);
  c.Set("latencyBoundsUs", bounds);

  c.Set("targetSlots", (uint32_t)SKBOX_TARGET_SLOTS);
  Napi::Array target_stats = Napi::Array::New(env);
#define TARGET_STAT_ENTRY(name) target_stats.Set((uint32_t)SKBOX_TARGET_STAT_##name, #name);
  SKBOX_TARGET_STAT_LIST(TARGET_STAT_ENTRY)
#undef TARGET_STAT_ENTRY
  c.Set("targetStats", target_stats);

  Napi::Array registrar = Napi::Array::New(env);
#define REG_ENTRY(name, outcome, label) \
  { \
    Napi::Object e = Entry(env, #name, SKBOX_REG_##name, label); \
    e.Set("outcome", #outcome); \
    Push(registrar, e); \
  }
  SKBOX_REG_STAT_LIST(REG_ENTRY)
#undef REG_ENTRY
  c.Set("registrarStats", registrar);

  Napi::Array decisions = Napi::Array::New(env);
#define DECISION_ENTRY(name, label) Push(decisions, Entry(env, #name, SKBOX_FP_##name, label));
  SKBOX_FP_DECISION_LIST(DECISION_ENTRY)
#undef DECISION_ENTRY
  c.Set("fastpathDecisions", decisions);

  Napi::Object source_rate = Napi::Object::New(env);
  source_rate.Set("entries", (uint32_t)SKBOX_SOURCE_RATE_ENTRIES);
  source_rate.Set("shards", (uint32_t)SKBOX_SOURCE_RATE_SHARDS);
  source_rate.Set("maxRateMilli", (uint32_t)SKBOX_SOURCE_RATE_MAX_RATE_MILLI);
  source_rate.Set("maxBurst", (uint32_t)SKBOX_SOURCE_RATE_MAX_BURST);
  c.Set("sourceRate", source_rate);
  return c;
}

}  // namespace

void InitContractBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("nativeContracts", NativeContracts(env));
  // Checked by the code that allocates the shared counter blocks.
  exports.Set("statCount", Napi::Number::New(env, SKBOX_STAT_COUNT));
  exports.Set("targetSlots", Napi::Number::New(env, SKBOX_TARGET_SLOTS));
  exports.Set("registrarStatCount", Napi::Number::New(env, SKBOX_REG_STAT_COUNT));
}
