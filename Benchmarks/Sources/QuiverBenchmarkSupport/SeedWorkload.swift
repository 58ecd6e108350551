import QuiverArrow
import QuiverBytes
import QuiverIPC

/// The seed workload of pyarrow's IPC page: 10M int32 in 1000 batches of 10,000
/// (`range(10000)` in each), one column named "nums".
public enum SeedWorkload {
    public static let batchCount = 1000
    public static let rowsPerBatch = 10_000

    public static let schema = Schema([Field("nums", .int32)])

    /// One batch of `0..<rowsPerBatch`; every batch of the seed file shares its values buffer.
    public static func batch(pool: MemoryPool = .default) -> RecordBatch {
        let values = Buffer(copyingValues: (0..<Int32(rowsPerBatch)).map { $0 }, pool: pool)
        let column = ArrayData(type: .int32, length: rowsPerBatch, buffers: [.empty, values])
        return RecordBatch(uncheckedSchema: schema, columns: [column], length: rowsPerBatch)
    }

    /// The seed data as an Arrow file in memory.
    public static func fileBytes(batches: Int = batchCount) throws -> Buffer {
        let output = BufferOutputStream(capacity: batches * rowsPerBatch * 4 + 1 << 20)
        let writer = try FileWriter(output: output, schema: schema)
        let batch = batch()
        for _ in 0..<batches { try writer.write(batch) }
        try writer.finish()
        return output.getvalue()
    }

    /// The seed data as an Arrow stream in memory.
    public static func streamBytes(batches: Int = batchCount) throws -> Buffer {
        let output = BufferOutputStream(capacity: batches * rowsPerBatch * 4 + 1 << 20)
        let writer = try StreamWriter(output: output, schema: schema)
        let batch = batch()
        for _ in 0..<batches { try writer.write(batch) }
        try writer.finish()
        return output.getvalue()
    }

    /// Sums values greater than `threshold` over every batch, reading the buffers in place.
    public static func sum(of batches: [RecordBatch], greaterThan threshold: Int32 = 5000) -> Int64 {
        var total: Int64 = 0
        for batch in batches {
            let column = batch.columns[0]
            let values = column.buffers[1].typed(as: Int32.self)
            for value in values[column.offset..<(column.offset + column.length)] where value > threshold {
                total &+= Int64(value)
            }
        }
        return total
    }
}
