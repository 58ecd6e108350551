#include "CQuiverMalloc.h"
#include <stdlib.h>  // defines __GLIBC__ on glibc

#if defined(__GLIBC__)
#include <malloc.h>

int quiver_keep_large_allocations_resident(void) {
    // One arena: threads' own arenas are heaps of at most 64 MiB that glibc trims or
    // unmaps as soon as their top is free, whatever the thresholds below say.
    mallopt(M_ARENA_MAX, 1);
    // Blocks up to 32 MiB (the most glibc allows here) come from the heap, not mmap.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    // Freed memory stays mapped up to 1 GiB, and the heap grows 64 MiB at a time.
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_TOP_PAD, 64 << 20);
    return 1;
}
#else
int quiver_keep_large_allocations_resident(void) { return 0; }
#endif
