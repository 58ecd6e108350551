import QuiverArrow
import QuiverBytes
import QuiverTestSupport
import Testing

/// `ArrayData(type:…)` and `makeArray` validate; their `unchecked` twins do not.
struct CheckedConstructionTests {
    /// utf8 offsets that run past the data buffer.
    static let badStrings = ArrayData(
        uncheckedType: .utf8, length: 1, buffers: [.empty, Buffer(copyingValues: [Int32(0), 5]), Buffer(copyingValues: [UInt8(65)])])

    @Test func validatingInitializerRejectsBadData() {
        #expect(throws: QuiverError.self) {
            try ArrayData(type: .utf8, length: 1, buffers: Self.badStrings.buffers)
        }
        #expect(throws: QuiverError.self) { try makeArray(Self.badStrings) }
    }

    @Test func validatingInitializerAcceptsGoodData() throws {
        let good = Make.utf8(["a", nil, "bc"])
        let data = try ArrayData(
            type: good.type, length: good.length, nullCount: good.nullCount, offset: good.offset, buffers: good.buffers)
        #expect(data.logicallyEquals(good))
        #expect(try makeArray(data) is StringArray)
        #expect(makeArrayUnchecked(data) is StringArray)
    }
}
