/// One configuration parameter, declared once (as Redis's config.c declares
/// its `standardConfig` table) and read by every place a value comes from:
/// the config file, the `serve` flags, CONFIG GET/SET/REWRITE and the
/// generated documentation. `Target` is what its values are applied to: the
/// engine's state for `ConfigTable.engine`, the server settings of the
/// `keyway` executable for its own table.
/// Whether CONFIG SET may change a value while running. Paths are
/// protected, as in Redis 7 with `enable-protected-configs no`.
public enum ConfigMutability: String, Sendable {
    case mutable, immutable, protected
}

/// How several values of one source combine: most replace, `save` lines of
/// one file add up (its first one replacing the default), and
/// `cache-origin` lines always add.
public enum ConfigRepetition: Sendable {
    case replace, accumulateWithinSource, accumulate
}

public struct ConfigParameter<Target>: Sendable {
    public typealias Mutability = ConfigMutability
    public typealias Repetition = ConfigRepetition

    /// Redis's name (the directive, the CONFIG name and the flag).
    public let name: String
    /// Other names accepted everywhere (`busy-reply-threshold`, `token`...).
    public let aliases: [String]
    /// The flag spelling when it differs from the name (`--log-level` for loglevel).
    public let flagName: String
    public let kind: String
    /// Accepted values or range, for the documentation.
    public let allowed: String
    /// The default in directive form; nil when worked out at start-up
    /// (then `defaultDescription` says how).
    public let defaultValue: String?
    public let defaultDescription: String
    public let mutability: Mutability
    public let repetition: Repetition
    public let help: String
    /// Whether CONFIG GET lists aliases as parameters of their own.
    public let aliasesListed: Bool
    /// How many words a config file line takes after the name.
    let arity: ClosedRange<Int>
    /// How a flag's or CONFIG SET's single value becomes words.
    let words: @Sendable (String) -> [String]
    /// Validates words and returns the change to apply; nothing is
    /// applied until every value of a CONFIG SET or a source is valid.
    let prepare: Preparation
    /// For `.accumulateWithinSource`: adds a later line's value.
    let accumulate: Preparation?
    /// CONFIG SET's change when it differs from start-up's (appendonly
    /// starts or stops the file rather than choosing what to load).
    let prepareAtRunTime: Preparation?
    /// The value as CONFIG GET shows it; nil for settings the engine does not hold.
    public let get: (@Sendable (Target) -> String)?

    public typealias Change = @Sendable (inout Target) -> Void

    /// Every name the parameter answers to.
    public var names: [String] { [name] + aliases }

    public init<Value>(
        _ name: String, aliases: [String] = [], flag: String? = nil, _ type: ConfigValueType<Value>,
        default defaultValue: String?, defaultDescription: String? = nil,
        _ mutability: Mutability = .mutable, repetition: Repetition = .replace, aliasesListed: Bool = false,
        help: String,
        get: (@Sendable (Target) -> Value)? = nil,
        set: @escaping @Sendable (inout Target, Value) -> Void,
        add: (@Sendable (inout Target, Value) -> Void)? = nil,
        setAtRunTime: (@Sendable (inout Target, Value) -> Void)? = nil
    ) where Value: Sendable {
        self.name = name
        self.aliases = aliases
        self.flagName = flag ?? name
        self.kind = type.kind
        self.allowed = type.allowed
        self.defaultValue = defaultValue
        self.defaultDescription = defaultDescription ?? defaultValue.map { $0.isEmpty ? "\"\"" : $0 } ?? ""
        self.mutability = mutability
        self.repetition = repetition
        self.aliasesListed = aliasesListed
        self.help = help
        self.arity = type.arity
        self.words = type.words
        self.prepare = Self.preparing(type, set)
        self.accumulate = if let add { Self.preparing(type, add) } else { nil }
        self.prepareAtRunTime = if let setAtRunTime { Self.preparing(type, setAtRunTime) } else { nil }
        if let get {
            let show: @Sendable (Target) -> String = { (target: Target) -> String in type.format(get(target)) }
            self.get = show
        } else {
            self.get = nil
        }
    }

    typealias Preparation = @Sendable (_ name: String, _ words: [String]) throws(ConfigValueError) -> Change

    /// Parses with `type`, then applies with `apply`.
    static func preparing<Value: Sendable>(_ type: ConfigValueType<Value>,
                                           _ apply: @escaping @Sendable (inout Target, Value) -> Void) -> Preparation {
        let preparation: Preparation = { (name: String, words: [String]) throws(ConfigValueError) -> Change in
            let value: Value = try type.parse(name, words)
            let change: Change = { (target: inout Target) -> Void in apply(&target, value) }
            return change
        }
        return preparation
    }

    /// Checks the words of one config file line, a flag or CONFIG SET.
    public func change(_ words: [String], adding: Bool = false, atRunTime: Bool = false) throws(ConfigValueError) -> Change {
        guard arity.contains(words.count) else {
            throw ConfigValueError(arity == 1...1 ? "expected exactly one argument" : "wrong number of arguments")
        }
        if adding, let accumulate { return try accumulate(name, words) }
        if atRunTime, let prepareAtRunTime { return try prepareAtRunTime(name, words) }
        return try prepare(name, words)
    }

    /// The change for a flag's or CONFIG SET's single value.
    public func change(value: String, atRunTime: Bool = false) throws(ConfigValueError) -> Change {
        try change(words(value), atRunTime: atRunTime)
    }
}

/// Why a value was refused: `headline` says what was expected, in Keyway's
/// short words; `rule` is Redis's CONFIG SET reason. Every source shows the
/// rule, each in its own frame: CONFIG SET as Redis does, the config file
/// with the line, the flags with the flag.
public struct ConfigValueError: Error, Sendable, Equatable {
    public let headline: String?
    /// "argument" or "argument(s)" in CONFIG SET's reason; the parameter's
    /// name (or flag) in the file's and the flag's. Nil: the rule is a
    /// whole sentence.
    public let subject: String?
    public let rule: String

    public init(headline: String? = nil, subject: String? = "argument", rule: String) {
        self.headline = headline
        self.subject = subject
        self.rule = rule
    }

    /// A problem that is not about the value, e.g. an unknown directive.
    public init(_ message: String) {
        self.init(headline: nil, subject: nil, rule: message)
    }

    func reason(subject spelled: String) -> String {
        subject == nil ? rule : "\(spelled) \(rule)"
    }

    /// CONFIG SET's error, Redis's words.
    public func configSetMessage(_ name: String) -> String {
        "ERR CONFIG SET failed (possibly related to argument '\(name)') - \(reason(subject: subject ?? ""))"
    }

    /// The config file's error, naming the line.
    public func fileMessage(line: Int, directive: String, arguments: [String]) -> String {
        let text = "'\(directive) \(arguments.joined(separator: " "))'"
        guard let headline else { return "config file line \(line): \(reason(subject: directive)) (\(text))" }
        return "config file line \(line): \(headline) (\(text)); \(reason(subject: directive))"
    }

    /// The flag's error.
    public func flagMessage(_ flag: String) -> String {
        guard let headline else { return "--\(flag): \(reason(subject: "--" + flag))" }
        return "--\(flag): \(headline); \(reason(subject: "--" + flag))"
    }
}

/// How the words of a value are read and shown, with what the documentation
/// says of them.
public struct ConfigValueType<Value>: Sendable {
    public let kind: String
    public let allowed: String
    let arity: ClosedRange<Int>
    let words: @Sendable (String) -> [String]
    let parse: @Sendable (_ name: String, _ words: [String]) throws(ConfigValueError) -> Value
    let format: @Sendable (Value) -> String

    public init(kind: String, allowed: String, arity: ClosedRange<Int> = 1...1,
                words: @escaping @Sendable (String) -> [String] = { [$0] },
                parse: @escaping @Sendable (_ name: String, _ words: [String]) throws(ConfigValueError) -> Value,
                format: @escaping @Sendable (Value) -> String) {
        self.kind = kind
        self.allowed = allowed
        self.arity = arity
        self.words = words
        self.parse = parse
        self.format = format
    }

    /// A one-word value.
    public static func single(kind: String, allowed: String,
                              parse: @escaping @Sendable (_ name: String, _ text: String) throws(ConfigValueError) -> Value,
                              format: @escaping @Sendable (Value) -> String) -> Self {
        Self(kind: kind, allowed: allowed, parse: { name, words throws(ConfigValueError) in try parse(name, words[0]) }, format: format)
    }
}

extension ConfigValueType where Value == Bool {
    /// yes or no.
    public static var bool: Self { Self.single(kind: "bool", allowed: "yes, no", parse: { _, text throws(ConfigValueError) in
        switch text.lowercased() {
        case "yes": return true
        case "no": return false
        default: throw ConfigValueError(headline: "expected yes or no", rule: "must be 'yes' or 'no'")
        }
    }, format: { $0 ? "yes" : "no" }) }
}

extension ConfigValueType where Value == Int64 {
    /// An integer within `range`; `headline` replaces the generated one.
    public static func integer(_ range: ClosedRange<Int64>, unit: String? = nil, headline: String? = nil) -> Self {
        let wide = Int64(Int32.max)
        let (allowed, expected, rule): (String, String?, String)
        switch (range.lowerBound, range.upperBound) {
        case (.min, .max): (allowed, expected, rule) = ("any integer", "expected an integer", "couldn't be parsed into an integer")
        case (0, .max): (allowed, expected, rule) = (">= 0", "expected a non-negative integer", "must be a non-negative integer")
        case (1, .max): (allowed, expected, rule) = (">= 1", "expected a positive integer", "must be positive")
        case (0, wide...): (allowed, expected, rule) = ("0 .. \(range.upperBound)", "expected a non-negative integer", "must be between 0 and \(range.upperBound) inclusive")
        case (1, wide...): (allowed, expected, rule) = ("1 .. \(range.upperBound)", "expected a positive integer", "must be between 1 and \(range.upperBound) inclusive")
        default: (allowed, expected, rule) = ("\(range.lowerBound) .. \(range.upperBound)", nil, "must be between \(range.lowerBound) and \(range.upperBound) inclusive")
        }
        return .single(kind: unit.map { "integer (\($0))" } ?? "integer", allowed: allowed, parse: { name, text throws(ConfigValueError) in
            let message = headline ?? expected ?? "\(name) must be \(range.lowerBound)..\(range.upperBound)"
            guard let number = Int64(text) else {
                throw ConfigValueError(headline: message, rule: "couldn't be parsed into an integer")
            }
            guard range.contains(number) else { throw ConfigValueError(headline: message, rule: rule) }
            return number
        }, format: { String($0) })
    }

    /// Bytes, with Redis's units (`100mb`, `1gb`, `64k`).
    public static var memory: Self { Self.single(kind: "memory", allowed: "bytes, or with a unit: 100mb, 1gb, 64k...", parse: { _, text throws(ConfigValueError) in
        guard let bytes = MemorySize.parse(text) else {
            throw ConfigValueError(headline: "expected a size such as 100mb, 1gb or plain bytes", rule: "must be a memory value")
        }
        return bytes
    }, format: { String($0) }) }
}

extension ConfigValueType where Value == Int {
    /// An integer within `range`, held as `Int`.
    public static func int(_ range: ClosedRange<Int>, unit: String? = nil, headline: String? = nil) -> Self {
        let wide = ConfigValueType<Int64>.integer(Int64(range.lowerBound)...Int64(range.upperBound), unit: unit, headline: headline)
        return Self(kind: wide.kind, allowed: wide.allowed, parse: { name, words throws(ConfigValueError) in Int(try wide.parse(name, words)) },
                    format: { String($0) })
    }
}

extension ConfigValueType where Value == Double {
    /// Seconds, fractions allowed, within `range` (lower bound excluded).
    public static func seconds(above lower: Double, upTo upper: Double) -> Self {
        let bounds = "\(lower.configText) < s <= \(upper.configText)"
        return .single(kind: "seconds", allowed: bounds, parse: { _, text throws(ConfigValueError) in
            guard let seconds = Double(text), seconds > lower, seconds <= upper else {
                throw ConfigValueError(headline: "expected seconds, \(bounds)", rule: "must be seconds, \(bounds)")
            }
            return seconds
        }, format: { $0.configText })
    }
}

extension Double {
    /// `2`, `0.5`: no trailing `.0`.
    var configText: String { self == rounded() && abs(self) < 1e15 ? String(Int64(self)) : String(self) }
}

extension ConfigValueType where Value == String {
    /// Any text.
    public static var string: Self { Self.single(kind: "string", allowed: "any", parse: { _, text in text }, format: { $0 }) }

    /// A file or directory path: protected at run time.
    public static var path: Self { Self.single(kind: "path", allowed: "a path", parse: { _, text in text }, format: { $0 }) }

    /// A file name inside `dir`.
    public static var fileName: Self { Self.single(kind: "file name", allowed: "a file name, no '/'", parse: { name, text throws(ConfigValueError) in
        guard !text.isEmpty, !text.contains("/") else {
            throw ConfigValueError(headline: nil, subject: nil, rule: "\(name) can't be a path, just a filename")
        }
        return text
    }, format: { $0 }) }
}

extension ConfigValueType {
    /// One of `cases`, matched without regard to case, listed in `cases`'
    /// order in the error (Redis's order where Redis has one). `noun` names
    /// the values ("maxmemory policy").
    public static func enumeration(_ cases: [(String, Value)], noun: String, format: @escaping @Sendable (Value) -> String) -> Self
    where Value: Sendable {
        let names = cases.map(\.0).joined(separator: ", ")
        let table = cases
        return .single(kind: "enum", allowed: names, parse: { _, text throws(ConfigValueError) in
            guard let match = table.first(where: { $0.0 == text.lowercased() }) else {
                throw ConfigValueError(headline: "unknown \(noun) '\(text)'", subject: "argument(s)", rule: "must be one of the following: \(names)")
            }
            return match.1
        }, format: format)
    }

    /// An enumeration over a `String`-backed type, shown by its raw value.
    public static func enumeration(_ cases: [Value], noun: String) -> Self where Value: RawRepresentable & Sendable, Value.RawValue == String {
        enumeration(cases.map { ($0.rawValue, $0) }, noun: noun, format: { $0.rawValue })
    }
}
