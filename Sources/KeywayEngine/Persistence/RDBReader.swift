/// What a snapshot held: its keys (those not expired at load time), plus
/// facts about the file.
public struct RDBSnapshot: Sendable {
    public var version: Int
    /// AUX fields (`redis-ver`, `ctime`, ...), in file order.
    public var aux: [(key: Bytes, value: Bytes)] = []
    public var keyspace = Keyspace()
    /// Keys left out because their deadline had passed (or every field of
    /// a hash had expired).
    public var expiredKeysSkipped = 0
    /// Keys in databases other than 0, which Keyway (one database) ignores.
    public var keysInOtherDatabases = 0
    /// Empty collections in the file, skipped as Redis skips them.
    public var emptyKeysSkipped = 0

    /// Keys whose hash has fields with TTLs: a database loading the snapshot
    /// must track them for active field expiry.
    public var keysWithVolatileFields: [Bytes] {
        keyspace.entries.compactMap { entry in entry.holdsHashWithVolatileFields ? entry.key : nil }
    }
}

/// Reads RDB snapshots: Keyway's own, and `dump.rdb` files written by Redis
/// 7.0 (and the encodings of 7.2/7.4 listed below), RDB versions 1 to 12.
///
/// Value types read: string (raw, int8/16/32, LZF), list (1), set (2),
/// zset (3), hash (4), zset_2 (5), list/zset/hash ziplists (10, 12, 13),
/// intset (11), quicklist (14), stream listpacks (15, 19, 21), hash, zset
/// and set listpacks (16, 17, 20), quicklist_2 (18), hash metadata (24) and
/// hash listpack-ex (25) with field TTLs. Module types and pre-GA 7.4 hash
/// encodings are rejected with the type number and offset.
///
/// The CRC64 trailer is verified (when not zero, as Redis skips a zero
/// checksum). Keys whose deadline is at or before `now` are skipped, and so
/// are hash fields whose TTL has passed.
public enum RDBReader {
    public static func load(bytes: [UInt8], now: Int64) throws(RDBError) -> RDBSnapshot {
        // Check the checksum first, but report a structural error (with its
        // offset) when there is one: it says more than "checksum mismatch".
        var checksumProblem: RDBError?
        if bytes.count >= 9 + 8 {
            let stored = bytes[(bytes.count - 8)...].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << UInt64(8 * $1.offset) }
            if let version = Int(String(decoding: bytes[5..<9], as: UTF8.self)), version >= 5, stored != 0 {
                let computed = CRC64.checksum(bytes[..<(bytes.count - 8)])
                if computed != stored {
                    checksumProblem = RDBError(
                        "checksum mismatch: file says 0x\(String(stored, radix: 16)), content hashes to 0x\(String(computed, radix: 16)) (corrupt or truncated file)",
                        offset: bytes.count - 8)
                }
            }
        }
        do throws(RDBError) {
            var parser = Parser(decoder: RDBDecoder(bytes), now: now)
            let snapshot = try parser.parse()
            if let checksumProblem { throw checksumProblem }
            return snapshot
        } catch {
            if let checksumProblem, error != checksumProblem {
                throw RDBError("\(error.message) (and the checksum does not match: corrupt file)", offset: error.offset)
            }
            throw error
        }
    }

    struct Parser {
        var decoder: RDBDecoder
        let now: Int64
        var version = 0

        init(decoder: RDBDecoder, now: Int64) {
            self.decoder = decoder
            self.now = now
        }

        mutating func parse() throws(RDBError) -> RDBSnapshot {
            let magic = try decoder.take(5)
            guard magic.elementsEqual("REDIS".utf8) else {
                throw RDBError("not an RDB file (no REDIS magic)", offset: 0)
            }
            let digits = try decoder.take(4)
            guard digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let version = Int(String(decoding: digits, as: UTF8.self)) else {
                throw RDBError("invalid RDB version digits", offset: 5)
            }
            guard version >= 1 && version <= RDBFormat.maxSupportedVersion else {
                throw RDBError("unsupported RDB version \(version) (this reader handles 1 to \(RDBFormat.maxSupportedVersion))", offset: 5)
            }
            self.version = version
            var snapshot = RDBSnapshot(version: version)
            var database = 0
            var expiresAt = Keyspace.Entry.persistent
            while true {
                let opcodeOffset = decoder.position
                let opcode = try decoder.byte()
                switch opcode {
                case RDBFormat.Opcode.eof:
                    if version >= 5 {
                        guard decoder.remaining == 8 else {
                            throw RDBError(decoder.remaining < 8 ? "truncated checksum after EOF" : "\(decoder.remaining - 8) unexpected bytes after the checksum",
                                           offset: decoder.position)
                        }
                    } else if decoder.remaining != 0 {
                        throw RDBError("unexpected bytes after EOF", offset: decoder.position)
                    }
                    return snapshot
                case RDBFormat.Opcode.selectDB:
                    database = Int(try decoder.length())
                case RDBFormat.Opcode.resizeDB:
                    // Key and expiry counts: hints, used to size the index once.
                    let keys = try decoder.length()
                    _ = try decoder.length()
                    if database == 0 && keys < 1 << 32 { snapshot.keyspace.reserveCapacity(Int(keys)) }
                case RDBFormat.Opcode.aux:
                    let key = try decoder.bytesValue()
                    let value = try decoder.bytesValue()
                    snapshot.aux.append((key, value))
                case RDBFormat.Opcode.expireTimeMS:
                    expiresAt = try decoder.milliseconds()
                case RDBFormat.Opcode.expireTime:
                    expiresAt = Int64(Int32(bitPattern: UInt32(try decoder.littleEndian(4)))) * 1000
                case RDBFormat.Opcode.idle:
                    _ = try decoder.length()
                case RDBFormat.Opcode.freq:
                    _ = try decoder.byte()
                case RDBFormat.Opcode.slotInfo:
                    _ = try decoder.length(); _ = try decoder.length(); _ = try decoder.length()
                case RDBFormat.Opcode.function2:
                    _ = try decoder.string() // a function library's code: Keyway has no functions
                case RDBFormat.Opcode.functionPreGA, RDBFormat.Opcode.moduleAux:
                    throw RDBError("unsupported opcode \(opcode) (\(opcode == RDBFormat.Opcode.moduleAux ? "module aux data" : "pre-GA functions"))", offset: opcodeOffset)
                case RDBFormat.ValueType.string:
                    let deadline = expiresAt
                    expiresAt = Keyspace.Entry.persistent
                    try readStringKey(into: &snapshot, database: database, deadline: deadline, offset: opcodeOffset)
                default:
                    let key = try decoder.bytesValue()
                    let value = try readValue(type: opcode, typeOffset: opcodeOffset)
                    let deadline = expiresAt
                    expiresAt = Keyspace.Entry.persistent
                    guard let value else {
                        snapshot.emptyKeysSkipped += 1
                        continue
                    }
                    if database != 0 {
                        snapshot.keysInOtherDatabases += 1
                        continue
                    }
                    if deadline != Keyspace.Entry.persistent && deadline <= now {
                        snapshot.expiredKeysSkipped += 1
                        continue
                    }
                    if case .hash(let hash) = value, hash.isEmpty {
                        snapshot.expiredKeysSkipped += 1 // every field had expired
                        continue
                    }
                    guard snapshot.keyspace.insertNew(key, value, expiresAt: deadline) != nil else {
                        throw RDBError("duplicate key '\(key.text)'", offset: opcodeOffset)
                    }
                }
            }
        }

        /// Decoded strings that were not stored raw (LZF, integers), reused.
        private var keyScratch: [UInt8] = []
        private var valueScratch: [UInt8] = []

        /// A string key, most of a typical file: its key and value go from
        /// the file's bytes (or a reused scratch buffer) straight into their
        /// entry, with no array for either on the way.
        mutating func readStringKey(into snapshot: inout RDBSnapshot, database: Int, deadline: Int64, offset: Int) throws(RDBError) {
            let keyRange = try decoder.stringInPlace(&keyScratch)
            let valueRange = try decoder.stringInPlace(&valueScratch)
            if database != 0 {
                snapshot.keysInOtherDatabases += 1
                return
            }
            if deadline != Keyspace.Entry.persistent && deadline <= now {
                snapshot.expiredKeysSkipped += 1
                return
            }
            let inserted = decoder.withString(keyRange, keyScratch) { key in
                decoder.withString(valueRange, valueScratch) { value in
                    snapshot.keyspace.insertNewString(key, value, expiresAt: deadline) != nil
                }
            }
            guard inserted else {
                throw RDBError("duplicate key '\(decoder.withString(keyRange, keyScratch) { Bytes(Array($0)) }.text)'", offset: offset)
            }
        }

        /// A value of `type`; nil for an empty collection.
        mutating func readValue(type: UInt8, typeOffset: Int) throws(RDBError) -> Value? {
            typealias T = RDBFormat.ValueType
            switch type {
            case T.string:
                return .string(try decoder.bytesValue())
            case T.list:
                let count = try decoder.count()
                var elements: [Bytes] = []
                elements.reserveCapacity(count)
                for _ in 0..<count { elements.append(try decoder.bytesValue()) }
                return count == 0 ? nil : .list(ListValue(elements))
            case T.set:
                let count = try decoder.count()
                var set = SetValue()
                set.reserveCapacity(count)
                for _ in 0..<count {
                    let at = decoder.position
                    guard set.insert(try decoder.bytesValue()) else { throw RDBError("duplicate set member", offset: at) }
                }
                set.shrinkToFit()
                return set.isEmpty ? nil : .set(set)
            case T.zset, T.zset2:
                let count = try decoder.count()
                var zset = SortedSetValue()
                zset.reserveCapacity(count)
                for _ in 0..<count {
                    let at = decoder.position
                    let member = try decoder.bytesValue()
                    let score = type == T.zset2 ? try decoder.binaryDouble() : try stringDouble()
                    guard !score.isNaN else { throw RDBError("NaN score in sorted set", offset: at) }
                    guard zset.set(member, score: score) == .added else { throw RDBError("duplicate sorted set member", offset: at) }
                }
                return zset.isEmpty ? nil : zset.wrapped
            case T.hash:
                let count = try decoder.count()
                var hash = HashValue()
                for _ in 0..<count {
                    let at = decoder.position
                    let field = try decoder.bytesValue()
                    guard hash.set(field, try decoder.bytesValue()) else { throw RDBError("duplicate hash field", offset: at) }
                }
                hash.shrinkToFit()
                return hash.isEmpty ? nil : .hash(hash)
            case T.hashMetadata, T.hashListpackEx:
                return try readHashWithFieldTTLs(type: type)
            case T.setIntset:
                let at = decoder.position
                let blob = try decoder.string()
                let values = try Intset.decode(blob, offset: at)
                return values.isEmpty ? nil : .set(SetValue(values.map(RDBInteger.bytes)))
            case T.listZiplist, T.zsetZiplist, T.hashZiplist, T.hashListpack, T.zsetListpack, T.setListpack:
                let at = decoder.position
                let blob = try decoder.string()
                let isZiplist = type == T.listZiplist || type == T.zsetZiplist || type == T.hashZiplist
                let elements = isZiplist ? try Ziplist.decode(blob, offset: at) : try Listpack.decode(blob, offset: at)
                switch type {
                case T.listZiplist:
                    return elements.isEmpty ? nil : .list(ListValue(elements.map(\.bytes)))
                case T.setListpack:
                    var set = SetValue()
                    for element in elements {
                        guard set.insert(element.bytes) else { throw RDBError("duplicate set member in listpack", offset: at) }
                    }
                    set.shrinkToFit()
                    return set.isEmpty ? nil : .set(set)
                case T.zsetZiplist, T.zsetListpack:
                    guard elements.count % 2 == 0 else { throw RDBError("sorted set listpack has an odd element count", offset: at) }
                    var zset = SortedSetValue()
                    for pair in stride(from: 0, to: elements.count, by: 2) {
                        guard let score = Self.double(elements[pair + 1]) else {
                            throw RDBError("invalid score in sorted set listpack", offset: at)
                        }
                        guard zset.set(elements[pair].bytes, score: score) == .added else {
                            throw RDBError("duplicate sorted set member in listpack", offset: at)
                        }
                    }
                    return zset.isEmpty ? nil : zset.wrapped
                default: // hashes
                    guard elements.count % 2 == 0 else { throw RDBError("hash listpack has an odd element count", offset: at) }
                    var hash = HashValue()
                    for pair in stride(from: 0, to: elements.count, by: 2) {
                        guard hash.set(elements[pair].bytes, elements[pair + 1].bytes) else {
                            throw RDBError("duplicate hash field in listpack", offset: at)
                        }
                    }
                    hash.shrinkToFit()
                    return hash.isEmpty ? nil : .hash(hash)
                }
            case T.listQuicklist, T.listQuicklist2:
                let nodes = try decoder.count()
                var elements: [Bytes] = []
                for _ in 0..<nodes {
                    var container = RDBFormat.QuicklistContainer.packed
                    if type == T.listQuicklist2 {
                        let at = decoder.position
                        container = try decoder.length()
                        guard container == RDBFormat.QuicklistContainer.packed || container == RDBFormat.QuicklistContainer.plain else {
                            throw RDBError("invalid quicklist container \(container)", offset: at)
                        }
                    }
                    let at = decoder.position
                    let blob = try decoder.string()
                    if container == RDBFormat.QuicklistContainer.plain {
                        elements.append(Bytes(blob))
                    } else if type == T.listQuicklist2 {
                        elements.append(contentsOf: try Listpack.decode(blob, offset: at).map(\.bytes))
                    } else {
                        elements.append(contentsOf: try Ziplist.decode(blob, offset: at).map(\.bytes))
                    }
                }
                return elements.isEmpty ? nil : .list(ListValue(elements))
            case T.streamListpacks, T.streamListpacks2, T.streamListpacks3:
                return .stream(try readStream(type: type))
            case T.module2:
                return try RDBJSONModule.read(from: &decoder, typeOffset: typeOffset)
            case T.modulePreGA:
                throw RDBError("module value type \(type) is not supported", offset: typeOffset)
            default:
                throw RDBError("unknown value type \(type)", offset: typeOffset)
            }
        }

        /// `rdbLoadDoubleValue`: a length byte (253 NaN, 254 +inf, 255 -inf) and ASCII.
        mutating func stringDouble() throws(RDBError) -> Double {
            let at = decoder.position
            let length = try decoder.byte()
            switch length {
            case 253: return .nan
            case 254: return .infinity
            case 255: return -.infinity
            default:
                let text = String(decoding: try decoder.take(Int(length)), as: UTF8.self)
                guard let value = Double(text) else { throw RDBError("invalid double '\(text)'", offset: at) }
                return value
            }
        }

        static func double(_ element: ListpackElement) -> Double? {
            switch element {
            case .integer(let value): return Double(value)
            case .string(let data):
                let text = String(decoding: data, as: UTF8.self)
                switch text.lowercased() {
                case "inf", "+inf", "infinity", "+infinity": return .infinity
                case "-inf", "-infinity": return -.infinity
                default:
                    guard let value = Double(text), !value.isNaN else { return nil }
                    return value
                }
            }
        }

        /// HASH_METADATA: min deadline (ms), count, then per field a TTL
        /// (0 none, else deadline - min + 1), the field and the value.
        /// HASH_LISTPACK_EX: min deadline, then a listpack of
        /// field/value/deadline triples (deadline 0: none).
        mutating func readHashWithFieldTTLs(type: UInt8) throws(RDBError) -> Value? {
            let minimum = try decoder.milliseconds()
            var hash = HashValue()
            func add(_ field: Bytes, _ value: Bytes, deadline: Int64, at: Int) throws(RDBError) {
                if deadline != 0 && deadline <= now { return } // expired while on disk
                guard hash.set(field, value) else { throw RDBError("duplicate hash field", offset: at) }
                if deadline != 0 { hash.setExpiry(field, at: deadline) }
            }
            var sawAny = false
            if type == RDBFormat.ValueType.hashMetadata {
                let count = try decoder.count()
                for _ in 0..<count {
                    let at = decoder.position
                    let ttl = try decoder.length()
                    guard ttl < UInt64(Int64.max) else { throw RDBError("invalid field TTL", offset: at) }
                    let deadline = ttl == 0 ? 0 : minimum &+ Int64(ttl) &- 1
                    let field = try decoder.bytesValue()
                    let value = try decoder.bytesValue()
                    sawAny = true
                    try add(field, value, deadline: deadline, at: at)
                }
            } else {
                let at = decoder.position
                let elements = try Listpack.decode(try decoder.string(), offset: at)
                guard elements.count % 3 == 0 else { throw RDBError("hash listpack-ex is not made of triples", offset: at) }
                for triple in stride(from: 0, to: elements.count, by: 3) {
                    guard let deadline = elements[triple + 2].integerValue else {
                        throw RDBError("invalid field TTL in hash listpack-ex", offset: at)
                    }
                    sawAny = true
                    try add(elements[triple].bytes, elements[triple + 1].bytes, deadline: deadline, at: at)
                }
            }
            // An empty hash read as such is an empty key; one emptied by
            // expired fields is reported to the caller as an empty hash.
            hash.shrinkToFit()
            return sawAny ? .hash(hash) : nil
        }

        mutating func readStream(type: UInt8) throws(RDBError) -> StreamValue {
            typealias T = RDBFormat.ValueType
            var stream = StreamValue()
            let nodes = try decoder.count(minimumBytesEach: 2)
            var previous: StreamID?
            for _ in 0..<nodes {
                let keyOffset = decoder.position
                let key = try decoder.string()
                guard key.count == 16 else { throw RDBError("stream node key is \(key.count) bytes, not 16", offset: keyOffset) }
                var keyDecoder = RDBDecoder(key)
                let master = try keyDecoder.streamID()
                let at = decoder.position
                let elements = try Listpack.decode(try decoder.string(), offset: at)
                var index = 0
                func next() throws(RDBError) -> ListpackElement {
                    guard index < elements.count else { throw RDBError("stream listpack ends early", offset: at) }
                    defer { index += 1 }
                    return elements[index]
                }
                func integer() throws(RDBError) -> Int64 {
                    guard let value = try next().integerValue else { throw RDBError("stream listpack: expected an integer", offset: at) }
                    return value
                }
                guard !elements.isEmpty else { throw RDBError("empty listpack inside stream", offset: at) }
                let live = try integer()
                let deleted = try integer()
                let masterFieldCount = try integer()
                guard live >= 0, deleted >= 0, masterFieldCount >= 0, masterFieldCount <= Int64(elements.count) else {
                    throw RDBError("stream listpack: invalid master entry", offset: at)
                }
                var masterFields: [Bytes] = []
                for _ in 0..<masterFieldCount { masterFields.append(try next().bytes) }
                guard try integer() == 0 else { throw RDBError("stream listpack: master entry not terminated by 0", offset: at) }
                for _ in 0..<(live + deleted) {
                    let flags = try integer()
                    let msDelta = try integer()
                    let seqDelta = try integer()
                    let id = StreamID(ms: master.ms &+ UInt64(bitPattern: msDelta), seq: master.seq &+ UInt64(bitPattern: seqDelta))
                    var fields: [Bytes] = []
                    let pairs: Int64
                    if flags & RDBFormat.StreamFlag.sameFields != 0 {
                        pairs = masterFieldCount
                        for field in masterFields {
                            fields.append(field)
                            fields.append(try next().bytes)
                        }
                    } else {
                        pairs = try integer()
                        guard pairs >= 0 && pairs <= Int64(elements.count) else { throw RDBError("stream listpack: invalid field count", offset: at) }
                        for _ in 0..<(2 * pairs) { fields.append(try next().bytes) }
                    }
                    let expectedCount = flags & RDBFormat.StreamFlag.sameFields != 0 ? pairs + 3 : 2 * pairs + 4
                    guard try integer() == expectedCount else { throw RDBError("stream listpack: bad entry element count", offset: at) }
                    if flags & RDBFormat.StreamFlag.deleted != 0 { continue }
                    if let previous, id <= previous { throw RDBError("stream entry IDs not ascending", offset: at) }
                    previous = id
                    stream.entries.append(id, fields: fields)
                }
                guard index == elements.count else { throw RDBError("stream listpack has trailing elements", offset: at) }
            }
            let lengthOffset = decoder.position
            let length = try decoder.length()
            guard length == UInt64(stream.entries.count) else {
                throw RDBError("stream length \(length) disagrees with its \(stream.entries.count) entries", offset: lengthOffset)
            }
            stream.lastID = StreamID(ms: try decoder.length(), seq: try decoder.length())
            if type >= T.streamListpacks2 {
                _ = try decoder.length() // first ID: recomputed from the entries
                _ = try decoder.length()
                stream.maxDeletedID = StreamID(ms: try decoder.length(), seq: try decoder.length())
                stream.entriesAdded = Int64(bitPattern: try decoder.length())
            } else {
                stream.entriesAdded = Int64(stream.entries.count)
            }
            let groupCount = try decoder.count()
            for _ in 0..<groupCount {
                let groupOffset = decoder.position
                let name = try decoder.bytesValue()
                let lastID = StreamID(ms: try decoder.length(), seq: try decoder.length())
                var entriesRead: Int64?
                if type >= T.streamListpacks2 {
                    let raw = try decoder.length()
                    entriesRead = raw <= UInt64(Int64.max) ? Int64(raw) : nil
                }
                var group = StreamConsumerGroup(lastID: lastID, entriesRead: entriesRead)
                let pendingCount = try decoder.count(minimumBytesEach: 17)
                var pendingOrder: [StreamID] = []
                var pendingInfo: [StreamID: (time: Int64, count: Int64, consumer: Bytes?)] = [:]
                for _ in 0..<pendingCount {
                    let at = decoder.position
                    let id = try decoder.streamID()
                    let time = try decoder.milliseconds()
                    let count = Int64(bitPattern: try decoder.length())
                    guard pendingInfo[id] == nil else { throw RDBError("duplicate ID in a consumer group PEL", offset: at) }
                    pendingInfo[id] = (time, count, nil)
                    pendingOrder.append(id)
                }
                let consumerCount = try decoder.count()
                for _ in 0..<consumerCount {
                    let consumerName = try decoder.bytesValue()
                    let seen = try decoder.milliseconds()
                    let active = type >= T.streamListpacks3 ? try decoder.milliseconds() : seen
                    var consumer = StreamConsumer(seenTime: seen, activeTime: active)
                    let owned = try decoder.count(minimumBytesEach: 16)
                    for _ in 0..<owned {
                        let at = decoder.position
                        let id = try decoder.streamID()
                        guard pendingInfo[id] != nil else {
                            throw RDBError("consumer PEL entry \(id) is not in the group PEL", offset: at)
                        }
                        guard pendingInfo[id]!.consumer == nil else {
                            throw RDBError("PEL entry \(id) claimed by two consumers", offset: at)
                        }
                        pendingInfo[id]!.consumer = consumerName
                        consumer.pending[id] = true
                    }
                    group.consumers[consumerName] = consumer
                }
                for id in pendingOrder.sorted() {
                    let info = pendingInfo[id]!
                    guard let owner = info.consumer else {
                        throw RDBError("group PEL entry \(id) has no consumer", offset: groupOffset)
                    }
                    group.pending[id] = PendingEntry(consumer: owner, deliveryTime: info.time, deliveryCount: info.count)
                }
                guard stream.groups[name] == nil else { throw RDBError("duplicate consumer group", offset: groupOffset) }
                stream.groups[name] = group
            }
            return stream
        }
    }
}
