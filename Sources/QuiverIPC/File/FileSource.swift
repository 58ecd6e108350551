import QuiverArrow
import QuiverBytes

/// How a reader opened by path gets the file's bytes: pyarrow's `memory_map` versus `OSFile`.
///
/// ```
///              open               record batch i                       counted by the pool
/// .memoryMap   open, fstat, mmap  one pread of its framing + metadata;  0 body bytes (its pages
///                                 the body is a view into the mapping   are page cache: shared,
///                                 (its pages read when first touched)   evictable, not allocated)
/// .read        open, fstat        one pread of framing + metadata, one  every body byte, until
///                                 of the body into a pool allocation    the batch is released
/// .shared-     open, fstat, a     as .memoryMap                         as .memoryMap
///  MemoryMap   lookup in MappingCache.shared (mmap only on a miss)
/// ```
/// Either way the size is taken at open and every range is checked against it; the
/// descriptor stays open while the reader lives. A mapping outlives the reader: it is
/// unmapped when the last buffer viewing it goes.
public enum FileSource: Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Map the file read-only (`MappedFile`). Batches are zero-copy views into the mapping,
    /// which lives until the last buffer viewing it is released — reader or no reader.
    case memoryMap
    /// Read with `pread`/`read` into buffers from the options' pool: one copy of each body.
    case read
    /// Like `memoryMap`, but through `MappingCache.shared`: a file this process has mapped
    /// before and that has not changed since reuses that mapping, and with it the page-table
    /// entries its earlier readers faulted in (so repeated scans of a warm file cost no page
    /// faults). The mapping outlives the reader in the cache; see `MappingCache`.
    case sharedMemoryMap

    /// "mmap" or "read".
    public var description: String {
        switch self {
        case .memoryMap: "mmap"
        case .read: "read"
        case .sharedMemoryMap: "shared mmap"
        }
    }
}

extension FileReader {
    /// Opens the Arrow file at `path`, memory-mapped (the default) or read into pool buffers.
    /// Costs a few system calls plus reading the footer and dictionaries; record batches are
    /// read on demand. Errors name the path.
    public convenience init(path: String, source: FileSource = .memoryMap, options: IPCReadOptions = .init()) throws {
        let input: any RandomAccessInput
        do {
            switch source {
            case .memoryMap: input = try MappedFileInput(path: path)
            case .sharedMemoryMap: input = try MappedFileInput(path: path, cache: .shared)
            case .read: input = try ReadFileInput(path: path, pool: options.pool)
            }
            try self.init(input: input, options: options)
        } catch let error as QuiverError {
            throw error.message.contains(path) ? error : error.adding(context: path)
        }
    }

    /// Reads every record batch in footer order and hands each to `body`, keeping the
    /// process's resident memory bounded when the file is memory-mapped: the kernel is told
    /// to read the next `readAhead` bytes ahead of the scan (`MADV_SEQUENTIAL` over the file,
    /// `MADV_WILLNEED` on the window) and to drop the pages of each batch once `body`
    /// returns (`MADV_DONTNEED`). So a file larger than the memory the process may use scans
    /// to completion, holding about one window plus one batch.
    ///
    /// Batches kept past `body` stay valid (so do other threads' batches of the same file):
    /// dropped pages are read back from the file when touched again. For inputs that are not
    /// mapped this is a plain loop over `recordBatch(at:)`, whose pool buffers are freed as
    /// soon as `body` lets go of them.
    /// O(batches) plus each batch's `recordBatch(at:)` cost; one `madvise` per window and per batch.
    public func scan(readAhead: Int = 8 << 20, _ body: (_ index: Int, _ batch: RecordBatch) throws -> Void) throws {
        var advisor = mappedFile.map {
            ScanAdvisor(file: $0, limit: messageLimit, readAhead: max(readAhead, MemoryUsage.pageSize))
        }
        advisor?.start()
        for index in 0..<numRecordBatches {
            let range = recordBatchBlocks[index].byteRange(limit: messageLimit)
            advisor?.willRead(range)
            try body(index, try recordBatch(at: index))
            advisor?.didRead(range)
        }
    }

    /// The bytes of record batch `index`'s message (framing, metadata and body) in the file,
    /// or nil if its block lies outside the messages region (reading it would throw).
    /// O(1).
    public func recordBatchByteRange(at index: Int) -> Range<Int>? {
        guard index >= 0, index < recordBatchBlocks.count else { return nil }
        return recordBatchBlocks[index].byteRange(limit: messageLimit)
    }
}

extension FileReader {
    /// The bytes of record batch `index`'s framing and metadata (what `bodyRanges` reads), or
    /// nil if its block lies outside the messages region.
    func recordBatchMetadataRange(at index: Int) -> Range<Int>? {
        guard let range = recordBatchByteRange(at: index) else { return nil }
        let block = recordBatchBlocks[index]
        return range.lowerBound..<(range.lowerBound + Int(block.metadataLength))
    }

    /// The bytes of record batch `index`'s body (after its metadata), or nil if its block lies
    /// outside the messages region.
    func recordBatchBodyRange(at index: Int) -> Range<Int>? {
        guard let range = recordBatchByteRange(at: index), let metadata = recordBatchMetadataRange(at: index) else { return nil }
        return metadata.upperBound..<range.upperBound
    }
}

extension StreamReader {
    /// Opens the Arrow stream at `path`, memory-mapped (the default: batches are views into
    /// the mapping) or read front to back into pool buffers (works for FIFOs and devices too).
    /// Reads the schema message; errors name the path.
    public convenience init(path: String, source: FileSource = .memoryMap, options: IPCReadOptions = .init()) throws {
        let input: any SequentialInput
        do {
            switch source {
            case .memoryMap: input = RandomAccessCursor(try MappedFileInput(path: path))
            case .sharedMemoryMap: input = RandomAccessCursor(try MappedFileInput(path: path, cache: .shared))
            case .read: input = try FileDescriptorInput(path: path, pool: options.pool)
            }
            try self.init(input: input, options: options)
        } catch let error as QuiverError {
            throw error.message.contains(path) ? error : error.adding(context: path)
        }
    }
}

/// A memory-mapped file that keeps the descriptor it was mapped from: bodies are views into
/// the mapping, while each message's framing and metadata (a few hundred bytes) is copied
/// out with one `pread`.
///
/// Why: reading a batch through the mapping would touch the page holding its metadata, and
/// each first touch is a page fault that maps a whole window of pages around it (fault-around)
/// — for small batches, most of the file, and then the `munmap` must undo it. One `pread`
/// costs less than one fault, and leaves the body pages untouched until someone reads the
/// values. The copies come from a pool of their own and live only while the metadata is
/// decoded, so the caller's pool still sees zero bytes for a mapped read.
final class MappedFileInput: RandomAccessInput, @unchecked Sendable {
    /// The mapping bodies view.
    let mapping: MappedFile
    private let descriptor: FileDescriptor
    /// Where metadata copies come from (never the caller's pool: they are not buffers).
    private static let metadataPool = MemoryPool()

    /// Opens and maps `path`; with `cache`, reuses its mapping of this version of the file.
    init(path: String, cache: MappingCache? = nil) throws {
        descriptor = try FileDescriptor.open(path, .readOnly)
        do {
            mapping = try cache?.mapping(path: path, descriptor: descriptor) ?? MappedFile(descriptor: descriptor)
        } catch {
            try? descriptor.close()
            throw error
        }
    }

    deinit { try? descriptor.close() }

    var size: Int { mapping.size }

    func read(at offset: Int, count: Int) throws -> Buffer {
        try mapping.read(at: offset, count: count)
    }

    /// Advice for the descriptor's own reads (`posix_fadvise`): the metadata `pread`s.
    func adviseDescriptor(_ advice: AccessAdvice) {
        try? descriptor.advise(advice)
    }

    /// The `count` bytes at `offset` (a message's framing and flatbuffer) in a buffer of
    /// their own. Throws like `read(at:count:)`, and `.io` if the file has shrunk.
    func readMetadata(at offset: Int, count: Int) throws -> Buffer {
        try checkRange(offset: offset, count: count, within: size)
        let allocation = Self.metadataPool.allocate(byteCount: count)
        let read = try descriptor.pread(
            fillingUpTo: UnsafeMutableRawBufferPointer(start: allocation.pointer, count: count), at: offset)
        guard read == count else {
            throw QuiverError(.io, "pread(\(descriptor)): file ended at \(offset + read), before \(offset + count); it shrank after open")
        }
        return allocation.buffer(count: count)
    }
}

extension FileBlock {
    /// `[offset, offset + metadataLength + bodyLength)` if it lies inside `[0, limit)`.
    func byteRange(limit: Int) -> Range<Int>? {
        guard offset >= 0, metadataLength >= 0, bodyLength >= 0,
            offset <= Int64(limit), bodyLength <= Int64(limit)
        else { return nil }
        let end = offset + Int64(metadataLength) + bodyLength
        guard end <= Int64(limit) else { return nil }
        return Int(offset)..<Int(end)
    }
}

/// The `madvise` calls of `FileReader.scan`: read ahead of the scan, drop what is behind it.
/// Advice is only advice, so a failing call is ignored; it never changes what is read.
private struct ScanAdvisor {
    let file: MappedFile
    let limit: Int
    let readAhead: Int
    /// Bytes below this have been advised `WILLNEED` (for scans in file order).
    var aheadEnd = 0
    var lastStart = 0

    init(file: MappedFile, limit: Int, readAhead: Int) {
        self.file = file
        self.limit = limit
        self.readAhead = readAhead
    }

    func start() {
        try? file.advise(.sequential, 0..<limit)
    }

    /// Before batch `range` is read: if the scan has come within half a window of what was
    /// advised, ask for the next window (one `madvise` per half window, not per batch).
    mutating func willRead(_ range: Range<Int>?) {
        guard let range else { return }
        if range.lowerBound < lastStart { aheadEnd = range.lowerBound }  // footer not in file order
        lastStart = range.lowerBound
        let target = min(limit, max(range.upperBound, range.lowerBound + readAhead))
        guard range.upperBound > aheadEnd || target - aheadEnd >= readAhead / 2 else { return }
        let from = max(aheadEnd, range.lowerBound)
        if from < target { try? file.advise(.willNeed, from..<target) }
        aheadEnd = max(aheadEnd, target)
    }

    /// After `body` returned: drop the whole pages of batch `range`. The page holding its end
    /// also holds the start of the next message, so it goes with the next batch.
    func didRead(_ range: Range<Int>?) {
        guard let range else { return }
        let pageMask = ~(MemoryUsage.pageSize - 1)
        let first = range.lowerBound & pageMask
        let end = range.upperBound & pageMask
        if first < end { try? file.advise(.dontNeed, first..<end) }
    }
}
