import QuiverBytes
import Synchronization

/// A small free list of C library contexts (`LZ4F_dctx`, `ZSTD_DCtx`, `ZSTD_CCtx`), so each
/// buffer does not pay to create one, and threads never share one at the same time.
///
/// A context is taken for one call and returned afterwards; at most `limit` idle contexts
/// are kept (about one per thread that compresses at once), the rest are freed.
final class ContextCache: Sendable {
    private struct Handle: @unchecked Sendable { let pointer: OpaquePointer }

    private let idle = Mutex<[Handle]>([])
    private let make: @Sendable () -> OpaquePointer?
    private let reset: @Sendable (OpaquePointer) -> Void
    private let destroy: @Sendable (OpaquePointer) -> Void
    private let name: String
    private let limit = 16

    /// `make` creates a context (nil on failure), `reset` returns a used one (possibly after
    /// an error) to a clean state, `destroy` frees it.
    init(
        _ name: String, make: @escaping @Sendable () -> OpaquePointer?,
        reset: @escaping @Sendable (OpaquePointer) -> Void = { _ in },
        destroy: @escaping @Sendable (OpaquePointer) -> Void
    ) {
        self.name = name
        self.make = make
        self.reset = reset
        self.destroy = destroy
    }

    deinit {
        for handle in idle.withLock({ $0 }) { destroy(handle.pointer) }
    }

    /// Runs `body` with a context nobody else is using. A context whose call threw is freed,
    /// not reused: liblz4 1.9's reset leaves state from an unfinished frame behind (a later
    /// frame without a content size then fails with `frameSize_wrong`).
    func withContext<R>(_ body: (OpaquePointer) throws -> R) throws -> R {
        let cached = idle.withLock { $0.popLast() }
        guard let context = cached?.pointer ?? make() else {
            throw QuiverError(.compression, "could not create a \(name) context (out of memory?)")
        }
        var succeeded = false
        defer { succeeded ? recycle(context) : destroy(context) }
        let result = try body(context)
        succeeded = true
        return result
    }

    private func recycle(_ context: OpaquePointer) {
        reset(context)
        let kept = idle.withLock { list in
            guard list.count < limit else { return false }
            list.append(Handle(pointer: context))
            return true
        }
        if !kept { destroy(context) }
    }
}
