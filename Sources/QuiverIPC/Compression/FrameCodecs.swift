import CLZ4
import CZstd
import QuiverBytes

/// One codec's frame format, as body compression uses it: decode a whole frame into a
/// destination of a size declared beforehand, encode a whole buffer into one frame.
///
/// Decoding checks the declared size against what the frame can possibly hold *before*
/// asking for the destination (`allocate`), so a lying prefix costs no allocation.
protocol FrameCodec {
    /// The codec's name in messages.
    static var name: String { get }
    /// The levels `compress` accepts, and the one it uses when none is given.
    static var levels: ClosedRange<Int> { get }
    static var defaultLevel: Int { get }

    /// Room past the output that lets decoding run faster (asked of the pool, not counted).
    static var decodeHeadroom: Int { get }

    /// Decodes `frame`, which must hold exactly one frame of exactly `declaredLength` bytes,
    /// into the buffer `allocate` returns (called once, after the header checks; at least
    /// `declaredLength` bytes, possibly more, which decoding may scribble on). Returns the
    /// bytes produced — more than `declaredLength` for a frame that holds more.
    static func decompress(
        _ frame: UnsafeRawBufferPointer, declaredLength: Int,
        into allocate: () -> UnsafeMutableRawBufferPointer
    ) throws -> Int

    /// The largest frame `compress` can produce for `count` bytes.
    static func compressBound(_ count: Int, level: Int) throws -> Int
    /// Encodes `raw` as one frame into `destination` (of at least `compressBound` bytes);
    /// returns the frame's length.
    static func compress(_ raw: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, level: Int) throws -> Int
}

extension CompressionCodec {
    var frameCodec: any FrameCodec.Type {
        switch self {
        case .lz4Frame: LZ4Frame.self
        case .zstd: ZstdFrame.self
        }
    }
}

/// A `.compression` error for a frame that cannot be decoded.
func corruptFrame(_ codec: String, _ why: String) -> QuiverError {
    QuiverError(.compression, "\(codec) frame: \(why)")
}

// MARK: - LZ4 frame

/// The LZ4 frame format (`lz4frame.h`), which Arrow's `LZ4_FRAME` codec uses.
enum LZ4Frame: FrameCodec {
    static let name = "LZ4"
    // Arrow C++ accepts 1...LZ4F_compressionLevel_max() and defaults to 1 (the fast mode).
    static let levels = 1...Int(LZ4F_compressionLevel_max())
    static let defaultLevel = 1

    /// The most an LZ4 block can expand: a match costs at least one byte per 255 it repeats.
    static let maxRatio = 255
    /// Slack for frames too small for the ratio to mean anything.
    static let ratioSlack = 64 << 10
    /// The largest block size: with this much room past the output, liblz4 decodes a frame's
    /// last block straight into place instead of into its own buffer and copying it over.
    static let decodeHeadroom = 64 << 10

    private static let decompressionContexts = ContextCache(
        "LZ4F decompression",
        make: {
            var context: OpaquePointer?
            let code = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
            return LZ4F_isError(code) != 0 ? nil : context
        },
        reset: { LZ4F_resetDecompressionContext($0) },
        destroy: { _ = LZ4F_freeDecompressionContext($0) })

    private static func check(_ code: Int, _ doing: String) throws {
        if LZ4F_isError(code) != 0 {
            throw corruptFrame(name, "\(doing): \(String(cString: LZ4F_getErrorName(code)))")
        }
    }

    static func decompress(
        _ frame: UnsafeRawBufferPointer, declaredLength: Int,
        into allocate: () -> UnsafeMutableRawBufferPointer
    ) throws -> Int {
        let bound = try checkedSum(checkedProduct(frame.count, maxRatio), ratioSlack)
        guard declaredLength <= bound else {
            throw QuiverError(
                .capacityExceeded,
                "LZ4 frame of \(frame.count) bytes cannot hold the declared \(declaredLength) bytes (max ratio \(maxRatio))")
        }
        guard let source = frame.baseAddress else { throw corruptFrame(name, "empty") }
        return try decompressionContexts.withContext { context in
            var info = LZ4F_frameInfo_t()
            var read = frame.count
            try check(LZ4F_getFrameInfo(context, &info, source, &read), "reading the header")
            if info.contentSize != 0 && info.contentSize != UInt64(declaredLength) {
                throw corruptFrame(name, "header says \(info.contentSize) bytes, prefix says \(declaredLength)")
            }
            let destination = allocate()
            var written = 0
            while true {
                var produced = destination.count - written
                var consumed = frame.count - read
                let hint = LZ4F_decompress(
                    context, destination.baseAddress.map { $0 + written }, &produced, source + read, &consumed, nil)
                try check(hint, "decoding")
                read += consumed
                written += produced
                if hint == 0 { break }  // the frame ended
                if consumed == 0 && produced == 0 {
                    throw corruptFrame(
                        name,
                        written >= declaredLength
                            ? "holds more than the declared \(declaredLength) bytes" : "truncated after \(written) bytes")
                }
            }
            guard read == frame.count else {
                throw corruptFrame(name, "\(frame.count - read) bytes follow the end of the frame")
            }
            return written
        }
    }

    private static func preferences(contentSize: Int, level: Int) -> LZ4F_preferences_t {
        var preferences = LZ4F_preferences_t()
        preferences.frameInfo.contentSize = UInt64(contentSize)
        preferences.compressionLevel = Int32(level)
        return preferences
    }

    static func compressBound(_ count: Int, level: Int) throws -> Int {
        var preferences = preferences(contentSize: count, level: level)
        return LZ4F_compressFrameBound(count, &preferences)
    }

    static func compress(_ raw: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, level: Int) throws -> Int {
        var preferences = preferences(contentSize: raw.count, level: level)
        let written = LZ4F_compressFrame(destination.baseAddress, destination.count, raw.baseAddress, raw.count, &preferences)
        if LZ4F_isError(written) != 0 {
            throw QuiverError(.compression, "LZ4 compression failed: \(String(cString: LZ4F_getErrorName(written)))")
        }
        return written
    }
}

// MARK: - Zstandard

/// The Zstandard frame format (`zstd.h`), Arrow's `ZSTD` codec.
enum ZstdFrame: FrameCodec {
    static let name = "ZSTD"
    static let levels = Int(ZSTD_minCLevel())...Int(ZSTD_maxCLevel())
    // Arrow C++'s kZSTDDefaultCompressionLevel (compression_internal.h) is 1, not zstd's 3.
    static let defaultLevel = 1

    /// The most one block can produce (`ZSTD_BLOCKSIZE_MAX`); a block that produces anything
    /// takes at least 4 bytes (3-byte header + 1), so a frame of `n` bytes holds at most
    /// `n / 4` such blocks. This bounds frames that do not record their content size.
    static let maxBlockOutput = 128 << 10
    static let minBlockInput = 4
    static let decodeHeadroom = 0
    private static let contentSizeUnknown = UInt64.max
    private static let contentSizeError = UInt64.max - 1

    private static let decompressionContexts = ContextCache(
        "ZSTD decompression", make: { ZSTD_createDCtx() }, destroy: { _ = ZSTD_freeDCtx($0) })
    private static let compressionContexts = ContextCache(
        "ZSTD compression", make: { ZSTD_createCCtx() }, destroy: { _ = ZSTD_freeCCtx($0) })

    private static func errorName(_ code: Int) -> String { String(cString: ZSTD_getErrorName(code)) }

    static func decompress(
        _ frame: UnsafeRawBufferPointer, declaredLength: Int,
        into allocate: () -> UnsafeMutableRawBufferPointer
    ) throws -> Int {
        guard let source = frame.baseAddress else { throw corruptFrame(name, "empty") }
        // Walks the block headers (cheap, no decoding): catches truncation and garbage early.
        let firstFrameLength = ZSTD_findFrameCompressedSize(source, frame.count)
        if ZSTD_isError(firstFrameLength) != 0 { throw corruptFrame(name, errorName(firstFrameLength)) }
        // Several concatenated frames are valid zstd (Arrow C++ decodes them); only a single
        // frame's header states the total, otherwise fall back to the block bound.
        let contentSize =
            firstFrameLength == frame.count ? ZSTD_getFrameContentSize(source, frame.count) : contentSizeUnknown
        switch contentSize {
        case contentSizeError:
            throw corruptFrame(name, "unreadable header")
        case contentSizeUnknown:
            let bound = try checkedProduct(frame.count / minBlockInput + 1, maxBlockOutput)
            guard declaredLength <= bound else {
                throw QuiverError(
                    .capacityExceeded, "ZSTD frame of \(frame.count) bytes cannot hold the declared \(declaredLength) bytes")
            }
        case UInt64(declaredLength):
            break
        default:
            throw corruptFrame(name, "header says \(contentSize) bytes, prefix says \(declaredLength)")
        }
        let destination = allocate()
        let produced = try decompressionContexts.withContext { context in
            ZSTD_decompressDCtx(context, destination.baseAddress, destination.count, source, frame.count)
        }
        if ZSTD_isError(produced) != 0 { throw corruptFrame(name, errorName(produced)) }
        return produced
    }

    static func compressBound(_ count: Int, level: Int) throws -> Int {
        let bound = ZSTD_compressBound(count)
        if ZSTD_isError(bound) != 0 {
            throw QuiverError(.compression, "ZSTD cannot compress \(count) bytes: \(errorName(bound))")
        }
        return bound
    }

    static func compress(_ raw: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, level: Int) throws -> Int {
        let written = try compressionContexts.withContext { context in
            ZSTD_compressCCtx(context, destination.baseAddress, destination.count, raw.baseAddress, raw.count, Int32(level))
        }
        if ZSTD_isError(written) != 0 {
            throw QuiverError(.compression, "ZSTD compression failed: \(errorName(written))")
        }
        return written
    }
}
