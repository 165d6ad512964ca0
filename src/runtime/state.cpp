#include "runtime/state.h"

#include <dirent.h>
#include <pwd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "base/file.h"
#include "sys/proc.h"

namespace berth::runtime {

const char* status_name(Status s) {
  switch (s) {
    case Status::Created: return "created";
    case Status::Running: return "running";
    case Status::Paused: return "paused";
    case Status::Stopped: return "stopped";
  }
  return "unknown";
}

std::string StateDir::default_root() {
  if (geteuid() == 0) return "/run/berth-runtime";
  const char* xdg = getenv("XDG_RUNTIME_DIR");
  if (xdg && *xdg) return std::string(xdg) + "/berth-runtime";
  return fmt::format("/tmp/berth-runtime-{}", geteuid());
}

Result<void> StateDir::validate_id(const std::string& id) {
  if (id.empty()) return Error::invalid("container id must not be empty");
  if (id.size() > 1024) return Error::invalid("container id is longer than 1024 characters");
  auto ok_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-' || c == '+';
  };
  if (!std::all_of(id.begin(), id.end(), ok_char) || id == "." || id == "..")
    return Error::invalid("invalid container id {:?}: use letters, digits, '_', '.', '-' and '+'", id);
  return {};
}

Result<ContainerState> StateDir::load(const std::string& id) const {
  BERTH_TRY(validate_id(id));
  std::string path = dir(id) + "/state.json";
  auto text = read_file(path);
  if (!text) {
    if (text.error().sys_errno() == ENOENT) return Error::not_found("container {} does not exist", id);
    return text.error();
  }
  auto j = BERTH_TRY(parse_json(*text, path));
  ContainerState st;
  try {
    st.id = j.at("id").get<std::string>();
    st.pid = j.at("pid").get<pid_t>();
    st.pid_start = j.value("pid_start", uint64_t{0});
    st.bundle = j.value("bundle", "");
    st.rootfs = j.value("rootfs", "");
    st.created = j.value("created", "");
    st.owner = j.value("owner", "");
    st.oci_version = j.value("ociVersion", "");
    st.no_pivot = j.value("no_pivot", false);
    if (j.contains("annotations")) st.annotations = j.at("annotations").get<std::map<std::string, std::string>>();
    st.cgroup = j.value("cgroup", Json::object());
  } catch (const Json::exception& e) {
    return Error::internal("{}: corrupt state: {}", path, e.what());
  }
  return st;
}

Result<void> StateDir::save(const ContainerState& st) const {
  Json j = {{"id", st.id},         {"pid", st.pid},         {"pid_start", st.pid_start},
            {"bundle", st.bundle}, {"rootfs", st.rootfs},   {"created", st.created},
            {"owner", st.owner},   {"annotations", st.annotations}, {"cgroup", st.cgroup},
            {"no_pivot", st.no_pivot}, {"ociVersion", st.oci_version}};
  // The state lives on tmpfs (/run): rename gives atomicity, fsync buys nothing.
  std::string path = dir(st.id) + "/state.json";
  std::string tmp = path + ".tmp";
  BERTH_TRY(write_file(tmp, j.dump(), 0600));
  if (::rename(tmp.c_str(), path.c_str()) < 0) return Error::sys(errno, "rename {}", tmp);
  return {};
}

Result<std::vector<std::string>> StateDir::list() const {
  std::vector<std::string> ids;
  DIR* d = opendir(root_.c_str());
  if (!d) {
    if (errno == ENOENT) return ids;
    return Error::sys(errno, "open {}", root_);
  }
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (::access((root_ + "/" + name + "/state.json").c_str(), F_OK) == 0) ids.push_back(name);
  }
  closedir(d);
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<void> StateDir::remove(const std::string& id) const {
  BERTH_TRY(validate_id(id));
  std::string d = dir(id);
  for (const char* f : {"state.json", "state.json.tmp", "config.json", "exec.fifo"}) {
    if (::unlink((d + "/" + f).c_str()) < 0 && errno != ENOENT)
      return Error::sys(errno, "remove {}/{}", d, f);
  }
  if (::rmdir(d.c_str()) < 0 && errno != ENOENT) return Error::sys(errno, "remove {}", d);
  return {};
}

Json oci_state(const ContainerState& st, Status status) {
  bool alive = status != Status::Stopped;
  return Json{{"ociVersion", st.oci_version.empty() ? "1.2.0" : st.oci_version},
              {"id", st.id},
              {"pid", alive ? st.pid : 0},
              {"status", status_name(status)},
              {"bundle", st.bundle},
              {"rootfs", st.rootfs},
              {"created", st.created},
              {"owner", st.owner},
              {"annotations", st.annotations}};
}

bool init_alive(const ContainerState& st) {
  return sys::process_alive(st.pid, st.pid_start ? std::optional<uint64_t>(st.pid_start) : std::nullopt);
}

Status current_status(const StateDir& dir, const ContainerState& st, Cgroup* cg) {
  if (!init_alive(st)) return Status::Stopped;
  if (::access(dir.fifo(st.id).c_str(), F_OK) == 0) return Status::Created;
  if (cg) {
    auto f = cg->frozen();
    if (f.ok() && *f) return Status::Paused;
  }
  return Status::Running;
}

}  // namespace berth::runtime
