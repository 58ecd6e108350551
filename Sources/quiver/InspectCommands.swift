import Foundation
import ArgumentParser
import QuiverArrow
import QuiverBytes
import QuiverIPC

struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema", abstract: "Print the schema of an Arrow file or stream.")

    @Argument(help: "An Arrow file or stream, or - for standard input.") var path: String

    func run() throws {
        let input = try openInput(path)
        print(input.schema)
    }
}

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Summarise an Arrow file or stream: format, batches, rows, sizes, metadata.")

    @Argument(help: "An Arrow file or stream, or - for standard input.") var path: String
    @Flag(help: "Also read the input by plain reads and by memory map, and compare time, allocation and resident memory.")
    var memory = false

    func validate() throws {
        if memory && path == "-" { throw ValidationError("--memory needs a path: standard input cannot be mapped") }
    }

    func run() throws {
        if memory { return try printMemory() }
        let input = try openInput(path)
        var batches = 0, rows = 0, bodyBytes = 0
        try input.forEachBatch { batch in
            batches += 1
            rows += batch.length
            bodyBytes += batch.columns.reduce(0) { $0 + $1.totalBufferSize }
            return true
        }
        print("format:       arrow \(input.format.rawValue)")
        if case .file(let reader, let bytes) = input {
            print("bytes:        \(bytes)")
            print("version:      \(reader.metadataVersion)")
            print("dictionaries: \(reader.numDictionaries)")
        }
        print("batches:      \(batches)")
        print("rows:         \(rows)")
        print("columns:      \(input.schema.fields.count)")
        print("buffer bytes: \(bodyBytes) (decoded, in memory)")
        if case .file(let reader, _) = input, !reader.footerMetadata.isEmpty {
            print("footer metadata:")
            for (key, value) in reader.footerMetadata { print("  \(key): \(value.prefix(120))") }
        }
        if path != "-" {
            let sizes = try BodySizeReport.of(try MappedFile(path: path))
            let codec = sizes.codecs.isEmpty ? "none" : sizes.codecs.map { $0 == .lz4Frame ? "lz4" : "zstd" }.sorted().joined(separator: ", ")
            print("compression:  \(codec)")
            print("column sizes (stored / uncompressed bytes):")
            let width = sizes.columns.map(\.name.count).max() ?? 0
            for column in sizes.columns {
                let ratio = column.stored > 0 ? Double(column.uncompressed) / Double(column.stored) : 1
                let padded = column.name.padding(toLength: width, withPad: " ", startingAt: 0)
                print("  \(padded)  \(column.stored) / \(column.uncompressed)  (×\(String(format: "%.2f", ratio)))")
            }
        }
        print("schema:")
        for line in input.schema.description.split(separator: "\n") { print("  \(line)") }
    }
}

extension InfoCommand {
    /// The memory table of `quiver demo` for this input: a plain read and a memory-mapped
    /// read, each held while measured.
    func printMemory() throws {
        let format = try ArrowFormat(of: ReadFileInput(path: path))
        var rows: [ReadMeasurement] = []
        var held: [[RecordBatch]] = []
        for source in [FileSource.read, .memoryMap] {
            let (row, batches) = try ReadMeasurement.measure(path: path, format: format, source: source)
            rows.append(row)
            held.append(batches)
        }
        print(MemoryReport.table(rows))
        if let mapped = rows.last, let length = mapped.mappingBytes {
            let cached = mapped.mappingCachedBytes.map(MemoryReport.bytes) ?? "n/a"
            print("mapping: \(MemoryReport.bytes(length)), of which \(cached) in RAM (mincore: the page cache)")
        }
    }
}

struct CatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cat", abstract: "Print the rows of an Arrow file or stream as a table.")

    @Argument(help: "An Arrow file or stream, or - for standard input.") var path: String
    @Option(name: .shortAndLong, help: "Print at most this many rows.") var limit: Int = 20

    func run() throws {
        let input = try openInput(path)
        var remaining = limit
        var printedAny = false
        try input.forEachBatch { batch in
            guard remaining > 0 else { return false }
            let shown = min(remaining, batch.length)
            if shown > 0 || !printedAny {
                print(TablePrinter.render(batch: batch.slice(from: 0, length: shown), limit: nil))
                printedAny = true
            }
            remaining -= shown
            return true
        }
        if !printedAny { print(TablePrinter.render(batch: try RecordBatch(schema: input.schema, columns: emptyColumns(input.schema)), limit: nil)) }
    }

    private func emptyColumns(_ schema: Schema) throws -> [ArrayData] {
        try schema.fields.map { try ArrayData.empty(of: $0.type) }
    }
}
