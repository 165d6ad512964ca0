// How docker's CLI prints: human sizes and ages (go-units), tab-aligned
// tables (Go's tabwriter), and --format with its "table" prefix.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/result.h"
#include "cli/template.h"

namespace berth::cli {

// 2140160 → "2.14MB": `precision` significant digits (go-units'
// HumanSizeWithPrecision; HumanSize is 4), units of 1000.
std::string human_size(double bytes, int precision = 3);
// 2140160 → "2.041MiB": four significant digits, units of 1024 (go-units' BytesSize).
std::string bytes_size(double bytes);
// A duration in seconds → "Less than a second", "3 minutes", "About an hour", "5 days".
std::string human_duration(int64_t seconds);
// "<duration> ago" from a unix time.
std::string time_ago(int64_t unix_seconds);
// Command column: quoted, shortened to 20 characters with "…".
std::string ellipsis(const std::string& s, size_t max);
std::string short_id(std::string id);  // strips "sha256:", keeps 12

// Go's tabwriter: cells end at '\t'; each column is as wide as its widest
// cell plus `padding`, at least `min_width`; the last cell of a line is not
// padded.
std::string tabwrite(const std::string& text, size_t min_width = 10, size_t padding = 3);

// Renders rows as docker's formatter does. `format` empty means the
// command's default table. A format beginning with "table" gets a header
// line (the template run over `headers`) and alignment; "json" is
// "{{json .}}"; any other format is run once a row. Literal "\t" and "\n"
// in the format become tab and newline.
Result<std::string> render(std::string format, const std::string& default_table, const Json& headers,
                           const std::vector<Json>& rows);

// render() a row at a time, for lists too long to hold as rows:
//   auto r = BERTH_TRY(Renderer::make(format, kTable, headers));
//   for (...) BERTH_TRY(r.add(row));
//   std::string out = r.finish();
class Renderer {
 public:
  static Result<Renderer> make(std::string format, const std::string& default_table, const Json& headers);
  Result<void> add(const Json& row);
  std::string finish();
  // What the rows need to hold (Template::fields).
  std::optional<std::set<std::string>> fields() const { return template_.fields(); }

 private:
  Renderer(Template t, bool table) : template_(std::move(t)), table_(table) {}
  Template template_;
  bool table_;
  std::string out_;
};

}  // namespace berth::cli
