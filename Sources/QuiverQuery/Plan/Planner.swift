import QuiverArrow
import QuiverBytes

/// Turns a `QuerySpec` into a `PhysicalPlan`: binds and type-checks every expression,
/// separates aggregate calls from what is computed over them, resolves ORDER BY keys, and
/// works out which columns the scan must load.
enum Planner {
    static func plan(_ spec: QuerySpec, pool: MemoryPool) throws -> PhysicalPlan {
        var spec = spec
        let site = ErrorSite(source: spec.sql)
        let fields = spec.source.schema.fields
        let input = { (clause: String) in Binder(fields: fields, site: site, pool: pool, clause: clause) }

        // Every later pass recurses over the trees: refuse any taller than the limit first
        // (the SQL parser already did; this is for the Swift builder).
        for expr in spec.filters + (spec.items ?? []) + spec.groupBy + [spec.having].compactMap({ $0 }) + spec.orderBy.map(\.expr) {
            try Expr.checkDepth(expr.depth, site: site, at: expr.position)
        }

        // WHERE: the filters ANDed as a balanced tree, so any number of them stays shallow.
        var conditions: [BoundExpr] = []
        for predicate in spec.filters {
            let bound = try input("WHERE").bind(predicate)
            try requireBoolean(bound, predicate, "WHERE", site)
            conditions.append(bound)
        }
        var filter = BoundExpr.balanced(conditions[...], and: true)
        if let current = filter, case .literal(let scalar) = current, case .bool(true) = scalar.payload { filter = nil }

        let items = spec.items ?? fields.indices.map { Expr(.slot($0, fields[$0].name)) }
        guard !items.isEmpty else { throw QuiverError(.query, "a query must output at least one column") }
        if let limit = spec.limit, limit < 0 { throw QuiverError(.query, "LIMIT must not be negative") }
        guard spec.offset >= 0 else { throw QuiverError(.query, "OFFSET must not be negative") }
        var isAggregate = spec.isAggregate || !spec.groupBy.isEmpty || spec.having != nil
            || items.contains(where: \.containsAggregate)
        if spec.distinct {
            if !isAggregate {
                // Distinct rows are the groups of the whole select list.
                spec.groupBy = items
                isAggregate = true
            } else if !spec.groupBy.allSatisfy({ key in items.contains { $0.matches(key) } }) {
                throw QuiverError(
                    .query, "SELECT DISTINCT with GROUP BY needs every group key in the select list")
            }
            // With every key selected, each group is already one distinct row.
        }

        let mode: PhysicalPlan.Mode
        let visible: [Field]
        let extended: [Field]
        let sort: [SortSpec]
        var sourceColumns = Set<Int>()
        if isAggregate {
            let planned = try aggregatePlan(spec, items: items, site: site, pool: pool, input: input)
            mode = .aggregate(planned.plan)
            visible = planned.visible
            extended = planned.extended
            sort = planned.sort
            sourceColumns = planned.plan.keys.reduce(into: Set<Int>()) { $0.formUnion($1.columns) }
            for call in planned.plan.calls { sourceColumns.formUnion(call.argument?.columns ?? []) }
        } else {
            let binder = input("SELECT")
            var outputs = try items.map { try binder.bind($0) }
            var texts = items.map(\.description)
            visible = zip(items, outputs).map { Field($0.outputName, $1.type) }
            var sortSpecs: [SortSpec] = []
            for key in spec.orderBy {
                let column: Int
                if let existing = outputIndex(of: key.expr, items: items, names: visible.map(\.name)) {
                    column = existing
                } else {
                    let bound = try input("ORDER BY").bind(key.expr)
                    column = outputs.count
                    outputs.append(bound)
                    texts.append(key.expr.description)
                }
                sortSpecs.append(SortSpec(column: column, descending: key.descending, nullsFirst: key.nullsFirst))
            }
            extended = visible + outputs[visible.count...].enumerated().map { Field("__sort\($0.offset)", $0.element.type) }
            mode = .project(outputs, texts: texts)
            sort = sortSpecs
            sourceColumns = outputs.reduce(into: Set<Int>()) { $0.formUnion($1.columns) }
        }
        try sort.forEach { try requireSortable(extended[$0.column].type, site) }
        let scan = sourceColumns.union(filter?.columns ?? [])
        return PhysicalPlan(
            source: spec.source, tableName: spec.tableName, scanColumns: scan.sorted(), filter: filter,
            filterText: spec.filters.isEmpty ? nil : spec.filters.map(\.description).joined(separator: " AND "),
            postFilterColumns: sourceColumns.sorted(), mode: mode, sort: sort,
            sortTexts: spec.orderBy.map { "\($0.expr) \($0.descending ? "DESC" : "ASC")\($0.nullsFirst ? " NULLS FIRST" : "")" },
            limit: spec.limit, offset: spec.offset, outputSchema: Schema(visible), extendedFields: extended)
    }

    /// The output column a sort key names: an output name, a `slot` (SQL ordinal), or an
    /// expression equal to a select item.
    private static func outputIndex(of key: Expr, items: [Expr], names: [String]) -> Int? {
        switch key.node {
        case .slot(let index, _) where index < items.count: return index
        case .column(let name):
            if let index = names.firstIndex(of: name) { return index }
        default: break
        }
        return items.firstIndex { $0.matches(key) }
    }

    private static func requireBoolean(_ bound: BoundExpr, _ expr: Expr, _ clause: String, _ site: ErrorSite) throws {
        guard [.boolean, .null].contains(TypeRules.family(bound.type)) else {
            throw site.error("\(clause) needs a boolean condition, found \(ScalarArrays.valueType(bound.type))", at: expr.position)
        }
    }

    private static func requireSortable(_ type: DataType, _ site: ErrorSite) throws {
        guard [.boolean, .integer, .float, .decimal, .temporal, .string, .binary, .null].contains(TypeRules.family(type)) else {
            throw QuiverError(.query, "cannot sort by \(type)")
        }
    }

    // MARK: - Aggregation

    private static func aggregatePlan(
        _ spec: QuerySpec, items: [Expr], site: ErrorSite, pool: MemoryPool, input: (String) -> Binder
    ) throws -> (plan: AggregatePlan, visible: [Field], extended: [Field], sort: [SortSpec]) {
        let keyBinder = input("GROUP BY")
        let keys = try spec.groupBy.map { try keyBinder.bind($0) }
        // A key reading only columns that are plain (non-dictionary) keys is a function of them.
        var plainKeyColumns = Set<Int>()
        for key in keys {
            guard case .column(let index, let type) = key else { continue }
            if case .dictionary = type { continue }
            plainKeyColumns.insert(index)
        }
        // A constant key (`SELECT 1, URL … GROUP BY 1, URL`) is one value for every group: it
        // is derived too, as long as some key reads a column and so is hashed (grouping by
        // constants alone still makes no group of no rows).
        let readsColumns = keys.contains { !$0.columns.isEmpty }
        let derivedKeys = Set(keys.indices.filter { position in
            if case .column = keys[position] { return false }
            let columns = keys[position].columns
            return columns.isEmpty ? readsColumns : columns.isSubset(of: plainKeyColumns)
        })
        let keyFields = zip(spec.groupBy, keys).map { Field($0.outputName, ScalarArrays.valueType($1.type)) }
        var calls: [AggregateCall] = []
        let argumentBinder = input("an aggregate argument")

        // Spelled once: matching spells each node of the rewritten trees, not the keys again.
        let groupKeys = spec.groupBy.map(\.structuralKey)
        // Replaces aggregate calls and GROUP BY expressions by slots of the aggregate output;
        // any other column reference is an error.
        func rewrite(_ expr: Expr, clause: String) throws -> Expr {
            try expr.rewritten { node in
                if !groupKeys.isEmpty, let key = groupKeys.firstIndex(of: node.structuralKey) {
                    return Expr(.slot(key, keyFields[key].name))
                }
                switch node.node {
                case .aggregate(.sum, let argument?) where offsetSum(argument, binder: argumentBinder) != nil:
                    // sum(x ± k) = sum(x) ± k·count(x), exactly, for integer and decimal x and
                    // a constant k: many such sums then share one pass over x.
                    guard let (x, op, k) = offsetSum(argument, binder: argumentBinder) else { return nil }
                    let count = Expr(.aggregate(.count, x))
                    let rewritten = Expr(.arithmetic(op, Expr(.aggregate(.sum, x)), Expr(.arithmetic(.multiply, k, count))))
                    return try rewrite(rewritten, clause: clause)
                case .aggregate(let function, let argument):
                    let call = try site.locating(node.position) {
                        try makeCall(function, argument, text: node.description, binder: argumentBinder)
                    }
                    let index = calls.firstIndex(of: call) ?? {
                        calls.append(call)
                        return calls.count - 1
                    }()
                    return Expr(.slot(keys.count + index, call.text))
                case .column(let name), .slot(_, let name):
                    throw site.error(
                        "column '\(name)' must appear in GROUP BY or be used in an aggregate function (in \(clause))",
                        at: node.position, length: name.utf8.count)
                default:
                    return nil
                }
            }
        }

        let rewrittenItems = try items.map { try rewrite($0, clause: "SELECT") }
        let rewrittenHaving = try spec.having.map { try rewrite($0, clause: "HAVING") }
        var sortExprs: [(SortKey, Int?)] = []
        let itemNames = items.map(\.outputName)
        for key in spec.orderBy {
            sortExprs.append((key, outputIndex(of: key.expr, items: items, names: itemNames)))
        }
        let hiddenSorts = try sortExprs.filter { $0.1 == nil }.map { try rewrite($0.0.expr, clause: "ORDER BY") }

        let fields = keyFields + calls.map { Field($0.text, $0.type) }
        let post = Binder(fields: fields, site: site, pool: pool, clause: "SELECT")
        var outputs = try rewrittenItems.map { try post.bind($0) }
        let visible = zip(items, outputs).map { Field($0.outputName, $1.type) }
        let having = try rewrittenHaving.map { try post.bind($0) }
        if let having, let expr = spec.having { try requireBoolean(having, expr, "HAVING", site) }
        var sort: [SortSpec] = []
        var hidden = hiddenSorts.makeIterator()
        for (key, index) in sortExprs {
            var column = index ?? -1
            if index == nil, let expr = hidden.next() {
                column = outputs.count
                outputs.append(try post.bind(expr))
            }
            sort.append(SortSpec(column: column, descending: key.descending, nullsFirst: key.nullsFirst))
        }
        let extended = visible + outputs[visible.count...].enumerated().map { Field("__sort\($0.offset)", $0.element.type) }
        let plan = AggregatePlan(
            keys: keys, derivedKeys: derivedKeys, keyTexts: spec.groupBy.map(\.description), calls: calls, fields: fields, having: having,
            havingText: spec.having?.description, outputs: outputs,
            outputTexts: items.map(\.description) + spec.orderBy.map(\.expr.description))
        return (plan, visible, extended, sort)
    }

    /// `x + k`, `x - k` or `k + x` with `x` exact (integer or decimal) and `k` an exact constant:
    /// the parts of `sum(x ± k)`'s rewrite, or nil when it does not apply.
    private static func offsetSum(_ argument: Expr, binder: Binder) -> (Expr, ArithmeticOp, Expr)? {
        guard case .arithmetic(let op, let a, let b) = argument.node, op == .add || op == .subtract else { return nil }
        func isConstant(_ e: Expr) -> Bool {
            guard case .literal(let scalar) = e.node, !scalar.isNull else { return false }
            return [.integer, .decimal].contains(TypeRules.family(scalar.type))
        }
        func isExact(_ e: Expr) -> Bool {
            guard !e.containsAggregate, let bound = try? binder.bind(e) else { return false }
            return [.integer, .decimal].contains(TypeRules.family(bound.type))
        }
        if isConstant(b) && isExact(a) { return (a, op, b) }
        if op == .add && isConstant(a) && isExact(b) { return (b, op, a) }
        return nil
    }

    private static func makeCall(_ function: AggregateFunction, _ argument: Expr?, text: String, binder: Binder) throws -> AggregateCall {
        guard let argument else { return AggregateCall(function: .countStar, argument: nil, type: .int64, text: text) }
        if argument.containsAggregate {
            throw QuiverError(.query, "aggregate functions cannot be nested: \(text)")
        }
        let bound = try binder.bind(argument)
        let valueType = ScalarArrays.valueType(bound.type)
        let family = TypeRules.family(bound.type)
        let type: DataType
        switch function {
        case .countStar, .count:
            type = .int64
        case .countDistinct:
            guard family != .other else { throw QuiverError(.query, "count(DISTINCT) does not support \(valueType)") }
            type = .int64
        case .sum, .avg:
            switch family {
            // As DuckDB's HUGEINT: integer sums never overflow a 64-bit result; Arrow has no
            // 128-bit integer, so they come out as decimal128(38, 0), as DuckDB exports them.
            case .integer: type = function == .sum ? TypeRules.decimal128(38, 0) : .float64
            case .float, .null: type = .float64
            case .decimal:
                type = function == .sum ? TypeRules.decimal128(38, Cast.decimalScale(valueType)) : .float64
            default:
                throw QuiverError(.query, "\(function.rawValue) needs a number, found \(valueType) (\(argument))")
            }
        case .min, .max:
            guard [.integer, .float, .decimal, .temporal, .string, .binary, .null].contains(family) else {
                throw QuiverError(.query, "\(function.rawValue) does not support \(valueType) (\(argument))")
            }
            type = family == .null ? .int64 : valueType
        }
        return AggregateCall(function: function, argument: bound, type: type, text: text)
    }
}
