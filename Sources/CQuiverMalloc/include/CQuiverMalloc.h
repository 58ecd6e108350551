#ifndef C_QUIVER_MALLOC_H
#define C_QUIVER_MALLOC_H

/// Keeps glibc's heap from handing large blocks back to the kernel: see
/// `ProcessAllocator.keepLargeAllocationsResident()`. Returns 1 where it applied (glibc), 0
/// elsewhere.
int quiver_keep_large_allocations_resident(void);

#endif
