import QuiverArrow
import QuiverBytes

/// How IPC readers decode (pyarrow's `IpcReadOptions`).
public struct IPCReadOptions: Sendable {
    /// Skip the O(data) validation (offsets, utf8, indices, run ends) of decoded arrays: only
    /// for input the caller wrote itself. The O(1) structural checks always run.
    public var trusted: Bool
    /// Where the few allocations a read needs come from: decompressed buffers, buffers copied
    /// because the input misaligned them, concatenated delta dictionaries, stream bytes that
    /// arrive in pieces.
    public var pool: MemoryPool
    /// The largest message metadata (flatbuffer) accepted, checked before it is read.
    public var maxMetadataLength: Int
    /// The deepest type nesting accepted when walking fields (bounds recursion on hostile input).
    public var maxNestingDepth: Int
    /// Whether a large record batch may be decoded on several cores (a column per task:
    /// decompressed, decoded and validated). Off: everything on the calling thread (pyarrow's
    /// `use_threads`), e.g. when the caller already reads batches in parallel.
    public var useThreads: Bool

    /// Untrusted input, the default pool, 64 MiB metadata cap, nesting depth 64, threads.
    public init(
        trusted: Bool = false, pool: MemoryPool = .default, maxMetadataLength: Int = 64 << 20,
        maxNestingDepth: Int = 64, useThreads: Bool = true
    ) {
        self.trusted = trusted
        self.pool = pool
        self.maxMetadataLength = maxMetadataLength
        self.maxNestingDepth = maxNestingDepth
        self.useThreads = useThreads
    }

    /// `options` with `useThreads` replaced.
    init(copying options: IPCReadOptions, useThreads: Bool) {
        self = options
        self.useThreads = useThreads
    }
}

/// How IPC writers encode (pyarrow's `IpcWriteOptions`).
public struct IPCWriteOptions: Sendable {
    /// Body buffers are padded to this multiple (8, or 64 for SIMD-friendly readers); with 64
    /// the metadata is padded too, so every body starts 64-byte aligned relative to the start
    /// of the output.
    public var alignment: Int
    /// Per-buffer body compression, or nil to write buffers raw.
    public var compression: CompressionCodec?
    /// Codec level (nil: the codec's default).
    public var compressionLevel: Int?
    /// When a batch's dictionary extends the one written before, write only the new entries as
    /// a delta dictionary batch; otherwise a stream writes a replacement dictionary (and a file
    /// writer, which may not replace dictionaries, throws).
    public var emitDictionaryDeltas: Bool
    /// Where re-based buffers (shifted bitmaps/offsets) and compressed buffers come from.
    public var pool: MemoryPool

    /// 8-byte alignment, no compression, no deltas, the default pool.
    public init(
        alignment: Int = 8, compression: CompressionCodec? = nil, compressionLevel: Int? = nil,
        emitDictionaryDeltas: Bool = false, pool: MemoryPool = .default
    ) {
        self.alignment = alignment
        self.compression = compression
        self.compressionLevel = compressionLevel
        self.emitDictionaryDeltas = emitDictionaryDeltas
        self.pool = pool
    }

    /// Throws `invalidArgument` unless the alignment is 8 or 64.
    func check() throws {
        guard alignment == 8 || alignment == 64 else {
            throw QuiverError(.invalidArgument, "IPC alignment must be 8 or 64, not \(alignment)")
        }
    }
}

/// Counters of what a reader or writer has handled (pyarrow's `ReadStats`/`WriteStats`).
public struct IPCStats: Sendable, Hashable {
    /// Messages read or written, of any kind (the schema included).
    public var numMessages = 0
    /// Record batches.
    public var numRecordBatches = 0
    /// Dictionary batches (new, delta or replacement).
    public var numDictionaryBatches = 0
    /// Dictionary batches that were deltas.
    public var numDictionaryDeltas = 0
    /// Dictionary batches that replaced an existing dictionary.
    public var numReplacedDictionaries = 0

    /// All counters at zero.
    public init() {}

    mutating func record(_ update: DictionaryMemo.Update) {
        numDictionaryBatches += 1
        switch update {
        case .new: break
        case .delta: numDictionaryDeltas += 1
        case .replacement: numReplacedDictionaries += 1
        }
    }
}
