/// Serializes a keyspace as a Redis RDB snapshot.
///
/// The file is what Redis 7.0 writes (RDB version 10) unless some hash has
/// fields with their own TTLs: those need Redis 7.4's `HASH_METADATA` type,
/// and the file is then version 12. Encodings written:
/// - strings: type 0 (integer-encoded when canonical 32-bit integers,
///   LZF-compressed when longer than 20 bytes and that saves space);
/// - lists: `LIST_QUICKLIST_2` of packed listpack nodes;
/// - sets: `SET_INTSET` when every member is an integer (and there are at
///   most 512, Redis's `set-max-intset-entries`), else the plain type 2;
/// - sorted sets: `ZSET_2` (binary doubles);
/// - hashes: plain type 4, or `HASH_METADATA` with per-field TTLs;
/// - streams: `STREAM_LISTPACKS_2`, with consumer groups and their PELs.
/// Keys already expired at `now` (deadline <= now), and hash fields
/// expired at `now`, are left out.
public enum RDBWriter {
    public struct Options: Sendable {
        /// LZF-compress long strings, as Redis's `rdbcompression yes`.
        public var compressStrings: Bool
        /// Max elements per list node and per stream node.
        public var listNodeEntries: Int
        public var streamNodeEntries: Int

        public init(compressStrings: Bool = true, listNodeEntries: Int = 128, streamNodeEntries: Int = 100) {
            self.compressStrings = compressStrings
            self.listNodeEntries = listNodeEntries
            self.streamNodeEntries = streamNodeEntries
        }
    }

    /// What the snapshot of `keyspace` at `now` will hold.
    public struct Summary: Sendable, Equatable {
        public var keys = 0
        public var keysWithExpiry = 0
        public var usesFieldExpiry = false
        public var version: Int { usesFieldExpiry ? RDBFormat.version7_4 : RDBFormat.version7_0 }
    }

    public static func summarize(_ keyspace: Keyspace, now: Int64) -> Summary {
        var summary = Summary()
        for entry in keyspace.entries where isLive(entry, now: now) {
            summary.keys += 1
            if entry.hasExpiry { summary.keysWithExpiry += 1 }
            // `holdsHashWithVolatileFields` first: `value` copies a string out.
            if entry.holdsHashWithVolatileFields, case .hash(let hash) = entry.value,
               hash.fieldExpiries.values.contains(where: { $0 > now }) {
                summary.usesFieldExpiry = true
            }
        }
        return summary
    }

    /// Whether the entry goes into the snapshot: not expired, and not a hash
    /// whose every field has expired.
    static func isLive(_ entry: Keyspace.Entry, now: Int64) -> Bool {
        if entry.hasExpiry && entry.expiresAt <= now { return false }
        if entry.holdsHashWithVolatileFields, case .hash(let hash) = entry.value {
            return hash.fieldNames.contains { field in (hash.expiry(of: field) ?? .max) > now }
        }
        return true
    }

    /// The whole snapshot in memory.
    public static func write(_ keyspace: Keyspace, now: Int64, options: Options = Options(), to output: inout [UInt8]) {
        var buffer: [UInt8] = []
        write(keyspace, now: now, options: options, chunkSize: 1 << 16) { chunk in buffer.append(contentsOf: chunk) }
        output.append(contentsOf: buffer)
    }

    /// Streams the snapshot to `sink` in chunks of about `chunkSize` bytes
    /// (a single large value may make one chunk bigger), so a big keyspace
    /// never needs the whole file in memory. Errors from `sink` stop the write.
    public static func write(_ keyspace: Keyspace, now: Int64, options: Options = Options(), chunkSize: Int = 1 << 20,
                             sink: ([UInt8]) throws -> Void) rethrows {
        let summary = summarize(keyspace, now: now)
        var out = RDBEncoder()
        var crc = CRC64()
        let version = summary.version
        out.raw(Array("REDIS".utf8))
        out.raw(Array(RDBFormat.versionDigits(version).utf8))
        aux(&out, "redis-ver", version == RDBFormat.version7_0 ? "7.0.0" : "7.4.0")
        aux(&out, "redis-bits", "64")
        aux(&out, "ctime", String(now / 1000))
        aux(&out, "used-mem", "0")
        aux(&out, "aof-base", "0")
        if summary.keys > 0 {
            out.byte(RDBFormat.Opcode.selectDB)
            out.length(0)
            out.byte(RDBFormat.Opcode.resizeDB)
            out.length(summary.keys)
            out.length(summary.keysWithExpiry)
        }
        for entry in keyspace.entries where isLive(entry, now: now) {
            writeEntry(entry, now: now, options: options, to: &out)
            if out.bytes.count >= chunkSize {
                crc.update(out.bytes)
                try sink(out.bytes)
                out.bytes.removeAll(keepingCapacity: true)
            }
        }
        out.byte(RDBFormat.Opcode.eof)
        crc.update(out.bytes)
        out.littleEndian64(crc.value)
        try sink(out.bytes)
    }

    private static func aux(_ out: inout RDBEncoder, _ key: String, _ value: String) {
        out.byte(RDBFormat.Opcode.aux)
        out.string(key)
        out.string(value)
    }

    static func writeEntry(_ entry: Keyspace.Entry, now: Int64, options: Options, to out: inout RDBEncoder) {
        if entry.hasExpiry {
            out.byte(RDBFormat.Opcode.expireTimeMS)
            out.milliseconds(entry.expiresAt)
        }
        // Most keys are short strings: written from the keyspace's bytes.
        let wroteString: Void? = entry.withPackedString { key, value in
            out.byte(RDBFormat.ValueType.string)
            out.string(key)
            out.string(value, compress: options.compressStrings)
        }
        if wroteString != nil { return }
        switch entry.value {
        case .string(let value):
            out.byte(RDBFormat.ValueType.string)
            out.string(entry.key)
            out.string(value, compress: options.compressStrings)
        case .list(let list):
            out.byte(RDBFormat.ValueType.listQuicklist2)
            out.string(entry.key)
            writeList(list, options: options, to: &out)
        case .set(let set):
            let members = set.members
            var integers: [Int64] = []
            if members.count <= 512 {
                integers.reserveCapacity(members.count)
                for member in members {
                    guard let integer = RDBInteger.canonical(member.storage) else { break }
                    integers.append(integer)
                }
            }
            if !members.isEmpty && integers.count == members.count {
                out.byte(RDBFormat.ValueType.setIntset)
                out.string(entry.key)
                out.string(Intset.encode(integers))
            } else {
                out.byte(RDBFormat.ValueType.set)
                out.string(entry.key)
                out.length(members.count)
                for member in members { out.string(member, compress: options.compressStrings) }
            }
        case .zset(let zset):
            out.byte(RDBFormat.ValueType.zset2)
            out.string(entry.key)
            out.length(zset.count)
            zset.forEach(fromRank: 0, count: zset.count, reversed: false) { member, score in
                out.string(member, compress: options.compressStrings)
                out.binaryDouble(score)
            }
        case .hash(let hash):
            writeHash(hash, key: entry.key, now: now, options: options, to: &out)
        case .stream(let stream):
            out.byte(RDBFormat.ValueType.streamListpacks2)
            out.string(entry.key)
            writeStream(stream, options: options, to: &out)
        case .json(let document):
            RDBJSONModule.write(document, key: entry.key, compress: options.compressStrings, to: &out)
        }
    }

    private static func writeList(_ list: ListValue, options: Options, to out: inout RDBEncoder) {
        let maxEntries = max(options.listNodeEntries, 1)
        let maxBytes = 8 * 1024
        var nodes: [[UInt8]] = []
        var node = ListpackBuilder()
        list.forEach { element in
            if node.count >= maxEntries || (node.count > 0 && node.byteSize + element.count > maxBytes) {
                nodes.append(node.bytes())
                node = ListpackBuilder()
            }
            node.append(element)
        }
        if node.count > 0 { nodes.append(node.bytes()) }
        out.length(nodes.count)
        for bytes in nodes {
            out.length(RDBFormat.QuicklistContainer.packed)
            out.string(bytes, compress: options.compressStrings)
        }
    }

    private static func writeHash(_ hash: HashValue, key: Bytes, now: Int64, options: Options, to out: inout RDBEncoder) {
        let fields = hash.entries
        guard hash.hasVolatileFields else {
            out.byte(RDBFormat.ValueType.hash)
            out.string(key)
            out.length(fields.count)
            for (field, value) in fields {
                out.string(field, compress: options.compressStrings)
                out.string(value, compress: options.compressStrings)
            }
            return
        }
        let live = fields.filter { (hash.expiry(of: $0.field) ?? .max) > now }
        let deadlines = live.compactMap { hash.expiry(of: $0.field) }
        guard let minimum = deadlines.min() else {
            // Every TTL has passed or none is left on a live field: a plain hash.
            out.byte(RDBFormat.ValueType.hash)
            out.string(key)
            out.length(live.count)
            for (field, value) in live {
                out.string(field, compress: options.compressStrings)
                out.string(value, compress: options.compressStrings)
            }
            return
        }
        out.byte(RDBFormat.ValueType.hashMetadata)
        out.string(key)
        out.milliseconds(minimum)
        out.length(live.count)
        for (field, value) in live {
            // 0 means no TTL; otherwise the deadline relative to the minimum, plus one.
            if let deadline = hash.expiry(of: field) {
                out.length(UInt64(deadline - minimum) + 1)
            } else {
                out.length(0)
            }
            out.string(field, compress: options.compressStrings)
            out.string(value, compress: options.compressStrings)
        }
    }

    private static func writeStream(_ stream: StreamValue, options: Options, to out: inout RDBEncoder) {
        // Radix-tree nodes: a listpack per run of entries, keyed by its first
        // (master) entry ID.
        var nodes: [(master: StreamID, listpack: [UInt8])] = []
        var batch: [StreamEntry] = []
        func flush() {
            guard let master = batch.first else { return }
            nodes.append((master.id, streamListpack(batch)))
            batch.removeAll(keepingCapacity: true)
        }
        var position = stream.entries.firstPosition
        while let current = position {
            batch.append(stream.entries.entry(at: current))
            if batch.count >= max(options.streamNodeEntries, 1) { flush() }
            position = stream.entries.position(after: current)
        }
        flush()

        out.length(nodes.count)
        for node in nodes {
            var key = RDBEncoder()
            key.streamID(node.master)
            out.string(key.bytes)
            out.string(node.listpack, compress: options.compressStrings)
        }
        out.length(stream.length)
        out.length(stream.lastID.ms)
        out.length(stream.lastID.seq)
        out.length(stream.firstID.ms)
        out.length(stream.firstID.seq)
        out.length(stream.maxDeletedID.ms)
        out.length(stream.maxDeletedID.seq)
        out.length(UInt64(max(stream.entriesAdded, 0)))

        let names = stream.groups.keys.sorted()
        out.length(names.count)
        for name in names {
            let group = stream.groups[name]!
            out.string(name)
            out.length(group.lastID.ms)
            out.length(group.lastID.seq)
            // Redis stores "unknown" (-1) as the 64-bit two's complement.
            out.length(group.entriesRead.map { UInt64(bitPattern: $0) } ?? UInt64.max)

            var pending: [(StreamID, PendingEntry)] = []
            try? group.pending.forEach { id, entry in
                pending.append((id, entry))
                return true
            }
            out.length(pending.count)
            var byConsumer: [Bytes: [StreamID]] = [:]
            for (id, entry) in pending {
                out.streamID(id)
                out.milliseconds(entry.deliveryTime)
                out.length(UInt64(max(entry.deliveryCount, 0)))
                byConsumer[entry.consumer, default: []].append(id)
            }
            // Every consumer a pending entry names must exist for Redis to load
            // the group; the group PEL is the authority on who owns what.
            var consumerNames = Set(group.consumers.keys)
            consumerNames.formUnion(byConsumer.keys)
            out.length(consumerNames.count)
            for consumerName in consumerNames.sorted() {
                out.string(consumerName)
                let seen = group.consumers[consumerName]?.seenTime
                    ?? pending.filter { $0.1.consumer == consumerName }.map(\.1.deliveryTime).max() ?? 0
                out.milliseconds(seen)
                let ids = byConsumer[consumerName] ?? []
                out.length(ids.count)
                for id in ids { out.streamID(id) }
            }
        }
    }

    /// One stream node: the master entry (live count, deleted count, the
    /// first entry's field names, 0), then per entry: flags, ID deltas from
    /// the master ID, the fields (or only values when the names match the
    /// master's) and the entry's element count.
    static func streamListpack(_ entries: [StreamEntry]) -> [UInt8] {
        let master = entries[0]
        let masterFields = stride(from: 0, to: master.fields.count, by: 2).map { master.fields[$0] }
        var lp = ListpackBuilder()
        lp.append(integer: Int64(entries.count))
        lp.append(integer: 0)
        lp.append(integer: Int64(masterFields.count))
        for field in masterFields { lp.append(field) }
        lp.append(integer: 0)
        for entry in entries {
            let pairs = entry.fields.count / 2
            let sameFields = pairs == masterFields.count
                && (0..<pairs).allSatisfy { entry.fields[2 * $0] == masterFields[$0] }
            lp.append(integer: sameFields ? RDBFormat.StreamFlag.sameFields : 0)
            lp.append(integer: Int64(bitPattern: entry.id.ms &- master.id.ms))
            lp.append(integer: Int64(bitPattern: entry.id.seq &- master.id.seq))
            if sameFields {
                for index in 0..<pairs { lp.append(entry.fields[2 * index + 1]) }
                lp.append(integer: Int64(pairs + 3))
            } else {
                lp.append(integer: Int64(pairs))
                for index in 0..<(2 * pairs) { lp.append(entry.fields[index]) }
                lp.append(integer: Int64(2 * pairs + 4))
            }
        }
        return lp.bytes()
    }
}

extension RDBFormat {
    /// The version as the four digits that follow `REDIS` in the magic.
    static func versionDigits(_ version: Int) -> String {
        let digits = String(version)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
