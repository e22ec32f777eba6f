#include "common/os/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/os/unique_fd.hpp"

namespace dbproxy {
namespace {

Error IoError(const std::string& what, const std::string& path, int error_number) {
  return MakeError(Errc::kInternal, what + " " + path + ": " + std::strerror(error_number),
                   what + " " + path + ": " + std::strerror(error_number));
}

bool WriteAll(int fd, std::span<const unsigned char> data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return true;
}

// Opens `path` for reading as a regular file, refusing symlinks.
Result<UniqueFd> OpenRegular(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    if (errno == ENOENT) return MakeError(Errc::kNotFound, path + " does not exist");
    return IoError("cannot open", path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return IoError("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode)) return MakeError(Errc::kInvalidRequest, path + " is not a regular file");
  return fd;
}

// Reads all of `fd` into `out`; the count read, or -1 (errno set), or out.size() + 1 when the
// file holds more than `out` can take.
ssize_t ReadAll(int fd, std::span<unsigned char> out) {
  std::size_t total = 0;
  for (;;) {
    unsigned char extra = 0;
    unsigned char* into = total < out.size() ? out.data() + total : &extra;
    const std::size_t room = total < out.size() ? out.size() - total : 1;
    const ssize_t got = ::read(fd, into, room);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return -1;
    if (got == 0) return static_cast<ssize_t>(total);
    if (total >= out.size()) return static_cast<ssize_t>(out.size() + 1);
    total += static_cast<std::size_t>(got);
  }
}

}  // namespace

Result<std::vector<unsigned char>> ReadFileBytes(const std::string& path, std::size_t max_bytes) {
  Result<UniqueFd> fd = OpenRegular(path);
  if (!fd) return std::move(fd).error();
  std::vector<unsigned char> data;
  unsigned char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd->get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("cannot read", path, errno);
    }
    if (n == 0) break;
    if (data.size() + static_cast<std::size_t>(n) > max_bytes) {
      return MakeError(Errc::kPayloadTooLarge, path + " is larger than " +
                                                   std::to_string(max_bytes) + " bytes");
    }
    data.insert(data.end(), buffer, buffer + n);
  }
  return data;
}

Result<SecretBytes> ReadFileSecret(const std::string& path, std::size_t max_bytes) {
  Result<UniqueFd> fd = OpenRegular(path);
  if (!fd) return std::move(fd).error();
  SecretBytes buffer(max_bytes);
  const ssize_t got = ReadAll(fd->get(), buffer.bytes());
  if (got < 0) return IoError("cannot read", path, errno);
  if (static_cast<std::size_t>(got) > max_bytes) {
    return MakeError(Errc::kPayloadTooLarge, path + " is larger than " +
                                                 std::to_string(max_bytes) + " bytes");
  }
  return SecretBytes::CopyFrom(buffer.bytes().first(static_cast<std::size_t>(got)));
}

Result<std::string> ReadFileText(const std::string& path, std::size_t max_bytes) {
  Result<std::vector<unsigned char>> bytes = ReadFileBytes(path, max_bytes);
  if (!bytes) return std::move(bytes).error();
  return std::string(bytes->begin(), bytes->end());
}

Status AtomicWriteFile(const std::string& path, std::span<const unsigned char> data, mode_t mode) {
  const std::filesystem::path target(path);
  const std::string directory = target.parent_path().empty() ? "." : target.parent_path().string();
  std::string temp = directory + "/." + target.filename().string() + ".XXXXXX";
  UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (fd.get() < 0) return IoError("cannot create temp file in", directory, errno);
  auto fail = [&](const std::string& what) {
    const int saved = errno;
    ::unlink(temp.c_str());
    return IoError(what, temp, saved);
  };
  if (::fchmod(fd.get(), mode) != 0) return fail("cannot chmod");
  if (!WriteAll(fd.get(), data)) return fail("cannot write");
  if (::fsync(fd.get()) != 0) return fail("cannot fsync");
  if (!fd.Close()) return fail("cannot close");
  if (::rename(temp.c_str(), path.c_str()) != 0) return fail("cannot rename");
  UniqueFd dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0 || ::fsync(dir.get()) != 0) return IoError("cannot fsync", directory, errno);
  return Status::Ok();
}

Status EnsureDirectory(const std::string& path, mode_t mode) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return Status::Ok();
  std::filesystem::create_directories(path, ec);
  if (ec) return MakeError(Errc::kInternal, "cannot create " + path + ": " + ec.message());
  if (::chmod(path.c_str(), mode) != 0) return IoError("cannot chmod", path, errno);
  return Status::Ok();
}

std::string ReadSmallFile(const std::string& path) {
  Result<std::string> text = ReadFileText(path, 1 << 16);
  return text ? std::move(*text) : std::string();
}

Status AtomicWriteFile(const std::string& path, std::string_view data, mode_t mode) {
  return AtomicWriteFile(
      path, {reinterpret_cast<const unsigned char*>(data.data()), data.size()}, mode);
}

Status WriteNewFile(const std::string& path, std::string_view data, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd.valid()) {
    if (errno == EEXIST) {
      return MakeError(Errc::kConflict, path + " already exists; refusing to overwrite it");
    }
    return IoError("cannot create", path, errno);
  }
  const std::span<const unsigned char> bytes(reinterpret_cast<const unsigned char*>(data.data()),
                                             data.size());
  // The umask may have narrowed `mode`; a key file must be exactly what was asked.
  const char* failed = ::fchmod(fd.get(), mode) != 0 ? "cannot chmod"
                       : !WriteAll(fd.get(), bytes)  ? "cannot write"
                       : ::fsync(fd.get()) != 0      ? "cannot fsync"
                       : !fd.Close()                 ? "cannot close"
                                                     : nullptr;
  if (failed == nullptr) return Status::Ok();
  const int saved = errno;
  ::unlink(path.c_str());
  return IoError(failed, path, saved);
}

Result<std::vector<PolicySource>> ReadPolicySources(const std::string& directory) {
  std::vector<PolicySource> sources;
  std::error_code ec;
  if (!std::filesystem::is_directory(directory, ec)) return sources;
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator(directory, ec)) {
    const std::string name = entry.path().filename().string();
    if (!IsPolicyFileName(name)) continue;
    if (!entry.is_regular_file(ec)) continue;
    paths.push_back(entry.path());
  }
  if (ec) return MakeError(Errc::kInternal, "cannot list " + directory + ": " + ec.message());
  std::sort(paths.begin(), paths.end());
  for (const auto& path : paths) {
    Result<std::string> text = ReadFileText(path.string(), kMaxPolicyFileBytes);
    if (!text) return std::move(text).error();
    sources.push_back(PolicySource{.name = path.string(), .text = std::move(*text)});
  }
  return sources;
}

std::string LocalHostName() {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0 || host[0] == '\0') return "localhost";
  return host.data();
}

}  // namespace dbproxy
