#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An open file descriptor: a typed wrapper over the integer, with throwing methods for the
/// calls Quiver makes (as swift-system's `FileDescriptor`).
///
/// A value, not an owner: copying it does not duplicate the descriptor and nothing closes it
/// automatically. The classes built on it (`MappedFile`, `ReadFileInput`, `FileOutput`, …)
/// own theirs and close them in `deinit`. Every call retries when interrupted by a signal;
/// failures throw `QuiverError(.io, "call(path): strerror")`.
public struct FileDescriptor: Sendable, Hashable, CustomStringConvertible {
    /// The descriptor number.
    public let rawValue: CInt
    /// The path it was opened from, if known; used only in error messages.
    public let path: String?

    /// Wraps an existing descriptor (which the caller keeps responsible for closing).
    public init(rawValue: CInt, path: String? = nil) {
        self.rawValue = rawValue
        self.path = path
    }

    /// Standard input (descriptor 0).
    public static let standardInput = FileDescriptor(rawValue: 0, path: "<stdin>")
    /// Standard output (descriptor 1).
    public static let standardOutput = FileDescriptor(rawValue: 1, path: "<stdout>")
    /// Standard error (descriptor 2).
    public static let standardError = FileDescriptor(rawValue: 2, path: "<stderr>")

    /// The path, or `fd N` when the descriptor was not opened from a path.
    public var description: String { path ?? "fd \(rawValue)" }

    /// Same descriptor number.
    public static func == (a: FileDescriptor, b: FileDescriptor) -> Bool { a.rawValue == b.rawValue }
    /// Hashes the descriptor number.
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }

    // MARK: Opening and closing

    /// Whether a descriptor reads, writes or both.
    public enum AccessMode: Sendable {
        case readOnly, writeOnly, readWrite
    }

    /// How `open` treats the file: create it, empty it, append to it.
    public struct OpenOptions: OptionSet, Sendable {
        /// The option bits.
        public let rawValue: Int
        /// Options from their bits (use the static members instead).
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// Create the file if it does not exist (`O_CREAT`).
        public static let create = OpenOptions(rawValue: 1 << 0)
        /// Empty the file when opening it for writing (`O_TRUNC`).
        public static let truncate = OpenOptions(rawValue: 1 << 1)
        /// Every write goes to the end of the file (`O_APPEND`).
        public static let append = OpenOptions(rawValue: 1 << 2)
        /// Reads and writes bypass the page cache (`O_DIRECT`): offsets, lengths and memory
        /// must be aligned to the device's block size (see `readDirect`). Opening throws
        /// where the file system does not support it (tmpfs before Linux 6.6, for one).
        /// Linux only: elsewhere the flag is ignored and reads go through the cache.
        public static let direct = OpenOptions(rawValue: 1 << 4)
        /// With `.create`: fail if the file already exists (`O_EXCL`).
        public static let exclusive = OpenOptions(rawValue: 1 << 3)
    }

    /// Opens `path` (`open(2)`, always close-on-exec). `permissions` apply when the file is
    /// created. A missing file throws `.io` with the C library's text.
    public static func open(
        _ path: String, _ access: AccessMode, options: OpenOptions = [], permissions: UInt32 = 0o644
    ) throws -> FileDescriptor {
        var flags: CInt = O_CLOEXEC
        switch access {
        case .readOnly: flags |= O_RDONLY
        case .writeOnly: flags |= O_WRONLY
        case .readWrite: flags |= O_RDWR
        }
        if options.contains(.create) { flags |= O_CREAT }
        if options.contains(.truncate) { flags |= O_TRUNC }
        if options.contains(.append) { flags |= O_APPEND }
        if options.contains(.exclusive) { flags |= O_EXCL }
        if options.contains(.direct) { flags |= system_O_DIRECT }
        let fd = try valueOrErrno { system_open(path, flags, mode_t(permissions)) }.get("open", path)
        return FileDescriptor(rawValue: fd, path: path)
    }

    /// Closes the descriptor (`close(2)`). Not retried on `EINTR`: Linux has released the
    /// descriptor by then, and a retry could close one that another thread just opened.
    public func close() throws {
        _ = try valueOrErrno(retryOnInterrupt: false) { system_close(rawValue) }.get("close", description)
    }

    // MARK: Reading

    /// One `read(2)`: up to `buffer.count` bytes at the current position. Returns the bytes
    /// read, 0 at end of input. May return fewer than asked even before the end (pipes).
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try valueOrErrno { system_read(rawValue, buffer.baseAddress, buffer.count) }.get("read", description)
    }

    /// Reads until `buffer` is full or input ends (looping over short reads); returns the
    /// bytes read, fewer than `buffer.count` only at end of input. Blocks on pipes.
    /// O(bytes): one `read` per short read.
    public func read(fillingUpTo buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try fill(buffer) { rest, _ in try read(into: rest) }
    }

    /// One `pread(2)` at `offset`; does not move the file position and is safe to call from
    /// several threads at once.
    public func pread(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws -> Int {
        try valueOrErrno { system_pread(rawValue, buffer.baseAddress, buffer.count, offset) }
            .get("pread", description)
    }

    /// `pread` until `buffer` is full or the file ends; returns the bytes read.
    /// O(bytes): one `pread` per short read.
    public func pread(fillingUpTo buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws -> Int {
        try fill(buffer) { rest, done in try pread(into: rest, at: offset + done) }
    }

    /// Reads `ranges` of the file (ascending, disjoint, more than 1 KiB apart, inside `span`)
    /// into a new allocation from `pool` laid out like `span`: byte `i` of the buffer returned
    /// is byte `span.lowerBound + i` of the file where it lies in one of `ranges`; the other
    /// bytes are uninitialised (and, where no range touches their pages, never made resident).
    /// For a descriptor opened `.direct`: each range is read widened to 512-byte boundaries
    /// into memory aligned to match, one `pread` per range (plus short reads), so the bytes
    /// come from the device into this memory without the page cache. Throws `.io` if the
    /// file ends inside a range, and what `pread` throws (`EINVAL` where the device needs
    /// more alignment).
    /// O(bytes of `ranges`).
    public func readDirect(_ ranges: [Range<Int>], span: Range<Int>, pool: MemoryPool = .default) throws -> Buffer {
        let block = 512
        // Room for a range widened by up to a block at either end of the span, and for
        // sliding the start so that file offsets and addresses agree modulo the block.
        let allocation = pool.allocate(byteCount: span.count + 3 * block)
        let shift = try allocation.withUnsafeMutableBytes { memory -> Int in
            let address = Int(bitPattern: memory.baseAddress) + block
            let shift = block + ((span.lowerBound - address) % block + block) % block
            for range in ranges {
                precondition(range.lowerBound >= span.lowerBound && range.upperBound <= span.upperBound)
                let start = range.lowerBound - range.lowerBound % block
                let end = alignUp(range.upperBound, to: block)
                let slice = UnsafeMutableRawBufferPointer(rebasing: memory[(shift + start - span.lowerBound)..<(shift + end - span.lowerBound)])
                let read = try pread(fillingUpTo: slice, at: start)
                guard start + read >= range.upperBound else {
                    throw QuiverError(.io, "pread(\(description)): file ended at \(start + read), before \(range.upperBound)")
                }
            }
            return shift
        }
        return try allocation.buffer(count: shift + span.count).slice(offset: shift, count: span.count)
    }

    /// Loops `readOnce(rest, filledSoFar)` over the unfilled rest of `buffer` until it is
    /// full or returns 0.
    private func fill(
        _ buffer: UnsafeMutableRawBufferPointer, _ readOnce: (UnsafeMutableRawBufferPointer, Int) throws -> Int
    ) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let count = try readOnce(UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]), filled)
            if count == 0 { break }
            filled += count
        }
        return filled
    }

    // MARK: Writing

    /// One `write(2)`; returns the bytes written, possibly fewer than given.
    public func write(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        try valueOrErrno { system_write(rawValue, bytes.baseAddress, bytes.count) }.get("write", description)
    }

    /// Writes all of `bytes`, looping over short writes.
    /// O(bytes): one `write` per short write.
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        try drain(bytes) { rest, _ in try write(rest) }
    }

    /// The most vectors one `writev`/`pwritev` takes (Linux's `UIO_MAXIOV`, POSIX `IOV_MAX`).
    static let maxVectorsPerCall = 1024

    /// Writes all of `pieces`, in order, as one stretch of the file: at the file position
    /// (`writev(2)`), or at `offset` without moving it (`pwritev(2)`). Loops over short
    /// writes and over more pieces than one call takes.
    /// O(pieces + bytes): one `writev`/`pwritev` per batch of pieces or short write.
    public func writeAll(_ pieces: [UnsafeRawBufferPointer], at offset: Int? = nil) throws {
        var vectors = pieces.filter { !$0.isEmpty }.map {
            iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count)
        }
        let total = pieces.reduce(0) { $0 + $1.count }
        var written = 0
        var first = 0  // the first vector not yet written in full
        let call = offset == nil ? "writev" : "pwritev"
        while first < vectors.count {
            let batch = CInt(min(vectors.count - first, Self.maxVectorsPerCall))
            let count = try vectors.withUnsafeMutableBufferPointer { vectors in
                let start = vectors.baseAddress! + first
                return try valueOrErrno {
                    offset.map { system_pwritev(rawValue, start, batch, $0 + written) } ?? system_writev(rawValue, start, batch)
                }.get(call, description)
            }
            guard count > 0 else {
                throw QuiverError(.io, "\(call)(\(description)): no progress after \(written) of \(total) bytes")
            }
            written += count
            // Skip the vectors written in full; trim the one written in part.
            var rest = count
            while first < vectors.count, rest >= vectors[first].iov_len {
                rest -= vectors[first].iov_len
                first += 1
            }
            if rest > 0 {
                vectors[first].iov_base = vectors[first].iov_base.map { $0 + rest }
                vectors[first].iov_len -= rest
            }
        }
    }

    /// Writes all of `bytes` at `offset` (`pwrite(2)`), without moving the file position.
    public func writeAll(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        try drain(bytes) { rest, done in
            try valueOrErrno { system_pwrite(rawValue, rest.baseAddress, rest.count, offset + done) }
                .get("pwrite", description)
        }
    }

    /// Loops `writeOnce(rest, writtenSoFar)` over the unwritten rest of `bytes`.
    private func drain(_ bytes: UnsafeRawBufferPointer, _ writeOnce: (UnsafeRawBufferPointer, Int) throws -> Int) throws {
        var written = 0
        while written < bytes.count {
            let count = try writeOnce(UnsafeRawBufferPointer(rebasing: bytes[written...]), written)
            guard count > 0 else {
                throw QuiverError(.io, "write(\(description)): no progress after \(written) of \(bytes.count) bytes")
            }
            written += count
        }
    }

    // MARK: Position, status, size, durability, locking

    /// Moves the file position to `offset` from the start (`lseek(2)`); returns it.
    @discardableResult
    public func seek(to offset: Int) throws -> Int {
        try valueOrErrno { system_lseek(rawValue, offset, SEEK_SET) }.get("lseek", description)
    }

    /// The current file position, or `nil` for descriptors that cannot seek (pipes, ttys).
    public func currentPosition() throws -> Int? {
        switch valueOrErrno({ system_lseek(rawValue, 0, SEEK_CUR) }) {
        case .success(let position): return position
        case .failure(let error) where error == .illegalSeek: return nil
        case .failure(let error): throw error.quiverError("lseek", description)
        }
    }

    /// What `fstat(2)` says about an open file.
    public struct Status: Sendable, Hashable {
        /// The size in bytes.
        public var size: Int
        /// Whether it is a regular file (not a pipe, socket, device or directory).
        public var isRegularFile: Bool
        /// Which file this is and which version of it: equal identities mean the same inode
        /// with the same size and modification time.
        public var identity: FileIdentity
    }

    /// The file's size and kind (`fstat(2)`).
    public func status() throws -> Status {
        var raw = stat()
        _ = try valueOrErrno { system_fstat(rawValue, &raw) }.get("fstat", description)
        return Status(size: Int(raw.st_size), isRegularFile: raw.st_mode & S_IFMT == S_IFREG, identity: FileIdentity(raw))
    }

    /// Sets the file's size (`ftruncate(2)`): cuts it, or extends it with zeros.
    public func truncate(to size: Int) throws {
        _ = try valueOrErrno { system_ftruncate(rawValue, size) }.get("ftruncate", description)
    }

    /// Reserves disk blocks for `[offset, offset + count)` without changing the file's size
    /// (`fallocate(2)` with `FALLOC_FL_KEEP_SIZE`): writes there then skip the filesystem's
    /// allocation per block (buffered writes of large runs get ~25% faster on ext4). Blocks
    /// past the size stay reserved until `truncate(to:)` (to any size, the current one
    /// included) releases them. Returns false where the system or filesystem cannot
    /// reserve (nothing changes then).
    @discardableResult
    public func reserve(from offset: Int, count: Int) -> Bool {
        #if os(Linux)
        guard offset >= 0, count > 0 else { return false }
        if case .success = valueOrErrno({ system_reserve(rawValue, offset, count) }) { return true }
        #endif
        return false
    }

    /// Waits until the file's data and metadata reach the disk (`fsync(2)`). Slow: a device
    /// flush, milliseconds.
    public func sync() throws {
        _ = try valueOrErrno { system_fsync(rawValue) }.get("fsync", description)
    }

    /// Tells the kernel how `[offset, offset + count)` of the file will be read
    /// (`posix_fadvise(2)`; `count` 0 means to the end). `.dontNeed` evicts the range's clean
    /// pages from the page cache, e.g. to measure cold reads; dirty pages stay until synced.
    /// A no-op where `posix_fadvise` does not exist.
    public func advise(_ advice: AccessAdvice, offset: Int = 0, count: Int = 0) throws {
        #if os(Linux)
        let result = system_fadvise(rawValue, offset, count, advice.fadviseValue)
        if result != 0 { throw Errno(result).quiverError("posix_fadvise", description) }
        #endif
    }

    /// Takes an exclusive advisory lock (`flock(LOCK_EX | LOCK_NB)`). Without `wait`,
    /// throws `.conflict` if another open file description holds a lock on the file; with
    /// `wait`, blocks until it is released. The lock lasts until `unlock()` or until the
    /// last descriptor for it closes.
    public func lockExclusive(wait: Bool = false) throws {
        switch valueOrErrno({ system_flock(rawValue, wait ? LOCK_EX : LOCK_EX | LOCK_NB) }) {
        case .success: return
        case .failure(let error) where error == .wouldBlock:
            throw QuiverError(.conflict, "flock(\(description)): another process or descriptor holds the lock")
        case .failure(let error): throw error.quiverError("flock", description)
        }
    }

    /// Releases a lock taken with `lockExclusive()` (`flock(LOCK_UN)`).
    public func unlock() throws {
        _ = try valueOrErrno { system_flock(rawValue, LOCK_UN) }.get("flock", description)
    }

    /// Whether the descriptor is a terminal (`isatty(3)`): where output may carry escape
    /// sequences, such as a progress line that redraws itself.
    public var isTerminal: Bool { system_isatty(rawValue) == 1 }
}

/// How a range of a file or mapping will be read: advice for the kernel's read-ahead and
/// caching (`madvise(2)` for mappings, `posix_fadvise(2)` for files).
public enum AccessAdvice: Sendable {
    /// The kernel's default: moderate read-ahead (and read-around on mapping faults).
    case normal
    /// Read ahead aggressively; pages may be dropped soon after they are read.
    case sequential
    /// Do not read ahead: accesses are scattered.
    case random
    /// Start reading the range in now, in the background.
    case willNeed
    /// The range is not needed soon: release its pages (see each call for what that means).
    case dontNeed

    var madviseValue: CInt {
        switch self {
        case .normal: MADV_NORMAL
        case .sequential: MADV_SEQUENTIAL
        case .random: MADV_RANDOM
        case .willNeed: MADV_WILLNEED
        case .dontNeed: MADV_DONTNEED
        }
    }

    #if os(Linux)
    var fadviseValue: CInt {
        switch self {
        case .normal: POSIX_FADV_NORMAL
        case .sequential: POSIX_FADV_SEQUENTIAL
        case .random: POSIX_FADV_RANDOM
        case .willNeed: POSIX_FADV_WILLNEED
        case .dontNeed: POSIX_FADV_DONTNEED
        }
    }
    #endif
}
