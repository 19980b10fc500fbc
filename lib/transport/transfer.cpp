#include "transport/transfer.hpp"

#include <fmt/format.h>

namespace llmux::transport {

std::string_view transfer_error_name(TransferError e) {
  switch (e) {
    case TransferError::kNone: return "none";
    case TransferError::kConnectTimeout: return "connect_timeout";
    case TransferError::kFirstByteTimeout: return "first_byte_timeout";
    case TransferError::kIdleTimeout: return "idle_timeout";
    case TransferError::kTotalTimeout: return "total_timeout";
    case TransferError::kConnectFailed: return "connect_failed";
    case TransferError::kConnectionClosed: return "connection_closed";
    case TransferError::kAborted: return "aborted";
    case TransferError::kCancelled: return "cancelled";
    case TransferError::kResponseTooLarge: return "response_too_large";
    case TransferError::kOther: return "other";
  }
  return "unknown";
}

std::string deadline_message(Deadline deadline, Duration limit) {
  const double s = duration_to_seconds(limit);
  switch (deadline) {
    case Deadline::kConnect: return fmt::format("no connection within {:.3f} s", s);
    case Deadline::kFirstByte: return fmt::format("no first byte within {:.3f} s", s);
    case Deadline::kFirstBody: return fmt::format("no response body within {:.3f} s", s);
    case Deadline::kIdle: return fmt::format("stream idle for more than {:.3f} s", s);
    case Deadline::kTotal: return fmt::format("transfer not complete within {:.3f} s", s);
  }
  return "deadline reached";
}

}  // namespace llmux::transport
