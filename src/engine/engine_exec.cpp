// docker exec: the exec's process is the container's own (from its bundle:
// capabilities, rlimits, no-new-privileges, AppArmor) with the request's
// command, environment, user and working directory, run by the shim.
#include <fcntl.h>

#include "base/file.h"
#include "base/strings.h"
#include "engine/engine.h"
#include "engine/spec.h"
#include "engine/user.h"

namespace berth::engine {

namespace {

std::vector<std::string> strings_of(const Json& j, const char* key) {
  std::vector<std::string> out;
  if (j.contains(key) && j[key].is_array())
    for (const auto& e : j[key])
      if (e.is_string()) out.push_back(e.get<std::string>());
  return out;
}

void set_env(std::vector<std::string>& env, const std::vector<std::string>& over) {
  auto key = [](std::string_view e) { return std::string(e.substr(0, e.find('='))); };
  for (const auto& e : over) {
    auto it = std::find_if(env.begin(), env.end(), [&](const std::string& x) { return key(x) == key(e); });
    if (it != env.end()) *it = e;
    else env.push_back(e);
  }
}

// The exec request body, checked the way Docker checks it.
Result<void> check_exec_body(const Json& b) {
  if (!b.is_object()) return Error::invalid("request body must be a JSON object");
  for (const char* k : {"Cmd", "Env"})
    if (b.contains(k) && !b[k].is_null()) {
      if (!b[k].is_array()) return Error::invalid("{}: expected an array of strings", k);
      for (const auto& e : b[k])
        if (!e.is_string()) return Error::invalid("{}: expected an array of strings", k);
    }
  for (const char* k : {"User", "WorkingDir", "DetachKeys"})
    if (b.contains(k) && !b[k].is_null() && !b[k].is_string()) return Error::invalid("{}: expected a string", k);
  for (const char* k : {"Tty", "AttachStdin", "AttachStdout", "AttachStderr", "Privileged", "Detach"})
    if (b.contains(k) && !b[k].is_null() && !b[k].is_boolean()) return Error::invalid("{}: expected a boolean", k);
  if (strings_of(b, "Cmd").empty()) return Error::invalid("No exec command specified");
  if (auto wd = b.value("WorkingDir", std::string()); !wd.empty() && wd[0] != '/')
    return Error::invalid("the working directory {:?} is invalid, it needs to be an absolute path", wd);
  return ok();
}

}  // namespace

Result<std::string> Engine::exec_create(const std::string& name_or_id, const Json& body) {
  BERTH_TRY(check_exec_body(body));
  auto rec = BERTH_TRY(refresh(BERTH_TRY(containers_.resolve(name_or_id))));
  if (rec.state.status == "paused") return Error::make(ErrorCode::Conflict, "Container {} is paused, unpause the container before exec", rec.id);
  if (rec.state.status != "running") return Error::make(ErrorCode::Conflict, "Container {} is not running", rec.id);
  ExecRecord e;
  e.id = new_container_id();
  e.container_id = rec.id;
  e.config = body;
  std::lock_guard lk(mu_);
  execs_[e.id] = e;
  return e.id;
}

Result<void> Engine::exec_start(const std::string& exec_id) {
  ExecRecord e;
  {
    std::lock_guard lk(mu_);
    auto it = execs_.find(exec_id);
    if (it == execs_.end()) return Error::not_found("No such exec instance: {}", exec_id);
    if (it->second.started) return Error::make(ErrorCode::Conflict, "Error: Exec command {} has already run", exec_id);
    it->second.started = true;
    e = it->second;
  }
  auto fail = [&](Error err) -> Error {
    std::lock_guard lk(mu_);
    if (auto it = execs_.find(exec_id); it != execs_.end()) it->second.started = false;
    return err;
  };
  auto rec = refresh(BERTH_TRY(containers_.get(e.container_id)));
  if (!rec) return fail(rec.error());
  if (rec->state.status != "running")
    return fail(Error::make(ErrorCode::Conflict, "Container {} is not running", rec->id));
  auto spec = read_json_file(run_dir(rec->id) + "/bundle/config.json");
  if (!spec || !spec->contains("process")) return fail(Error::internal("container {} has no bundle", rec->id));
  Json process = (*spec)["process"];
  const Json& b = e.config;
  process["args"] = strings_of(b, "Cmd");
  process["terminal"] = b.value("Tty", false);
  process.erase("consoleSize");
  auto env = strings_of(process, "env");
  set_env(env, strings_of(b, "Env"));
  process["env"] = env;
  if (auto wd = b.value("WorkingDir", std::string()); !wd.empty()) process["cwd"] = wd;
  if (auto user = b.value("User", std::string()); !user.empty()) {
    Fd root(open((container_dir(rec->id) + "/rootfs").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return fail(Error::sys(errno, "open the root of {}", rec->id));
    auto u = resolve_user(root.get(), user);
    if (!u) return fail(u.error());
    process["user"] = {{"uid", u->uid}, {"gid", u->gid}, {"additionalGids", u->additional_gids}};
  }
  if (b.value("Privileged", false)) {
    auto caps = bounding_capabilities();
    if (!caps) return fail(caps.error());
    process["capabilities"] = {{"bounding", *caps}, {"effective", *caps}, {"permitted", *caps}};
  }
  auto r = shim_request(rec->id, {{"op", "exec"},
                                  {"exec_id", exec_id},
                                  {"process", process},
                                  {"tty", b.value("Tty", false)},
                                  {"stdin", b.value("AttachStdin", false)}});
  if (!r && r.error().code() == ErrorCode::FailedPrecondition)
    return fail(Error::make(ErrorCode::Conflict, "Container {} is not running", rec->id));
  if (!r) {
    // The process could not be started: the exec has run and ended, with
    // the shell's code for a command not found (127) or not runnable (126).
    std::lock_guard lk(mu_);
    if (auto it = execs_.find(exec_id); it != execs_.end()) {
      it->second.exited = true;
      it->second.exit_code = command_failure_code(r.error().message()).value_or(126);
    }
    return r.error();
  }
  std::lock_guard lk(mu_);
  if (auto it = execs_.find(exec_id); it != execs_.end()) {
    it->second.running = true;
    it->second.pid = r->value("pid", int64_t{0});
  }
  publish(*rec, "exec_start: " + join(strings_of(b, "Cmd"), " "), {{"execID", exec_id}});
  return ok();
}

Result<ExecRecord> Engine::exec_inspect(const std::string& exec_id) {
  ExecRecord e;
  {
    std::lock_guard lk(mu_);
    auto it = execs_.find(exec_id);
    if (it == execs_.end()) return Error::not_found("No such exec instance: {}", exec_id);
    e = it->second;
  }
  if (!e.running) return e;
  // The shim has the truth about a running exec.
  auto st = shim_request(e.container_id, {{"op", "state"}});
  bool ended = !st;
  if (st && st->contains("execs") && (*st)["execs"].contains(exec_id)) {
    const Json& x = (*st)["execs"][exec_id];
    if (x.contains("exit") && x["exit"].is_object()) {
      ended = true;
      e.exit_code = x["exit"].value("exit_code", int64_t{-1});
    }
  } else if (st) {
    ended = true;
    e.exit_code = -1;
  }
  if (ended) {
    e.running = false;
    e.exited = true;
    if (!st) e.exit_code = -1;
    std::lock_guard lk(mu_);
    if (auto it = execs_.find(exec_id); it != execs_.end()) it->second = e;
  }
  return e;
}

Result<void> Engine::exec_resize(const std::string& exec_id, int height, int width) {
  ExecRecord e = BERTH_TRY(exec_inspect(exec_id));
  if (!e.running) return Error::make(ErrorCode::Conflict, "exec {} is not running", exec_id);
  BERTH_TRY(shim_request(e.container_id, {{"op", "resize"}, {"exec_id", exec_id}, {"height", height}, {"width", width}}));
  return ok();
}

}  // namespace berth::engine
