// Shell completion generated from berth's command table: the commands,
// management groups, flags (and which take a value) as CLI11 holds them,
// and what each command's arguments name (containers, images, files).
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace berth::cli {

// A bash completion script for `app` (the whole table registered):
// `source <(berth completion bash)`.
std::string bash_completion(const CLI::App& app);

}  // namespace berth::cli
