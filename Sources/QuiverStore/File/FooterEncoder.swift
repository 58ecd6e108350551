import QuiverArrow
import QuiverBytes
import QuiverIPC

/// Encodes a store file's footer flatbuffer at each commit from parts kept between commits,
/// so that a commit copies bytes instead of rebuilding the footer: the schema is encoded
/// once, and each committed block once.
///
/// The schema and version come from `ArrowMetadata.encodeFooter` of a footer without
/// batches (the *base*, encoded at creation). A commit copies the base, appends the block
/// vectors and the custom metadata after it, and points the base's footer table at them:
/// FlatBuffers offsets are relative and point forward, so the appended objects need no other
/// change, and the base's own (empty) vectors stay behind unreferenced. Every object keeps
/// its alignment relative to the footer's first byte, as verifiers check.
struct FooterEncoder {
    /// The footer of the schema without batches; its metadata field exists (a placeholder),
    /// so that its table has the slot to point at the appended metadata.
    private let base: [UInt8]
    /// Where, in `base`, the footer table's offsets to the two block vectors and the
    /// metadata are.
    private let dictionariesField: Int, recordBatchesField: Int, metadataField: Int
    /// The first `encodedBlockCount` record batch blocks, encoded (`blockSize` bytes each).
    private var encodedBlocks: [UInt8] = []
    private var encodedBlockCount = 0

    /// Bytes of an encoded `Block` struct: offset, metadata length, padding, body length.
    static let blockSize = 24

    init(schema: Schema) throws {
        base = ArrowMetadata.encodeFooter(
            Footer(version: .v5, schema: schema, dictionaries: [], recordBatches: [], customMetadata: ["": ""]))
        // The footer table (verified), and where its fields are.
        let footer = try FlatBufferTable.root(of: Buffer(copying: base))
        func field(_ id: Int) throws -> Int {
            guard let position = try footer.fieldPosition(id, size: 4) else {
                throw QuiverError(.invalidFlatBuffer, "footer base: field \(id) is missing")
            }
            return position
        }
        // Footer fields (Schema.fbs): version 0, schema 1, dictionaries 2, recordBatches 3,
        // custom_metadata 4.
        dictionariesField = try field(2)
        recordBatchesField = try field(3)
        metadataField = try field(4)
    }

    /// Appends the footer flatbuffer listing `dictionaries` and `recordBatches`, with
    /// `metadata`, to `output` (which must end 8-aligned relative to the file: the footer's
    /// first byte is its alignment origin). Blocks recorded by `keep` are copied; the others
    /// are encoded.
    func encode(
        into output: inout [UInt8], dictionaries: [FileBlock], recordBatches: [FileBlock], metadata: Metadata
    ) throws {
        let start = output.count
        output += base
        var position: Int { output.count - start }
        func pad(to alignment: Int, before extra: Int = 0) {
            let padding = (alignment - (position + extra) % alignment) % alignment
            output.append(contentsOf: repeatElement(0, count: padding))
        }
        func append<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { output += $0 }
        }
        /// Points the offset field at `field` to `target` (both footer positions).
        func link(_ field: Int, to target: Int) {
            let offset = UInt32(target - field).littleEndian
            withUnsafeBytes(of: offset) { output.replaceSubrange((start + field)..<(start + field + 4), with: $0) }
        }
        /// A vector of blocks: the length, then the structs 8-aligned.
        func blocks(_ blocks: [FileBlock], reusing encoded: ArraySlice<UInt8>) -> Int {
            pad(to: 8, before: 4)
            let vector = position
            append(UInt32(blocks.count))
            output += encoded
            for block in blocks.dropFirst(encoded.count / FooterEncoder.blockSize) { FooterEncoder.append(block, to: &output) }
            return vector
        }
        link(dictionariesField, to: blocks(dictionaries, reusing: []))
        let reused = min(encodedBlockCount, recordBatches.count)
        link(recordBatchesField, to: blocks(recordBatches, reusing: encodedBlocks[..<(reused * FooterEncoder.blockSize)]))

        // custom_metadata: [KeyValue]: the vector of offsets, one vtable shared by every
        // KeyValue table (key at 4, value at 8), the tables, then the strings.
        let pairs = metadata.pairs
        pad(to: 4)
        let vector = position
        append(UInt32(pairs.count))
        output.append(contentsOf: repeatElement(0, count: 4 * pairs.count))
        let vtable = position
        for entry in [UInt16(8), 12, 4, 8] { append(entry) }
        var tables: [Int] = []
        for (index, _) in pairs.enumerated() {
            tables.append(position)
            link(vector + 4 + 4 * index, to: position)
            append(Int32(position - vtable))
            output.append(contentsOf: repeatElement(0, count: 8))
        }
        func string(_ text: String, linkedFrom field: Int) {
            pad(to: 4)
            link(field, to: position)
            var text = text
            text.withUTF8 { utf8 in
                append(UInt32(utf8.count))
                output += UnsafeRawBufferPointer(utf8)
            }
            output.append(0)
        }
        for (index, pair) in pairs.enumerated() {
            string(pair.key, linkedFrom: tables[index] + 4)
            string(pair.value, linkedFrom: tables[index] + 8)
        }
        link(metadataField, to: vector)
        guard Int32(exactly: position) != nil else {
            throw QuiverError(.capacityExceeded, "file footer of \(position) bytes is too large")
        }
    }

    /// Keeps the encoding of `recordBatches` (committed: their blocks never change) for later
    /// footers.
    mutating func keep(_ recordBatches: [FileBlock]) {
        if recordBatches.count < encodedBlockCount {
            encodedBlocks.removeLast((encodedBlockCount - recordBatches.count) * FooterEncoder.blockSize)
        }
        for block in recordBatches.dropFirst(encodedBlockCount) { FooterEncoder.append(block, to: &encodedBlocks) }
        encodedBlockCount = recordBatches.count
    }

    /// Appends a `Block` struct: offset, metadata length, 4 bytes of padding, body length.
    private static func append(_ block: FileBlock, to output: inout [UInt8]) {
        withUnsafeBytes(of: block.offset.littleEndian) { output += $0 }
        withUnsafeBytes(of: block.metadataLength.littleEndian) { output += $0 }
        output += [0, 0, 0, 0]
        withUnsafeBytes(of: block.bodyLength.littleEndian) { output += $0 }
    }
}
