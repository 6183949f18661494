#if canImport(Glibc)
import Glibc
#endif

/// Geospatial indexes: sorted sets whose scores are 52-bit geohashes
/// (`GeoHash`), so a geo key is a ZSET to every other command and in RDB
/// files. GEOADD, GEOPOS, GEODIST, GEOHASH, GEOSEARCH, GEOSEARCHSTORE and
/// the older GEORADIUS forms, with Redis 7's replies and error texts.
///
/// A search reads only the few score ranges whose cells cover the area
/// (O(log n) each, plus the members in them), then keeps the members whose
/// positions are really inside, by Redis's distance rules.
enum GeoCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("geoadd", arity: -5, flags: [.write, .denyOOM], handler: geoadd),
        CommandSpec("geopos", arity: -2, flags: [.readonly], handler: geopos),
        CommandSpec("geodist", arity: -4, flags: [.readonly], handler: geodist),
        CommandSpec("geohash", arity: -2, flags: [.readonly], handler: geohash),
        CommandSpec("geosearch", arity: -7, flags: [.readonly], handler: { c throws(CommandError) in try GeoSearch.run(c, form: .search) }),
        CommandSpec("geosearchstore", arity: -8, flags: [.write, .denyOOM], keys: (1, 2, 1), handler: { c throws(CommandError) in try GeoSearch.run(c, form: .searchStore) }),
        CommandSpec("georadius", arity: -6, flags: [.write, .denyOOM], handler: { c throws(CommandError) in try GeoSearch.run(c, form: .radius(store: true)) }),
        CommandSpec("georadius_ro", arity: -6, flags: [.readonly], handler: { c throws(CommandError) in try GeoSearch.run(c, form: .radius(store: false)) }),
        CommandSpec("georadiusbymember", arity: -5, flags: [.write, .denyOOM], handler: { c throws(CommandError) in try GeoSearch.run(c, form: .radiusByMember(store: true)) }),
        CommandSpec("georadiusbymember_ro", arity: -5, flags: [.readonly], handler: { c throws(CommandError) in try GeoSearch.run(c, form: .radiusByMember(store: false)) }),
    ]

    /// `ERR invalid longitude,latitude pair 200.000000,100.000000` (C's `%f`,
    /// whatever the magnitude).
    static func invalidPair(_ longitude: Double, _ latitude: Double) -> CommandError {
        CommandError(.generic, "ERR invalid longitude,latitude pair \(printf(longitude)),\(printf(latitude))")
    }

    static func printf(_ value: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 400)
        let length = buffer.withUnsafeMutableBufferPointer { pointer -> Int in
            withVaList([value]) { Int(vsnprintf(pointer.baseAddress, pointer.count, "%f", $0)) }
        }
        return String(decoding: buffer[0..<min(length, buffer.count - 1)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A longitude and latitude from two arguments, in range.
    static func position(_ c: CommandContext, at index: Int) throws(CommandError) -> (longitude: Double, latitude: Double) {
        let longitude = try c.double(at: index), latitude = try c.double(at: index + 1)
        guard GeoHash.isValid(longitude: longitude, latitude: latitude) else { throw invalidPair(longitude, latitude) }
        return (longitude, latitude)
    }

    /// Meters per unit: M, KM, FT, MI.
    static func unit(_ argument: Bytes) throws(CommandError) -> Double {
        if argument.equalsIgnoringCase("m") { return 1 }
        if argument.equalsIgnoringCase("km") { return 1000 }
        if argument.equalsIgnoringCase("ft") { return 0.3048 }
        if argument.equalsIgnoringCase("mi") { return 1609.34 }
        throw CommandError(.generic, "ERR unsupported unit provided. please use M, KM, FT, MI")
    }

    // MARK: - Formatting as Redis does

    /// Redis's fixed-point distance text: rounded half up to `digits`
    /// decimals (`0.0000` for zero).
    static func fixed(_ value: Double, digits: Int) -> String {
        var scale: Double = 1
        for _ in 0..<digits { scale *= 10 }
        let negative = value < 0
        guard abs(value) * scale < 1e18 else { return printf(value) }  // not a distance on Earth
        let rounded = UInt64(abs(value) * scale + 0.5)
        let whole = rounded / UInt64(scale), fraction = String(rounded % UInt64(scale))
        return (negative && rounded != 0 ? "-" : "") + "\(whole)." + String(repeating: "0", count: digits - fraction.count) + fraction
    }

    static func distanceReply(_ meters: Double, unit: Double) -> Reply { .bulk(Bytes(fixed(meters / unit, digits: 4))) }

    static func coordinateReply(_ longitude: Double, _ latitude: Double) -> Reply {
        .array([.bulk(Bytes(Parse.formatLongDouble(Parse.LongDouble(longitude)))), .bulk(Bytes(Parse.formatLongDouble(Parse.LongDouble(latitude))))])
    }

    // MARK: - Commands

    /// GEOADD key [NX|XX] [CH] longitude latitude member [...]: ZADD of the
    /// positions' scores, every pair checked before any is added.
    static func geoadd(_ c: CommandContext) throws(CommandError) -> Reply {
        var options = SortedSetCommands.AddOptions()
        var index = 2
        while index < c.argumentCount {
            if c[index].equalsIgnoringCase("nx") { options.onlyNew = true }
            else if c[index].equalsIgnoringCase("xx") { options.onlyExisting = true }
            else if c[index].equalsIgnoringCase("ch") { options.countChanged = true }
            else { break }
            index += 1
        }
        let remaining = c.argumentCount - index
        guard remaining > 0, remaining % 3 == 0, !(options.onlyNew && options.onlyExisting) else { throw .syntax }
        var points: [(score: Double, member: Bytes)] = []
        for position in stride(from: index, to: c.argumentCount, by: 3) {
            let (longitude, latitude) = try self.position(c, at: position)
            points.append((Double(GeoHash.encode(longitude: longitude, latitude: latitude)), c[position + 2]))
        }
        let key = c[1]
        var added = 0, updated = 0
        _ = try c.db.modify(SortedSetValue.self, key, create: !options.onlyExisting) { set throws(CommandError) in
            for point in points {
                let result = try SortedSetCommands.add(&set, point.member, point.score, options)
                if result.added { added += 1 }
                if result.updated { updated += 1 }
            }
        }
        if added + updated > 0 { c.db.didWrite(key, .zadd) }
        return .integer(Int64(options.countChanged ? added + updated : added))
    }

    static func geopos(_ c: CommandContext) throws(CommandError) -> Reply {
        let set = try c.db.read(SortedSetValue.self, c[1])
        return .array(c.arguments.dropFirst(2).map { member in
            guard let score = set?.score(of: member) else { return .null }
            let (longitude, latitude) = GeoHash.decode(score)
            return coordinateReply(longitude, latitude)
        })
    }

    /// GEODIST key member1 member2 [M|KM|FT|MI].
    static func geodist(_ c: CommandContext) throws(CommandError) -> Reply {
        guard c.argumentCount <= 5 else { throw .syntax }
        let unit = c.argumentCount == 5 ? try self.unit(c[4]) : 1
        guard let set = try c.db.read(SortedSetValue.self, c[1]),
              let first = set.score(of: c[2]), let second = set.score(of: c[3]) else { return .null }
        let a = GeoHash.decode(first), b = GeoHash.decode(second)
        return distanceReply(GeoHash.distance(a.longitude, a.latitude, b.longitude, b.latitude), unit: unit)
    }

    static func geohash(_ c: CommandContext) throws(CommandError) -> Reply {
        let set = try c.db.read(SortedSetValue.self, c[1])
        return .array(c.arguments.dropFirst(2).map { member in
            guard let score = set?.score(of: member) else { return .null }
            return .bulk(Bytes(GeoHash.standardString(score)))
        })
    }
}
