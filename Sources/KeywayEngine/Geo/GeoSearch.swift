/// GEOSEARCH, GEOSEARCHSTORE and GEORADIUS[BYMEMBER][_RO]: one parser and
/// one search behind all of them, as Redis's georadiusGeneric.
enum GeoSearch {
    enum Form {
        case search, searchStore
        case radius(store: Bool)
        case radiusByMember(store: Bool)

        var isSearch: Bool { if case .search = self { true } else if case .searchStore = self { true } else { false } }
        var allowsStoreOptions: Bool {
            switch self {
            case .radius(let store), .radiusByMember(let store): return store
            default: return false
            }
        }
    }

    enum Shape {
        case radius(meters: Double)
        case box(widthMeters: Double, heightMeters: Double)
    }

    enum Order { case none, ascending, descending }

    struct Found {
        let member: Bytes
        let score: Double
        let longitude: Double
        let latitude: Double
        let distance: Double
    }

    static func radius(_ c: CommandContext, at index: Int) throws(CommandError) -> (meters: Double, unit: Double) {
        let radius = try c.double(at: index)
        if radius < 0 { throw CommandError(.generic, "ERR radius cannot be negative") }
        let unit = try GeoCommands.unit(c[index + 1])
        return (radius * unit, unit)
    }

    static func run(_ c: CommandContext, form: Form) throws(CommandError) -> Reply {
        let sourceIndex = form.isSearch && { if case .searchStore = form { true } else { false } }() ? 2 : 1
        let set = try c.db.read(SortedSetValue.self, c[sourceIndex])
        var center: (longitude: Double, latitude: Double)?
        var shape: Shape?
        var unit: Double = 1
        var optionsStart: Int
        var storeKey: Bytes?
        var storeDistance = false
        let notAMember = CommandError(.generic, "ERR could not decode requested zset member")

        switch form {
        case .radius:
            optionsStart = 6
            center = try GeoCommands.position(c, at: 2)
            let (meters, radiusUnit) = try radius(c, at: 4)
            (shape, unit) = (.radius(meters: meters), radiusUnit)
        case .radiusByMember:
            optionsStart = 5
            if let set {
                guard let score = set.score(of: c[2]) else { throw notAMember }
                center = GeoHash.decode(score)
                let (meters, radiusUnit) = try radius(c, at: 3)
                (shape, unit) = (.radius(meters: meters), radiusUnit)
            }
        case .search:
            optionsStart = 2
        case .searchStore:
            optionsStart = 3
            storeKey = c[1]
        }

        var withDistance = false, withHash = false, withCoordinates = false, any = false
        var order = Order.none
        var count: Int64 = 0
        var fromMember = false, fromPosition = false, byRadius = false, byBox = false
        var index = optionsStart
        while index < c.argumentCount {
            let word = c[index]
            let remaining = c.argumentCount - index - 1
            if word.equalsIgnoringCase("withdist") { withDistance = true }
            else if word.equalsIgnoringCase("withhash") { withHash = true }
            else if word.equalsIgnoringCase("withcoord") { withCoordinates = true }
            else if word.equalsIgnoringCase("any") { any = true }
            else if word.equalsIgnoringCase("asc") { order = .ascending }
            else if word.equalsIgnoringCase("desc") { order = .descending }
            else if word.equalsIgnoringCase("count") && remaining >= 1 {
                count = try c.integer(at: index + 1)
                if count <= 0 { throw CommandError(.generic, "ERR COUNT must be > 0") }
                index += 1
            } else if (word.equalsIgnoringCase("store") || word.equalsIgnoringCase("storedist")) && remaining >= 1 && form.allowsStoreOptions {
                storeKey = c[index + 1]
                storeDistance = word.equalsIgnoringCase("storedist")
                index += 1
            } else if word.equalsIgnoringCase("storedist"), case .searchStore = form {
                storeDistance = true
            } else if word.equalsIgnoringCase("frommember") && remaining >= 1 && form.isSearch && !fromPosition {
                if let set {
                    guard let score = set.score(of: c[index + 1]) else { throw notAMember }
                    center = GeoHash.decode(score)
                }
                fromMember = true
                index += 1
            } else if word.equalsIgnoringCase("fromlonlat") && remaining >= 2 && form.isSearch && !fromMember {
                center = try GeoCommands.position(c, at: index + 1)
                fromPosition = true
                index += 2
            } else if word.equalsIgnoringCase("byradius") && remaining >= 2 && form.isSearch && !byRadius {
                let (meters, radiusUnit) = try radius(c, at: index + 1)
                (shape, unit) = (.radius(meters: meters), radiusUnit)
                byRadius = true
                index += 2
            } else if word.equalsIgnoringCase("bybox") && remaining >= 3 && form.isSearch && !byBox {
                let width = try c.double(at: index + 1), height = try c.double(at: index + 2)
                if width < 0 || height < 0 { throw CommandError(.generic, "ERR height or width cannot be negative") }
                unit = try GeoCommands.unit(c[index + 3])
                shape = .box(widthMeters: width * unit, heightMeters: height * unit)
                byBox = true
                index += 3
            } else {
                throw .syntax
            }
            index += 1
        }
        if storeKey != nil && (withDistance || withHash || withCoordinates) {
            let what = { if case .searchStore = form { "GEOSEARCHSTORE" } else { "STORE option in GEORADIUS" } }()
            throw CommandError(.generic, "ERR \(what) is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
        }
        if form.isSearch && fromMember == fromPosition {
            throw CommandError(.generic, "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for \(c[0].text)")
        }
        if form.isSearch && byRadius == byBox {
            throw CommandError(.generic, "ERR exactly one of BYRADIUS and BYBOX can be specified for \(c[0].text)")
        }
        if any && count == 0 { throw CommandError(.generic, "ERR the ANY argument requires COUNT argument") }

        guard let set, let center, let shape else {
            if let storeKey {
                if c.db.deleteKey(storeKey) { c.db.didWrite(storeKey, .del) }
                return .integer(0)
            }
            return .array([])
        }
        if count != 0 && order == .none && !any { order = .ascending }
        var found = search(set, center: center, shape: shape, limit: any ? Int(count) : nil)
        switch order {
        case .ascending: found.sort { $0.distance < $1.distance }
        case .descending: found.sort { $0.distance > $1.distance }
        case .none: break
        }
        if count > 0 && found.count > Int(count) { found.removeLast(found.count - Int(count)) }

        if let storeKey {
            return try store(c, found, at: storeKey, distances: storeDistance ? unit : nil, event: form.isSearch ? .geosearchstore : .georadiusstore)
        }
        let options = [withDistance, withHash, withCoordinates].filter { $0 }.count
        return .array(found.map { point in
            guard options > 0 else { return .bulk(point.member) }
            var parts: [Reply] = [.bulk(point.member)]
            if withDistance { parts.append(GeoCommands.distanceReply(point.distance, unit: unit)) }
            if withHash { parts.append(.integer(Int64(point.score))) }
            if withCoordinates { parts.append(GeoCommands.coordinateReply(point.longitude, point.latitude)) }
            return .array(parts)
        })
    }

    /// The members inside `shape` around `center`, in score order within
    /// each covering range; at most `limit` (COUNT ... ANY).
    static func search(_ set: SortedSetValue, center: (longitude: Double, latitude: Double), shape: Shape, limit: Int?) -> [Found] {
        let (halfWidth, halfHeight): (Double, Double)
        switch shape {
        case .radius(let meters): (halfWidth, halfHeight) = (meters, meters)
        case .box(let width, let height): (halfWidth, halfHeight) = (width / 2, height / 2)
        }
        let box = GeoHash.boundingBox(longitude: center.longitude, latitude: center.latitude, halfWidth: halfWidth, halfHeight: halfHeight)
        var found: [Found] = []
        for range in GeoHash.coveringRanges(longitudes: box.longitudes, latitudes: box.latitudes) {
            let low = Double(range.lowerBound), high = Double(range.upperBound)
            let start = set.countPrefix { score, _ in score < low }
            let end = set.countPrefix { score, _ in score < high }
            guard end > start else { continue }
            set.forEach(fromRank: start, count: end - start, reversed: false) { member, score in
                if let limit, found.count >= limit { return }
                let (longitude, latitude) = GeoHash.decode(score)
                let distance: Double
                switch shape {
                case .radius(let meters):
                    distance = GeoHash.distance(center.longitude, center.latitude, longitude, latitude)
                    guard distance <= meters else { return }
                case .box(let width, let height):
                    guard GeoHash.latitudeDistance(latitude, center.latitude) <= height / 2,
                          GeoHash.distance(longitude, latitude, center.longitude, latitude) <= width / 2 else { return }
                    distance = GeoHash.distance(center.longitude, center.latitude, longitude, latitude)
                }
                found.append(Found(member: member, score: score, longitude: longitude, latitude: latitude, distance: distance))
            }
        }
        return found
    }

    /// STORE / STOREDIST / GEOSEARCHSTORE: the members with their geohash
    /// scores (or distances in the request's unit) replace `key`; none
    /// deletes it.
    static func store(_ c: CommandContext, _ found: [Found], at key: Bytes, distances unit: Double?, event: KeyspaceEvent) throws(CommandError) -> Reply {
        guard !found.isEmpty else {
            if c.db.deleteKey(key) { c.db.didWrite(key, .del) }
            return .integer(0)
        }
        var result = SortedSetValue()
        for point in found { _ = result.set(point.member, score: unit.map { point.distance / $0 } ?? point.score) }
        c.db.setKey(key, .zset(result))
        c.db.didWrite(key, event)
        return .integer(Int64(found.count))
    }
}

extension KeyspaceEvent {
    static let geosearchstore = KeyspaceEvent("geosearchstore", .zset)
    static let georadiusstore = KeyspaceEvent("georadiusstore", .zset)
}
