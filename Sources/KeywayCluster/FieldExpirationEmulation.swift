import KeywayEngine

/// Hash field expiration (Redis 7.4's HEXPIRE and HTTL families, HPERSIST,
/// and 8.0's HGETEX, HSETEX, HGETDEL) on masters that lack it, such as
/// Redis 7.0's.
///
/// On such a node no field can have a TTL, so every read of one has an
/// exact answer: -1 for a field that exists, -2 for one that does not. The
/// reads (and HPERSIST, which then has nothing to remove, and HGETEX
/// without a TTL, and HGETDEL) run as one script on the master of the key's
/// slot, answering as Redis 7.4 does; what would give a field a TTL is
/// refused with NOT_SUPPORTED rather than left to the node's "unknown
/// command" (or, in a transaction, its EXECABORT). Masters that have the
/// commands get them unchanged (`FieldExpirationSupport` asks each).
enum FieldExpirationEmulation {
    /// What the script does per field (its first argument).
    enum Mode: String, Sendable, Equatable {
        /// -1 (the field exists, without a TTL) or -2 (no such field or key).
        case ttl
        /// The value, nil when missing.
        case get
        /// The value, nil when missing; the field is deleted.
        case getAndDelete = "getdel"
    }

    enum Treatment: Sendable, Equatable {
        /// Not a field expiration command.
        case notConcerned
        case emulate(Mode)
        case refuse
    }

    /// The commands concerned, as the command table names them.
    static let names: Set<String> = ["hexpire", "hpexpire", "hexpireat", "hpexpireat", "httl", "hpttl", "hexpiretime",
                                     "hpexpiretime", "hpersist", "hgetex", "hsetex", "hgetdel"]

    /// What becomes of `command` (named `name` in the command table) on a
    /// master without field expiration.
    static func treatment(of command: [Bytes], name: String) -> Treatment {
        switch name {
        case "httl", "hpttl", "hexpiretime", "hpexpiretime", "hpersist":
            return .emulate(.ttl)
        case "hgetdel":
            return .emulate(.getAndDelete)
        case "hgetex":
            // EX/PX/EXAT/PXAT give the fields a TTL; PERSIST or nothing only reads.
            guard command.count > 2 else { return .emulate(.get) }
            let option = command[2].lowercasedASCII
            return ["ex", "px", "exat", "pxat"].contains(option) ? .refuse : .emulate(.get)
        case "hexpire", "hpexpire", "hexpireat", "hpexpireat", "hsetex":
            return .refuse
        default:
            return .notConcerned
        }
    }

    /// The refusal of a command that would give a field a TTL.
    static func refusal(_ name: String) -> CommandError {
        CommandError(.notSupported, "ERR \(name.uppercased()) sets a hash field TTL, which needs Redis 7.4 or later on the key's master; "
            + "this cluster's node has no hash field expiration")
    }

    /// The fields of `FIELDS numfields field ...` at `position`, checked as
    /// the engine checks them, with its errors.
    static func fields(of command: [Bytes], at position: Int, name: String, countError: CommandError) throws(CommandError) -> ArraySlice<Bytes> {
        guard position < command.count, command[position].equalsIgnoringCase("fields") else { throw missingFields }
        guard position + 1 < command.count else { throw .wrongArity(name) }
        guard let count = Parse.strictInt64(command[position + 1]), count >= 1 else { throw countError }
        guard count == Int64(command.count - position - 2) else { throw numFieldsMismatch }
        return command[(position + 2)...]
    }

    /// Where the FIELDS block of `command` starts.
    static func fieldsPosition(of command: [Bytes], name: String) -> Int {
        name == "hgetex" && command.count > 2 && command[2].equalsIgnoringCase("persist") ? 3 : 2
    }

    /// The engine's error for a bad field count: two wordings, as in Redis.
    static func countError(_ name: String) -> CommandError {
        name == "hgetex" || name == "hgetdel" ? numberOfFieldsNotPositive : numFieldsNotPositive
    }

    static let missingFields = CommandError(.syntax, "ERR Mandatory argument FIELDS is missing or not at the right position")
    static let numFieldsNotPositive = CommandError(.generic, "ERR Parameter `numFields` should be greater than 0")
    static let numberOfFieldsNotPositive = CommandError(.generic, "ERR Number of fields must be a positive integer")
    static let numFieldsMismatch = CommandError(.generic, "ERR The `numfields` parameter must match the number of arguments")
}

extension MiddlewareScript {
    /// The field reads of `FieldExpirationEmulation`, for nodes without field TTLs.
    static let fieldExpiration = MiddlewareScript(#"""
        -- Hash field TTL reads on a node without hash field expiration, where
        -- no field has a TTL. KEYS the hash; ARGV the mode, then the fields.
        -- 'ttl': per field -1 (exists) or -2 (missing); 'get': the values;
        -- 'getdel': the values, and the fields deleted.
        local key, mode = KEYS[1], ARGV[1]
        local found = redis.call('TYPE', key).ok
        if found ~= 'none' and found ~= 'hash' then
          return {err = 'WRONGTYPE Operation against a key holding the wrong kind of value'}
        end
        local out = {}
        for i = 2, #ARGV do
          if mode == 'ttl' then
            out[i - 1] = redis.call('HEXISTS', key, ARGV[i]) == 1 and -1 or -2
          else
            local value = redis.call('HGET', key, ARGV[i])
            if value and mode == 'getdel' then redis.call('HDEL', key, ARGV[i]) end
            out[i - 1] = value
          end
        end
        return out
        """#)
}

extension MiddlewareCall {
    /// The script call that answers `command` on a master without field
    /// expiration; nil when it is not an emulated read. Throws the engine's
    /// errors for bad arguments, and NOT_SUPPORTED for a field TTL write.
    init?(emulatingFieldExpiration command: [Bytes], spec: CommandSpec) throws(CommandError) {
        switch FieldExpirationEmulation.treatment(of: command, name: spec.name) {
        case .notConcerned:
            return nil
        case .refuse:
            throw FieldExpirationEmulation.refusal(spec.name)
        case .emulate(let mode):
            let fields = try FieldExpirationEmulation.fields(
                of: command, at: FieldExpirationEmulation.fieldsPosition(of: command, name: spec.name), name: spec.name,
                countError: FieldExpirationEmulation.countError(spec.name))
            self.kind = .fieldExpiration
            self.script = .fieldExpiration
            self.keys = [command[1]]
            self.arguments = [Bytes(mode.rawValue)] + fields
        }
    }
}
