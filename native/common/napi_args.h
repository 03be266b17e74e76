// Argument checking and errno errors shared by the node-addon-api bindings.
#ifndef SKBOX_COMMON_NAPI_ARGS_H
#define SKBOX_COMMON_NAPI_ARGS_H

#include <napi.h>
#include <string.h>

#include <stdint.h>

#include <string>
#include <vector>

namespace skbox_napi {

// An Error whose message ends in strerror(err) and which carries .errno.
inline Napi::Error ErrnoError(Napi::Env env, const std::string &what, int err) {
  Napi::Error e = Napi::Error::New(env, what + ": " + strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  return e;
}

inline int IntArg(const Napi::CallbackInfo &info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "expected a number argument");
  return info[i].As<Napi::Number>().Int32Value();
}

inline std::string StringArg(const Napi::CallbackInfo &info, size_t i) {
  if (info.Length() <= i || !info[i].IsString()) throw Napi::TypeError::New(info.Env(), "expected a string argument");
  return info[i].As<Napi::String>().Utf8Value();
}

inline Napi::Buffer<uint8_t> BufferArg(const Napi::CallbackInfo &info, size_t i) {
  if (info.Length() <= i || !info[i].IsBuffer()) throw Napi::TypeError::New(info.Env(), "expected a Buffer argument");
  return info[i].As<Napi::Buffer<uint8_t>>();
}

// An options object's flag: absent, undefined and other falsy values are false.
inline bool BoolProp(const Napi::Object &o, const char *name) {
  return o.Get(name).ToBoolean().Value();
}

// An options object's unsigned number, or fallback when it is absent or not a number.
inline uint32_t UintProp(const Napi::Object &o, const char *name, uint32_t fallback) {
  Napi::Value v = o.Get(name);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : fallback;
}

// A uid or gid: a whole number 0..4294967294, or -1 ("unchanged") when allowed.
// (uid_t)-1 means "unchanged" to set*id() and chown(), so it is nobody's id; anything
// else out of range is refused here instead of wrapping around (4294967296 -> 0 = root).
inline long long IdValue(Napi::Env env, Napi::Value v, const std::string &what, bool allow_unchanged = false) {
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -2;
  if (!(d >= (allow_unchanged ? -1 : 0) && d <= 4294967294.0 && d == (double)(long long)d))
    throw Napi::RangeError::New(env, what + " must be a whole number 0..4294967294" + (allow_unchanged ? " or -1" : ""));
  return (long long)d;
}

// A JavaScript array of numbers as ints (descriptor lists).
inline std::vector<int> IntArray(Napi::Env env, Napi::Value v) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, "expected an array of numbers");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int> out;
  for (uint32_t k = 0; k < a.Length(); k++) out.push_back(a.Get(k).As<Napi::Number>().Int32Value());
  return out;
}

inline std::vector<int> IntArrayArg(const Napi::CallbackInfo &info, size_t i) {
  return IntArray(info.Env(), info.Length() > i ? info[i] : info.Env().Undefined());
}

// The memory behind a BigUint64Array over a SharedArrayBuffer of at least n
// counters. napi_get_typedarray_info works on shared views, where
// ArrayBuffer::Data() would refuse them.
inline uint64_t *SharedCounters(Napi::Env env, Napi::Value v, size_t n, const char *what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_biguint64_array ||
      v.As<Napi::TypedArray>().ElementLength() < n)
    throw Napi::TypeError::New(env, std::string(what) + " must be a BigUint64Array of at least " + std::to_string(n));
  void *data = nullptr;
  if (napi_get_typedarray_info(env, v, nullptr, nullptr, &data, nullptr, nullptr) != napi_ok || !data)
    throw Napi::TypeError::New(env, std::string("cannot reach the memory of ") + what);
  return static_cast<uint64_t *>(data);
}

}  // namespace skbox_napi

#endif
