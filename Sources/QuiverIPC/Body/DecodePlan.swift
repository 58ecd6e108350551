import QuiverArrow
import QuiverBytes

/// What decoding a schema's record batches needs to know about its types, worked out once
/// (a `FileReader` or `StreamReader` keeps one) instead of for every batch: per field the
/// storage type, the alignment each buffer must have to be viewed in place, how its null
/// count is read, its children and its dictionary's value type.
struct SchemaPlan: Sendable {
    let fields: [FieldPlan]
    /// The nesting depth the plan was made for (`IPCReadOptions.maxNestingDepth`).
    let maxDepth: Int
    /// Whether every column is plain fixed-width (numbers, dates, booleans): validating
    /// uncompressed batches of such a schema reads no more than validity bitmaps.
    let isPlain: Bool
    /// Each field's nodes and buffers in a V5 batch, when they do not depend on the batch
    /// (no view types): walking a wide schema's types per batch was most of the cost of a
    /// query that reads few of its columns.
    let spans: [FieldSpan]?
    /// The same for batches before V5 (whose unions have a validity buffer).
    let spansBeforeV5: [FieldSpan]?

    init(_ schema: Schema, maxDepth: Int) {
        fields = schema.fields.map { FieldPlan($0, depth: 0, maxDepth: maxDepth) }
        self.maxDepth = maxDepth
        isPlain = fields.allSatisfy(\.isPlain)
        spans = FieldSpan.headerIndependentSpans(of: schema.fields, version: .v5, maxDepth: maxDepth)
        spansBeforeV5 = FieldSpan.headerIndependentSpans(of: schema.fields, version: .v4, maxDepth: maxDepth)
    }
}

/// One field of a `SchemaPlan` (a class: the decode walk passes plans around by reference).
final class FieldPlan: Sendable {
    /// How an array's null count follows from its field node.
    enum NullCount: Sendable {
        /// As declared (checked `≤ length`).
        case declared
        /// Every slot (the null type).
        case length
        /// None: unions and run-end encoded arrays have no validity of their own.
        case zero
    }

    let field: Field
    let storage: DataType
    /// For each buffer of `storage.layout`, the alignment it needs to be used in place.
    let alignments: [Int]
    let nullCount: NullCount
    let isUnion: Bool
    let hasVariadicBuffers: Bool
    /// The value type of a dictionary-encoded field.
    let dictionaryValueType: DataType?
    /// The children's plans; nil when they lie deeper than the plan's depth limit (decoding
    /// one then fails, as the limit requires).
    let children: [FieldPlan]?
    /// Fixed-width values (or bits) and a validity bitmap, nothing else: full validation reads
    /// only the bitmap.
    let isPlain: Bool

    init(_ field: Field, depth: Int, maxDepth: Int) {
        self.field = field
        let storage = field.type.storageType
        self.storage = storage
        alignments = storage.layout.map { storage.requiredAlignment(of: $0) }
        switch storage {
        case .null: nullCount = .length
        case .union, .runEndEncoded: nullCount = .zero
        default: nullCount = .declared
        }
        if case .union = storage { isUnion = true } else { isUnion = false }
        hasVariadicBuffers = storage.hasVariadicBuffers
        if case .dictionary(_, let valueType, _) = storage { dictionaryValueType = valueType } else { dictionaryValueType = nil }
        let childFields = storage.children
        isPlain =
            childFields.isEmpty && dictionaryValueType == nil
            && storage.layout.allSatisfy { $0 == .validity || $0 == .values || $0 == .bits }
        children =
            childFields.isEmpty ? [] : depth < maxDepth
            ? childFields.map { FieldPlan($0, depth: depth + 1, maxDepth: maxDepth) } : nil
    }
}
