import QuiverArrow
import QuiverBytes

/// Binding of scalar function calls and CASE: argument checks, the constant arguments that
/// select a behaviour (date parts, regular expressions), and the common type of results.
extension Binder {
    func bindFunction(_ name: String, _ arguments: [Expr]) throws -> BoundExpr {
        guard let arity = ScalarFunctionNames.arities[name] else {
            throw QuiverError(.query, "unknown function '\(name)' (known: \(ScalarFunctionNames.listed))")
        }
        guard arity.contains(arguments.count) else {
            let expected = arity.upperBound == Int.max ? "at least \(arity.lowerBound)"
                : arity.count == 1 ? "\(arity.lowerBound)" : "\(arity.lowerBound) to \(arity.upperBound)"
            throw QuiverError(.query, "\(name) takes \(expected) argument\(arity.upperBound == 1 ? "" : "s"), found \(arguments.count)")
        }
        switch name {
        case "coalesce":
            let (type, values) = try commonType(try arguments.map { try bind($0) }, what: "coalesce arguments")
            if values.count == 1 { return values[0] }
            return try fold(.call(.coalesce, values, type))
        case "nullif":
            let value = try bind(arguments[0])
            let type = ScalarArrays.valueType(value.type)
            let equal = try compare(.equal, value, try bind(arguments[1]))
            return try fold(.caseWhen([equal, .literal(.null(type)), value], type))
        case "length", "char_length", "character_length":
            return try fold(.call(.characterLength, [try string(arguments[0], name)], .int64))
        case "strlen", "octet_length":
            return try fold(.call(.byteLength, [try string(arguments[0], name)], .int64))
        case "lower", "lcase":
            return try fold(.call(.lower, [try string(arguments[0], name)], .utf8))
        case "upper", "ucase":
            return try fold(.call(.upper, [try string(arguments[0], name)], .utf8))
        case "starts_with":
            let prefix = try constantString(arguments[1], "the prefix of starts_with")
            return try fold(.like(try string(arguments[0], name), LikePattern(prefix: prefix), negated: false))
        case "substring", "substr":
            let operands = [try string(arguments[0], name)] + (try arguments.dropFirst().map { try integer($0, name) })
            return try fold(.call(.substring, operands, .utf8))
        case "date_part", "datepart":
            let part = try datePart(arguments[0], name)
            let value = try temporal(arguments[1], name)
            return try fold(.call(.datePart(part), [value], part == .epoch ? .float64 : .int64))
        case "date_trunc", "datetrunc":
            let part = try datePart(arguments[0], name)
            guard part.isPeriod else {
                throw site.error("date_trunc cannot truncate to '\(part.rawValue)'", at: arguments[0].position)
            }
            let value = try temporal(arguments[1], name)
            return try fold(.call(.dateTrunc(part), [value], TemporalFunctions.truncatedType(value.type)))
        case "regexp_matches", "regexp_like", "regexp_full_match":
            let subject = try string(arguments[0], name)
            let options = try RegexOptions(arguments.count > 2 ? try constantString(arguments[2], "regexp options") : "")
            let whole = name == "regexp_full_match"
            let regex = try regexProgram(arguments[1], options, wholeString: whole)
            return try fold(.call(.regexpMatches(regex, wholeString: whole), [subject], .boolean))
        case "regexp_replace":
            let subject = try string(arguments[0], name)
            let options = try RegexOptions(arguments.count > 3 ? try constantString(arguments[3], "regexp options") : "")
            let regex = try regexProgram(arguments[1], options, wholeString: false)
            let template = try constantString(arguments[2], "a replacement string")
            let replacement = try site.locating(arguments[2].position) {
                try RegexReplacement(template, groupCount: regex.groupCount)
            }
            return try fold(.call(.regexpReplace(regex, replacement), [subject], .utf8))
        default:
            throw QuiverError(.query, "\(name)(…) is not a scalar function here")
        }
    }

    /// CASE: conditions must be boolean; results meet at one type.
    func bindCase(_ parts: [Expr], otherwise: Expr?) throws -> BoundExpr {
        guard parts.count >= 2, parts.count % 2 == 0 else { throw QuiverError(.query, "CASE needs at least one WHEN … THEN") }
        let conditions = try stride(from: 0, to: parts.count, by: 2).map { try boolean(parts[$0]) }
        let results = try stride(from: 1, to: parts.count, by: 2).map { try bind(parts[$0]) }
        let fallback = try otherwise.map { try bind($0) } ?? .literal(.null)
        let (type, values) = try commonType(results + [fallback], what: "CASE results")
        var bound: [BoundExpr] = []
        for (condition, value) in zip(conditions, values) { bound += [condition, value] }
        return try fold(.caseWhen(bound + [values[values.count - 1]], type))
    }

    /// The type several values meet at (as DuckDB: the column types decide, literals follow
    /// them when they convert exactly), and the values cast to it.
    func commonType(_ values: [BoundExpr], what: String) throws -> (DataType, [BoundExpr]) {
        var type: DataType?
        func widen(with other: DataType) throws {
            let next = ScalarArrays.valueType(other)
            guard let current = type, current != next else {
                type = type ?? next
                return
            }
            do {
                if let common = try TypeRules.comparisonType(current, next) { type = common }
            } catch {
                throw QuiverError(.query, "\(what) have incompatible types \(current) and \(next)")
            }
        }
        let isNull = { (value: BoundExpr) -> Bool in TypeRules.family(value.type) == .null }
        for value in values where !value.isLiteral && !isNull(value) { try widen(with: value.type) }
        for value in values where value.isLiteral && !isNull(value) {
            if let current = type, case .literal(let scalar) = value, try coerce(scalar, toward: current) != nil { continue }
            try widen(with: value.type)
        }
        let target = type ?? .null
        let cast = try values.map { value -> BoundExpr in
            if ScalarArrays.valueType(value.type) == target { return value }
            if case .literal(let scalar) = value, let converted = try coerce(scalar, toward: target) { return .literal(converted) }
            guard TypeRules.canCast(value.type, to: target) else {
                throw QuiverError(.query, "\(what) have incompatible types \(ScalarArrays.valueType(value.type)) and \(target)")
            }
            return try self.cast(value, to: target)
        }
        return (target, cast)
    }

    private func integer(_ expr: Expr, _ what: String) throws -> BoundExpr {
        let bound = try bind(expr)
        guard [.integer, .null].contains(TypeRules.family(bound.type)) else {
            throw site.error("\(what) needs an integer, found \(ScalarArrays.valueType(bound.type)) (\(expr))", at: expr.position)
        }
        return try cast(bound, to: .int64)
    }

    private func temporal(_ expr: Expr, _ what: String) throws -> BoundExpr {
        let bound = try bind(expr)
        switch ScalarArrays.valueType(bound.type) {
        case .date32, .date64, .timestamp, .null: return bound
        default:
            throw site.error(
                "\(what) needs a date or timestamp, found \(ScalarArrays.valueType(bound.type)) (\(expr))", at: expr.position)
        }
    }

    private func constantString(_ expr: Expr, _ what: String) throws -> String {
        guard case .literal(let scalar) = try bind(expr), case .bytes(let bytes) = scalar.payload,
            TypeRules.family(scalar.type) == .string
        else { throw site.error("\(what) must be a constant string (\(expr))", at: expr.position) }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func datePart(_ expr: Expr, _ what: String) throws -> DatePart {
        let name = try constantString(expr, "the date part of \(what)")
        guard let part = DatePart(name: name) else {
            throw site.error(
                "unknown date part '\(name)' (known: \(DatePart.allCases.map(\.rawValue).joined(separator: ", ")))",
                at: expr.position)
        }
        return part
    }

    private func regexProgram(_ pattern: Expr, _ options: RegexOptions, wholeString: Bool) throws -> RegexProgram {
        let text = try constantString(pattern, "a regular expression")
        return try site.locating(pattern.position) { try RegexProgram(text, options: options, wholeString: wholeString) }
    }
}
