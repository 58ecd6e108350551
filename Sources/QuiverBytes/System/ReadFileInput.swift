/// Random-access input that reads a file with `pread` into fresh pool allocations: the
/// counterpart of pyarrow's `OSFile` (as opposed to `MemoryMappedFile`).
///
/// Each `read(at:count:)` is one allocation of `count` bytes (64-byte aligned, counted by
/// the pool) plus the system calls to fill it, so only the bytes asked for are ever in
/// memory. Safe to read from several threads at once (`pread` keeps no shared position).
public final class ReadFileInput: RandomAccessInput, @unchecked Sendable {
    /// The file's size when it was opened: every read is checked against it.
    public let size: Int
    private let descriptor: FileDescriptor
    private let pool: MemoryPool
    private let ownsDescriptor: Bool

    /// Opens `path` for reading. Throws `.io` if it cannot be opened or is not a regular file.
    public init(path: String, pool: MemoryPool = .default) throws {
        let descriptor = try FileDescriptor.open(path, .readOnly)
        do {
            let status = try descriptor.status()
            guard status.isRegularFile else { throw QuiverError(.io, "open(\(path)): not a regular file") }
            size = status.size
        } catch {
            try? descriptor.close()
            throw error
        }
        self.descriptor = descriptor
        self.pool = pool
        ownsDescriptor = true
    }

    /// Reads an open descriptor as a file of `size` bytes (e.g. the size a caller took with
    /// `fstat` for a consistent view of a growing file). The caller keeps the descriptor
    /// and closes it after this input is gone.
    public init(descriptor: FileDescriptor, size: Int, pool: MemoryPool = .default) {
        self.descriptor = descriptor
        self.size = size
        self.pool = pool
        ownsDescriptor = false
    }

    deinit { if ownsDescriptor { try? descriptor.close() } }

    /// The path read.
    public var path: String { descriptor.description }

    /// Reads `[offset, offset + count)` into a fresh allocation from the pool. Throws
    /// `outOfBounds` outside `size`, `.io` if the file has shrunk since it was opened.
    public func read(at offset: Int, count: Int) throws -> Buffer {
        try checkRange(offset: offset, count: count, within: size)
        guard count > 0 else { return .empty }
        let allocation = pool.allocate(byteCount: count)
        let read = try descriptor.pread(
            fillingUpTo: UnsafeMutableRawBufferPointer(start: allocation.pointer, count: count), at: offset)
        guard read == count else {
            throw QuiverError(.io, "pread(\(path)): file ended at \(offset + read), before \(offset + count); it shrank after open")
        }
        return allocation.buffer(count: count)
    }
}
