import Foundation
import QuiverArrow
import QuiverBytes
@testable import QuiverIPC
import QuiverTestSupport
import Testing

/// Compressed files and streams mutated every way a disk, a network or an attacker might:
/// flipped bytes, truncations, altered per-buffer length prefixes. Each must read as valid
/// batches or fail with a `QuiverError` — never crash, never allocate past a checked cap.
/// (Runs under AddressSanitizer in `make test-asan`.)
@Suite(.tags(.untrustedInput)) struct CompressionMutationTests {
    static func sample(_ codec: CompressionCodec, file: Bool) throws -> Buffer {
        let rows = 3000
        let schema = Schema([
            Field("i", .int64), Field("s", .utf8), Field("l", .list(Field("item", .int32))),
            Field("d", .dictionary(index: .int16, value: .utf8, ordered: false)),
        ])
        let strings = try ArrayData.build((0..<rows).map { $0 % 11 == 0 ? .null : ArrowValue.string("value \($0 % 97)") }, type: .utf8)
        let lists = try ArrayData.build(
            (0..<rows).map { ArrowValue.list((0..<($0 % 4)).map { .int(Int64($0)) }) }, type: .list(Field("item", .int32)))
        let dictionaryValues = try ArrayData.build(["red", "green", "blue"].map { ArrowValue.string($0) }, type: .utf8)
        var indices = ArrayData.build(from: (0..<rows).map { Int16($0 % 3) })
        indices.type = .dictionary(index: .int16, value: .utf8, ordered: false)
        indices.dictionary = dictionaryValues
        let batch = try RecordBatch(schema: schema, columns: [
            ArrayData.build(from: (0..<rows).map { $0 % 7 == 0 ? nil : Int64($0 % 100) }), strings, lists, indices,
        ])
        let sink = BufferOutputStream()
        let options = IPCWriteOptions(compression: codec)
        if file {
            let writer = try FileWriter(output: sink, schema: schema, options: options)
            try writer.write(batch)
            try writer.write(batch.slice(from: 17, length: 1000))
            try writer.finish()
        } else {
            let writer = try StreamWriter(output: sink, schema: schema, options: options)
            try writer.write(batch)
            try writer.write(batch.slice(from: 17, length: 1000))
            try writer.finish()
        }
        return sink.getvalue()
    }

    /// Reads everything; returns whether it succeeded. Any error other than QuiverError fails.
    @discardableResult
    static func readEverything(_ bytes: [UInt8], file: Bool, pool: MemoryPool) -> Bool {
        do {
            let buffer = Buffer(copying: bytes, pool: pool)
            let batches = file
                ? try FileReader(buffer: buffer, options: IPCReadOptions(pool: pool)).readBatches()
                : try StreamReader(buffer: buffer, options: IPCReadOptions(pool: pool)).readBatches()
            for batch in batches { for column in batch.columns { try column.validate(full: true) } }
            return true
        } catch is QuiverError {
            return false
        } catch {
            Issue.record("non-Quiver error: \(error)")
            return false
        }
    }

    static let cases: [(CompressionCodec, Bool)] = [(.lz4Frame, true), (.lz4Frame, false), (.zstd, true), (.zstd, false)]

    @Test(arguments: 0..<4) func flippedBytesAndTruncations(_ caseIndex: Int) throws {
        let (codec, file) = Self.cases[caseIndex]
        let original = try Self.sample(codec, file: file).array
        let pool = MemoryPool()
        #expect(Self.readEverything(original, file: file, pool: pool))
        var generator = SeededRandom(seed: UInt64(caseIndex) + 1)
        for _ in 0..<400 {
            var mutated = original
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let index = Int.random(in: 0..<mutated.count, using: &generator)
                mutated[index] ^= UInt8.random(in: 1...255, using: &generator)
            }
            Self.readEverything(mutated, file: file, pool: pool)
        }
        for cut in stride(from: 0, to: original.count, by: max(1, original.count / 300)) {
            Self.readEverything(Array(original[0..<cut]), file: file, pool: pool)
        }
        // Nothing sized by a hostile length: the peak stays near the honest decompressed size.
        #expect(pool.peakAllocatedBytes < 64 << 20, "peak \(pool.peakAllocatedBytes)")
        #expect(pool.totalAllocatedBytes == 0)
    }

    /// Every buffer's int64 length prefix set to hostile values.
    @Test(arguments: 0..<4) func alteredLengthPrefixes(_ caseIndex: Int) throws {
        let (codec, file) = Self.cases[caseIndex]
        let buffer = try Self.sample(codec, file: file)
        let original = buffer.array
        // Locate every record batch body and its buffer regions through the message reader.
        let messages = MessageReader(RandomAccessCursor(BufferInput(buffer), startingAt: file ? 8 : 0))
        var prefixOffsets: [Int] = []
        while let message = try messages.next() {
            let header: RecordBatchHeader
            switch message.metadata.header {
            case .recordBatch(let h): header = h
            case .dictionaryBatch(let d): header = d.data
            case .schema: continue
            }
            let bodyStart = message.body.baseAddress - buffer.baseAddress
            for region in header.buffers where region.length >= 8 {
                prefixOffsets.append(bodyStart + Int(region.offset))
            }
        }
        #expect(prefixOffsets.count > 8)
        let pool = MemoryPool()
        let hostile: [Int64] = [-2, -1, 0, 1, Int64.max, Int64.min, 1 << 40, 1 << 31, 255]
        for offset in prefixOffsets {
            let honest = Int64(littleEndian: original.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Int64.self) })
            for value in hostile + [honest + 1, honest - 1, honest * 2] {
                var mutated = original
                withUnsafeBytes(of: value.littleEndian) { mutated.replaceSubrange(offset..<offset + 8, with: $0) }
                Self.readEverything(mutated, file: file, pool: pool)
            }
        }
        #expect(pool.peakAllocatedBytes < 64 << 20, "peak \(pool.peakAllocatedBytes)")
    }
}

