import DequeModule

/// One stream entry: its ID and its field/value pairs, flattened
/// (`[field1, value1, field2, value2, ...]`) in the order they were given.
public struct StreamEntry: Sendable, Equatable {
    public let id: StreamID
    public let fields: [Bytes]
}

/// The entries of a stream, in ID order, laid out for long streams.
///
/// Entries live in fixed-size chunks (100, Redis's `stream-node-max-entries`)
/// kept in a deque:
/// - an append writes to the last chunk or opens a new one: O(1) amortised;
/// - finding where a range starts is a binary search over the chunks' IDs,
///   then over the IDs inside one chunk: O(log n);
/// - trimming from the front drops whole chunks (O(1) each) and, when exact,
///   advances the first chunk's `head` past the trimmed slots; nothing is
///   copied, and approximate trimming (`~`) only ever drops whole chunks;
/// - XDEL marks a slot deleted (a tombstone) and frees its fields; a chunk
///   whose entries are all deleted leaves the deque.
/// Invariant: every chunk holds at least one live entry, and its `head`
/// slot is live, so the first entry is found in O(1).
public struct StreamEntries: Sendable {
    public static let chunkCapacity = 100

    struct Chunk: Sendable {
        var ids: [StreamID] = []
        var fields: [[Bytes]] = []
        var deleted: [Bool] = []
        /// Slots before `head` were trimmed away.
        var head = 0
        var live = 0
        /// Estimated bytes of the live entries (MemoryAccounting.swift).
        var bytes = 0

        init() {
            ids.reserveCapacity(StreamEntries.chunkCapacity)
            fields.reserveCapacity(StreamEntries.chunkCapacity)
            deleted.reserveCapacity(StreamEntries.chunkCapacity)
        }

        /// First slot at or after `head` whose ID is >= `id`.
        func lowerBound(_ id: StreamID) -> Int {
            var low = head, high = ids.count
            while low < high {
                let mid = (low + high) / 2
                if ids[mid] < id { low = mid + 1 } else { high = mid }
            }
            return low
        }

        /// First slot at or after `head` whose ID is > `id`.
        func upperBound(_ id: StreamID) -> Int {
            var low = head, high = ids.count
            while low < high {
                let mid = (low + high) / 2
                if ids[mid] <= id { low = mid + 1 } else { high = mid }
            }
            return low
        }
    }

    /// Where an entry sits: chunk index and slot inside it.
    public struct Position: Equatable, Sendable {
        var chunk: Int
        var slot: Int
    }

    private(set) var chunks: Deque<Chunk> = []
    public private(set) var count = 0
    /// Estimated bytes of the live entries, kept as they come and go.
    private var liveBytes = 0

    /// Estimated bytes: live entries plus the chunks holding them.
    public var memoryUsage: Int { liveBytes + chunks.count * MemoryCost.streamChunk }

    /// The same bytes computed from scratch.
    public func recountMemoryUsage() -> Int {
        var total = chunks.count * MemoryCost.streamChunk
        for chunk in chunks {
            for slot in chunk.head..<chunk.ids.count where !chunk.deleted[slot] {
                total += MemoryCost.streamEntry(chunk.fields[slot])
            }
        }
        return total
    }

    public init() {}

    /// Number of chunks (what XINFO reports as radix-tree keys/nodes).
    public var chunkCount: Int { chunks.count }

    // MARK: Appending

    /// Appends an entry; the caller guarantees `id` is above every ID here.
    mutating func append(_ id: StreamID, fields: [Bytes]) {
        if chunks.isEmpty || chunks[chunks.count - 1].ids.count >= Self.chunkCapacity {
            chunks.append(Chunk())
        }
        let last = chunks.count - 1
        chunks[last].ids.append(id)
        chunks[last].fields.append(fields)
        chunks[last].deleted.append(false)
        chunks[last].live += 1
        let bytes = MemoryCost.streamEntry(fields)
        chunks[last].bytes += bytes
        liveBytes += bytes
        count += 1
    }

    // MARK: Reading

    public func entry(at position: Position) -> StreamEntry {
        let chunk = chunks[position.chunk]
        return StreamEntry(id: chunk.ids[position.slot], fields: chunk.fields[position.slot])
    }

    public func id(at position: Position) -> StreamID { chunks[position.chunk].ids[position.slot] }

    public var firstPosition: Position? {
        chunks.isEmpty ? nil : Position(chunk: 0, slot: chunks[0].head)
    }

    public var lastPosition: Position? {
        guard !chunks.isEmpty else { return nil }
        return liveAtOrBefore(Position(chunk: chunks.count - 1, slot: chunks[chunks.count - 1].ids.count - 1))
    }

    public var first: StreamEntry? { firstPosition.map(entry(at:)) }
    public var last: StreamEntry? { lastPosition.map(entry(at:)) }

    /// The first live entry at or after `position` (which may be one past a chunk's end).
    private func liveAtOrAfter(_ position: Position) -> Position? {
        var chunk = position.chunk, slot = position.slot
        while chunk < chunks.count {
            let c = chunks[chunk]
            slot = Swift.max(slot, c.head)
            while slot < c.ids.count {
                if !c.deleted[slot] { return Position(chunk: chunk, slot: slot) }
                slot += 1
            }
            chunk += 1
            slot = 0
        }
        return nil
    }

    /// The last live entry at or before `position` (slot may be head - 1).
    private func liveAtOrBefore(_ position: Position) -> Position? {
        var chunk = position.chunk, slot = position.slot
        while chunk >= 0 {
            let c = chunks[chunk]
            while slot >= c.head {
                if !c.deleted[slot] { return Position(chunk: chunk, slot: slot) }
                slot -= 1
            }
            chunk -= 1
            if chunk >= 0 { slot = chunks[chunk].ids.count - 1 }
        }
        return nil
    }

    public func position(after position: Position) -> Position? {
        liveAtOrAfter(Position(chunk: position.chunk, slot: position.slot + 1))
    }

    public func position(before position: Position) -> Position? {
        liveAtOrBefore(Position(chunk: position.chunk, slot: position.slot - 1))
    }

    /// Index of the first chunk whose last ID is >= `id` (binary search).
    private func chunkIndex(atOrAbove id: StreamID) -> Int {
        var low = 0, high = chunks.count
        while low < high {
            let mid = (low + high) / 2
            if chunks[mid].ids[chunks[mid].ids.count - 1] < id { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The first live entry whose ID is >= `id`: O(log n).
    public func firstPosition(atOrAfter id: StreamID) -> Position? {
        let chunk = chunkIndex(atOrAbove: id)
        guard chunk < chunks.count else { return nil }
        return liveAtOrAfter(Position(chunk: chunk, slot: chunks[chunk].lowerBound(id)))
    }

    /// The last live entry whose ID is <= `id`: O(log n).
    public func lastPosition(atOrBefore id: StreamID) -> Position? {
        guard !chunks.isEmpty else { return nil }
        // The first chunk whose last ID is > id holds the boundary.
        var low = 0, high = chunks.count
        while low < high {
            let mid = (low + high) / 2
            if chunks[mid].ids[chunks[mid].ids.count - 1] <= id { low = mid + 1 } else { high = mid }
        }
        if low == chunks.count { return lastPosition }
        return liveAtOrBefore(Position(chunk: low, slot: chunks[low].upperBound(id) - 1))
    }

    /// The live entry with exactly this ID.
    public func position(of id: StreamID) -> Position? {
        guard let found = firstPosition(atOrAfter: id), self.id(at: found) == id else { return nil }
        return found
    }

    public func contains(_ id: StreamID) -> Bool { position(of: id) != nil }

    public func entry(_ id: StreamID) -> StreamEntry? { position(of: id).map(entry(at:)) }

    /// Entries with IDs in `start...end`, ascending (or descending from
    /// `end` when `reverse`), at most `limit` of them (nil: all).
    public func range(_ start: StreamID, _ end: StreamID, reverse: Bool = false, limit: Int? = nil) -> [StreamEntry] {
        guard start <= end, limit != 0 else { return [] }
        var result: [StreamEntry] = []
        if !reverse {
            var position = firstPosition(atOrAfter: start)
            while let p = position, id(at: p) <= end {
                result.append(entry(at: p))
                if let limit, result.count >= limit { break }
                position = self.position(after: p)
            }
        } else {
            var position = lastPosition(atOrBefore: end)
            while let p = position, id(at: p) >= start {
                result.append(entry(at: p))
                if let limit, result.count >= limit { break }
                position = self.position(before: p)
            }
        }
        return result
    }

    // MARK: Removing

    /// Deletes the live entry with this ID (XDEL); false when absent.
    @discardableResult
    mutating func remove(_ id: StreamID) -> Bool {
        guard let position = position(of: id) else { return false }
        markDeleted(position)
        settle(chunk: position.chunk)
        return true
    }

    private mutating func markDeleted(_ position: Position) {
        let bytes = MemoryCost.streamEntry(chunks[position.chunk].fields[position.slot])
        chunks[position.chunk].bytes -= bytes
        liveBytes -= bytes
        chunks[position.chunk].deleted[position.slot] = true
        chunks[position.chunk].fields[position.slot] = []
        chunks[position.chunk].live -= 1
        count -= 1
    }

    /// Restores the invariant for one chunk after deletions: drop it when
    /// empty, else move its head onto a live slot.
    private mutating func settle(chunk index: Int) {
        if chunks[index].live == 0 {
            chunks.remove(at: index)
            return
        }
        while chunks[index].deleted[chunks[index].head] {
            chunks[index].fields[chunks[index].head] = []
            chunks[index].head += 1
        }
    }

    /// Trims from the oldest entry: while `count > maxLength` (MAXLEN) or
    /// while the oldest ID is below `minID` (MINID). `approximate` drops
    /// whole chunks only; `limit` (0 = none) caps the entries removed.
    /// Entries for which `canDelete` is false are skipped (ACKED); exact
    /// trimming then goes on past them, approximate trimming stops at the
    /// first chunk it cannot drop whole. `removed` sees every deleted ID.
    mutating func trim(maxLength: Int?, minID: StreamID?, approximate: Bool, limit: Int,
                       canDelete: ((StreamID) -> Bool)?, removed: ((StreamID) -> Void)?) -> Int {
        func satisfied(next id: StreamID) -> Bool {
            if let maxLength { return count <= maxLength }
            if let minID { return id >= minID }
            return true
        }
        var total = 0
        // Whole chunks first.
        while let chunk = chunks.first {
            let wholeChunk: Bool
            if let maxLength { wholeChunk = count - chunk.live >= maxLength }
            else if let minID { wholeChunk = chunk.ids[chunk.ids.count - 1] < minID }
            else { wholeChunk = false }
            guard wholeChunk else { break }
            if limit > 0 && total + chunk.live > limit { break }
            if canDelete != nil || removed != nil {
                let liveIDs = (chunk.head..<chunk.ids.count).filter { !chunk.deleted[$0] }.map { chunk.ids[$0] }
                if let canDelete, !liveIDs.allSatisfy(canDelete) { break }
                if let removed { liveIDs.forEach(removed) }
            }
            total += chunk.live
            count -= chunk.live
            liveBytes -= chunk.bytes
            chunks.removeFirst()
        }
        if approximate { return total }
        // Then entry by entry (exact trimming has no LIMIT).
        var position = firstPosition
        var touched: [Int] = []
        while let p = position {
            let id = self.id(at: p)
            if satisfied(next: id) { break }
            if canDelete?(id) ?? true {
                markDeleted(p)
                removed?(id)
                total += 1
                if touched.last != p.chunk { touched.append(p.chunk) }
            }
            position = liveAtOrAfter(Position(chunk: p.chunk, slot: p.slot + 1))
        }
        for chunk in touched.reversed() { settle(chunk: chunk) }
        return total
    }
}

/// Gathers IDs from an escaping callback.
private final class IDCollector {
    var ids: [StreamID] = []
}

/// A Redis stream: entries, the ID bookkeeping Redis 7 keeps for consumer
/// group lag, and the consumer groups.
///
/// Unlike the other collections, an empty stream is a real value: Redis keeps
/// a stream whose last entry was deleted or trimmed (its last ID, counters
/// and groups still matter), and XGROUP CREATE ... MKSTREAM creates an empty
/// one. So `isEmpty` is always false and `Database.modify` never deletes a
/// stream; only DEL/UNLINK (and expiry) remove the key.
public struct StreamValue: CollectionValue {
    public internal(set) var entries = StreamEntries()
    /// The greatest ID ever added (or set by XSETID).
    public internal(set) var lastID = StreamID.zero
    /// How many entries were ever added (XINFO's entries-added).
    public internal(set) var entriesAdded: Int64 = 0
    /// The greatest ID deleted with XDEL (max-deleted-entry-id).
    public internal(set) var maxDeletedID = StreamID.zero
    public internal(set) var groups: [Bytes: StreamConsumerGroup] = [:]

    public init() {}

    public var isEmpty: Bool { false }
    public var length: Int { entries.count }

    /// Estimated bytes: entries (kept incrementally) plus groups, computed
    /// per group and consumer from their PEL sizes, so O(groups + consumers).
    public var memoryUsage: Int { entries.memoryUsage + groupsMemoryUsage(countingPending: { $0.count }) }

    /// The same bytes computed from scratch, walking every PEL.
    public func recountMemoryUsage() -> Int {
        entries.recountMemoryUsage() + groupsMemoryUsage(countingPending: { index in
            var live = 0
            try? index.forEach { _, _ in live += 1; return true }
            return live
        })
    }

    private func groupsMemoryUsage(countingPending count: (OrderedIDIndex<PendingEntry>) -> Int) -> Int {
        var total = 0
        for (name, group) in groups {
            total += MemoryCost.streamGroup + name.count + count(group.pending) * MemoryCost.streamPendingEntry
            for consumerName in group.consumers.keys { total += MemoryCost.streamConsumer + consumerName.count }
        }
        return total
    }
    /// recorded-first-entry-id: the first live entry's ID, 0-0 when empty.
    public var firstID: StreamID { entries.first?.id ?? .zero }

    public static func peek(_ value: Value) -> StreamValue? {
        if case .stream(let stream) = value { return stream }
        return nil
    }

    public static func take(_ value: inout Value) -> StreamValue? {
        guard case .stream(let stream) = value else { return nil }
        value = .placeholder
        return stream
    }

    public var wrapped: Value { .stream(self) }

    // MARK: Adding

    static let exhausted = CommandError(.generic, "ERR The stream has exhausted the last possible ID, unable to add more items")
    static let tooSmall = CommandError(.generic, "ERR The ID specified in XADD is equal or smaller than the target stream top item")

    /// The ID `*` gets at `now`: the clock's millisecond, or — when the clock
    /// is at or behind the last ID (it stepped back, or many adds in one ms) —
    /// the last ID's successor, so IDs stay monotonic.
    func nextAutomaticID(now: Int64) -> StreamID? {
        let ms = UInt64(Swift.max(now, 0))
        if ms > lastID.ms { return StreamID(ms: ms, seq: 0) }
        return lastID.successor
    }

    /// Appends an entry. `id` nil is `*`; `sequenceGiven` false is `ms-*`.
    mutating func add(_ id: StreamID?, sequenceGiven: Bool, fields: [Bytes], now: Int64) throws(CommandError) -> StreamID {
        if lastID == .max { throw Self.exhausted }
        let newID: StreamID
        if let id {
            if sequenceGiven {
                guard id > lastID else { throw Self.tooSmall }
                newID = id
            } else if id.ms == lastID.ms {
                guard lastID.seq < .max else { throw Self.tooSmall }
                newID = StreamID(ms: id.ms, seq: lastID.seq + 1)
            } else {
                guard id.ms > lastID.ms else { throw Self.tooSmall }
                newID = id
            }
        } else {
            guard let next = nextAutomaticID(now: now) else { throw Self.exhausted }
            newID = next
        }
        entries.append(newID, fields: fields)
        lastID = newID
        entriesAdded += 1
        return newID
    }

    // MARK: Lag bookkeeping (Redis 7)

    /// Whether an XDEL tombstone may lie in `start...` (max-deleted-entry-id
    /// inside the range): then counting entries by subtraction is unsafe.
    func hasTombstones(from start: StreamID) -> Bool {
        guard length > 0, !maxDeletedID.isZero else { return false }
        return start <= maxDeletedID
    }

    /// The logical read counter of `id`: how many entries were added up to
    /// and including it, when that can be known without scanning; nil when
    /// it cannot (an ID past the end, or tombstones in the way).
    func entriesCounter(at id: StreamID) -> Int64? {
        if entriesAdded == 0 { return 0 }
        if length == 0 && id <= lastID { return entriesAdded }
        if id == lastID { return entriesAdded }
        if id > lastID { return nil }
        let first = firstID
        if maxDeletedID.isZero || maxDeletedID < first {
            if id < first { return entriesAdded - Int64(length) }
            if id == first { return entriesAdded - Int64(length) + 1 }
        }
        return nil
    }

    /// A group's lag: entries added after what it has read; nil when unknown.
    public func lag(of group: StreamConsumerGroup) -> Int64? {
        if entriesAdded == 0 { return 0 }
        if let read = group.entriesRead, !hasTombstones(from: group.lastID) {
            return entriesAdded - read
        }
        return entriesCounter(at: group.lastID).map { entriesAdded - $0 }
    }

    /// Advances a group past a newly delivered `id`, keeping entries-read.
    mutating func markDelivered(_ id: StreamID, group name: Bytes) {
        guard var group = groups[name], id > group.lastID else { return }
        if let read = group.entriesRead, !hasTombstones(from: id) {
            group.entriesRead = read + 1
        } else if entriesAdded > 0 {
            group.entriesRead = entriesCounter(at: id)
        }
        group.lastID = id
        groups[name] = group
    }

    // MARK: Deleting with consumer group references (Redis 8.2)

    /// KEEPREF leaves pending entries alone, DELREF removes them from every
    /// group, ACKED deletes only entries no group still needs.
    public enum ReferencePolicy: Sendable {
        case keepReferences, deleteReferences, acknowledged

        init?(_ word: Bytes) {
            if word.equalsIgnoringCase("keepref") { self = .keepReferences }
            else if word.equalsIgnoringCase("delref") { self = .deleteReferences }
            else if word.equalsIgnoringCase("acked") { self = .acknowledged }
            else { return nil }
        }
    }

    /// Whether some group still needs `id`: it is pending somewhere, or a
    /// group has not been delivered that far yet.
    func isReferenced(_ id: StreamID) -> Bool { Self.isReferenced(id, by: groups) }

    static func isReferenced(_ id: StreamID, by groups: [Bytes: StreamConsumerGroup]) -> Bool {
        groups.values.contains { $0.pending[id] != nil || $0.lastID < id }
    }

    mutating func removeReferences(to id: StreamID) {
        for name in groups.keys where groups[name]!.pending[id] != nil {
            groups[name]!.acknowledge(id)
        }
    }

    /// XDEL/XDELEX of one ID: -1 not in the stream, 1 deleted, 2 kept
    /// because a group still references it (ACKED).
    mutating func delete(_ id: StreamID, policy: ReferencePolicy) -> Int64 {
        if policy == .deleteReferences { removeReferences(to: id) }
        guard entries.contains(id) else { return -1 }
        if policy == .acknowledged && isReferenced(id) { return 2 }
        entries.remove(id)
        if id > maxDeletedID { maxDeletedID = id }
        return 1
    }

    /// XTRIM / XADD trimming.
    public enum TrimStrategy: Sendable {
        case maxLength(Int64)
        case minID(StreamID)
    }

    mutating func trim(_ strategy: TrimStrategy, approximate: Bool, limit: Int64, policy: ReferencePolicy) -> Int64 {
        var maxLength: Int?
        var minID: StreamID?
        switch strategy {
        case .maxLength(let n): maxLength = Int(clamping: n)
        case .minID(let id): minID = id
        }
        // Only the groups are captured (never `self`), so trimming mutates
        // the entries in place without a copy-on-write copy.
        let groups = self.groups
        let canDelete: ((StreamID) -> Bool)? = (policy == .acknowledged && !groups.isEmpty)
            ? { !Self.isReferenced($0, by: groups) } : nil
        let collector = IDCollector()
        let collect: ((StreamID) -> Void)? = (policy == .deleteReferences && !groups.isEmpty)
            ? { collector.ids.append($0) } : nil
        let removed = entries.trim(maxLength: maxLength, minID: minID, approximate: approximate,
                                   limit: Int(clamping: limit), canDelete: canDelete, removed: collect)
        for id in collector.ids { removeReferences(to: id) }
        return Int64(removed)
    }
}
