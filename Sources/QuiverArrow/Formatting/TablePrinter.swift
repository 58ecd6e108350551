/// Renders record batches and tables as aligned text for `quiver cat` and debugging:
///
/// ```
/// id    | name   | price
/// int64 | string | double
/// ------+--------+-------
///     1 | apple  |    1.5
///  null | null   |   2.25
///     … | …      |      …
/// (2 of 10 rows)
/// ```
/// Numbers are right-aligned, everything else left-aligned; long cells are cut to
/// `maxCellWidth` characters ending in "…"; control characters are escaped.
public enum TablePrinter {
    /// Renders the first `limit` rows of a batch (all rows when nil).
    /// O(rows shown × columns), each cell capped at `maxCellWidth`.
    public static func render(batch: RecordBatch, limit: Int? = 20, maxCellWidth: Int = 40) -> String {
        render(
            schema: batch.schema, rowCount: batch.length, limit: limit, maxCellWidth: maxCellWidth,
            cell: { column, row in batch.columns[column].formatValue(at: row) })
    }

    /// Renders the first `limit` rows of a table (all rows when nil).
    /// O(rows shown × columns), each cell capped at `maxCellWidth`.
    public static func render(table: Table, limit: Int? = 20, maxCellWidth: Int = 40) -> String {
        let columns = table.columns
        return render(
            schema: table.schema, rowCount: table.numRows, limit: limit, maxCellWidth: maxCellWidth,
            cell: { column, row in
                let (chunk, index) = columns[column].location(of: row)
                return columns[column].chunks[chunk].formatValue(at: index)
            })
    }

    private static func render(
        schema: Schema, rowCount: Int, limit: Int?, maxCellWidth: Int, cell: (Int, Int) -> String
    ) -> String {
        let shown = min(rowCount, max(0, limit ?? rowCount))
        let truncated = shown < rowCount
        let width = max(maxCellWidth, 2)
        let columns: [[String]] = schema.fields.indices.map { column in
            let field = schema.fields[column]
            var cells = [clip(field.name, width), clip(field.type.description, width)]
            for row in 0..<shown { cells.append(clip(escape(cell(column, row)), width)) }
            if truncated { cells.append("…") }
            return cells
        }
        let widths = columns.map { $0.map(\.count).max() ?? 0 }
        let numeric = schema.fields.map { isNumeric($0.type) }
        var lines: [String] = []
        let rowLines = 2 + shown + (truncated ? 1 : 0)
        for line in 0..<rowLines {
            let cells = columns.indices.map { column -> String in
                let text = columns[column][line]
                let padding = String(repeating: " ", count: widths[column] - text.count)
                return numeric[column] && line >= 2 ? padding + text : text + padding
            }
            lines.append(trimTrailing(cells.joined(separator: " | ")))
            if line == 1 {
                lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "-+-"))
            }
        }
        if truncated { lines.append("(\(shown) of \(rowCount) rows)") }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func isNumeric(_ type: DataType) -> Bool {
        switch type.storageType {
        case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64, .float16, .float32, .float64, .decimal:
            return true
        case .dictionary(_, let value, _): return isNumeric(value)
        default: return false
        }
    }

    /// Cuts text to `width` characters, the last being "…".
    private static func clip(_ text: String, _ width: Int) -> String {
        text.count <= width ? text : String(text.prefix(width - 1)) + "…"
    }

    /// Escapes characters that would break the layout.
    private static func escape(_ text: String) -> String {
        guard text.contains(where: { $0.isNewline || $0 == "\t" }) else { return text }
        return text.replacingAll("\n", "\\n").replacingAll("\r", "\\r").replacingAll("\t", "\\t")
    }

    private static func trimTrailing(_ line: String) -> String {
        var line = line
        while line.last == " " { line.removeLast() }
        return line
    }
}

extension String {
    /// Every occurrence of `target` replaced (no Foundation needed).
    fileprivate func replacingAll(_ target: Character, _ replacement: String) -> String {
        var result = ""
        for character in self {
            if character == target { result += replacement } else { result.append(character) }
        }
        return result
    }
}
