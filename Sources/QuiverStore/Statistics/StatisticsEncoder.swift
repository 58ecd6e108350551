import QuiverArrow
import QuiverBytes
import QuiverIPC

/// Builds the statistics stream of one file incrementally (StatisticsCodec.swift describes
/// the stream): each batch's entries are appended once, to plain growing arrays, so a
/// commit that adds one batch to a file of N costs N × (a few memcpy'd bytes) for the
/// stream, not N × (building N batches' entries again).
///
/// A value: a writer keeps one per file, and a copy taken before a commit is the state to
/// go back to if the commit fails (the arrays are shared until one side appends).
struct StatisticsEncoder: Sendable {
    private let nodeIndex: [Int]
    private var members: UInt8
    // One row per batch (column null) and per column with statistics.
    private var columns: [Int32] = []
    private var mapOffsets: [Int32] = [0]
    // One entry per statistic.
    private var keys: [Int32] = []
    private var typeIds: [Int8] = []
    private var valueOffsets: [Int32] = []
    // The union's members.
    private var ints: [Int64] = [], uints: [UInt64] = [], doubles: [Double] = [], bools: [Bool] = []
    private var stringOffsets: [Int32] = [0], stringBytes: [UInt8] = []
    private var binaryOffsets: [Int32] = [0], binaryBytes: [UInt8] = []
    /// Batches described so far.
    private(set) var count = 0

    init(schema: Schema) {
        nodeIndex = StatisticsCodec.nodeIndices(schema)
        members = StatisticsCodec.members(for: schema)
    }

    /// Adds the next batch's statistics.
    mutating func append(_ batch: BatchStatistics) {
        columns.append(-1)  // null: the batch itself
        add(.rowCount, .int(Int64(batch.rowCount)))
        endRow()
        for (index, column) in batch.columns.enumerated() {
            guard let column, index < nodeIndex.count else { continue }
            columns.append(Int32(nodeIndex[index]))
            add(.nullCount, .int(Int64(column.nullCount)))
            if let min = column.min { add(min.isExact ? .minExact : .minApproximate, min.value) }
            if let max = column.max { add(max.isExact ? .maxExact : .maxApproximate, max.value) }
            endRow()
        }
        count += 1
    }

    private mutating func add(_ key: StatisticsCodec.Key, _ value: StatisticValue) {
        keys.append(key.rawValue)
        let code = StatisticsCodec.code(of: value)
        members |= 1 << code
        typeIds.append(Int8(code))
        switch value {
        case .int(let v): valueOffsets.append(Int32(ints.count)); ints.append(v)
        case .uint(let v): valueOffsets.append(Int32(uints.count)); uints.append(v)
        case .double(let v): valueOffsets.append(Int32(doubles.count)); doubles.append(v)
        case .bool(let v): valueOffsets.append(Int32(bools.count)); bools.append(v)
        case .string(let v):
            valueOffsets.append(Int32(stringOffsets.count - 1))
            stringBytes += v.utf8
            stringOffsets.append(Int32(stringBytes.count))
        case .binary(let v):
            valueOffsets.append(Int32(binaryOffsets.count - 1))
            binaryBytes += v
            binaryOffsets.append(Int32(binaryBytes.count))
        }
    }

    private mutating func endRow() { mapOffsets.append(Int32(keys.count)) }

    /// The statistics stream of every batch appended: the layout's constant prefix, one
    /// record batch, the end-of-stream marker.
    func stream() throws -> Buffer {
        let layout = try StatisticsCodec.Layout.of(members)
        let rows = columns.count, entries = keys.count
        // The batch rows are the null ones.
        var validity = [UInt8](repeating: 0, count: BitUtil.byteCount(forBits: rows))
        for (row, column) in columns.enumerated() where column >= 0 { validity[row >> 3] |= 1 << UInt8(row & 7) }
        let column = ArrayData(
            uncheckedType: .int32, length: rows, nullCount: rows - columns.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) },
            buffers: [Buffer(copying: validity), Buffer(copyingValues: columns)])
        var boolBits = [UInt8](repeating: 0, count: BitUtil.byteCount(forBits: bools.count))
        for (index, flag) in bools.enumerated() where flag { boolBits[index >> 3] |= 1 << UInt8(index & 7) }
        let allChildren = [
            ArrayData(uncheckedType: .int64, length: ints.count, buffers: [.empty, Buffer(copyingValues: ints)]),
            ArrayData(uncheckedType: .uint64, length: uints.count, buffers: [.empty, Buffer(copyingValues: uints)]),
            ArrayData(uncheckedType: .float64, length: doubles.count, buffers: [.empty, Buffer(copyingValues: doubles)]),
            ArrayData(uncheckedType: .boolean, length: bools.count, buffers: [.empty, Buffer(copying: boolBits)]),
            ArrayData(
                uncheckedType: .utf8, length: stringOffsets.count - 1,
                buffers: [.empty, Buffer(copyingValues: stringOffsets), Buffer(copying: stringBytes)]),
            ArrayData(
                uncheckedType: .binary, length: binaryOffsets.count - 1,
                buffers: [.empty, Buffer(copyingValues: binaryOffsets), Buffer(copying: binaryBytes)]),
        ]
        let mapType = layout.schema.fields[1].type
        guard case .map(let entriesField, _) = mapType, case .struct(let entryFields) = entriesField.type else {
            preconditionFailure("the statistics schema's second column is a map of a struct")
        }
        let key = ArrayData(
            uncheckedType: StatisticsCodec.keyType, length: entries, buffers: [.empty, Buffer(copyingValues: keys)],
            dictionary: StatisticsCodec.keyDictionary)
        let value = ArrayData(
            uncheckedType: entryFields[1].type, length: entries,
            buffers: [Buffer(copyingValues: typeIds), Buffer(copyingValues: valueOffsets)],
            children: allChildren.indices.filter { members & 1 << $0 != 0 }.map { allChildren[$0] })
        let entriesData = ArrayData(uncheckedType: entriesField.type, length: entries, buffers: [.empty], children: [key, value])
        let map = ArrayData(uncheckedType: mapType, length: rows, buffers: [.empty, Buffer(copyingValues: mapOffsets)], children: [entriesData])
        let body = try ArrayEncoder.encode([column, map], length: rows)
        let output = BufferOutputStream(capacity: layout.prefix.count + 1024 + body.bodyLength)
        try output.write(layout.prefix)
        try MessageFraming.write(.recordBatch(body.header), body: body, to: output)
        try output.write(StoreFileFormat.endOfStream)
        return output.getvalue()
    }

    /// The stream as footer metadata text (base64).
    func text() throws -> String {
        Base64.encode(try stream())
    }
}
