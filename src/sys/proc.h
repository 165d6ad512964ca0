// What /proc says about a process.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace berth::sys {

// Field 22 of /proc/PID/stat (start time in clock ticks since boot): with the
// pid it names one process, so a recycled pid is not mistaken for ours.
std::optional<uint64_t> process_start_time(pid_t pid);
// Alive and not a zombie.
bool process_alive(pid_t pid, std::optional<uint64_t> start_time = std::nullopt);

}  // namespace berth::sys
