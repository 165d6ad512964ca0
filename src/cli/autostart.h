// Starting berthd for the user: when nothing answers on the default socket
// and the user may start the daemon, berth starts it (through systemd when
// a berth unit is installed, otherwise fully detached) and waits for it.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace berth::cli {

inline constexpr const char* kDefaultSocket = "/run/berth/berth.sock";
inline constexpr const char* kAutostartLog = "/var/log/berth/berthd.log";

// Whether a failed connection to this address may start the daemon: only
// the default socket (never one named by -H, BERTH_HOST or DOCKER_HOST),
// only for root, and not with BERTH_NO_AUTOSTART set to anything but "0".
bool autostart_allowed(bool default_address);

// Starts berthd and returns once `socket` accepts connections. Two CLIs at
// once start one daemon: the first takes a lock beside the socket, the
// second waits for it and then finds the socket answering.
Result<void> start_daemon(const std::string& socket);

// The berthd binary: beside this one when installed, the build tree's
// cmd/berthd/berthd when run from a build directory, else from PATH.
std::string find_berthd();

// `berth daemon [BERTHD FLAGS]`: berthd in the foreground (exec).
int exec_daemon(const std::vector<std::string>& args);

}  // namespace berth::cli
