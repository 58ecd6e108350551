#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Online processors right now (at least 1): `sysconf(_SC_NPROCESSORS_ONLN)`, the same
/// call on Linux and Darwin.
package func currentOnlineProcessorCount() -> Int {
    Swift.max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
}

/// Online processors when first asked (at least 1): the width of Quiver's worker pool.
package let onlineProcessorCount = currentOnlineProcessorCount()

/// A number naming the calling thread, unique among running threads: its `pthread_self()`,
/// an integer in glibc and a pointer on Darwin and musl.
package func currentThreadID() -> UInt {
    #if canImport(Glibc)
    UInt(pthread_self())
    #else
    UInt(bitPattern: pthread_self())
    #endif
}

/// What a new thread runs (carried through `pthread_create`'s context pointer).
private final class ThreadStart {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

/// Starts a detached operating-system thread running `body`: Quiver's own threads, never
/// the Swift concurrency pool's. Traps if the system cannot create a thread (as Dispatch does).
package func startThread(_ body: @escaping @Sendable () -> Void) {
    let context = Unmanaged.passRetained(ThreadStart(body)).toOpaque()
    #if canImport(Darwin)
    var thread: pthread_t? = nil
    let status = pthread_create(&thread, nil, { raw in
        Unmanaged<ThreadStart>.fromOpaque(raw).takeRetainedValue().body()
        return nil
    }, context)
    precondition(status == 0, "pthread_create failed: \(status)")
    pthread_detach(thread!)
    #else
    var thread = pthread_t()
    let status = pthread_create(&thread, nil, { raw in
        Unmanaged<ThreadStart>.fromOpaque(raw!).takeRetainedValue().body()
        return nil
    }, context)
    precondition(status == 0, "pthread_create failed: \(status)")
    pthread_detach(thread)
    #endif
}
