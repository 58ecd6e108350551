import Foundation
import QuiverArrow
import QuiverBytes
@testable import QuiverIPC
import QuiverTestSupport
import Testing

@Suite struct ProjectionTests {
    /// Every single column, and the columns reversed, read through a projection equal the
    /// same columns of a full read — on every golden file (nested, views, dictionaries, REE).
    @Test(arguments: Golden.names()) func projectedColumnsEqualFullRead(_ name: String) throws {
        let reader = try FileReader(buffer: try Golden.bytes(name, ".arrow_file"))
        let count = reader.schema.fields.count
        for batchIndex in 0..<reader.numRecordBatches {
            let full = try reader.recordBatch(at: batchIndex)
            for column in 0..<count {
                let projected = try reader.recordBatch(at: batchIndex, columns: [column])
                #expect(projected.schema.fields == [reader.schema.fields[column]])
                #expect(projected.length == full.length)
                #expect(projected.columns[0].firstDifference(from: full.columns[column]) == nil, "\(name) column \(column)")
            }
            let reversed = Array((0..<count).reversed())
            let projected = try reader.recordBatch(at: batchIndex, columns: reversed)
            for (position, column) in reversed.enumerated() {
                #expect(projected.columns[position].logicallyEquals(full.columns[column]))
            }
        }
    }

    @Test func compressedProjectionDecompressesOnlyTheChosenColumn() throws {
        // Two large, compressible int64 columns, LZ4.
        let values = (0..<200_000).map { Int64($0 % 1000) }
        let schema = Schema([Field("a", .int64), Field("b", .int64)])
        let batch = try RecordBatch(schema: schema, columns: [ArrayData.build(from: values), ArrayData.build(from: values)])
        let sink = BufferOutputStream()
        let writer = try FileWriter(output: sink, schema: schema, options: IPCWriteOptions(compression: .lz4Frame))
        try writer.write(batch)
        try writer.finish()
        let bytes = sink.getvalue()

        let pool = MemoryPool()
        let reader = try FileReader(buffer: bytes, options: IPCReadOptions(pool: pool))
        let one = try reader.recordBatch(at: 0, columns: [1])
        let oneColumn = pool.totalAllocatedBytes
        #expect(oneColumn >= 1_600_000 && oneColumn < 1_700_000, "one decompressed column: \(oneColumn)")
        #expect(try Int64Array(one.columns[0])[999] == 999)
        let both = try reader.recordBatch(at: 0)
        #expect(pool.totalAllocatedBytes - oneColumn >= 3_200_000)
        #expect(both.columns[1].logicallyEquals(one.columns[0]))

        let table = try reader.readAll(columns: ["b"])
        #expect(table.schema.fields.map(\.name) == ["b"])
        #expect(throws: QuiverError.self) { try reader.readAll(columns: ["nope"]) }
        #expect(throws: QuiverError.self) { try reader.recordBatch(at: 0, columns: [2]) }
    }
}
