import QuiverArrow
import QuiverBytes

/// An arithmetic operator.
enum ArithmeticOp: String, Sendable, Hashable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", remainder = "%"
}

/// Arithmetic kernels over the three compute types: `int64` (overflow is an error),
/// `double` (IEEE) and `decimal128` (unscaled `Int128`; the binder has already aligned
/// scales for +, - and %, and × adds them). Division or remainder by zero: `double` follows
/// IEEE (±inf, NaN) as DuckDB does; `int64` and `decimal128` yield NULL, where DuckDB 2.0
/// raises an error for `%` (and its `/` on integers is a float division, so gives inf).
enum Arithmetic {
    static func evaluate(
        _ op: ArithmeticOp, _ left: Datum, _ right: Datum, type: DataType, length: Int, pool: MemoryPool
    ) throws -> ArrayData {
        if left.isNullScalar || right.isNullScalar { return Output.nulls(type, length: length, pool: pool) }
        var validities = [left.validity, right.validity]
        // Rows dividing by zero are NULL: AND the divisor's "non-zero" bits into the validity.
        var nonZero: ArrayData?
        if (op == .divide || op == .remainder) && NumberKind(type) != .float64 {
            switch right {
            case .scalar(let s):
                if ScalarArrays.number(s, as: Double.self) == 0 { return Output.nulls(type, length: length, pool: pool) }
            case .array(let r):
                let zero = Scalar(type: r.type, payload: .int(0))
                let bits = try Compare.evaluate(.notEqual, .array(r.droppingValidity), .scalar(zero), length: length, pool: pool)
                validities.append(Columns.bits(bits))
                nonZero = bits
            }
        }
        let validity = withExtendedLifetime(nonZero) { Bitmaps.intersect(validities, count: length, pool: pool) }
        let valid = validity.map { BitView($0.0.baseAddress, offset: 0, count: length) }
        let values: Buffer
        switch NumberKind(type) {
        case .int64: values = try compute(op, Int64.self, left, right, length, valid, pool)
        case .float64: values = try compute(op, Double.self, left, right, length, valid, pool)
        case .int128: values = try compute(op, Int128.self, left, right, length, valid, pool)
        default: throw QuiverError(.query, "no arithmetic kernel for \(type)")
        }
        return Output.array(type, length: length, validity: validity, [values])
    }

    private static func compute<T: ArithmeticValue>(
        _ op: ArithmeticOp, _ type: T.Type, _ left: Datum, _ right: Datum, _ length: Int,
        _ valid: BitView?, _ pool: MemoryPool
    ) throws -> Buffer {
        switch (left, right) {
        case (.array(let l), .array(let r)):
            return try run(op, ValuesOperand(base: Columns.values(l, as: T.self)),
                           ValuesOperand(base: Columns.values(r, as: T.self)), length, valid, pool)
        case (.array(let l), .scalar(let s)):
            return try run(op, ValuesOperand(base: Columns.values(l, as: T.self)),
                           ConstantOperand(value: try constant(s, T.self)), length, valid, pool)
        case (.scalar(let s), .array(let r)):
            return try run(op, ConstantOperand(value: try constant(s, T.self)),
                           ValuesOperand(base: Columns.values(r, as: T.self)), length, valid, pool)
        case (.scalar(let a), .scalar):
            let array = try ScalarArrays.repeated(a, count: length, pool: pool)
            return try compute(op, type, .array(array), right, length, valid, pool)
        }
    }

    private static func constant<T: NumberValue>(_ scalar: Scalar, _ type: T.Type) throws -> T {
        guard let value = ScalarArrays.number(scalar, as: T.self) else {
            throw QuiverError(.query, "\(scalar) is not a \(T.self)")
        }
        return value
    }

    private static func run<L: Operand, R: Operand>(
        _ op: ArithmeticOp, _ l: L, _ r: R, _ length: Int, _ valid: BitView?, _ pool: MemoryPool
    ) throws -> Buffer where L.Element: ArithmeticValue, R.Element == L.Element {
        switch op {
        case .add: return try loop(l, r, length, valid, pool, Add.self)
        case .subtract: return try loop(l, r, length, valid, pool, Subtract.self)
        case .multiply: return try loop(l, r, length, valid, pool, Multiply.self)
        case .divide: return try loop(l, r, length, valid, pool, Divide.self)
        case .remainder: return try loop(l, r, length, valid, pool, Remainder.self)
        }
    }

    /// Computes every row (null rows too: cheaper than branching), collecting overflow in a
    /// flag; only if it is set are the valid rows re-checked, so garbage under a null never
    /// raises an error.
    @inline(__always)
    private static func loop<L: Operand, R: Operand, T: ArithmeticValue, Op: ArithmeticOperator>(
        _ l: L, _ r: R, _ length: Int, _ valid: BitView?, _ pool: MemoryPool, _ op: Op.Type
    ) throws -> Buffer where L.Element == T, R.Element == T {
        var overflow: UInt8 = 0
        let buffer = Output.fixed(T.self, count: length, pool: pool) { out in
            for row in 0..<length {
                let (value, flag) = Op.apply(l[row], r[row])
                out[row] = value
                overflow |= flag ? 1 : 0
            }
        }
        if overflow != 0 {
            for row in 0..<length where valid?[row] ?? true {
                if Op.apply(l[row], r[row]).overflow {
                    throw QuiverError(.query, "\(T.self == Int128.self ? "decimal" : "integer") overflow in arithmetic")
                }
            }
        }
        return buffer
    }
}

extension ArrayData {
    /// The same values with every slot valid (for kernels that compute validity themselves).
    var droppingValidity: ArrayData {
        var copy = self
        copy.nullCount = 0
        return copy
    }
}

/// An arithmetic operator as a type, so each loop specialises per operator (a function value
/// passed in can stay an indirect call per row).
protocol ArithmeticOperator {
    static func apply<T: ArithmeticValue>(_ a: T, _ b: T) -> (T, overflow: Bool)
}

enum Add: ArithmeticOperator { @inline(__always) static func apply<T: ArithmeticValue>(_ a: T, _ b: T) -> (T, overflow: Bool) { T.add(a, b) } }
enum Subtract: ArithmeticOperator { @inline(__always) static func apply<T: ArithmeticValue>(_ a: T, _ b: T) -> (T, overflow: Bool) { T.subtract(a, b) } }
enum Multiply: ArithmeticOperator { @inline(__always) static func apply<T: ArithmeticValue>(_ a: T, _ b: T) -> (T, overflow: Bool) { T.multiply(a, b) } }
enum Divide: ArithmeticOperator { @inline(__always) static func apply<T: ArithmeticValue>(_ a: T, _ b: T) -> (T, overflow: Bool) { T.divide(a, b) } }
enum Remainder: ArithmeticOperator { @inline(__always) static func apply<T: ArithmeticValue>(_ a: T, _ b: T) -> (T, overflow: Bool) { T.remainder(a, b) } }
