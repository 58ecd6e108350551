import QuiverBytes

/// Buffered output at explicit file offsets (`pwrite`), which can be moved back: how a
/// store file is appended to, since each append overwrites the previous footer.
///
/// Writes reach the file in whole `stretch`-aligned pieces of it (2 MiB: the huge page
/// size) as soon as they cross such a boundary, and the rest on `flush()` (a commit).
/// Linux caches a file in folios sized by how it was written, and every memory map of the
/// file faults a folio at a time, so a file written in aligned stretches maps with far fewer
/// faults than one written buffer by buffer (figures in BENCHMARKS.md).
///
/// Nothing is copied twice: a record batch's buffers (`write(_: Buffer)`) are kept by
/// reference until their stretch goes out in one `pwritev`; only small writes (framing,
/// metadata, padding) are copied into a staging buffer. The descriptor's own position is
/// never used, so readers sharing the file are unaffected.
///
/// Large writes reserve disk space ahead of themselves (`FileDescriptor.reserve`, in steps
/// of 4 MiB growing with the file to 64 MiB), which makes buffered writes of big batches
/// cheaper; `releaseReservation` gives back what the file did not use.
final class PositionedOutput: ByteOutput {
    let descriptor: FileDescriptor
    /// The file offset of the next byte (pending bytes included).
    var position: Int { pendingStart + pendingCount }
    /// The highest offset written to the file so far (its size, if nothing truncates it).
    private(set) var highWater: Int
    /// The alignment (and most) of what is written at once, and the staging capacity.
    private let stretch: Int
    private let pool: MemoryPool
    /// Bytes not yet written, in order, from `pendingStart` on: never across a multiple of
    /// `stretch` (what reaches one is written at once).
    private var pieces: [Piece] = []
    private var pendingStart: Int
    private var pendingCount = 0
    /// Where small writes are copied (lazily allocated: `stretch` bytes, plus room for one
    /// small write that reaches past a boundary before the stretch is written).
    private var staging: HeapAllocation?
    private var stagedCount = 0
    /// Where the disk space reserved ahead of the writes ends (at least the file size).
    private var reservedEnd: Int
    /// False once reserving failed (unsupported here): no further attempts.
    private var canReserve = true

    /// Pending bytes: a stretch of the staging buffer, or a buffer kept by reference.
    private enum Piece {
        case staged(offset: Int, count: Int)
        case kept(Buffer)

        var count: Int {
            switch self {
            case .staged(_, let count): count
            case .kept(let buffer): buffer.count
            }
        }
    }

    init(descriptor: FileDescriptor, position: Int, fileSize: Int, stretch: Int = 2 << 20, pool: MemoryPool = .default) {
        precondition(stretch >= Self.keepThreshold)
        self.descriptor = descriptor
        self.pendingStart = position
        self.highWater = fileSize
        self.reservedEnd = fileSize
        self.stretch = stretch
        self.pool = pool
    }

    /// Buffers at least this large are kept by reference rather than copied.
    static let keepThreshold = 64 << 10

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !bytes.isEmpty else { return }
        if bytes.count >= Self.keepThreshold {
            // Not ours to keep: write now what reaches the last boundary, stage the rest.
            let end = position + bytes.count
            let boundary = end - end % stretch
            var tail = bytes
            if boundary > position {
                let head = boundary - position
                try writePending(through: position, extra: UnsafeRawBufferPointer(rebasing: bytes[..<head]))
                tail = UnsafeRawBufferPointer(rebasing: bytes[head...])
            }
            stage(tail)
        } else {
            stage(bytes)
            try writeCompleteStretches()
        }
    }

    func write(_ buffer: Buffer) throws {
        guard buffer.count >= Self.keepThreshold else { return try write(buffer.bytes) }
        pieces.append(.kept(buffer))
        pendingCount += buffer.count
        try writeCompleteStretches()
    }

    /// Writes everything pending.
    func flush() throws {
        try writePending(through: position)
    }

    /// Drops pending bytes without writing them and moves to `offset` (after a failed
    /// write, when the caller restores the committed state).
    func discard(movingTo offset: Int) {
        pieces = []
        pendingCount = 0
        stagedCount = 0
        pendingStart = offset
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

    // MARK: Pending bytes

    /// Copies `bytes` into the staging buffer: a small write (then written out with its
    /// stretch if it reaches a boundary), or the tail of a large one past its last boundary.
    private func stage(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        let buffer = staging ?? pool.allocate(byteCount: stretch + Self.keepThreshold)
        staging = buffer
        precondition(stagedCount + bytes.count <= stretch + Self.keepThreshold)
        (buffer.pointer + stagedCount).copyMemory(from: source, byteCount: bytes.count)
        if case .staged(let offset, let count) = pieces.last, offset + count == stagedCount {
            pieces[pieces.count - 1] = .staged(offset: offset, count: count + bytes.count)
        } else {
            pieces.append(.staged(offset: stagedCount, count: bytes.count))
        }
        stagedCount += bytes.count
        pendingCount += bytes.count
    }

    /// Writes the pending bytes up to the last multiple of `stretch` they reach, if any.
    private func writeCompleteStretches() throws {
        let boundary = position - position % stretch
        if boundary > pendingStart { try writePending(through: boundary) }
    }

    /// Writes the pending bytes below file offset `end` (and then `extra`, which must
    /// follow them directly) in one `pwritev`; keeps the rest pending, its staged bytes
    /// moved to the front of the staging buffer.
    private func writePending(through end: Int, extra: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) throws {
        var remaining = end - pendingStart
        precondition(remaining >= 0 && remaining <= pendingCount)
        guard remaining > 0 || !extra.isEmpty else { return }
        var out: [UnsafeRawBufferPointer] = []
        var rest: [Piece] = []
        var moves: [(from: Int, to: Int, count: Int)] = []  // staged bytes that stay pending
        var restStaged = 0
        for piece in pieces {
            let taken = min(remaining, piece.count)
            remaining -= taken
            switch piece {
            case .staged(let offset, let count):
                if taken > 0, let staging { out.append(UnsafeRawBufferPointer(start: staging.pointer + offset, count: taken)) }
                if taken < count {
                    moves.append((offset + taken, restStaged, count - taken))
                    rest.append(.staged(offset: restStaged, count: count - taken))
                    restStaged += count - taken
                }
            case .kept(let buffer):
                if taken > 0 { out.append(UnsafeRawBufferPointer(rebasing: buffer.bytes[..<taken])) }
                if taken < buffer.count { rest.append(.kept(buffer.uncheckedSlice(offset: taken, count: buffer.count - taken))) }
            }
        }
        out.append(extra)
        let written = out.reduce(0) { $0 + $1.count }
        if written >= Self.keepThreshold { reserve(from: pendingStart, through: pendingStart + written) }
        try withExtendedLifetime(pieces) { try descriptor.writeAll(out, at: pendingStart) }
        // In order, each to at or before where it was (`copyMemory` allows the overlap).
        if let staging {
            for move in moves { (staging.pointer + move.to).copyMemory(from: staging.pointer + move.from, byteCount: move.count) }
        }
        pieces = rest
        pendingStart += written
        pendingCount -= written - extra.count
        stagedCount = restStaged
        highWater = max(highWater, pendingStart)
    }

    // MARK: Disk reservation

    /// The smallest reservation step, and the largest.
    static let reservationSteps = (minimum: 4 << 20, maximum: 64 << 20)

    /// Reserves space past `end` when a write reaches beyond the reservation: a step as large
    /// as the file so far (within `reservationSteps`), so small files reserve little.
    private func reserve(from position: Int, through end: Int) {
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
