/// Typed access to collection values, with Redis's rules in one place:
/// a key holding another type is WRONGTYPE, a write to a missing key creates
/// the collection, and a collection that becomes empty is deleted.
extension Database {
    /// The collection under `key` for reading; nil when the key is missing.
    public func read<C: CollectionValue>(_ type: C.Type, _ key: Bytes) throws(CommandError) -> C? {
        guard let entry = lookupRead(key) else { return nil }
        guard let collection = C.peek(entry.value) else { throw .wrongType }
        return collection
    }

    /// Mutates the collection under `key` in place. When the key is missing
    /// `body` runs on a new empty collection if `create`, else is skipped
    /// (returns nil). The key is deleted if the collection ends up empty;
    /// `emptied` tells the caller so it can emit the `del` event.
    public func modify<C: CollectionValue, R>(
        _ type: C.Type, _ key: Bytes, create: Bool,
        _ body: (inout C) throws(CommandError) -> R
    ) throws(CommandError) -> R? {
        if let slot = liveSlot(key) {
            let (result, isEmpty) = try keyspace.modifyValue(atSlot: slot) { value throws(CommandError) -> (R, Bool) in
                guard var collection = C.take(&value) else { throw .wrongType }
                defer { value = collection.wrapped }
                let result = try body(&collection)
                collection.shrinkToFit()
                return (result, collection.isEmpty)
            }
            if isEmpty {
                keyspace.remove(atSlot: slot)
                didWrite(key, .del)
            }
            return result
        }
        guard create else { return nil }
        var collection = C()
        let result = try body(&collection)
        collection.shrinkToFit()
        if !collection.isEmpty {
            keyspace.insert(key, collection.wrapped)
        }
        return result
    }

    /// Checks the type without counting a hit or miss (for destination keys).
    public func checkType<C: CollectionValue>(_ type: C.Type, _ key: Bytes) throws(CommandError) {
        guard let slot = liveSlot(key) else { return }
        if C.peek(keyspace[slot: slot].value) == nil { throw .wrongType }
    }

    /// Replaces whatever is under `key` with `collection` (STORE commands),
    /// or deletes the key when the collection is empty. Keeps no TTL.
    public func replace<C: CollectionValue>(_ key: Bytes, with collection: C) {
        deleteKey(key)
        var collection = collection
        collection.shrinkToFit()
        if !collection.isEmpty { keyspace.insert(key, collection.wrapped) }
    }
}
