// Internals shared by the cgroup managers (cgroup_v1.cpp, cgroup_v2.cpp,
// cgroup_hybrid.cpp): control-file I/O whose errors name file and value,
// cgroupsPath resolution, the device rule list, kill-and-remove.
// Not part of the runtime's public API; tests include it for the pure helpers.
#pragma once

#include <algorithm>

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "oci/spec.h"
#include "runtime/cgroup.h"

namespace berth::runtime::cg {

// ---- control files ---------------------------------------------------------

// Write `value` to dir/file. Never creates the file: on cgroupfs a missing
// control file means the kernel lacks the feature, and a fake tree in tests
// must say the same. Error: "write 1g to <path>: EINVAL (...)".
Result<void> write_control(const std::string& dir, const std::string& file, std::string_view value);
// The whole file, trailing newline removed.
Result<std::string> read_control(const std::string& dir, const std::string& file);
Result<uint64_t> read_u64(const std::string& dir, const std::string& file);
bool file_exists(const std::string& path);
bool has_control(const std::string& dir, const std::string& file);
// "key value" lines (memory.stat, cpu.stat, memory.events); junk lines skipped.
std::map<std::string, uint64_t> parse_flat_keyed(std::string_view text);

// ---- paths -----------------------------------------------------------------

// /proc/self/cgroup: "4:memory:/a" → {"memory": "/a"}; "0::/x" → {"": "/x"};
// "name=systemd" becomes "systemd"; co-mounted "cpu,cpuacct" gives both keys.
std::map<std::string, std::string> parse_proc_cgroup(std::string_view text);
Result<std::map<std::string, std::string>> read_own_cgroups(const std::string& proc_file);

// The cgroup path to use inside one hierarchy: absolute paths as given,
// relative ones under `own` (the runtime's cgroup there), empty →
// "/berth/<id>". ".." components are refused (they would escape the tree).
Result<std::string> resolve_cgroup_path(const std::string& requested, const std::string& id,
                                        const std::string& own);
std::string join_path(const std::string& a, const std::string& b);

// mkdir -p of mount/rel, one level at a time; at each level the files in
// `copy_down` that are empty get the parent's value (cpuset v1 cpus/mems).
// Existing directories are fine.
Result<void> make_cgroup_dirs(const std::string& mount, const std::string& rel,
                              const std::vector<std::string>& copy_down = {});

// ---- devices ---------------------------------------------------------------

// The effective rule list: deny all, the config's rules, then the rules every
// runtime grants (console, tty, ptmx, pts, tun, null/zero/full/random/urandom,
// mknod of any char/block device).
// One device rule; nullopt major/minor: any.
oci::DeviceRule make_device_rule(bool allow, const char* type, std::optional<int64_t> major,
                                 std::optional<int64_t> minor, const char* access);
std::vector<oci::DeviceRule> effective_device_rules(const std::vector<oci::DeviceRule>& config);
// "c 1:3 rwm", "a *:* rwm": the v1 devices.allow/deny syntax.
std::string device_rule_string(const oci::DeviceRule& r);

// ---- processes -------------------------------------------------------------

// cgroup.procs of dir and every descendant; a missing dir or file is empty.
Result<std::vector<pid_t>> read_pids_recursive(const std::string& dir);
void kill_pids(const std::vector<pid_t>& pids);
// Poll until cgroup.procs of dir (recursively) is empty, at most `ms`.
Result<void> wait_empty(const std::string& dir, int ms);
// rmdir dir after its child directories, deepest first. ENOENT is fine.
// EBUSY is retried for a short while (the kernel releases a cgroup shortly
// after its last task exits).
Result<void> remove_tree(const std::string& dir);

// Poll `pred` every few ms up to `ms`; returns whether it became true.
template <typename F>
bool poll_until(F pred, int ms);
void sleep_ms(int ms);
void sleep_us(int us);

// Back off from 100 µs to 5 ms: an rmdir that meets EBUSY for the moment the
// kernel takes to release a css usually succeeds within a millisecond, and
// that wait is on the path of every `run`.
template <typename F>
bool poll_until(F pred, int ms) {
  int step_us = 100;
  for (long waited_us = 0;; waited_us += step_us, step_us = std::min(step_us * 2, 5000)) {
    if (pred()) return true;
    if (waited_us >= ms * 1000L) return false;
    sleep_us(step_us);
  }
}

// v2 conversions (kernel and runc agree on these).
// cpu.shares [2, 262144] → cpu.weight [1, 10000].
uint64_t shares_to_weight(uint64_t shares);
// blkio.weight [10, 1000] → io.weight [1, 10000].
uint64_t blkio_weight_to_io_weight(uint64_t weight);
// memory.swap.max from the OCI swap (memory+swap total) and limit:
// nullopt: leave untouched; -1: "max".
Result<std::optional<int64_t>> swap_to_v2(std::optional<int64_t> swap, std::optional<int64_t> limit);
std::string max_or_value(int64_t v);  // negative → "max"

}  // namespace berth::runtime::cg
