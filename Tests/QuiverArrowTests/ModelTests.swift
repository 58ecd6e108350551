import QuiverArrow
import QuiverBytes
import Testing

@Suite struct ModelTests {
    @Test func sliceRecomputesNullCount() {
        // Validity 0b1011_0101: slots 1, 3, 6 are null.
        let validity = Buffer(copying: [0b1011_0101])
        let values = Buffer(copyingValues: [Int32](0..<8))
        let data = ArrayData(uncheckedType: .int32, length: 8, nullCount: 3, buffers: [validity, values])
        #expect(data.isNull(1) && data.isNull(3) && data.isNull(6) && !data.isNull(0))
        let slice = data.slice(from: 2, length: 4)
        #expect(slice.nullCount == 1)
        #expect(slice.isNull(1))
    }

    @Test func metadataKeepsOrder() {
        var metadata: Metadata = ["b": "1", "a": "2"]
        metadata["c"] = "3"
        metadata["b"] = "4"
        #expect(metadata.map(\.key) == ["b", "a", "c"])
        #expect(metadata["b"] == "4")
    }
}
