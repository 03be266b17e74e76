// Bindings for listening sockets and descriptors: binding or adopting listeners
// (native/server/listener.c), listen(), and describing the descriptors socketbox
// was given. Argument checking and error conversion only.
#include <napi.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/napi_args.h"
#include "server_bindings.h"

extern "C" {
#include "server/listener.h"
}

namespace {

using skbox_napi::BoolProp;
using skbox_napi::ErrnoError;
using skbox_napi::IntArg;
using skbox_napi::UintProp;

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

// closeOnExec(fd): a descriptor inherited from an upgrade's old process stays ours only
Napi::Value CloseOnExec(const Napi::CallbackInfo &info) {
  int fd = IntArg(info, 0);
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
    throw ErrnoError(info.Env(), "descriptor " + std::to_string(fd), errno);
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
    r.Set("identity",
          std::to_string((unsigned long long)st.st_dev) + ":" + std::to_string((unsigned long long)st.st_ino));
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
}  // namespace

void InitListenerBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("bindListener", Napi::Function::New(env, BindListener));
  exports.Set("adoptListener", Napi::Function::New(env, AdoptListener));
  exports.Set("listen", Napi::Function::New(env, Listen));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
  exports.Set("closeOnExec", Napi::Function::New(env, CloseOnExec));
  exports.Set("describeFd", Napi::Function::New(env, DescribeFd));
  exports.Set("openFds", Napi::Function::New(env, OpenFds));
}
