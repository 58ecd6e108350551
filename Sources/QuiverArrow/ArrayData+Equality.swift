import QuiverBytes

// Logical equality: two arrays are equal when a reader sees the same values, whatever the
// bytes. Ignored: slice offsets, bytes under null slots, padding, a validity bitmap that is
// absent vs. all ones, which dictionary encodes the values, where view bytes live, how list
// views share child ranges, and how runs are split. Compared: types (ignoring dictionary
// ids), nulls, then values — fixed-width values by their element bytes (floats: bitwise, or
// both NaN), byte strings by content, lists by their elements, unions by type id and the
// selected child value, dictionaries by decoded value, run-end encoding by the expansion.
//
// The walk compares ranges of *absolute* slots (`offset` already added), so children are
// reached without slicing: struct/fixed-size-list/sparse-union children through the parent
// slot, lists through their offsets, dictionaries and runs through indices. Malformed input
// (an offset past its child, a short buffer) is reported as a difference, never read.

extension ArrayData {
    /// Whether both arrays hold the same logical values (see `firstDifference(from:)`).
    /// O(length) without allocating; stops at the first difference.
    public func logicallyEquals(_ other: ArrayData) -> Bool {
        firstDifference(from: other) == nil
    }

    /// A description of the first logical difference between the arrays, or nil when they
    /// are equal, e.g. `row 3 › child 'item' row 7: 12 vs 13`. Types are compared ignoring
    /// dictionary ids and child-field metadata.
    /// O(total bytes) when equal: every value is compared; stops at the first difference.
    public func firstDifference(from other: ArrayData) -> String? {
        if let difference = typeDifference(type, other.type, checkMetadata: false) {
            return "type differs: \(difference)"
        }
        guard length == other.length else { return "length \(length) vs \(other.length)" }
        return LogicalComparison.compare(self, offset, other, other.offset, length)?.description
    }
}

extension RecordBatch {
    /// Whether both batches have equal schemas and logically equal columns.
    /// O(total bytes) when equal (see `ArrayData.firstDifference(from:)`).
    public func logicallyEquals(_ other: RecordBatch) -> Bool {
        firstDifference(from: other) == nil
    }

    /// The first difference between two batches: in the schemas (field names, types,
    /// nullability, metadata; dictionary ids ignored), the row counts, or a column's values.
    /// O(fields) for the schemas, then O(total bytes) for the columns when they are equal.
    public func firstDifference(from other: RecordBatch) -> String? {
        if let difference = schema.firstDifference(from: other.schema) { return "schema: \(difference)" }
        guard length == other.length else { return "row count \(length) vs \(other.length)" }
        for (index, (column, otherColumn)) in zip(columns, other.columns).enumerated() {
            let name = schema.fields[index].name
            guard column.length == length, otherColumn.length == length else {
                return "column '\(name)' (\(index)): length \(column.length) vs \(otherColumn.length)"
            }
            if let difference = LogicalComparison.compare(column, column.offset, otherColumn, otherColumn.offset, length) {
                return "column '\(name)' (\(index)) \(difference)"
            }
        }
        return nil
    }
}

extension Schema {
    /// The first difference between two schemas (field names, types, nullability and
    /// metadata, recursively; schema metadata), or nil. Dictionary ids are ignored.
    /// O(fields, nested ones and metadata included).
    public func firstDifference(from other: Schema) -> String? {
        guard fields.count == other.fields.count else {
            return "\(fields.count) fields vs \(other.fields.count)"
        }
        for (index, (field, otherField)) in zip(fields, other.fields).enumerated() {
            if let difference = fieldDifference(field, otherField, checkMetadata: true) {
                return "field '\(field.name)' (\(index)): \(difference)"
            }
        }
        if !metadataEqual(metadata, other.metadata) {
            return "schema metadata \(describe(metadata)) vs \(describe(other.metadata))"
        }
        return nil
    }

    /// Whether the schemas are equal but for dictionary ids.
    /// O(fields, nested ones and metadata included).
    public func logicallyEquals(_ other: Schema) -> Bool { firstDifference(from: other) == nil }
}

// MARK: - Types

/// The first difference between two types, ignoring dictionary ids (and child-field
/// metadata unless `checkMetadata`).
func typeDifference(_ a: DataType, _ b: DataType, checkMetadata: Bool) -> String? {
    switch (a, b) {
    case (.extension(let nameA, let metadataA, let storageA), .extension(let nameB, let metadataB, let storageB)):
        guard nameA == nameB else { return "extension '\(nameA)' vs '\(nameB)'" }
        guard !checkMetadata || metadataA == metadataB else {
            return "extension '\(nameA)' metadata '\(metadataA)' vs '\(metadataB)'"
        }
        return typeDifference(storageA, storageB, checkMetadata: checkMetadata).map { "storage of '\(nameA)': \($0)" }
    case (.map(let entriesA, let sortedA), .map(let entriesB, let sortedB)):
        // As in Arrow C++, the names of a map's entries, key and value fields are not part of
        // its type (writers differ: some canonicalise them to entries/key/value).
        guard sortedA == sortedB else { return "\(a) vs \(b)" }
        let keyValueA = entriesA.type.children, keyValueB = entriesB.type.children
        guard keyValueA.count == keyValueB.count else { return "\(a) vs \(b)" }
        for (fieldA, fieldB) in zip(keyValueA, keyValueB) {
            var renamed = fieldB
            renamed.name = fieldA.name
            if let difference = fieldDifference(fieldA, renamed, checkMetadata: checkMetadata) {
                return "map \(fieldA.name): \(difference)"
            }
        }
        return nil
    case (.dictionary(let indexA, let valueA, let orderedA), .dictionary(let indexB, let valueB, let orderedB)):
        guard indexA == indexB, orderedA == orderedB else { return "\(a) vs \(b)" }
        return typeDifference(valueA, valueB, checkMetadata: checkMetadata).map { "dictionary values: \($0)" }
    default:
        guard a.withPlaceholderChildren == b.withPlaceholderChildren else { return "\(a) vs \(b)" }
        for (fieldA, fieldB) in zip(a.children, b.children) {
            if let difference = fieldDifference(fieldA, fieldB, checkMetadata: checkMetadata) {
                return "child '\(fieldA.name)': \(difference)"
            }
        }
        return nil
    }
}

/// The first difference between two fields: name, nullability, metadata (if asked), type.
func fieldDifference(_ a: Field, _ b: Field, checkMetadata: Bool) -> String? {
    guard a.name == b.name else { return "name '\(a.name)' vs '\(b.name)'" }
    guard a.nullable == b.nullable else { return "nullable \(a.nullable) vs \(b.nullable)" }
    if checkMetadata && !metadataEqual(a.metadata, b.metadata) {
        return "metadata \(describe(a.metadata)) vs \(describe(b.metadata))"
    }
    return typeDifference(a.type, b.type, checkMetadata: checkMetadata)
}

/// Metadata equality regardless of pair order (writers differ in the order they emit).
private func metadataEqual(_ a: Metadata, _ b: Metadata) -> Bool {
    func sorted(_ m: Metadata) -> [String] { m.pairs.map { "\($0.key)\u{0}\($0.value)" }.sorted() }
    return a.count == b.count && sorted(a) == sorted(b)
}

private func describe(_ metadata: Metadata) -> String {
    "{" + metadata.pairs.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
}

extension DataType {
    /// The type with every child field replaced by one placeholder, so comparing two of
    /// these compares exactly the parameters that are not child fields.
    fileprivate var withPlaceholderChildren: DataType {
        let placeholder = Field("", .null)
        switch self {
        case .list: return .list(placeholder)
        case .largeList: return .largeList(placeholder)
        case .listView: return .listView(placeholder)
        case .largeListView: return .largeListView(placeholder)
        case .fixedSizeList(_, let size): return .fixedSizeList(placeholder, listSize: size)
        case .struct(let fields): return .struct(fields.map { _ in placeholder })
        case .map(_, let sorted): return .map(entries: placeholder, keysSorted: sorted)
        case .union(let mode, let fields, let ids): return .union(mode, fields: fields.map { _ in placeholder }, typeIds: ids)
        case .runEndEncoded: return .runEndEncoded(runEnds: placeholder, values: placeholder)
        default: return self
        }
    }
}

// MARK: - Values

/// Where two arrays first differ: a row of the compared range, the path below it, and what.
struct Difference: CustomStringConvertible {
    /// The row, relative to the start of the compared range.
    var row: Int
    /// Steps below that row, outermost first (e.g. `child 'item' row 7`).
    var below: [String] = []
    var detail: String

    /// This difference seen from a parent: `row` of the parent, then `step` into the child.
    func nested(row parentRow: Int, step: String) -> Difference {
        Difference(row: parentRow, below: ["\(step) row \(row)"] + below, detail: detail)
    }

    /// The same difference with the row shifted by the child's own position, so it reads
    /// as the child's logical row.
    func shifted(by delta: Int) -> Difference {
        var copy = self
        copy.row += delta
        return copy
    }

    var description: String {
        (["row \(row)"] + below).joined(separator: " › ") + ": " + detail
    }
}

enum LogicalComparison {
    /// Compares slots `[pa, pa + count)` of `a` with `[pb, pb + count)` of `b` (absolute
    /// slots: `offset` included). The types are already known to match.
    static func compare(_ a: ArrayData, _ pa: Int, _ b: ArrayData, _ pb: Int, _ count: Int) -> Difference? {
        guard count > 0 else { return nil }
        if let problem = malformation(a, pa, count) ?? malformation(b, pb, count) {
            return Difference(row: 0, detail: "malformed array: \(problem)")
        }
        switch a.type.storageType {
        case .null:
            return nil
        case .dictionary:
            return compareDictionaries(a, pa, b, pb, count)
        case .runEndEncoded:
            return compareRuns(a, pa, b, pb, count)
        case .union(let mode, let fields, let typeIds):
            return compareUnions(a, pa, b, pb, count, mode: mode, fields: fields, typeIds: typeIds)
        default:
            break
        }
        if let row = firstNullMismatch(a, pa, b, pb, count) {
            let state = { (x: ArrayData, p: Int) in x.isNull(p - x.offset) ? "null" : "valid" }
            return Difference(row: row, detail: "\(state(a, pa + row)) vs \(state(b, pb + row))")
        }
        switch a.type.storageType {
        case .boolean:
            return firstRow(a, pa, count) { k in
                let (x, y) = (BitUtil.get(a.buffers[1].baseAddress, pa + k), BitUtil.get(b.buffers[1].baseAddress, pb + k))
                return x == y ? nil : Difference(row: k, detail: "\(x) vs \(y)")
            }
        case .binary, .utf8, .largeBinary, .largeUtf8, .binaryView, .utf8View:
            return firstRow(a, pa, count) { k in
                guard let x = byteString(a, pa + k), let y = byteString(b, pb + k) else {
                    return Difference(row: k, detail: "malformed array: value bytes out of range")
                }
                return equalBytes(x, y) ? nil
                    : Difference(row: k, detail: "\(render(x, a.type)) vs \(render(y, b.type))")
            }
        case .list(let field), .largeList(let field), .listView(let field), .largeListView(let field),
             .map(let field, _):
            return firstRow(a, pa, count) { k in
                guard let x = listRange(a, pa + k), let y = listRange(b, pb + k) else {
                    return Difference(row: k, detail: "malformed array: list offsets out of range")
                }
                guard x.count == y.count else { return Difference(row: k, detail: "\(x.count) elements vs \(y.count)") }
                let (childA, childB) = (a.children[0], b.children[0])
                return compare(childA, childA.offset + x.start, childB, childB.offset + y.start, x.count)?
                    .shifted(by: x.start).nested(row: k, step: "child '\(field.name)'")
            }
        case .fixedSizeList(let field, let size):
            return firstValidRun(a, pa, count) { start, runLength in
                let (childA, childB) = (a.children[0], b.children[0])
                guard let difference = compare(
                    childA, childA.offset + (pa + start) * size, childB, childB.offset + (pb + start) * size,
                    runLength * size)
                else { return nil }
                return difference.shifted(by: (pa + start) * size)
                    .nested(row: start + difference.row / size, step: "child '\(field.name)'")
            }
        case .struct(let fields):
            return firstValidRun(a, pa, count) { start, runLength in
                for (index, field) in fields.enumerated() {
                    let (childA, childB) = (a.children[index], b.children[index])
                    if let difference = compare(childA, childA.offset + pa + start, childB, childB.offset + pb + start, runLength) {
                        return difference.shifted(by: pa + start)
                            .nested(row: start + difference.row, step: "child '\(field.name)'")
                    }
                }
                return nil
            }
        default:
            guard let width = a.type.fixedByteWidth else {
                return Difference(row: 0, detail: "cannot compare values of type \(a.type)")
            }
            return compareFixedWidth(a, pa, b, pb, count, width: width)
        }
    }

    // MARK: Per-layout comparisons

    /// Element bytes, `width` per slot; floats also equal when both are NaN.
    private static func compareFixedWidth(
        _ a: ArrayData, _ pa: Int, _ b: ArrayData, _ pb: Int, _ count: Int, width: Int
    ) -> Difference? {
        let (x, y) = (a.buffers[1].baseAddress, b.buffers[1].baseAddress)
        // Fast path: one memcmp when no slot is null and the bytes agree.
        if !hasNulls(a) && system_memcmp(x + pa * width, y + pb * width, count * width) == 0 { return nil }
        let isNaN = nanTest(a.type.storageType)
        return firstRow(a, pa, count) { k in
            let (p, q) = (x + (pa + k) * width, y + (pb + k) * width)
            if system_memcmp(p, q, width) == 0 || (isNaN?(p) == true && isNaN?(q) == true) { return nil }
            return Difference(row: k, detail: "\(renderFixed(p, a.type)) vs \(renderFixed(q, b.type))")
        }
    }

    /// Decoded values: a slot is null when its index is null or indexes a null value.
    private static func compareDictionaries(
        _ a: ArrayData, _ pa: Int, _ b: ArrayData, _ pb: Int, _ count: Int
    ) -> Difference? {
        guard let dictionaryA = a.dictionary, let dictionaryB = b.dictionary else {
            return Difference(row: 0, detail: "malformed array: dictionary array without a dictionary")
        }
        if let problem = malformation(dictionaryA, dictionaryA.offset, dictionaryA.length)
            ?? malformation(dictionaryB, dictionaryB.offset, dictionaryB.length) {
            return Difference(row: 0, detail: "malformed dictionary: \(problem)")
        }
        for k in 0..<count {
            let x = decodedSlot(a, pa + k, dictionaryA)
            let y = decodedSlot(b, pb + k, dictionaryB)
            switch (x, y) {
            case (.malformed, _), (_, .malformed):
                return Difference(row: k, detail: "malformed array: dictionary index out of range")
            case (.null, .null):
                continue
            case (.value(let i), .value(let j)):
                if let difference = compare(dictionaryA, dictionaryA.offset + i, dictionaryB, dictionaryB.offset + j, 1) {
                    return difference.shifted(by: i).nested(row: k, step: "dictionary")
                }
            default:
                return Difference(row: k, detail: "\(x) vs \(y)")
            }
        }
        return nil
    }

    private enum DecodedSlot: CustomStringConvertible {
        case null, value(Int), malformed
        var description: String {
            switch self {
            case .null: return "null"
            case .value: return "valid"
            case .malformed: return "malformed"
            }
        }
    }

    private static func decodedSlot(_ x: ArrayData, _ p: Int, _ dictionary: ArrayData) -> DecodedSlot {
        if x.isNull(p - x.offset) { return .null }
        guard case .dictionary(let indexType, _, _) = x.type.storageType,
              let index = x.buffers[1].integer(at: p, as: indexType), index >= 0, index < dictionary.length
        else { return .malformed }
        return dictionary.isNull(Int(index)) ? .null : .value(Int(index))
    }

    /// Walks both arrays run by run: each stretch where neither run changes compares one
    /// value, so the cost is the number of runs, not rows.
    private static func compareRuns(
        _ a: ArrayData, _ pa: Int, _ b: ArrayData, _ pb: Int, _ count: Int
    ) -> Difference? {
        guard a.children.count == 2, b.children.count == 2 else {
            return Difference(row: 0, detail: "malformed array: run-end encoded array without two children")
        }
        guard var runA = RunCursor(a, pa), var runB = RunCursor(b, pb) else {
            return Difference(row: 0, detail: "malformed array: run ends do not cover the slots")
        }
        var k = 0
        while k < count {
            let step = min(runA.end - (pa + k), runB.end - (pb + k), count - k)
            let (valuesA, valuesB) = (a.children[1], b.children[1])
            guard runA.run < valuesA.length, runB.run < valuesB.length else {
                return Difference(row: k, detail: "malformed array: more runs than values")
            }
            if let difference = compare(valuesA, valuesA.offset + runA.run, valuesB, valuesB.offset + runB.run, 1) {
                return difference.shifted(by: runA.run).nested(row: k, step: "run values")
            }
            k += step
            guard k == count || (runA.advance(to: pa + k) && runB.advance(to: pb + k)) else {
                return Difference(row: k, detail: "malformed array: run ends do not cover the slots")
            }
        }
        return nil
    }

    /// The run holding a logical slot of a run-end encoded array.
    private struct RunCursor {
        let runEnds: ArrayData
        /// The physical run (index into run ends and values, relative to their offsets).
        var run: Int
        /// Where the current run ends (exclusive, logical).
        var end: Int

        init?(_ array: ArrayData, _ slot: Int) {
            runEnds = array.children[0]
            // First run whose end is past the slot (run ends are strictly increasing).
            var (low, high) = (0, runEnds.length)
            while low < high {
                let mid = (low + high) / 2
                guard let value = RunCursor.end(runEnds, mid) else { return nil }
                if value <= slot { low = mid + 1 } else { high = mid }
            }
            guard low < runEnds.length, let value = RunCursor.end(runEnds, low) else { return nil }
            run = low
            end = value
        }

        static func end(_ runEnds: ArrayData, _ run: Int) -> Int? {
            runEnds.buffers[1].integer(at: runEnds.offset + run, as: runEnds.type).map { Int($0) }
        }

        /// Moves to the run holding `slot` if the current one ended before it.
        mutating func advance(to slot: Int) -> Bool {
            while end <= slot {
                run += 1
                guard run < runEnds.length, let next = RunCursor.end(runEnds, run), next > end else { return false }
                end = next
            }
            return true
        }
    }

    /// Type id per slot, then the selected child's value at the slot's child position.
    private static func compareUnions(
        _ a: ArrayData, _ pa: Int, _ b: ArrayData, _ pb: Int, _ count: Int,
        mode: UnionMode, fields: [Field], typeIds: [Int8]
    ) -> Difference? {
        let (idsA, idsB) = (a.buffers[0].baseAddress, b.buffers[0].baseAddress)
        for k in 0..<count {
            let (x, y) = (idsA.load(fromByteOffset: pa + k, as: Int8.self), idsB.load(fromByteOffset: pb + k, as: Int8.self))
            guard x == y else { return Difference(row: k, detail: "type id \(x) vs \(y)") }
            guard let child = typeIds.firstIndex(of: x), child < a.children.count, child < b.children.count else {
                return Difference(row: k, detail: "malformed array: unknown type id \(x)")
            }
            let (childA, childB) = (a.children[child], b.children[child])
            let position = { (x: ArrayData, p: Int, c: ArrayData) -> Int? in
                guard mode == .dense else { return p }
                guard let offset = x.buffers[1].integer(at: p, as: .int32), offset >= 0, offset < c.length else { return nil }
                return Int(offset) + c.offset
            }
            guard let ca = position(a, pa + k, childA), let cb = position(b, pb + k, childB),
                  ca < childA.offset + childA.length, cb < childB.offset + childB.length
            else { return Difference(row: k, detail: "malformed array: union child offset out of range") }
            if let difference = compare(childA, ca, childB, cb, 1) {
                return difference.shifted(by: ca - childA.offset).nested(row: k, step: "child '\(fields[child].name)'")
            }
        }
        return nil
    }

    // MARK: Slot helpers

    private static func hasNulls(_ x: ArrayData) -> Bool { x.nullCount > 0 && x.validity != nil }

    /// The first row whose null-ness differs.
    private static func firstNullMismatch(_ a: ArrayData, _ pa: Int, _ b: ArrayData, _ pb: Int, _ count: Int) -> Int? {
        guard hasNulls(a) || hasNulls(b) else { return nil }
        return (0..<count).first { a.isNull(pa + $0 - a.offset) != b.isNull(pb + $0 - b.offset) }
    }

    /// Runs `body` on each non-null row of `x` until it reports a difference.
    private static func firstRow(_ x: ArrayData, _ p: Int, _ count: Int, _ body: (Int) -> Difference?) -> Difference? {
        let nulls = hasNulls(x)
        for k in 0..<count where !nulls || !x.isNull(p + k - x.offset) {
            if let difference = body(k) { return difference }
        }
        return nil
    }

    /// Runs `body(start, length)` on each maximal stretch of non-null rows of `x`.
    private static func firstValidRun(_ x: ArrayData, _ p: Int, _ count: Int, _ body: (Int, Int) -> Difference?) -> Difference? {
        guard hasNulls(x) else { return body(0, count) }
        var k = 0
        while k < count {
            while k < count && x.isNull(p + k - x.offset) { k += 1 }
            let start = k
            while k < count && !x.isNull(p + k - x.offset) { k += 1 }
            if k > start, let difference = body(start, k - start) { return difference }
        }
        return nil
    }

    /// The bytes of a binary, utf8 or view slot, or nil when they lie outside the buffers.
    private static func byteString(_ x: ArrayData, _ p: Int) -> UnsafeRawBufferPointer? {
        switch x.type.storageType {
        case .binaryView, .utf8View:
            let view = x.buffers[1].baseAddress + p * 16
            let size = Int(view.loadUnaligned(as: Int32.self))
            if size <= 12 { return size >= 0 ? UnsafeRawBufferPointer(start: view + 4, count: size) : nil }
            let index = Int(view.loadUnaligned(fromByteOffset: 8, as: Int32.self))
            let offset = Int(view.loadUnaligned(fromByteOffset: 12, as: Int32.self))
            guard index >= 0, 2 + index < x.buffers.count else { return nil }
            let data = x.buffers[2 + index]
            guard (try? checkRange(offset: offset, count: size, within: data.count)) != nil else { return nil }
            return UnsafeRawBufferPointer(start: data.baseAddress + offset, count: size)
        default:
            let offsetType: DataType = x.type.layout.contains(.offsets64) ? .int64 : .int32
            guard let start = x.buffers[1].integer(at: p, as: offsetType), let end = x.buffers[1].integer(at: p + 1, as: offsetType),
                  start >= 0, end >= start, end <= Int64(x.buffers[2].count)
            else { return nil }
            return UnsafeRawBufferPointer(start: x.buffers[2].baseAddress + Int(start), count: Int(end - start))
        }
    }

    /// The child range of a list, large list, map or list view slot, relative to the
    /// child's offset; nil when it falls outside the child.
    private static func listRange(_ x: ArrayData, _ p: Int) -> (start: Int, count: Int)? {
        let layout = x.type.layout
        let offsetType: DataType = layout.contains(.offsets64) ? .int64 : .int32
        guard let start = x.buffers[1].integer(at: p, as: offsetType) else { return nil }
        let end: Int64?
        if layout.count == 3 {  // list view: offsets and sizes
            end = x.buffers[2].integer(at: p, as: offsetType).flatMap { start.addingReportingOverflow($0).overflow ? nil : start + $0 }
        } else {
            end = x.buffers[1].integer(at: p + 1, as: offsetType)
        }
        guard let end, start >= 0, end >= start, end <= Int64(x.children.first?.length ?? 0) else { return nil }
        return (Int(start), Int(end - start))
    }

    /// Checks that the buffers of `x` cover slots `[p, p + count)` and that the range lies
    /// inside the array, so the comparisons can read without further checks.
    private static func malformation(_ x: ArrayData, _ p: Int, _ count: Int) -> String? {
        guard p >= x.offset, count <= x.offset + x.length - p else {
            return "slots \(p - x.offset)..<\(p - x.offset + count) outside length \(x.length)"
        }
        do {
            try x.checkOwnBufferSizes()
            if case .runEndEncoded = x.type.storageType, let runEnds = x.children.first { try runEnds.checkOwnBufferSizes() }
        } catch {
            return (error as? QuiverError)?.message ?? "\(error)"
        }
        let type = x.type.storageType
        let end = p + count
        if case .runEndEncoded = type, x.children.count == 2, !x.children[0].type.isInteger {
            return "run ends are \(x.children[0].type)"
        }
        let childCount = type.children.count
        guard x.children.count == childCount else { return "\(x.children.count) children, \(type) has \(childCount)" }
        for child in x.children {
            guard child.offset >= 0, child.length >= 0 else { return "child with negative offset or length" }
        }
        switch type {
        case .struct, .union(.sparse, _, _):
            if let short = x.children.first(where: { $0.length < end }) {
                return "child of length \(short.length) is shorter than the parent's slots (\(end))"
            }
        case .fixedSizeList(_, let size):
            guard size >= 0, size == 0 || x.children[0].length / size >= end else {
                return "child too short for \(end) lists of \(size)"
            }
        default:
            break
        }
        return nil
    }
}

extension ArrayData {
    /// Throws `invalidData` unless each buffer of this array's own layout is long enough
    /// for slots `[0, offset + length)`: bitmaps, values, offsets, sizes, type ids, views.
    /// O(1); children, dictionaries and the byte ranges that offsets point at are the
    /// caller's to check. Code that reads buffers of arrays it did not build calls this first.
    public func checkOwnBufferSizes() throws {
        let type = type.storageType
        let layout = type.layout
        guard buffers.count >= layout.count else {
            throw QuiverError(.invalidData, "\(buffers.count) buffers, \(type) needs \(layout.count)")
        }
        guard offset >= 0, length >= 0, offset <= Int.max / 32 - length else {
            throw QuiverError(.invalidData, "offset \(offset) and length \(length) out of range")
        }
        let end = offset + length
        var valueWidth = type.fixedByteWidth ?? 0
        if case .dictionary(let indexType, _, _) = type { valueWidth = indexType.fixedByteWidth ?? 0 }
        for (index, kind) in layout.enumerated() {
            if kind == .validity && buffers[index].count == 0 { continue }  // no bitmap: no nulls
            guard let needed = type.bufferBytesNeeded(kind, slots: end, valueWidth: valueWidth) else {
                throw QuiverError(.invalidData, "values of \(type) overflow")
            }
            guard buffers[index].count >= needed else {
                throw QuiverError(.invalidData, "buffer \(index) of \(type) has \(buffers[index].count) bytes, \(end) slots need \(needed)")
            }
        }
    }
}

// MARK: - Reading and rendering values

extension Buffer {
    /// Element `index` of this buffer read as integers of `type` (int8…uint64, 1–8 bytes,
    /// little-endian), widened to Int64; nil when the element lies outside the buffer or a
    /// uint64 exceeds Int64. For offsets, indices and run ends read from untrusted arrays.
    public func integer(at index: Int, as type: DataType) -> Int64? {
        guard let width = type.fixedByteWidth, type.isInteger, index >= 0, index < count / max(width, 1) else { return nil }
        let p = baseAddress + index * width
        switch type.storageType {
        case .int8: return Int64(p.load(as: Int8.self))
        case .int16: return Int64(p.loadUnaligned(as: Int16.self))
        case .int32: return Int64(p.loadUnaligned(as: Int32.self))
        case .int64: return p.loadUnaligned(as: Int64.self)
        case .uint8: return Int64(p.load(as: UInt8.self))
        case .uint16: return Int64(p.loadUnaligned(as: UInt16.self))
        case .uint32: return Int64(p.loadUnaligned(as: UInt32.self))
        case .uint64: return Int64(exactly: p.loadUnaligned(as: UInt64.self))
        default: return nil
        }
    }
}

/// The NaN test for floating-point types (nil for others).
private func nanTest(_ type: DataType) -> ((UnsafeRawPointer) -> Bool)? {
    switch type {
    case .float16:
        return { let bits = $0.loadUnaligned(as: UInt16.self); return bits & 0x7C00 == 0x7C00 && bits & 0x03FF != 0 }
    case .float32: return { $0.loadUnaligned(as: Float.self).isNaN }
    case .float64: return { $0.loadUnaligned(as: Double.self).isNaN }
    default: return nil
    }
}

private func equalBytes(_ x: UnsafeRawBufferPointer, _ y: UnsafeRawBufferPointer) -> Bool {
    guard x.count == y.count else { return false }
    guard let p = x.baseAddress, let q = y.baseAddress else { return true }
    return system_memcmp(p, q, x.count) == 0
}

/// A fixed-width value as a number when the type is numeric, otherwise as hex.
private func renderFixed(_ p: UnsafeRawPointer, _ type: DataType) -> String {
    let storage = type.storageType
    if storage.isInteger, let width = storage.fixedByteWidth,
       let value = Buffer(owner: nil, baseAddress: p, count: width).integer(at: 0, as: storage) {
        return String(value)
    }
    switch storage {
    case .uint64: return String(p.loadUnaligned(as: UInt64.self))
    case .float32: return String(p.loadUnaligned(as: Float.self))
    case .float64: return String(p.loadUnaligned(as: Double.self))
    default: return hex(UnsafeRawBufferPointer(start: p, count: storage.fixedByteWidth ?? 0))
    }
}

/// A byte string as a quoted string for utf8 types, otherwise hex (both truncated).
private func render(_ bytes: UnsafeRawBufferPointer, _ type: DataType) -> String {
    switch type.storageType {
    case .utf8, .largeUtf8, .utf8View:
        let text = String(decoding: bytes.prefix(64), as: UTF8.self)
        return "\"\(text)\(bytes.count > 64 ? "…" : "")\""
    default:
        return hex(bytes)
    }
}

private func hex(_ bytes: UnsafeRawBufferPointer) -> String {
    let digits = Array("0123456789ABCDEF")
    let shown = bytes.prefix(32).map { "\(digits[Int($0 >> 4)])\(digits[Int($0 & 15)])" }.joined()
    return "0x" + shown + (bytes.count > 32 ? "…(\(bytes.count) bytes)" : "")
}
