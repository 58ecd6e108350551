import QuiverArrow
import QuiverBytes

/// Renders a plan as an indented operator tree, top (output) first:
/// ```
/// Limit: 10
///   Sort: revenue DESC
///     Aggregate: group by [l_returnflag]; sum(l_quantity), count(*)
///       Filter: l_shipdate <= DATE '1998-09-02'
///         Scan: lineitem; columns [l_quantity, l_returnflag, l_shipdate] (3 of 16); batches 100, skipped by statistics 0
/// ```
enum Explain {
    /// The schema of `EXPLAIN` output: one line of the plan per row.
    static let schema = Schema([Field("plan", .utf8, nullable: false)])

    static func render(_ plan: PhysicalPlan, skipped: Int) -> String {
        var lines: [String] = []
        if plan.limit != nil || plan.offset > 0 {
            lines.append("Limit: \(plan.limit.map(String.init) ?? "all")\(plan.offset > 0 ? " offset \(plan.offset)" : "")")
        }
        if !plan.sort.isEmpty {
            lines.append("\(plan.limit == nil ? "Sort" : "TopK"): \(plan.sortTexts.joined(separator: ", "))")
        }
        let names = plan.outputSchema.fields.map(\.name)
        switch plan.mode {
        case .project(_, let texts):
            lines.append("Project: " + describe(names, Array(texts.prefix(names.count))))
        case .aggregate(let spec):
            lines.append("Project: " + describe(names, Array(spec.outputTexts.prefix(names.count))))
            if let having = spec.havingText { lines.append("Having: \(having)") }
            // Hashed keys, then those computed once per group from them.
            let hashed = spec.keyTexts.indices.filter { !spec.derivedKeys.contains($0) }.map { spec.keyTexts[$0] }
            let derived = spec.keyTexts.indices.filter { spec.derivedKeys.contains($0) }.map { spec.keyTexts[$0] }
            let perGroup = derived.isEmpty ? "" : " per group [\(derived.joined(separator: ", "))]"
            let groups = spec.keyTexts.isEmpty ? "" : "group by [\(hashed.joined(separator: ", "))]\(perGroup); "
            lines.append("Aggregate: \(groups)\(spec.calls.map(\.text).joined(separator: ", "))")
        }
        if let filter = plan.filterText { lines.append("Filter: \(filter)") }
        let fields = plan.source.schema.fields
        let columns = plan.scanColumns.map { SQLText.identifier(fields[$0].name) }.joined(separator: ", ")
        lines.append(
            "Scan: \(plan.tableName); columns [\(columns)] (\(plan.scanColumns.count) of \(fields.count)); "
                + "batches \(plan.source.batchCount), skipped by statistics \(skipped)")
        return lines.enumerated().map { String(repeating: "  ", count: $0.offset) + $0.element }.joined(separator: "\n")
    }

    private static func describe(_ names: [String], _ texts: [String]) -> String {
        zip(names, texts).map { name, text in
            SQLText.identifier(name) == text || name == text ? text : "\(SQLText.identifier(name)) := \(text)"
        }.joined(separator: ", ")
    }
}
