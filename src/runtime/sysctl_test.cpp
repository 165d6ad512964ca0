#include <gtest/gtest.h>

#include "runtime/rootfs.h"
#include "runtime/rootfs_fake_ops.h"

namespace berth::runtime {
namespace {

TEST(Sysctl, Validation) {
  SysctlNamespaces all;
  SysctlNamespaces none{false, false, false};
  const char* ipc[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                       "kernel.shmall", "kernel.shmmax", "kernel.shmmni",
                       "kernel.shm_rmid_forced", "fs.mqueue.msg_max"};
  for (const char* k : ipc) {
    EXPECT_TRUE(validate_sysctl(k, all)) << k;
    EXPECT_FALSE(validate_sysctl(k, none)) << k;
    EXPECT_TRUE(validate_sysctl(k, {true, false, false})) << k;
  }
  EXPECT_TRUE(validate_sysctl("net.ipv4.ip_forward", all));
  EXPECT_TRUE(validate_sysctl("net.ipv4.ip_forward", {false, true, false}));
  auto net = validate_sysctl("net.ipv4.ip_forward", {true, false, true});
  ASSERT_FALSE(net);
  EXPECT_NE(net.error().message().find("network namespace"), std::string::npos);
  EXPECT_TRUE(validate_sysctl("kernel.hostname", {false, false, true}));
  EXPECT_FALSE(validate_sysctl("kernel.domainname", {true, true, false}));

  const char* refused[] = {"kernel.core_pattern", "vm.overcommit_memory", "kernel.shm_next_id",
                           "fs.file-max", "", "net..x", "../etc/passwd", "/kernel/sem"};
  for (const char* k : refused) EXPECT_FALSE(validate_sysctl(k, all)) << k;
  auto host = validate_sysctl("kernel.core_pattern", all);
  EXPECT_EQ(host.error().message(),
            "linux.sysctl \"kernel.core_pattern\": not namespaced: setting it would change the host");
}

TEST(Sysctl, WritesProcSysPaths) {
  testing::FakeMountOps ops("/nonexistent");
  std::map<std::string, std::string> s = {{"net.ipv4.ip_forward", "1"}, {"kernel.shmmax", "4096"}};
  ASSERT_TRUE(apply_sysctls(s, SysctlNamespaces{}, ops));
  std::vector<std::string> want = {"write /proc/sys/kernel/shmmax 4096",
                                   "write /proc/sys/net/ipv4/ip_forward 1"};
  EXPECT_EQ(ops.calls, want);
}

TEST(Sysctl, RefusedKeyWritesNothing) {
  testing::FakeMountOps ops("/nonexistent");
  std::map<std::string, std::string> s = {{"net.ipv4.ip_forward", "1"}, {"vm.swappiness", "0"}};
  ASSERT_FALSE(apply_sysctls(s, SysctlNamespaces{}, ops));
  EXPECT_TRUE(ops.calls.empty());
}

TEST(Sysctl, NamespacesFromSpec) {
  oci::Spec spec;
  spec.linux_ = oci::Linux{};
  spec.linux_->namespaces = {{"network", ""}, {"mount", ""}};
  auto ns = sysctl_namespaces(spec);
  EXPECT_TRUE(ns.net);
  EXPECT_FALSE(ns.ipc);
  EXPECT_FALSE(ns.uts);
}

}  // namespace
}  // namespace berth::runtime
