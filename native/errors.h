// Errors thrown to JS carry {code, op, errno, detail}: `detail` is the useful
// tail of what libbpf logged during the failing call (the verifier log, a
// missing BTF type, ...). Turning that into advice is TypeScript's job.
#pragma once
#include <napi.h>
#include <string>

namespace hotspan {

// Starts collecting libbpf's log output for the calling operation.
void BeginLogCapture();
// Stops collecting and returns the last `max_lines` lines captured.
std::string EndLogCapture(size_t max_lines = 40);
void InstallLibbpfLogger();

Napi::Error MakeError(Napi::Env env, const char *code, const std::string &op, int err,
                      const std::string &detail = "");

}  // namespace hotspan
