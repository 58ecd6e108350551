#if canImport(Glibc)
import Synchronization
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file: random-access input whose reads are zero-copy
/// views into the mapping.
///
/// Buffers read from it own the mapping (a `MemoryMapping`), not the `MappedFile`: the
/// region is unmapped when the last of them is released, so buffers may outlive this object
/// and any reader built on it. The descriptor is closed right after mapping. Mapped bytes
/// are never counted by a `MemoryPool`; ask `residentBytes(in:)` how much of the mapping is
/// in RAM.
///
/// **Files that shrink.** The size is taken once, at open, and every read is checked against
/// it. If another process truncates the file below that size afterwards, touching a mapped
/// page that now lies past the end of the file raises `SIGBUS` and kills the process; no
/// check in Quiver can catch that. So callers must not truncate files that may be mapped —
/// the store only ever appends, and replaces a file by writing a new one and renaming it.
/// Bytes appended after open are simply not visible through this mapping.
public final class MappedFile: RandomAccessInput, @unchecked Sendable {
    /// How writes by others show through the mapping.
    public enum Sharing: Sendable {
        /// `MAP_PRIVATE`: a copy-on-write view (we never write, so in practice the file's
        /// pages); `MADV_DONTNEED` drops its pages and they are read back on next touch.
        case `private`
        /// `MAP_SHARED`: the page cache itself; writes to the file by others are visible.
        case shared
    }

    /// The path mapped.
    public let path: String
    /// The file's size when it was opened: every read is checked against it.
    public let size: Int
    /// The whole mapped file as one zero-copy buffer (`Buffer.empty` for an empty file,
    /// which is not mapped at all: `mmap` rejects length 0).
    public let buffer: Buffer
    private let facts = Mutex<[String: any AnyObject & Sendable]>([:])
    /// The file's device and inode when mapped (nil for an empty file).
    private let identity: FileIdentity?
    /// The file reopened by `path` on first use — buffered (key false), for cache advice, and
    /// `O_DIRECT` (key true) — or nil inside if that failed or `path` now names another file.
    private let reopened = Mutex<[Bool: FileDescriptor?]>([:])

    /// A fact about the mapped bytes that holds as long as this mapping does (e.g. which
    /// batches a reader has already validated), made by `make` the first time `key` is asked
    /// for and shared by every reader of the mapping — with `MappingCache`, across queries.
    public func fact<T: AnyObject & Sendable>(_ key: String, make: () -> T) -> T {
        facts.withLock { facts in
            if let known = facts[key] as? T { return known }
            let made = make()
            facts[key] = made
            return made
        }
    }

    /// Maps the file at `path` read-only. Throws `.io` if it cannot be opened, is not a
    /// regular file, or cannot be mapped. Costs a few system calls; reads no data.
    public convenience init(path: String, sharing: Sharing = .private) throws {
        let descriptor = try FileDescriptor.open(path, .readOnly)
        defer { try? descriptor.close() }
        try self.init(descriptor: descriptor, sharing: sharing)
    }

    /// Maps the file open at `descriptor` (which must be readable) from offset 0 to its
    /// current size. The mapping does not need the descriptor afterwards; the caller still
    /// owns and closes it.
    /// One `fstat` and one `mmap`; nothing is read.
    public init(descriptor: FileDescriptor, sharing: Sharing = .private) throws {
        let status = try descriptor.status()
        guard status.isRegularFile else {
            throw QuiverError(.io, "mmap(\(descriptor)): not a regular file")
        }
        let size = status.size
        path = descriptor.description
        self.size = size
        identity = status.identity
        guard size > 0 else {
            buffer = .empty
            return
        }
        let flags = sharing == .private ? MAP_PRIVATE : MAP_SHARED
        let address = try valueOrErrno { system_mmap(size, PROT_READ, flags, descriptor.rawValue) }
            .get("mmap", descriptor.description)
        guard let start = UnsafeMutableRawPointer(bitPattern: address) else {
            throw QuiverError(.io, "mmap(\(descriptor)): returned a null address")
        }
        let mapping = MemoryMapping(address: start, length: size)
        buffer = Buffer(owner: mapping, baseAddress: UnsafeRawPointer(start), count: size)
    }

    /// The bytes `[offset, offset + count)` as a view into the mapping (no copy, no system
    /// call; pages are read from disk when first touched). Throws `outOfBounds` outside `size`.
    public func read(at offset: Int, count: Int) throws -> Buffer {
        try buffer.slice(offset: offset, count: count)
    }

    /// Tells the kernel how `range` (byte offsets, default the whole file) will be used
    /// (`madvise(2)`). The range is widened to whole pages, as `madvise` requires.
    /// `.dontNeed` unmaps the pages from this process only; the page cache may keep them
    /// (see `FileDescriptor.advise` to evict it).
    public func advise(_ advice: AccessAdvice, _ range: Range<Int>? = nil) throws {
        guard let pages = try pageSpan(range) else { return }
        _ = try valueOrErrno { system_madvise(pages.start, pages.count, advice.madviseValue) }
            .get("madvise", path)
    }

    /// How many bytes of `range` (default the whole file) are in RAM now (`mincore(2)`):
    /// the part of `range` covered by resident pages. Costs one byte of scratch per page,
    /// in bounded chunks.
    public func residentBytes(in range: Range<Int>? = nil) throws -> Int {
        let range = range ?? 0..<size
        try checkRange(offset: range.lowerBound, count: range.count, within: size)
        return try MemoryUsage.residentBytes(address: buffer.baseAddress + range.lowerBound, count: range.count)
    }

    /// The parts of `range` whose pages are not in RAM now (`mincore(2)`), as file offsets, in
    /// order: what reading `range` would fetch. O(pages of `range`).
    public func nonResidentRanges(in range: Range<Int>) throws -> [Range<Int>] {
        try checkRange(offset: range.lowerBound, count: range.count, within: size)
        return try MemoryUsage.nonResidentParts(address: buffer.baseAddress + range.lowerBound, count: range.count)
            .map { (range.lowerBound + $0.lowerBound)..<(range.lowerBound + $0.upperBound) }
    }

    /// Reads `ranges` of the file past the page cache (`O_DIRECT`) into memory from `pool`
    /// laid out like `span` (see `FileDescriptor.readDirect`), through the file reopened by
    /// `path` — only if that is still the file mapped (same device and inode; appended to is
    /// fine: mapped bytes never change). nil where that fails, the file system has no
    /// `O_DIRECT`, or the read fails: the caller reads through the mapping. Blocks until the
    /// bytes arrive. O(bytes of `ranges`), plus an `open` and `fstat` the first time.
    public func readDirect(_ ranges: [Range<Int>], span: Range<Int>, pool: MemoryPool) -> Buffer? {
        try? reopen(direct: true)?.readDirect(ranges, span: span, pool: pool)
    }

    /// Evicts `range`'s clean pages from the page cache (`POSIX_FADV_DONTNEED` through the
    /// file reopened by `path`, if it is still this file); pages mapped by anyone stay (so
    /// unmap them first: `advise(.dontNeed, range)`). Advice: a failure changes nothing read.
    public func evictFromCache(_ range: Range<Int>) {
        try? reopen(direct: false)?.advise(.dontNeed, offset: range.lowerBound, count: range.count)
    }

    /// The file reopened by path (see `reopened`).
    private func reopen(direct: Bool) -> FileDescriptor? {
        reopened.withLock { opened in
            if let known = opened[direct] { return known }
            var descriptor = try? FileDescriptor.open(path, .readOnly, options: direct ? .direct : [])
            let now = try? descriptor?.status().identity
            if now?.device != identity?.device || now?.inode != identity?.inode || identity == nil {
                try? descriptor?.close()
                descriptor = nil
            }
            opened[direct] = descriptor
            return descriptor
        }
    }

    deinit {
        for case let descriptor?? in reopened.withLock({ Array($0.values) }) { try? descriptor.close() }
    }

    /// `range` checked against `size` and widened to the pages that hold it; `nil` if empty.
    private func pageSpan(_ range: Range<Int>?) throws -> (start: UnsafeMutableRawPointer, count: Int)? {
        let range = range ?? 0..<size
        try checkRange(offset: range.lowerBound, count: range.count, within: size)
        guard !range.isEmpty else { return nil }
        let pageSize = MemoryUsage.pageSize
        let first = range.lowerBound & ~(pageSize - 1)
        let end = min(alignUp(range.upperBound, to: pageSize), alignUp(size, to: pageSize))
        return (UnsafeMutableRawPointer(mutating: buffer.baseAddress + first), end - first)
    }
}

/// A memory-mapped region: the owner of buffers read from a `MappedFile`. Unmaps the region
/// when the last buffer viewing it is released. Never counted by a `MemoryPool`.
public final class MemoryMapping: BufferOwner, @unchecked Sendable {
    /// The first mapped byte (page-aligned).
    package let address: UnsafeRawPointer
    /// The mapped length in bytes.
    public let length: Int

    init(address: UnsafeMutableRawPointer, length: Int) {
        self.address = UnsafeRawPointer(address)
        self.length = length
        MemoryMapping.registry.withLock { $0[ObjectIdentifier(self)] = Weak(self) }
    }

    /// Every live mapping, weakly held, so memory reports can see them (one lock per map
    /// and unmap).
    private static let registry = Mutex<[ObjectIdentifier: Weak]>([:])
    private struct Weak: @unchecked Sendable {
        weak var mapping: MemoryMapping?
        init(_ mapping: MemoryMapping) { self.mapping = mapping }
    }

    /// The mappings alive now.
    static func live() -> [MemoryMapping] {
        registry.withLock { $0.values.compactMap(\.mapping) }
    }

    deinit {
        _ = MemoryMapping.registry.withLock { $0.removeValue(forKey: ObjectIdentifier(self)) }
        // munmap fails only for invalid arguments, which would be a bug here; nothing to do.
        _ = system_munmap(UnsafeMutableRawPointer(mutating: address), length)
    }
}
