// Bindings for the control socket (--control, docs/control.md). Argument checking and
// error conversion only; the logic is in native/server/control_socket.c.
#include <napi.h>

#include <errno.h>
#include <string.h>

#include "common/napi_args.h"
#include "server_bindings.h"

extern "C" {
#include "server/control_socket.h"
}

namespace {

using skbox_napi::ErrnoError;
using skbox_napi::IdValue;
using skbox_napi::IntArg;
using skbox_napi::StringArg;

// openControlSocket(path, uid, gid, backlog) -> { fd, dirFd, name, dev, ino }
Napi::Value OpenControlSocket(const Napi::CallbackInfo &info) {
  std::string path = StringArg(info, 0);
  long long uid = IdValue(info.Env(), info[1], "uid", true), gid = IdValue(info.Env(), info[2], "gid", true);
  struct skbox_control_socket s;
  const char *why = "";
  if (skbox_control_socket_open(path.c_str(), uid, gid, IntArg(info, 3), &s, &why) != 0)
    throw ErrnoError(info.Env(), std::string(why) + " " + path, errno);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("fd", s.fd);
  o.Set("dirFd", s.dir_fd);
  o.Set("name", s.name);
  o.Set("dev", (double)s.dev);
  o.Set("ino", (double)s.ino);
  return o;
}

// removeControlSocket({ dirFd, name, dev, ino }): throws with errno when the file stays
Napi::Value RemoveControlSocket(const Napi::CallbackInfo &info) {
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "expected the control socket");
  Napi::Object o = info[0].As<Napi::Object>();
  struct skbox_control_socket s;
  s.fd = -1;
  s.dir_fd = o.Get("dirFd").As<Napi::Number>().Int32Value();
  std::string name = o.Get("name").As<Napi::String>().Utf8Value();
  if (name.size() >= sizeof s.name) throw Napi::TypeError::New(info.Env(), "name too long");
  strcpy(s.name, name.c_str());
  s.dev = (dev_t)o.Get("dev").As<Napi::Number>().DoubleValue();
  s.ino = (ino_t)o.Get("ino").As<Napi::Number>().DoubleValue();
  if (skbox_control_socket_remove(&s) != 0) throw ErrnoError(info.Env(), "remove the control socket " + name, errno);
  return info.Env().Undefined();
}

}  // namespace

void InitControlBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("openControlSocket", Napi::Function::New(env, OpenControlSocket));
  exports.Set("removeControlSocket", Napi::Function::New(env, RemoveControlSocket));
}
