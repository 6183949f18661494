#if canImport(Glibc)
import Glibc
#endif

/// Positions as Redis stores them: a longitude/latitude pair interleaved
/// into a 52-bit geohash (26 bits each, longitude bits above latitude bits
/// in each pair) that is the member's score in a sorted set. Latitudes are
/// limited to the Web Mercator range (±85.05112878°), and a stored position
/// reads back as the centre of its cell, so GEOPOS answers what Redis
/// answers for the same input.
enum GeoHash {
    static let steps = 26
    static let longitudeRange = (min: -180.0, max: 180.0)
    static let latitudeRange = (min: -85.05112878, max: 85.05112878)
    /// Redis's earth radius for distances (meters).
    static let earthRadius = 6372797.560856

    static func isValid(longitude: Double, latitude: Double) -> Bool {
        longitude >= longitudeRange.min && longitude <= longitudeRange.max
            && latitude >= latitudeRange.min && latitude <= latitudeRange.max
    }

    /// The cell index of a coordinate at `step` bits: its offset in the range,
    /// scaled and truncated as Redis's geohashEncode does.
    /// The range's upper bound itself gives index 2^step, one past the last
    /// cell, as in Redis (so 180° reads back as 180°).
    static func cellIndex(_ value: Double, range: (min: Double, max: Double), step: Int) -> UInt64 {
        let offset = (value - range.min) / (range.max - range.min) * Double(UInt64(1) << UInt64(step))
        return UInt64(max(offset, 0))
    }

    /// Latitude bits in the even positions, longitude bits in the odd ones.
    static func interleave(latitude: UInt64, longitude: UInt64) -> UInt64 {
        spread(latitude) | spread(longitude) << 1
    }

    static func deinterleave(_ bits: UInt64) -> (latitude: UInt64, longitude: UInt64) {
        (squash(bits), squash(bits >> 1))
    }

    private static func spread(_ value: UInt64) -> UInt64 {
        var x = value & 0xFFFF_FFFF
        x = (x | x << 16) & 0x0000_FFFF_0000_FFFF
        x = (x | x << 8) & 0x00FF_00FF_00FF_00FF
        x = (x | x << 4) & 0x0F0F_0F0F_0F0F_0F0F
        x = (x | x << 2) & 0x3333_3333_3333_3333
        x = (x | x << 1) & 0x5555_5555_5555_5555
        return x
    }

    private static func squash(_ value: UInt64) -> UInt64 {
        var x = value & 0x5555_5555_5555_5555
        x = (x | x >> 1) & 0x3333_3333_3333_3333
        x = (x | x >> 2) & 0x0F0F_0F0F_0F0F_0F0F
        x = (x | x >> 4) & 0x00FF_00FF_00FF_00FF
        x = (x | x >> 8) & 0x0000_FFFF_0000_FFFF
        x = (x | x >> 16) & 0x0000_0000_FFFF_FFFF
        return x
    }

    /// The 52-bit score of a position.
    static func encode(longitude: Double, latitude: Double,
                       latitudeRange: (min: Double, max: Double) = latitudeRange) -> UInt64 {
        interleave(latitude: cellIndex(latitude, range: latitudeRange, step: steps),
                   longitude: cellIndex(longitude, range: longitudeRange, step: steps))
    }

    /// The centre of a score's cell, clamped to the valid ranges.
    static func decode(_ score: Double) -> (longitude: Double, latitude: Double) {
        // A score not written by GEOADD (any ZADD) decodes too, never traps.
        let bits = score >= 0 && score < 18_446_744_073_709_551_616.0 ? UInt64(score) : 0
        let (latitudeCell, longitudeCell) = deinterleave(bits)
        let cells = Double(UInt64(1) << UInt64(steps))
        func centre(_ cell: UInt64, _ range: (min: Double, max: Double)) -> Double {
            let scale = range.max - range.min
            let low = range.min + (Double(cell) / cells) * scale
            let high = range.min + (Double(cell + 1) / cells) * scale
            return Swift.min(Swift.max((low + high) / 2, range.min), range.max)
        }
        return (centre(longitudeCell, longitudeRange), centre(latitudeCell, latitudeRange))
    }

    // MARK: - Distances

    static func radians(_ degrees: Double) -> Double { degrees * (Double.pi / 180) }
    static func degrees(_ radians: Double) -> Double { radians / (Double.pi / 180) }

    static func latitudeDistance(_ latitude1: Double, _ latitude2: Double) -> Double {
        earthRadius * abs(radians(latitude2) - radians(latitude1))
    }

    /// Great-circle distance (haversine) in meters, as Redis computes it.
    static func distance(_ longitude1: Double, _ latitude1: Double, _ longitude2: Double, _ latitude2: Double) -> Double {
        let v = sin((radians(longitude2) - radians(longitude1)) / 2)
        if v == 0 { return latitudeDistance(latitude1, latitude2) }
        let latitude1r = radians(latitude1), latitude2r = radians(latitude2)
        let u = sin((latitude2r - latitude1r) / 2)
        let a = u * u + cos(latitude1r) * cos(latitude2r) * v * v
        return 2 * earthRadius * asin(a.squareRoot())
    }

    // MARK: - The standard geohash string

    private static let base32 = Array("0123456789bcdefghjkmnpqrstuvwxyz".utf8)

    /// GEOHASH's 11 characters: the position encoded again over the full
    /// latitude range (±90°), as geohash.org expects; the 11th character
    /// stands for bits a 52-bit hash does not have, so it is always `0`.
    static func standardString(_ score: Double) -> String {
        let (longitude, latitude) = decode(score)
        let bits = encode(longitude: longitude, latitude: latitude, latitudeRange: (-90, 90))
        var characters: [UInt8] = []
        for index in 0..<11 {
            let value = index == 10 ? 0 : Int((bits >> UInt64(52 - (index + 1) * 5)) & 0x1F)
            characters.append(base32[value])
        }
        return String(decoding: characters, as: UTF8.self)
    }

    // MARK: - Searching

    /// Score ranges `[low, high)` whose cells together cover the box
    /// `longitudes` x `latitudes`: a few cells of the finest step at which
    /// the box spans at most 4 x 4 of them, merged where they touch. Every
    /// member positioned inside the box has its score in one of them.
    static func coveringRanges(longitudes: ClosedRange<Double>, latitudes: ClosedRange<Double>) -> [Range<UInt64>] {
        let latitudes = Swift.max(latitudes.lowerBound, latitudeRange.min)...Swift.min(latitudes.upperBound, latitudeRange.max)
        var longitudeSpans: [ClosedRange<Double>] = []
        if longitudes.upperBound - longitudes.lowerBound >= 360 {
            longitudeSpans = [longitudeRange.min...longitudeRange.max]
        } else if longitudes.lowerBound < longitudeRange.min {
            longitudeSpans = [longitudes.lowerBound + 360...longitudeRange.max, longitudeRange.min...Swift.min(longitudes.upperBound, longitudeRange.max)]
        } else if longitudes.upperBound > longitudeRange.max {
            longitudeSpans = [longitudes.lowerBound...longitudeRange.max, longitudeRange.min...longitudes.upperBound - 360]
        } else {
            longitudeSpans = [longitudes]
        }
        var ranges: [Range<UInt64>] = []
        for span in longitudeSpans {
            var step = steps
            var cells: (longitude: ClosedRange<UInt64>, latitude: ClosedRange<UInt64>)
            repeat {
                cells = (cellIndex(span.lowerBound, range: longitudeRange, step: step)
                            ... cellIndex(span.upperBound, range: longitudeRange, step: step),
                         cellIndex(latitudes.lowerBound, range: latitudeRange, step: step)
                            ... cellIndex(latitudes.upperBound, range: latitudeRange, step: step))
                if cells.longitude.count <= 4 && cells.latitude.count <= 4 { break }
                step -= 1
            } while step > 0
            let shift = UInt64(2 * (steps - step))
            for longitudeCell in cells.longitude {
                for latitudeCell in cells.latitude {
                    let cell = interleave(latitude: latitudeCell, longitude: longitudeCell)
                    ranges.append(cell << shift ..< (cell + 1) << shift)
                }
            }
        }
        ranges.sort { $0.lowerBound < $1.lowerBound }
        var merged: [Range<UInt64>] = []
        for range in ranges {
            if let last = merged.last, range.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<Swift.max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        return merged
    }

    /// A box around a search area (half-width and half-height in meters
    /// from the centre), with a margin, that contains every position the
    /// area holds: the longitude span is taken at the edge nearer a pole,
    /// where a meter is the most degrees; near a pole, every longitude.
    static func boundingBox(longitude: Double, latitude: Double, halfWidth: Double, halfHeight: Double)
        -> (longitudes: ClosedRange<Double>, latitudes: ClosedRange<Double>) {
        let margin = 1.05
        let latitudeDelta = degrees(halfHeight / earthRadius) * margin
        let north = latitude + latitudeDelta, south = latitude - latitudeDelta
        let latitudes = south...north
        guard north < 89, south > -89 else { return (-180...180, latitudes) }
        let poleward = Swift.max(abs(north), abs(south))
        let longitudeDelta = degrees(halfWidth / earthRadius / cos(radians(poleward))) * margin
        guard longitudeDelta < 180 else { return (-180...180, latitudes) }
        return (longitude - longitudeDelta...longitude + longitudeDelta, latitudes)
    }
}
