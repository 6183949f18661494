/// A compiled JSONPath (`$...`) or RedisJSON legacy path (`.a.b`, `a[0]`).
///
/// Supported: `$`; `.name`, `['name']`, `["name"]`; `.*`, `[*]`; `[n]` (negative
/// from the end); unions `[0,2,-1]`, `['a','b']` (names and indexes may mix);
/// slices `[start:end:step]` (Python's rules, any part omitted, step > 0 —
/// a step of 0 or below is a syntax error); recursive descent `..name`,
/// `..*`, `..[...]` (pre-order); filters `[?(...)]` on array elements and
/// object member values, with `@`/`$` paths, literals, `== != < <= > >= =~`,
/// `&& || !` and parentheses.
///
/// A legacy path is RedisJSON's: it is read as the JSONPath `$` + text (for
/// `.` alone, `$`; for text starting with `.` or `[`, `$` + text; otherwise
/// `$.` + text), so everything JSONPath accepts follows the prefix.
public struct JSONPath: Sendable {
    /// The text as given.
    public let text: String
    /// True for the legacy syntax (RedisJSON answers legacy paths with the
    /// first match only, and errors when nothing matches).
    public let isLegacy: Bool
    /// The `$`-form of the path: `text` itself for JSONPath, the translation
    /// for a legacy path; RedisJSON names it in "Path '...' does not exist".
    public let errorText: String

    let segments: [JSONPathSegment]
    /// The byte offset in `errorText` where each segment starts.
    let segmentStarts: [Int]
    /// For legacy paths: how many bytes `errorText` adds before `text`.
    let legacyPrefixLength: Int

    /// Parses `text`. Text starting with `$` is JSONPath; anything else is
    /// RedisJSON's legacy path syntax.
    public init(parsing text: String) throws(CommandError) {
        self.text = text
        if text.utf8.first == UInt8(ascii: "$") {
            isLegacy = false
            errorText = text
            legacyPrefixLength = 0
        } else {
            isLegacy = true
            guard !text.isEmpty else {
                throw CommandError(.invalidPath, "ERR invalid legacy path: (empty path)")
            }
            if text == "." {
                errorText = "$"
                legacyPrefixLength = 0
            } else if text.hasPrefix(".") || text.hasPrefix("[") {
                errorText = "$" + text
                legacyPrefixLength = 1
            } else {
                errorText = "$." + text
                legacyPrefixLength = 2
            }
        }
        do {
            (segments, segmentStarts) = try JSONPathParser.parse(errorText)
        } catch {
            let shown = Self.display(text)
            if isLegacy {
                throw CommandError(.invalidPath, "ERR invalid legacy path: \(shown) (\(error.reason))")
            }
            throw CommandError(.invalidPath, "ERR invalid JSONPath: \(shown) (\(error.reason) at position \(error.position))")
        }
    }

    private init(text: String, isLegacy: Bool, errorText: String, segments: [JSONPathSegment], segmentStarts: [Int], legacyPrefixLength: Int) {
        self.text = text
        self.isLegacy = isLegacy
        self.errorText = errorText
        self.segments = segments
        self.segmentStarts = segmentStarts
        self.legacyPrefixLength = legacyPrefixLength
    }

    /// The path for an error message: at most 200 bytes, on one line.
    private static func display(_ text: String) -> String {
        var shown = text.utf8.count > 200 ? String(decoding: text.utf8.prefix(200), as: UTF8.self) + "..." : text
        if shown.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) {
            shown = String(shown.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : $0 })
        }
        return shown
    }

    /// True when the path is the root alone (`$` or `.`).
    public var isRoot: Bool { segments.isEmpty }

    /// When the last step is a single plain member name (`.name`,
    /// `['name']`, `["name"]`), the path of the parent(s) and that name;
    /// nil otherwise (wildcards, indexes, filters, unions, descent, the root).
    public var parentAndMember: (parent: JSONPath, member: String)? {
        guard case .child(.member(let name))? = segments.last, let start = segmentStarts.last else { return nil }
        let parentErrorText = String(decoding: errorText.utf8.prefix(start), as: UTF8.self)
        let parentText: String
        let prefixLength: Int
        if isLegacy {
            let end = start - legacyPrefixLength
            if end <= 0 {
                parentText = "."
                prefixLength = 0
            } else {
                parentText = String(decoding: text.utf8.prefix(end), as: UTF8.self)
                prefixLength = legacyPrefixLength
            }
        } else {
            parentText = parentErrorText
            prefixLength = 0
        }
        let parent = JSONPath(text: parentText, isLegacy: isLegacy, errorText: parentErrorText,
                              segments: Array(segments.dropLast()), segmentStarts: Array(segmentStarts.dropLast()),
                              legacyPrefixLength: prefixLength)
        return (parent, name)
    }

    /// Every location the path matches in `root`, in the order the steps
    /// produce them (document order, except that a union yields in the
    /// order it names), without duplicates (the first occurrence kept), so
    /// a mutation applied per location never applies twice to one value.
    public func locations(in root: JSONNode) -> [JSONLocation] {
        JSONPathEvaluation(root: root).apply(segments, to: [([], root)]).map(\.location)
    }

    /// The matched values with their locations, as `locations(in:)` orders them.
    public func matches(in root: JSONNode) -> [(location: JSONLocation, node: JSONNode)] {
        JSONPathEvaluation(root: root).apply(segments, to: [([], root)])
    }
}

/// One evaluation of a path over one document (it caches compiled regexes).
final class JSONPathEvaluation {
    typealias Match = (location: JSONLocation, node: JSONNode)

    let root: JSONNode
    var regexCache: [String: Regex<AnyRegexOutput>?] = [:]

    init(root: JSONNode) { self.root = root }

    /// Applies the segments in turn. Only a union or a descent can produce a
    /// location twice, so only their results are deduplicated; distinct
    /// inputs give distinct children otherwise.
    func apply(_ segments: [JSONPathSegment], to start: [Match]) -> [Match] {
        var current = start
        for segment in segments {
            if current.isEmpty { break }
            var next: [Match] = []
            switch segment {
            case .child(let selector):
                for (location, node) in current { select(selector, location, node, into: &next) }
                if case .union = selector { next = Self.deduplicated(next) }
            case .descendant(let selector):
                // A value under one already descended from gives only
                // duplicates: skip it.
                var descended: Set<JSONLocation> = []
                for (location, node) in current {
                    if (0..<location.count).contains(where: { descended.contains(Array(location.prefix($0))) }) { continue }
                    descended.insert(location)
                    descend(selector, location, node, into: &next)
                }
                next = Self.deduplicated(next)
            }
            current = next
        }
        return current
    }

    static func deduplicated(_ matches: [Match]) -> [Match] {
        var seen: Set<JSONLocation> = []
        return matches.filter { seen.insert($0.location).inserted }
    }

    /// Applies `selector` to `node` and every value under it, in pre-order.
    func descend(_ selector: JSONPathSelector, _ location: JSONLocation, _ node: JSONNode, into out: inout [Match]) {
        var stack: [Match] = [(location, node)]
        while let (location, node) = stack.popLast().map({ ($0.location, $0.node) }) {
            select(selector, location, node, into: &out)
            switch node {
            case .array(let elements):
                for index in elements.indices.reversed() { stack.append((location + [.element(index)], elements[index])) }
            case .object(let members):
                for (name, value) in members.reversed() { stack.append((location + [.member(name)], value)) }
            default:
                break
            }
        }
    }

    func select(_ selector: JSONPathSelector, _ location: JSONLocation, _ node: JSONNode, into out: inout [Match]) {
        switch selector {
        case .member(let name):
            if case .object(let members) = node, let value = members[name] {
                out.append((location + [.member(name)], value))
            }
        case .index(let index):
            if case .array(let elements) = node, let resolved = Self.resolve(index, count: elements.count) {
                out.append((location + [.element(resolved)], elements[resolved]))
            }
        case .union(let items):
            for item in items {
                switch item {
                case .member(let name): select(.member(name), location, node, into: &out)
                case .index(let index): select(.index(index), location, node, into: &out)
                }
            }
        case .wildcard:
            switch node {
            case .array(let elements):
                for (index, element) in elements.enumerated() { out.append((location + [.element(index)], element)) }
            case .object(let members):
                for (name, value) in members { out.append((location + [.member(name)], value)) }
            default:
                break
            }
        case let .slice(start, end, step):
            guard case .array(let elements) = node else { return }
            let count = elements.count
            func clamp(_ value: Int) -> Int { value < 0 ? max(0, value + count) : min(value, count) }
            let from = start.map(clamp) ?? 0
            let to = end.map(clamp) ?? count
            for index in stride(from: from, to: to, by: step) { out.append((location + [.element(index)], elements[index])) }
        case .filter(let expression):
            switch node {
            case .array(let elements):
                for (index, element) in elements.enumerated() where test(expression, current: element) {
                    out.append((location + [.element(index)], element))
                }
            case .object(let members):
                for (name, value) in members where test(expression, current: value) {
                    out.append((location + [.member(name)], value))
                }
            default:
                break
            }
        }
    }

    /// An index into `count` elements, negative from the end; nil when outside.
    static func resolve(_ index: Int, count: Int) -> Int? {
        let resolved = index < 0 ? index + count : index
        return resolved >= 0 && resolved < count ? resolved : nil
    }
}
