// Bindings for the kernel fast path (native/fastpath/, docs/fast-path.md):
// loading and attaching the sk_lookup program, publishing tables and
// listeners, reading its counters, and test support. Argument checking and
// error conversion only.
#include <napi.h>

#include <errno.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include "common/napi_args.h"
#include "server_bindings.h"

extern "C" {
#include "fastpath/fastpath.h"
#include "server/table.h"
}

namespace {

using skbox_napi::BufferArg;
using skbox_napi::ErrnoError;
using skbox_napi::IntArg;
using skbox_napi::IntArrayArg;
using skbox_napi::StringArg;

// Names of enum skbox_fp_decision, in order: the metrics' label values.
#define DECISION_NAME(name, label) label,
const char *const kDecisionNames[] = {SKBOX_FP_DECISION_LIST(DECISION_NAME)};
#undef DECISION_NAME

uint32_t SlotArg(const Napi::CallbackInfo &info, size_t i) {
  int slot = IntArg(info, i);
  if (slot < 0 || (uint32_t)slot >= SKBOX_FP_MAX_SLOTS) throw Napi::RangeError::New(info.Env(), "slot out of range");
  return (uint32_t)slot;
}

// fastpathStart(objectPath, verbose?): load and attach to this thread's network namespace; throws with .errno.
Napi::Value Start(const Napi::CallbackInfo &info) {
  std::string path = StringArg(info, 0);
  char why[512] = "";
  int verbose = info.Length() > 1 && info[1].ToBoolean().Value();
  if (skbox_fastpath_start(path.c_str(), verbose, why, sizeof why) != 0) throw ErrnoError(info.Env(), why, errno);
  return info.Env().Undefined();
}

Napi::Value Active(const Napi::CallbackInfo &info) {
  return Napi::Boolean::New(info.Env(), skbox_fastpath_active());
}

Napi::Value Stop(const Napi::CallbackInfo &info) {
  skbox_fastpath_stop();
  return info.Env().Undefined();
}

// fastpathSetListeners(fds) -> how many are in the fast path's namespace
Napi::Value SetListeners(const Napi::CallbackInfo &info) {
  std::vector<int> fds = IntArrayArg(info, 0);
  int n = skbox_fastpath_set_listeners(fds.data(), (uint32_t)fds.size());
  if (n < 0) throw ErrnoError(info.Env(), "publishing the listeners to the fast path", errno);
  return Napi::Number::New(info.Env(), n);
}

// fastpathPublish(table) -> true: evaluated by the program; false: beyond its limits, every connection passes
Napi::Value Publish(const Napi::CallbackInfo &info) {
  Napi::Buffer<uint8_t> buf = BufferArg(info, 0);
  const char *why = nullptr;
  skbox_table *t = skbox_table_load(buf.Data(), buf.Length(), &why);
  if (!t) throw Napi::Error::New(info.Env(), std::string("table rejected: ") + why);
  int rc = skbox_fastpath_publish(t);
  int e = errno;
  skbox_table_free(t);
  if (rc < 0) throw ErrnoError(info.Env(), "publishing the table to the fast path", e);
  return Napi::Boolean::New(info.Env(), rc == 1);
}

// fastpathCounters() -> { decisions: {name: n}, slots: [{slot, assigned, reclaimed}], grants: {listener, without_listener} }
Napi::Value Counters(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  uint64_t d[SKBOX_FP_DECISION_COUNT];
  skbox_fastpath_decisions(d);
  Napi::Object decisions = Napi::Object::New(env);
  for (int i = 0; i < SKBOX_FP_DECISION_COUNT; i++)
    decisions.Set(kDecisionNames[i], Napi::Number::New(env, (double)d[i]));
  out.Set("decisions", decisions);
  std::vector<uint32_t> seen(SKBOX_FP_MAX_SLOTS);
  uint32_t n = skbox_fastpath_slots_seen(seen.data(), (uint32_t)seen.size());
  Napi::Array slots = Napi::Array::New(env, n);
  for (uint32_t i = 0; i < n; i++) {
    Napi::Object s = Napi::Object::New(env);
    s.Set("slot", Napi::Number::New(env, seen[i]));
    s.Set("assigned", Napi::Number::New(env, (double)skbox_fastpath_assigned(seen[i])));
    s.Set("reclaimed", Napi::Number::New(env, (double)skbox_fastpath_reclaimed(seen[i])));
    slots.Set(i, s);
  }
  out.Set("slots", slots);
  Napi::Object grants = Napi::Object::New(env);
  grants.Set("listener", Napi::Number::New(env, (double)skbox_fastpath_grants(1)));
  grants.Set("without_listener", Napi::Number::New(env, (double)skbox_fastpath_grants(0)));
  out.Set("grants", grants);
  return out;
}

// Test support: fastpathOpenSlot(slot) -> fd (owned by the fast path); fastpathCloseSlot(slot, reclaim)
Napi::Value OpenSlot(const Napi::CallbackInfo &info) {
  int fd = skbox_fastpath_slot_open(SlotArg(info, 0));
  if (fd < 0) throw ErrnoError(info.Env(), "slot listener", errno);
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value CloseSlot(const Napi::CallbackInfo &info) {
  skbox_fastpath_slot_close(SlotArg(info, 0), info.Length() > 1 && info[1].ToBoolean().Value());
  return info.Env().Undefined();
}

// Test support: fastpathTestRun(tuple, ipv4) -> { decision: name, cookie: bigint }
Napi::Value TestRun(const Napi::CallbackInfo &info) {
  Napi::Buffer<uint8_t> tuple = BufferArg(info, 0);
  if (tuple.Length() != SKBOX_TUPLE_SIZE) throw Napi::TypeError::New(info.Env(), "tuple must be 36 bytes");
  uint64_t cookie = 0;
  int d = skbox_fastpath_test_run(tuple.Data(), info.Length() > 1 && info[1].ToBoolean().Value(), &cookie);
  if (d < 0) throw ErrnoError(info.Env(), "BPF_PROG_TEST_RUN", errno);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("decision", kDecisionNames[d]);
  out.Set("cookie", Napi::BigInt::New(info.Env(), cookie));
  return out;
}

// socketCookie(fd) -> bigint (SO_COOKIE): which socket a test run assigned
Napi::Value SocketCookie(const Napi::CallbackInfo &info) {
  uint64_t cookie = 0;
  socklen_t len = sizeof cookie;
  if (getsockopt(IntArg(info, 0), SOL_SOCKET, SO_COOKIE, &cookie, &len) != 0)
    throw ErrnoError(info.Env(), "SO_COOKIE", errno);
  return Napi::BigInt::New(info.Env(), cookie);
}

}  // namespace

void InitFastpathBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("fastpathStart", Napi::Function::New(env, Start));
  exports.Set("fastpathActive", Napi::Function::New(env, Active));
  exports.Set("fastpathStop", Napi::Function::New(env, Stop));
  exports.Set("fastpathSetListeners", Napi::Function::New(env, SetListeners));
  exports.Set("fastpathPublish", Napi::Function::New(env, Publish));
  exports.Set("fastpathCounters", Napi::Function::New(env, Counters));
  exports.Set("fastpathOpenSlot", Napi::Function::New(env, OpenSlot));
  exports.Set("fastpathCloseSlot", Napi::Function::New(env, CloseSlot));
  exports.Set("fastpathTestRun", Napi::Function::New(env, TestRun));
  exports.Set("socketCookie", Napi::Function::New(env, SocketCookie));
}
