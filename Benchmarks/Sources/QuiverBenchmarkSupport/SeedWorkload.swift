import QuiverArrow
import QuiverBytes
import QuiverIPC

/// The seed workload of pyarrow's IPC page: 10M int32 in 1000 batches of 10,000
/// (`range(10000)` in each), one column named "nums".
public enum SeedWorkload {
    public static let batchCount = 1000
    public static let rowsPerBatch = 10_000

    public static let schema = Schema([Field("nums", .int32)])

    /// One batch of `0..<rows`; every batch of the seed file shares its values buffer.
    public static func batch(rows: Int = rowsPerBatch, pool: MemoryPool = .default) -> RecordBatch {
        let values = Buffer(copyingValues: (0..<Int32(rows)).map { $0 }, pool: pool)
        let column = ArrayData(uncheckedType: .int32, length: rows, buffers: [.empty, values])
        return RecordBatch(uncheckedSchema: schema, columns: [column], length: rows)
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

    /// Sums the first column's values greater than `threshold` over every batch, reading
    /// the buffers in place.
    public static func sum(of batches: [RecordBatch], greaterThan threshold: Int32 = 5000) -> Int64 {
        batches.reduce(0) { $0 &+ sum(of: $1, greaterThan: threshold) }
    }

    /// Sums the first column's values over every batch.
    public static func total(of batches: [RecordBatch]) -> Int64 {
        batches.reduce(0) { $0 &+ sum(of: $1) }
    }

    /// The sum of the first column's int32 values (those above `threshold`, if given), viewed in place.
    public static func sum(of batch: RecordBatch, greaterThan threshold: Int32? = nil) -> Int64 {
        let column = batch.columns[0]
        return column.buffers[1].withUnsafeBufferPointer(as: Int32.self) {
            let values = UnsafeBufferPointer(rebasing: $0[column.offset..<(column.offset + column.length)])
            return threshold.map { Int32Kernels.sum(values, greaterThan: $0) } ?? Int32Kernels.sum(values)
        }
    }
}

/// Int32 sums over `SIMD8` lanes (unaligned loads, lane masks), widened to Int64: the
/// memory-bandwidth-bound kernels the scan figures measure.
public enum Int32Kernels {
    /// The sum of all values.
    @inlinable
    public static func sum(_ values: UnsafeBufferPointer<Int32>) -> Int64 {
        sum(values, greaterThan: Int32.min, filtered: false)
    }

    /// The sum of the values greater than `threshold`.
    @inlinable
    public static func sum(_ values: UnsafeBufferPointer<Int32>, greaterThan threshold: Int32) -> Int64 {
        sum(values, greaterThan: threshold, filtered: true)
    }

    @inlinable @inline(__always)
    static func sum(_ values: UnsafeBufferPointer<Int32>, greaterThan threshold: Int32, filtered: Bool) -> Int64 {
        guard let base = values.baseAddress else { return 0 }
        let raw = UnsafeRawPointer(base)
        let lanes = 8, unroll = 4
        var accumulators = (SIMD8<Int64>(), SIMD8<Int64>(), SIMD8<Int64>(), SIMD8<Int64>())
        let limit = SIMD8<Int32>(repeating: threshold)
        @inline(__always) func load(_ index: Int) -> SIMD8<Int64> {
            var vector = raw.loadUnaligned(fromByteOffset: index * 4, as: SIMD8<Int32>.self)
            if filtered { vector.replace(with: 0, where: vector .<= limit) }
            return SIMD8<Int64>(truncatingIfNeeded: vector)
        }
        var index = 0
        while index + lanes * unroll <= values.count {
            accumulators.0 &+= load(index)
            accumulators.1 &+= load(index + lanes)
            accumulators.2 &+= load(index + 2 * lanes)
            accumulators.3 &+= load(index + 3 * lanes)
            index += lanes * unroll
        }
        while index + lanes <= values.count {
            accumulators.0 &+= load(index)
            index += lanes
        }
        var total = (accumulators.0 &+ accumulators.1 &+ accumulators.2 &+ accumulators.3).wrappedSum()
        while index < values.count {
            let value = values[index]
            if !filtered || value > threshold { total &+= Int64(value) }
            index += 1
        }
        return total
    }
}
