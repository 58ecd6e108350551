import QuiverArrow
import QuiverBytes
import QuiverIPC
import Testing

@Suite struct ErrorKindIPCTests {
    /// A request body that is not Arrow at all is an invalid message, not a size over a cap.
    @Test func garbageIsAnInvalidMessage() {
        for body in ["hello, this is not arrow", "{\"json\": true}", "SELECT 1"] {
            #expect { try StreamReader(bytes: Array(body.utf8)).readBatches() } throws: {
                ($0 as? QuiverError)?.code == .invalidMessage
            }
        }
    }

    @Test func schemaMismatchNamesTheField() throws {
        let schema = Schema([Field("a", .int64), Field("b", .utf8)])
        let other = Schema([Field("a", .int64), Field("b", .int32)])
        let writer = try StreamWriter(output: BufferOutputStream(), schema: schema)
        let batch = try RecordBatch(schema: other, columns: [ArrayData.build(from: [Int64(1)]), ArrayData.build(from: [Int32(2)])])
        #expect { try writer.write(batch) } throws: {
            guard let error = $0 as? QuiverError, error.code == .schemaMismatch else { return false }
            return error.message.hasPrefix("record batch schema differs from the writer's: field 'b' (1)")
        }
    }
}
