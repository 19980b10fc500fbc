// -----------------------------------------------------------------------------
// File: llmux/export.hpp
// -----------------------------------------------------------------------------
// Symbol visibility and version: the library builds with -fvisibility=hidden
// and exports only what is marked LLMUX_API. Both the macro and the
// LLMUX_VERSION_* macros come from <llmux_version.h>, a header generated at
// configure time and shared with the C header <llmux.h>.
#pragma once

#include <llmux_version.h>
