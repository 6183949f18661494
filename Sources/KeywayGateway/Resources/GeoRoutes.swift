import KeywayEngine
import KeywayHTTP

/// `/v1/geo`: points by name and searches around a position or a member
/// ("stores near me", a delivery radius). Adding is GEOADD; searching is
/// one GEOSEARCH with distance and coordinates, answered as JSON numbers.
/// Coordinates, radii and units go to the engine as given, so their errors
/// are Redis's own.
enum GeoRoutes {
    static func register(_ routes: Routes) {
        let geo = routes.resource.group("/v1/geo/{key}")
        geo.post(add)
        geo.get("/search", search)
        geo.delete { context throws(HTTPResponse) in try context.deleteKey(ofType: "zset") }
    }

    /// GEOADD of `{"points": {"name": [lon, lat], ...}, "nx"?, "xx"?,
    /// "ch"?}`: `{"key", "added"}` (changed points too with `ch`), 201 when
    /// this created the key.
    static func add(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let object = try context.jsonObject(hint: "send {\"points\": {\"store:1\": [13.405, 52.52]}}")
        let arguments = try context.reading { () throws(FieldError) -> [Bytes] in
            let fields = Fields(json: object, request: context.request)
            var options: [Bytes] = []
            if try fields.bool("nx") { options.append("NX") }
            if try fields.bool("xx") { options.append("XX") }
            if try fields.bool("ch") { options.append("CH") }
            guard case .object(let points)? = object["points"], !points.isEmpty else {
                throw FieldError("'points' (an object of name: [longitude, latitude]) is required")
            }
            var triples: [Bytes] = []
            for (name, point) in points {
                guard case .array(let pair) = point, pair.count == 2,
                      case .number(let longitude) = pair[0], case .number(let latitude) = pair[1] else {
                    throw FieldError("point '\(name)' must be [longitude, latitude]")
                }
                triples += [Bytes(longitude), Bytes(latitude), Bytes(name)]
            }
            return options + triples
        }
        var batch = CommandBatch()
        let existed = batch.flag("EXISTS", [context.key])
        let added = batch.integer("GEOADD", [context.key] + arguments)
        let replies = try context.atomically(&batch)
        let count = try replies[added]
        return context.json(try replies[existed] ? 200 : 201) { o in
            JSONResponse.writeKey(context.key, into: &o)
            o.member("added") { $0.integer(count) }
        }
    }

    /// GEOSEARCH from `?lon=&lat=` or `?member=`, within `?radius=` or a
    /// `?width=&height=` box, in `?unit=` (m, km, ft, mi; default m),
    /// `?order=asc|desc`, `?count=`: `{"key", "unit", "members": [{"member",
    /// "distance", "coordinates": [lon, lat]}]}`. A missing key has none.
    static func search(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let request = context.request
        func query(_ name: String) -> Bytes? { request.queryString(name).map { Bytes($0) } }
        var arguments: [Bytes] = [context.key]
        if let member = query("member") {
            arguments += ["FROMMEMBER", member]
        } else if let longitude = query("lon"), let latitude = query("lat") {
            arguments += ["FROMLONLAT", longitude, latitude]
        } else {
            throw Problem.badRequest("a centre is required: ?lon=&lat= or ?member=")
        }
        let unit = query("unit") ?? "m"
        if let radius = query("radius") {
            arguments += ["BYRADIUS", radius, unit]
        } else if let width = query("width"), let height = query("height") {
            arguments += ["BYBOX", width, height, unit]
        } else {
            throw Problem.badRequest("an area is required: ?radius= or ?width=&height=")
        }
        switch request.queryString("order")?.lowercased() {
        case nil: break
        case "asc": arguments.append("ASC")
        case "desc": arguments.append("DESC")
        default: throw Problem.badRequest("'order' must be asc or desc")
        }
        if let count = query("count") { arguments += ["COUNT", count] }
        arguments += ["WITHDIST", "WITHCOORD"]
        guard case .array(let found) = try context.execute("GEOSEARCH", arguments) else {
            throw Problem.response(500, code: "INTERNAL", detail: "GEOSEARCH answered a non-array")
        }
        return context.json { o in
            JSONResponse.writeKey(context.key, into: &o)
            o.member("unit") { $0.string(unit.text.lowercased()) }
            o.member("members") { json in
                json.array(found) { json, point in
                    guard case .array(let parts) = point, parts.count == 3, case .bulk(let member) = parts[0],
                          case .bulk(let distance) = parts[1], case .array(let coordinates) = parts[2], coordinates.count == 2,
                          case .bulk(let longitude) = coordinates[0], case .bulk(let latitude) = coordinates[1] else {
                        json.null()
                        return
                    }
                    json.object { o in
                        LeaderboardRoutes.writeMember(member, base64: false, into: &o)
                        o.member("distance") { $0.raw(distance.text) }
                        o.member("coordinates") { $0.array([longitude, latitude]) { json, text in json.raw(text.text) } }
                    }
                }
            }
        }
    }
}
