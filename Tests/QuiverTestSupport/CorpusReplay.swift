import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverIntegration

/// Reading untrusted IPC bytes the way the fuzz targets (Fuzz/) do and the regression tests
/// replay them: every batch the reader gives, then every value formatted as `quiver cat`
/// prints it and the whole written as integration JSON as `ARROW_TO_JSON` does. One home for
/// both, so a replayed input runs exactly the code the fuzzer ran.
public enum CorpusReplay {
    /// Reads on the calling thread (one fuzzer process per core; deterministic).
    public static let options = IPCReadOptions(useThreads: false)

    /// Values formatted per input at most. A batch may declare billions of rows that need no
    /// bytes (null arrays, run-end encoding); past this many the replay stops formatting, so
    /// a slow input is a finding about the reader, not about this loop.
    public static let valueBudget = 200_000

    /// Reads `buffer` as a stream up to its end or its first error. The outcome is
    /// `"N batches"`, with `", then <error code>"` when the reader stopped on an error.
    public static func readStream(_ buffer: Buffer) -> (outcome: String, batches: [RecordBatch]) {
        readStream { try StreamReader(buffer: buffer, options: options) }
    }

    /// Reads the stream `open` returns, as `readStream(_:)` does.
    public static func readStream(_ open: () throws -> StreamReader) -> (outcome: String, batches: [RecordBatch]) {
        var batches: [RecordBatch] = []
        do {
            let reader = try open()
            while let batch = try reader.readNext() { batches.append(batch) }
            return ("\(batches.count) batches", batches)
        } catch {
            return ("\(batches.count) batches, then \(code(error))", batches)
        }
    }

    /// Reads `buffer` as a file: the footer, then every batch by index (a bad batch does not
    /// stop the others). The outcome is the footer's error code, or `"K/N batches"` followed
    /// by `"; batch i: <error code>"` for each batch that failed.
    public static func readFile(_ buffer: Buffer) -> (outcome: String, batches: [RecordBatch]) {
        let reader: FileReader
        do {
            reader = try FileReader(buffer: buffer, options: options)
        } catch {
            return (code(error), [])
        }
        var batches: [RecordBatch] = []
        var failures: [String] = []
        for index in 0..<reader.numRecordBatches {
            do {
                batches.append(try reader.recordBatch(at: index))
            } catch {
                failures.append("; batch \(index): \(code(error))")
            }
        }
        return ("\(batches.count)/\(reader.numRecordBatches) batches" + failures.joined(), batches)
    }

    /// Formats every value of `batches` (within `valueBudget`) and, when all were formatted,
    /// writes them as integration JSON. Returns a figure derived from the text (so that the
    /// work cannot be optimised away) — or nil when the JSON writer refused the batches.
    @discardableResult
    public static func touch(_ batches: [RecordBatch]) -> Int? {
        var remaining = valueBudget
        var sink = 0
        for batch in batches {
            for column in batch.columns {
                let count = min(column.length, remaining)
                for index in 0..<count { sink &+= column.formatValue(at: index).utf8.count }
                remaining -= count
            }
        }
        guard remaining > 0, let schema = batches.first?.schema else { return sink }
        guard let json = try? IntegrationJSON.write(schema: schema, batches: batches) else { return nil }
        return sink &+ json.count
    }

    /// The code of a `QuiverError`; anything else is named, so that a replay shows it.
    public static func code(_ error: any Error) -> String {
        (error as? QuiverError).map { $0.code.description } ?? "non-QuiverError \(type(of: error))"
    }
}
