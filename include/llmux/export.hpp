// -----------------------------------------------------------------------------
// File: llmux/export.hpp
// -----------------------------------------------------------------------------
// Symbol visibility: the library builds with -fvisibility=hidden and exports
// only what is marked LLMUX_API.
#pragma once

#ifndef LLMUX_API
#if defined(_WIN32) && !defined(LLMUX_STATIC)
#if defined(LLMUX_BUILDING)
#define LLMUX_API __declspec(dllexport)
#else
#define LLMUX_API __declspec(dllimport)
#endif
#elif defined(_WIN32)
#define LLMUX_API
#else
#define LLMUX_API __attribute__((visibility("default")))
#endif
#endif
