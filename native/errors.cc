#include "errors.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <mutex>
#include <vector>

namespace hotspan {
namespace {

// Heap-allocated and never destroyed: a reader thread that still logs while exit() runs the
// static destructors must not meet a destroyed mutex or string.
std::mutex &log_mu = *new std::mutex;
bool capturing = false;
std::string &captured = *new std::string;

int LibbpfPrint(enum libbpf_print_level level, const char *fmt, va_list args) {
  char line[4096];
  vsnprintf(line, sizeof(line), fmt, args);
  std::lock_guard<std::mutex> lock(log_mu);
  if (capturing) {
    captured += line;
    // The verifier log can be megabytes; only the tail is ever shown.
    if (captured.size() > (1u << 20)) captured.erase(0, captured.size() - (256u << 10));
  } else if (level == LIBBPF_WARN && getenv("HOTSPAN_LIBBPF_DEBUG")) {
    fputs(line, stderr);
  }
  return 0;
}

}  // namespace

void InstallLibbpfLogger() { libbpf_set_print(LibbpfPrint); }

void BeginLogCapture() {
  std::lock_guard<std::mutex> lock(log_mu);
  capturing = true;
  captured.clear();
}

std::string EndLogCapture(size_t max_lines) {
  std::lock_guard<std::mutex> lock(log_mu);
  capturing = false;
  std::vector<size_t> starts;
  size_t pos = 0;
  while (pos < captured.size()) {
    starts.push_back(pos);
    size_t nl = captured.find('\n', pos);
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  std::string tail =
      starts.size() > max_lines ? captured.substr(starts[starts.size() - max_lines]) : captured;
  captured.clear();
  return tail;
}

Napi::Error MakeError(Napi::Env env, const char *code, const std::string &op, int err,
                      const std::string &detail) {
  int e = err < 0 ? -err : err;
  std::string msg = op + " failed";
  if (e) msg += std::string(": ") + strerror(e);
  Napi::Error error = Napi::Error::New(env, msg);
  error.Set("code", Napi::String::New(env, code));
  error.Set("op", Napi::String::New(env, op));
  error.Set("errno", Napi::Number::New(env, e));
  error.Set("detail", Napi::String::New(env, detail));
  return error;
}

}  // namespace hotspan
