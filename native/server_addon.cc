// Thin node-addon-api binding over the plain C server core in native/server/.
// Argument checking and error conversion only; the logic lives in the C files.
#include <napi.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/napi_args.h"

extern "C" {
#include "common/log_sink.h"
#include "server/accept_loop.h"
#include "server/listener.h"
#include "server/lookup.h"
#include "server/privileges.h"
#include "server/sd_notify.h"
#include "server/stats.h"
#include "server/table.h"
#include "server/target_root.h"
#include "server/thread_sched.h"
}

void InitRegistrationBindings(Napi::Env env, Napi::Object exports);  // registration_bindings.cc
void InitLogBindings(Napi::Env env, Napi::Object exports);           // log_bindings.cc
skbox_log_sink *StderrLogSink();                                     // log_bindings.cc
void InitCapabilityBindings(Napi::Env env, Napi::Object exports);    // capability_bindings.cc
void InitFastpathBindings(Napi::Env env, Napi::Object exports);      // fastpath_bindings.cc (kernel fast path)

namespace {

using skbox_napi::ErrnoError;
using skbox_napi::IdValue;
using skbox_napi::IntArg;
using skbox_napi::IntArray;
using skbox_napi::IntArrayArg;
using skbox_napi::SharedCounters;
using skbox_napi::StringArg;

Napi::Buffer<uint8_t> BufferArg(const Napi::CallbackInfo &info, size_t i) {
  if (info.Length() <= i || !info[i].IsBuffer()) throw Napi::TypeError::New(info.Env(), "expected a Buffer argument");
  return info[i].As<Napi::Buffer<uint8_t>>();
}

bool BoolProp(const Napi::Object &o, const char *name) {
  return o.Has(name) && o.Get(name).ToBoolean().Value();
}

uint32_t UintProp(const Napi::Object &o, const char *name, uint32_t fallback) {
  return o.Has(name) && o.Get(name).IsNumber() ? o.Get(name).As<Napi::Number>().Uint32Value() : fallback;
}

// ---- listeners --------------------------------------------------------------

Napi::Value BindListener(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "expected options");
  Napi::Object o = info[0].As<Napi::Object>();
  skbox_listener_options opt;
  memset(&opt, 0, sizeof opt);
  Napi::Value addr = o.Get("addr");
  if (!addr.IsBuffer() || addr.As<Napi::Buffer<uint8_t>>().Length() != 16)
    throw Napi::TypeError::New(env, "addr must be a 16-byte Buffer");
  memcpy(opt.addr, addr.As<Napi::Buffer<uint8_t>>().Data(), 16);
  opt.scope_id = UintProp(o, "scopeId", 0);
  opt.port = (uint16_t)UintProp(o, "port", 80);
  opt.transparent = BoolProp(o, "transparent");
  opt.freebind = BoolProp(o, "freebind");
  opt.reuseaddr = BoolProp(o, "reuseaddr");
  opt.reuseport = BoolProp(o, "reuseport");
  const char *step = "socket";
  int fd = skbox_listener_bind(&opt, &step);
  if (fd < 0) throw ErrnoError(env, step, errno);
  return Napi::Number::New(env, fd);
}

Napi::Value AdoptListener(const Napi::CallbackInfo &info) {
  int fd = IntArg(info, 0);
  const char *why = "";
  if (skbox_listener_adopt(fd, &why) < 0)
    throw Napi::Error::New(info.Env(), "descriptor " + std::to_string(fd) + " " + why);
  return info.Env().Undefined();
}

Napi::Value Listen(const Napi::CallbackInfo &info) {
  if (listen(IntArg(info, 0), IntArg(info, 1)) < 0) throw ErrnoError(info.Env(), "listen", errno);
  return info.Env().Undefined();
}

Napi::Value CloseFd(const Napi::CallbackInfo &info) {
  close(IntArg(info, 0));
  return info.Env().Undefined();
}

const char *FileType(mode_t mode) {
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISFIFO(mode)) return "pipe";
  if (S_ISREG(mode)) return "regular file";
  if (S_ISDIR(mode)) return "directory";
  if (S_ISCHR(mode)) return "character device";
  if (S_ISBLK(mode)) return "block device";
  return "special file";
}

// What kind of descriptor fd is: for validating jump-fd / -i / -s before use.
Napi::Value DescribeFd(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = IntArg(info, 0);
  Napi::Object r = Napi::Object::New(env);
  struct stat st;
  bool open = fstat(fd, &st) == 0;
  r.Set("open", open);
  bool sock = open && S_ISSOCK(st.st_mode);
  r.Set("socket", sock);
  if (open) {
    r.Set("fileType", FileType(st.st_mode));
    // Which file it is: tells a descriptor from a later one that reuses its number.
    r.Set("identity", std::to_string((unsigned long long)st.st_dev) + ":" + std::to_string((unsigned long long)st.st_ino));
  }
  if (sock) {
    int type = 0, domain = 0;
    socklen_t len = sizeof type;
    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
    len = sizeof domain;
    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len);
    r.Set("type", type);
    r.Set("domain", domain);
  }
  return r;
}

// The open descriptors (null when /proc/self/fd cannot be read). Listed
// first thing at start-up, before socketbox opens any of its own, they are
// those its parent passed on and those of the Node runtime itself (which marks
// inherited ones close-on-exec too, so that flag tells nothing).
Napi::Value OpenFds(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  DIR *dir = opendir("/proc/self/fd");
  if (!dir) return env.Null();
  std::vector<int> fds;
  while (struct dirent *e = readdir(dir)) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && fd != dirfd(dir)) fds.push_back(fd);
  }
  closedir(dir);
  Napi::Array a = Napi::Array::New(env, fds.size());
  for (size_t i = 0; i < fds.size(); i++) a.Set((uint32_t)i, fds[i]);
  return a;
}

// ---- users and privileges ---------------------------------------------------

Napi::Value LookupUser(const Napi::CallbackInfo &info) {
  std::string name = StringArg(info, 0);
  struct passwd *pw = getpwnam(name.c_str());
  if (!pw) return info.Env().Null();
  Napi::Object r = Napi::Object::New(info.Env());
  r.Set("uid", (double)pw->pw_uid);
  r.Set("gid", (double)pw->pw_gid);
  return r;
}

// The passwd entry of a numeric uid: a uid given without a group takes its primary group.
Napi::Value LookupUserById(const Napi::CallbackInfo &info) {
  uid_t uid = (uid_t)IdValue(info.Env(), info[0], "uid");
  struct passwd *pw = getpwuid(uid);
  if (!pw) return info.Env().Null();
  Napi::Object r = Napi::Object::New(info.Env());
  r.Set("uid", (double)pw->pw_uid);
  r.Set("gid", (double)pw->pw_gid);
  return r;
}

Napi::Value LookupGroup(const Napi::CallbackInfo &info) {
  std::string name = StringArg(info, 0);
  struct group *gr = getgrnam(name.c_str());
  if (!gr) return info.Env().Null();
  return Napi::Number::New(info.Env(), (double)gr->gr_gid);
}

Napi::Value EnterChroot(const Napi::CallbackInfo &info) {
  std::string dir = StringArg(info, 0);
  if (skbox_enter_chroot(dir.c_str()) < 0) throw ErrnoError(info.Env(), "chroot " + dir, errno);
  return info.Env().Undefined();
}

Napi::Value SetGroups(const Napi::CallbackInfo &info) {
  if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(info.Env(), "expected an array of gids");
  Napi::Array a = info[0].As<Napi::Array>();
  std::vector<gid_t> gids;
  for (uint32_t i = 0; i < a.Length(); i++) gids.push_back((gid_t)IdValue(info.Env(), a.Get(i), "a supplementary group"));
  if (skbox_set_groups(gids.data(), (int)gids.size()) < 0) throw ErrnoError(info.Env(), "setgroups", errno);
  return info.Env().Undefined();
}

Napi::Value SetGid(const Napi::CallbackInfo &info) {
  if (skbox_set_gid((gid_t)IdValue(info.Env(), info[0], "gid")) < 0) throw ErrnoError(info.Env(), "setgid", errno);
  return info.Env().Undefined();
}

Napi::Value SetUid(const Napi::CallbackInfo &info) {
  if (skbox_set_uid((uid_t)IdValue(info.Env(), info[0], "uid")) < 0) throw ErrnoError(info.Env(), "setuid", errno);
  return info.Env().Undefined();
}

Napi::Value NoNewPrivs(const Napi::CallbackInfo &info) {
  if (skbox_no_new_privs() < 0) throw ErrnoError(info.Env(), "prctl(PR_SET_NO_NEW_PRIVS)", errno);
  return info.Env().Undefined();
}

// Called on an accept-loop worker thread before it runs its loop.
Napi::Value SetThreadSchedBatch(const Napi::CallbackInfo &info) {
  if (info.Length() < 1 || !info[0].IsBoolean()) throw Napi::TypeError::New(info.Env(), "setThreadSchedBatch(batch)");
  if (skbox_thread_sched_batch(info[0].As<Napi::Boolean>().Value()) < 0) throw ErrnoError(info.Env(), "sched_setscheduler", errno);
  return info.Env().Undefined();
}

Napi::Value ExecWithFd(const Napi::CallbackInfo &info) {
  int fd = IntArg(info, 0);
  if (info.Length() < 2 || !info[1].IsArray()) throw Napi::TypeError::New(info.Env(), "expected argv");
  Napi::Array a = info[1].As<Napi::Array>();
  std::vector<std::string> args;
  for (uint32_t i = 0; i < a.Length(); i++) args.push_back(a.Get(i).ToString().Utf8Value());
  if (args.empty()) throw Napi::TypeError::New(info.Env(), "argv is empty");
  std::vector<char *> argv;
  for (auto &s : args) argv.push_back(&s[0]);
  argv.push_back(nullptr);
  skbox_exec_with_fd(fd, argv.data());
  throw ErrnoError(info.Env(), "exec " + args[0], errno);
}

// ---- tables -----------------------------------------------------------------

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

// ---- accept loops -----------------------------------------------------------
// Loops are created and published to from the main thread and run in worker
// threads; the registry maps small integer ids to them across threads.

struct LoopSlot {
  skbox_loop *loop;
  Napi::ObjectReference stats;  // keep the shared counters alive
  Napi::ObjectReference target_stats;
};

std::mutex registry_mutex;
std::map<int, LoopSlot *> registry;
int next_loop_id = 1;

skbox_loop *FindLoop(Napi::Env env, int id) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto it = registry.find(id);
  if (it == registry.end()) throw Napi::Error::New(env, "no such loop " + std::to_string(id));
  return it->second->loop;
}

Napi::Value CreateLoop(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsArray() || !info[1].IsObject())
    throw Napi::TypeError::New(env, "createLoop(listenFds, options, stats, targetStats)");
  std::vector<int> fds = IntArrayArg(info, 0);
  Napi::Object o = info[1].As<Napi::Object>();
  skbox_loop_options opt;
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
  uint64_t *stats = SharedCounters(env, info[2], SKBOX_STAT_COUNT, "stats");
  uint64_t *target_stats = SharedCounters(env, info[3], 2 * SKBOX_TARGET_SLOTS, "targetStats");
  // Which listeners' backlog a stop still takes: socketbox's own (see skbox_loop_listener).
  std::vector<int> drained = IntArray(env, o.Get("drainBacklogOf"));
  std::vector<skbox_loop_listener> listeners;
  for (int fd : fds) listeners.push_back({fd, std::find(drained.begin(), drained.end(), fd) != drained.end()});
  const char *why = "";
  skbox_loop *loop = skbox_loop_create(listeners.data(), (int)listeners.size(), &opt, stats, target_stats, &why);
  if (!loop) throw Napi::Error::New(env, why);
  LoopSlot *slot = new LoopSlot{loop, Napi::Persistent(info[2].As<Napi::Object>()), Napi::Persistent(info[3].As<Napi::Object>())};
  std::lock_guard<std::mutex> lock(registry_mutex);
  int id = next_loop_id++;
  registry[id] = slot;
  return Napi::Number::New(env, id);
}

Napi::Value PublishTable(const Napi::CallbackInfo &info) {
  skbox_loop *loop = FindLoop(info.Env(), IntArg(info, 0));
  Napi::Buffer<uint8_t> b = BufferArg(info, 1);
  const char *why = nullptr;
  skbox_table *t = skbox_table_load(b.Data(), b.Length(), &why);
  if (!t) throw Napi::Error::New(info.Env(), std::string("invalid table: ") + why);
  // Optional counter slot per target; anything out of range counts in slot 0.
  if (info.Length() > 2 && info[2].IsTypedArray() && info[2].As<Napi::TypedArray>().TypedArrayType() == napi_uint32_array) {
    Napi::Uint32Array slots = info[2].As<Napi::Uint32Array>();
    for (uint32_t i = 0; i < t->n_targets && i < slots.ElementLength(); i++)
      t->slots[i] = slots[i] < SKBOX_TARGET_SLOTS ? slots[i] : 0;
  }
  skbox_loop_publish(loop, t);
  return info.Env().Undefined();
}

Napi::Value RunLoop(const Napi::CallbackInfo &info) {
  skbox_loop *loop = FindLoop(info.Env(), IntArg(info, 0));
  int status = skbox_loop_run(loop);
  // The loop may return while this worker's environment is being torn down
  // (process exit): build the result with plain N-API calls whose failure is
  // ignored, because a C++ exception here could not reach JavaScript.
  napi_env env = info.Env();
  napi_value r = nullptr, v = nullptr;
  int err = skbox_loop_fatal_errno(loop);
  if (napi_create_object(env, &r) != napi_ok) return Napi::Value();
  if (napi_create_int32(env, status, &v) == napi_ok) napi_set_named_property(env, r, "status", v);
  if (napi_create_int32(env, err, &v) == napi_ok) napi_set_named_property(env, r, "errno", v);
  if (err && napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &v) == napi_ok)
    napi_set_named_property(env, r, "error", v);
  return Napi::Value(env, r);
}

Napi::Value StopLoop(const Napi::CallbackInfo &info) {
  skbox_loop_request_stop(FindLoop(info.Env(), IntArg(info, 0)));
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
  if (info.Length() < 4 || !info[3].IsBoolean()) throw Napi::TypeError::New(info.Env(), "setTargetRoot(loopId, rootFd, prefix, allowAbstract)");
  skbox_loop_set_target_root(FindLoop(info.Env(), IntArg(info, 0)), IntArg(info, 1), StringArg(info, 2).c_str(),
                             info[3].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

Napi::Value PingLoop(const Napi::CallbackInfo &info) {
  skbox_loop_ping(FindLoop(info.Env(), IntArg(info, 0)));
  return info.Env().Undefined();
}

Napi::Value AbandonLoop(const Napi::CallbackInfo &info) {
  skbox_loop_request_abandon(FindLoop(info.Env(), IntArg(info, 0)));
  return info.Env().Undefined();
}

// reclaimLoop(id, timeoutMs) -> true once no thread runs the loop.
Napi::Value ReclaimLoop(const Napi::CallbackInfo &info) {
  int rc = skbox_loop_reclaim(FindLoop(info.Env(), IntArg(info, 0)), (unsigned)IntArg(info, 1));
  return Napi::Boolean::New(info.Env(), rc == 0);
}

Napi::Value DestroyLoop(const Napi::CallbackInfo &info) {
  int id = IntArg(info, 0);
  LoopSlot *slot;
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    auto it = registry.find(id);
    if (it == registry.end()) return info.Env().Undefined();
    slot = it->second;
    registry.erase(it);
  }
  skbox_loop_destroy(slot->loop);
  slot->stats.Reset();
  slot->target_stats.Reset();
  delete slot;
  return info.Env().Undefined();
}

// ---- systemd notification (sd_notify) ---------------------------------------

// Connects a datagram socket to NOTIFY_SOCKET's address; returns the descriptor.
Napi::Value NotifySocketOpen(const Napi::CallbackInfo &info) {
  std::string address = StringArg(info, 0);
  const char *step = "socket";
  int fd = skbox_notify_connect(address.c_str(), &step);
  if (fd < 0) throw ErrnoError(info.Env(), std::string(step) + " " + address, errno);
  return Napi::Number::New(info.Env(), fd);
}

// Sends one notification ("READY=1\nSTATUS=...") on a socket from NotifySocketOpen.
Napi::Value NotifySocketSend(const Napi::CallbackInfo &info) {
  int fd = IntArg(info, 0);
  std::string message = StringArg(info, 1);
  if (skbox_notify_send(fd, message.data(), message.size(), 1000) < 0) throw ErrnoError(info.Env(), "send", errno);
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("bindListener", Napi::Function::New(env, BindListener));
  exports.Set("adoptListener", Napi::Function::New(env, AdoptListener));
  exports.Set("listen", Napi::Function::New(env, Listen));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
  exports.Set("describeFd", Napi::Function::New(env, DescribeFd));
  exports.Set("openFds", Napi::Function::New(env, OpenFds));
  exports.Set("lookupUser", Napi::Function::New(env, LookupUser));
  exports.Set("lookupUserById", Napi::Function::New(env, LookupUserById));
  exports.Set("lookupGroup", Napi::Function::New(env, LookupGroup));
  exports.Set("enterChroot", Napi::Function::New(env, EnterChroot));
  exports.Set("setGroups", Napi::Function::New(env, SetGroups));
  exports.Set("setGid", Napi::Function::New(env, SetGid));
  exports.Set("setUid", Napi::Function::New(env, SetUid));
  exports.Set("noNewPrivs", Napi::Function::New(env, NoNewPrivs));
  exports.Set("execWithFd", Napi::Function::New(env, ExecWithFd));
  exports.Set("setThreadSchedBatch", Napi::Function::New(env, SetThreadSchedBatch));
  exports.Set("tableValidate", Napi::Function::New(env, TableValidate));
  exports.Set("tableLookup", Napi::Function::New(env, TableLookup));
  exports.Set("createLoop", Napi::Function::New(env, CreateLoop));
  exports.Set("publishTable", Napi::Function::New(env, PublishTable));
  exports.Set("runLoop", Napi::Function::New(env, RunLoop));
  exports.Set("stopLoop", Napi::Function::New(env, StopLoop));
  exports.Set("pingLoop", Napi::Function::New(env, PingLoop));
  exports.Set("openTargetRoot", Napi::Function::New(env, OpenTargetRoot));
  exports.Set("setTargetRoot", Napi::Function::New(env, SetTargetRoot));
  exports.Set("abandonLoop", Napi::Function::New(env, AbandonLoop));
  exports.Set("reclaimLoop", Napi::Function::New(env, ReclaimLoop));
  exports.Set("destroyLoop", Napi::Function::New(env, DestroyLoop));
  exports.Set("statCount", Napi::Number::New(env, SKBOX_STAT_COUNT));
  exports.Set("targetSlots", Napi::Number::New(env, SKBOX_TARGET_SLOTS));
  exports.Set("notifySocketOpen", Napi::Function::New(env, NotifySocketOpen));
  exports.Set("notifySocketSend", Napi::Function::New(env, NotifySocketSend));
  InitRegistrationBindings(env, exports);
  InitLogBindings(env, exports);
  InitCapabilityBindings(env, exports);
  InitFastpathBindings(env, exports);  // kernel fast path
  return exports;
}

}  // namespace

NODE_API_MODULE(socketbox_server, Init)
