// Bindings for the accept loops (native/server/accept_loop.c): created, published
// to and started from the main thread, each run on a thread of its own
// (native/server/loop_thread.c), named by id. Also what a loop's targets need:
// --target-root. Argument checking and error conversion only.
#include <napi.h>

#include <errno.h>
#include <string.h>

#include <string>
#include <algorithm>
#include <vector>

#include "common/handle_table.h"
#include "common/napi_args.h"
#include "server_bindings.h"

extern "C" {
#include "server/accept_loop.h"
#include "server/stats.h"
#include "server/table.h"
#include "server/target_root.h"
#include "server/loop_thread.h"
}

namespace {

using skbox_napi::BoolProp;
using skbox_napi::BufferArg;
using skbox_napi::ErrnoError;
using skbox_napi::HandleTable;
using skbox_napi::IntArg;
using skbox_napi::IntArray;
using skbox_napi::IntArrayArg;
using skbox_napi::SharedCounters;
using skbox_napi::StringArg;
using skbox_napi::UintProp;

struct LoopSlot {
  skbox_loop *loop;
  Napi::ObjectReference stats;  // keep the shared counters alive
  Napi::ObjectReference target_stats;
};

HandleTable<LoopSlot> loops("loop");

// The loop named by the first argument.
skbox_loop *FindLoop(const Napi::CallbackInfo &info) {
  return loops.Find(info.Env(), IntArg(info, 0))->loop;
}

Napi::Value CreateLoop(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsArray() || !info[1].IsObject())
    throw Napi::TypeError::New(env, "createLoop(listenFds, options, stats, targetStats)");
  std::vector<int> fds = IntArrayArg(info, 0);
  Napi::Object o = info[1].As<Napi::Object>();
  skbox_loop_options opt = {};
  opt.clear_transparent = BoolProp(o, "clearTransparent");
  opt.max_pending = UintProp(o, "maxPending", 4096);
  opt.max_pending_per_target = UintProp(o, "maxPendingPerTarget", opt.max_pending);
  opt.dispatch_timeout_ms = UintProp(o, "dispatchTimeoutMs", 2000);
  opt.drain_timeout_ms = UintProp(o, "drainTimeoutMs", 5000);
  opt.max_cached_targets = UintProp(o, "maxCachedTargets", 1024);
  opt.access_log = (int)UintProp(o, "accessLog", 0);  // 0 off, 1 text, 2 JSON
  opt.log_sink = StderrLogSink();
  if (opt.access_log && !opt.log_sink) throw Napi::Error::New(env, "accessLog needs openLogSink() first");
  opt.upstream = BoolProp(o, "upstream");  // -P: descriptors arrive over registrations
  // --source-rate: the table every loop shares (createSourceRate); it must outlive them.
  Napi::Value source_rate = o.Get("sourceRate");
  opt.source_rate = source_rate.IsNumber() ? FindSourceRate(env, source_rate.As<Napi::Number>().Int32Value()) : nullptr;
  opt.adaptive_sched = BoolProp(o, "adaptiveSched");  // the thread starts in SCHED_OTHER (startLoopThread)
  uint64_t *stats = SharedCounters(env, info[2], SKBOX_STAT_COUNT, "stats");
  uint64_t *target_stats = SharedCounters(env, info[3], SKBOX_TARGET_STAT_COUNT * SKBOX_TARGET_SLOTS, "targetStats");
  // Which listeners' backlog a stop still takes: socketbox's own (see skbox_loop_listener).
  std::vector<int> drained = IntArray(env, o.Get("drainBacklogOf"));
  std::vector<skbox_loop_listener> listeners;
  for (int fd : fds) listeners.push_back({fd, std::find(drained.begin(), drained.end(), fd) != drained.end()});
  const char *why = "";
  skbox_loop *loop = skbox_loop_create(listeners.data(), (int)listeners.size(), &opt, stats, target_stats, &why);
  if (!loop) throw Napi::Error::New(env, why);
  int id = loops.Add(
      new LoopSlot{loop, Napi::Persistent(info[2].As<Napi::Object>()), Napi::Persistent(info[3].As<Napi::Object>())});
  return Napi::Number::New(env, id);
}

Napi::Value PublishTable(const Napi::CallbackInfo &info) {
  skbox_loop *loop = FindLoop(info);
  Napi::Buffer<uint8_t> b = BufferArg(info, 1);
  const char *why = nullptr;
  skbox_table *t = skbox_table_load(b.Data(), b.Length(), &why);
  if (!t) throw Napi::Error::New(info.Env(), std::string("invalid table: ") + why);
  // Optional counter slot per target; anything out of range counts in slot 0.
  if (info.Length() > 2 && info[2].IsTypedArray() &&
      info[2].As<Napi::TypedArray>().TypedArrayType() == napi_uint32_array) {
    Napi::Uint32Array slots = info[2].As<Napi::Uint32Array>();
    for (uint32_t i = 0; i < t->n_targets && i < slots.ElementLength(); i++)
      t->slots[i] = slots[i] < SKBOX_TARGET_SLOTS ? slots[i] : 0;
  }
  skbox_loop_publish(loop, t);
  return info.Env().Undefined();
}

// What a loop's end says, for JavaScript: {status, errno, error?}.
Napi::Value LoopExitObject(Napi::Env env, int status, int err) {
  Napi::Object r = Napi::Object::New(env);
  r.Set("status", Napi::Number::New(env, status));
  r.Set("errno", Napi::Number::New(env, err));
  if (err) r.Set("error", Napi::String::New(env, strerror(err)));
  return r;
}

// One run of a loop on its thread, until its end is reported to onEnd.
struct LoopRun {
  Napi::ThreadSafeFunction on_end;
  int status = 0;
  int err = 0;
};

// On the loop's thread, as it ends: onEnd(exit) is queued for the main thread.
void ReportLoopEnd(void *ctx, int status, int err) {
  LoopRun *run = static_cast<LoopRun *>(ctx);
  run->status = status;
  run->err = err;
  Napi::ThreadSafeFunction on_end = run->on_end;  // run may be freed once queued
  napi_status queued = on_end.BlockingCall(run, [](Napi::Env env, Napi::Function callback, LoopRun *run) {
    int status = run->status, err = run->err;
    delete run;
    // Queued calls run without an environment while the process exits: nothing to tell.
    if (static_cast<napi_env>(env) == nullptr) return;
    callback.Call({LoopExitObject(env, status, err)});
  });
  if (queued != napi_ok) delete run;  // the process is exiting: no call will come
  on_end.Release();
}

// startLoopThread(loopId, schedBatch, onEnd) -> null, or why the scheduling policy could not be set.
// onEnd(exit) is called on the main thread once the loop has returned.
Napi::Value StartLoopThread(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[1].IsBoolean() || !info[2].IsFunction())
    throw Napi::TypeError::New(env, "startLoopThread(loopId, schedBatch, onEnd)");
  skbox_loop *loop = FindLoop(info);
  LoopRun *run = new LoopRun;
  // The pending end keeps the process alive, as a running loop should.
  run->on_end = Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "socketbox accept loop", 0, 1);
  int sched_errno = 0;
  if (skbox_loop_thread_start(loop, info[1].As<Napi::Boolean>().Value(), ReportLoopEnd, run, &sched_errno) < 0) {
    int err = errno;
    run->on_end.Release();
    delete run;
    throw ErrnoError(env, "pthread_create", err);
  }
  if (!sched_errno) return env.Null();
  return Napi::String::New(env, std::string("sched_setscheduler: ") + strerror(sched_errno));
}

Napi::Value StopLoop(const Napi::CallbackInfo &info) {
  skbox_loop_request_stop(FindLoop(info));
  return info.Env().Undefined();
}

// handOverLoop(loopId): stop for a live upgrade; the listeners' backlogs are left to the new process
Napi::Value HandOverLoop(const Napi::CallbackInfo &info) {
  skbox_loop_request_handover(FindLoop(info));
  return info.Env().Undefined();
}

Napi::Value OpenTargetRoot(const Napi::CallbackInfo &info) {
  std::string dir = StringArg(info, 0);
  const char *why = "";
  int fd = skbox_target_root_open(dir.c_str(), &why);
  if (fd < 0) throw ErrnoError(info.Env(), "--target-root " + dir + ": " + why, errno);
  return Napi::Number::New(info.Env(), fd);
}

// setTargetRoot(loopId, rootFd, prefix, allowAbstract)
Napi::Value SetTargetRoot(const Napi::CallbackInfo &info) {
  if (info.Length() < 4 || !info[3].IsBoolean())
    throw Napi::TypeError::New(info.Env(), "setTargetRoot(loopId, rootFd, prefix, allowAbstract)");
  skbox_loop_set_target_root(FindLoop(info), IntArg(info, 1), StringArg(info, 2).c_str(),
                             info[3].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

Napi::Value PingLoop(const Napi::CallbackInfo &info) {
  skbox_loop_ping(FindLoop(info));
  return info.Env().Undefined();
}

Napi::Value AbandonLoop(const Napi::CallbackInfo &info) {
  skbox_loop_request_abandon(FindLoop(info));
  return info.Env().Undefined();
}

Napi::Value DestroyLoop(const Napi::CallbackInfo &info) {
  LoopSlot *slot = loops.Take(IntArg(info, 0));
  if (!slot) return info.Env().Undefined();
  skbox_loop_destroy(slot->loop);
  slot->stats.Reset();
  slot->target_stats.Reset();
  delete slot;
  return info.Env().Undefined();
}

}  // namespace

void InitLoopBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("createLoop", Napi::Function::New(env, CreateLoop));
  exports.Set("publishTable", Napi::Function::New(env, PublishTable));
  exports.Set("startLoopThread", Napi::Function::New(env, StartLoopThread));
  exports.Set("stopLoop", Napi::Function::New(env, StopLoop));
  exports.Set("handOverLoop", Napi::Function::New(env, HandOverLoop));
  exports.Set("pingLoop", Napi::Function::New(env, PingLoop));
  exports.Set("openTargetRoot", Napi::Function::New(env, OpenTargetRoot));
  exports.Set("setTargetRoot", Napi::Function::New(env, SetTargetRoot));
  exports.Set("abandonLoop", Napi::Function::New(env, AbandonLoop));
  exports.Set("destroyLoop", Napi::Function::New(env, DestroyLoop));
}
