import Foundation
import QuiverArrow
import QuiverBytes
@testable import QuiverIPC
import QuiverTestSupport

/// Golden cases (`generated_NAME`) that come as both a stream and a file.
enum Golden {
    static let directory = TestPaths.golden.appendingPathComponent("integration/cpp-21.0.0")
    static let compressionDirectory = TestPaths.golden.appendingPathComponent("integration/2.0.0-compression")

    static func names(in directory: URL = directory) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".stream") }.map { String($0.dropLast(".stream".count)) }
            .filter { files.contains($0 + ".arrow_file") }.sorted()
    }

    static func bytes(_ name: String, _ suffix: String, in directory: URL = directory) throws -> Buffer {
        Buffer(copying: [UInt8](try Data(contentsOf: directory.appendingPathComponent(name + suffix))))
    }

    static func path(_ name: String, _ suffix: String, in directory: URL = directory) -> String {
        directory.appendingPathComponent(name + suffix).path
    }
}

/// Sequential input that hands out at most `chunk` bytes per read, each in a fresh
/// allocation, as a pipe does.
final class ChunkedInput: SequentialInput {
    let buffer: Buffer
    let chunk: Int
    let pool: MemoryPool
    private(set) var position = 0

    init(_ buffer: Buffer, chunk: Int, pool: MemoryPool = .default) {
        self.buffer = buffer
        self.chunk = chunk
        self.pool = pool
    }

    func read(upTo count: Int) throws -> Buffer {
        let n = min(count, chunk, buffer.count - position)
        defer { position += n }
        return Buffer(copying: UnsafeRawBufferPointer(rebasing: buffer.bytes[position..<(position + n)]), pool: pool)
    }
}

/// Whether two batch lists hold the same columns, byte for byte after re-basing (dictionaries too).
func sameBatches(_ a: [RecordBatch], _ b: [RecordBatch]) throws -> Bool {
    guard a.count == b.count else { return false }
    for (x, y) in zip(a, b) {
        guard x.length == y.length, x.columns.count == y.columns.count else { return false }
        for (c, d) in zip(x.columns, y.columns) where try !c.hasSameContents(as: d, includingDictionaries: true) {
            return false
        }
    }
    return true
}

/// Whether two batch lists encode to the same record batch bodies (types and dictionaries aside).
func sameBodies(_ a: [RecordBatch], _ b: [RecordBatch]) throws -> Bool {
    guard a.count == b.count else { return false }
    for (x, y) in zip(a, b) {
        let p = try ArrayEncoder.encode(x.columns, length: x.length)
        let q = try ArrayEncoder.encode(y.columns, length: y.length)
        guard p.header == q.header, try p.makeBody().contentEquals(try q.makeBody()) else { return false }
    }
    return true
}

/// Python that reads an Arrow stream (`fmt == "stream"`) or file from stdin and compares it
/// with the golden file at argv[1]; prints "equal" or what differs.
let pyarrowCompare = """
import sys, io, pyarrow as pa, pyarrow.ipc as ipc
data = sys.stdin.buffer.read()
fmt = sys.argv[2]
ours = ipc.open_stream(pa.py_buffer(data)) if fmt == "stream" else ipc.open_file(pa.py_buffer(data))
theirs = ipc.open_file(sys.argv[1])
a = list(ours) if fmt == "stream" else [ours.get_batch(i) for i in range(ours.num_record_batches)]
b = [theirs.get_batch(i) for i in range(theirs.num_record_batches)]
if len(a) != len(b): print("batch count", len(a), len(b)); sys.exit()
for x, y in zip(a, b):
    if not x.schema.equals(y.schema, check_metadata=True): print("schema", x.schema, y.schema); sys.exit()
    if not x.equals(y): print("batch differs", x, y); sys.exit()
if fmt == "file" and ours.metadata != theirs.metadata: print("footer metadata", ours.metadata, theirs.metadata); sys.exit()
print("equal")
"""

/// The framed messages of a stream (prefix, metadata, body each), without the end marker.
func splitMessages(_ stream: Buffer) throws -> [[UInt8]] {
    var messages: [[UInt8]] = []
    var position = 0
    let bytes = stream.array
    while position + 8 <= bytes.count {
        let length = Int(try stream.readLittleEndian(Int32.self, at: position + 4))
        if length == 0 { break }
        let metadata = try ArrowMetadata.decodeMessage(try stream.slice(offset: position + 8, count: length))
        let end = position + 8 + length + Int(metadata.bodyLength)
        messages.append(Array(bytes[position..<end]))
        position = end
    }
    return messages
}

/// An Arrow file with its footer edited (messages untouched).
func editingFooter(_ file: Buffer, _ edit: (inout Footer) -> Void) throws -> Buffer {
    let length = Int(try file.readLittleEndian(Int32.self, at: file.count - 10))
    let start = file.count - 10 - length
    var footer = try ArrowMetadata.decodeFooter(try file.slice(offset: start, count: length))
    edit(&footer)
    let encoded = ArrowMetadata.encodeFooter(footer)
    var bytes = Array(file.array[..<start]) + encoded
    withUnsafeBytes(of: Int32(encoded.count).littleEndian) { bytes += $0 }
    return Buffer(copying: bytes + Array("ARROW1".utf8))
}

/// A one-column batch of dictionary-encoded strings.
func dictionaryBatch(_ indices: [Int32?], _ values: [String?], id: Int64? = nil) throws -> RecordBatch {
    let field = Field("d", .dictionary(index: .int32, value: .utf8, ordered: false), dictionaryId: id)
    var data = Fixtures.fixed(.int32, indices, zero: 0)
    data.type = field.type
    data.dictionary = Fixtures.binary(.utf8, values)
    return try RecordBatch(schema: Schema([field]), columns: [data])
}

/// Whether the codec helper's work is present (the body compression seam is a stub until then).
let compressionAvailable = (try? BodyCompression.compress(.zstd, Buffer(copying: [UInt8](repeating: 1, count: 64)))) != nil
