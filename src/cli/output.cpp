#include "cli/output.h"

#include <ctime>

#include "base/strings.h"
#include "cli/template.h"

namespace berth::cli {

std::string human_size(double bytes, int precision) {
  static const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  size_t i = 0;
  while (bytes >= 1000 && i + 1 < std::size(units)) {
    bytes /= 1000;
    ++i;
  }
  return fmt::format("{:.{}g}{}", bytes, precision, units[i]);
}

std::string bytes_size(double bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};
  size_t i = 0;
  while (bytes >= 1024 && i + 1 < std::size(units)) {
    bytes /= 1024;
    ++i;
  }
  return fmt::format("{:.4g}{}", bytes, units[i]);
}

std::string human_duration(int64_t s) {
  if (s < 1) return "Less than a second";
  if (s == 1) return "1 second";
  if (s < 60) return fmt::format("{} seconds", s);
  int64_t minutes = s / 60;
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return fmt::format("{} minutes", minutes);
  int64_t hours = (s + 1800) / 3600;  // rounded to the nearest hour
  if (hours == 1) return "About an hour";
  if (hours < 48) return fmt::format("{} hours", hours);
  if (hours < 24 * 7 * 2) return fmt::format("{} days", hours / 24);
  if (hours < 24 * 30 * 2) return fmt::format("{} weeks", hours / 24 / 7);
  if (hours < 24 * 365 * 2) return fmt::format("{} months", hours / 24 / 30);
  return fmt::format("{} years", s / 3600 / 24 / 365);
}

std::string time_ago(int64_t unix_seconds) {
  return human_duration(static_cast<int64_t>(std::time(nullptr)) - unix_seconds) + " ago";
}

static size_t width_of(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;  // count UTF-8 code points
  return n;
}

std::string ellipsis(const std::string& s, size_t max) {
  if (width_of(s) <= max) return s;
  std::string out;
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80 && ++n == max) break;
    out += s[i];
  }
  return out + "…";
}

std::string short_id(std::string id) {
  if (id.starts_with("sha256:")) id.erase(0, 7);
  return id.size() > 12 ? id.substr(0, 12) : id;
}

// Calls cell(column, text, last) for each cell of each line, and
// line_end() after each line; the text is not copied.
template <typename Cell, typename LineEnd>
static void each_cell(std::string_view text, Cell&& cell, LineEnd&& line_end) {
  if (text.empty()) return;
  if (text.back() == '\n') text.remove_suffix(1);
  for (;;) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    for (size_t column = 0;; ++column) {
      size_t tab = line.find('\t');
      cell(column, line.substr(0, tab), tab == std::string_view::npos);
      if (tab == std::string_view::npos) break;
      line.remove_prefix(tab + 1);
    }
    line_end();
    if (eol == std::string_view::npos) break;
    text.remove_prefix(eol + 1);
  }
}

std::string tabwrite(const std::string& text, size_t min_width, size_t padding) {
  std::vector<size_t> widths;
  each_cell(
      text,
      [&](size_t column, std::string_view cell, bool last) {
        if (last) return;
        if (widths.size() <= column) widths.resize(column + 1, min_width);
        widths[column] = std::max(widths[column], width_of(cell) + padding);
      },
      [] {});
  std::string out;
  out.reserve(text.size() + text.size() / 2);
  each_cell(
      text,
      [&](size_t column, std::string_view cell, bool last) {
        out += cell;
        if (!last) out.append(widths[column] - width_of(cell), ' ');
      },
      [&] { out += '\n'; });
  return out;
}

static std::string unescape(std::string f) {
  std::string out;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] == '\\' && i + 1 < f.size() && (f[i + 1] == 't' || f[i + 1] == 'n')) {
      out += f[i + 1] == 't' ? '\t' : '\n';
      ++i;
    } else {
      out += f[i];
    }
  }
  return out;
}

Result<Renderer> Renderer::make(std::string format, const std::string& default_table, const Json& headers) {
  if (format.empty()) format = default_table;
  if (format == "json") format = "{{json .}}";  // docker's JSONFormatKey
  bool table = format.starts_with("table");
  if (table) format.erase(0, 5);
  format = unescape(std::string(trim(format)));
  if (table && format.empty()) format = unescape(std::string(trim(default_table.substr(5))));
  Renderer r(BERTH_TRY(Template::parse(format)), table);
  if (table) r.out_ += BERTH_TRY(r.template_.execute(headers)) + "\n";
  return r;
}

Result<void> Renderer::add(const Json& row) {
  out_ += BERTH_TRY(template_.execute(row));
  out_ += '\n';
  return ok();
}

std::string Renderer::finish() { return table_ ? tabwrite(out_) : std::move(out_); }

Result<std::string> render(std::string format, const std::string& default_table, const Json& headers,
                           const std::vector<Json>& rows) {
  auto r = BERTH_TRY(Renderer::make(std::move(format), default_table, headers));
  for (const auto& row : rows) BERTH_TRY(r.add(row));
  return r.finish();
}

}  // namespace berth::cli
