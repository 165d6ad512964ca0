// parse_create_request: the fields it reads and the errors it gives for bad
// bodies (each names the field path).
#include <gtest/gtest.h>

#include "base/file.h"
#include "engine/spec.h"

namespace berth::engine {
namespace {

Json busybox_body() {
  auto text = read_file(BERTH_SOURCE_DIR "/tests/fixtures/engine/create-busybox-true.json");
  EXPECT_TRUE(text.ok());
  return Json::parse(*text);
}

TEST(ParseCreateRequest, CliBody) {
  auto c = parse_create_request(busybox_body().dump());
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->image, "busybox");
  EXPECT_EQ(c->cmd, std::vector<std::string>{"true"});
  EXPECT_FALSE(c->entrypoint.has_value());
  EXPECT_TRUE(c->attach_stdout);
  EXPECT_EQ(c->host.network_mode, "default");
  EXPECT_EQ(c->host.restart_policy, "no");
  EXPECT_FALSE(c->host.pids_limit.value_or(1) != 0);
}

TEST(ParseCreateRequest, AllFields) {
  Json b = busybox_body();
  b["Labels"] = {{"a", "b"}};
  b["StopSignal"] = "SIGINT";
  b["StopTimeout"] = 5;
  b["ExposedPorts"] = {{"80/tcp", Json::object()}};
  b["Volumes"] = {{"/data", Json::object()}};
  b["Healthcheck"] = {{"Test", {"CMD", "true"}}, {"Interval", 1000000000}, {"Retries", 3}};
  Json& h = b["HostConfig"];
  h["RestartPolicy"] = {{"Name", "on-failure"}, {"MaximumRetryCount", 3}};
  h["LogConfig"] = {{"Type", "json-file"}, {"Config", {{"max-size", "1m"}}}};
  h["ExtraHosts"] = {"db:10.0.0.2"};
  h["Dns"] = {"1.1.1.1"};
  h["DnsSearch"] = {"example.org"};
  h["DnsOptions"] = {"ndots:2"};
  h["ConsoleSize"] = {30, 100};
  auto c = parse_create_request(b.dump());
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->labels.at("a"), "b");
  EXPECT_EQ(c->stop_signal, "SIGINT");
  EXPECT_EQ(c->stop_timeout, 5);
  EXPECT_EQ(c->exposed_ports, std::vector<std::string>{"80/tcp"});
  EXPECT_EQ(c->volumes, std::vector<std::string>{"/data"});
  EXPECT_EQ(c->healthcheck->retries, 3);
  EXPECT_EQ(c->host.restart_policy, "on-failure");
  EXPECT_EQ(c->host.restart_max_retries, 3);
  EXPECT_FALSE(c->host.auto_remove);
  EXPECT_EQ(c->host.log_config.at("max-size"), "1m");
  EXPECT_EQ(c->host.extra_hosts, std::vector<std::string>{"db:10.0.0.2"});
  EXPECT_EQ(c->host.console_width, 100u);
}

TEST(ParseCreateRequest, BadInput) {
  struct Case {
    std::string body;
    std::string want;
  };
  const Case cases[] = {
      {"", "request body: invalid JSON"},
      {"{", "request body: invalid JSON"},
      {"[]", "request body: expected object, got array"},
      {R"({"Hostname": 1})", "Hostname: expected string, got unsigned integer"},
      {R"({"Tty": "yes"})", "Tty: expected boolean, got string"},
      {R"({"Env": "A=1"})", "Env: expected array of strings, got string"},
      {R"({"Env": ["A=1", 2]})", "Env[1]: expected string, got unsigned integer"},
      {R"({"Env": ["=x"]})", "Env: invalid environment variable"},
      {R"({"Cmd": 5})", "Cmd: expected array of strings"},
      {R"({"Entrypoint": {"a": 1}})", "Entrypoint: expected array of strings, got object"},
      {R"({"Labels": {"a": 1}})", "Labels.a: expected string, got unsigned integer"},
      {R"({"Labels": []})", "Labels: expected object, got array"},
      {R"({"StopTimeout": "10"})", "StopTimeout: expected integer, got string"},
      {R"({"Healthcheck": {"Test": "true"}})", "Healthcheck.Test: expected array of strings"},
      {R"({"Healthcheck": {"Interval": -1}})", "Healthcheck.Interval: must not be negative"},
      {R"({"ExposedPorts": ["80"]})", "ExposedPorts: expected object, got array"},
      {R"({"HostConfig": []})", "HostConfig: expected object, got array"},
      {R"({"HostConfig": {"Memory": "1g"}})", "HostConfig.Memory: expected integer, got string"},
      {R"({"HostConfig": {"Memory": 1.5}})", "HostConfig.Memory: expected integer, got number"},
      {R"({"HostConfig": {"Memory": 18446744073709551615}})", "HostConfig.Memory: expected integer"},
      {R"({"HostConfig": {"Privileged": 1}})", "HostConfig.Privileged: expected boolean"},
      {R"({"HostConfig": {"CapAdd": "NET_ADMIN"}})", "HostConfig.CapAdd: expected array of strings"},
      {R"({"HostConfig": {"Binds": [null]}})", "HostConfig.Binds[0]: expected string, got null"},
      {R"({"HostConfig": {"Ulimits": [{"Name": "nofile", "Soft": "x"}]}})", "HostConfig.Ulimits[0].Soft: expected integer"},
      {R"({"HostConfig": {"Ulimits": [{"Soft": 1}]}})", "HostConfig.Ulimits[0].Name: required field is missing"},
      {R"({"HostConfig": {"Ulimits": [1]}})", "HostConfig.Ulimits[0]: expected object"},
      {R"({"HostConfig": {"Devices": [{"PathInContainer": "/x"}]}})", "HostConfig.Devices[0].PathOnHost: required"},
      {R"({"HostConfig": {"Tmpfs": {"/run": 1}}})", "HostConfig.Tmpfs./run: expected string"},
      {R"({"HostConfig": {"Sysctls": "a=b"}})", "HostConfig.Sysctls: expected object"},
      {R"({"HostConfig": {"RestartPolicy": "always"}})", "HostConfig.RestartPolicy: expected object"},
      {R"({"HostConfig": {"RestartPolicy": {"Name": "sometimes"}}})", "invalid restart policy: unknown policy 'sometimes'"},
      {R"({"HostConfig": {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": -1}}})",
       "maximum retry count cannot be negative"},
      {R"({"HostConfig": {"RestartPolicy": {"Name": "always", "MaximumRetryCount": 2}}})",
       "maximum retry count can only be used with 'on-failure'"},
      {R"({"HostConfig": {"AutoRemove": true, "RestartPolicy": {"Name": "unless-stopped"}}})",
       "can't create 'AutoRemove' container with restart policy"},
      {R"({"HostConfig": {"ConsoleSize": [1]}})", "HostConfig.ConsoleSize: expected [height, width]"},
      {R"({"HostConfig": {"ConsoleSize": [-1, 2]}})", "HostConfig.ConsoleSize: expected [height, width]"},
      {R"({"HostConfig": {"PidsLimit": true}})", "HostConfig.PidsLimit: expected integer, got boolean"},
      {R"({"HostConfig": {"NetworkMode": 0}})", "HostConfig.NetworkMode: expected string"},
      {R"({"HostConfig": {"LogConfig": {"Config": {"a": 1}}}})", "HostConfig.LogConfig.Config.a: expected string"},
      {R"({"HostConfig": {"Mounts": [{"Type": "bind"}]}})", "HostConfig.Mounts[0].Target: required field is missing"},
      {R"({"HostConfig": {"Mounts": [{"Target": "/x", "BindOptions": 1}]}})", "HostConfig.Mounts[0].BindOptions: expected object"},
      {R"({"HostConfig": {"Mounts": [{"Target": "/x", "TmpfsOptions": {"Mode": -1}}]}})", "TmpfsOptions.Mode: expected unsigned integer"},
      {R"({"HostConfig": {"GroupAdd": [1]}})", "HostConfig.GroupAdd[0]: expected string"},
      {R"({"HostConfig": {"OomScoreAdj": "1"}})", "HostConfig.OomScoreAdj: expected integer"},
  };
  for (const auto& c : cases) {
    auto r = parse_create_request(c.body);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument) << c.body;
    EXPECT_NE(r.error().message().find(c.want), std::string::npos) << c.body << " → " << r.error().message();
  }
}

}  // namespace
}  // namespace berth::engine
