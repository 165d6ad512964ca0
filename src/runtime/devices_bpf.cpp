#include "runtime/devices_bpf.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

namespace berth::runtime {
namespace {

// Registers of the program (r1 holds struct bpf_cgroup_dev_ctx *).
constexpr uint8_t kType = 2, kAccess = 3, kMajor = 4, kMinor = 5;

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}
bpf_insn load_u32(uint8_t dst, int16_t off) { return insn(BPF_LDX | BPF_W | BPF_MEM, dst, 1, off, 0); }
bpf_insn alu32_imm(uint8_t op, uint8_t dst, int32_t imm) { return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm); }
bpf_insn jmp_imm(uint8_t op, uint8_t dst, int32_t imm, int16_t off) { return insn(BPF_JMP | op | BPF_K, dst, 0, off, imm); }
bpf_insn ret(int32_t v) { return insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, v); }
bpf_insn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

int32_t access_bits(const std::string& access) {
  int32_t bits = 0;
  for (char c : access) {
    if (c == 'r') bits |= BPF_DEVCG_ACC_READ;
    if (c == 'w') bits |= BPF_DEVCG_ACC_WRITE;
    if (c == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
  }
  return bits == 0 ? (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD) : bits;
}

constexpr int32_t kAllAccess = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;

bool wildcard(const std::optional<int64_t>& v) { return !v || *v < 0; }

long bpf(int cmd, bpf_attr* attr) { return ::syscall(SYS_bpf, cmd, attr, sizeof(*attr)); }

}  // namespace

std::vector<bpf_insn> device_program(const std::vector<oci::DeviceRule>& rules) {
  std::vector<bpf_insn> p = {
      load_u32(kType, 0),  // access_type: access << 16 | type
      alu32_imm(BPF_AND, kType, 0xffff),
      load_u32(kAccess, 0),
      alu32_imm(BPF_RSH, kAccess, 16),
      load_u32(kMajor, 4),
      load_u32(kMinor, 8),
  };
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    const auto& r = *it;
    int32_t acc = access_bits(r.access);
    bool any_type = r.type.empty() || r.type == "a";
    bool terminal = any_type && wildcard(r.major) && wildcard(r.minor) && acc == kAllAccess;
    if (terminal) {
      // Matches every request: nothing before it can change the verdict (and
      // the verifier refuses the unreachable code that would follow).
      p.push_back(ret(r.allow ? 1 : 0));
      p.push_back(exit_insn());
      return p;
    }
    // Jumps to "end" are patched once the block's length is known.
    std::vector<bpf_insn> b;
    std::vector<size_t> to_end;
    if (!any_type) {
      int32_t t = r.type == "b" ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
      to_end.push_back(b.size());
      b.push_back(jmp_imm(BPF_JNE, kType, t, 0));
    }
    if (!wildcard(r.major)) {
      to_end.push_back(b.size());
      b.push_back(jmp_imm(BPF_JNE, kMajor, static_cast<int32_t>(*r.major), 0));
    }
    if (!wildcard(r.minor)) {
      to_end.push_back(b.size());
      b.push_back(jmp_imm(BPF_JNE, kMinor, static_cast<int32_t>(*r.minor), 0));
    }
    if (r.allow) {
      b.push_back(alu32_imm(BPF_AND, kAccess, ~acc));
      to_end.push_back(b.size());
      b.push_back(jmp_imm(BPF_JNE, kAccess, 0, 0));
      b.push_back(ret(1));
      b.push_back(exit_insn());
    } else {
      b.push_back(jmp_imm(BPF_JSET, kAccess, acc, 1));
      to_end.push_back(b.size());
      b.push_back(insn(BPF_JMP | BPF_JA, 0, 0, 0, 0));
      b.push_back(ret(0));
      b.push_back(exit_insn());
    }
    for (size_t i : to_end) b[i].off = static_cast<int16_t>(b.size() - i - 1);
    p.insert(p.end(), b.begin(), b.end());
  }
  p.push_back(ret(0));  // no rule decided: deny
  p.push_back(exit_insn());
  return p;
}

Result<Fd> load_device_program(const std::vector<bpf_insn>& insns) {
  static const char license[] = "Apache-2.0";
  auto attempt = [&](char* log, uint32_t log_size) {
    bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = reinterpret_cast<uint64_t>(insns.data());
    attr.insn_cnt = static_cast<uint32_t>(insns.size());
    attr.license = reinterpret_cast<uint64_t>(license);
    if (log) {
      attr.log_buf = reinterpret_cast<uint64_t>(log);
      attr.log_size = log_size;
      attr.log_level = 1;
    }
    return static_cast<int>(bpf(BPF_PROG_LOAD, &attr));
  };
  int fd = attempt(nullptr, 0);
  if (fd >= 0) return Fd(fd);
  int err = errno;
  // Load again with the verifier log so that the error says why.
  std::string log(64 * 1024, '\0');
  int fd2 = attempt(log.data(), static_cast<uint32_t>(log.size()));
  if (fd2 >= 0) return Fd(fd2);
  log.resize(std::strlen(log.c_str()));
  while (!log.empty() && log.back() == '\n') log.pop_back();
  return Error::sys(err, "bpf(BPF_PROG_LOAD) device program of {} instructions{}{}", insns.size(),
                    log.empty() ? "" : "; verifier: ", log);
}

Result<std::vector<uint32_t>> attached_device_programs(int cgroup_fd) {
  std::vector<uint32_t> ids(64);
  bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.query.target_fd = static_cast<uint32_t>(cgroup_fd);
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = reinterpret_cast<uint64_t>(ids.data());
  attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
  if (bpf(BPF_PROG_QUERY, &attr) < 0) return Error::sys(errno, "bpf(BPF_PROG_QUERY) device programs");
  ids.resize(attr.query.prog_cnt);
  return ids;
}

Result<void> replace_device_program(const std::string& cgroup_dir, int prog_fd) {
  Fd dir(::open(cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return Error::sys(errno, "open {}", cgroup_dir);
  auto old = BERTH_TRY_CTX(attached_device_programs(dir.get()), "{}", cgroup_dir);

  bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.target_fd = static_cast<uint32_t>(dir.get());
  attr.attach_bpf_fd = static_cast<uint32_t>(prog_fd);
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf(BPF_PROG_ATTACH, &attr) < 0)
    return Error::sys(errno, "bpf(BPF_PROG_ATTACH) device program to {}", cgroup_dir);

  // Only now drop the old filters: attach-then-detach never leaves the
  // cgroup unfiltered, and with ALLOW_MULTI both run (most restrictive
  // wins) for the instant they overlap.
  for (uint32_t id : old) {
    std::memset(&attr, 0, sizeof attr);
    attr.prog_id = id;
    Fd old_fd(static_cast<int>(bpf(BPF_PROG_GET_FD_BY_ID, &attr)));
    if (!old_fd) {
      if (errno == ENOENT) continue;
      return Error::sys(errno, "bpf(BPF_PROG_GET_FD_BY_ID) {} on {}", id, cgroup_dir);
    }
    std::memset(&attr, 0, sizeof attr);
    attr.target_fd = static_cast<uint32_t>(dir.get());
    attr.attach_bpf_fd = static_cast<uint32_t>(old_fd.get());
    attr.attach_type = BPF_CGROUP_DEVICE;
    if (bpf(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT)
      return Error::sys(errno, "bpf(BPF_PROG_DETACH) program {} from {}", id, cgroup_dir);
  }
  return {};
}

}  // namespace berth::runtime
