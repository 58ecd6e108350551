import QuiverArrow
import QuiverBytes

/// Arrow data opened without knowing its IPC format in advance: the random-access file
/// format or a stream, told apart by `ArrowFormat`'s rule.
///
/// Paths are memory-mapped, so reading is zero-copy; standard input is read as a stream, or —
/// if it carries a file — buffered whole, since a file needs random access to its footer.
public enum ArrowInput {
    /// A file, with its size in bytes.
    case file(FileReader, bytes: Int)
    /// A stream.
    case stream(StreamReader)

    /// Opens the Arrow data of standard input. Reads its first 8 bytes to detect the
    /// format; a file is then read whole into memory (it needs random access), a stream is
    /// read batch by batch as it arrives.
    /// O(file bytes) for a file (copied into one buffer); a stream costs its schema message.
    public static func openStandardInput(options: IPCReadOptions = .init()) throws -> ArrowInput {
        let input = FileDescriptorInput.standardInput()
        let head = try input.read(upTo: ArrowFormat.fileLeadingBytes.count)
        if ArrowFormat(leadingBytes: head.array) == .file {
            let rest = try readToEnd(input)
            let whole = MutableBuffer(capacity: head.count + rest.count)
            whole.append(head.bytes)
            whole.append(rest.bytes)
            let buffer = whole.finish()
            return .file(try FileReader(buffer: buffer, options: options), bytes: buffer.count)
        }
        return .stream(try StreamReader(input: PrefixedInput(prefix: head, rest: input), options: options))
    }

    /// Opens the Arrow file or stream at `path`. Costs one small read to detect the format;
    /// the reader then maps the file.
    public static func open(path: String, options: IPCReadOptions = .init()) throws -> ArrowInput {
        // Sniff the magic with a small read, then open through the path-based readers, which
        // map the file but read framing and metadata with pread (no mapped page touched
        // until values are).
        let descriptor = try FileDescriptor.open(path, .readOnly)
        defer { try? descriptor.close() }
        let size = try descriptor.status().size
        var head = [UInt8](repeating: 0, count: ArrowFormat.fileMagic.count)
        let got = try head.withUnsafeMutableBytes { try descriptor.pread(fillingUpTo: $0, at: 0) }
        if ArrowFormat(leadingBytes: head.prefix(got)) == .file {
            return .file(try FileReader(path: path, options: options), bytes: size)
        }
        return .stream(try StreamReader(path: path, options: options))
    }

    /// The schema of the data.
    public var schema: Schema {
        switch self {
        case .file(let reader, _): return reader.schema
        case .stream(let reader): return reader.schema
        }
    }

    /// Which of the two formats the data is in.
    public var format: ArrowFormat {
        switch self {
        case .file: return .file
        case .stream: return .stream
        }
    }

    /// Calls `body` with each batch in order; stops early when `body` returns false. Each
    /// batch is read (and, from a stream, decoded) when its turn comes.
    /// O(batches) plus each batch's read and decoding cost.
    public func forEachBatch(_ body: (RecordBatch) throws -> Bool) throws {
        switch self {
        case .file(let reader, _):
            for index in 0..<reader.numRecordBatches where try !body(try reader.recordBatch(at: index)) { return }
        case .stream(let reader):
            while let batch = try reader.readNext() {
                guard try body(batch) else { return }
            }
        }
    }

    /// Writes every batch to `output` in `format`, one batch held at a time. A file's footer
    /// metadata is kept when the result is a file too. Does not close `output`.
    /// O(total bytes): every batch is read and written once.
    public func write(to output: any ByteOutput, as format: ArrowFormat, options: IPCWriteOptions = .init()) throws {
        switch format {
        case .file:
            var footerMetadata: Metadata = [:]
            if case .file(let reader, _) = self { footerMetadata = reader.footerMetadata }
            let writer = try FileWriter(output: output, schema: schema, options: options, metadata: footerMetadata)
            try forEachBatch { try writer.write($0); return true }
            try writer.finish()
        case .stream:
            let writer = try StreamWriter(output: output, schema: schema, options: options)
            try forEachBatch { try writer.write($0); return true }
            try writer.finish()
        }
    }

    /// Every batch, in order, all held at once.
    /// O(batches) plus each batch's read and decoding cost; memory for all of them.
    public func readBatches() throws -> [RecordBatch] {
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
private final class PrefixedInput: SequentialInput {
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
