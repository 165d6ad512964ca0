// Helpers shared by the engine spec tests: a throwaway rootfs directory.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "base/fd.h"
#include "base/file.h"

namespace berth::engine::testing {

class TempRootfs {
 public:
  TempRootfs() {
    char tmpl[] = "/tmp/berth-spec-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::filesystem::create_directories(dir_ + "/etc");
  }
  ~TempRootfs() { std::filesystem::remove_all(dir_); }
  TempRootfs(const TempRootfs&) = delete;
  TempRootfs& operator=(const TempRootfs&) = delete;

  const std::string& path() const { return dir_; }
  void write(const std::string& rel, const std::string& text) const {
    std::filesystem::create_directories(std::filesystem::path(dir_ + rel).parent_path());
    (void)write_file(dir_ + rel, text);
  }
  Fd open_dir() const { return Fd(::open(dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)); }

 private:
  std::string dir_;
};

inline const char* kBusyboxPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
    "nobody:x:65534:65534:nobody:/home:/bin/false\n"
    "app:x:1000:1000:App:/home/app:/bin/sh\n";
inline const char* kBusyboxGroup =
    "root:x:0:\n"
    "daemon:x:1:\n"
    "wheel:x:10:root,app\n"
    "audio:x:29:app\n"
    "nogroup:x:65534:\n"
    "app:x:1000:\n";

}  // namespace berth::engine::testing
