// Bindings for rule tables (native/server/table.c, lookup.c): validating a compiled
// table, and looking a tuple up in one (--explain, the differential tests).
#include <napi.h>

#include <string.h>

#include <string>

#include "common/napi_args.h"
#include "server_bindings.h"

extern "C" {
#include "server/lookup.h"
#include "server/table.h"
}

namespace {

using skbox_napi::BufferArg;

Napi::Value TableValidate(const Napi::CallbackInfo &info) {
  Napi::Buffer<uint8_t> b = BufferArg(info, 0);
  const char *why = nullptr;
  skbox_table *t = skbox_table_load(b.Data(), b.Length(), &why);
  if (!t) return Napi::String::New(info.Env(), why);
  skbox_table_free(t);
  return info.Env().Null();
}

// Looks a tuple up in a table: used by the differential tests and --explain checks.
Napi::Value TableLookup(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Buffer<uint8_t> b = BufferArg(info, 0);
  Napi::Buffer<uint8_t> tb = BufferArg(info, 1);
  if (tb.Length() != SKBOX_TUPLE_SIZE) throw Napi::TypeError::New(env, "tuple must be 36 bytes");
  const char *why = nullptr;
  skbox_table *t = skbox_table_load(b.Data(), b.Length(), &why);
  if (!t) throw Napi::Error::New(env, std::string("invalid table: ") + why);
  skbox_tuple tuple;
  memcpy(tuple.bytes, tb.Data(), SKBOX_TUPLE_SIZE);
  uint32_t listener = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Uint32Value() : 0;
  skbox_decision d = skbox_lookup(t, listener, &tuple);
  skbox_table_free(t);
  static const char *const kinds[] = {"target", "fail", "no_match", "loop"};
  Napi::Object r = Napi::Object::New(env);
  r.Set("kind", kinds[d.kind]);
  if (d.kind == SKBOX_DECIDE_TARGET) r.Set("target", d.target_index);
  return r;
}

}  // namespace

void InitTableBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("tableValidate", Napi::Function::New(env, TableValidate));
  exports.Set("tableLookup", Napi::Function::New(env, TableLookup));
}
