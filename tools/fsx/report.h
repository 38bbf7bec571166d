// Failure reports: hex dumps of expected vs actual data and the paths of the
// FILE.fsxgood / FILE.fsxlog files fsx leaves behind. Pure formatting.
#pragma once

#include <cstdint>
#include <string>

#include "tools/fsx/model.h"

namespace foliofs::fsx {

// A side-by-side hex dump of the model ("expected") and the data read
// ("actual") in a window of a few lines around file offset `bad`. `actual`
// holds the bytes read at file offsets [actual_off, actual_off + actual_len);
// mismatching bytes are marked with '*'.
std::string HexWindow(const FileModel& model, const uint8_t* actual, uint64_t actual_off,
                      uint64_t actual_len, uint64_t bad);

// "<dir>/<basename(file)><suffix>" with -P dir, else "<file><suffix>".
std::string SidePath(const std::string& file, const std::string& dirpath, const char* suffix);

}  // namespace foliofs::fsx
