// Good configs: runc's default, Docker's generated config, a config that uses
// every field, and the standalone process/resources parsers.
#include "oci/spec.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/resource.h>

#include "base/file.h"
#include "oci/known.h"

namespace berth::oci {
namespace {

Spec must_parse(const Json& doc) {
  auto s = spec_from_json(doc);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message());
  return s.ok() ? std::move(s).value() : Spec{};
}

TEST(DefaultSpec, RoundTripsThroughParseSpec) {
  for (bool rootless : {false, true}) {
    SCOPED_TRACE(rootless ? "rootless" : "root");
    Json doc = default_spec(rootless);
    auto s = parse_spec(doc.dump(2));
    ASSERT_TRUE(s.ok()) << s.error().message();
    EXPECT_EQ(s->oci_version, kOciVersionMax);
    EXPECT_EQ(s->raw, doc);
    ASSERT_TRUE(s->process);
    EXPECT_TRUE(s->process->terminal);
    EXPECT_EQ(s->process->args, std::vector<std::string>{"sh"});
    EXPECT_EQ(s->process->cwd, "/");
    EXPECT_TRUE(s->process->no_new_privileges);
    ASSERT_TRUE(s->process->capabilities);
    std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
    EXPECT_EQ(s->process->capabilities->bounding, caps);
    EXPECT_EQ(s->process->capabilities->effective, caps);
    EXPECT_EQ(s->process->capabilities->permitted, caps);
    EXPECT_TRUE(s->process->capabilities->inheritable.empty());
    EXPECT_TRUE(s->process->capabilities->ambient.empty());
    ASSERT_EQ(s->process->rlimits.size(), 1u);
    EXPECT_EQ(s->process->rlimits[0].type, "RLIMIT_NOFILE");
    EXPECT_EQ(s->process->rlimits[0].soft, 1024u);
    ASSERT_TRUE(s->root);
    EXPECT_EQ(s->root->path, "rootfs");
    EXPECT_TRUE(s->root->readonly);
    std::vector<std::string> dests;
    for (const auto& m : s->mounts) dests.push_back(m.destination);
    EXPECT_EQ(dests, (std::vector<std::string>{"/proc", "/dev", "/dev/pts", "/dev/shm",
                                               "/dev/mqueue", "/sys", "/sys/fs/cgroup"}));
    ASSERT_TRUE(s->linux_);
    EXPECT_FALSE(s->linux_->masked_paths.empty());
    EXPECT_EQ(s->linux_->readonly_paths.size(), 5u);
    std::vector<std::string> ns;
    for (const auto& n : s->linux_->namespaces) ns.push_back(n.type);
    EXPECT_TRUE(contains(ns, "pid") && contains(ns, "ipc") && contains(ns, "uts") &&
                contains(ns, "mount"));
    if (rootless) {
      EXPECT_TRUE(contains(ns, "user"));
      EXPECT_FALSE(contains(ns, "network"));
      ASSERT_EQ(s->linux_->uid_mappings.size(), 1u);
      EXPECT_EQ(s->linux_->uid_mappings[0].host_id, geteuid());
      EXPECT_EQ(s->mounts[5].type, "none");  // /sys bind-mounted
      EXPECT_FALSE(s->linux_->resources);
      EXPECT_FALSE(contains(s->mounts[2].options, "gid=5"));
    } else {
      EXPECT_TRUE(contains(ns, "network"));
      EXPECT_FALSE(contains(ns, "user"));
      EXPECT_EQ(s->mounts[5].type, "sysfs");
      ASSERT_TRUE(s->linux_->resources);
      ASSERT_EQ(s->linux_->resources->devices.size(), 1u);
      EXPECT_FALSE(s->linux_->resources->devices[0].allow);
      EXPECT_EQ(s->linux_->resources->devices[0].type, "a");
      EXPECT_EQ(s->linux_->resources->devices[0].access, "rwm");
    }
  }
}

TEST(ParseSpec, DockerGeneratedConfig) {
  auto text = read_file(BERTH_SOURCE_DIR "/tests/fixtures/oci/docker-default-config.json");
  ASSERT_TRUE(text.ok()) << text.error().message();
  auto s = parse_spec(*text);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->oci_version, "1.0.2-dev");
  ASSERT_TRUE(s->process);
  EXPECT_EQ(s->process->args, (std::vector<std::string>{"sleep", "60"}));
  EXPECT_EQ(s->process->user.additional_gids, std::vector<uint32_t>{0});
  EXPECT_EQ(s->process->oom_score_adj, 0);
  EXPECT_EQ(s->process->capabilities->bounding.size(), 14u);
  EXPECT_EQ(s->hostname, "b81d678ca629");
  EXPECT_EQ(s->mounts.size(), 10u);
  EXPECT_EQ(s->mounts[7].destination, "/etc/resolv.conf");
  EXPECT_EQ(s->mounts[7].options, (std::vector<std::string>{"rbind", "rprivate"}));
  ASSERT_TRUE(s->hooks);
  ASSERT_EQ(s->hooks->prestart.size(), 1u);
  EXPECT_EQ(s->hooks->prestart[0].path, "/proc/14547/exe");
  const Linux& l = *s->linux_;
  EXPECT_EQ(l.sysctl.at("net.ipv4.ping_group_range"), "0 2147483647");
  ASSERT_TRUE(l.resources);
  EXPECT_EQ(l.resources->devices.size(), 8u);
  EXPECT_EQ(l.resources->devices[1].major, 1);
  EXPECT_EQ(l.resources->devices[1].minor, 5);
  EXPECT_FALSE(l.resources->devices[0].major);
  EXPECT_EQ(l.resources->memory->disable_oom_killer, false);
  EXPECT_EQ(l.resources->cpu->shares, 0u);
  EXPECT_EQ(l.resources->block_io->weight, 0);
  EXPECT_EQ(l.namespaces.size(), 5u);
  ASSERT_TRUE(l.seccomp);
  EXPECT_EQ(l.seccomp->default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(l.seccomp->architectures.size(), 3u);
  bool saw_masked_eq = false, saw_errno = false;
  for (const auto& sc : l.seccomp->syscalls) {
    for (const auto& a : sc.args) saw_masked_eq |= a.op == "SCMP_CMP_MASKED_EQ";
    if (sc.names == std::vector<std::string>{"clone3"}) {
      saw_errno = true;
      EXPECT_EQ(sc.errno_ret, 38u);
    }
  }
  EXPECT_TRUE(saw_masked_eq);
  EXPECT_TRUE(saw_errno);
  EXPECT_EQ(l.masked_paths.size(), 10u);
  EXPECT_EQ(l.readonly_paths.size(), 5u);
}

// A 1.2 config that sets every Linux field the spec defines.
const char* kEverything = R"({
  "ociVersion": "1.2.0",
  "process": {
    "terminal": true, "consoleSize": {"height": 25, "width": 80},
    "user": {"uid": 1000, "gid": 1000, "umask": 18, "additionalGids": [5, 6]},
    "args": ["/bin/sh", "-c", "true"], "env": ["A=1", "EMPTY="], "cwd": "/tmp",
    "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"],
                     "inheritable": ["CAP_KILL"], "permitted": ["CAP_KILL"],
                     "ambient": ["CAP_KILL"]},
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 2048, "soft": 1024},
                {"type": "RLIMIT_CORE", "hard": 18446744073709551615, "soft": 0}],
    "noNewPrivileges": true, "apparmorProfile": "p", "oomScoreAdj": -500,
    "selinuxLabel": "l",
    "scheduler": {"policy": "SCHED_BATCH", "nice": 5, "flags": ["SCHED_FLAG_RESET_ON_FORK"]},
    "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4},
    "execCPUAffinity": {"initial": "0", "final": "0-1"}
  },
  "root": {"path": "/b/rootfs", "readonly": false},
  "hostname": "h", "domainname": "d.example",
  "mounts": [
    {"destination": "/data", "type": "bind", "source": "/srv", "options": ["rbind", "idmap"],
     "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
     "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]},
    {"destination": "/t", "type": "tmpfs"}
  ],
  "hooks": {
    "prestart": [{"path": "/bin/a"}],
    "createRuntime": [{"path": "/bin/b", "args": ["b", "1"], "env": ["X=1"], "timeout": 5}],
    "createContainer": [{"path": "/bin/c"}], "startContainer": [{"path": "/bin/d"}],
    "poststart": [{"path": "/bin/e"}], "poststop": [{"path": "/bin/f"}, {"path": "/bin/g"}]
  },
  "annotations": {"org.example.key": "value"},
  "linux": {
    "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
    "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
    "sysctl": {"net.ipv4.ip_forward": "1", "kernel.shmmax": "1000", "fs.mqueue.msg_max": "10"},
    "resources": {
      "devices": [{"allow": false}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}],
      "memory": {"limit": 1048576, "reservation": 524288, "swap": 2097152, "kernel": -1,
                 "kernelTCP": 1, "swappiness": 60, "disableOOMKiller": true,
                 "useHierarchy": true, "checkBeforeUpdate": true},
      "cpu": {"shares": 512, "quota": 50000, "burst": 1000, "period": 100000,
              "realtimeRuntime": 0, "realtimePeriod": 0, "cpus": "0-1", "mems": "0", "idle": 1},
      "pids": {"limit": 100},
      "blockIO": {"weight": 500, "leafWeight": 300,
                  "weightDevice": [{"major": 8, "minor": 0, "weight": 600, "leafWeight": 200}],
                  "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1000}],
                  "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 2000}],
                  "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 3}],
                  "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 4}]},
      "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}],
      "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}]},
      "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}},
      "unified": {"memory.high": "max"}
    },
    "cgroupsPath": "/berth/x",
    "namespaces": [{"type": "pid"}, {"type": "network", "path": "/proc/1/ns/net"},
                   {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}, {"type": "user"},
                   {"type": "cgroup"}, {"type": "time"}],
    "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                 "fileMode": 438, "uid": 0, "gid": 0},
                {"path": "/dev/fifo", "type": "p"}],
    "seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
                "architectures": ["SCMP_ARCH_X86_64"], "flags": ["SECCOMP_FILTER_FLAG_LOG"],
                "listenerPath": "/run/seccomp.sock", "listenerMetadata": "m",
                "syscalls": [
                  {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                  {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"},
                  {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
                   "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_NE"}]}]},
    "rootfsPropagation": "rslave",
    "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"],
    "mountLabel": "system_u:object_r:container_file_t:s0",
    "timeOffsets": {"monotonic": {"secs": 100, "nanosecs": 5}, "boottime": {"secs": -1}},
    "personality": {"domain": "LINUX32", "flags": []},
    "intelRdt": {"closID": "c", "l3CacheSchema": "L3:0=ff", "enableCMT": true},
    "netDevices": {"eth1": {"name": "ceth1"}, "eth2": {}}
  }
})";

TEST(ParseSpec, EveryLinuxField) {
  auto r = parse_spec(kEverything);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const Spec& s = *r;
  const Process& p = *s.process;
  EXPECT_EQ(p.console_size->width, 80u);
  EXPECT_EQ(p.user.uid, 1000u);
  EXPECT_EQ(p.user.umask, 18u);
  EXPECT_EQ(p.user.additional_gids, (std::vector<uint32_t>{5, 6}));
  EXPECT_EQ(p.capabilities->ambient, std::vector<std::string>{"CAP_KILL"});
  EXPECT_EQ(p.rlimits[1].hard, UINT64_MAX);
  EXPECT_EQ(p.oom_score_adj, -500);
  EXPECT_EQ(p.scheduler->policy, "SCHED_BATCH");
  EXPECT_EQ(p.scheduler->nice, 5);
  EXPECT_EQ(p.io_priority->io_class, "IOPRIO_CLASS_BE");
  EXPECT_EQ(p.io_priority->priority, 4);
  EXPECT_EQ(p.exec_cpu_affinity->final_, "0-1");
  EXPECT_EQ(s.domainname, "d.example");
  EXPECT_EQ(s.mounts[0].uid_mappings[0].host_id, 100000u);
  EXPECT_EQ(s.mounts[0].gid_mappings[0].size, 65536u);
  EXPECT_EQ(s.hooks->create_runtime[0].timeout, 5);
  EXPECT_EQ(s.hooks->poststop.size(), 2u);
  EXPECT_FALSE(s.hooks->prestart[0].timeout);
  EXPECT_EQ(s.annotations.at("org.example.key"), "value");

  const Linux& l = *s.linux_;
  EXPECT_EQ(l.sysctl.size(), 3u);
  const Resources& res = *l.resources;
  EXPECT_EQ(res.devices[0].type, "a");
  EXPECT_EQ(res.devices[0].access, "rwm");
  EXPECT_EQ(res.devices[1].access, "rw");
  EXPECT_EQ(res.memory->limit, 1048576);
  EXPECT_EQ(res.memory->kernel, -1);
  EXPECT_EQ(res.memory->swappiness, 60u);
  EXPECT_EQ(res.memory->check_before_update, true);
  EXPECT_EQ(res.cpu->quota, 50000);
  EXPECT_EQ(res.cpu->burst, 1000);
  EXPECT_EQ(res.cpu->cpus, "0-1");
  EXPECT_EQ(res.cpu->idle, 1);
  EXPECT_EQ(res.pids->limit, 100);
  EXPECT_EQ(res.block_io->weight, 500);
  EXPECT_EQ(res.block_io->weight_device[0].leaf_weight, 200);
  EXPECT_EQ(res.block_io->throttle_write_iops_device[0].rate, 4u);
  EXPECT_EQ(res.hugepage_limits[0].page_size, "2MB");
  EXPECT_EQ(res.network->class_id, 1048577u);
  EXPECT_EQ(res.network->priorities[0].name, "eth0");
  EXPECT_EQ(res.rdma.at("mlx5_1").hca_objects, 10000u);
  EXPECT_EQ(res.unified.at("memory.high"), "max");
  EXPECT_EQ(l.cgroups_path, "/berth/x");
  EXPECT_EQ(l.namespaces.size(), 8u);
  EXPECT_EQ(l.namespaces[1].path, "/proc/1/ns/net");
  EXPECT_EQ(l.devices[0].file_mode, 0666u);
  EXPECT_EQ(l.devices[1].type, "p");
  EXPECT_EQ(l.seccomp->default_errno_ret, 1u);
  EXPECT_EQ(l.seccomp->flags, std::vector<std::string>{"SECCOMP_FILTER_FLAG_LOG"});
  EXPECT_EQ(l.seccomp->listener_path, "/run/seccomp.sock");
  EXPECT_EQ(l.seccomp->syscalls[2].errno_ret, 22u);
  EXPECT_EQ(l.seccomp->syscalls[2].args[0].op, "SCMP_CMP_NE");
  EXPECT_EQ(l.seccomp->syscalls[2].args[0].value, 8u);
  EXPECT_EQ(l.rootfs_propagation, "rslave");
  EXPECT_EQ(l.mount_label, "system_u:object_r:container_file_t:s0");
  EXPECT_EQ(l.time_offsets.at("monotonic").secs, 100);
  EXPECT_EQ(l.time_offsets.at("monotonic").nanosecs, 5u);
  EXPECT_EQ(l.time_offsets.at("boottime").secs, -1);
  EXPECT_EQ(l.personality_domain, "LINUX32");
  EXPECT_EQ(l.intel_rdt->l3_cache_schema, "L3:0=ff");
  EXPECT_TRUE(l.intel_rdt->enable_cmt);
  EXPECT_EQ(l.net_devices.at("eth1"), "ceth1");
  EXPECT_EQ(l.net_devices.at("eth2"), "");
}

TEST(ParseSpec, MinimalAndOlderVersions) {
  for (const char* v : {"1.0.0", "1.0.2-dev", "1.1.0", "1.2.0", "1.0.0-rc5+build.1", "1.3.0"}) {
    SCOPED_TRACE(v);
    Json doc = {{"ociVersion", v}, {"root", {{"path", "rootfs"}}}};
    Spec s = must_parse(doc);
    EXPECT_EQ(s.oci_version, v);
    EXPECT_FALSE(s.process);
    EXPECT_FALSE(s.linux_);
  }
}

TEST(ParseSpec, NullMeansAbsent) {
  Json doc = {{"ociVersion", "1.0.0"}, {"root", {{"path", "r"}}}, {"hooks", nullptr},
              {"mounts", nullptr}, {"linux", {{"seccomp", nullptr}, {"namespaces", nullptr}}}};
  Spec s = must_parse(doc);
  EXPECT_FALSE(s.hooks);
  EXPECT_TRUE(s.mounts.empty());
  EXPECT_FALSE(s.linux_->seccomp);
}

TEST(ParseSpec, UnknownFieldsAreIgnored) {
  // runtime-spec: runtimes ignore properties they do not know.
  Json doc = {{"ociVersion", "1.0.0"}, {"root", {{"path", "r"}}}, {"windows", {{"x", 1}}},
              {"futureField", true}, {"linux", {{"futureLinux", "x"}}}};
  Spec s = must_parse(doc);
  EXPECT_EQ(s.raw.at("futureField"), true);
}

TEST(ParseSpec, UnknownButWellFormedCapabilityPasses) {
  Json doc = Json::parse(R"({"ociVersion": "1.0.0", "root": {"path": "r"},
    "process": {"args": ["x"], "cwd": "/", "capabilities": {"bounding": ["CAP_FROM_THE_FUTURE"]}}})");
  Spec s = must_parse(doc);
  EXPECT_EQ(s.process->capabilities->bounding[0], "CAP_FROM_THE_FUTURE");
}

TEST(ParseSpec, UserNamespaceJoinedByPathNeedsNoMappings) {
  Json doc = Json::parse(R"({"ociVersion": "1.0.0", "root": {"path": "r"},
    "linux": {"namespaces": [{"type": "user", "path": "/proc/1/ns/user"}]}})");
  must_parse(doc);
}

TEST(LoadSpec, ReadsBundleConfigAndNamesTheFile) {
  char tmpl[] = "/tmp/berth-oci-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  ASSERT_TRUE(write_file(dir + "/config.json", default_spec(false).dump()).ok());
  auto s = load_spec(dir);
  EXPECT_TRUE(s.ok()) << s.error().message();
  ASSERT_TRUE(write_file(dir + "/config.json", R"({"ociVersion": "1.0.0"})").ok());
  auto bad = load_spec(dir);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), dir + "/config.json: root: required field is missing");
  ASSERT_TRUE(write_file(dir + "/config.json", "{not json").ok());
  bad = load_spec(dir);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find(dir + "/config.json: invalid JSON"), std::string::npos)
      << bad.error().message();
  unlink((dir + "/config.json").c_str());
  bad = load_spec(dir);
  EXPECT_FALSE(bad.ok());
  rmdir(dir.c_str());
}

TEST(ParseProcess, StandaloneProcessFile) {
  Json doc = Json::parse(R"({"args": ["ps"], "cwd": "/", "env": ["PATH=/bin"], "terminal": false,
                             "user": {"uid": 1, "gid": 2}})");
  auto p = parse_process(JsonReader(doc, ""));
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->user.gid, 2u);
  Json bad = Json::parse(R"({"args": [], "cwd": "/"})");
  auto e = parse_process(JsonReader(bad, ""));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message(), "args: must not be empty");
}

TEST(ParseResources, StandaloneUpdateFile) {
  Json doc = Json::parse(R"({"memory": {"limit": 1000000, "swap": -1}, "cpu": {"cpus": "0"},
                             "pids": {"limit": -1}})");
  auto r = parse_resources(JsonReader(doc, ""));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->memory->swap, -1);
  EXPECT_EQ(r->pids->limit, -1);
  Json bad = Json::parse(R"({"memory": {"limit": "1g"}})");
  auto e = parse_resources(JsonReader(bad, ""));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message(), "memory.limit: expected integer, got string");
}

TEST(Features, ListsWhatTheParserKnows) {
  Json f = features();
  EXPECT_EQ(f["ociVersionMin"], "1.0.0");
  EXPECT_EQ(f["ociVersionMax"], kOciVersionMax);
  EXPECT_EQ(f["hooks"].size(), 6u);
  EXPECT_TRUE(contains(f["mountOptions"].get<std::vector<std::string>>(), "rro"));
  EXPECT_EQ(f["linux"]["namespaces"].size(), 8u);
  EXPECT_EQ(f["linux"]["capabilities"][21], "CAP_SYS_ADMIN");
  EXPECT_EQ(f["linux"]["capabilities"].size(), 41u);
  EXPECT_EQ(f["linux"]["cgroup"]["v1"], true);
  EXPECT_EQ(f["linux"]["cgroup"]["systemd"], false);
  EXPECT_EQ(f["linux"]["seccomp"]["enabled"], true);
  EXPECT_TRUE(contains(f["linux"]["seccomp"]["actions"].get<std::vector<std::string>>(),
                       "SCMP_ACT_KILL_PROCESS"));
  EXPECT_TRUE(contains(f["linux"]["seccomp"]["archs"].get<std::vector<std::string>>(),
                       "SCMP_ARCH_X86_64"));
  EXPECT_EQ(f["linux"]["apparmor"]["enabled"], false);
  EXPECT_TRUE(f["linux"]["mountExtensions"]["idmap"].contains("enabled"));
}

TEST(Known, Lookups) {
  EXPECT_EQ(namespace_flag("pid"), CLONE_NEWPID);
  EXPECT_EQ(namespace_flag("network"), CLONE_NEWNET);
  EXPECT_EQ(namespace_flag("mount"), CLONE_NEWNS);
  EXPECT_EQ(namespace_flag("user"), CLONE_NEWUSER);
  EXPECT_EQ(namespace_flag("cgroup"), CLONE_NEWCGROUP);
  EXPECT_EQ(namespace_flag("time"), 0x80);
  EXPECT_EQ(namespace_flag("net"), 0);
  EXPECT_EQ(capability_number("CAP_CHOWN"), 0);
  EXPECT_EQ(capability_number("CAP_SYS_RESOURCE"), 24);
  EXPECT_EQ(capability_number("CAP_CHECKPOINT_RESTORE"), 40);
  EXPECT_EQ(capability_number("CAP_NOPE"), -1);
  EXPECT_TRUE(is_capability_name("CAP_NEW_THING"));
  EXPECT_FALSE(is_capability_name("cap_kill"));
  EXPECT_FALSE(is_capability_name("CAP_"));
  EXPECT_FALSE(is_capability_name("KILL"));
  EXPECT_EQ(rlimit_resource("RLIMIT_NOFILE"), RLIMIT_NOFILE);
  EXPECT_EQ(rlimit_resource("RLIMIT_RTTIME"), RLIMIT_RTTIME);
  EXPECT_EQ(rlimit_resource("NOFILE"), -1);
  EXPECT_EQ(known_rlimits().size(), 16u);
}

}  // namespace
}  // namespace berth::oci

namespace berth::oci {
namespace {

TEST(ParseSpec, RelativeMountDestinationIsUnderRoot) {
  Json doc = Json::parse(R"({"ociVersion": "1.1.0", "root": {"path": "r"},
    "mounts": [{"destination": "data", "type": "tmpfs"}],
    "process": {"args": ["x"], "cwd": "/", "env": ["NOVALUE"]}})");
  auto s = spec_from_json(doc);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->mounts[0].destination, "/data");
  EXPECT_EQ(s->process->env[0], "NOVALUE");
}

}  // namespace
}  // namespace berth::oci
