/// Output to a file, a pipe or standard output, through an internal write buffer.
///
/// Small writes are gathered in a buffer (1 MiB by default, allocated from the pool on first
/// use) and reach the operating system on `flush()`, when the buffer fills, or on `close()`;
/// writes at least as large as the buffer go straight through after flushing what is
/// pending. `sync()` additionally waits for the disk. `deinit` flushes and closes as a last
/// resort but cannot report errors: call `close()` to see them.
public final class FileOutput: ByteOutput {
    /// What opening a path does to an existing file.
    public enum Mode: Sendable {
        /// Create the file, or empty an existing one.
        case truncate
        /// Create the file, or keep an existing one and write after its end.
        case append
    }

    /// The descriptor written.
    public let descriptor: FileDescriptor
    /// Bytes accepted so far plus the starting offset (includes bytes still buffered).
    public private(set) var position: Int
    private let ownsDescriptor: Bool
    private let pool: MemoryPool
    private let bufferCapacity: Int
    private var pending: HeapAllocation?
    private var pendingCount = 0
    private var isClosed = false

    /// Opens (creating if needed) the file at `path` for writing.
    public convenience init(
        path: String, mode: Mode = .truncate, permissions: UInt32 = 0o644,
        bufferCapacity: Int = 1 << 20, pool: MemoryPool = .default
    ) throws {
        let options: FileDescriptor.OpenOptions = mode == .truncate ? [.create, .truncate] : [.create, .append]
        let descriptor = try FileDescriptor.open(path, .writeOnly, options: options, permissions: permissions)
        let start: Int
        do {
            start = mode == .truncate ? 0 : try descriptor.status().size
        } catch {
            try? descriptor.close()
            throw error
        }
        self.init(descriptor: descriptor, position: start, owns: true, bufferCapacity: bufferCapacity, pool: pool)
    }

    /// Writes to an open descriptor from its current position (0 for pipes); closes it in
    /// `close()`/`deinit` only if `closeOnDeinit`.
    public convenience init(
        descriptor: FileDescriptor, closeOnDeinit: Bool = false,
        bufferCapacity: Int = 1 << 20, pool: MemoryPool = .default
    ) throws {
        let start = try descriptor.currentPosition() ?? 0
        self.init(descriptor: descriptor, position: start, owns: closeOnDeinit, bufferCapacity: bufferCapacity, pool: pool)
    }

    /// Writes to the process's standard output (flushed, never closed, by this object).
    public static func standardOutput(bufferCapacity: Int = 1 << 20, pool: MemoryPool = .default) -> FileOutput {
        FileOutput(
            descriptor: .standardOutput, position: 0, owns: false, bufferCapacity: bufferCapacity, pool: pool)
    }

    private init(descriptor: FileDescriptor, position: Int, owns: Bool, bufferCapacity: Int, pool: MemoryPool) {
        precondition(bufferCapacity > 0)
        self.descriptor = descriptor
        self.position = position
        self.ownsDescriptor = owns
        self.bufferCapacity = bufferCapacity
        self.pool = pool
    }

    deinit {
        if !isClosed {
            try? flush()
            if ownsDescriptor { try? descriptor.close() }
        }
    }

    /// Buffers `bytes`, or writes them straight through if they are at least as large as
    /// the buffer. May block on a full pipe.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try checkOpen("write")
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        if pendingCount + bytes.count > bufferCapacity { try flush() }
        if bytes.count >= bufferCapacity {
            try descriptor.writeAll(bytes)
        } else {
            let buffer = pending ?? pool.allocate(byteCount: bufferCapacity)
            pending = buffer
            (buffer.pointer + pendingCount).copyMemory(from: source, byteCount: bytes.count)
            pendingCount += bytes.count
        }
        position += bytes.count
    }

    /// Hands buffered bytes to the operating system (they survive a crash of this process,
    /// not of the machine: see `sync()`).
    public func flush() throws {
        guard let buffer = pending, pendingCount > 0 else { return }
        try descriptor.writeAll(UnsafeRawBufferPointer(start: buffer.pointer, count: pendingCount))
        pendingCount = 0
    }

    /// Flushes, then waits until the bytes reach the disk (`fsync`). Slow: milliseconds.
    public func sync() throws {
        try checkOpen("fsync")
        try flush()
        try descriptor.sync()
    }

    /// Flushes and closes the descriptor (if this object owns it). Later writes throw.
    public func close() throws {
        guard !isClosed else { return }
        isClosed = true
        // Close even if the flush fails; report the flush error first.
        let flushed = Result { try flush() }
        pending = nil
        let closed = Result { if ownsDescriptor { try descriptor.close() } }
        try flushed.get()
        try closed.get()
    }

    private func checkOpen(_ call: String) throws {
        guard !isClosed else { throw QuiverError(.invalidArgument, "\(call)(\(descriptor)): output is closed") }
    }
}
