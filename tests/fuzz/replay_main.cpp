// Replays fuzz inputs without libFuzzer: every file named on the command line,
// and every regular file inside each directory named (in name order), goes
// once through the target's LLVMFuzzerTestOneInput. A missing directory is
// skipped (regressions/<name>/ exists only once a crash was found); finding no
// input at all is a failure, so a lost corpus cannot pass silently.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<std::filesystem::path> inputs_in(const std::filesystem::path& arg) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  if (std::filesystem::is_directory(arg, ec)) {
    for (const auto& entry : std::filesystem::directory_iterator(arg)) {
      if (entry.is_regular_file() && entry.path().filename().string().front() != '.') out.push_back(entry.path());
    }
    std::sort(out.begin(), out.end());
  } else if (std::filesystem::is_regular_file(arg, ec)) {
    out.push_back(arg);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    for (const auto& path : inputs_in(argv[i])) {
      std::ifstream in(path, std::ios::binary);
      if (!in) {
        std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
        return 1;
      }
      const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      // A copy of exactly `size` bytes, so ASan sees any read past the end.
      std::vector<uint8_t> data(bytes.begin(), bytes.end());
      std::fprintf(stderr, "replay: %s (%zu bytes)\n", path.c_str(), data.size());
      LLVMFuzzerTestOneInput(data.data(), data.size());
      ++replayed;
    }
  }
  std::fprintf(stderr, "replay: %zu inputs, no failure\n", replayed);
  if (replayed == 0) {
    std::fprintf(stderr, "replay: no input found\n");
    return 1;
  }
  return 0;
}
