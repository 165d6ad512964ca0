// import (image import): a filesystem image from a tar — a file, or stdin
// for "-" — sent as the body of POST /images/create?fromSrc=-; berthd's
// progress stream ends with the new image's ID, which is printed.
//
// A URL source is passed on as fromSrc=URL with no body, as the docker
// client does; berthd fetches nothing from the network and says so.
#include <fcntl.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "base/fd.h"
#include "cli/commands/commands.h"
#include "cli/go_compat.h"
#include "cli/transfer.h"

namespace berth::cli {
namespace {

struct ImportOptions {
  std::vector<std::string> changes, args;
  std::string message, platform;
};

int import_image(Context& ctx, const ImportOptions& o) {
  const std::string& source = o.args[0];
  Fd file;
  int fd = -1;
  std::string from = "-";
  if (source == "-") {
    fd = 0;
  } else if (source.starts_with("http://") || source.starts_with("https://")) {
    from = source;
  } else {
    file.reset(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file) {
      std::fprintf(stderr, "%s\n", go_path_error("open", source, errno).c_str());
      return 1;
    }
    fd = file.get();
  }
  std::string q = "/images/create?fromSrc=" + url_escape(from);
  if (o.args.size() > 1 && !o.args[1].empty()) q += "&repo=" + url_escape(o.args[1]);
  if (!o.message.empty()) q += "&message=" + url_escape(o.message);
  if (!o.platform.empty()) {
    std::string p = o.platform;
    std::transform(p.begin(), p.end(), p.begin(), [](unsigned char ch) { return std::tolower(ch); });
    q += "&platform=" + url_escape(p);
  }
  for (const auto& ch : o.changes) q += "&changes=" + url_escape(ch);
  Client c = ctx.client();
  auto s = fd >= 0 ? c.open_upload("POST", q, fd, "application/x-tar") : c.open("POST", q);
  if (!s) return report(s.error());
  if (s->status() >= 300) return report(stream_error(*s));
  auto p = print_progress(*s);
  return p ? 0 : report(p.error());
}

}  // namespace

void register_import(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<ImportOptions>();
  auto* cmd = add_command(app, "import", "Import the contents from a tarball to create a filesystem image");
  cmd->add_option("-c,--change", o->changes, "Apply Dockerfile instruction to the created image")
      ->allow_extra_args(false);
  cmd->add_option("-m,--message", o->message, "Set commit message for imported image");
  cmd->add_option("--platform", o->platform, "Set platform if server is multi-platform capable");
  cmd->add_option("SOURCE", o->args, "file|URL|- [REPOSITORY[:TAG]]");
  set_action(cmd, ctx, [&ctx, o, cmd] {
    // docker import takes at least one argument and ignores any past two.
    if (!check_arg_count(*cmd, "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]", o->args.size(), 1, kNoMax)) return 1;
    return import_image(ctx, *o);
  });
}

}  // namespace berth::cli
