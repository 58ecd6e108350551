import QuiverBytes

/// Buffered output at explicit file offsets (`pwrite`), which can be moved back: how a
/// store file is appended to, since each append overwrites the previous footer.
///
/// Small writes are gathered in a pool buffer and reach the file on `flush()` (or when the
/// buffer fills); writes of 64 KiB or more go straight through. The descriptor's
/// own position is never used, so readers sharing the file are unaffected.
///
/// Large writes reserve disk space ahead of themselves (`FileDescriptor.reserve`, in steps
/// of 4 MiB growing with the file to 64 MiB), which makes buffered writes of big batches
/// cheaper; `releaseReservation` gives back what the file did not use.
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
    /// Where the disk space reserved ahead of the writes ends (at least the file size).
    private var reservedEnd: Int
    /// False once reserving failed (unsupported here): no further attempts.
    private var canReserve = true

    init(descriptor: FileDescriptor, position: Int, fileSize: Int, capacity: Int = 1 << 20, pool: MemoryPool = .default) {
        self.descriptor = descriptor
        self.position = position
        self.highWater = fileSize
        self.reservedEnd = fileSize
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
            reserve(through: position + bytes.count)
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
        if stagedCount >= Self.directWriteSize { reserve(through: position) }
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

    /// Records that the file was extended to `size` by other means.
    func setFileSize(_ size: Int) {
        highWater = size
    }

    /// Cuts or extends the file to `size` (`ftruncate`), which also releases any space
    /// reserved past it.
    func truncate(to size: Int) throws {
        try descriptor.truncate(to: size)
        highWater = size
        reservedEnd = size
    }

    /// Gives back the disk space reserved past `size`, the file's size (keeping it).
    func releaseReservation(size: Int) throws {
        guard reservedEnd > size else { return }
        try truncate(to: size)
    }

    /// The smallest reservation step, and the largest.
    static let reservationSteps = (minimum: 4 << 20, maximum: 64 << 20)

    /// Reserves space past `end` when a write reaches beyond the reservation: a step as large
    /// as the file so far (within `reservationSteps`), so small files reserve little.
    private func reserve(through end: Int) {
        guard canReserve, end > reservedEnd else { return }
        let start = max(reservedEnd, position)
        let step = min(max(position, Self.reservationSteps.minimum), Self.reservationSteps.maximum)
        if descriptor.reserve(from: start, count: end + step - start) {
            reservedEnd = end + step
        } else {
            canReserve = false
        }
    }
}
