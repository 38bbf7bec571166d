// Argument parsing for mkfs.foliofs.
#include "mkfs/args.h"

#include <getopt.h>
#include <sys/random.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>

namespace foliofs::mkfs {

std::string Usage() {
  return "Usage: mkfs.foliofs DEVICE [-b BLOCK_SIZE] [-J JOURNAL_SIZE] [-N INODES]\n"
         "                    [-L LABEL] [-U UUID] [-f] [-q]\n"
         "       mkfs.foliofs --help | --version\n"
         "\n"
         "Makes a foliofs filesystem on DEVICE (a block device, a loop device or an image file).\n"
         "\n"
         "  -b BLOCK_SIZE    block size in bytes: 1024, 2048, 4096 (default), ... 65536;\n"
         "                   a K suffix is accepted (4k)\n"
         "  -J JOURNAL_SIZE  journal size in bytes, with an optional K/M/G suffix (e.g. 64M);\n"
         "                   default: scaled with the filesystem size (see fs/FORMAT.md)\n"
         "  -N INODES        number of inodes (default: one per 16 KiB)\n"
         "  -L LABEL         volume label, at most 64 bytes\n"
         "  -U UUID          filesystem UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx), or 'random'\n"
         "  -f               overwrite an existing filesystem signature\n"
         "  -q               quiet: print nothing but errors\n"
         "  -h, --help       show this help\n"
         "  -V, --version    show the version\n";
}

Result<uint64_t> ParseSize(const std::string& text) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) {
    return Status::Error(EINVAL, "invalid size '" + text + "'");
  }
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (errno != 0) return Status::Error(EINVAL, "size '" + text + "' is out of range");
  int shift = 0;
  const std::string suffix(end);
  if (suffix.size() > 1) return Status::Error(EINVAL, "invalid size '" + text + "'");
  if (!suffix.empty()) {
    switch (std::toupper(static_cast<unsigned char>(suffix[0]))) {
      case 'K': shift = 10; break;
      case 'M': shift = 20; break;
      case 'G': shift = 30; break;
      case 'T': shift = 40; break;
      default: return Status::Error(EINVAL, "invalid size suffix in '" + text + "' (use K, M, G or T)");
    }
  }
  if (shift != 0 && v > (UINT64_MAX >> shift)) {
    return Status::Error(EINVAL, "size '" + text + "' is out of range");
  }
  return static_cast<uint64_t>(v) << shift;
}

Result<format::Uuid> ParseUuid(const std::string& text) {
  if (text == "random") return RandomUuid();
  static constexpr int kDashes[] = {8, 13, 18, 23};
  format::Uuid u{};
  if (text.size() != 36) return Status::Error(EINVAL, "invalid UUID '" + text + "'");
  size_t nibble = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool dash_pos = std::find(std::begin(kDashes), std::end(kDashes), static_cast<int>(i)) !=
                          std::end(kDashes);
    if (dash_pos) {
      if (text[i] != '-') return Status::Error(EINVAL, "invalid UUID '" + text + "'");
      continue;
    }
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else return Status::Error(EINVAL, "invalid UUID '" + text + "'");
    u[nibble / 2] = static_cast<uint8_t>(u[nibble / 2] | (v << (nibble % 2 ? 0 : 4)));
    ++nibble;
  }
  return u;
}

std::string FormatUuid(const format::Uuid& u) {
  char buf[40];
  snprintf(buf, sizeof buf,
           "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
           u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
           u[15]);
  return buf;
}

std::array<uint8_t, 16> RandomBytes16() {
  std::array<uint8_t, 16> u{};
  size_t got = 0;
  while (got < u.size()) {
    const ssize_t n = getrandom(u.data() + got, u.size() - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  return u;
}

format::Uuid RandomUuid() {
  format::Uuid u = RandomBytes16();
  u[6] = static_cast<uint8_t>((u[6] & 0x0F) | 0x40);  // version 4
  u[8] = static_cast<uint8_t>((u[8] & 0x3F) | 0x80);  // RFC 4122 variant
  return u;
}

namespace {
Status ApplyOption(int opt, const char* arg, MkfsArgs* a) {
  switch (opt) {
    case 'b': {
      ASSIGN_OR_RETURN(uint64_t bs, ParseSize(arg));
      if (bs < format::kMinBlockSize || bs > format::kMaxBlockSize || (bs & (bs - 1)) != 0) {
        return Status::Error(EINVAL, "invalid block size '" + std::string(arg) +
                                         "': must be a power of two from 1024 to 65536");
      }
      a->block_size = static_cast<uint32_t>(bs);
      return Status::Ok();
    }
    case 'J': {
      ASSIGN_OR_RETURN(a->journal_bytes, ParseSize(arg));
      if (a->journal_bytes == 0) return Status::Error(EINVAL, "invalid journal size '0'");
      return Status::Ok();
    }
    case 'N': {
      ASSIGN_OR_RETURN(a->inode_count, ParseSize(arg));
      if (a->inode_count == 0) return Status::Error(EINVAL, "invalid inode count '0'");
      return Status::Ok();
    }
    case 'L':
      a->label = arg;
      if (a->label.size() > format::kLabelSize) {
        return Status::Error(EINVAL, "label '" + a->label + "' is too long (" +
                                         std::to_string(a->label.size()) +
                                         " bytes; at most 64)");
      }
      return Status::Ok();
    case 'U': {
      ASSIGN_OR_RETURN(format::Uuid u, ParseUuid(arg));
      a->uuid = u;
      return Status::Ok();
    }
    case 'f': a->force = true; return Status::Ok();
    case 'q': a->quiet = true; return Status::Ok();
    case 'h': a->help = true; return Status::Ok();
    case 'V': a->version = true; return Status::Ok();
    default: return Status::Error(EINVAL, "unknown option");
  }
}
}  // namespace

Result<MkfsArgs> ParseArgs(int argc, char** argv) {
  static const option kLong[] = {{"help", no_argument, nullptr, 'h'},
                                 {"version", no_argument, nullptr, 'V'},
                                 {nullptr, 0, nullptr, 0}};
  MkfsArgs a;
  opterr = 0;  // we print our own messages
  optind = 1;
  int opt;
  while ((opt = getopt_long(argc, argv, ":b:J:N:L:U:fqhV", kLong, nullptr)) != -1) {
    if (opt == '?') {
      const std::string name = optopt ? std::string("-") + static_cast<char>(optopt)
                                      : std::string(argv[optind - 1]);
      return Status::Error(EINVAL, "unknown option '" + name + "'");
    }
    if (opt == ':') {
      return Status::Error(EINVAL, std::string("option '-") + static_cast<char>(optopt) +
                                       "' needs an argument");
    }
    RETURN_IF_ERROR(ApplyOption(opt, optarg, &a));
  }
  if (a.help || a.version) return a;
  if (optind >= argc) return Status::Error(EINVAL, "no device given");
  a.device = argv[optind++];
  if (optind < argc) {
    return Status::Error(EINVAL, "unexpected argument '" + std::string(argv[optind]) + "'");
  }
  return a;
}

}  // namespace foliofs::mkfs
