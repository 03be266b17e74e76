// Bindings for the --source-rate table (native/server/source_rate.c): created once by the
// main thread before the accept loops, which name it by id in their options and share it,
// and freed after them. Argument checking and error conversion only.
#include <napi.h>

#include "common/handle_table.h"
#include "common/napi_args.h"
#include "server_bindings.h"

extern "C" {
#include "server/source_rate.h"
}

namespace {

using skbox_napi::HandleTable;
using skbox_napi::IntArg;
using skbox_napi::UintProp;

HandleTable<skbox_source_rate> tables("source rate table");

// The table socketbox runs with: its size and shards are fixed (source_rate.h).
skbox_source_rate_config ProcessTableConfig() {
  skbox_source_rate_config cfg = {};
  cfg.entries = SKBOX_SOURCE_RATE_ENTRIES;
  cfg.shards = SKBOX_SOURCE_RATE_SHARDS;
  return cfg;
}

// createSourceRate({ rateMilli, burst, prefixV6, prefixV4 }) -> id
Napi::Value CreateSourceRate(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject())
    throw Napi::TypeError::New(env, "createSourceRate({ rateMilli, burst, prefixV6, prefixV4 })");
  Napi::Object o = info[0].As<Napi::Object>();
  skbox_source_rate_config cfg = ProcessTableConfig();
  cfg.rate_milli = UintProp(o, "rateMilli", 0);
  cfg.burst = UintProp(o, "burst", 0);
  cfg.prefix_v6 = UintProp(o, "prefixV6", 64);
  cfg.prefix_v4 = UintProp(o, "prefixV4", 32);
  const char *why = "";
  skbox_source_rate *table = skbox_source_rate_create(&cfg, &why);
  if (!table) throw Napi::Error::New(env, std::string("--source-rate: ") + why);
  return Napi::Number::New(env, tables.Add(table));
}

Napi::Value DestroySourceRate(const Napi::CallbackInfo &info) {
  skbox_source_rate_free(tables.Take(IntArg(info, 0)));
  return info.Env().Undefined();
}

}  // namespace

skbox_source_rate *FindSourceRate(Napi::Env env, int id) {
  return tables.Find(env, id);
}

void InitSourceRateBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("createSourceRate", Napi::Function::New(env, CreateSourceRate));
  exports.Set("destroySourceRate", Napi::Function::New(env, DestroySourceRate));
  skbox_source_rate_config cfg = ProcessTableConfig();
  exports.Set("sourceRateTableBytes", Napi::Number::New(env, (double)skbox_source_rate_bytes(&cfg)));
}
