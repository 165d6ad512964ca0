// Bodies that travel between berthd and files: a tar the daemon streams
// out (save, export) written to stdout or to an output file that appears
// only once whole, and the JSON-lines progress that load and import answer
// with.
//
// Usage:
//   auto out = OutputFile::open(o.output, "failed to export container");
//   if (!out) return report(out.error());          // a terminal, a bad path
//   if (auto r = download(c, "/containers/x/export", *out); !r) return report(r.error());
#pragma once

#include <string>
#include <string_view>

#include "base/fd.h"
#include "base/result.h"
#include "cli/http.h"

namespace berth::cli {

// Where a streamed archive goes: stdout when no path is given, else a
// temporary file beside the target (".tmp-<name><random>", mode 0600),
// renamed over it by commit(). A failed or abandoned transfer leaves the
// target as it was and removes the temporary file, as docker's CLI does
// with moby's atomicwriter.
class OutputFile {
 public:
  // For "" refuses a terminal on stdout with docker's "cowardly refusing"
  // message. For a path checks it as docker does (its folder exists; the
  // path is absent or a regular file, not a directory, link, FIFO, socket
  // or device); those failures carry `context` ("failed to save image").
  static Result<OutputFile> open(const std::string& path, std::string_view context);

  OutputFile(OutputFile&& o) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  ~OutputFile();

  int fd() const { return file_ ? file_.get() : 1; }
  // fsync, chmod 0600 and rename over the target; nothing for stdout.
  Result<void> commit();

 private:
  OutputFile() = default;
  Fd file_;
  std::string tmp_, target_;
};

// Copies what is left of `body` to `fd`; a stream that ends short (the
// daemon failed after its first byte) is an error.
Result<void> copy_body(BodyStream& body, int fd);

// GET `target` (an archive the daemon streams: save, export) into `out`
// and commit it; the daemon's error when it answers with one.
Result<void> download(Client& c, const std::string& target, OutputFile& out);

// The daemon's error from a stream whose status is not 2xx.
Error stream_error(BodyStream& s);

// Prints a JSON-lines progress stream as docker's CLI does without a
// terminal ("status" lines, "stream" text); returns the error it carries.
Result<void> print_progress(BodyStream& s);

}  // namespace berth::cli
