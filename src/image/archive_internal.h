// Shared by the archive readers and writers (not part of the library's API).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "image/content_store.h"

namespace berth::image {

// What an archive held: each regular file by normalised path → the digest
// it was stored under, links by path → target, and the small JSON files.
struct ArchiveIndex {
  std::map<std::string, std::string> files;
  std::map<std::string, std::string> links;
  std::string manifest_json, index_json, repositories, oci_layout;
};

// "./a//b/../c" → "a/c"; ".." never climbs above the archive's root.
std::string normalize_archive_path(std::string_view p);
// Read a tar (plain or compressed) into the content store.
Result<ArchiveIndex> ingest_archive(ContentStore& cs, ContentStore::Lease& lease, int fd);
// Names in a directory, sorted, without "." and "..".
Result<std::vector<std::string>> list_dir(const std::string& dir);

}  // namespace berth::image
