import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverTestSupport
import Testing

/// Test inputs: incompressible noise, compressible text-like bytes, runs, and edge sizes.
enum Sample: String, CaseIterable, Sendable {
    case empty, oneByte, random, words, zeros, large

    var bytes: [UInt8] {
        switch self {
        case .empty: []
        case .oneByte: [42]
        case .random: noise(100_000, seed: 1)
        case .words: text(100_000)
        case .zeros: [UInt8](repeating: 0, count: 1 << 20)
        case .large: text(3 << 20) + noise(1 << 20, seed: 2)
        }
    }
}

private func noise(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed &+ 0x9E37_79B9_7F4A_7C15
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(truncatingIfNeeded: state >> 33)
    }
}

/// Words picked at random: compresses about 3–4× (like real string columns), not 1000×.
private func text(_ count: Int) -> [UInt8] {
    let words = ["arrow", "quiver", "buffer", "column", "batch", "stream", "file", "zero", "copy", "a", "the"]
    let picks = noise(count / 2, seed: 99)
    var out: [UInt8] = []
    out.reserveCapacity(count + 16)
    var index = 0
    while out.count < count {
        out += Array(words[Int(picks[index % picks.count]) % words.count].utf8) + [UInt8(ascii: " ")]
        index += 1
    }
    return Array(out.prefix(count))
}

private func prefixed(_ length: Int64, _ frame: [UInt8]) -> Buffer {
    withUnsafeBytes(of: length.littleEndian) { Buffer(copying: Array($0) + frame) }
}

private func prefix(of buffer: Buffer) throws -> Int64 { try buffer.readLittleEndian(Int64.self, at: 0) }

/// A hand-made zstd frame with no content size: one RLE block repeating `byte` `count`
/// times (`count` ≤ 128 KiB). Ten bytes that claim nothing about their output size.
private func zstdRLEFrame(_ byte: UInt8, count: Int) -> [UInt8] {
    let blockHeader = UInt32(count) << 3 | 1 << 1 | 1  // size, type RLE, last block
    return [0x28, 0xB5, 0x2F, 0xFD,  // magic
            0x00,  // frame header descriptor: no content size, not single-segment
            0x38,  // window descriptor: 2^(10+7) = 128 KiB
            UInt8(blockHeader & 0xFF), UInt8(blockHeader >> 8 & 0xFF), UInt8(blockHeader >> 16), byte]
}

private let pyarrowAvailable: Bool = {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", "import pyarrow"]
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}()

@Suite(.tags(.untrustedInput)) struct CompressionTests {
    @Test(arguments: CompressionCodec.allCases, Sample.allCases)
    func roundTrip(codec: CompressionCodec, sample: Sample) throws {
        let bytes = sample.bytes
        let pool = MemoryPool()
        do {
            let raw = Buffer(copying: bytes, pool: pool)
            let compressed = try BodyCompression.compress(codec, raw, pool: pool)
            switch sample {
            case .empty:
                #expect(compressed.count == 0)
            case .oneByte, .random:
                #expect(try prefix(of: compressed) == -1)
                #expect(compressed.count == 8 + bytes.count)
            case .words, .zeros, .large:
                #expect(try prefix(of: compressed) == Int64(bytes.count))
                #expect(compressed.count < bytes.count * (sample == .zeros ? 1 : 3) / 4 + 8)
            }
            let restored = try BodyCompression.decompress(codec, compressed, pool: pool)
            #expect(restored.contentEquals(raw))
            #expect(restored.isAligned(to: 8))
        }
        #expect(pool.totalAllocatedBytes == 0)
    }

    @Test(arguments: CompressionCodec.allCases)
    func storedRawIsAZeroCopySlice(codec: CompressionCodec) throws {
        let compressed = try BodyCompression.compress(codec, Buffer(copying: noise(5000, seed: 3)))
        #expect(try prefix(of: compressed) == -1)
        let pool = MemoryPool()
        let restored = try BodyCompression.decompress(codec, compressed, pool: pool)
        #expect(restored.baseAddress == compressed.baseAddress + 8)
        #expect(restored.count == 5000)
        #expect(pool.allocationCount == 0)
    }

    @Test func levels() throws {
        let raw = Buffer(copying: text(200_000))
        for (codec, level) in [(CompressionCodec.zstd, -5), (.zstd, 19), (.lz4Frame, 9), (.lz4Frame, 12)] {
            let compressed = try BodyCompression.compress(codec, level: level, raw)
            #expect(try BodyCompression.decompress(codec, compressed).contentEquals(raw))
        }
        let fast = try BodyCompression.compress(.zstd, level: 1, raw)
        let strong = try BodyCompression.compress(.zstd, level: 19, raw)
        #expect(strong.count < fast.count)
        for (codec, level) in [(CompressionCodec.zstd, 1000), (.lz4Frame, 0), (.lz4Frame, 13)] {
            let error = #expect(throws: QuiverError.self) { try BodyCompression.compress(codec, level: level, raw) }
            #expect(error?.code == .invalidArgument)
        }
    }

    @Test(.enabled(if: pyarrowAvailable))
    func pyarrowFramesDecodeHereAndOursDecodeThere() throws {
        let directory = try TestPaths.temporaryDirectory("quiver-compression")
        let data = text(300_000) + noise(5000, seed: 4) + [UInt8](repeating: 9, count: 100_000)
        try Data(data).write(to: directory.appendingPathComponent("data"))
        for codec in CompressionCodec.allCases {
            let ours = try BodyCompression.compress(codec, Buffer(copying: data))
            #expect(try prefix(of: ours) == Int64(data.count))
            try Data(ours.array.dropFirst(8)).write(to: directory.appendingPathComponent("\(codec).quiver"))
        }
        let script = """
            import os, sys, pyarrow as pa
            d = sys.argv[1]
            data = open(os.path.join(d, 'data'), 'rb').read()
            for ours, name in (('lz4Frame', 'lz4'), ('zstd', 'zstd')):
                frame = open(os.path.join(d, ours + '.quiver'), 'rb').read()
                assert pa.decompress(frame, decompressed_size=len(data), codec=name, asbytes=True) == data, name
                open(os.path.join(d, ours + '.pyarrow'), 'wb').write(pa.compress(data, codec=name, asbytes=True))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, directory.path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        for codec in CompressionCodec.allCases {
            let frame = try [UInt8](Data(contentsOf: directory.appendingPathComponent("\(codec).pyarrow")))
            let restored = try BodyCompression.decompress(codec, prefixed(Int64(data.count), frame))
            #expect(restored.array == data)
            // pyarrow's LZ4 frames carry no content size: a wrong prefix is caught by the
            // frame running out early or holding more.
            for wrong in [data.count - 1, data.count + 1] {
                let error = #expect(throws: QuiverError.self) {
                    try BodyCompression.decompress(codec, prefixed(Int64(wrong), frame))
                }
                #expect(error?.code == .compression)
            }
        }
    }

    @Test(arguments: CompressionCodec.allCases)
    func everyTruncationIsAnError(codec: CompressionCodec) throws {
        let data = text(20_000)
        let compressed = try BodyCompression.compress(codec, Buffer(copying: data))
        let frame = Array(compressed.array.dropFirst(8))
        #expect(frame.count > 100)
        let pool = MemoryPool()
        for length in 0..<frame.count {
            #expect(throws: QuiverError.self) {
                try BodyCompression.decompress(codec, prefixed(Int64(data.count), Array(frame.prefix(length))), pool: pool)
            }
        }
        #expect(pool.peakAllocatedBytes <= alignUp(data.count, to: 64))
        for short in 1..<8 {
            let error = #expect(throws: QuiverError.self) {
                try BodyCompression.decompress(codec, Buffer(copying: Array(compressed.array.prefix(short))))
            }
            #expect(error?.code == .compression)
        }
        let trailing = #expect(throws: QuiverError.self) {
            try BodyCompression.decompress(codec, prefixed(Int64(data.count), frame + [0, 1, 2, 3]))
        }
        #expect(trailing?.code == .compression)
    }

    @Test(arguments: CompressionCodec.allCases)
    func flippedBytesNeverCrashOrMisreport(codec: CompressionCodec) throws {
        let data = text(6000)
        let frame = Array(try BodyCompression.compress(codec, Buffer(copying: data)).array.dropFirst(8))
        let pool = MemoryPool()
        var failures = 0
        for position in 0..<frame.count {
            for mask: UInt8 in [0x01, 0x80, 0xFF] {
                var corrupt = frame
                corrupt[position] ^= mask
                do {
                    // Without a content checksum (Arrow writes none) some flips decode to other
                    // bytes; what must hold is the declared length, exactly.
                    let restored = try BodyCompression.decompress(codec, prefixed(Int64(data.count), corrupt), pool: pool)
                    #expect(restored.count == data.count)
                } catch is QuiverError {
                    failures += 1
                }
            }
        }
        #expect(failures > frame.count / 10)
        #expect(pool.peakAllocatedBytes <= 2 * alignUp(data.count, to: 64))
        // The magic number is always checked.
        var badMagic = frame
        badMagic[0] ^= 0xFF
        let error = #expect(throws: QuiverError.self) {
            try BodyCompression.decompress(codec, prefixed(Int64(data.count), badMagic))
        }
        #expect(error?.code == .compression)
    }

    @Test(arguments: CompressionCodec.allCases)
    func lyingLengthsAllocateNothing(codec: CompressionCodec) throws {
        let data = text(50_000)
        let frame = Array(try BodyCompression.compress(codec, Buffer(copying: data)).array.dropFirst(8))
        // Under the 2 GiB cap, LZ4 refuses by ratio, ZSTD by the content size in the header.
        let underCap: QuiverError.Code = codec == .lz4Frame ? .capacityExceeded : .compression
        let cases: [(Int64, QuiverError.Code)] = [
            (1 << 40, .capacityExceeded), (Int64.max, .capacityExceeded), (1 << 30, underCap),
            (-2, .compression), (Int64.min, .compression),
            (Int64(data.count + 1), .compression), (Int64(data.count - 1), .compression), (0, .compression),
        ]
        for (declared, code) in cases {
            let pool = MemoryPool()
            let error = #expect(throws: QuiverError.self) {
                try BodyCompression.decompress(codec, prefixed(declared, frame), pool: pool)
            }
            #expect(error?.code == code, "declared \(declared)")
            // Our frames record their content size, so a mismatch is caught before allocating.
            #expect(pool.peakAllocatedBytes == 0, "declared \(declared)")
        }
        let capped = #expect(throws: QuiverError.self) {
            try BodyCompression.decompress(
                codec, prefixed(Int64(data.count), frame), pool: MemoryPool(), maxUncompressedLength: data.count - 1)
        }
        #expect(capped?.code == .capacityExceeded)
    }

    @Test(arguments: CompressionCodec.allCases)
    func decodedBuffersKeepTheirPaddingZeroed(codec: CompressionCodec) throws {
        // Decoders get room past the output (liblz4 writes ahead of it); what the pool
        // promises still holds: the bytes up to the next multiple of 64 read as zeros.
        let pool = MemoryPool()
        for count in [1000, 65_537, 100_001, 200_000 - 3] {
            let data = text(count)
            for _ in 0..<2 {  // the second time in a recycled block, written before
                let compressed = try BodyCompression.compress(codec, Buffer(copying: data))
                let restored = try BodyCompression.decompress(codec, compressed, pool: pool)
                #expect(restored.array == data)
                let padding = (restored.count..<alignUp(restored.count, to: 64)).map {
                    restored.baseAddress.load(fromByteOffset: $0, as: UInt8.self)
                }
                #expect(padding.allSatisfy { $0 == 0 }, "\(count) bytes")
                #expect(pool.totalAllocatedBytes == alignUp(count, to: 64))
            }
        }
    }

    @Test func zstdFramesWithoutContentSizeAreBoundedByTheirBlocks() throws {
        let frame = zstdRLEFrame(7, count: 100_000)
        let pool = MemoryPool()
        let restored = try BodyCompression.decompress(.zstd, prefixed(100_000, frame), pool: pool)
        #expect(restored.array == [UInt8](repeating: 7, count: 100_000))
        for declared: Int64 in [1 << 30, 1 << 20] {
            let huge = MemoryPool()
            let error = #expect(throws: QuiverError.self) {
                try BodyCompression.decompress(.zstd, prefixed(declared, frame), pool: huge)
            }
            #expect(error?.code == .capacityExceeded)
            #expect(huge.peakAllocatedBytes == 0)
        }
        for declared: Int64 in [99_999, 100_001, 0] {
            let error = #expect(throws: QuiverError.self) {
                try BodyCompression.decompress(.zstd, prefixed(declared, frame), pool: MemoryPool())
            }
            #expect(error?.code == .compression)
        }
    }

    @Test func lz4FramesWithoutContentSizeDecodeAfterAFailure() throws {
        // `printf hello | lz4 -c --no-frame-crc`: no content size, one uncompressed block.
        let hello: [UInt8] = [0x04, 0x22, 0x4D, 0x18, 0x60, 0x40, 0x82, 0x05, 0x00, 0x00, 0x80]
            + Array("hello".utf8) + [0, 0, 0, 0]
        let ours = try BodyCompression.compress(.lz4Frame, Buffer(copying: text(10_000)))
        for _ in 0..<10 {
            // A failed decode must not poison the context the next decode gets.
            #expect(throws: QuiverError.self) { try BodyCompression.decompress(.lz4Frame, ours.slice(offset: 0, count: 500)) }
            #expect(try BodyCompression.decompress(.lz4Frame, prefixed(5, hello)).array == Array("hello".utf8))
        }
        for declared: Int64 in [4, 6, 0] {
            let error = #expect(throws: QuiverError.self) { try BodyCompression.decompress(.lz4Frame, prefixed(declared, hello)) }
            #expect(error?.code == .compression)
        }
    }

    @Test func emptyFramesAndEmptyBuffers() throws {
        let pool = MemoryPool()
        #expect(try BodyCompression.decompress(.lz4Frame, .empty, pool: pool).count == 0)
        #expect(try BodyCompression.decompress(.zstd, prefixed(-1, []), pool: pool).count == 0)
        #expect(try BodyCompression.decompress(.zstd, prefixed(0, zstdRLEFrame(1, count: 0)), pool: pool).count == 0)
        #expect(pool.allocationCount == 0)
    }

    @Test(arguments: CompressionCodec.allCases)
    func manyBuffersInParallel(codec: CompressionCodec) throws {
        let samples: [[UInt8]] = (0..<12).map { index in
            switch index % 4 {
            case 0: text(300_000 + index)
            case 1: noise(200_000, seed: UInt64(index))
            case 2: []
            default: [UInt8](repeating: UInt8(index), count: 150_000)
            }
        }
        let pool = MemoryPool()
        let raws = samples.map { Buffer(copying: $0, pool: pool) }
        #expect(raws.reduce(0) { $0 + $1.count } >= BodyCompression.parallelThreshold)
        let compressed = try BodyCompression.compressAll(codec, raws, pool: pool)
        for (one, raw) in zip(compressed, raws) {
            #expect(try one.contentEquals(BodyCompression.compress(codec, raw)))
        }
        let restored = try BodyCompression.decompressAll(codec, compressed, pool: pool)
        #expect(restored.count == raws.count)
        for (one, raw) in zip(restored, raws) { #expect(one.contentEquals(raw)) }

        var broken = compressed
        broken[4] = try broken[4].slice(offset: 0, count: broken[4].count / 2)
        let error = #expect(throws: QuiverError.self) { try BodyCompression.decompressAll(codec, broken, pool: pool) }
        #expect(error?.context == ["buffer 4"])
        // Small messages take the serial path and report the same way.
        let small = [Buffer(copying: [1, 2, 3]), Buffer(copying: [1, 0, 0])]
        let smallError = #expect(throws: QuiverError.self) { try BodyCompression.decompressAll(codec, small) }
        #expect(smallError?.context == ["buffer 0"])
    }
}
