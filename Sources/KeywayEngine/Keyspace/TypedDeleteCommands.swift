/// KEYWAY.DELTYPE: delete a key only if it holds the type the caller names,
/// checked and deleted under one lock acquisition.
///
/// The resource API's `DELETE /v1/hashes/{key}` (and lists, sets,
/// leaderboards, streams) must refuse a key of another type with 409, not
/// delete it. Checking the type in one command and deleting in a second
/// would let another client replace the key in between, so the check and
/// the delete are one command. Redis has no such command, hence the
/// `KEYWAY.` prefix; it logs a plain `DEL` to the AOF and emits `del`.
enum TypedDeleteCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("keyway.deltype", arity: 3, flags: [.write, .fast], handler: deleteTyped),
    ]

    /// KEYWAY.DELTYPE key type: 1 deleted, 0 no such key, WRONGTYPE when the
    /// key holds another type. `type` is a TYPE reply word (`hash`, `list`,
    /// `set`, `zset`, `stream`, `string`); an unknown word is a syntax error.
    static func deleteTyped(_ c: CommandContext) throws(CommandError) -> Reply {
        let key = c[1]
        let expected = c[2].lowercasedASCII
        guard TypedDelete.knownTypes.contains(expected) else {
            throw CommandError(.syntax, "ERR unknown type '\(c[2].text)'; use string, list, set, zset, hash or stream")
        }
        guard let slot = c.db.liveSlot(key) else { return .integer(0) }
        guard c.db.keyspace[slot: slot].value.typeName == expected else { throw .wrongType }
        c.db.deleteKey(key)
        c.db.didWrite(key, .del)
        c.propagate(argv("DEL", key))
        return .integer(1)
    }

}

/// What KEYWAY.DELTYPE takes, shared with backends that run it otherwise.
public enum TypedDelete {
    /// The TYPE reply words a typed delete may name.
    public static let knownTypes: Set<String> = ["string", "list", "set", "zset", "hash", "stream"]
}
