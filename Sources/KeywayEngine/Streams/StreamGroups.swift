/// A map from stream IDs to values that can also be walked in ID order: the
/// shape of a pending entries list (PEL).
///
/// Lookups, inserts and removals by ID go through a dictionary: O(1), which
/// XACK, XCLAIM and delivery need per ID. Ordered walks (XPENDING,
/// XAUTOCLAIM, history reads) use a sorted array of IDs found by binary
/// search: O(log n) to the start, then sequential. Removal is lazy: an ID
/// leaves the dictionary at once and stays in the array as a stale slot that
/// walks skip, until stale slots outnumber live ones and the array is
/// compacted (amortised O(1) per removal). Inserts are appends in the
/// common case, because deliveries happen in ID order; an out-of-order
/// insert (XCLAIM moving an older entry to a consumer, FORCE) shifts the
/// array tail, a memmove that is cheap at PEL sizes. A balanced tree would
/// bound that worst case too, but costs an allocation per entry and a
/// pointer chase per step on every walk, which this layout avoids.
public struct OrderedIDIndex<Value: Sendable>: Sendable {
    public private(set) var values: [StreamID: Value] = [:]
    /// Ascending, no duplicates; may hold IDs no longer in `values`.
    private var order: [StreamID] = []
    private var stale = 0

    public init() {}

    public var count: Int { values.count }
    public var isEmpty: Bool { values.isEmpty }

    public subscript(id: StreamID) -> Value? {
        get { values[id] }
        set {
            if let newValue { insert(id, newValue) } else { remove(id) }
        }
    }

    private func lowerBound(_ id: StreamID) -> Int {
        var low = 0, high = order.count
        while low < high {
            let mid = (low + high) / 2
            if order[mid] < id { low = mid + 1 } else { high = mid }
        }
        return low
    }

    mutating func insert(_ id: StreamID, _ value: Value) {
        if values.updateValue(value, forKey: id) != nil { return }
        if let last = order.last, last < id {
            order.append(id)
            return
        }
        let index = lowerBound(id)
        if index < order.count && order[index] == id {
            stale -= 1 // a stale slot comes back to life
        } else {
            order.insert(id, at: index)
        }
    }

    @discardableResult
    mutating func remove(_ id: StreamID) -> Value? {
        guard let removed = values.removeValue(forKey: id) else { return nil }
        stale += 1
        if stale > 32 && stale > values.count {
            order.removeAll { values[$0] == nil }
            stale = 0
        }
        return removed
    }

    /// Calls `body` for each live ID in `start...end`, ascending, until it returns false.
    public func forEach(from start: StreamID = .zero, through end: StreamID = .max,
                        _ body: (StreamID, Value) throws(CommandError) -> Bool) throws(CommandError) {
        var index = lowerBound(start)
        while index < order.count {
            let id = order[index]
            if id > end { return }
            if let value = values[id], try !body(id, value) { return }
            index += 1
        }
    }

    /// The live IDs in `start...end`, ascending, at most `limit` of them.
    public func ids(from start: StreamID = .zero, through end: StreamID = .max, limit: Int = .max) -> [StreamID] {
        var result: [StreamID] = []
        guard limit > 0 else { return result }
        try? forEach(from: start, through: end) { id, _ in
            result.append(id)
            return result.count < limit
        }
        return result
    }

    public var firstID: StreamID? { ids(limit: 1).first }

    public var lastID: StreamID? {
        var index = order.count - 1
        while index >= 0 {
            if values[order[index]] != nil { return order[index] }
            index -= 1
        }
        return nil
    }
}

/// A delivered, not yet acknowledged entry in a group's PEL.
public struct PendingEntry: Sendable, Equatable {
    public var consumer: Bytes
    /// Engine-clock ms of the last delivery.
    public var deliveryTime: Int64
    public var deliveryCount: Int64
}

public struct StreamConsumer: Sendable {
    /// Last time the consumer tried to read or claim (XINFO's seen-time / idle).
    public var seenTime: Int64
    /// Last time it actually got entries (active-time / inactive); -1 never.
    public var activeTime: Int64 = -1
    /// This consumer's share of the group PEL; details live in the group's.
    public var pending = OrderedIDIndex<Bool>()
}

/// A consumer group: where it has read to, its pending entries, its consumers.
public struct StreamConsumerGroup: Sendable {
    /// last-delivered-id: `>` reads start after it.
    public var lastID: StreamID
    /// entries-read: the logical counter of `lastID`; nil when unknown.
    public var entriesRead: Int64?
    public var pending = OrderedIDIndex<PendingEntry>()
    public var consumers: [Bytes: StreamConsumer] = [:]

    init(lastID: StreamID, entriesRead: Int64?) {
        self.lastID = lastID
        self.entriesRead = entriesRead
    }

    /// Consumers in name order, as Redis lists them (its radix tree order).
    public var consumerNames: [Bytes] { consumers.keys.sorted() }

    /// Makes sure the consumer exists; true when it was created.
    @discardableResult
    mutating func ensureConsumer(_ name: Bytes, now: Int64) -> Bool {
        if consumers[name] != nil { return false }
        consumers[name] = StreamConsumer(seenTime: now)
        return true
    }

    /// Records a delivery of `id` to `consumer` (which must exist), taking
    /// the entry away from another consumer that had it.
    mutating func deliver(_ id: StreamID, to consumer: Bytes, now: Int64, count: Int64 = 1) {
        if let previous = pending[id], previous.consumer != consumer {
            consumers[previous.consumer]?.pending.remove(id)
        }
        pending[id] = PendingEntry(consumer: consumer, deliveryTime: now, deliveryCount: count)
        consumers[consumer]?.pending[id] = true
    }

    /// Removes `id` from the PELs; false when it was not pending.
    @discardableResult
    mutating func acknowledge(_ id: StreamID) -> Bool {
        guard let entry = pending.remove(id) else { return false }
        consumers[entry.consumer]?.pending.remove(id)
        return true
    }

    /// Deletes a consumer and its pending entries; returns how many it had.
    mutating func removeConsumer(_ name: Bytes) -> Int? {
        guard let consumer = consumers.removeValue(forKey: name) else { return nil }
        for id in consumer.pending.values.keys { pending.remove(id) }
        return consumer.pending.count
    }
}
