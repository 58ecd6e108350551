import QuiverArrow
import QuiverBytes
import QuiverIPC

/// An Arrow input opened by path (or `-` for standard input), in whichever IPC format it is:
/// the random-access file format (recognised by its leading `ARROW1` magic) or a stream.
///
/// Paths are memory-mapped, so reading is zero-copy; standard input is read as a stream, or —
/// if it carries a file — buffered whole, since a file needs random access to its footer.
enum ArrowInput {
    case file(FileReader, bytes: Int)
    case stream(StreamReader)

    static let magic: [UInt8] = Array("ARROW1".utf8)

    static func open(_ path: String, options: IPCReadOptions = .init()) throws -> ArrowInput {
        if path == "-" {
            let input = FileDescriptorInput.standardInput()
            let head = try input.read(upTo: 8)
            if head.array.starts(with: magic) {
                let rest = try readToEnd(input)
                let whole = MutableBuffer(capacity: head.count + rest.count)
                whole.append(head.bytes)
                whole.append(rest.bytes)
                let buffer = whole.finish()
                return .file(try FileReader(buffer: buffer, options: options), bytes: buffer.count)
            }
            return .stream(try StreamReader(input: PrefixedInput(prefix: head, rest: input), options: options))
        }
        // Sniff the magic with a small read, then open through the path-based readers, which
        // map the file but read framing and metadata with pread (no mapped page touched
        // until values are).
        let descriptor = try FileDescriptor.open(path, .readOnly)
        defer { try? descriptor.close() }
        let size = try descriptor.status().size
        var head = [UInt8](repeating: 0, count: 6)
        let got = try head.withUnsafeMutableBytes { try descriptor.pread(fillingUpTo: $0, at: 0) }
        if got == 6, head == magic {
            return .file(try FileReader(path: path, options: options), bytes: size)
        }
        return .stream(try StreamReader(path: path, options: options))
    }

    var schema: Schema {
        switch self {
        case .file(let reader, _): return reader.schema
        case .stream(let reader): return reader.schema
        }
    }

    var formatName: String {
        switch self {
        case .file: return "file"
        case .stream: return "stream"
        }
    }

    /// Calls `body` with each batch in order; stops early when `body` returns false.
    func forEachBatch(_ body: (RecordBatch) throws -> Bool) throws {
        switch self {
        case .file(let reader, _):
            for index in 0..<reader.numRecordBatches where try !body(try reader.recordBatch(at: index)) { return }
        case .stream(let reader):
            while let batch = try reader.readNext() {
                guard try body(batch) else { return }
            }
        }
    }

    /// Every batch.
    func readBatches() throws -> [RecordBatch] {
        var batches: [RecordBatch] = []
        try forEachBatch { batches.append($0); return true }
        return batches
    }

    private static func readToEnd(_ input: any SequentialInput) throws -> Buffer {
        let collected = MutableBuffer(capacity: 1 << 20)
        while true {
            let chunk = try input.read(upTo: 1 << 20)
            if chunk.count == 0 { return collected.finish() }
            collected.append(chunk.bytes)
        }
    }
}

/// Sequential input that first returns bytes already read (a peeked prefix), then the rest.
final class PrefixedInput: SequentialInput {
    private var prefix: Buffer
    private let rest: any SequentialInput

    init(prefix: Buffer, rest: any SequentialInput) {
        self.prefix = prefix
        self.rest = rest
    }

    func read(upTo count: Int) throws -> Buffer {
        guard prefix.count > 0 else { return try rest.read(upTo: count) }
        if count <= prefix.count {
            let head = prefix.uncheckedSlice(offset: 0, count: count)
            prefix = prefix.uncheckedSlice(offset: count, count: prefix.count - count)
            return head
        }
        // Join the prefix with what follows so the caller gets one contiguous buffer.
        let tail = try rest.read(upTo: count - prefix.count)
        let joined = MutableBuffer(capacity: prefix.count + tail.count)
        joined.append(prefix.bytes)
        joined.append(tail.bytes)
        prefix = .empty
        return joined.finish()
    }
}

/// Opens an output path, or standard output for `-`.
func openOutput(_ path: String) throws -> FileOutput {
    path == "-" ? FileOutput.standardOutput() : try FileOutput(path: path)
}
