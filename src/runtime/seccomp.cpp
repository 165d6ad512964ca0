#include "runtime/seccomp.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <memory>

#include "base/file.h"
#include "base/log.h"
#include "runtime/process_setup.h"

namespace berth::runtime {
namespace {

using FilterPtr = std::unique_ptr<void, void (*)(scmp_filter_ctx)>;

// libseccomp returns -errno.
Error seccomp_error(int rc, const std::string& what) { return Error::sys(-rc, "seccomp: {}", what); }

Result<uint32_t> parse_action(const std::string& name, std::optional<uint32_t> errno_ret,
                              const std::string& field, const oci::Seccomp& seccomp) {
  // ERRNO and TRACE carry a value; the spec's default for both is EPERM.
  uint32_t value = errno_ret.value_or(EPERM);
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(value);
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(value);
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_NOTIFY") {
    if (seccomp.listener_path.empty()) {
      return Error::invalid("{}: SCMP_ACT_NOTIFY requires linux.seccomp.listenerPath", field);
    }
    // Handing the notify fd to the listener needs the container state, which
    // this layer does not have; refuse rather than load a filter whose
    // notifications nobody would answer (the process would hang).
    return Error(ErrorCode::NotImplemented,
                 fmt::format("{}: SCMP_ACT_NOTIFY is not supported by this runtime", field));
  }
  return Error::invalid("{}: unknown seccomp action \"{}\"", field, name);
}

Result<scmp_compare> parse_op(const std::string& op, const std::string& field) {
  static const std::map<std::string, scmp_compare> ops = {
      {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE}, {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  };
  auto it = ops.find(op);
  if (it == ops.end()) return Error::invalid("{}: unknown seccomp operator \"{}\"", field, op);
  return it->second;
}

Result<uint32_t> parse_arch(const std::string& name) {
  // "SCMP_ARCH_X86_64" → libseccomp's "x86_64".
  constexpr std::string_view prefix = "SCMP_ARCH_";
  std::string token = name;
  if (token.compare(0, prefix.size(), prefix) == 0) token = token.substr(prefix.size());
  for (auto& c : token) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  uint32_t arch = seccomp_arch_resolve_name(token.c_str());
  if (arch == 0) return Error::invalid("linux.seccomp.architectures: unknown architecture \"{}\"", name);
  return arch;
}

// linux.seccomp.flags as seccomp(2) takes them.
Result<unsigned> kernel_flags(const std::vector<std::string>& flags) {
  unsigned out = 0;
  for (const auto& flag : flags) {
    if (flag == "SECCOMP_FILTER_FLAG_TSYNC") out |= SECCOMP_FILTER_FLAG_TSYNC;
    else if (flag == "SECCOMP_FILTER_FLAG_LOG") out |= SECCOMP_FILTER_FLAG_LOG;
    else if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") out |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    else return Error::invalid("linux.seccomp.flags: unsupported flag \"{}\"", flag);
  }
  return out;
}

// Every combination taking one condition per argument index: alternatives on
// one index become separate rules (OR), distinct indexes stay in one (AND).
std::vector<std::vector<scmp_arg_cmp>> condition_sets(const std::map<uint32_t, std::vector<scmp_arg_cmp>>& by_index) {
  std::vector<std::vector<scmp_arg_cmp>> sets{{}};
  for (const auto& [index, conds] : by_index) {
    std::vector<std::vector<scmp_arg_cmp>> next;
    for (const auto& partial : sets) {
      for (const auto& c : conds) {
        auto s = partial;
        s.push_back(c);
        next.push_back(std::move(s));
      }
    }
    sets = std::move(next);
  }
  return sets;
}

Result<void> add_rules(scmp_filter_ctx ctx, const oci::Seccomp& seccomp, uint32_t default_action) {
  for (size_t i = 0; i < seccomp.syscalls.size(); ++i) {
    const auto& sc = seccomp.syscalls[i];
    std::string field = fmt::format("linux.seccomp.syscalls[{}]", i);
    uint32_t action = BERTH_TRY(parse_action(sc.action, sc.errno_ret, field + ".action", seccomp));
    if (action == default_action) continue;

    std::map<uint32_t, std::vector<scmp_arg_cmp>> by_index;
    for (size_t a = 0; a < sc.args.size(); ++a) {
      const auto& arg = sc.args[a];
      std::string afield = fmt::format("{}.args[{}]", field, a);
      if (arg.index > 5) return Error::invalid("{}.index: {} is out of range 0..5", afield, arg.index);
      scmp_compare op = BERTH_TRY(parse_op(arg.op, afield + ".op"));
      by_index[arg.index].push_back(scmp_arg_cmp{arg.index, op, arg.value, arg.value_two});
    }
    auto sets = condition_sets(by_index);

    for (const auto& name : sc.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        log::debug("seccomp: skipping unknown syscall {}", name);
        continue;
      }
      for (const auto& conds : sets) {
        int rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(conds.size()),
                                        conds.empty() ? nullptr : conds.data());
        if (rc != 0) return seccomp_error(rc, fmt::format("add rule for {} ({})", name, field));
      }
    }
  }
  return ok();
}

Result<FilterPtr> build_filter(const oci::Seccomp& seccomp) {
  uint32_t default_action = BERTH_TRY(parse_action(
      seccomp.default_action, seccomp.default_errno_ret, "linux.seccomp.defaultAction", seccomp));
  FilterPtr ctx(seccomp_init(default_action), seccomp_release);
  if (!ctx) return Error::invalid("seccomp: cannot create a filter with default action {}", seccomp.default_action);

  // The flags are seccomp(2)'s at load (SeccompProgram::flags), not part
  // of the program; a profile with one the kernel lacks is refused here too.
  BERTH_TRY(kernel_flags(seccomp.flags));

  for (const auto& name : seccomp.architectures) {
    uint32_t arch = BERTH_TRY(parse_arch(name));
    int rc = seccomp_arch_add(ctx.get(), arch);
    // The native architecture is in every new filter already.
    if (rc != 0 && rc != -EEXIST) return seccomp_error(rc, fmt::format("add architecture {}", name));
  }
  BERTH_TRY(add_rules(ctx.get(), seccomp, default_action));
  return ctx;
}

// Everything the compiled program depends on, each string length-prefixed
// so that no two profiles give the same text.
std::string cache_key(const oci::Seccomp& s) {
  std::string k = "berth-seccomp-cache 1\n";
  auto add = [&k](std::string_view v) { k += fmt::format("{}:{};", v.size(), v); };
  auto add_num = [&k](auto v) { k += fmt::format("{};", v); };
  const scmp_version* v = seccomp_version();
  add_num(v->major);
  add_num(v->minor);
  add_num(v->micro);
  utsname u{};
  uname(&u);
  add(u.release);
  add_num(seccomp_arch_native());
  add(s.default_action);
  add_num(s.default_errno_ret.value_or(~0U));
  add_num(s.architectures.size());
  for (const auto& a : s.architectures) add(a);
  add_num(s.flags.size());
  for (const auto& f : s.flags) add(f);
  add(s.listener_path);
  add(s.listener_metadata);
  add_num(s.syscalls.size());
  for (const auto& sc : s.syscalls) {
    add_num(sc.names.size());
    for (const auto& n : sc.names) add(n);
    add(sc.action);
    add_num(sc.errno_ret.value_or(~0U));
    add_num(sc.args.size());
    for (const auto& a : sc.args) {
      add_num(a.index);
      add_num(a.value);
      add_num(a.value_two);
      add(a.op);
    }
  }
  return k;
}

// FNV-1a, 64 bits: names an entry and catches a torn write. Not a
// defence against forgery: the entry holds the whole key, compared byte
// for byte, and only root writes the runtime's root.
uint64_t fnv1a(std::string_view data) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// An entry: "<key length>\n<key><program><16 hex digits of fnv1a(program)>".
constexpr size_t kChecksumSize = 16;

std::string entry_for(const std::string& key, const std::string& bpf) {
  return fmt::format("{}\n{}{}{:016x}", key.size(), key, bpf, fnv1a(bpf));
}

// The program in `entry` when the entry is whole and made for `key`.
std::optional<std::string> program_in(std::string_view entry, const std::string& key) {
  std::string prefix = fmt::format("{}\n", key.size());
  if (entry.size() < prefix.size() + key.size() + kChecksumSize || !entry.starts_with(prefix) ||
      entry.substr(prefix.size(), key.size()) != key)
    return std::nullopt;
  std::string_view rest = entry.substr(prefix.size() + key.size());
  std::string_view bpf = rest.substr(0, rest.size() - kChecksumSize);
  if (bpf.empty() || bpf.size() % sizeof(sock_filter) != 0 ||
      fmt::format("{:016x}", fnv1a(bpf)) != rest.substr(bpf.size()))
    return std::nullopt;
  return std::string(bpf);
}

}  // namespace

Result<std::string> seccomp_bpf(const oci::Seccomp& seccomp) {
  auto ctx = BERTH_TRY(build_filter(seccomp));
  Fd mem(memfd_create("seccomp-bpf", MFD_CLOEXEC));
  if (!mem) return Error::sys(errno, "memfd_create");
  int rc = seccomp_export_bpf(ctx.get(), mem.get());
  if (rc != 0) return seccomp_error(rc, "export the filter");
  if (lseek(mem.get(), 0, SEEK_SET) < 0) return Error::sys(errno, "lseek memfd");
  return read_fd(mem.get());
}

Result<SeccompProgram> compile_seccomp(const oci::Seccomp& seccomp, const std::string& cache_dir) {
  SeccompProgram prog;
  prog.flags = BERTH_TRY(kernel_flags(seccomp.flags));
  if (cache_dir.empty()) {
    prog.bpf = BERTH_TRY(seccomp_bpf(seccomp));
    return prog;
  }
  const std::string key = cache_key(seccomp);
  const std::string path = fmt::format("{}/{:016x}.bpf", cache_dir, fnv1a(key));
  if (auto entry = read_file(path); entry) {
    if (auto bpf = program_in(*entry, key)) {
      prog.bpf = std::move(*bpf);
      return prog;
    }
  }
  prog.bpf = BERTH_TRY(seccomp_bpf(seccomp));
  // Best effort. Two runtimes filling the same entry at once may tear its
  // temporary file; program_in() then refuses it and compiles again.
  auto stored = mkdir_all(cache_dir, 0700);
  if (stored) stored = write_file_atomic(path, entry_for(key, prog.bpf), 0600);
  if (!stored) log::debug("seccomp cache: {}", stored.error().message());
  return prog;
}

Result<void> load_seccomp_program(const SeccompProgram& program) {
  if (program.bpf.empty() || program.bpf.size() % sizeof(sock_filter) != 0 ||
      program.bpf.size() / sizeof(sock_filter) > BPF_MAXINSNS)
    return Error::invalid("seccomp: a program of {} bytes is not a valid filter", program.bpf.size());
  sock_fprog fprog{};
  fprog.len = static_cast<unsigned short>(program.bpf.size() / sizeof(sock_filter));
  fprog.filter = reinterpret_cast<sock_filter*>(const_cast<char*>(program.bpf.data()));
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, program.flags, &fprog);
  // With TSYNC, a positive value is the thread that could not be synchronised.
  if (rc > 0) return Error::make(ErrorCode::Internal, "seccomp: thread {} could not be synchronised", rc);
  if (rc < 0) return Error::sys(errno, "seccomp: load the filter");
  return ok();
}

Result<void> load_seccomp(const oci::Seccomp& seccomp) {
  return load_seccomp_program(BERTH_TRY(compile_seccomp(seccomp, "")));
}

}  // namespace berth::runtime
