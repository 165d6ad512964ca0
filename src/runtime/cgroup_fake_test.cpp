// The Cgroup contract against fake cgroupfs trees (plain files in a temp
// dir) for v1, v2 and hybrid: one parameterized suite for what every layout
// must do, then layout-specific tests for the files each one writes.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "base/file.h"
#include "runtime/cgroup.h"
#include "runtime/cgroup_common.h"

namespace berth::runtime {
namespace {

namespace fs_ = cg;

// A fake cgroup tree for one layout, with the control files the managers
// write for the container "/berth/c1" (and its parent "/berth").
class FakeTree {
 public:
  explicit FakeTree(CgroupMode mode) : mode_(mode) {
    char tmpl[] = "/tmp/berth-cgfake-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    proc_ = root_ + "/.proc-self-cgroup";
    put(proc_, "5:memory:/own\n3:cpu,cpuacct:/\n2:name=systemd:/\n0::/own2\n");
    if (mode == CgroupMode::V2) {
      put(root_ + "/cgroup.controllers", "cpu cpuset io memory pids hugetlb");
      put(root_ + "/cgroup.subtree_control", "");
      mkdirs(root_ + "/berth");
      put(root_ + "/berth/cgroup.controllers", "cpu cpuset io memory pids hugetlb");
      put(root_ + "/berth/cgroup.subtree_control", "");
      for (const char* f : {"cgroup.procs", "cgroup.freeze", "cgroup.events", "memory.max", "memory.low",
                            "memory.swap.max", "memory.events", "memory.stat", "memory.current", "cpu.weight",
                            "cpu.max", "cpu.max.burst", "cpu.idle", "cpu.stat", "cpuset.cpus", "cpuset.mems",
                            "pids.max", "pids.current", "io.weight", "io.max", "io.stat", "hugetlb.2MB.max",
                            "hugetlb.2MB.current", "hugetlb.2MB.events"})
        put(dir("") + "/" + f, "");
      return;
    }
    v1("cpu,cpuacct", {"cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.cfs_burst_us", "cpu.rt_period_us",
                       "cpu.rt_runtime_us", "cpu.idle", "cpu.stat", "cpuacct.usage", "cpuacct.usage_percpu",
                       "cpuacct.stat"});
    ::symlink("cpu,cpuacct", (root_ + "/cpu").c_str());
    ::symlink("cpu,cpuacct", (root_ + "/cpuacct").c_str());
    v1("cpuset", {"cpuset.cpus", "cpuset.mems"});
    put(root_ + "/cpuset/cpuset.cpus", "0-3\n");
    put(root_ + "/cpuset/cpuset.mems", "0\n");
    put(root_ + "/cpuset/berth/cpuset.cpus", "");
    put(root_ + "/cpuset/berth/cpuset.mems", "");
    v1("memory", {"memory.limit_in_bytes", "memory.soft_limit_in_bytes", "memory.memsw.limit_in_bytes",
                  "memory.kmem.tcp.limit_in_bytes", "memory.swappiness", "memory.oom_control", "memory.stat",
                  "memory.usage_in_bytes", "memory.max_usage_in_bytes", "memory.failcnt"});
    v1("devices", {"devices.allow", "devices.deny"});
    v1("freezer", {"freezer.state"});
    v1("blkio", {"blkio.weight", "blkio.weight_device", "blkio.throttle.read_bps_device",
                 "blkio.throttle.write_bps_device", "blkio.throttle.read_iops_device",
                 "blkio.throttle.write_iops_device", "blkio.throttle.io_service_bytes_recursive"});
    v1("pids", {"pids.max", "pids.current"});
    v1("net_cls,net_prio", {"net_cls.classid", "net_prio.ifpriomap"});
    v1("systemd", {});
    if (mode == CgroupMode::V1) {
      v1("hugetlb", {"hugetlb.2MB.limit_in_bytes", "hugetlb.2MB.usage_in_bytes"});
    } else {
      put(root_ + "/unified/cgroup.controllers", "hugetlb");
      put(root_ + "/unified/cgroup.subtree_control", "");
      for (const char* f : {"cgroup.procs", "hugetlb.2MB.max", "hugetlb.2MB.current", "hugetlb.2MB.events"})
        put(root_ + "/unified/berth/c1/" + f, "");
    }
  }
  ~FakeTree() {
    std::string cmd = "rm -rf '" + root_ + "'";
    [[maybe_unused]] int rc = ::system(cmd.c_str());
  }

  CgroupOptions options(const std::string& path = "/berth/c1") const {
    CgroupOptions o;
    o.root = root_;
    o.path = path;
    o.id = "c1";
    o.skip_device_program = true;
    o.proc_self_cgroup = proc_;
    return o;
  }
  // The container's directory holding a controller's files.
  std::string dir(const std::string& controller) const {
    if (mode_ == CgroupMode::V2) return root_ + "/berth/c1";
    if (mode_ == CgroupMode::Hybrid && controller == "hugetlb") return root_ + "/unified/berth/c1";
    static const std::map<std::string, std::string> mounts = {
        {"cpu", "cpu,cpuacct"}, {"cpuacct", "cpu,cpuacct"}, {"net_cls", "net_cls,net_prio"},
        {"net_prio", "net_cls,net_prio"}};
    auto it = mounts.find(controller);
    return root_ + "/" + (it == mounts.end() ? controller : it->second) + "/berth/c1";
  }
  std::string read(const std::string& controller, const std::string& file) const {
    auto r = read_file(dir(controller) + "/" + file);
    if (!r) return "<missing>";
    std::string s = *r;
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }
  void set(const std::string& controller, const std::string& file, const std::string& v) const {
    put(dir(controller) + "/" + file, v);
  }
  static void put(const std::string& path, const std::string& v) {
    mkdirs(path.substr(0, path.rfind('/')));
    ASSERT_TRUE(write_file(path, v).ok()) << path;
  }
  static void mkdirs(const std::string& d) { ASSERT_TRUE(mkdir_all(d).ok()) << d; }
  const std::string& root() const { return root_; }

 private:
  void v1(const std::string& mount, std::initializer_list<const char*> files) {
    mkdirs(root_ + "/" + mount + "/berth/c1");
    put(root_ + "/" + mount + "/berth/c1/cgroup.procs", "");
    for (const char* f : files) put(root_ + "/" + mount + "/berth/c1/" + f, "");
  }
  CgroupMode mode_;
  std::string root_, proc_;
};

oci::Resources full_resources() {
  oci::Resources r;
  oci::MemoryResources m;
  m.limit = 100 << 20;
  m.reservation = 50 << 20;
  m.swap = 200 << 20;
  r.memory = m;
  oci::CpuResources c;
  c.shares = 1024;
  c.quota = 50000;
  c.period = 100000;
  c.cpus = "0-1";
  c.mems = "0";
  r.cpu = c;
  r.pids = oci::PidsResources{100};
  r.hugepage_limits.push_back({"2MB", 4 << 20});
  return r;
}

class CgroupContract : public ::testing::TestWithParam<CgroupMode> {
 protected:
  FakeTree tree_{GetParam()};
  std::unique_ptr<Cgroup> open(const std::string& path = "/berth/c1") {
    auto cg = Cgroup::open(tree_.options(path));
    EXPECT_TRUE(cg.ok()) << cg.error().message();
    return cg.ok() ? std::move(cg.value()) : nullptr;
  }
};

TEST_P(CgroupContract, DetectsLayout) {
  EXPECT_EQ(detect_cgroup_mode(tree_.root()), GetParam());
  auto cg = open();
  EXPECT_EQ(cg->mode(), GetParam());
  EXPECT_EQ(cg->path(), "/berth/c1");
}

TEST_P(CgroupContract, AppliesLimits) {
  auto cg = open();
  ASSERT_TRUE(cg->create().ok());
  auto r = cg->apply(full_resources());
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(tree_.read("pids", "pids.max"), "100");
  EXPECT_EQ(tree_.read("cpuset", "cpuset.cpus"), "0-1");
  EXPECT_EQ(tree_.read("cpuset", "cpuset.mems"), "0");
  if (GetParam() == CgroupMode::V2) {
    EXPECT_EQ(tree_.read("memory", "memory.max"), "104857600");
    EXPECT_EQ(tree_.read("memory", "memory.low"), "52428800");
    EXPECT_EQ(tree_.read("memory", "memory.swap.max"), "104857600");  // 200M - 100M
    EXPECT_EQ(tree_.read("cpu", "cpu.weight"), "39");                  // 1 + (1022 * 9999) / 262142
    EXPECT_EQ(tree_.read("cpu", "cpu.max"), "50000 100000");
    EXPECT_EQ(tree_.read("hugetlb", "hugetlb.2MB.max"), "4194304");
  } else {
    EXPECT_EQ(tree_.read("memory", "memory.limit_in_bytes"), "104857600");
    EXPECT_EQ(tree_.read("memory", "memory.soft_limit_in_bytes"), "52428800");
    EXPECT_EQ(tree_.read("memory", "memory.memsw.limit_in_bytes"), "209715200");
    EXPECT_EQ(tree_.read("cpu", "cpu.shares"), "1024");
    EXPECT_EQ(tree_.read("cpu", "cpu.cfs_quota_us"), "50000");
    EXPECT_EQ(tree_.read("cpu", "cpu.cfs_period_us"), "100000");
    EXPECT_EQ(tree_.read("hugetlb", GetParam() == CgroupMode::V1 ? "hugetlb.2MB.limit_in_bytes" : "hugetlb.2MB.max"),
              "4194304");
    // The deny-all default, then every allow rule written in order through
    // one descriptor (a plain file keeps them all; the kernel takes one rule
    // per write): the implicit rules, /dev/net/tun last.
    EXPECT_EQ(tree_.read("devices", "devices.deny"), "a");
    EXPECT_EQ(tree_.read("devices", "devices.allow"),
              "c *:* mb *:* mc 1:3 rwmc 1:5 rwmc 1:7 rwmc 1:8 rwmc 1:9 rwmc 5:0 rwmc 5:1 rwmc 5:2 rwm"
              "c 136:* rwmc 10:200 rwm");
  }
}

TEST_P(CgroupContract, UpdateWritesOnlyWhatIsPresent) {
  auto cg = open();
  ASSERT_TRUE(cg->create().ok());
  ASSERT_TRUE(cg->apply(full_resources()).ok());
  std::string mem_file = GetParam() == CgroupMode::V2 ? "memory.max" : "memory.limit_in_bytes";
  tree_.set("memory", mem_file, "sentinel");
  tree_.set("cpu", GetParam() == CgroupMode::V2 ? "cpu.weight" : "cpu.shares", "sentinel");
  if (GetParam() != CgroupMode::V2) tree_.set("devices", "devices.allow", "sentinel");
  oci::Resources upd;
  upd.pids = oci::PidsResources{0};  // 0: unlimited
  ASSERT_TRUE(cg->apply(upd, true).ok());
  EXPECT_EQ(tree_.read("pids", "pids.max"), "max");
  EXPECT_EQ(tree_.read("memory", mem_file), "sentinel");
  EXPECT_EQ(tree_.read("cpu", GetParam() == CgroupMode::V2 ? "cpu.weight" : "cpu.shares"), "sentinel");
  if (GetParam() != CgroupMode::V2) {
    EXPECT_EQ(tree_.read("devices", "devices.allow"), "sentinel");
  }
}

TEST_P(CgroupContract, ErrorNamesFileAndValue) {
  auto cg = open();
  ASSERT_TRUE(cg->create().ok());
  ASSERT_EQ(::unlink((tree_.dir("pids") + "/pids.max").c_str()), 0);
  oci::Resources r;
  r.pids = oci::PidsResources{123};
  auto res = cg->apply(r, true);
  ASSERT_FALSE(res.ok());
  EXPECT_NE(res.error().message().find("write 123 to " + tree_.dir("pids") + "/pids.max"), std::string::npos)
      << res.error().message();
  EXPECT_NE(res.error().message().find("ENOENT"), std::string::npos);
}

TEST_P(CgroupContract, AddProcessAndPids) {
  auto cg = open();
  ASSERT_TRUE(cg->create().ok());
  ASSERT_TRUE(cg->add_process(4242).ok());
  EXPECT_EQ(tree_.read("memory", "cgroup.procs"), "4242");
  EXPECT_EQ(tree_.read("pids", "cgroup.procs"), "4242");
  if (GetParam() == CgroupMode::Hybrid) {
    auto u = read_file(tree_.root() + "/unified/berth/c1/cgroup.procs");
    EXPECT_EQ(u.value_or(""), "4242");
  }
  // pids() reads the tracking hierarchy recursively (nested cgroups too).
  std::string track = GetParam() == CgroupMode::Hybrid ? tree_.root() + "/unified/berth/c1" : tree_.dir("memory");
  FakeTree::put(track + "/cgroup.procs", "7\n3\n");
  FakeTree::put(track + "/inner/cgroup.procs", "11\n");
  auto pids = cg->pids();
  ASSERT_TRUE(pids.ok()) << pids.error().message();
  EXPECT_EQ(*pids, (std::vector<pid_t>{3, 7, 11}));
}

TEST_P(CgroupContract, FreezeThaw) {
  auto cg = open();
  ASSERT_TRUE(cg->create().ok());
  // A fake kernel that has frozen at once.
  if (GetParam() == CgroupMode::V2) tree_.set("", "cgroup.events", "populated 1\nfrozen 1\n");
  ASSERT_TRUE(cg->freeze().ok());
  EXPECT_TRUE(cg->frozen().value_or(false));
  EXPECT_EQ(tree_.read("freezer", GetParam() == CgroupMode::V2 ? "cgroup.freeze" : "freezer.state"),
            GetParam() == CgroupMode::V2 ? "1" : "FROZEN");
  ASSERT_TRUE(cg->thaw().ok());
  EXPECT_FALSE(cg->frozen().value_or(true));
}

TEST_P(CgroupContract, OomKillsAndStats) {
  auto cg = open();
  ASSERT_TRUE(cg->create().ok());
  if (GetParam() == CgroupMode::V2) {
    tree_.set("", "memory.events", "low 0\nhigh 0\nmax 4\noom 3\noom_kill 3\n");
    tree_.set("", "memory.current", "1000\n");
    tree_.set("", "memory.max", "max\n");
    tree_.set("", "cpu.stat", "usage_usec 5\nuser_usec 3\nsystem_usec 2\nnr_periods 9\nnr_throttled 4\nthrottled_usec 7\n");
    tree_.set("", "memory.stat", "anon 10\nfile 20\n");
    tree_.set("", "io.stat", "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n");
  } else {
    tree_.set("memory", "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
    tree_.set("memory", "memory.usage_in_bytes", "1000\n");
    tree_.set("memory", "memory.failcnt", "4\n");
    tree_.set("memory", "memory.stat", "cache 20\nrss 10\n");
    tree_.set("cpu", "cpuacct.usage", "5000\n");
    tree_.set("cpu", "cpuacct.usage_percpu", "2000 3000 \n");
    tree_.set("cpu", "cpu.stat", "nr_periods 9\nnr_throttled 4\nthrottled_time 7000\n");
    tree_.set("blkio", "blkio.throttle.io_service_bytes_recursive", "8:0 Read 100\n8:0 Write 200\nTotal 300\n");
  }
  tree_.set("pids", "pids.current", "2\n");
  tree_.set("pids", "pids.max", "max\n");
  tree_.set("hugetlb", GetParam() == CgroupMode::V1 ? "hugetlb.2MB.usage_in_bytes" : "hugetlb.2MB.current", "4096\n");
  EXPECT_EQ(cg->oom_kills().value_or(0), 3u);
  auto s = cg->stats();
  ASSERT_TRUE(s.ok());
  const Json& j = *s;
  EXPECT_EQ(j["memory"]["usage"]["usage"], 1000);
  EXPECT_EQ(j["memory"]["usage"]["failcnt"], 4);
  EXPECT_EQ(j["memory"]["cache"], 20);
  EXPECT_EQ(j["cpu"]["throttling"]["periods"], 9);
  EXPECT_EQ(j["cpu"]["throttling"]["throttledPeriods"], 4);
  EXPECT_EQ(j["cpu"]["throttling"]["throttledTime"], 7000);
  EXPECT_EQ(j["cpu"]["usage"]["total"], 5000);
  EXPECT_EQ(j["pids"]["current"], 2);
  EXPECT_EQ(j["pids"]["limit"], 0);
  EXPECT_EQ(j["hugetlb"]["2MB"]["usage"], 4096);
  ASSERT_EQ(j["blkio"]["ioServiceBytesRecursive"].size(), 2u) << j.dump();
  EXPECT_EQ(j["blkio"]["ioServiceBytesRecursive"][1]["op"], "Write");
  EXPECT_EQ(j["blkio"]["ioServiceBytesRecursive"][1]["value"], 200);
  EXPECT_TRUE(j["memory"].contains("kernelTCP"));
  EXPECT_TRUE(j["memory"]["raw"].is_object());
}

TEST_P(CgroupContract, JsonRoundTrip) {
  auto cg = open();
  auto again = Cgroup::from_json(cg->to_json());
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ((*again)->mode(), GetParam());
  EXPECT_EQ((*again)->path(), cg->path());
  EXPECT_EQ((*again)->to_json(), cg->to_json());
  oci::Resources r;
  r.pids = oci::PidsResources{7};
  ASSERT_TRUE((*again)->apply(r, true).ok());
  EXPECT_EQ(tree_.read("pids", "pids.max"), "7");
  EXPECT_FALSE(Cgroup::from_json(Json{{"mode", "v9"}}).ok());
}

TEST_P(CgroupContract, PathHandling) {
  EXPECT_FALSE(Cgroup::open(tree_.options("/berth/../etc")).ok());
  EXPECT_FALSE(Cgroup::open(tree_.options("a/../../b")).ok());
  // Empty: /berth/<id>.
  EXPECT_EQ(open("")->path(), "/berth/c1");
  // Relative: under the runtime's own cgroup (memory:/own, 0::/own2).
  EXPECT_EQ(open("sub/c2")->path(), GetParam() == CgroupMode::V1 ? "/own/sub/c2" : "/own2/sub/c2");
  Json j = open("sub/c2")->to_json();
  if (GetParam() != CgroupMode::V2) {
    for (const auto& h : j["hierarchies"]) {
      std::string dir = h["dir"];
      bool memory = h["mount"].get<std::string>().ends_with("/memory");
      EXPECT_TRUE(dir.ends_with(memory ? "/own/sub/c2" : "/sub/c2")) << dir;
      EXPECT_FALSE(!memory && dir.find("/own/") != std::string::npos) << dir;
    }
  }
}

TEST_P(CgroupContract, DestroyRemovesNestedDirs) {
  // A container that was never given control files: plain directories
  // that rmdir can remove, as on a real cgroupfs once the tasks are gone.
  auto cg = open("/berth/gone");
  ASSERT_TRUE(cg->create().ok());
  std::string d = GetParam() == CgroupMode::V2 ? tree_.root() + "/berth/gone" : tree_.root() + "/memory/berth/gone";
  ASSERT_TRUE(fs_::file_exists(d));
  FakeTree::mkdirs(d + "/child/grandchild");
  auto r = cg->destroy();
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_FALSE(fs_::file_exists(d));
  if (GetParam() == CgroupMode::Hybrid) {
    EXPECT_FALSE(fs_::file_exists(tree_.root() + "/unified/berth/gone"));
  }
  // Again: nothing left is fine.
  EXPECT_TRUE(cg->destroy().ok());
}

INSTANTIATE_TEST_SUITE_P(Layouts, CgroupContract,
                         ::testing::Values(CgroupMode::V1, CgroupMode::V2, CgroupMode::Hybrid),
                         [](const auto& info) {
                           switch (info.param) {
                             case CgroupMode::V1: return std::string("V1");
                             case CgroupMode::V2: return std::string("V2");
                             default: return std::string("Hybrid");
                           }
                         });

// ---- v1 ----------------------------------------------------------------------

TEST(CgroupV1Fake, DiscoversCoMountedHierarchiesOnce) {
  FakeTree t(CgroupMode::V1);
  auto cg = Cgroup::open(t.options());
  ASSERT_TRUE(cg.ok());
  Json j = (*cg)->to_json();
  int cpu = 0;
  for (const auto& h : j["hierarchies"])
    for (const auto& c : h["controllers"]) cpu += c == "cpu";
  EXPECT_EQ(cpu, 1);
}

TEST(CgroupV1Fake, CpusetCopiedDownAndOtherKnobs) {
  FakeTree t(CgroupMode::V1);
  auto cg = std::move(Cgroup::open(t.options()).value());
  ASSERT_TRUE(cg->create().ok());
  auto parent = read_file(t.root() + "/cpuset/berth/cpuset.cpus");
  EXPECT_EQ(parent.value_or(""), "0-3");
  EXPECT_EQ(t.read("cpuset", "cpuset.mems"), "0");

  oci::Resources r;
  oci::MemoryResources m;
  m.swappiness = 10;
  m.disable_oom_killer = true;
  m.kernel_tcp = 1 << 20;
  r.memory = m;
  oci::BlockIoResources b;
  b.weight = 500;
  b.throttle_read_bps_device.push_back({8, 0, 1048576});
  r.block_io = b;
  r.network = oci::NetworkResources{0x100001, {{"eth0", 5}}};
  ASSERT_TRUE(cg->apply(r, true).ok());
  EXPECT_EQ(t.read("memory", "memory.swappiness"), "10");
  EXPECT_EQ(t.read("memory", "memory.oom_control"), "1");
  EXPECT_EQ(t.read("memory", "memory.kmem.tcp.limit_in_bytes"), "1048576");
  EXPECT_EQ(t.read("blkio", "blkio.weight"), "500");
  EXPECT_EQ(t.read("blkio", "blkio.throttle.read_bps_device"), "8:0 1048576");
  EXPECT_EQ(t.read("net_cls", "net_cls.classid"), "1048577");
  EXPECT_EQ(t.read("net_prio", "net_prio.ifpriomap"), "eth0 5");

  oci::Resources bad;
  bad.memory = oci::MemoryResources{};
  bad.memory->swappiness = 101;
  EXPECT_FALSE(cg->apply(bad, true).ok());
  oci::Resources unified;
  unified.unified["memory.high"] = "1";
  auto e = cg->apply(unified, true);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message().find("unified"), std::string::npos);
}

TEST(CgroupV1Fake, MissingControllerIsNamed) {
  FakeTree t(CgroupMode::V1);
  ASSERT_EQ(::system(("rm -rf '" + t.root() + "/hugetlb'").c_str()), 0);
  auto cg = std::move(Cgroup::open(t.options()).value());
  oci::Resources r;
  r.hugepage_limits.push_back({"1GB", 1});
  auto e = cg->apply(r, true);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message().find("hugetlb.1GB.limit_in_bytes"), std::string::npos) << e.error().message();
}

// ---- v2 ----------------------------------------------------------------------

TEST(CgroupV2Fake, EnablesControllersInAncestors) {
  FakeTree t(CgroupMode::V2);
  auto cg = std::move(Cgroup::open(t.options()).value());
  ASSERT_TRUE(cg->create().ok());
  EXPECT_EQ(read_file(t.root() + "/cgroup.subtree_control").value_or(""), "+cpu +cpuset +io +memory +pids +hugetlb");
  EXPECT_EQ(read_file(t.root() + "/berth/cgroup.subtree_control").value_or(""),
            "+cpu +cpuset +io +memory +pids +hugetlb");
}

TEST(CgroupV2Fake, ConversionsAndUnified) {
  FakeTree t(CgroupMode::V2);
  auto cg = std::move(Cgroup::open(t.options()).value());
  oci::Resources r;
  oci::MemoryResources m;
  m.limit = -1;
  m.swap = -1;
  r.memory = m;
  oci::CpuResources c;
  c.shares = 2;
  c.quota = -1;
  c.period = 250000;
  c.idle = 1;
  r.cpu = c;
  oci::BlockIoResources b;
  b.weight = 1000;
  b.throttle_write_iops_device.push_back({8, 16, 300});
  r.block_io = b;
  r.unified["memory.high"] = "5000000";
  t.set("", "memory.high", "");
  ASSERT_TRUE(cg->apply(r, true).ok());
  EXPECT_EQ(t.read("", "memory.max"), "max");
  EXPECT_EQ(t.read("", "memory.swap.max"), "max");
  EXPECT_EQ(t.read("", "cpu.weight"), "1");
  EXPECT_EQ(t.read("", "cpu.max"), "max 250000");
  EXPECT_EQ(t.read("", "cpu.idle"), "1");
  EXPECT_EQ(t.read("", "io.weight"), "default 10000");
  EXPECT_EQ(t.read("", "io.max"), "8:16 wiops=300");
  EXPECT_EQ(t.read("", "memory.high"), "5000000");
  r = {};
  r.unified["memory.nonexistent"] = "1";
  EXPECT_FALSE(cg->apply(r, true).ok());
  r = {};
  r.unified["../escape"] = "1";
  EXPECT_FALSE(cg->apply(r, true).ok());
  r = {};
  r.cpu = oci::CpuResources{};
  r.cpu->realtime_runtime = 1000;
  EXPECT_FALSE(cg->apply(r, true).ok());
}

TEST(CgroupV2Fake, MissingIoFileIsAnError) {
  FakeTree t(CgroupMode::V2);
  ASSERT_EQ(::unlink((t.dir("") + "/io.max").c_str()), 0);
  auto cg = std::move(Cgroup::open(t.options()).value());
  oci::Resources r;
  r.block_io = oci::BlockIoResources{};
  r.block_io->throttle_read_bps_device.push_back({8, 0, 42});
  auto e = cg->apply(r, true);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message().find("write 8:0 rbps=42 to " + t.dir("") + "/io.max"), std::string::npos)
      << e.error().message();
}

TEST(CgroupV2Fake, SwapConversion) {
  using cg::swap_to_v2;
  EXPECT_EQ(swap_to_v2(300, 100).value(), std::optional<int64_t>(200));
  EXPECT_EQ(swap_to_v2(100, 100).value(), std::optional<int64_t>(0));
  EXPECT_EQ(swap_to_v2(-1, 100).value(), std::optional<int64_t>(-1));
  EXPECT_EQ(swap_to_v2(std::nullopt, -1).value(), std::optional<int64_t>(-1));
  EXPECT_EQ(swap_to_v2(std::nullopt, 100).value(), std::nullopt);
  EXPECT_EQ(swap_to_v2(0, 100).value(), std::nullopt);
  EXPECT_FALSE(swap_to_v2(50, 100).ok());
  EXPECT_FALSE(swap_to_v2(50, std::nullopt).ok());
}

TEST(CgroupV2Fake, SharesToWeight) {
  EXPECT_EQ(cg::shares_to_weight(2), 1u);
  EXPECT_EQ(cg::shares_to_weight(1024), 39u);
  EXPECT_EQ(cg::shares_to_weight(262144), 10000u);
  EXPECT_EQ(cg::shares_to_weight(512), 1u + (510u * 9999u) / 262142u);
}

// ---- hybrid --------------------------------------------------------------------

TEST(CgroupHybridFake, UnifiedMapGoesToUnifiedHierarchy) {
  FakeTree t(CgroupMode::Hybrid);
  FakeTree::put(t.root() + "/unified/berth/c1/hugetlb.2MB.rsvd.max", "");
  auto cg = std::move(Cgroup::open(t.options()).value());
  ASSERT_TRUE(cg->create().ok());
  EXPECT_EQ(read_file(t.root() + "/unified/cgroup.subtree_control").value_or(""), "+hugetlb");
  oci::Resources r;
  r.unified["hugetlb.2MB.rsvd.max"] = "2097152";
  ASSERT_TRUE(cg->apply(r, true).ok());
  EXPECT_EQ(read_file(t.root() + "/unified/berth/c1/hugetlb.2MB.rsvd.max").value_or(""), "2097152");
}

// ---- helpers ---------------------------------------------------------------------

TEST(CgroupHelpers, ParseProcCgroup) {
  auto m = cg::parse_proc_cgroup("12:cpu,cpuacct:/a\n1:name=systemd:/s\n0::/u:x\n");
  EXPECT_EQ(m["cpu"], "/a");
  EXPECT_EQ(m["cpuacct"], "/a");
  EXPECT_EQ(m["systemd"], "/s");
  EXPECT_EQ(m[""], "/u:x");
}

TEST(CgroupHelpers, ResolvePath) {
  EXPECT_EQ(cg::resolve_cgroup_path("/a//b/", "x", "/own").value(), "/a/b");
  EXPECT_EQ(cg::resolve_cgroup_path("a/b", "x", "/own").value(), "/own/a/b");
  EXPECT_EQ(cg::resolve_cgroup_path("a", "x", "/").value(), "/a");
  EXPECT_EQ(cg::resolve_cgroup_path("", "x", "/own").value(), "/berth/x");
  EXPECT_FALSE(cg::resolve_cgroup_path("/", "x", "/").ok());
  EXPECT_FALSE(cg::resolve_cgroup_path("/a/..", "x", "/").ok());
  EXPECT_FALSE(cg::resolve_cgroup_path("", "", "/").ok());
}

}  // namespace
}  // namespace berth::runtime
