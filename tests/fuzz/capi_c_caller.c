/* The C side of the capi fuzz target: passes an arbitrary int as
 * llmux_status, as any C program may (in C an enum is an int; the same cast
 * in C++ would be undefined for values outside the enum's range). */
#include "llmux.h"

const char* fuzz_status_string_of_int(int value);

const char* fuzz_status_string_of_int(int value) { return llmux_status_string((llmux_status)value); }
