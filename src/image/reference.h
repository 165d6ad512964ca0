// Image references: the names users type (`busybox`, `ghcr.io/org/app:1.2`,
// `localhost:5000/x@sha256:...`), parsed and normalised as Docker does, so
// that the same string names the same image in Berth and in Docker.
//
// Usage:
//   auto ref = BERTH_TRY(parse_normalized("busybox"));
//   ref.domain;      // "docker.io"
//   ref.path;        // "library/busybox"
//   ref.tag;         // "latest" (defaulted: no tag and no digest given)
//   ref.string();    // "docker.io/library/busybox:latest" (the key in the store)
//   ref.familiar();  // "busybox:latest" (what `images` and `ps` show)
//
//   if (looks_like_image_id(arg)) ...   // "sha256:<64 hex>" or 64 hex: an ID, not a name
//
// Errors are InvalidArgument with Docker's wording, which users and scripts
// already recognise: "invalid reference format", "invalid reference format:
// repository name must be lowercase", ...
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace berth::image {

// The registry Docker assumes when a name has none, and its namespace for
// official images.
inline constexpr std::string_view kDefaultDomain = "docker.io";
inline constexpr std::string_view kOfficialNamespace = "library";
inline constexpr std::string_view kDefaultTag = "latest";

struct Reference {
  std::string domain;  // "docker.io", "localhost:5000", "[::1]:5000"; "" if none given
  std::string path;    // "library/busybox"
  std::string tag;     // "" when none
  std::string digest;  // "sha256:<64 hex>", "" when none

  // domain/path (just path when there is no domain).
  std::string name() const;
  // name[:tag][@digest]
  std::string string() const;
  // The short form Docker displays: docker.io/ and then library/ dropped
  // ("busybox:latest", "foo/bar", "localhost:5000/x:1").
  std::string familiar() const;

  bool operator==(const Reference&) const = default;
};

// Parses exactly what is written: no default registry, namespace or tag.
// The registry is recognised only as a first component containing '.' or
// ':' or equal to "localhost", so "foo/bar" has path "foo/bar".
Result<Reference> parse_reference(std::string_view s);

// As Docker normalises a name given on the command line: docker.io when no
// registry is given (index.docker.io is the same registry), library/ for a
// one-component path on docker.io, tag "latest" when neither tag nor digest
// is given. A bare 64-hex string is refused: it would read as an image ID.
Result<Reference> parse_normalized(std::string_view s);

// True for "<64 lowercase hex>" and "sha256:<64 lowercase hex>": Docker
// resolves these as image IDs before trying them as names.
bool looks_like_image_id(std::string_view s);

}  // namespace berth::image
