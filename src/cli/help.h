// --help as docker prints it (cobra's templates and pflag's flag table),
// from the same CLI11 table that parses the command line:
//
//   Usage:  berth ps [OPTIONS]
//
//   List containers
//
//   Aliases:
//     berth container ls, berth container list, berth container ps
//
//   Options:
//     -a, --all             Show all containers (default shows just running)
//         --format string   Format output using a custom template
//
// A management group lists its commands and the root adds the global
// options. Flags sort by long name; the description column starts three
// spaces after the longest flag, as pflag lays it out.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace berth::cli {

class DockerHelp : public CLI::FormatterBase {
 public:
  std::string make_help(const CLI::App* app, std::string name, CLI::AppFormatMode mode) const override;
};

// The flag table of `app` in pflag's layout, one line a flag ("" if none).
std::string flag_table(const CLI::App& app);

}  // namespace berth::cli
