// Helpers for the security tests: run a lambda in a forked child and get
// back what it reports, and read the reference seccomp profiles.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "base/json.h"
#include "oci/spec.h"

namespace berth::runtime::testing {

struct ChildReport {
  int status = -1;     // waitpid status
  std::string output;  // what the child wrote to its pipe
};

// Fork; the child runs f with the write end of a pipe and _exits with its
// return value. The parent collects everything written.
inline ChildReport run_in_child(const std::function<int(int report_fd)>& f) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    _exit(f(fds[1]));
  }
  close(fds[1]);
  ChildReport report;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) report.output.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  waitpid(pid, &report.status, 0);
  return report;
}

inline void report(int fd, const std::string& s) { (void)!write(fd, s.data(), s.size()); }

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The "syscalls"-shaped seccomp object of config.json (or of Docker's
// profile, whose extra fields are ignored) as oci::Seccomp.
inline oci::Seccomp seccomp_from_json(const Json& j) {
  oci::Seccomp s;
  s.default_action = j.value("defaultAction", "");
  if (j.contains("defaultErrnoRet")) s.default_errno_ret = j["defaultErrnoRet"].get<uint32_t>();
  if (j.contains("architectures")) s.architectures = j["architectures"].get<std::vector<std::string>>();
  if (j.contains("flags")) s.flags = j["flags"].get<std::vector<std::string>>();
  for (const auto& sc : j.value("syscalls", Json::array())) {
    oci::SeccompSyscall call;
    call.names = sc.value("names", std::vector<std::string>{});
    call.action = sc.value("action", "");
    if (sc.contains("errnoRet")) call.errno_ret = sc["errnoRet"].get<uint32_t>();
    for (const auto& a : sc.value("args", Json::array())) {
      oci::SeccompArg arg;
      arg.index = a.value("index", 0u);
      arg.value = a.value("value", uint64_t{0});
      arg.value_two = a.value("valueTwo", uint64_t{0});
      arg.op = a.value("op", "");
      call.args.push_back(arg);
    }
    s.syscalls.push_back(call);
  }
  return s;
}

// "CapEff:\t000001fffeffffff" → the mask; "NoNewPrivs:\t1" → 1.
inline uint64_t status_field(const std::string& name) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, name.size() + 1, name + ":") == 0) {
      int base = name.rfind("Cap", 0) == 0 ? 16 : 10;
      return std::stoull(line.substr(name.size() + 1), nullptr, base);
    }
  }
  return ~uint64_t{0};
}

}  // namespace berth::runtime::testing
