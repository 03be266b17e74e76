// Bindings for the server's log sink (native/common/log_sink.c): one per process, on
// stderr, shared by the main thread's log lines and the accept loops' access log, so
// that no line ever blocks either and lines from several threads never interleave.
#include <napi.h>

#include <string.h>

#include <algorithm>
#include <mutex>
#include <string>

#include "common/napi_args.h"
#include "server_bindings.h"

extern "C" {
#include "common/log_sink.h"
}

namespace {

using skbox_napi::StringArg;

std::mutex sink_mutex;
skbox_log_sink *stderr_sink = nullptr;

// openLogSink(): opens the sink on stderr; later calls keep the first. Before chroot
// (it opens /proc/self/fd/2).
Napi::Value OpenLogSink(const Napi::CallbackInfo &info) {
  std::lock_guard<std::mutex> lock(sink_mutex);
  if (!stderr_sink) stderr_sink = skbox_log_sink_open(2, nullptr);
  if (!stderr_sink) throw Napi::Error::New(info.Env(), "cannot open the log sink: out of memory");
  return info.Env().Undefined();
}

// writeLogLine(line) -> whether it was written (else dropped and counted). A line longer
// than SKBOX_LOG_LINE_MAX bytes is cut and still ends with '\n'.
Napi::Value WriteLogLine(const Napi::CallbackInfo &info) {
  std::string text = StringArg(info, 0);
  skbox_log_sink *sink = StderrLogSink();
  if (!sink) throw Napi::Error::New(info.Env(), "writeLogLine: openLogSink() was not called");
  if (text.empty()) return Napi::Boolean::New(info.Env(), true);
  char line[SKBOX_LOG_LINE_MAX];
  memcpy(line, text.data(), std::min(text.size(), sizeof line - 1));
  size_t len = skbox_log_line_length(line, sizeof line, (int)std::min<size_t>(text.size(), 1 << 30));
  return Napi::Boolean::New(info.Env(), skbox_log_sink_write(sink, line, len) == 1);
}

// logLinesDropped() -> lines the sink dropped so far, from every thread.
Napi::Value LogLinesDropped(const Napi::CallbackInfo &info) {
  skbox_log_sink *sink = StderrLogSink();
  return Napi::Number::New(info.Env(), sink ? (double)skbox_log_sink_dropped(sink) : 0);
}

}  // namespace

// The sink once openLogSink() has run, else NULL: accept loops write their access log to it.
skbox_log_sink *StderrLogSink() {
  std::lock_guard<std::mutex> lock(sink_mutex);
  return stderr_sink;
}

void InitLogBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("openLogSink", Napi::Function::New(env, OpenLogSink));
  exports.Set("writeLogLine", Napi::Function::New(env, WriteLogLine));
  exports.Set("logLinesDropped", Napi::Function::New(env, LogLinesDropped));
}
