// Opens a file a workload controls, safely: the one syscall sequence behind
// src/workload-files/. Policy (which root, size caps, what to read) stays in TypeScript.
//
//   1. the root directory (e.g. /proc/PID/root) is opened O_PATH;
//   2. the path is resolved inside it with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
//      and O_PATH: absolute symlinks and ".." stay inside the root, /proc magic links are
//      refused, and nothing is opened for reading yet (no FIFO blocks, no device is touched);
//   3. fstat: anything but a regular file is refused;
//   4. only then the file is reopened for reading through /proc/self/fd, O_NONBLOCK.
// Needs Linux 5.6+ (openat2). Without a root, step 2 is a plain O_PATH open of a path the
// agent trusts (its own procfs: /proc/PID/exe, /proc/PID/map_files/..., /proc/PID/maps).
#include <napi.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "errors.h"

namespace hotspan {
namespace {

long Openat2(int dirfd, const char *path, unsigned long long flags, unsigned long long resolve) {
  struct open_how how = {};
  how.flags = flags;
  how.resolve = resolve;
  return syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

// openInRoot(root: string, path: string, noFollowLast: boolean): number (a read-only fd).
// root "" means: open `path` as given (trusted paths only).
Napi::Value OpenInRoot(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string root = info[0].As<Napi::String>();
  std::string path = info[1].As<Napi::String>();
  bool no_follow_last = info.Length() > 2 && info[2].ToBoolean().Value();
  if (path.find('\0') != std::string::npos) throw MakeError(env, "EINVAL", "workload_open", EINVAL, "NUL in path");

  int pathfd;
  if (root.empty()) {
    pathfd = open(path.c_str(), O_PATH | O_CLOEXEC | (no_follow_last ? O_NOFOLLOW : 0));
    if (pathfd < 0) throw MakeError(env, "EOPEN", "open", errno, path);
  } else {
    int rootfd = open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) throw MakeError(env, "EROOT", "open root", errno, root);
    long r = Openat2(rootfd, path.c_str(), O_PATH | O_CLOEXEC | (no_follow_last ? O_NOFOLLOW : 0),
                     RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
    int saved = errno;
    close(rootfd);
    if (r < 0) throw MakeError(env, "EOPEN", "openat2", saved, path);
    pathfd = static_cast<int>(r);
  }

  struct stat st;
  if (fstat(pathfd, &st) != 0) {
    int saved = errno;
    close(pathfd);
    throw MakeError(env, "EOPEN", "fstat", saved, path);
  }
  if (!S_ISREG(st.st_mode)) {
    close(pathfd);
    const char *kind = S_ISDIR(st.st_mode) ? "directory" : S_ISFIFO(st.st_mode) ? "fifo" : S_ISLNK(st.st_mode) ? "symlink"
                       : S_ISSOCK(st.st_mode) ? "socket" : (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) ? "device" : "other";
    throw MakeError(env, "ENOTREG", "workload_open", 0, kind);
  }

  char self[64];
  snprintf(self, sizeof(self), "/proc/self/fd/%d", pathfd);
  int fd = open(self, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  int saved = errno;
  close(pathfd);
  if (fd < 0) throw MakeError(env, "EOPEN", "reopen", saved, path);
  struct stat st2;
  // The reopened fd must still be that regular file (it is the same inode by construction).
  if (fstat(fd, &st2) != 0 || !S_ISREG(st2.st_mode) || st2.st_ino != st.st_ino || st2.st_dev != st.st_dev) {
    close(fd);
    throw MakeError(env, "ENOTREG", "workload_open", 0, "changed on reopen");
  }
  return Napi::Number::New(env, fd);
}

}  // namespace

void RegisterWorkloadOpen(Napi::Env env, Napi::Object exports) {
  exports.Set("openInRoot", Napi::Function::New(env, OpenInRoot, "openInRoot"));
}

}  // namespace hotspan
