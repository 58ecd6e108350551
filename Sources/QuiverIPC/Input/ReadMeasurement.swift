import QuiverArrow
import QuiverBytes

/// What reading an Arrow file or stream one way costs: time, bytes the library allocated,
/// resident memory (what `quiver demo` and `quiver info --memory` print).
///
/// Three different questions, never mixed up:
/// - **allocated**: `MemoryPool.default.totalAllocatedBytes` grown while the batches are held
///   (pyarrow's `total_allocated_bytes`): heap buffers Quiver made. A memory map makes none.
/// - **RSS Δ**: the process's resident set grown over the read (`/proc/self/statm`): heap
///   pages written plus file pages mapped in.
/// - **mapped pages**: the pages of the file's mapping that are in this process's resident set
///   (`Rss` of the mapping in `/proc/self/smaps`) — file-backed pages shared with the page
///   cache, which the kernel can drop and read again; not allocations.
public struct ReadMeasurement: Sendable {
    /// File or stream.
    public var format: ArrowFormat
    /// Plain read or memory map.
    public var source: FileSource
    /// The input's size.
    public var bytesOnDisk: Int
    /// Record batches read.
    public var batches = 0
    /// Rows read.
    public var rows = 0
    /// Wall-clock seconds the read took.
    public var seconds = 0.0
    /// Bytes `MemoryPool.default` allocated for the batches.
    public var allocatedBytes = 0
    /// Growth of the process's resident set over the read (nil: not measurable here).
    public var rssDelta: Int?
    /// Bytes of the mapping in this process's resident set after the read (nil: not mapped).
    public var mappedResidentBytes: Int?
    /// The mapping's size (nil: not mapped).
    public var mappingBytes: Int?
    /// Bytes of the mapping in the page cache after the read (`mincore`; nil: not mapped).
    public var mappingCachedBytes: Int?

    /// A measurement of reading nothing yet.
    public init(format: ArrowFormat, source: FileSource, bytesOnDisk: Int) {
        self.format = format
        self.source = source
        self.bytesOnDisk = bytesOnDisk
    }

    /// Reads every batch of `path` as `format` with `source` and measures it. The batches are
    /// returned so the caller can hold (and compute over) them; the figures are taken while
    /// they are held. Cost: the whole read, plus one walk of `/proc/self/smaps` and one
    /// `mincore` over the mapping when memory-mapped.
    public static func measure(
        path: String, format: ArrowFormat, source: FileSource
    ) throws -> (ReadMeasurement, [RecordBatch]) {
        let pool = MemoryPool.default
        var row = ReadMeasurement(format: format, source: source, bytesOnDisk: try ReadFileInput(path: path).size)
        let rssBefore = try? MemoryUsage.residentSetBytes()
        let allocatedBefore = pool.totalAllocatedBytes
        let start = ContinuousClock.now
        let batches =
            switch format {
            case .file: try FileReader(path: path, source: source).readBatches()
            case .stream: try StreamReader(path: path, source: source).readBatches()
            }
        let elapsed = (ContinuousClock.now - start).components
        row.seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        row.allocatedBytes = pool.totalAllocatedBytes - allocatedBefore
        if let before = rssBefore, let after = try? MemoryUsage.residentSetBytes() { row.rssDelta = after - before }
        row.batches = batches.count
        row.rows = batches.reduce(0) { $0 + $1.length }
        if let residency = mappingResidency(of: batches) {
            row.mappingBytes = residency.mappingBytes
            row.mappedResidentBytes = residency.inProcess
            row.mappingCachedBytes = residency.inPageCache
        }
        return (row, batches)
    }

    /// How much of the memory mapping that `batches` view (if any) is resident now: its size,
    /// the bytes in this process's resident set (`/proc/self/smaps`) and in the page cache
    /// (`mincore`); nil figures could not be measured. Nil when no buffer is mapped. Cost: one
    /// walk of `/proc/self/smaps` and one `mincore` over the mapping.
    public static func mappingResidency(
        of batches: [RecordBatch]
    ) -> (mappingBytes: Int, inProcess: Int?, inPageCache: Int?)? {
        guard let mapping = batches.lazy.compactMap(\.memoryMapping).first else { return nil }
        let whole = Buffer(owner: mapping, baseAddress: mapping.address, count: mapping.length)
        return (
            mapping.length, try? MemoryUsage.mappedResidentBytes(of: mapping), try? MemoryUsage.residentBytes(of: whole)
        )
    }
}
