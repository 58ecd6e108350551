#ifndef QUIVER_CFUZZDRIVER_H
#define QUIVER_CFUZZDRIVER_H
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (libclang_rt.fuzzer). SwiftPM links an executable's entry point as
/// `<product>_main` and makes it the process's `main`, so libFuzzer's own `main` never runs:
/// the Swift entry point calls this itself.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
