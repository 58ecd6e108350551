import QuiverArrow
import QuiverBytes
import QuiverTestSupport
import Testing

@Suite("ArrayData logical equality")
struct ArrayEqualityTests {
    @Test func equalArraysCompareEqual() {
        let a = Make.int32([1, nil, 3])
        #expect(a.logicallyEquals(Make.int32([1, nil, 3])))
        #expect(a.firstDifference(from: a) == nil)
    }

    @Test func differentValueIsReportedWithItsRow() {
        let difference = Make.int32([1, 2, 3, 4]).firstDifference(from: Make.int32([1, 2, 7, 4]))
        #expect(difference == "row 2: 3 vs 7")
    }

    @Test func differentNullIsADifference() {
        let difference = Make.int32([1, 2, 3]).firstDifference(from: Make.int32([1, nil, 3]))
        #expect(difference == "row 1: valid vs null")
        #expect(!Make.utf8(["a", nil]).logicallyEquals(Make.utf8(["a", ""])))
    }

    @Test func differentTypeOrLengthIsADifference() {
        let ints = Make.int32([1, 2])
        let longs = Make.fixed(.int64, [Int64(1), 2], filler: 0)
        #expect(ints.firstDifference(from: longs)?.hasPrefix("type differs") == true)
        #expect(ints.firstDifference(from: Make.int32([1, 2, 3])) == "length 2 vs 3")
        var renamed = Make.list([0, 1], child: Make.int32([1]))
        renamed.type = .list(Field("element", .int32))
        #expect(!Make.list([0, 1], child: Make.int32([1])).logicallyEquals(renamed))
    }

    @Test func sliceEqualsTheSameValuesUnsliced() {
        let whole = Make.int32([0, 1, 2, 3, 4, 5])
        #expect(whole.slice(from: 2, length: 3).logicallyEquals(Make.int32([2, 3, 4])))
        #expect(!whole.slice(from: 1, length: 3).logicallyEquals(Make.int32([2, 3, 4])))
        let strings = Make.utf8(["x", "hello", nil, "world"])
        #expect(strings.slice(from: 1, length: 3).logicallyEquals(Make.utf8(["hello", nil, "world"])))
    }

    @Test func absentValidityEqualsAllOnesBitmap() {
        let noBitmap = Make.int32([1, 2, 3])
        let allOnes = Make.int32([1, 2, 3], bitmapWhenNoNulls: true)
        #expect(noBitmap.buffers[0].count == 0 && allOnes.buffers[0].count > 0)
        #expect(noBitmap.logicallyEquals(allOnes))
    }

    @Test func bytesUnderNullsAreIgnored() {
        #expect(Make.int32([1, nil, 3], filler: 0).logicallyEquals(Make.int32([1, nil, 3], filler: 12345)))
        #expect(Make.utf8(["a", nil], nullText: "").logicallyEquals(Make.utf8(["a", nil], nullText: "garbage")))
    }

    @Test func floatsCompareBitwiseOrBothNaN() {
        #expect(Make.float64([.nan, 1.5]).logicallyEquals(Make.float64([-.nan, 1.5])))
        #expect(!Make.float64([0.0]).logicallyEquals(Make.float64([-0.0])))
        #expect(!Make.float64([1.0]).logicallyEquals(Make.float64([.nan])))
    }

    @Test func dictionariesCompareByDecodedValues() {
        let first = Make.dictionary([0, 1, nil, 0], Make.utf8(["a", "b"]))
        let reordered = Make.dictionary([1, 0, nil, 1], Make.utf8(["b", "a", "unused"]))
        #expect(first.logicallyEquals(reordered))
        // An index pointing at a null dictionary value decodes to null.
        let nullValue = Make.dictionary([0, 1, 2, 0], Make.utf8(["a", "b", nil]))
        #expect(first.logicallyEquals(nullValue))
        let changed = Make.dictionary([0, 1, nil, 1], Make.utf8(["a", "b"]))
        #expect(first.firstDifference(from: changed) == "row 3 › dictionary row 0: \"a\" vs \"b\"")
    }

    @Test func viewsCompareByTheirBytes() {
        let long = "a string longer than twelve bytes"
        let a = Make.utf8View(["short", long, nil])
        let b = Make.utf8View(["short", long, nil], padding: 17)
        #expect(a.logicallyEquals(b))
        #expect(!a.logicallyEquals(Make.utf8View(["short", long + "!", nil])))
    }

    @Test func listsCompareByElementsNotOffsets() {
        let a = Make.list([0, 2, 2, 3], valid: [true, false, true], child: Make.int32([1, 2, 3]))
        // Same lists, child shifted by garbage and the null list covering garbage too.
        let b = Make.list([1, 3, 5, 6], valid: [true, false, true], child: Make.int32([9, 1, 2, 8, 8, 3]))
        #expect(a.logicallyEquals(b))
        let c = Make.list([0, 2, 2, 3], valid: [true, false, true], child: Make.int32([1, 5, 3]))
        #expect(a.firstDifference(from: c) == "row 0 › child 'item' row 1: 2 vs 5")
        let views = Make.listView([0, 0, 2], [2, 0, 1], child: Make.int32([1, 2, 3]))
        let sharing = Make.listView([1, 0, 0], [2, 0, 1], child: Make.int32([3, 1, 2]))
        #expect(views.logicallyEquals(sharing))
    }

    @Test func structDifferencesNameTheChild() {
        let a = Make.structure([("a", Make.int32([1, 2, 3])), ("b", Make.utf8(["x", "y", "z"]))])
        let b = Make.structure([("a", Make.int32([1, 2, 3])), ("b", Make.utf8(["x", "Y", "z"]))])
        #expect(a.firstDifference(from: b) == "row 1 › child 'b' row 1: \"y\" vs \"Y\"")
        // Values under a null struct slot do not matter.
        let nullA = Make.structure([("a", Make.int32([1, 2, 3]))], valid: [true, false, true])
        let nullB = Make.structure([("a", Make.int32([1, 99, 3]))], valid: [true, false, true])
        #expect(nullA.logicallyEquals(nullB))
        #expect(nullA.slice(from: 1, length: 2).logicallyEquals(nullB.slice(from: 1, length: 2)))
    }

    @Test func unionsCompareTypeIdAndSelectedValue() {
        let a = Make.sparseUnion([0, 5, 0], [Make.int32([1, 777, 3]), Make.utf8(["unused", "x", "unused"])])
        let b = Make.sparseUnion([0, 5, 0], [Make.int32([1, 0, 3]), Make.utf8(["", "x", ""])])
        #expect(a.logicallyEquals(b))
        let c = Make.sparseUnion([0, 0, 0], [Make.int32([1, 0, 3]), Make.utf8(["", "x", ""])])
        #expect(a.firstDifference(from: c) == "row 1: type id 5 vs 0")
    }

    @Test func runEndEncodingComparesTheExpansion() {
        let a = Make.runEndEncoded([2, 5], Make.int32([7, 8]))
        let split = Make.runEndEncoded([1, 2, 4, 5], Make.int32([7, 7, 8, 8]))
        #expect(a.logicallyEquals(split))
        let different = Make.runEndEncoded([3, 5], Make.int32([7, 8]))
        #expect(a.firstDifference(from: different) == "row 2 › run values row 1: 8 vs 7")
        #expect(a.slice(from: 1, length: 3).logicallyEquals(Make.runEndEncoded([1, 3], Make.int32([7, 8]))))
    }

    @Test func extensionsCompareNameAndStorage() {
        var a = Make.int32([1, 2])
        a.type = .extension(name: "x.id", metadata: "", storage: .int32)
        var b = a
        b.type = .extension(name: "x.other", metadata: "", storage: .int32)
        #expect(!a.logicallyEquals(b))
        #expect(!a.logicallyEquals(Make.int32([1, 2])))
        var c = Make.int32([1, 2], bitmapWhenNoNulls: true)
        c.type = a.type
        #expect(a.logicallyEquals(c))
    }

    @Test func malformedArraysAreReportedNotRead() {
        // The second list claims elements past the end of its child.
        let bad = Make.list([0, 1, 50], child: Make.int32([1]))
        let good = Make.list([0, 1, 2], child: Make.int32([1, 2]))
        #expect(bad.firstDifference(from: good)?.contains("malformed") == true)
        let shortBuffer = ArrayData(uncheckedType: .int64, length: 10, buffers: [.empty, Buffer(copying: [1, 2, 3])])
        #expect(shortBuffer.firstDifference(from: shortBuffer)?.contains("malformed") == true)
    }

    @Test func recordBatchesCompareSchemaThenColumns() throws {
        let schema = Schema([Field("a", .int32), Field("b", .utf8)], metadata: ["k": "v"])
        let batch = try RecordBatch(schema: schema, columns: [Make.int32([1, 2]), Make.utf8(["x", "y"])])
        let same = try RecordBatch(schema: schema, columns: [Make.int32([1, 2], bitmapWhenNoNulls: true), Make.utf8(["x", "y"])])
        #expect(batch.logicallyEquals(same))
        let changed = try RecordBatch(schema: schema, columns: [Make.int32([1, 2]), Make.utf8(["x", "z"])])
        #expect(batch.firstDifference(from: changed) == "column 'b' (1) row 1: \"y\" vs \"z\"")
        let otherMetadata = Schema(schema.fields, metadata: ["k": "w"])
        #expect(batch.firstDifference(from: try RecordBatch(schema: otherMetadata, columns: batch.columns))?.hasPrefix("schema") == true)
        let notNullable = Schema([Field("a", .int32, nullable: false), Field("b", .utf8)], metadata: ["k": "v"])
        #expect(!batch.logicallyEquals(try RecordBatch(schema: notNullable, columns: batch.columns)))
    }

    @Test func dictionaryIdsAreIgnored() {
        let values = Make.utf8(["a"])
        let type = DataType.dictionary(index: .int8, value: .utf8, ordered: false)
        let a = Schema([Field("d", .list(Field("item", type, dictionaryId: 3)), dictionaryId: nil)])
        let b = Schema([Field("d", .list(Field("item", type, dictionaryId: 7)))])
        #expect(a.logicallyEquals(b))
        var array = Make.dictionary([0], values)
        let list = Make.list([0, 1], child: array)
        array.type = type
        var relabelled = list
        relabelled.type = .list(Field("item", type, dictionaryId: 9))
        #expect(list.logicallyEquals(relabelled))
    }
}
