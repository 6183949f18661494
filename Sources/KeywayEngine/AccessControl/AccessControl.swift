import Foundation
import Synchronization

/// The ACL users and the tokens issued for them, shared by the engine
/// (which checks every command against its caller's rules) and the HTTP
/// layer (which authenticates each request as one user).
///
/// Users are immutable values swapped under a mutex of their own, so
/// authenticating a request never waits for the engine lock.
public final class AccessControl: Sendable {
    private struct State {
        var users: [String: ACLUser] = [:] {
            didSet { defaultUser = users["default"] }
        }
        /// `users["default"]`, kept beside the dictionary: every request
        /// without credentials asks for it, and a stored reference costs
        /// no hashing of the name.
        private(set) var defaultUser: ACLUser?
        /// Issued tokens by the SHA-256 of the token.
        var tokens: [ACLDigest: ACLToken] = [:]
        var aclFile: String?
        var tokenFile: String?
    }

    private let state = Mutex(State())
    /// Denied commands, keys and channels, and failed authentications.
    public let log = ACLLog()
    let commands: CommandTable

    public init(commands: CommandTable) {
        self.commands = commands
        state.withLock { $0.users["default"] = Self.freshDefaultUser(commands) }
    }

    /// The default user a server starts with: no password, every command,
    /// key and channel.
    static func freshDefaultUser(_ table: CommandTable) -> ACLUser {
        var draft = ACLUserDraft(name: "default")
        try? draft.apply(["on", "nopass", "~*", "&*", "+@all"], table: table)
        return draft.build()
    }

    // MARK: - Users

    public var defaultUser: ACLUser {
        state.withLock { $0.defaultUser! }
    }

    public func user(named name: String) -> ACLUser? {
        state.withLock { $0.users[name] }
    }

    /// Every user, by name.
    public var users: [ACLUser] {
        state.withLock { Array($0.users.values) }.sorted { $0.name < $1.name }
    }

    /// Applies `rules` to the user `name` (created if new), as ACL SETUSER:
    /// all or nothing.
    public func setUser(_ name: String, rules: [String]) throws(CommandError) {
        try validate(name: name)
        let existing = user(named: name)
        var draft = existing.map(ACLUserDraft.init) ?? ACLUserDraft(name: name)
        try draft.apply(rules, table: commands)
        let user = draft.build()
        state.withLock { $0.users[name] = user }
    }

    /// Sets the default user's password (`requirepass`, `--token`): nil or
    /// empty makes it `nopass` again.
    public func setDefaultPassword(_ password: String?) {
        let rules = (password?.isEmpty ?? true) ? ["nopass"] : ["resetpass", ">" + password!]
        try? setUser("default", rules: rules)
    }

    /// Removes users (not `default`) and the tokens issued for them.
    public func deleteUsers(_ names: [String]) throws(CommandError) -> Int {
        if names.contains("default") { throw CommandError(.generic, "ERR The 'default' user cannot be removed") }
        let (removed, changedTokens) = state.withLock { state -> (Int, Bool) in
            var removed = 0
            for name in names where state.users.removeValue(forKey: name) != nil { removed += 1 }
            let before = state.tokens.count
            state.tokens = state.tokens.filter { names.contains($0.value.user) == false }
            return (removed, before != state.tokens.count)
        }
        if changedTokens { saveTokens() }
        return removed
    }

    /// Replaces every user (ACL LOAD, start-up). A set without `default`
    /// gets a fresh one, as Redis does.
    func replaceUsers(_ users: [ACLUser]) {
        var byName: [String: ACLUser] = [:]
        for user in users { byName[user.name] = user }
        if byName["default"] == nil { byName["default"] = Self.freshDefaultUser(commands) }
        state.withLock { state in
            state.users = byName
            state.tokens = state.tokens.filter { byName[$0.value.user] != nil }
        }
    }

    private func validate(name: String) throws(CommandError) {
        guard !name.isEmpty, !name.contains(where: { $0 == " " || $0.isNewline || $0 == "\0" }) else {
            throw CommandError(.generic, "ERR Usernames can't contain spaces or null characters")
        }
    }

    // MARK: - Authorization

    /// The NOPERM error when `user` may not run `arguments`, after logging
    /// the refusal in ACL LOG; nil when it may.
    /// `client` and `now` are asked for only when there is a refusal to log.
    public func check(_ user: ACLUser, spec: CommandSpec, arguments: [Bytes], client: @autoclosure () -> String?,
                      context: String, nowMilliseconds: @autoclosure () -> Int64) -> CommandError? {
        guard let denial = user.denial(for: spec, arguments) else { return nil }
        log.record(reason: denial.reason, context: context, object: denial.object, username: user.name,
                   clientInfo: client() ?? "", nowMilliseconds: nowMilliseconds())
        return denial.error(user: user.name)
    }

    /// Whether `user` may subscribe to `channels` and `patterns` (SSE
    /// pub/sub, keyspace events): SUBSCRIBE/PSUBSCRIBE and each channel.
    public func checkSubscription(_ user: ACLUser, channels: [Bytes], patterns: [Bytes], shardChannels: [Bytes] = [], client: String?,
                                  nowMilliseconds: Int64) -> CommandError? {
        if user.isUnrestricted { return nil }
        for (name, names) in [("subscribe", channels), ("psubscribe", patterns), ("ssubscribe", shardChannels)] where !names.isEmpty {
            guard let spec = commands.lookup(Bytes(name)) else { continue }
            if let refusal = check(user, spec: spec, arguments: [Bytes(name)] + names, client: client, context: "toplevel",
                                   nowMilliseconds: nowMilliseconds) {
                return refusal
            }
        }
        let refused = (channels + shardChannels).first { !user.mayUse(channel: $0) } ?? patterns.first { !user.mayUse(channelPattern: $0) }
        guard let refused else { return nil }
        let denial = ACLDenial.channel(refused)
        log.record(reason: denial.reason, context: "toplevel", object: denial.object, username: user.name,
                   clientInfo: client ?? "", nowMilliseconds: nowMilliseconds)
        return denial.error(user: user.name)
    }

    /// Records a failed authentication (HTTP 401) in ACL LOG.
    public func recordFailedAuthentication(username: String, client: String?, nowMilliseconds: Int64) {
        log.record(reason: "auth", context: "toplevel", object: "AUTH", username: username, clientInfo: client ?? "",
                   nowMilliseconds: nowMilliseconds)
    }

    // MARK: - Authentication

    /// True when a request without credentials is not the default user:
    /// the default user has a password or is off.
    public var requiresAuthentication: Bool {
        let user = defaultUser
        return !(user.enabled && user.noPass)
    }

    /// The user for a name and password (HTTP Basic, AUTH): nil when the
    /// user is unknown or off, or the password is wrong.
    public func authenticate(name: String, password: String) -> ACLUser? {
        guard let user = user(named: name), user.enabled else { return nil }
        if user.noPass { return user }
        return user.passwordDigests.contains(ACLDigest.of(password)) ? user : nil
    }

    /// The user a bearer token stands for: a token issued by ACL TOKEN
    /// CREATE, or else the default user's password (`--token`,
    /// `requirepass`). Nil when neither.
    public func authenticate(bearer token: Substring, nowMilliseconds: Int64) -> ACLUser? {
        guard !token.isEmpty else { return nil }
        let hash = ACLDigest.of(token)
        return state.withLock { state -> ACLUser? in
            if let issued = state.tokens[hash] {
                guard !issued.hasExpired(at: nowMilliseconds), let user = state.users[issued.user], user.enabled else { return nil }
                return user
            }
            guard let defaultUser = state.users["default"], defaultUser.enabled, !defaultUser.noPass,
                  defaultUser.passwordDigests.contains(hash) else { return nil }
            return defaultUser
        }
    }

    // MARK: - Tokens

    /// Issues a token for `user`, valid `ttlSeconds` (nil: until revoked).
    /// Only its hash is kept; the token itself is returned once.
    public func createToken(for userName: String, ttlSeconds: Int64?, label: String?, nowMilliseconds: Int64) throws(CommandError) -> (token: String, record: ACLToken) {
        guard user(named: userName) != nil else { throw CommandError(.generic, "ERR User '\(userName)' does not exist") }
        let id = RandomHex.make(bytes: 6)
        // 48 bytes in all: one SHA-256 block to check on each request, and
        // 176 random bits.
        let token = "kw_" + id + "_" + RandomHex.make(bytes: 16)
        let expires = ttlSeconds.map { nowMilliseconds.addingReportingOverflow($0.multipliedReportingOverflow(by: 1000).partialValue).partialValue }
        let record = ACLToken(id: id, user: userName, hash: ACLPasswords.hash(token), label: label,
                              createdMilliseconds: nowMilliseconds, expiresMilliseconds: expires)
        state.withLock { $0.tokens[ACLDigest(hex: record.hash)!] = record }
        saveTokens()
        return (token, record)
    }

    /// The issued tokens (without their secrets), oldest first; expired
    /// ones are dropped first.
    public func tokens(nowMilliseconds: Int64) -> [ACLToken] {
        let (live, dropped) = state.withLock { state -> ([ACLToken], Bool) in
            let before = state.tokens.count
            state.tokens = state.tokens.filter { !$0.value.hasExpired(at: nowMilliseconds) }
            return (Array(state.tokens.values), before != state.tokens.count)
        }
        if dropped { saveTokens() }
        return live.sorted { ($0.createdMilliseconds, $0.id) < ($1.createdMilliseconds, $1.id) }
    }

    /// Revokes the token with this id; false when there is none.
    public func revokeToken(id: String) -> Bool {
        let revoked = state.withLock { state -> Bool in
            guard let hash = state.tokens.first(where: { $0.value.id == id })?.key else { return false }
            state.tokens[hash] = nil
            return true
        }
        if revoked { saveTokens() }
        return revoked
    }

    // MARK: - Files

    /// The aclfile (`aclfile`), read at start and by ACL LOAD, written by
    /// ACL SAVE; and where issued tokens are kept (next to it, or
    /// `acl-token-file`). Set once at start-up.
    public func configureFiles(aclFile: String?, tokenFile: String?) {
        state.withLock { state in
            state.aclFile = aclFile
            state.tokenFile = tokenFile ?? aclFile.map { $0 + ".tokens" }
        }
    }

    public var aclFile: String? { state.withLock { $0.aclFile } }

    /// ACL LOAD: every user from the aclfile, or an error and no change.
    public func loadACLFile() throws(CommandError) {
        guard let path = aclFile else {
            throw CommandError(.generic, "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.")
        }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw CommandError(.generic, "ERR Error loading ACLs, opening file '\(path)': \(error.localizedDescription)")
        }
        replaceUsers(try ACLFile.parse(text, path: path, table: commands))
    }

    /// ACL SAVE: every user to the aclfile, written to a temporary file
    /// and renamed over it.
    public func saveACLFile() throws(CommandError) {
        guard let path = aclFile else {
            throw CommandError(.generic, "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.")
        }
        do {
            try AtomicFile.write(ACLFile.render(users), to: path)
        } catch {
            throw CommandError(.generic, "ERR There was an error trying to save the ACLs. Please check the server logs for more information")
        }
    }

    /// Reads the token file at start-up; tokens of unknown users are dropped.
    public func loadTokens() throws {
        guard let path = state.withLock({ $0.tokenFile }), FileManager.default.fileExists(atPath: path) else { return }
        let tokens = try ACLToken.parseFile(try String(contentsOfFile: path, encoding: .utf8))
        state.withLock { state in
            for token in tokens where state.users[token.user] != nil {
                if let digest = ACLDigest(hex: token.hash) { state.tokens[digest] = token }
            }
        }
    }

    /// Writes the token hashes, when a token file is configured; a failure
    /// is logged in ACL LOG's place of last resort, the server log.
    private func saveTokens() {
        let (path, tokens) = state.withLock { ($0.tokenFile, Array($0.tokens.values)) }
        guard let path else { return }
        try? AtomicFile.write(ACLToken.renderFile(tokens.sorted { $0.createdMilliseconds < $1.createdMilliseconds }), to: path)
    }
}

/// Random hex for token ids and secrets and `ACL GENPASS`.
enum RandomHex {
    static func make(bytes count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(count * 2)
        for _ in 0..<count {
            let byte = UInt8.random(in: 0...255, using: &generator)
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Writes a whole file through a temporary file and a rename, mode 0600.
enum AtomicFile {
    static func write(_ text: String, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown)
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw CocoaError(.fileWriteUnknown)
        }
    }
}
