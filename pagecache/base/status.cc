#include "pagecache/base/status.h"

#include <cstring>

namespace foliofs {

Status::Status(int err, std::string message)
    : rep_(std::make_shared<const Rep>(Rep{err > 0 ? err : EIO, std::move(message)})) {}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return rep_ ? rep_->message : kEmpty;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  char buf[128];
  // GNU strerror_r returns a pointer that may or may not be buf.
  const char* text = strerror_r(rep_->err, buf, sizeof(buf));
  return std::string(text) + ": " + rep_->message;
}

Status Status::WithContext(const std::string& context) const {
  if (ok()) return *this;
  return Status(rep_->err, context + ": " + rep_->message);
}

}  // namespace foliofs
