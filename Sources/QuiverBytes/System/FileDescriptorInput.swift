/// Sequential input from a descriptor: a pipe, standard input, a socket or a file read front
/// to back. Each read returns a fresh pool allocation holding exactly the bytes read.
///
/// Reads block until the requested count has arrived or input ends. A large request is not
/// allocated up front: the allocation starts at `initialChunk` and doubles as bytes arrive,
/// so a stream that declares a huge message and then ends costs only what it sent.
public final class FileDescriptorInput: SequentialInput {
    /// The descriptor read.
    public let descriptor: FileDescriptor
    /// Bytes consumed so far.
    public private(set) var position: Int = 0
    private let ownsDescriptor: Bool
    private let pool: MemoryPool
    /// Requests up to this size are allocated in one go (typical messages).
    private static let initialChunk = 8 << 20

    /// Reads from an open descriptor; closes it in `deinit` only if `closeOnDeinit`.
    public init(descriptor: FileDescriptor, closeOnDeinit: Bool = false, pool: MemoryPool = .default) {
        self.descriptor = descriptor
        self.ownsDescriptor = closeOnDeinit
        self.pool = pool
    }

    /// Opens `path` for reading front to back (a FIFO, a device, or a file read as a stream).
    public convenience init(path: String, pool: MemoryPool = .default) throws {
        self.init(descriptor: try FileDescriptor.open(path, .readOnly), closeOnDeinit: true, pool: pool)
    }

    /// Reads from the process's standard input (never closed by this object).
    public static func standardInput(pool: MemoryPool = .default) -> FileDescriptorInput {
        FileDescriptorInput(descriptor: .standardInput, pool: pool)
    }

    deinit { if ownsDescriptor { try? descriptor.close() } }

    /// Reads `count` bytes, fewer only at end of input (an empty buffer at EOF). The result
    /// is a fresh allocation of exactly the bytes read (64-byte aligned).
    public func read(upTo count: Int) throws -> Buffer {
        precondition(count >= 0)
        guard count > 0 else { return .empty }
        var capacity = min(count, Self.initialChunk)
        var allocation = pool.allocate(byteCount: capacity)
        var filled = 0
        while filled < count {
            if filled == capacity {
                capacity = min(count, capacity * 2)
                allocation = Self.copy(allocation, filled, into: pool.allocate(byteCount: capacity))
            }
            let read = try descriptor.read(
                into: UnsafeMutableRawBufferPointer(start: allocation.pointer + filled, count: capacity - filled))
            if read == 0 { break }
            filled += read
        }
        position += filled
        if filled == 0 { return .empty }
        if filled < capacity {
            // Input ended early: hand back an allocation of exactly what arrived.
            allocation = Self.copy(allocation, filled, into: pool.allocate(byteCount: filled))
        }
        return allocation.buffer(count: filled)
    }

    private static func copy(_ source: HeapAllocation, _ count: Int, into target: HeapAllocation) -> HeapAllocation {
        target.pointer.copyMemory(from: source.pointer, byteCount: count)
        return target
    }
}
