/// Output to a file, a pipe or standard output, through an internal write buffer.
///
/// Small writes are gathered in a buffer (2 MiB by default, allocated from the pool on first
/// use) and reach the operating system on `flush()`, on `close()`, or as soon as they reach
/// a multiple of the buffer's size in the file: the file is written in whole buffer-aligned
/// stretches — a large write goes out together with what is pending (one `writev`, no
/// copy) up to the last such boundary it crosses, and only its tail is buffered.
///
/// Why aligned: Linux keeps a file's pages in the page cache in folios sized by how they
/// were written, and every later memory map of the file faults in a folio at a time: a file
/// written in aligned 2 MiB stretches maps with an order of magnitude fewer faults than one
/// written in the unaligned pieces a record batch gives (figures in BENCHMARKS.md).
/// `sync()` additionally waits for the disk. `deinit` flushes
/// and closes as a last resort but cannot report errors: call `close()` to see them.
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
        bufferCapacity: Int = FileOutput.defaultBufferCapacity, pool: MemoryPool = .default
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
        bufferCapacity: Int = FileOutput.defaultBufferCapacity, pool: MemoryPool = .default
    ) throws {
        let start = try descriptor.currentPosition() ?? 0
        self.init(descriptor: descriptor, position: start, owns: closeOnDeinit, bufferCapacity: bufferCapacity, pool: pool)
    }

    /// Writes to the process's standard output (flushed, never closed, by this object).
    public static func standardOutput(bufferCapacity: Int = FileOutput.defaultBufferCapacity, pool: MemoryPool = .default) -> FileOutput {
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

    /// The buffer size unless told otherwise: the huge page size, so the stretches written
    /// can become huge-page folios (see the type's notes).
    public static let defaultBufferCapacity = 2 << 20

    /// Buffers `bytes`; once they reach a multiple of the buffer size in the file, writes
    /// what is pending and `bytes` up to the last such boundary. May block on a full pipe.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try checkOpen("write")
        guard !bytes.isEmpty else { return }
        let end = position + bytes.count
        let boundary = end - end % bufferCapacity
        // Pending bytes never straddle a boundary, so below one they and `bytes` fit the buffer.
        var tail = bytes
        if boundary > position {
            let head = boundary - position
            let buffered = UnsafeRawBufferPointer(start: pending?.pointer, count: pendingCount)
            try descriptor.writeAll([buffered, UnsafeRawBufferPointer(rebasing: bytes[..<head])])
            pendingCount = 0
            tail = UnsafeRawBufferPointer(rebasing: bytes[head...])
        }
        if let start = tail.baseAddress, !tail.isEmpty {
            let buffer = pending ?? pool.allocate(byteCount: bufferCapacity)
            pending = buffer
            (buffer.pointer + pendingCount).copyMemory(from: start, byteCount: tail.count)
            pendingCount += tail.count
        }
        position = end
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
