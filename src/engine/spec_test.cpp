// build_oci_spec: Docker's default container (checked against the config
// Docker 20.10 generated) and each flag.
#include "engine/spec.h"

#include <gtest/gtest.h>

#include <set>

#include "base/file.h"
#include "engine/spec_test_util.h"
#include "oci/spec.h"

namespace berth::engine {
namespace {

using testing::TempRootfs;

const std::string kId = "b81d678ca629f3e3b11ad097a099dbe3b971b929379a82084fc2632dd8188dcb";

Json fixture(const char* rel) {
  auto text = read_file(std::string(BERTH_SOURCE_DIR "/tests/fixtures/") + rel);
  EXPECT_TRUE(text.ok()) << rel;
  return Json::parse(*text);
}

class SpecTest : public ::testing::Test {
 protected:
  SpecTest() {
    root_.write("/etc/passwd", testing::kBusyboxPasswd);
    root_.write("/etc/group", testing::kBusyboxGroup);
    ctx_.id = kId;
    ctx_.rootfs = root_.path();
    ctx_.hostname_path = "/data/containers/" + kId + "/hostname";
    ctx_.hosts_path = "/data/containers/" + kId + "/hosts";
    ctx_.resolv_conf_path = "/data/containers/" + kId + "/resolv.conf";
    ctx_.cgroup_parent = "ctprobe-anchors";
    ctx_.cgroup_v2 = false;  // the reference host: no cgroup namespace
    ctx_.arch = "amd64";
    image_.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
    image_.cmd = {"sh"};
    body_ = fixture("engine/create-busybox-true.json");
  }

  Result<Json> build() {
    auto cfg = parse_create_request(body_.dump());
    if (!cfg.ok()) return cfg.error();
    return build_oci_spec(*cfg, image_, ctx_);
  }
  Json spec() {
    auto s = build();
    EXPECT_TRUE(s.ok()) << s.error().message();
    if (!s.ok()) return Json::object();
    // Whatever we build, our own OCI parser must accept.
    auto parsed = oci::spec_from_json(*s);
    EXPECT_TRUE(parsed.ok()) << parsed.error().message();
    return *s;
  }
  std::string error() {
    auto s = build();
    EXPECT_FALSE(s.ok());
    return s.ok() ? "" : s.error().message();
  }
  Json& host() { return body_["HostConfig"]; }

  TempRootfs root_;
  SpecContext ctx_;
  ImageConfigSummary image_;
  Json body_;
};

const Json* find_mount(const Json& spec, std::string_view dest) {
  for (const Json& m : spec["mounts"])
    if (m["destination"] == dest) return &m;
  return nullptr;
}

std::set<std::string> as_set(const Json& a) {
  std::set<std::string> s;
  for (const Json& x : a) s.insert(x.is_string() ? x.get<std::string>() : x.dump());
  return s;
}

TEST_F(SpecTest, DefaultMatchesDocker) {
  Json want = fixture("oci/docker-default-config.json");
  root_.write("/etc/group", "root:x:0:\n");  // the reference image: root in no other group
  Json got = spec();
  for (const char* set : {"bounding", "effective", "permitted", "inheritable", "ambient"}) {
    EXPECT_EQ(got["process"]["capabilities"].value(set, Json()), want["process"]["capabilities"].value(set, Json()))
        << set;
  }
  EXPECT_EQ(got["process"].contains("noNewPrivileges"), want["process"].contains("noNewPrivileges"));
  EXPECT_EQ(got["process"]["user"], want["process"]["user"]);
  EXPECT_EQ(got["process"]["oomScoreAdj"], 0);
  EXPECT_EQ(got["hostname"], want["hostname"]);
  EXPECT_EQ(got["process"]["env"], want["process"]["env"]);
  EXPECT_EQ(got["process"]["args"], Json({"true"}));
  EXPECT_EQ(got["process"]["cwd"], "/");
  EXPECT_FALSE(got["root"].value("readonly", false));

  // Every path Docker masks or makes read-only, we do too.
  auto masked = as_set(got["linux"]["maskedPaths"]);
  for (const auto& p : want["linux"]["maskedPaths"]) EXPECT_TRUE(masked.count(p)) << p;
  EXPECT_TRUE(masked.count("/proc/interrupts"));  // current moby's additions
  EXPECT_EQ(as_set(got["linux"]["readonlyPaths"]), as_set(want["linux"]["readonlyPaths"]));

  // Mounts: the same destinations, types and option sets.
  ASSERT_EQ(got["mounts"].size(), want["mounts"].size());
  for (const Json& w : want["mounts"]) {
    const Json* g = find_mount(got, w["destination"].get<std::string>());
    ASSERT_NE(g, nullptr) << w["destination"];
    EXPECT_EQ((*g)["type"], w["type"]) << w["destination"];
    EXPECT_EQ(as_set((*g)["options"]), as_set(w["options"])) << w["destination"];
    if (w["type"] != "bind") {
      EXPECT_EQ((*g)["source"], w["source"]) << w["destination"];
    }
  }
  EXPECT_EQ((*find_mount(got, "/etc/hosts"))["source"], ctx_.hosts_path);

  // Devices: none listed (the runtime creates the standard nodes), the same cgroup rules.
  EXPECT_EQ(got["linux"].contains("devices"), want["linux"].contains("devices"));
  EXPECT_EQ(got["linux"]["resources"]["devices"], want["linux"]["resources"]["devices"]);

  std::set<std::string> got_ns, want_ns;
  for (const Json& n : got["linux"]["namespaces"]) got_ns.insert(n["type"]);
  for (const Json& n : want["linux"]["namespaces"]) want_ns.insert(n["type"]);
  EXPECT_EQ(got_ns, want_ns);
  EXPECT_EQ(got["linux"]["sysctl"], want["linux"]["sysctl"]);
  EXPECT_EQ(got["linux"]["cgroupsPath"], want["linux"]["cgroupsPath"]);
  EXPECT_EQ(got["linux"]["seccomp"]["defaultAction"], want["linux"]["seccomp"]["defaultAction"]);
  EXPECT_EQ(got["linux"]["seccomp"]["architectures"], want["linux"]["seccomp"]["architectures"]);
  EXPECT_FALSE(got["process"].contains("rlimits"));  // Docker sets none: the daemon's are inherited
}

TEST_F(SpecTest, CgroupNamespaceOnCgroupV2) {
  ctx_.cgroup_v2 = true;
  Json s = spec();
  EXPECT_EQ(s["linux"]["namespaces"].back()["type"], "cgroup");
}

TEST_F(SpecTest, ArgsFollowDockerRules) {
  image_.entrypoint = {"/entry"};
  image_.cmd = {"img-cmd"};
  struct Case {
    Json entrypoint, cmd, want;
  };
  const Case cases[] = {
      {nullptr, nullptr, {"/entry", "img-cmd"}},
      {nullptr, {"a", "b"}, {"/entry", "a", "b"}},
      {{"/other"}, nullptr, {"/other"}},          // a new entrypoint drops the image's cmd
      {{"/other"}, {"x"}, {"/other", "x"}},
      {"/str", nullptr, {"/str"}},                // StrSlice: a plain string
      {{""}, {"ls"}, {"ls"}},                     // --entrypoint "" resets it
      {Json::array(), nullptr, {"img-cmd"}},
  };
  for (const auto& c : cases) {
    body_["Entrypoint"] = c.entrypoint;
    body_["Cmd"] = c.cmd;
    EXPECT_EQ(spec()["process"]["args"], c.want) << c.entrypoint << " " << c.cmd;
  }
  image_ = {};
  body_["Entrypoint"] = nullptr;
  body_["Cmd"] = nullptr;
  EXPECT_EQ(error(), "no command specified");
}

TEST_F(SpecTest, EnvHostnameWorkdirUser) {
  image_.env = {"PATH=/img/bin", "A=1", "B=2"};
  image_.working_dir = "/img";
  image_.user = "app";
  body_["Env"] = {"B=3", "C=4", "A"};
  body_["Hostname"] = "web";
  body_["Domainname"] = "example.org";
  body_["Tty"] = true;
  host()["ConsoleSize"] = {24, 80};
  Json s = spec();
  EXPECT_EQ(s["process"]["env"], Json({"PATH=/img/bin", "HOSTNAME=web", "TERM=xterm", "B=3", "C=4"}));
  EXPECT_EQ(s["hostname"], "web");
  EXPECT_EQ(s["domainname"], "example.org");
  EXPECT_EQ(s["process"]["cwd"], "/img");
  EXPECT_EQ(s["process"]["user"]["uid"], 1000);
  EXPECT_EQ(s["process"]["terminal"], true);
  EXPECT_EQ(s["process"]["consoleSize"], Json({{"height", 24}, {"width", 80}}));
  body_["WorkingDir"] = "/w";
  body_["User"] = "1:29";
  host()["GroupAdd"] = {"wheel"};
  s = spec();
  EXPECT_EQ(s["process"]["cwd"], "/w");
  EXPECT_EQ(s["process"]["user"], Json({{"uid", 1}, {"gid", 29}, {"additionalGids", {29, 10}}}));
  body_["WorkingDir"] = "rel";
  EXPECT_NE(error().find("needs to be an absolute path"), std::string::npos);
  body_["WorkingDir"] = "";
  body_["User"] = "ghost";
  EXPECT_EQ(error(), "unable to find user ghost: no matching entries in passwd file");
}

TEST_F(SpecTest, Capabilities) {
  host()["CapAdd"] = {"sys_admin", "CAP_NET_ADMIN"};
  host()["CapDrop"] = {"MKNOD", "cap_net_raw"};
  Json caps = spec()["process"]["capabilities"]["effective"];
  auto set = as_set(caps);
  EXPECT_TRUE(set.count("CAP_SYS_ADMIN") && set.count("CAP_NET_ADMIN"));
  EXPECT_FALSE(set.count("CAP_MKNOD") || set.count("CAP_NET_RAW"));
  EXPECT_EQ(set.size(), 14u);
  // An added CAP_SYS_ADMIN opens the seccomp groups it guards.
  bool mount_allowed = false;
  Json seccomp = spec()["linux"]["seccomp"];
  for (const Json& r : seccomp["syscalls"])
    for (const Json& n : r["names"]) mount_allowed |= n == "mount";
  EXPECT_TRUE(mount_allowed);

  host()["CapAdd"] = {"chown"};
  host()["CapDrop"] = {"all"};
  EXPECT_EQ(spec()["process"]["capabilities"]["bounding"], Json({"CAP_CHOWN"}));

  host()["CapAdd"] = {"ALL"};
  host()["CapDrop"] = {"kill"};
  ctx_.daemon_capabilities = {"CAP_KILL", "CAP_CHOWN", "CAP_SYS_ADMIN"};
  EXPECT_EQ(spec()["process"]["capabilities"]["bounding"], Json({"CAP_CHOWN", "CAP_SYS_ADMIN"}));

  host()["CapAdd"] = {"CAP_NOPE"};
  EXPECT_EQ(error(), "unknown capability: \"CAP_NOPE\"");
}

TEST_F(SpecTest, Privileged) {
  host()["Privileged"] = true;
  ctx_.daemon_capabilities = {"CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_NET_ADMIN"};
  Json s = spec();
  EXPECT_EQ(s["process"]["capabilities"]["permitted"], Json(ctx_.daemon_capabilities));
  EXPECT_FALSE(s["linux"].contains("seccomp"));
  EXPECT_FALSE(s["linux"].contains("maskedPaths"));
  EXPECT_FALSE(s["linux"].contains("readonlyPaths"));
  EXPECT_TRUE(as_set((*find_mount(s, "/sys"))["options"]).count("rw"));
  EXPECT_TRUE(as_set((*find_mount(s, "/sys/fs/cgroup"))["options"]).count("rw"));
  EXPECT_EQ(s["linux"]["resources"]["devices"], Json::array({{{"allow", true}, {"access", "rwm"}}}));
  bool has_null = false;
  for (const Json& d : s["linux"]["devices"]) {
    has_null |= d["path"] == "/dev/null";
    EXPECT_NE(d["path"], "/dev/console");
    EXPECT_EQ(d["path"].get<std::string>().rfind("/dev/pts/", 0), std::string::npos);
  }
  EXPECT_TRUE(has_null);
}

TEST_F(SpecTest, SecurityOpts) {
  host()["SecurityOpt"] = {"no-new-privileges"};
  EXPECT_EQ(spec()["process"]["noNewPrivileges"], true);
  host()["SecurityOpt"] = {"no-new-privileges:true"};
  EXPECT_EQ(spec()["process"]["noNewPrivileges"], true);
  host()["SecurityOpt"] = {"no-new-privileges=false", "apparmor=unconfined", "label=disable"};
  EXPECT_FALSE(spec()["process"].contains("noNewPrivileges"));
  host()["SecurityOpt"] = {"seccomp=builtin"};
  EXPECT_EQ(spec()["linux"]["seccomp"]["defaultErrnoRet"], 1);
  host()["SecurityOpt"] = {"seccomp=unconfined"};
  EXPECT_FALSE(spec()["linux"].contains("seccomp"));
  host()["SecurityOpt"] = {"systempaths=unconfined"};
  EXPECT_FALSE(spec()["linux"].contains("maskedPaths"));
  host()["SecurityOpt"] = {
      R"(seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]})"};
  Json sc = spec()["linux"]["seccomp"];
  EXPECT_EQ(sc["defaultAction"], "SCMP_ACT_ALLOW");
  EXPECT_EQ(sc["syscalls"][0]["names"], Json({"mkdir"}));
  host()["SecurityOpt"] = {R"(seccomp={"defaultAction":"SCMP_ACT_WHAT"})"};
  EXPECT_NE(error().find("--security-opt seccomp: defaultAction: unknown action"), std::string::npos);
  host()["SecurityOpt"] = {"bogus"};
  EXPECT_EQ(error(), "Invalid --security-opt: \"bogus\"");
}

TEST_F(SpecTest, Resources) {
  host()["Memory"] = 64 << 20;
  host()["NanoCpus"] = 1500000000;
  host()["CpuShares"] = 512;
  host()["CpusetCpus"] = "0-1,3";
  host()["CpusetMems"] = "0";
  host()["PidsLimit"] = 100;
  host()["OomScoreAdj"] = 500;
  Json s = spec();
  Json res = s["linux"]["resources"];
  EXPECT_EQ(res["memory"], Json({{"limit", 64 << 20}, {"swap", 128 << 20}}));
  EXPECT_EQ(res["cpu"]["quota"], 150000);
  EXPECT_EQ(res["cpu"]["period"], 100000);
  EXPECT_EQ(res["cpu"]["shares"], 512);
  EXPECT_EQ(res["cpu"]["cpus"], "0-1,3");
  EXPECT_EQ(res["cpu"]["mems"], "0");
  EXPECT_EQ(res["pids"]["limit"], 100);
  EXPECT_EQ(s["process"]["oomScoreAdj"], 500);

  host()["MemorySwap"] = -1;
  EXPECT_EQ(spec()["linux"]["resources"]["memory"]["swap"], -1);
  host()["MemorySwap"] = 100 << 20;
  EXPECT_EQ(spec()["linux"]["resources"]["memory"]["swap"], 100 << 20);
  host()["PidsLimit"] = -1;
  EXPECT_FALSE(spec()["linux"]["resources"].contains("pids"));
  host()["NanoCpus"] = 0;
  host()["CpuQuota"] = 50000;
  host()["CpuPeriod"] = 200000;
  EXPECT_EQ(spec()["linux"]["resources"]["cpu"]["quota"], 50000);
  EXPECT_EQ(spec()["linux"]["resources"]["cpu"]["period"], 200000);
}

TEST_F(SpecTest, ResourceErrors) {
  struct Case {
    const char* field;
    Json value;
    const char* want;
  };
  const Case cases[] = {
      {"Memory", 1 << 20, "Minimum memory limit allowed is 6MB"},
      {"MemorySwap", 1 << 30, "You should always set the Memory limit"},
      {"NanoCpus", 1000, "Range of CPUs"},
      {"CpuPeriod", 10, "CPU cfs period"},
      {"CpuQuota", 10, "CPU cfs quota"},
      {"CpusetCpus", "1-0", "Invalid value 1-0 for cpuset cpus"},
      {"CpusetMems", "x", "for cpuset mems"},
      {"OomScoreAdj", 1001, "range for oom score adj is [-1000, 1000]"},
      {"ShmSize", -1, "SHM size can not be less than 0"},
      {"Ulimits", Json::array({{{"Name", "nofile"}, {"Soft", 10}, {"Hard", 5}}}), "soft limit must be less"},
      {"Ulimits", Json::array({{{"Name", "bogus"}, {"Soft", 1}, {"Hard", 1}}}), "invalid ulimit type: bogus"},
      {"Sysctls", {{"kernel.panic", "1"}}, "not namespaced"},
      {"Sysctls", {{"net.ipv4.../../x", "1"}}, "not a valid name"},
      {"Devices", Json::array({{{"PathOnHost", "/dev/null"}, {"CgroupPermissions", "rwx"}}}), "invalid device permissions"},
      {"Devices", Json::array({{{"PathOnHost", "/nonexistent/dev"}}}), "adding custom device"},
      {"Devices", Json::array({{{"PathOnHost", "/etc/hostname"}}}), "is not a device node"},
      {"Binds", {"/a"}, "invalid volume specification"},
      {"Binds", {"/a:rel"}, "it must be absolute"},
      {"Binds", {"/a:/"}, "destination can't be '/'"},
      {"Binds", {"/a:/b:rx"}, "invalid mode \"rx\""},
      {"Binds", {"/a:/b", "/c:/b"}, "Duplicate mount point: /b"},
      {"Binds", {"bad$name:/b"}, "invalid characters for a local volume name"},
      {"Binds", {"named:/b"}, "named volumes are not available"},
      {"NetworkMode", "container:abc", "not supported yet"},
      {"NetworkMode", "mynet", "user-defined networks"},
      {"PidMode", "weird", "HostConfig.PidMode: invalid mode"},
      {"UsernsMode", "private", "UsernsMode"},
      {"Init", true, "--init"},
      {"SecurityOpt", {"seccomp"}, "Invalid --security-opt"},
      {"CgroupParent", "../escape", "must not contain .."},
      {"Mounts", Json::array({{{"Type", "npipe"}, {"Target", "/x"}}}), "mount type \"npipe\""},
      {"Mounts", Json::array({{{"Type", "bind"}, {"Source", "rel"}, {"Target", "/x"}}}), "must be an absolute path"},
  };
  for (const auto& c : cases) {
    Json saved = body_;
    host()[c.field] = c.value;
    std::string e = error();
    EXPECT_NE(e.find(c.want), std::string::npos) << c.field << "=" << c.value << ": " << e;
    body_ = saved;
  }
}

TEST_F(SpecTest, Mounts) {
  host()["Binds"] = {"/srv/data:/data:ro", "/srv/logs:/logs:rshared,z", "vol1:/vol"};
  host()["Tmpfs"] = {{"/run", "size=64m,exec"}, {"/etc/hosts", ""}};
  host()["ShmSize"] = 1 << 20;
  host()["ReadonlyRootfs"] = true;
  host()["Mounts"] = Json::array({{{"Type", "tmpfs"}, {"Target", "/scratch"},
                                   {"TmpfsOptions", {{"SizeBytes", 1 << 20}, {"Mode", 0700}}}},
                                  {{"Type", "bind"}, {"Source", "/srv/b"}, {"Target", "/b"}, {"ReadOnly", true}}});
  ctx_.volume_path = [](std::string_view name) -> Result<std::string> {
    return "/var/lib/berth/volumes/" + std::string(name) + "/_data";
  };
  Json s = spec();
  EXPECT_EQ(s["root"]["readonly"], true);
  EXPECT_EQ(*find_mount(s, "/data"), Json({{"destination", "/data"}, {"type", "bind"}, {"source", "/srv/data"},
                                           {"options", {"rbind", "rprivate", "ro"}}}));
  EXPECT_EQ((*find_mount(s, "/logs"))["options"], Json({"rbind", "rshared"}));
  EXPECT_EQ((*find_mount(s, "/vol"))["source"], "/var/lib/berth/volumes/vol1/_data");
  EXPECT_EQ((*find_mount(s, "/run"))["options"], Json({"nosuid", "nodev", "size=64m"}));
  EXPECT_EQ((*find_mount(s, "/etc/hosts"))["type"], "tmpfs");  // replaces the default bind
  EXPECT_EQ((*find_mount(s, "/etc/hostname"))["options"], Json({"rbind", "rprivate", "ro"}));
  EXPECT_EQ((*find_mount(s, "/dev/shm"))["options"].back(), "size=1048576");
  EXPECT_EQ((*find_mount(s, "/scratch"))["options"], Json({"noexec", "nosuid", "nodev", "size=1024k", "mode=700"}));
  EXPECT_EQ((*find_mount(s, "/b"))["options"], Json({"rbind", "rprivate", "ro"}));
  int hosts = 0;
  for (const Json& m : s["mounts"]) hosts += m["destination"] == "/etc/hosts";
  EXPECT_EQ(hosts, 1);
}

TEST_F(SpecTest, UserMountsParentsFirst) {
  host()["Binds"] = {"/h/c:/a/b/c", "/h/a:/a", "/h/b:/a/b"};
  Json s = spec();
  std::vector<std::string> order;
  for (const Json& m : s["mounts"])
    if (m["destination"].get<std::string>().rfind("/a", 0) == 0) order.push_back(m["destination"]);
  EXPECT_EQ(order, (std::vector<std::string>{"/a", "/a/b", "/a/b/c"}));
}

TEST_F(SpecTest, DevicesAndUlimitsAndSysctls) {
  host()["Devices"] = Json::array({{{"PathOnHost", "/dev/null"}, {"PathInContainer", "/dev/mynull"},
                                    {"CgroupPermissions", "r"}}});
  host()["Ulimits"] = Json::array({{{"Name", "nofile"}, {"Soft", 1024}, {"Hard", 2048}},
                                   {{"Name", "core"}, {"Soft", -1}, {"Hard", -1}}});
  host()["Sysctls"] = {{"net.core.somaxconn", "1024"}, {"kernel.shmmax", "1000000"}};
  Json s = spec();
  EXPECT_EQ(s["linux"]["devices"], Json::array({{{"path", "/dev/mynull"}, {"type", "c"}, {"major", 1}, {"minor", 3},
                                                 {"fileMode", 0666}, {"uid", 0}, {"gid", 0}}}));
  EXPECT_EQ(s["linux"]["resources"]["devices"].back(),
            Json({{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"access", "r"}}));
  EXPECT_EQ(s["process"]["rlimits"][0], Json({{"type", "RLIMIT_NOFILE"}, {"hard", 2048}, {"soft", 1024}}));
  EXPECT_EQ(s["process"]["rlimits"][1]["hard"], UINT64_MAX);
  EXPECT_EQ(s["linux"]["sysctl"]["net.core.somaxconn"], "1024");
  EXPECT_EQ(s["linux"]["sysctl"]["kernel.shmmax"], "1000000");
}

TEST_F(SpecTest, NamespaceModes) {
  auto types = [](const Json& s) {
    std::set<std::string> t;
    for (const Json& n : s["linux"]["namespaces"]) t.insert(n["type"]);
    return t;
  };
  host()["NetworkMode"] = "none";
  EXPECT_TRUE(types(spec()).count("network"));
  host()["NetworkMode"] = "host";
  ctx_.host_hostname = "buildhost";
  Json s = spec();
  EXPECT_FALSE(types(s).count("network"));
  EXPECT_FALSE(s["linux"].contains("sysctl"));  // the defaults would change the host
  EXPECT_EQ(s["hostname"], "buildhost");
  host()["Sysctls"] = {{"net.core.somaxconn", "1"}};
  EXPECT_NE(error().find("shares that namespace with the host"), std::string::npos);
  host()["Sysctls"] = Json::object();
  host()["PidMode"] = "host";
  host()["IpcMode"] = "host";
  host()["UTSMode"] = "host";
  s = spec();
  EXPECT_EQ(types(s), (std::set<std::string>{"mount"}));
  EXPECT_FALSE(s.contains("hostname"));
  EXPECT_EQ((*find_mount(s, "/dev/shm"))["type"], "bind");
  host()["IpcMode"] = "none";
  EXPECT_EQ(find_mount(spec(), "/dev/shm"), nullptr);
  body_["Hostname"] = "x";
  EXPECT_NE(error().find("Conflicting options"), std::string::npos);
}

TEST_F(SpecTest, ConfigErrors) {
  struct Case {
    const char* field;
    Json value;
    const char* want;
  };
  const Case cases[] = {
      {"Hostname", "bad/name", "invalid hostname format"},
      {"Hostname", std::string(65, 'a'), "invalid hostname format"},
      {"Hostname", "-x", "invalid hostname format"},
      {"Env", {std::string("A=1\0B", 5)}, "NUL byte"},
      {"Cmd", {std::string("ls\0rm", 5)}, "NUL byte"},
  };
  for (const auto& c : cases) {
    Json saved = body_;
    body_[c.field] = c.value;
    std::string e = error();
    EXPECT_NE(e.find(c.want), std::string::npos) << c.field << "=" << c.value << ": " << e;
    body_ = saved;
  }
}

TEST_F(SpecTest, BoundingCapabilities) {
  auto caps = bounding_capabilities();
  ASSERT_TRUE(caps.ok()) << caps.error().message();
  host()["Privileged"] = true;
  ctx_.daemon_capabilities = *caps;
  EXPECT_EQ(spec()["process"]["capabilities"]["bounding"], Json(*caps));
}

TEST_F(SpecTest, InitAndCgroupParent) {
  host()["Init"] = true;
  host()["CgroupParent"] = "/custom/parent";
  ctx_.init_path = "/usr/libexec/berth/tini";
  Json s = spec();
  EXPECT_EQ(s["process"]["args"], Json({"/sbin/docker-init", "--", "true"}));
  EXPECT_EQ((*find_mount(s, "/sbin/docker-init"))["source"], ctx_.init_path);
  EXPECT_EQ(s["linux"]["cgroupsPath"], "/custom/parent/" + kId);
  ctx_.id = "short";
  EXPECT_NE(error().find("64 hex digits"), std::string::npos);
}

}  // namespace
}  // namespace berth::engine
