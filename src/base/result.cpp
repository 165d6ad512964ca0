#include "base/result.h"

#include <cstring>

namespace berth {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::NotFound: return "NotFound";
    case ErrorCode::InvalidArgument: return "InvalidArgument";
    case ErrorCode::AlreadyExists: return "AlreadyExists";
    case ErrorCode::Conflict: return "Conflict";
    case ErrorCode::FailedPrecondition: return "FailedPrecondition";
    case ErrorCode::PermissionDenied: return "PermissionDenied";
    case ErrorCode::Unavailable: return "Unavailable";
    case ErrorCode::NotImplemented: return "NotImplemented";
    case ErrorCode::Internal: return "Internal";
  }
  return "Unknown";
}

ErrorCode Error::code_for_errno(int err) {
  switch (err) {
    case ENOENT: case ESRCH: case ENODEV: case ENXIO: return ErrorCode::NotFound;
    case EEXIST: return ErrorCode::AlreadyExists;
    case EPERM: case EACCES: case EROFS: return ErrorCode::PermissionDenied;
    case EINVAL: case ENAMETOOLONG: case ELOOP: case ENOTDIR: case EISDIR: case E2BIG:
      return ErrorCode::InvalidArgument;
    case EBUSY: case ETXTBSY: return ErrorCode::Conflict;
    case ENOSYS: case EOPNOTSUPP: return ErrorCode::NotImplemented;
    case EAGAIN: case ENOSPC: case ENOMEM: case EMFILE: case ENFILE: return ErrorCode::Unavailable;
    default: return ErrorCode::Internal;
  }
}

std::string Error::errno_text(int err) {
  const char* name = strerrorname_np(err);
  const char* desc = strerrordesc_np(err);
  if (name == nullptr) return fmt::format("errno {}", err);
  return fmt::format("{} ({})", name, desc ? desc : "");
}

}  // namespace berth
