// config.json "process": what runs in the container and with which identity,
// capabilities, limits and scheduling.
#include <set>

#include "oci/fields.h"
#include "oci/known.h"
#include "oci/spec.h"

namespace berth::oci {
namespace {

using detail::opt_object;
using detail::opt_u32;

Result<User> parse_user(const JsonReader& r) {
  User u;
  // Go runtimes read a missing uid/gid as 0; so do we.
  u.uid = BERTH_TRY(opt_u32(r, "uid")).value_or(0);
  u.gid = BERTH_TRY(opt_u32(r, "gid")).value_or(0);
  u.umask = BERTH_TRY(opt_u32(r, "umask"));
  if (u.umask && *u.umask > 0777)
    return Error::invalid("{}: {:#o} is not a file mode mask (at most 0777)", r.field("umask"),
                          *u.umask);
  u.additional_gids = BERTH_TRY(detail::u32_array(r, "additionalGids"));
  u.username = BERTH_TRY(r.opt_str("username")).value_or("");
  return u;
}

Result<std::vector<std::string>> capability_set(const JsonReader& r, const char* key) {
  auto names = BERTH_TRY(r.str_array(key));
  for (size_t i = 0; i < names.size(); ++i)
    if (!is_capability_name(names[i]))
      return Error::invalid("{}[{}]: \"{}\" is not a capability name (CAP_...)", r.field(key), i,
                            names[i]);
  return names;
}

Result<Capabilities> parse_capabilities(const JsonReader& r) {
  Capabilities c;
  c.bounding = BERTH_TRY(capability_set(r, "bounding"));
  c.effective = BERTH_TRY(capability_set(r, "effective"));
  c.inheritable = BERTH_TRY(capability_set(r, "inheritable"));
  c.permitted = BERTH_TRY(capability_set(r, "permitted"));
  c.ambient = BERTH_TRY(capability_set(r, "ambient"));
  return c;
}

Result<std::vector<Rlimit>> parse_rlimits(const JsonReader& r) {
  std::vector<Rlimit> out;
  std::set<std::string> seen;
  for (const auto& e : BERTH_TRY(r.obj_array("rlimits"))) {
    Rlimit l;
    l.type = BERTH_TRY(e.str("type"));
    if (rlimit_resource(l.type) < 0)
      return Error::invalid("{}: unknown rlimit type \"{}\"", e.field("type"), l.type);
    if (!seen.insert(l.type).second)
      return Error::invalid("{}: duplicate rlimit type \"{}\"", e.field("type"), l.type);
    l.hard = BERTH_TRY(detail::req_uint(e, "hard"));
    l.soft = BERTH_TRY(detail::req_uint(e, "soft"));
    if (l.soft > l.hard)
      return Error::invalid("{}: soft limit {} is above hard limit {}", e.field("soft"), l.soft,
                            l.hard);
    out.push_back(std::move(l));
  }
  return out;
}

Result<Scheduler> parse_scheduler(const JsonReader& r) {
  static const std::vector<std::string> policies = {
      "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH",
      "SCHED_ISO",   "SCHED_IDLE", "SCHED_DEADLINE"};
  static const std::vector<std::string> flags = {
      "SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM",     "SCHED_FLAG_DL_OVERRUN",
      "SCHED_FLAG_KEEP_POLICY",   "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN",
      "SCHED_FLAG_UTIL_CLAMP_MAX"};
  Scheduler s;
  s.policy = BERTH_TRY(r.str("policy"));
  if (!contains(policies, s.policy))
    return Error::invalid("{}: unknown scheduling policy \"{}\"", r.field("policy"), s.policy);
  s.nice = static_cast<int32_t>(BERTH_TRY(detail::opt_int_range(r, "nice", -20, 19)).value_or(0));
  s.priority = static_cast<int32_t>(
      BERTH_TRY(detail::opt_int_range(r, "priority", INT32_MIN, INT32_MAX)).value_or(0));
  s.flags = BERTH_TRY(r.str_array("flags"));
  for (size_t i = 0; i < s.flags.size(); ++i)
    if (!contains(flags, s.flags[i]))
      return Error::invalid("{}[{}]: unknown scheduler flag \"{}\"", r.field("flags"), i,
                            s.flags[i]);
  s.runtime = BERTH_TRY(r.opt_uint("runtime")).value_or(0);
  s.deadline = BERTH_TRY(r.opt_uint("deadline")).value_or(0);
  s.period = BERTH_TRY(r.opt_uint("period")).value_or(0);
  return s;
}

Result<IoPriority> parse_io_priority(const JsonReader& r) {
  IoPriority p;
  p.io_class = BERTH_TRY(r.str("class"));
  if (p.io_class != "IOPRIO_CLASS_RT" && p.io_class != "IOPRIO_CLASS_BE" &&
      p.io_class != "IOPRIO_CLASS_IDLE")
    return Error::invalid("{}: unknown I/O priority class \"{}\"", r.field("class"), p.io_class);
  // The kernel knows levels 0 (highest) to 7 within a class.
  p.priority = BERTH_TRY(detail::opt_int_range(r, "priority", 0, 7)).value_or(0);
  return p;
}

}  // namespace

Result<Process> parse_process(const JsonReader& r) {
  Process p;
  p.terminal = BERTH_TRY(r.opt_bool("terminal")).value_or(false);
  if (auto cs = BERTH_TRY(opt_object(r, "consoleSize"))) {
    ConsoleSize size;
    size.height = BERTH_TRY(detail::req_u32(*cs, "height"));
    size.width = BERTH_TRY(detail::req_u32(*cs, "width"));
    p.console_size = size;
  }
  if (auto u = BERTH_TRY(opt_object(r, "user"))) p.user = BERTH_TRY(parse_user(*u));
  if (!r.has("args")) return detail::missing(r, "args");
  p.args = BERTH_TRY(r.str_array("args"));
  if (p.args.empty()) return Error::invalid("{}: must not be empty", r.field("args"));
  p.env = BERTH_TRY(r.str_array("env"));
  // "NAME" without "=" is accepted as runc does (an empty value); a missing
  // name or a NUL byte cannot go through execve's envp.
  for (size_t i = 0; i < p.env.size(); ++i) {
    if (p.env[i].empty() || p.env[i][0] == '=')
      return Error::invalid("{}[{}]: \"{}\" has no variable name", r.field("env"), i, p.env[i]);
    if (p.env[i].find('\0') != std::string::npos)
      return Error::invalid("{}[{}]: contains a NUL byte", r.field("env"), i);
  }
  p.cwd = BERTH_TRY(r.str("cwd"));
  if (!detail::is_absolute(p.cwd))
    return Error::invalid("{}: \"{}\" is not an absolute path", r.field("cwd"), p.cwd);
  if (auto c = BERTH_TRY(opt_object(r, "capabilities")))
    p.capabilities = BERTH_TRY(parse_capabilities(*c));
  p.rlimits = BERTH_TRY(parse_rlimits(r));
  p.no_new_privileges = BERTH_TRY(r.opt_bool("noNewPrivileges")).value_or(false);
  p.apparmor_profile = BERTH_TRY(r.opt_str("apparmorProfile")).value_or("");
  // /proc/<pid>/oom_score_adj accepts -1000..1000 and nothing else.
  if (auto adj = BERTH_TRY(detail::opt_int_range(r, "oomScoreAdj", -1000, 1000)))
    p.oom_score_adj = static_cast<int>(*adj);
  p.selinux_label = BERTH_TRY(r.opt_str("selinuxLabel")).value_or("");
  if (auto s = BERTH_TRY(opt_object(r, "scheduler"))) p.scheduler = BERTH_TRY(parse_scheduler(*s));
  if (auto io = BERTH_TRY(opt_object(r, "ioPriority")))
    p.io_priority = BERTH_TRY(parse_io_priority(*io));
  if (auto a = BERTH_TRY(opt_object(r, "execCPUAffinity"))) {
    ExecCpuAffinity aff;
    aff.initial = BERTH_TRY(a->opt_str("initial")).value_or("");
    aff.final_ = BERTH_TRY(a->opt_str("final")).value_or("");
    p.exec_cpu_affinity = aff;
  }
  return p;
}

}  // namespace berth::oci
