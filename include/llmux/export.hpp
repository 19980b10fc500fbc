// -----------------------------------------------------------------------------
// File: llmux/export.hpp
// -----------------------------------------------------------------------------
// Symbol visibility: the library builds with -fvisibility=hidden and exports
// only what is marked LLMUX_API.
#pragma once

#if defined(_WIN32)
#if defined(LLMUX_BUILDING)
#define LLMUX_API __declspec(dllexport)
#else
#define LLMUX_API __declspec(dllimport)
#endif
#else
#define LLMUX_API __attribute__((visibility("default")))
#endif
