// Bindings for giving up privileges (native/server/privileges.c): user and group
// names, chroot, groups, gid, uid, no_new_privs, and exec for -e. Argument
// checking and error conversion only.
#include <napi.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>

#include <string>
#include <vector>

#include "common/napi_args.h"
#include "server_bindings.h"

extern "C" {
#include "server/privileges.h"
}

namespace {

using skbox_napi::ErrnoError;
using skbox_napi::IdValue;
using skbox_napi::IntArg;
using skbox_napi::StringArg;

// { uid, gid } of a passwd entry, or null when there is none.
Napi::Value UserIds(Napi::Env env, const struct passwd *pw) {
  if (!pw) return env.Null();
  Napi::Object r = Napi::Object::New(env);
  r.Set("uid", (double)pw->pw_uid);
  r.Set("gid", (double)pw->pw_gid);
  return r;
}

Napi::Value LookupUser(const Napi::CallbackInfo &info) {
  std::string name = StringArg(info, 0);
  return UserIds(info.Env(), getpwnam(name.c_str()));
}

// The passwd entry of a numeric uid: a uid given without a group takes its primary group.
Napi::Value LookupUserById(const Napi::CallbackInfo &info) {
  return UserIds(info.Env(), getpwuid((uid_t)IdValue(info.Env(), info[0], "uid")));
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

}  // namespace

void InitPrivilegeBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("lookupUser", Napi::Function::New(env, LookupUser));
  exports.Set("lookupUserById", Napi::Function::New(env, LookupUserById));
  exports.Set("lookupGroup", Napi::Function::New(env, LookupGroup));
  exports.Set("enterChroot", Napi::Function::New(env, EnterChroot));
  exports.Set("setGroups", Napi::Function::New(env, SetGroups));
  exports.Set("setGid", Napi::Function::New(env, SetGid));
  exports.Set("setUid", Napi::Function::New(env, SetUid));
  exports.Set("noNewPrivs", Napi::Function::New(env, NoNewPrivs));
  exports.Set("execWithFd", Napi::Function::New(env, ExecWithFd));
}
