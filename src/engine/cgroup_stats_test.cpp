#include "engine/cgroup_stats.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <limits>

#include "base/file.h"

namespace berth::engine {
namespace {

namespace fs = std::filesystem;

// A fake cgroupfs in a temporary directory.
class FakeCgroupfs : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("cgstats-" + std::to_string(getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  void put(const std::string& rel, const std::string& text) {
    fs::path p = root_ / rel;
    fs::create_directories(p.parent_path());
    ASSERT_TRUE(write_file(p.string(), text));
  }
  std::string root() const { return root_.string(); }
  fs::path root_;
};

long hz() { return sysconf(_SC_CLK_TCK); }

TEST_F(FakeCgroupfs, V1) {
  const std::string c = "/berth/abc";
  put("memory" + c + "/memory.usage_in_bytes", "1048576\n");
  put("memory" + c + "/memory.max_usage_in_bytes", "2097152\n");
  put("memory" + c + "/memory.failcnt", "3\n");
  put("memory" + c + "/memory.limit_in_bytes", "9223372036854771712\n");
  put("memory" + c + "/memory.stat", "cache 4096\nrss 8192\ntotal_inactive_file 4096\n");
  put("cpuacct" + c + "/cpuacct.usage", "5000000000\n");
  put("cpuacct" + c + "/cpuacct.stat", "user 300\nsystem 200\n");
  put("cpuacct" + c + "/cpuacct.usage_percpu", "3000000000 2000000000 \n");
  put("cpuacct" + c + "/cgroup.procs", "10\n11\n");
  put("cpu" + c + "/cpu.stat", "nr_periods 7\nnr_throttled 2\nthrottled_time 123\n");
  put("pids" + c + "/pids.current", "2\n");
  put("pids" + c + "/pids.max", "max\n");
  put("pids" + c + "/cgroup.procs", "10\n11\n");
  put("blkio" + c + "/blkio.throttle.io_service_bytes_recursive",
      "8:0 Read 4096\n8:0 Write 512\n8:0 Total 4608\nTotal 4608\n");
  put("blkio" + c + "/blkio.throttle.io_serviced_recursive", "8:0 Read 1\n8:0 Write 2\nTotal 3\n");

  CgroupReader r(root(), c);
  auto s = r.sample();
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_FALSE(s->v2);
  EXPECT_TRUE(s->has_cpu);
  EXPECT_EQ(s->cpu_total_ns, 5000000000u);
  EXPECT_EQ(s->cpu_user_ns, 300u * (1000000000u / hz()));
  EXPECT_EQ(s->cpu_kernel_ns, 200u * (1000000000u / hz()));
  EXPECT_EQ(s->cpu_percpu_ns, (std::vector<uint64_t>{3000000000u, 2000000000u}));
  EXPECT_EQ(s->throttle_periods, 7u);
  EXPECT_EQ(s->throttled_periods, 2u);
  EXPECT_EQ(s->throttled_time_ns, 123u);
  EXPECT_EQ(s->mem_usage, 1048576u);
  EXPECT_EQ(s->mem_max_usage, 2097152u);
  EXPECT_EQ(s->mem_failcnt, 3u);
  EXPECT_EQ(s->mem_limit, 9223372036854771712u);
  EXPECT_EQ(s->mem_stat.at("total_inactive_file"), 4096u);
  EXPECT_EQ(s->pids_current, 2u);
  EXPECT_EQ(s->pids_limit, 0u);
  ASSERT_EQ(s->io_service_bytes.size(), 3u);  // Read, Write, Total of 8:0
  EXPECT_EQ(s->io_service_bytes[0].major, 8u);
  EXPECT_EQ(s->io_service_bytes[0].op, "Read");
  EXPECT_EQ(s->io_service_bytes[0].value, 4096u);
  EXPECT_EQ(s->io_serviced.size(), 2u);

  auto pids = r.pids();
  ASSERT_TRUE(pids);
  EXPECT_EQ(*pids, (std::vector<int64_t>{10, 11}));
}

TEST_F(FakeCgroupfs, V1CoMountedCpuAndHybridFallback) {
  const std::string c = "/berth/abc";
  put("cpu,cpuacct" + c + "/cpuacct.usage", "42\n");
  put("cpu,cpuacct" + c + "/cpu.stat", "nr_periods 1\nnr_throttled 0\nthrottled_time 0\n");
  // No v1 memory hierarchy: the unified one holds memory (hybrid).
  put("unified/cgroup.controllers", "memory pids\n");
  put("unified" + c + "/memory.current", "777\n");
  put("unified" + c + "/memory.max", "max\n");
  put("unified" + c + "/memory.stat", "anon 700\ninactive_file 7\n");
  put("unified" + c + "/pids.current", "1\n");
  put("unified" + c + "/pids.max", "100\n");
  put("unified" + c + "/cgroup.procs", "99\n");
  CgroupReader r(root(), c);
  auto s = r.sample();
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->cpu_total_ns, 42u);
  EXPECT_TRUE(s->has_memory);
  EXPECT_EQ(s->mem_usage, 777u);
  EXPECT_EQ(s->mem_limit, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(s->mem_stat.at("inactive_file"), 7u);
  EXPECT_EQ(s->pids_limit, 100u);
  EXPECT_EQ(*r.pids(), (std::vector<int64_t>{99}));
}

TEST_F(FakeCgroupfs, V2) {
  const std::string c = "/berth/xyz";
  put("cgroup.controllers", "cpu io memory pids\n");
  put("berth/xyz/cpu.stat",
      "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 9\n");
  put("berth/xyz/memory.current", "4096\n");
  put("berth/xyz/memory.max", "67108864\n");
  put("berth/xyz/memory.stat", "anon 1024\nfile 2048\ninactive_file 512\n");
  put("berth/xyz/pids.current", "3\n");
  put("berth/xyz/pids.max", "max\n");
  put("berth/xyz/io.stat", "8:16 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n");
  put("berth/xyz/cgroup.procs", "5\n6\n7\n");
  CgroupReader r(root(), "berth/xyz/");  // relative and trailing slash: same cgroup
  auto s = r.sample();
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_TRUE(s->v2);
  EXPECT_EQ(s->cpu_total_ns, 1500000u);
  EXPECT_EQ(s->cpu_user_ns, 1000000u);
  EXPECT_EQ(s->cpu_kernel_ns, 500000u);
  EXPECT_TRUE(s->cpu_percpu_ns.empty());
  EXPECT_EQ(s->throttled_time_ns, 9000u);
  EXPECT_EQ(s->mem_usage, 4096u);
  EXPECT_EQ(s->mem_limit, 67108864u);
  EXPECT_EQ(s->mem_stat.at("file"), 2048u);
  EXPECT_EQ(s->pids_current, 3u);
  EXPECT_EQ(s->pids_limit, 0u);
  ASSERT_EQ(s->io_service_bytes.size(), 2u);
  EXPECT_EQ(s->io_service_bytes[0].minor, 16u);
  EXPECT_EQ(s->io_service_bytes[0].op, "read");
  EXPECT_EQ(s->io_service_bytes[1].value, 200u);
  EXPECT_EQ(s->io_serviced[1].value, 2u);
  EXPECT_EQ(*r.pids(), (std::vector<int64_t>{5, 6, 7}));
}

TEST_F(FakeCgroupfs, MissingCgroupIsNotFound) {
  put("cgroup.controllers", "memory\n");
  CgroupReader r(root(), "/berth/gone");
  auto s = r.sample();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::NotFound);
  EXPECT_FALSE(r.pids());
  CgroupReader v1(root() + "/nothing", "/berth/gone");
  EXPECT_FALSE(v1.sample());
}

TEST_F(FakeCgroupfs, ProcStatAndMeminfo) {
  put("stat", "cpu  100 5 50 1000 10 1 2 7 0 0\ncpu0 1 1 1 1 1 1 1 1 0 0\n");
  auto ns = system_cpu_usage_ns(root() + "/stat");
  ASSERT_TRUE(ns);
  EXPECT_EQ(*ns, 1168u * (1000000000u / hz()));  // steal (7) is left out, as Docker does
  put("meminfo", "MemTotal:       16384 kB\nMemFree: 1 kB\n");
  EXPECT_EQ(host_memory_bytes(root() + "/meminfo"), 16384u * 1024);
  EXPECT_EQ(host_memory_bytes(root() + "/nope"), 0u);
  EXPECT_FALSE(system_cpu_usage_ns(root() + "/nope"));
}

}  // namespace
}  // namespace berth::engine
