#include "agent/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace dbproxy {
namespace {

Error IoError(const std::string& what, const std::string& path, int error_number) {
  return MakeError(Errc::kInternal, what + " " + path + ": " + std::strerror(error_number),
                   what + " " + path + ": " + std::strerror(error_number));
}

// Owns a file descriptor; closes it on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

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

}  // namespace

Result<std::vector<unsigned char>> ReadFileBytes(const std::string& path, std::size_t max_bytes) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) {
    if (errno == ENOENT) return MakeError(Errc::kNotFound, path + " does not exist");
    return IoError("cannot open", path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return IoError("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode)) return MakeError(Errc::kInvalidRequest, path + " is not a regular file");
  std::vector<unsigned char> data;
  unsigned char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("cannot read", path, errno);
    }
    if (n == 0) break;
    if (data.size() + static_cast<std::size_t>(n) > max_bytes) {
      return MakeError(Errc::kPayloadTooLarge, path + " is larger than expected");
    }
    data.insert(data.end(), buffer, buffer + n);
  }
  return data;
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
  Fd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (fd.get() < 0) return IoError("cannot create temp file in", directory, errno);
  auto fail = [&](const std::string& what) {
    const int saved = errno;
    ::unlink(temp.c_str());
    return IoError(what, temp, saved);
  };
  if (::fchmod(fd.get(), mode) != 0) return fail("cannot chmod");
  if (!WriteAll(fd.get(), data)) return fail("cannot write");
  if (::fsync(fd.get()) != 0) return fail("cannot fsync");
  if (::close(fd.Release()) != 0) return fail("cannot close");
  if (::rename(temp.c_str(), path.c_str()) != 0) return fail("cannot rename");
  Fd dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
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

}  // namespace dbproxy
