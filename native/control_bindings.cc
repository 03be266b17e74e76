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

// openControlSocket(path, uid, gid, backlog) -> { fd, dirFd, name, dev, ino }
Napi::Value OpenControlSocket(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = skbox_napi::StringArg(info, 0);
  struct skbox_control_socket s;
  const char *why = "";
  int rc = skbox_control_socket_open(path.c_str(), skbox_napi::IdValue(env, info[1], "uid", true),
                                     skbox_napi::IdValue(env, info[2], "gid", true), skbox_napi::IntArg(info, 3), &s,
                                     &why);
  if (rc != 0) throw skbox_napi::ErrnoError(env, std::string(why) + " " + path, errno);
  Napi::Object o = Napi::Object::New(env);
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
  if (skbox_control_socket_remove(&s) != 0)
    throw skbox_napi::ErrnoError(info.Env(), "remove the control socket " + name, errno);
  return info.Env().Undefined();
}

}  // namespace

void InitControlBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("openControlSocket", Napi::Function::New(env, OpenControlSocket));
  exports.Set("removeControlSocket", Napi::Function::New(env, RemoveControlSocket));
}
