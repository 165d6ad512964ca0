// Bad configs: each case breaks one field of an otherwise valid config and
// asserts the exact message, which must name the field and the reason.
#include <gtest/gtest.h>

#include "oci/spec.h"

namespace berth::oci {
namespace {

const char* kBase = R"({
  "ociVersion": "1.2.0",
  "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0},
              "capabilities": {"bounding": ["CAP_KILL"]},
              "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 10, "soft": 10}]},
  "root": {"path": "rootfs"},
  "hostname": "h",
  "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
             {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
             {"destination": "/sys", "type": "sysfs", "source": "sysfs"},
             {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}],
  "hooks": {"poststop": [{"path": "/bin/true"}]},
  "linux": {
    "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "network"}],
    "resources": {"devices": [{"allow": false, "access": "rwm"}], "memory": {"limit": 100},
                  "blockIO": {"throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1}]}},
    "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}],
    "seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                              "args": [{"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]}]}
  }
})";

struct BadCase {
  const char* pointer;  // JSON pointer of the field to change
  Json value;           // new value; "<delete>" removes the field
  const char* message;  // the whole expected error
};

std::string apply_and_parse(const BadCase& c) {
  Json doc = Json::parse(kBase);
  Json::json_pointer ptr(c.pointer);
  if (c.value.is_string() && c.value == "<delete>") {
    doc[ptr.parent_pointer()].erase(ptr.back());
  } else {
    doc[ptr] = c.value;
  }
  auto s = parse_spec(doc.dump());
  return s.ok() ? "<accepted>" : s.error().message();
}

TEST(ParseSpecErrors, BaseIsValid) {
  auto s = parse_spec(kBase);
  ASSERT_TRUE(s.ok()) << s.error().message();
}

class BadConfig : public testing::TestWithParam<BadCase> {};

TEST_P(BadConfig, NamesTheField) {
  const BadCase& c = GetParam();
  EXPECT_EQ(apply_and_parse(c), c.message) << "changed " << c.pointer;
}

const Json kDelete = "<delete>";

INSTANTIATE_TEST_SUITE_P(
    Table, BadConfig,
    testing::Values(
        // version
        BadCase{"/ociVersion", kDelete, "ociVersion: required field is missing"},
        BadCase{"/ociVersion", 1, "ociVersion: expected string, got unsigned integer"},
        BadCase{"/ociVersion", "2.0.0", "ociVersion: unsupported major version 2 in \"2.0.0\""},
        BadCase{"/ociVersion", "0.6.0", "ociVersion: unsupported major version 0 in \"0.6.0\""},
        BadCase{"/ociVersion", "1.0",
                "ociVersion: \"1.0\" is not a semantic version (MAJOR.MINOR.PATCH)"},
        BadCase{"/ociVersion", "one",
                "ociVersion: \"one\" is not a semantic version (MAJOR.MINOR.PATCH)"},
        // root
        BadCase{"/root", kDelete, "root: required field is missing"},
        BadCase{"/root/path", kDelete, "root.path: required field is missing"},
        BadCase{"/root/path", "", "root.path: must not be empty"},
        BadCase{"/root/readonly", "yes", "root.readonly: expected boolean, got string"},
        BadCase{"/root", "rootfs", "root: expected object, got string"},
        // process
        BadCase{"/process/args", Json::array(), "process.args: must not be empty"},
        BadCase{"/process/args", kDelete, "process.args: required field is missing"},
        BadCase{"/process/args", "sh", "process.args: expected array of strings, got string"},
        BadCase{"/process/args/0", 5, "process.args[0]: expected string, got unsigned integer"},
        BadCase{"/process/cwd", "tmp", "process.cwd: \"tmp\" is not an absolute path"},
        BadCase{"/process/cwd", kDelete, "process.cwd: required field is missing"},
        BadCase{"/process/env", {"A=1", "=1"}, "process.env[1]: \"=1\" has no variable name"},
        BadCase{"/process/env", {std::string("A=\0", 3)}, "process.env[0]: contains a NUL byte"},
        BadCase{"/process/terminal", 1, "process.terminal: expected boolean, got unsigned integer"},
        BadCase{"/process/user/uid", -1, "process.user.uid: expected unsigned integer, got integer"},
        BadCase{"/process/user/gid", 4294967296LL,
                "process.user.gid: value 4294967296 is out of range (at most 4294967295)"},
        BadCase{"/process/user/additionalGids", {1, "x"},
                "process.user.additionalGids[1]: expected unsigned integer, got string"},
        BadCase{"/process/user/umask", 4095,
                "process.user.umask: 07777 is not a file mode mask (at most 0777)"},
        BadCase{"/process/consoleSize", {{"height", 1}},
                "process.consoleSize.width: required field is missing"},
        BadCase{"/process/capabilities/bounding/0", "KILL",
                "process.capabilities.bounding[0]: \"KILL\" is not a capability name (CAP_...)"},
        BadCase{"/process/capabilities/ambient", {"cap_kill"},
                "process.capabilities.ambient[0]: \"cap_kill\" is not a capability name (CAP_...)"},
        BadCase{"/process/rlimits/0/type", "RLIMIT_BOGUS",
                "process.rlimits[0].type: unknown rlimit type \"RLIMIT_BOGUS\""},
        BadCase{"/process/rlimits/0/soft", 11,
                "process.rlimits[0].soft: soft limit 11 is above hard limit 10"},
        BadCase{"/process/rlimits/0/hard", kDelete,
                "process.rlimits[0].hard: required field is missing"},
        BadCase{"/process/rlimits/1", {{"type", "RLIMIT_NOFILE"}, {"hard", 1}, {"soft", 1}},
                "process.rlimits[1].type: duplicate rlimit type \"RLIMIT_NOFILE\""},
        BadCase{"/process/oomScoreAdj", 1001,
                "process.oomScoreAdj: value 1001 is out of range (-1000 to 1000)"},
        BadCase{"/process/noNewPrivileges", "true",
                "process.noNewPrivileges: expected boolean, got string"},
        BadCase{"/process/scheduler", {{"policy", "SCHED_FAST"}},
                "process.scheduler.policy: unknown scheduling policy \"SCHED_FAST\""},
        BadCase{"/process/ioPriority", {{"class", "IOPRIO_CLASS_BE"}, {"priority", 8}},
                "process.ioPriority.priority: value 8 is out of range (0 to 7)"},
        // mounts
        BadCase{"/mounts/3/destination", kDelete, "mounts[3].destination: required field is missing"},
        BadCase{"/mounts/1/destination", "", "mounts[1].destination: must not be empty"},
        BadCase{"/mounts/0/options", {"ro", 1}, "mounts[0].options[1]: expected string, got unsigned integer"},
        BadCase{"/mounts/2", "sysfs", "mounts[2]: expected object, got string"},
        BadCase{"/mounts/0/uidMappings", {{{"containerID", 0}, {"hostID", 1}, {"size", 1}}},
                "mounts[0]: uidMappings and gidMappings must be given together"},
        BadCase{"/mounts/0/gidMappings", {{{"containerID", 0}, {"hostID", 1}}},
                "mounts[0].gidMappings[0].size: required field is missing"},
        // hooks
        BadCase{"/hooks/poststop/0/path", "true", "hooks.poststop[0].path: \"true\" is not an absolute path"},
        BadCase{"/hooks/prestart", {{{"args", {"x"}}}}, "hooks.prestart[0].path: required field is missing"},
        BadCase{"/hooks/createRuntime", {{{"path", "/x"}, {"timeout", 0}}},
                "hooks.createRuntime[0].timeout: must be greater than zero"},
        BadCase{"/hooks/startContainer", {{{"path", "/x"}, {"timeout", "5"}}},
                "hooks.startContainer[0].timeout: expected integer, got string"},
        // annotations, hostname
        BadCase{"/annotations", {{"a", 1}}, "annotations.a: expected string, got unsigned integer"},
        BadCase{"/annotations", {{"", "v"}}, "annotations: empty key"},
        BadCase{"/linux/namespaces/2", {{"type", "ipc"}},
                "hostname: setting a hostname needs a uts namespace in linux.namespaces"},
        // namespaces and mappings
        BadCase{"/linux/namespaces/0/type", "net", "linux.namespaces[0].type: unknown namespace type \"net\""},
        BadCase{"/linux/namespaces/1", {{"type", "pid"}}, "linux.namespaces[1].type: duplicate namespace type \"pid\""},
        BadCase{"/linux/namespaces/1/path", "proc/1/ns/mnt",
                "linux.namespaces[1].path: \"proc/1/ns/mnt\" is not an absolute path"},
        BadCase{"/linux/uidMappings", {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}},
                "linux.uidMappings: id mappings need a user namespace in linux.namespaces"},
        BadCase{"/linux/namespaces/4", {{"type", "user"}},
                "linux.uidMappings: a new user namespace needs uid mappings"},
        BadCase{"/linux/uidMappings/0", {{"containerID", 0}, {"hostID", 1000}, {"size", 0}},
                "linux.uidMappings[0].size: must be greater than zero"},
        BadCase{"/linux/timeOffsets", {{"monotonic", {{"secs", 1}}}},
                "linux.timeOffsets: needs a time namespace in linux.namespaces"},
        BadCase{"/linux/timeOffsets", {{"realtime", {{"secs", 1}}}},
                "linux.timeOffsets.realtime: unknown clock (monotonic or boottime)"},
        // sysctl
        BadCase{"/linux/sysctl", {{"", "1"}}, "linux.sysctl: empty sysctl name"},
        BadCase{"/linux/sysctl", {{"net.ipv4.ip_forward", 1}},
                "linux.sysctl.net.ipv4.ip_forward: expected string, got unsigned integer"},
        BadCase{"/linux/sysctl", {{"kernel.msgmax", "1"}},
                "linux.sysctl.kernel.msgmax: needs a ipc namespace in linux.namespaces"},
        BadCase{"/linux/sysctl", {{"vm.swappiness", "1"}},
                "linux.sysctl.vm.swappiness: not a namespaced sysctl; setting it would change the host"},
        // resources
        BadCase{"/linux/resources/memory/limit", "1g",
                "linux.resources.memory.limit: expected integer, got string"},
        BadCase{"/linux/resources/memory/swappiness", 101,
                "linux.resources.memory.swappiness: value 101 is out of range (at most 100)"},
        BadCase{"/linux/resources/cpu", {{"shares", -2}},
                "linux.resources.cpu.shares: expected unsigned integer, got integer"},
        BadCase{"/linux/resources/pids", Json::object(),
                "linux.resources.pids.limit: required field is missing"},
        BadCase{"/linux/resources/devices/0/type", "x",
                "linux.resources.devices[0].type: device rule type must be a, c or b, got \"x\""},
        BadCase{"/linux/resources/devices/0/access", "rwx",
                "linux.resources.devices[0].access: access \"rwx\" is not a subset of \"rwm\""},
        BadCase{"/linux/resources/devices/0/allow", kDelete,
                "linux.resources.devices[0].allow: required field is missing"},
        BadCase{"/linux/resources/blockIO/weight", 70000,
                "linux.resources.blockIO.weight: value 70000 is out of range (at most 65535)"},
        BadCase{"/linux/resources/blockIO/throttleReadBpsDevice/0/rate", kDelete,
                "linux.resources.blockIO.throttleReadBpsDevice[0].rate: required field is missing"},
        BadCase{"/linux/resources/hugepageLimits", {{{"limit", 1}}},
                "linux.resources.hugepageLimits[0].pageSize: required field is missing"},
        BadCase{"/linux/resources/network", {{"priorities", {{{"name", "eth0"}}}}},
                "linux.resources.network.priorities[0].priority: required field is missing"},
        BadCase{"/linux/resources/unified", {{"../etc/x", "1"}},
                "linux.resources.unified: \"../etc/x\" is not a cgroup file name"},
        // devices
        BadCase{"/linux/devices/0/type", "x",
                "linux.devices[0].type: device type must be c, b, u or p, got \"x\""},
        BadCase{"/linux/devices/0/path", "dev/fuse",
                "linux.devices[0].path: \"dev/fuse\" is not an absolute path"},
        BadCase{"/linux/devices/0/major", kDelete, "linux.devices[0].major: required field is missing"},
        // seccomp
        BadCase{"/linux/seccomp/defaultAction", "SCMP_ACT_MAYBE",
                "linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_MAYBE\""},
        BadCase{"/linux/seccomp/defaultAction", "SCMP_ACT_NOTIFY",
                "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"},
        BadCase{"/linux/seccomp/architectures", {"x86_64"},
                "linux.seccomp.architectures[0]: unknown seccomp architecture \"x86_64\""},
        BadCase{"/linux/seccomp/flags", {"SECCOMP_FILTER_FLAG_NOPE"},
                "linux.seccomp.flags[0]: unknown seccomp flag \"SECCOMP_FILTER_FLAG_NOPE\""},
        BadCase{"/linux/seccomp/syscalls/0/action", "ALLOW",
                "linux.seccomp.syscalls[0].action: unknown seccomp action \"ALLOW\""},
        BadCase{"/linux/seccomp/syscalls/0/action", "SCMP_ACT_NOTIFY",
                "linux.seccomp.listenerPath: required when a syscall uses SCMP_ACT_NOTIFY"},
        BadCase{"/linux/seccomp/syscalls/0/names", Json::array(),
                "linux.seccomp.syscalls[0].names: must not be empty"},
        BadCase{"/linux/seccomp/syscalls/0/args/0/op", "SCMP_CMP_ABOUT",
                "linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator \"SCMP_CMP_ABOUT\""},
        BadCase{"/linux/seccomp/syscalls/0/args/0/index", 6,
                "linux.seccomp.syscalls[0].args[0].index: value 6 is out of range (at most 5)"},
        BadCase{"/linux/seccomp/syscalls/0/args/0/value", kDelete,
                "linux.seccomp.syscalls[0].args[0].value: required field is missing"},
        BadCase{"/linux/seccomp/syscalls/0/errnoRet", "EPERM",
                "linux.seccomp.syscalls[0].errnoRet: expected unsigned integer, got string"},
        // other linux fields
        BadCase{"/linux/rootfsPropagation", "slaved",
                "linux.rootfsPropagation: unknown propagation \"slaved\" (shared, slave, private, "
                "unbindable or their r-variants)"},
        BadCase{"/linux/maskedPaths", {"proc/kcore"},
                "linux.maskedPaths[0]: \"proc/kcore\" is not an absolute path"},
        BadCase{"/linux/personality", {{"domain", "LINUX64"}},
                "linux.personality.domain: unknown personality domain \"LINUX64\" (LINUX or LINUX32)"},
        BadCase{"/linux", Json::array(), "linux: expected object, got array"}));

TEST(ParseSpecErrors, UserNamespaceByPathMustNotCarryMappings) {
  Json doc = Json::parse(kBase);
  doc["linux"]["namespaces"].push_back({{"type", "user"}, {"path", "/proc/1/ns/user"}});
  doc["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 1}, {"size", 1}}};
  doc["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 1}, {"size", 1}}};
  auto s = parse_spec(doc.dump());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(),
            "linux.uidMappings: must not be set when the user namespace is joined by path "
            "(/proc/1/ns/user)");
}

TEST(ParseSpecErrors, GidMappingsMissingForNewUserNamespace) {
  Json doc = Json::parse(kBase);
  doc["linux"]["namespaces"].push_back({{"type", "user"}});
  doc["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 1}, {"size", 1}}};
  auto s = parse_spec(doc.dump());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "linux.gidMappings: a new user namespace needs gid mappings");
}

TEST(ParseSpecErrors, TimeOffsetsForJoinedNamespace) {
  Json doc = Json::parse(kBase);
  doc["linux"]["namespaces"].push_back({{"type", "time"}, {"path", "/proc/1/ns/time"}});
  doc["linux"]["timeOffsets"] = {{"boottime", {{"secs", 1}}}};
  auto s = parse_spec(doc.dump());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(),
            "linux.timeOffsets: cannot be set for a joined time namespace (/proc/1/ns/time)");
}

TEST(ParseSpecErrors, NotJsonOrNotAnObject) {
  auto s = parse_spec("{\"ociVersion\": ");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message().rfind("config.json: invalid JSON", 0), 0u) << s.error().message();
  s = parse_spec("[]");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "config.json: expected object, got array");
  EXPECT_EQ(s.error().code(), ErrorCode::InvalidArgument);
}

}  // namespace
}  // namespace berth::oci
