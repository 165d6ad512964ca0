#include "api/policy.h"

#include <gtest/gtest.h>

namespace berth::api {
namespace {

const Caller kUser{1234, 1000, 1000};
const Caller kRoot{1, 0, 0};

Json create(Json host_config) { return {{"Image", "busybox"}, {"HostConfig", std::move(host_config)}}; }

std::string denial(const Policy& p, const Json& body) {
  auto r = check_create(p, kUser, body);
  if (r) return "";
  EXPECT_EQ(r.error().code(), ErrorCode::PermissionDenied);
  return r.error().message();
}

TEST(Policy, RootMayDoAnything) {
  Policy p;
  EXPECT_TRUE(check_create(p, kRoot, create({{"Privileged", true}, {"Binds", {"/:/host"}}})));
}

TEST(Policy, DefaultsForbidWhatReachesPastADefaultContainer) {
  Policy p;
  EXPECT_EQ(denial(p, create(Json::object())), "");
  EXPECT_EQ(denial(p, Json::object()), "");
  struct Case {
    Json hc;
    std::string rule;
  } cases[] = {
      {{{"Privileged", true}}, "allow_privileged"},
      {{{"NetworkMode", "host"}}, "allow_host_namespaces"},
      {{{"PidMode", "host"}}, "allow_host_namespaces"},
      {{{"IpcMode", "host"}}, "allow_host_namespaces"},
      {{{"UTSMode", "host"}}, "allow_host_namespaces"},
      {{{"UsernsMode", "host"}}, "allow_host_namespaces"},
      {{{"Devices", {{{"PathOnHost", "/dev/sda"}}}}}, "allow_devices"},
      {{{"DeviceCgroupRules", {"c 1:3 rwm"}}}, "allow_devices"},
      {{{"CapAdd", {"SYS_ADMIN"}}}, "allowed_capabilities"},
      {{{"CapAdd", {"all"}}}, "allowed_capabilities"},
      {{{"SecurityOpt", {"seccomp=unconfined"}}}, "allow_unconfined"},
      {{{"SecurityOpt", {"apparmor:unconfined"}}}, "allow_unconfined"},
      {{{"Binds", {"/:/host"}}}, "allowed_bind_paths"},
      {{{"Binds", {"/etc:/x:ro"}}}, "allowed_bind_paths"},
      {{{"Mounts", {{{"Type", "bind"}, {"Source", "/var/run"}, {"Target", "/r"}}}}}, "allowed_bind_paths"},
  };
  for (const auto& c : cases) {
    std::string msg = denial(p, create(c.hc));
    EXPECT_NE(msg.find("policy rule " + c.rule), std::string::npos) << c.hc.dump() << ": " << msg;
  }
}

TEST(Policy, DefaultCapsNamedVolumesAndNonHostModesAreFine) {
  Policy p;
  EXPECT_EQ(denial(p, create({{"CapAdd", {"NET_BIND_SERVICE", "cap_chown"}}})), "");
  EXPECT_EQ(denial(p, create({{"Binds", {"data:/data"}}})), "");
  EXPECT_EQ(denial(p, create({{"NetworkMode", "none"}, {"PidMode", "container:abc"}})), "");
  EXPECT_EQ(denial(p, create({{"SecurityOpt", {"no-new-privileges"}}})), "");
  EXPECT_EQ(denial(p, create({{"Mounts", {{{"Type", "volume"}, {"Source", "v"}, {"Target", "/v"}}}}})), "");
}

TEST(Policy, AllowedBindPathsAreCheckedAfterCleaning) {
  auto p = parse_policy({{"allowed_bind_paths", {"/home/shared"}}, {"allowed_capabilities", {"net_admin"}}});
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(denial(*p, create({{"Binds", {"/home/shared/x:/x"}}})), "");
  EXPECT_EQ(denial(*p, create({{"Binds", {"/home/shared:/x"}}})), "");
  EXPECT_NE(denial(*p, create({{"Binds", {"/home/shared/../../etc:/x"}}})), "");
  EXPECT_NE(denial(*p, create({{"Binds", {"/home/sharedother:/x"}}})), "");
  EXPECT_EQ(denial(*p, create({{"CapAdd", {"NET_ADMIN"}}})), "");
  EXPECT_NE(denial(*p, create({{"CapAdd", {"SYS_ADMIN"}}})), "");
}

TEST(Policy, ParseErrors) {
  EXPECT_TRUE(parse_policy(nullptr));
  EXPECT_FALSE(parse_policy(Json::array()));
  EXPECT_FALSE(parse_policy({{"allow_privileged", "yes"}}));
  EXPECT_FALSE(parse_policy({{"allowed_bind_paths", {"relative/path"}}}));
}

}  // namespace
}  // namespace berth::api
