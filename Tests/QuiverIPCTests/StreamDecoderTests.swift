import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverTestSupport
import Testing

/// The incremental decoder yields what the whole-stream reader reads, however the bytes
/// are split, and fails on malformed streams with the reader's typed errors.
@Suite struct StreamDecoderTests {
    static func files(_ directory: URL, suffix: String? = nil) -> [URL] {
        let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)
        return (enumerator?.compactMap { $0 as? URL } ?? [])
            .filter { suffix == nil ? !$0.hasDirectoryPath : $0.lastPathComponent.hasSuffix(suffix!) }
            .sorted { $0.path < $1.path }
    }

    /// Batches read whole, then the error that stopped the reader (nil: none).
    static func readWhole(_ bytes: [UInt8]) -> ([RecordBatch], QuiverError.Code?) {
        var batches: [RecordBatch] = []
        do {
            let reader = try StreamReader(bytes: bytes)
            while let batch = try reader.readNext() { batches.append(batch) }
            return (batches, nil)
        } catch {
            return (batches, (error as? QuiverError)?.code ?? .io)
        }
    }

    /// Batches decoded from `bytes` cut at `cuts`, then the error that stopped the decoder.
    static func decode(_ bytes: [UInt8], cuts: [Int]) -> ([RecordBatch], QuiverError.Code?) {
        let decoder = StreamDecoder()
        var batches: [RecordBatch] = []
        do {
            var start = 0
            for cut in cuts + [bytes.count] where cut > start {
                batches += try bytes[start..<cut].withUnsafeBytes { try decoder.feed($0) }
                start = cut
            }
            batches += try decoder.finish()
            return (batches, nil)
        } catch {
            return (batches, (error as? QuiverError)?.code ?? .io)
        }
    }

    static func randomCuts(_ count: Int, seed: UInt64) -> [Int] {
        var generator = SeededRandom(seed: seed)
        var cuts: [Int] = []
        var position = 0
        while true {
            position += Int(generator.next() % 257) + 1
            guard position < count else { return cuts }
            cuts.append(position)
        }
    }

    @Test func goldenStreamsDecodeAlikeAtAnyChunking() throws {
        let streams = Self.files(TestPaths.golden.appendingPathComponent("integration"), suffix: ".stream")
        #expect(streams.count > 20)
        for url in streams {
            let bytes = Array(try Data(contentsOf: url))
            let (expected, failure) = Self.readWhole(bytes)
            #expect(failure == nil, "\(url.lastPathComponent)")
            var chunkings = [[], Array(stride(from: 1, to: bytes.count, by: 1 + bytes.count / 7))]
            chunkings += (1...3).map { Self.randomCuts(bytes.count, seed: $0) }
            if bytes.count <= 4096 { chunkings.append(Array(1..<bytes.count)) }  // every boundary
            for cuts in chunkings {
                let (batches, error) = Self.decode(bytes, cuts: cuts)
                #expect(error == nil, "\(url.lastPathComponent): \(String(describing: error))")
                #expect(batches.count == expected.count, "\(url.lastPathComponent)")
                for (batch, reference) in zip(batches, expected) {
                    #expect(batch.logicallyEquals(reference), "\(url.lastPathComponent)")
                }
            }
        }
    }

    @Test func malformedStreamsFailWithTheReadersErrors() throws {
        let bad = Self.files(TestPaths.golden.appendingPathComponent("bad/stream"))
        #expect(bad.count > 20)
        for url in bad {
            let bytes = Array(try Data(contentsOf: url))
            let (expected, failure) = Self.readWhole(bytes)
            for cuts in [[], Self.randomCuts(bytes.count, seed: 7)] {
                let (batches, error) = Self.decode(bytes, cuts: cuts)
                #expect(batches.count == expected.count, "\(url.lastPathComponent)")
                #expect(error == failure, "\(url.lastPathComponent)")
            }
        }
        // Text is not a stream; a stream cut short is incomplete.
        #expect(Self.decode(Array("GET / HTTP/1.1".utf8), cuts: [3]).1 == .invalidMessage)
        let good = try #require(Self.files(TestPaths.golden.appendingPathComponent("integration"), suffix: ".stream").first)
        let bytes = Array(try Data(contentsOf: good))
        #expect(Self.decode(Array(bytes.dropLast(20)), cuts: [100]).1 == .endOfStream)
        #expect(Self.decode([], cuts: []).1 == .invalidMessage)
    }
}
