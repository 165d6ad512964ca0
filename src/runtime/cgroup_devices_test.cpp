// The device eBPF program: its instructions for a small rule set, and its
// verdicts, computed by a tiny interpreter of the instructions it uses (the
// kernel has no BPF_PROG_TEST_RUN for cgroup device programs). Loading it
// into the kernel is in cgroup_root_test.cpp.
#include <gtest/gtest.h>

#include "runtime/cgroup_common.h"
#include "runtime/devices_bpf.h"

namespace berth::runtime {
namespace {

const auto rule = cg::make_device_rule;

// Runs the program on one request; -1 on an instruction it does not know.
int run(const std::vector<bpf_insn>& p, char type, uint32_t major, uint32_t minor, const char* access) {
  uint32_t acc = 0;
  for (const char* c = access; *c; ++c)
    acc |= *c == 'r' ? BPF_DEVCG_ACC_READ : *c == 'w' ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD;
  uint32_t ctx[3] = {acc << 16 | (type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR), major, minor};
  uint64_t r[11] = {};
  for (size_t pc = 0; pc < p.size(); ++pc) {
    const bpf_insn& i = p[pc];
    uint64_t imm = static_cast<uint64_t>(static_cast<int64_t>(i.imm));
    switch (i.code) {
      case BPF_LDX | BPF_W | BPF_MEM:
        r[i.dst_reg] = ctx[i.off / 4];
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        r[i.dst_reg] = static_cast<uint32_t>(r[i.dst_reg] & imm);
        break;
      case BPF_ALU | BPF_RSH | BPF_K:
        r[i.dst_reg] = static_cast<uint32_t>(r[i.dst_reg]) >> i.imm;
        break;
      case BPF_ALU64 | BPF_MOV | BPF_K:
        r[i.dst_reg] = imm;
        break;
      case BPF_JMP | BPF_JNE | BPF_K:
        if (r[i.dst_reg] != imm) pc += i.off;
        break;
      case BPF_JMP | BPF_JSET | BPF_K:
        if (r[i.dst_reg] & imm) pc += i.off;
        break;
      case BPF_JMP | BPF_JA:
        pc += i.off;
        break;
      case BPF_JMP | BPF_EXIT:
        return static_cast<int>(r[0]);
      default:
        return -1;
    }
  }
  return -2;  // fell off the end
}

TEST(DeviceProgram, InstructionsOfASmallRuleSet) {
  // deny all, allow c 1:3 rw: walked backwards, the allow comes first and
  // the deny-all ends the program.
  auto p = device_program({rule(false, "a", {}, {}, "rwm"), rule(true, "c", 1, 3, "rw")});
  ASSERT_EQ(p.size(), 6u + 7u + 2u);
  // Prologue: type, access, major, minor from struct bpf_cgroup_dev_ctx.
  EXPECT_EQ(p[0].code, BPF_LDX | BPF_W | BPF_MEM);
  EXPECT_EQ(p[0].off, 0);
  EXPECT_EQ(p[1].code, BPF_ALU | BPF_AND | BPF_K);
  EXPECT_EQ(p[1].imm, 0xffff);
  EXPECT_EQ(p[3].code, BPF_ALU | BPF_RSH | BPF_K);
  EXPECT_EQ(p[3].imm, 16);
  EXPECT_EQ(p[4].off, 4);
  EXPECT_EQ(p[5].off, 8);
  // The allow block: three mismatches jump past its end (index 13).
  EXPECT_EQ(p[6].code, BPF_JMP | BPF_JNE | BPF_K);
  EXPECT_EQ(p[6].dst_reg, 2);
  EXPECT_EQ(p[6].imm, BPF_DEVCG_DEV_CHAR);
  EXPECT_EQ(p[6].off, 6);
  EXPECT_EQ(p[7].imm, 1);
  EXPECT_EQ(p[7].off, 5);
  EXPECT_EQ(p[8].imm, 3);
  EXPECT_EQ(p[8].off, 4);
  EXPECT_EQ(p[9].code, BPF_ALU | BPF_AND | BPF_K);
  EXPECT_EQ(p[9].imm, ~(BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE));
  EXPECT_EQ(p[10].code, BPF_JMP | BPF_JNE | BPF_K);
  EXPECT_EQ(p[10].off, 2);
  EXPECT_EQ(p[11].code, BPF_ALU64 | BPF_MOV | BPF_K);
  EXPECT_EQ(p[11].imm, 1);
  EXPECT_EQ(p[12].code, BPF_JMP | BPF_EXIT);
  // Deny-all: return 0.
  EXPECT_EQ(p[13].imm, 0);
  EXPECT_EQ(p[14].code, BPF_JMP | BPF_EXIT);
}

TEST(DeviceProgram, LastMatchingRuleWins) {
  auto p = device_program({rule(false, "a", {}, {}, "rwm"), rule(true, "c", 1, 3, "rwm"),
                           rule(false, "c", 1, 3, "w"), rule(true, "b", 8, {}, "r")});
  EXPECT_EQ(run(p, 'c', 1, 3, "r"), 1);
  EXPECT_EQ(run(p, 'c', 1, 3, "rw"), 0);  // w was taken back
  EXPECT_EQ(run(p, 'c', 1, 3, "w"), 0);
  EXPECT_EQ(run(p, 'c', 1, 3, "m"), 1);
  EXPECT_EQ(run(p, 'c', 1, 5, "r"), 0);   // no rule: denied
  EXPECT_EQ(run(p, 'b', 8, 1, "r"), 1);
  EXPECT_EQ(run(p, 'b', 8, 1, "w"), 0);
  EXPECT_EQ(run(p, 'c', 8, 1, "r"), 0);   // type matters
}

TEST(DeviceProgram, AccessGrantedPiecewise) {
  auto p = device_program({rule(true, "c", 1, 3, "r"), rule(true, "c", 1, 3, "w")});
  EXPECT_EQ(run(p, 'c', 1, 3, "rw"), 1);
  EXPECT_EQ(run(p, 'c', 1, 3, "m"), 0);
}

TEST(DeviceProgram, AllowAllIsTerminal) {
  // A privileged container: "allow a" after the default deny.
  auto rules = cg::effective_device_rules({rule(true, "a", {}, {}, "rwm")});
  auto p = device_program(rules);
  EXPECT_EQ(run(p, 'b', 259, 0, "rw"), 1);
  EXPECT_EQ(run(p, 'c', 4, 7, "rwm"), 1);
  // Nothing before the allow-all is emitted (the verifier refuses dead code).
  EXPECT_LT(p.size(), 6u + 13u * 7u);
}

TEST(DeviceProgram, ImplicitRules) {
  auto rules = cg::effective_device_rules({rule(false, "c", 1, 9, "rwm")});
  ASSERT_EQ(cg::device_rule_string(rules.front()), "a *:* rwm");
  EXPECT_EQ(cg::device_rule_string(rules[1]), "c 1:9 rwm");
  auto p = device_program(rules);
  for (auto [maj, min] : std::vector<std::pair<int, int>>{{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 1},
                                                          {5, 2}, {136, 4}, {10, 200}})
    EXPECT_EQ(run(p, 'c', maj, min, "rwm"), 1) << maj << ":" << min;
  EXPECT_EQ(run(p, 'c', 10, 229, "rw"), 0);  // /dev/fuse
  EXPECT_EQ(run(p, 'c', 10, 229, "m"), 1);   // mknod of any char device
  EXPECT_EQ(run(p, 'b', 8, 0, "m"), 1);
  EXPECT_EQ(run(p, 'b', 8, 0, "r"), 0);
}

TEST(DeviceProgram, RuleStrings) {
  EXPECT_EQ(cg::device_rule_string(rule(true, "c", 136, {}, "rwm")), "c 136:* rwm");
  EXPECT_EQ(cg::device_rule_string(rule(true, "b", {}, 2, "m")), "b *:2 m");
}

}  // namespace
}  // namespace berth::runtime
