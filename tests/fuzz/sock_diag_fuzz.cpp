// libFuzzer target for ParseSockDiagReply: the inet_diag reply the loopback listener reads
// (lengths, offsets and attributes). Whatever the bytes, it answers or refuses without reading
// outside them; an answer names the asked-for port's socket.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "common/identity/sock_diag_reply.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The port asked for comes from the input too, so both matching and other sockets are tried.
  const std::uint16_t port = size >= 2 ? static_cast<std::uint16_t>(data[0] | (data[1] << 8)) : 0;
  const char* bytes = reinterpret_cast<const char*>(data);
  const dbproxy::Result<dbproxy::SockDiagAnswer> answer =
      dbproxy::ParseSockDiagReply(bytes, size, port, 1, "not found");
  if (!answer && answer.error().code != dbproxy::Errc::kUnidentified) std::abort();
  (void)dbproxy::ParseSockDiagReply(size >= 2 ? bytes + 2 : bytes, size >= 2 ? size - 2 : size,
                                    port, 1, "not found");
  return 0;
}
