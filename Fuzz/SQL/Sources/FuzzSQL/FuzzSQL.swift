import QuiverArrow
import QuiverBytes
import QuiverQuery

#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer's driver (linked in by `-sanitize=fuzzer`): it runs `body` on each input and
/// reads the usual libFuzzer flags from the arguments.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ body: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

/// libFuzzer's entry point, defined as well because swiftc links libFuzzer's own `main`
/// (which calls it); whichever `main` the linker keeps, each input ends up here.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzSQL.run(String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self))
    return 0
}

/// Every input is SQL text (invalid UTF-8 repaired, as a client's text would be). It must
/// produce a result or a `QuiverError` — a crash, a trap, a hang or any other error is a
/// finding.
@main
struct FuzzSQL {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOneInput(data, size) })
    }

    static func run(_ sql: String) {
        do {
            let query = try Query(sql: sql, tables: ["t": table, "u": table])
            _ = try query.outputSchema()
            let result = try query.limit(100).execute(ExecutionOptions(parallelism: 1))
            precondition(result.numRows <= 100, "LIMIT not applied")
        } catch is QuiverError {
            // The expected outcome for most inputs.
        } catch {
            fatalError("untyped error \(error) for \(sql.debugDescription)")
        }
    }

    /// Eight rows covering the column types the engine computes on, NULLs included, in two
    /// batches (so statistics and batch boundaries are exercised).
    static let table: InMemorySource = {
        func column<T: ArrowPrimitive>(_ values: [T?], _ type: DataType) -> ArrayData {
            let builder = PrimitiveBuilder<T>(type: type, capacity: values.count, pool: .default)
            for value in values {
                if let value { builder.append(value) } else { builder.appendNull() }
            }
            return builder.finish()
        }
        let names = ArrayData.build(from: ["apple", "b%_", "", "ß∂", "apple"] as [String?])
        func batch(_ offset: Int64) throws -> RecordBatch {
            let decimals: [Int128] = [12_345, -1, 0, 99_999_999_999 &* Int128(offset + 1)]
            let columns: [(String, ArrayData)] = [
                ("i", column([1 + offset, nil, -7, .max] as [Int64?], .int64)),
                ("n", column([3, 0, nil, .min] as [Int32?], .int32)),
                ("f", column([2.5, -0.0, .nan, nil] as [Double?], .float64)),
                ("r", column([28.19, nil, .infinity, 1e-45] as [Float?], .float32)),
                ("s", ArrayData.build(from: ["x", nil, "yy", "1994-01-01"] as [String?])),
                ("d", column([0, 8766, nil, -1] as [Int32?], .date32)),
                ("ts", column([0, nil, 1_000_000, -86_400_000_000] as [Int64?], .timestamp(.microsecond, timezone: nil))),
                ("b", ArrayData.build(from: [true, false, nil, true] as [Bool?])),
                ("m", ArrayData(uncheckedType: .decimal(bitWidth: 128, precision: 12, scale: 2), length: 4,
                                buffers: [.empty, Buffer(copyingValues: decimals)])),
                ("k", ArrayData(uncheckedType: .dictionary(index: .int32, value: .utf8, ordered: false), length: 4,
                                buffers: [.empty, Buffer(copyingValues: [0, 3, 1, 4] as [Int32])], dictionary: names)),
            ]
            return try RecordBatch(
                schema: Schema(columns.map { Field($0.0, $0.1.type) }), columns: columns.map(\.1))
        }
        return try! InMemorySource(batches: [try! batch(0), try! batch(10)])
    }()
}
