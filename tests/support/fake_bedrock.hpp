// -----------------------------------------------------------------------------
// File: tests/support/fake_bedrock.hpp
// -----------------------------------------------------------------------------
// AWS Bedrock's runtime API for the scripted fake provider: a handler that
// VERIFIES SigV4 on every request (recomputed with llmux's signer from the
// received method, path, signed headers and body, and the known test secret;
// a mismatch is Bedrock's 403 InvalidSignatureException "The request
// signature we calculated does not match…"), then answers
// POST /model/{id}/converse with Converse JSON and /converse-stream with
// event-stream frames (raw, application/vnd.amazon.eventstream, the bytes cut
// into pieces of `split_every` bytes, so frames arrive split anywhere).
// Pure functions of the script and the request; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "support/fake_provider.hpp"

namespace llmux::testing {

inline constexpr std::string_view kBedrockTestAccessKey = "AKIDEXAMPLE";
inline constexpr std::string_view kBedrockTestSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

struct BedrockToolUse {
  std::string id;
  std::string name;
  std::string input_json;
};

struct BedrockScript {
  std::string text = "Hello from Bedrock.";
  std::vector<BedrockToolUse> tools;
  std::string stop_reason;  // empty: tool_use with tools, else end_turn
  int input_tokens = 11;
  int output_tokens = 7;
  int cache_read = 0;
  int cache_write = 0;
  int text_parts = 3;
  size_t split_every = 7;   // bytes per HTTP chunk of a stream
  std::string region = "us-west-2";
  std::string secret = std::string(kBedrockTestSecret);
  // A stream fails with this exception frame after `exception_after` events
  // (empty: none).
  std::string exception_type;
  std::string exception_message;
  int exception_after = 1;
  bool corrupt_crc = false;  // flips a bit of the last frame's CRC
};

// Checks the SigV4 Authorization of a request sent to 127.0.0.1:`port`;
// "" when valid, else why not.
std::string bedrock_signature_problem(const ReceivedRequest& request, uint16_t port, std::string_view secret,
                                      std::string_view region);

// Bedrock's error answer: status, x-amzn-ErrorType: <type>:http://…, {"message"}.
Behavior bedrock_error(int status, std::string type, std::string message);

std::string converse_json(const BedrockScript& script);
// The script's ConverseStream frames, concatenated.
std::string converse_stream_bytes(const BedrockScript& script);

// Verifies the signature, then answers the script (404 for another path).
Behavior bedrock_answer(const ReceivedRequest& request, const BedrockScript& script, uint16_t port);

}  // namespace llmux::testing
