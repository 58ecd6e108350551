// Compiler intrinsics Swift cannot spell. Static inline, so calls compile to the one
// instruction inside the Swift function that makes them.
#ifndef C_QUIVER_INTRINSICS_H
#define C_QUIVER_INTRINSICS_H

/// Asks the cache to start loading the line at `address` for a read soon; never faults.
static inline void quiver_prefetch_read(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
