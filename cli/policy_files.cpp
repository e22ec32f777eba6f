#include "cli/policy_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <span>

namespace dbproxy::cli {
namespace {

constexpr std::size_t kMaxPolicyFile = 4 << 20;  // the agent's cap

Error SystemError(const std::string& what, const std::string& path, int error) {
  return MakeError(error == ENOENT ? Errc::kNotFound : Errc::kInternal,
                   "cannot " + what + " " + path + ": " + std::strerror(error));
}

// Owns a file descriptor; closes it on every path.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now, reporting the result (close can report a delayed write error).
  bool Close() {
    const int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }

 private:
  int fd_;
};

// Reads all of `fd` into `out`, up to out.size() bytes; the count read, or -1 (errno set), or
// out.size() + 1 when there is more.
ssize_t ReadAll(int fd, std::span<unsigned char> out) {
  std::size_t total = 0;
  while (true) {
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

Status WriteAllAndSync(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return SystemError("write", path, errno);
    data.remove_prefix(static_cast<std::size_t>(written));
  }
  if (::fsync(fd) != 0) return SystemError("fsync", path, errno);
  return Status::Ok();
}

}  // namespace

Result<std::vector<PolicySource>> ReadPolicyFiles(const std::string& directory) {
  std::error_code ec;
  if (!std::filesystem::is_directory(directory, ec)) {
    return MakeError(Errc::kNotFound, directory + " is not a directory");
  }
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(directory, ec)) {
    const std::string name = entry.path().filename().string();
    if (!IsPolicyFileName(name)) continue;
    if (entry.is_regular_file(ec)) names.push_back(name);
  }
  if (ec) return MakeError(Errc::kInternal, "cannot list " + directory + ": " + ec.message());
  std::sort(names.begin(), names.end());
  std::vector<PolicySource> files;
  for (const std::string& name : names) {
    const std::string path = directory + "/" + name;
    Result<std::string> text = ReadSmallTextFile(path, kMaxPolicyFile);
    if (!text) return std::move(text).error();
    files.push_back(PolicySource{.name = path, .text = std::move(*text)});
  }
  return files;
}

Result<std::string> ReadSmallTextFile(const std::string& path, std::size_t max_bytes) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return SystemError("open", path, errno);
  std::string text(max_bytes, '\0');
  const ssize_t got =
      ReadAll(fd.get(), {reinterpret_cast<unsigned char*>(text.data()), text.size()});
  if (got < 0) return SystemError("read", path, errno);
  if (static_cast<std::size_t>(got) > max_bytes) {
    return MakeError(Errc::kInvalidRequest, path + " is larger than " +
                                                std::to_string(max_bytes) + " bytes");
  }
  text.resize(static_cast<std::size_t>(got));
  return text;
}

Result<SecretBytes> ReadSecretFile(const std::string& path, std::size_t max_bytes) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return SystemError("open", path, errno);
  SecretBytes buffer(max_bytes);
  const ssize_t got = ReadAll(fd.get(), buffer.bytes());
  if (got < 0) return SystemError("read", path, errno);
  if (static_cast<std::size_t>(got) > max_bytes) {
    return MakeError(Errc::kInvalidRequest, path + " is too large for a key file");
  }
  return SecretBytes::CopyFrom(buffer.bytes().first(static_cast<std::size_t>(got)));
}

Status WriteNewFile(const std::string& path, std::string_view data, mode_t mode) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (fd.get() < 0) {
    if (errno == EEXIST) {
      return MakeError(Errc::kConflict, path + " already exists; refusing to overwrite it");
    }
    return SystemError("create", path, errno);
  }
  // The umask may have narrowed `mode`; a key file must be exactly what was asked.
  Status written = ::fchmod(fd.get(), mode) == 0 ? WriteAllAndSync(fd.get(), data, path)
                                                 : Status(SystemError("chmod", path, errno));
  if (written && !fd.Close()) written = SystemError("close", path, errno);
  if (!written) ::unlink(path.c_str());
  return written;
}

Status ReplaceFile(const std::string& path, std::string_view data, mode_t mode) {
  const std::filesystem::path target(path);
  const std::string directory = target.parent_path().empty() ? "." : target.parent_path().string();
  std::string temp = directory + "/." + target.filename().string() + ".XXXXXX";
  Fd fd(::mkstemp(temp.data()));
  if (fd.get() < 0) return SystemError("create a temporary file in", directory, errno);
  Status written = ::fchmod(fd.get(), mode) == 0 ? WriteAllAndSync(fd.get(), data, temp)
                                                 : Status(SystemError("chmod", temp, errno));
  if (written && !fd.Close()) written = SystemError("close", temp, errno);
  if (written && ::rename(temp.c_str(), path.c_str()) != 0) {
    written = SystemError("rename into", path, errno);
  }
  if (!written) {
    ::unlink(temp.c_str());
    return written;
  }
  Fd dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0 || ::fsync(dir.get()) != 0) return SystemError("fsync", directory, errno);
  return Status::Ok();
}

}  // namespace dbproxy::cli
