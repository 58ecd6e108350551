import QuiverBytes

/// Buffered output at explicit file offsets (`pwrite`), which can be moved back: how a
/// store file is appended to, since each append overwrites the previous footer.
///
/// Small writes are gathered in a pool buffer and reach the file on `flush()` (or when the
/// buffer fills); writes of 64 KiB or more go straight through. The descriptor's
/// own position is never used, so readers sharing the file are unaffected.
final class PositionedOutput: ByteOutput {
    let descriptor: FileDescriptor
    /// The file offset of the next byte (buffered bytes included).
    private(set) var position: Int
    /// The highest offset written to the file so far (its size, if nothing truncates it).
    private(set) var highWater: Int
    private let capacity: Int
    private let pool: MemoryPool
    private var staging: HeapAllocation?
    private var stagedCount = 0

    init(descriptor: FileDescriptor, position: Int, fileSize: Int, capacity: Int = 1 << 20, pool: MemoryPool = .default) {
        self.descriptor = descriptor
        self.position = position
        self.highWater = fileSize
        self.capacity = capacity
        self.pool = pool
    }

    /// Writes at least this large skip the staging buffer: one system call each, and the
    /// bytes are copied once (by the kernel), not twice.
    static let directWriteSize = 64 << 10

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        if stagedCount + bytes.count > capacity || bytes.count >= Self.directWriteSize { try flush() }
        if bytes.count >= Self.directWriteSize {
            try descriptor.writeAll(bytes, at: position)
            position += bytes.count
            highWater = max(highWater, position)
            return
        }
        let buffer = staging ?? pool.allocate(byteCount: capacity)
        staging = buffer
        (buffer.pointer + stagedCount).copyMemory(from: source, byteCount: bytes.count)
        stagedCount += bytes.count
        position += bytes.count
    }

    func flush() throws {
        guard let buffer = staging, stagedCount > 0 else { return }
        let start = position - stagedCount
        try descriptor.writeAll(UnsafeRawBufferPointer(start: buffer.pointer, count: stagedCount), at: start)
        stagedCount = 0
        highWater = max(highWater, position)
    }

    /// Flushes, then makes `offset` the position of the next write.
    func seek(to offset: Int) throws {
        try flush()
        position = offset
    }

    /// Drops buffered bytes without writing them and moves to `offset` (after a failed
    /// write, when the caller restores the committed state).
    func discard(movingTo offset: Int) {
        stagedCount = 0
        position = offset
    }

    /// Records that the file was truncated or extended to `size` by other means.
    func setFileSize(_ size: Int) {
        highWater = size
    }
}
