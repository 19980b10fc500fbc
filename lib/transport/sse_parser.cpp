#include "transport/sse_parser.hpp"

namespace llmux::transport {

namespace sse_detail {

bool consume_bom(std::string& carried, std::string_view& bytes) {
  static constexpr char kBom[3] = {'\xEF', '\xBB', '\xBF'};
  size_t have = carried.size();
  size_t i = 0;
  while (have + i < sizeof kBom && i < bytes.size()) {
    if (bytes[i] != kBom[have + i]) return true;  // no BOM; carried bytes start the first line
    ++i;
  }
  if (have + i == sizeof kBom) {
    carried.clear();
    bytes.remove_prefix(i);
    return true;
  }
  carried.append(bytes.data(), i);  // still a BOM prefix: wait for more input
  bytes = {};
  return false;
}

}  // namespace sse_detail

void SseParser::reset() {
  line_.clear();
  data_.clear();
  event_.clear();
  id_.clear();
  has_fields_ = false;
  pending_cr_ = false;
  bom_checked_ = false;
}

}  // namespace llmux::transport
