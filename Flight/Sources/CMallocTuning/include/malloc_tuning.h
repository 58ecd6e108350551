#ifndef QUIVER_FLIGHT_MALLOC_TUNING_H
#define QUIVER_FLIGHT_MALLOC_TUNING_H

/// Keeps glibc's heap from handing large blocks back to the kernel: see
/// `FlightServer.keepLargeAllocationsResident()`. Returns 1 where it applied (glibc), 0 elsewhere.
int quiver_flight_keep_large_allocations_resident(void);

#endif
