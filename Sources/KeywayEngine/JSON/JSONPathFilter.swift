/// A filter expression, `?(...)`.
///
/// `&&` and `||` hold their operands in a list rather than nesting, so a
/// long chain (`a && b && c ...`) does not deepen the tree; the tree is only
/// as deep as the parentheses, `!`s and nested filters, which the parser bounds.
indirect enum JSONPathFilterExpression: Sendable {
    case or([JSONPathFilterExpression])
    case and([JSONPathFilterExpression])
    case not(JSONPathFilterExpression)
    /// A bare path: true when it matches anything.
    case exists(JSONPathFilterOperand)
    /// A bare `true` or `false`.
    case constant(Bool)
    case compare(JSONPathFilterOperand, JSONPathComparison, JSONPathFilterOperand)
}

enum JSONPathFilterOperand: Sendable {
    case literal(JSONNode)
    /// `@...`: from the value being tested.
    case relative([JSONPathSegment])
    /// `$...`: from the document's root.
    case absolute([JSONPathSegment])
}

enum JSONPathComparison: Sendable {
    case equal, notEqual, less, lessOrEqual, greater, greaterOrEqual, matches
}

// MARK: - Parsing

extension JSONPathParser {
    /// `or := and ('||' and)*`
    mutating func filterExpression(depth: Int) throws(JSONPathSyntaxError) -> JSONPathFilterExpression {
        var terms = [try filterConjunction(depth: depth)]
        while true {
            skipWhitespace()
            guard peek == UInt8(ascii: "|"), peek(at: 1) == UInt8(ascii: "|") else { break }
            position += 2
            terms.append(try filterConjunction(depth: depth))
        }
        return terms.count == 1 ? terms[0] : .or(terms)
    }

    /// `and := unary ('&&' unary)*`
    mutating func filterConjunction(depth: Int) throws(JSONPathSyntaxError) -> JSONPathFilterExpression {
        var terms = [try filterUnary(depth: depth)]
        while true {
            skipWhitespace()
            guard peek == UInt8(ascii: "&"), peek(at: 1) == UInt8(ascii: "&") else { break }
            position += 2
            terms.append(try filterUnary(depth: depth))
        }
        return terms.count == 1 ? terms[0] : .and(terms)
    }

    /// `unary := '!' unary | '(' or ')' | comparison`
    mutating func filterUnary(depth: Int) throws(JSONPathSyntaxError) -> JSONPathFilterExpression {
        skipWhitespace()
        switch peek {
        case UInt8(ascii: "!") where peek(at: 1) != UInt8(ascii: "="):
            guard depth + 1 <= Self.maximumFilterDepth else { throw failure("filter nested too deeply") }
            position += 1
            return .not(try filterUnary(depth: depth + 1))
        case UInt8(ascii: "("):
            guard depth + 1 <= Self.maximumFilterDepth else { throw failure("filter nested too deeply") }
            position += 1
            let inner = try filterExpression(depth: depth + 1)
            skipWhitespace()
            guard peek == UInt8(ascii: ")") else {
                throw failure(peek.map { "expected ) but found \(Self.describe($0))" } ?? "unterminated (")
            }
            position += 1
            return inner
        default:
            return try filterComparison(depth: depth)
        }
    }

    /// `comparison := operand (op operand)?`; a lone operand is an
    /// existence test (a path) or a constant (`true`, `false`).
    mutating func filterComparison(depth: Int) throws(JSONPathSyntaxError) -> JSONPathFilterExpression {
        let operandStart = position
        let left = try filterOperand(depth: depth)
        skipWhitespace()
        guard let comparison = comparisonOperator() else {
            switch left {
            case .relative, .absolute: return .exists(left)
            case .literal(.bool(let value)): return .constant(value)
            case .literal:
                position = operandStart
                throw failure("a literal alone is not a condition")
            }
        }
        skipWhitespace()
        let right = try filterOperand(depth: depth)
        return .compare(left, comparison, right)
    }

    mutating func comparisonOperator() -> JSONPathComparison? {
        let first = peek, second = peek(at: 1)
        let result: (JSONPathComparison, Int)?
        switch (first, second) {
        case (UInt8(ascii: "="), UInt8(ascii: "=")): result = (.equal, 2)
        case (UInt8(ascii: "!"), UInt8(ascii: "=")): result = (.notEqual, 2)
        case (UInt8(ascii: "<"), UInt8(ascii: "=")): result = (.lessOrEqual, 2)
        case (UInt8(ascii: ">"), UInt8(ascii: "=")): result = (.greaterOrEqual, 2)
        case (UInt8(ascii: "="), UInt8(ascii: "~")): result = (.matches, 2)
        case (UInt8(ascii: "<"), _): result = (.less, 1)
        case (UInt8(ascii: ">"), _): result = (.greater, 1)
        default: result = nil
        }
        guard let (comparison, length) = result else { return nil }
        position += length
        return comparison
    }

    /// A path from `@` or `$`, or a literal.
    mutating func filterOperand(depth: Int) throws(JSONPathSyntaxError) -> JSONPathFilterOperand {
        skipWhitespace()
        guard let byte = peek else { throw failure("expected a value in filter") }
        switch byte {
        case UInt8(ascii: "@"), UInt8(ascii: "$"):
            position += 1
            var starts: [Int] = []
            let steps = try segments(depth: depth, starts: &starts)
            return byte == UInt8(ascii: "@") ? .relative(steps) : .absolute(steps)
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            return .literal(.string(try quoted()))
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .literal(try numberLiteral())
        default:
            if keyword("true") { return .literal(.bool(true)) }
            if keyword("false") { return .literal(.bool(false)) }
            if keyword("null") { return .literal(.null) }
            throw failure("unexpected \(Self.describe(byte)) in filter")
        }
    }

    mutating func keyword(_ word: StaticString) -> Bool {
        let length = word.utf8CodeUnitCount
        guard position + length <= bytes.count else { return false }
        let matches = word.withUTF8Buffer { buffer in
            buffer.elementsEqual(bytes[position..<position + length])
        }
        guard matches else { return false }
        if position + length < bytes.count {
            let next = bytes[position + length]
            if next == UInt8(ascii: "_") || next >= 0x80 || Character(Unicode.Scalar(next)).isLetter || Character(Unicode.Scalar(next)).isNumber {
                return false
            }
        }
        position += length
        return true
    }

    /// `-?digits(.digits)?([eE][+-]?digits)?`: an integer when it has no
    /// fraction or exponent and fits 64 bits, a number otherwise.
    mutating func numberLiteral() throws(JSONPathSyntaxError) -> JSONNode {
        let start = position
        if peek == UInt8(ascii: "-") { position += 1 }
        func digits(_ parser: inout JSONPathParser) -> Int {
            var count = 0
            while let byte = parser.peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                parser.position += 1
                count += 1
            }
            return count
        }
        guard digits(&self) > 0 else { throw failure("expected digits in number") }
        var integral = true
        if peek == UInt8(ascii: "."), let next = peek(at: 1), next >= UInt8(ascii: "0"), next <= UInt8(ascii: "9") {
            position += 1
            _ = digits(&self)
            integral = false
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            position += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
            guard digits(&self) > 0 else { throw failure("expected digits in exponent") }
            integral = false
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        if integral, let value = Int64(text) { return .integer(value) }
        guard let value = Double(text), value.isFinite else {
            position = start
            throw failure("number out of range")
        }
        return .number(value)
    }
}

// MARK: - Evaluation

extension JSONPathEvaluation {
    /// Whether `expression` holds for `current`.
    func test(_ expression: JSONPathFilterExpression, current: JSONNode) -> Bool {
        switch expression {
        case .or(let terms):
            return terms.contains { test($0, current: current) }
        case .and(let terms):
            return terms.allSatisfy { test($0, current: current) }
        case .not(let inner):
            return !test(inner, current: current)
        case .constant(let value):
            return value
        case .exists(let operand):
            return !values(of: operand, current: current).isEmpty
        case let .compare(left, comparison, right):
            // Any pair of matched values satisfying the comparison; a path
            // that matches nothing makes it false (even for !=).
            let lefts = values(of: left, current: current)
            if lefts.isEmpty { return false }
            let rights = values(of: right, current: current)
            for l in lefts {
                for r in rights where compare(l, comparison, r) { return true }
            }
            return false
        }
    }

    func values(of operand: JSONPathFilterOperand, current: JSONNode) -> [JSONNode] {
        switch operand {
        case .literal(let value):
            return [value]
        case .relative(let segments):
            return apply(segments, to: [([], current)]).map(\.node)
        case .absolute(let segments):
            return apply(segments, to: [([], root)]).map(\.node)
        }
    }

    func compare(_ left: JSONNode, _ comparison: JSONPathComparison, _ right: JSONNode) -> Bool {
        switch comparison {
        case .equal: return left == right
        case .notEqual: return !(left == right)
        case .less: return order(left, right).map { $0 < 0 } ?? false
        case .lessOrEqual: return order(left, right).map { $0 <= 0 } ?? false
        case .greater: return order(left, right).map { $0 > 0 } ?? false
        case .greaterOrEqual: return order(left, right).map { $0 >= 0 } ?? false
        case .matches:
            guard case .string(let subject) = left, case .string(let pattern) = right,
                  let regex = regex(pattern) else { return false }
            return subject.contains(regex)
        }
    }

    /// -1, 0 or 1 for two numbers (by value) or two strings (by UTF-8
    /// bytes); nil for anything else, which no ordering holds for.
    func order(_ left: JSONNode, _ right: JSONNode) -> Int? {
        switch (left, right) {
        case let (.integer(a), .integer(b)):
            return a < b ? -1 : (a == b ? 0 : 1)
        case let (.string(a), .string(b)):
            if a == b { return 0 }
            return a.utf8.lexicographicallyPrecedes(b.utf8) ? -1 : 1
        default:
            guard let a = left.numericValue, let b = right.numericValue, !a.isNaN, !b.isNaN else { return nil }
            return a < b ? -1 : (a == b ? 0 : 1)
        }
    }

    /// The compiled pattern, once per evaluation; nil when it does not compile.
    func regex(_ pattern: String) -> Regex<AnyRegexOutput>? {
        if let cached = regexCache[pattern] { return cached }
        let compiled = try? Regex(pattern)
        regexCache[pattern] = compiled
        return compiled
    }
}
