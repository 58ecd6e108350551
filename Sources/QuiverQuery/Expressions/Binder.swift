import QuiverArrow
import QuiverBytes

/// Type-checks an `Expr` against a list of fields and produces a `BoundExpr`.
///
/// Every failure is a `QuiverError(.query, …)` naming the problem (unknown column, operand
/// types, misuse of an aggregate), located at the offending token when the expression came
/// from SQL. Constant sub-expressions are folded here with the same kernels that run on data.
struct Binder {
    let fields: [Field]
    let site: ErrorSite
    let pool: MemoryPool
    /// What is being bound, for messages: "WHERE", "GROUP BY", ….
    var clause: String

    func bind(_ expr: Expr) throws -> BoundExpr {
        try site.locating(expr.position) { try bindNode(expr) }
    }

    private func bindNode(_ expr: Expr) throws -> BoundExpr {
        switch expr.node {
        case .column(let name):
            let index = try resolve(name, at: expr.position)
            return .column(index, fields[index].type.storageType)
        case .slot(let index, _):
            return .column(index, fields[index].type.storageType)
        case .literal(let scalar):
            return .literal(scalar)
        case .invalid(let error):
            throw site.error(error.message, at: expr.position)
        case .negate(let operand):
            let bound = try bind(operand)
            let minusOne: Scalar = TypeRules.family(bound.type) == .decimal
                ? .decimal128(unscaled: -1, precision: 1, scale: 0) : .int64(-1)
            return try arithmetic(.multiply, .literal(minusOne), bound)
        case .arithmetic(let op, let a, let b):
            return try arithmetic(op, try bind(a), try bind(b))
        case .compare(let op, let a, let b):
            return try compare(op, try bind(a), try bind(b))
        case .and(let a, let b):
            return try fold(.and(try boolean(a), try boolean(b)))
        case .or(let a, let b):
            return try fold(.or(try boolean(a), try boolean(b)))
        case .not(let a):
            return try fold(.not(try boolean(a)))
        case .isNull(let a, let negated):
            return try fold(.isNull(try bind(a), negated: negated))
        case .inList(let a, let values, let negated):
            guard !values.isEmpty else { throw QuiverError(.query, "IN needs at least one value") }
            let operand = try bind(a)
            // Each value is typed as `operand = value` would be; the literals compared with the
            // same (converted) operand then become one set, anything else stays a comparison.
            var tests: [BoundExpr] = []
            var literals: [BoundExpr: (test: Int, values: [Scalar])] = [:]
            for value in values {
                let test = try site.locating(value.position) { try compare(.equal, operand, try bind(value)) }
                if case .compare(.equal, let left, .literal(let scalar)) = test, !left.isLiteral {
                    if literals[left] == nil { literals[left] = (tests.count, []) }
                    literals[left]?.values.append(scalar)
                    if literals[left]?.values.count == 1 { tests.append(test) }
                } else {
                    tests.append(test)
                }
            }
            for (left, group) in literals where group.values.count > 1 {
                if let set = try InSet(group.values, type: left.type, pool: pool) { tests[group.test] = .inSet(left, set) } else {
                    tests[group.test] = try balancedOr(group.values.map { .compare(.equal, left, .literal($0)) }[...])
                }
            }
            let any = try balancedOr(tests[...])
            return negated ? try fold(.not(any)) : any
        case .between(let a, let low, let high, let negated):
            let operand = try bind(a)
            let range = try fold(.and(
                try compare(.greaterOrEqual, operand, try bind(low)),
                try compare(.lessOrEqual, operand, try bind(high))))
            return negated ? try fold(.not(range)) : range
        case .like(let a, let pattern, let escape, let negated):
            return try fold(.like(try string(a, "LIKE"), try LikePattern(pattern, escape: escape), negated: negated))
        case .startsWith(let a, let prefix):
            return try fold(.like(try string(a, "starts_with"), LikePattern(prefix: prefix), negated: false))
        case .cast(let a, let type):
            let operand = try bind(a)
            guard TypeRules.canCast(operand.type, to: type) else {
                throw QuiverError(.query, "cannot cast \(ScalarArrays.valueType(operand.type)) to \(type)")
            }
            return try cast(operand, to: type)
        case .aggregate(let function, _):
            throw QuiverError(.query, "aggregate function \(function.rawValue) is not allowed in \(clause)")
        case .function(let name, let arguments):
            return try bindFunction(name, arguments)
        case .caseWhen(let parts, let otherwise):
            return try bindCase(parts, otherwise: otherwise)
        }
    }

    // MARK: - Names

    private func resolve(_ name: String, at position: Int?) throws -> Int {
        if let index = fields.firstIndex(where: { $0.name == name }) { return index }
        let folded = fields.indices.filter { fields[$0].name.lowercased() == name.lowercased() }
        if folded.count == 1 { return folded[0] }
        var message = "unknown column '\(name)'"
        // Suggest names within about one typo per three characters, closest first.
        let limit = Swift.max(1, name.count / 3)
        let close = fields.map(\.name)
            .map { ($0, Binder.editDistance($0.lowercased(), name.lowercased())) }
            .filter { $0.1 <= limit }
            .sorted { $0.1 < $1.1 }
            .map(\.0)
        if !close.isEmpty {
            message += " (did you mean \(close.map { "'\($0)'" }.joined(separator: ", "))?)"
        } else if folded.count > 1 {
            message += " (ambiguous: \(folded.map { "'\(fields[$0].name)'" }.joined(separator: ", ")))"
        } else if fields.count <= 12 {
            message += " (columns: \(fields.map(\.name).joined(separator: ", ")))"
        }
        throw site.error(message, at: position, length: name.utf8.count)
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8)
        let b = Array(b.utf8)
        if a.isEmpty || b.isEmpty { return Swift.max(a.count, b.count) }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    // MARK: - Typing

    func boolean(_ expr: Expr) throws -> BoundExpr {
        let bound = try bind(expr)
        let family = TypeRules.family(bound.type)
        guard family == .boolean || family == .null else {
            throw site.error("expected a boolean, found \(ScalarArrays.valueType(bound.type)) (\(expr))", at: expr.position)
        }
        return bound
    }

    func string(_ expr: Expr, _ what: String) throws -> BoundExpr {
        let bound = try bind(expr)
        guard [.string, .binary, .null].contains(TypeRules.family(bound.type)) else {
            throw site.error("\(what) needs a string, found \(ScalarArrays.valueType(bound.type)) (\(expr))", at: expr.position)
        }
        return bound
    }

    func cast(_ expr: BoundExpr, to type: DataType) throws -> BoundExpr {
        if expr.type == type { return expr }
        if case .literal(let scalar) = expr, scalar.isNull { return .literal(.null(type)) }
        return try fold(.cast(expr, type))
    }

    private func arithmetic(_ op: ArithmeticOp, _ a: BoundExpr, _ b: BoundExpr) throws -> BoundExpr {
        // An integer literal next to a decimal counts only its own digits (`price * 2` stays
        // decimal(p+1, s), not decimal(p+19, s)).
        let (a, b) = (Binder.narrowed(a, beside: b), Binder.narrowed(b, beside: a))
        let types = try TypeRules.arithmeticTypes(op, a.type, b.type)
        return try fold(.arithmetic(op, try cast(a, to: types.left), try cast(b, to: types.right), types.result))
    }

    private static func narrowed(_ expr: BoundExpr, beside other: BoundExpr) -> BoundExpr {
        guard case .literal(let scalar) = expr, TypeRules.family(other.type) == .decimal,
            TypeRules.family(scalar.type) == .integer, let value = ScalarArrays.number(scalar, as: Int128.self)
        else { return expr }
        return .literal(.decimal128(unscaled: value, precision: Swift.max(1, String(value.magnitude).count), scale: 0))
    }

    func compare(_ op: CompareOp, _ a: BoundExpr, _ b: BoundExpr) throws -> BoundExpr {
        var (a, b) = (a, b)
        // A literal meets a column at the column's type when that loses nothing, so the
        // kernel compares the column's own values (int32 column vs 5, double column vs 0.05).
        // A string literal is read as the other side's type even when that is a literal too
        // (`DATE '2000-01-01' < '2001-01-01'`, as DuckDB).
        if case .literal(let scalar) = a, !b.isLiteral || (Binder.isString(a) && !Binder.isString(b)) {
            a = .literal(try coerce(scalar, toward: b.type) ?? scalar)
        }
        if case .literal(let scalar) = b, !a.isLiteral || (Binder.isString(b) && !Binder.isString(a)) {
            b = .literal(try coerce(scalar, toward: a.type) ?? scalar)
        }
        if let common = try TypeRules.comparisonType(a.type, b.type) {
            a = try cast(a, to: common)
            b = try cast(b, to: common)
        }
        return try fold(.compare(op, a, b))
    }

    private static func isString(_ expr: BoundExpr) -> Bool { TypeRules.family(expr.type) == .string }

    /// `scalar` as a value of `type` if it converts exactly (or is a string literal naming a
    /// date, number, …, which must then parse); nil to fall back to the common-type rules.
    func coerce(_ scalar: Scalar, toward type: DataType) throws -> Scalar? {
        let target = ScalarArrays.valueType(type)
        let from = TypeRules.family(scalar.type)
        let to = TypeRules.family(target)
        if scalar.isNull || from == .null { return .null(target) }
        if scalar.type == target { return scalar }
        if from == to && [.string, .binary, .boolean].contains(from) { return nil }
        // Integer to integer: exact or not at all, without running the cast kernel (an IN list
        // of 100,000 values comes through here once per value).
        if from == .integer && to == .integer {
            guard let value = ScalarArrays.number(scalar, as: Int128.self), let kind = NumberKind(target) else { return nil }
            return try kind.visit(Cast.Narrow(value: value, type: target))
        }
        if from == .string {
            guard case .bytes(let bytes) = scalar.payload, [.temporal, .integer, .float, .decimal, .boolean].contains(to),
                TypeRules.canCast(.utf8, to: target)
            else { return nil }
            return try Cast.parse(bytes, as: target)
        }
        guard TypeRules.canCast(scalar.type, to: target), to != .string,
            let converted = try? Evaluator(pool: pool).fold(.cast(.literal(scalar), target)),
            let back = try? Evaluator(pool: pool).fold(.cast(.literal(converted), scalar.type)),
            back == scalar
        else { return nil }
        return converted
    }

    /// `tests` ORed as a balanced tree (so its height is log2 of their number), folded.
    private func balancedOr(_ tests: ArraySlice<BoundExpr>) throws -> BoundExpr {
        if tests.count == 1, let only = tests.first { return only }
        let middle = tests.startIndex + tests.count / 2
        return try fold(.or(try balancedOr(tests[..<middle]), try balancedOr(tests[middle...])))
    }

    /// Evaluates an expression whose operands are all literals.
    func fold(_ expr: BoundExpr) throws -> BoundExpr {
        guard expr.children.allSatisfy(\.isLiteral) else { return expr }
        return .literal(try Evaluator(pool: pool).fold(expr))
    }
}
