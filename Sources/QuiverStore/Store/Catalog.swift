import QuiverArrow
import QuiverBytes
import QuiverIPC

// ─────────────────────────────────────────────────────────────────────────────────────────
// STORE DIRECTORY
//
//   STORE/catalog.arrow           the catalog (below); replaced atomically, never edited
//   STORE/catalog.lock            flock'd (blocking, milliseconds) by whoever rewrites it
//   STORE/tables/NAME/writer.lock flock'd (non-blocking) by the table's one writer
//   STORE/tables/NAME/00000001.arrow, 00000002.arrow, …
//                                 the table's data files (StoreFileFormat.swift), in the
//                                 catalog's order; the last one is the one appended to,
//                                 the others are immutable
//
// THE CATALOG is itself an Arrow IPC file (pyarrow reads it: pa.ipc.open_file) with one
// record batch, one row per table:
//
//   name                 utf8 not null     table name ([A-Za-z0-9_.-], not starting with '.')
//   schema               binary not null   the table schema: an IPC Message flatbuffer with a
//                                          Schema header (as in a stream's first message)
//   files                list<utf8> not null   data file names, oldest first
//   compression          utf8              null, "lz4_frame" or "zstd": codec of new batches
//   compression_level    int64             null: the codec's default
//   max_file_bytes       int64 not null    roll to a new file once the last one is this big
//   max_batches_per_file int64 not null    … or holds this many batches (bounds footer size,
//                                          which every append rewrites)
//   next_file_number     int64 not null    number of the next data file
//
// and schema metadata `quiver:catalog_version` = "1", `quiver:generation` = a counter
// bumped by every rewrite. A rewrite takes catalog.lock, re-reads the catalog, writes
// catalog.arrow.tmp, fsyncs it, renames it over catalog.arrow and fsyncs the directory:
// readers see the old catalog or the new one, never a mix.
//
// A new data file (a roll, a compaction) is made as NAME.arrow.tmp, committed, renamed to
// NAME.arrow, the directory synced, and only then listed by the catalog: a crash never
// leaves a half-made file under a data file's name. Files not named by the catalog are not
// part of the table: a writer removes them when it opens the table (leftovers of a crash
// between creating a file and listing it, or of an interrupted compaction); with no writer
// alive, `check` reports them and `repair` removes them (with a writer alive, they may be
// its roll or compaction in progress). Files a compaction replaced are removed after the
// new catalog is durable; readers that still map them keep reading them.
// ─────────────────────────────────────────────────────────────────────────────────────────

/// Per-table settings kept in the catalog.
public struct TableOptions: Sendable, Hashable {
    /// Body compression of new batches, or nil.
    public var compression: CompressionCodec?
    /// Codec level (nil: default).
    public var compressionLevel: Int?
    /// Start a new file once the last one reaches this many bytes.
    public var maxFileBytes: Int
    /// Start a new file once the last one holds this many batches. Every append rewrites
    /// the footer, which grows with the batches in the file, so this bounds an append's cost.
    public var maxBatchesPerFile: Int

    /// No compression, 1 GiB or 256 batches per file (an append then rewrites a footer of
    /// at most 256 batches: well under a millisecond).
    public init(compression: CompressionCodec? = nil, compressionLevel: Int? = nil, maxFileBytes: Int = 1 << 30, maxBatchesPerFile: Int = 256) {
        self.compression = compression
        self.compressionLevel = compressionLevel
        self.maxFileBytes = maxFileBytes
        self.maxBatchesPerFile = maxBatchesPerFile
    }
}

/// One table as the catalog describes it.
public struct TableEntry: Sendable, Hashable {
    /// The table's name.
    public var name: String
    /// The schema every batch must have.
    public var schema: Schema
    /// Data file names (in the table's directory), oldest first.
    public var files: [String]
    /// Settings.
    public var options: TableOptions
    /// The number the next data file gets.
    public var nextFileNumber: Int
}

/// The store's list of tables: read from and written to `catalog.arrow`.
struct Catalog: Sendable {
    var generation: Int = 0
    var tables: [TableEntry] = []

    static let fileName = "catalog.arrow"
    static let lockName = "catalog.lock"

    static let schema = Schema(
        [
            Field("name", .utf8, nullable: false),
            Field("schema", .binary, nullable: false),
            Field("files", .list(Field("item", .utf8, nullable: false)), nullable: false),
            Field("compression", .utf8),
            Field("compression_level", .int64),
            Field("max_file_bytes", .int64, nullable: false),
            Field("max_batches_per_file", .int64, nullable: false),
            Field("next_file_number", .int64, nullable: false),
        ], metadata: ["quiver:catalog_version": "1"])

    /// The entry of table `name`.
    func table(_ name: String) throws -> TableEntry {
        guard let entry = tables.first(where: { $0.name == name }) else {
            throw QuiverError(.notFound, "no table '\(name)' in the store")
        }
        return entry
    }

    // MARK: Reading

    /// Reads the catalog of the store at `directory`.
    static func read(_ directory: String) throws -> Catalog {
        let path = FileSystem.join(directory, fileName)
        guard FileSystem.exists(path) else {
            throw QuiverError(.notFound, "\(directory) is not a store: it has no \(fileName)")
        }
        return try withErrorContext(path) { try decode(try FileReader(input: try ReadFileInput(path: path))) }
    }

    static func decode(_ reader: FileReader) throws -> Catalog {
        guard reader.schema.fields.map(\.name) == schema.fields.map(\.name) else {
            throw QuiverError(.invalidData, "the catalog's columns are not the expected \(schema.fields.map(\.name))")
        }
        var catalog = Catalog(generation: Int(reader.schema.metadata["quiver:generation"] ?? "0") ?? 0)
        guard reader.numRecordBatches > 0 else { return catalog }
        let batch = try reader.recordBatch(at: 0)
        let names = try StringArray(batch.columns[0])
        let schemas = try BinaryArray(batch.columns[1])
        let files = try ListArray(batch.columns[2])
        let compressions = try StringArray(batch.columns[3])
        let levels = try Int64Array(batch.columns[4])
        let maxBytes = try Int64Array(batch.columns[5])
        let maxBatches = try Int64Array(batch.columns[6])
        let nextNumbers = try Int64Array(batch.columns[7])
        for row in 0..<batch.length {
            let name = names[row] ?? ""
            let schemaBytes = Buffer(copying: schemas[row] ?? [])
            guard case .schema(let tableSchema) = try ArrowMetadata.decodeMessage(schemaBytes).header else {
                throw QuiverError(.invalidData, "table '\(name)': the schema column holds no schema message")
            }
            let fileNames = try StringArray(files.values)
            let range = Int(files.offsets[row])..<Int(files.offsets[row + 1])
            var codec: CompressionCodec?
            switch compressions[row] {
            case nil: codec = nil
            case "lz4_frame": codec = .lz4Frame
            case "zstd": codec = .zstd
            case let other?: throw QuiverError(.unsupported, "table '\(name)': unknown compression \(other)")
            }
            catalog.tables.append(
                TableEntry(
                    name: name, schema: tableSchema, files: range.map { fileNames[$0] ?? "" },
                    options: TableOptions(
                        compression: codec, compressionLevel: levels[row].map { Int($0) },
                        maxFileBytes: Int(maxBytes[row] ?? 0), maxBatchesPerFile: Int(maxBatches[row] ?? 0)),
                    nextFileNumber: Int(nextNumbers[row] ?? 1)))
        }
        return catalog
    }

    // MARK: Writing

    /// The catalog as an Arrow file.
    func encode() throws -> Buffer {
        let names = StringBuilder(), schemas = BinaryBuilder(), compressions = StringBuilder()
        let files = ListBuilder(child: StringBuilder(), field: Field("item", .utf8, nullable: false))
        let levels = PrimitiveBuilder<Int64>(), maxBytes = PrimitiveBuilder<Int64>()
        let maxBatches = PrimitiveBuilder<Int64>(), nextNumbers = PrimitiveBuilder<Int64>()
        for table in tables {
            names.append(table.name)
            schemas.append(ArrowMetadata.encodeMessage(MessageMetadata(header: .schema(table.schema), bodyLength: 0)))
            files.append(table.files.map { Optional($0) })
            switch table.options.compression {
            case nil: compressions.appendNull()
            case .lz4Frame?: compressions.append("lz4_frame")
            case .zstd?: compressions.append("zstd")
            }
            levels.append(table.options.compressionLevel.map { Int64($0) })
            maxBytes.append(Int64(table.options.maxFileBytes))
            maxBatches.append(Int64(table.options.maxBatchesPerFile))
            nextNumbers.append(Int64(table.nextFileNumber))
        }
        var schema = Catalog.schema
        schema.metadata["quiver:generation"] = String(generation)
        let batch = try RecordBatch(
            schema: schema,
            columns: [
                names.finish(), schemas.finish(), files.finish(), compressions.finish(), levels.finish(),
                maxBytes.finish(), maxBatches.finish(), nextNumbers.finish(),
            ])
        let output = BufferOutputStream()
        let writer = try FileWriter(output: output, schema: schema)
        try writer.write(batch)
        try writer.finish()
        return output.getvalue()
    }

    /// Writes the catalog to `directory` atomically and durably (temporary file, fsync,
    /// rename, directory fsync). The caller holds the catalog lock.
    func write(to directory: String) throws {
        let path = FileSystem.join(directory, Catalog.fileName)
        let temporary = path + ".tmp"
        let bytes = try encode()
        let output = try FileOutput(path: temporary)
        try output.write(bytes)
        try output.sync()
        try output.close()
        try FileSystem.rename(temporary, to: path)
        try FileSystem.syncDirectory(directory)
    }

    /// Runs `change` on the current catalog under the catalog lock and writes the result
    /// (with the generation bumped). Other processes' changes made meanwhile are seen,
    /// because the catalog is re-read under the lock.
    @discardableResult
    static func update<T>(_ directory: String, _ change: (inout Catalog) throws -> T) throws -> T {
        let lock = try FileDescriptor.open(FileSystem.join(directory, lockName), .readWrite, options: [.create])
        defer { try? lock.close() }
        try lock.lockExclusive(wait: true)
        defer { try? lock.unlock() }
        var catalog = try read(directory)
        let result = try change(&catalog)
        catalog.generation += 1
        try catalog.write(to: directory)
        return result
    }
}
