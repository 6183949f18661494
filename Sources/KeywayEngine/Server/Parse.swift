#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Redis's number parsing and formatting rules, so values round-trip exactly
/// as they do in Redis (`string2ll`, `string2ld`, `ld2string`).
public enum Parse {
    /// A strict base-10 signed 64-bit integer: no spaces, no `+`, no leading
    /// zeros, nothing after the digits. Nil when the bytes are not one.
    public static func strictInt64(_ bytes: Bytes) -> Int64? {
        bytes.storage.withUnsafeBufferPointer { buffer -> Int64? in
            let count = buffer.count
            guard count > 0, count <= 20 else { return nil }
            if count == 1 && buffer[0] == UInt8(ascii: "0") { return 0 }
            var index = 0
            let negative = buffer[0] == UInt8(ascii: "-")
            if negative {
                index = 1
                guard count > 1 else { return nil }
            }
            guard buffer[index] >= UInt8(ascii: "1") && buffer[index] <= UInt8(ascii: "9") else { return nil }
            var magnitude: UInt64 = 0
            while index < count {
                let digit = buffer[index]
                guard digit >= UInt8(ascii: "0") && digit <= UInt8(ascii: "9") else { return nil }
                let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(UInt64(digit - UInt8(ascii: "0")))
                if o1 || o2 { return nil }
                magnitude = sum
                index += 1
            }
            if negative {
                if magnitude > UInt64(Int64.max) + 1 { return nil }
                return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
            }
            return magnitude > UInt64(Int64.max) ? nil : Int64(magnitude)
        }
    }

    /// An integer argument or `ERR value is not an integer or out of range`.
    public static func integer(_ bytes: Bytes) throws(CommandError) -> Int64 {
        guard let value = strictInt64(bytes) else { throw .notInteger }
        return value
    }

    /// A double as Redis's `string2d`: strtod, whole string, no leading
    /// space, not NaN. Accepts `inf`, `-inf`, `+inf`.
    public static func strictDouble(_ bytes: Bytes) -> Double? {
        guard !bytes.isEmpty, bytes.count < 5120 else { return nil }
        if isspace(Int32(bytes.storage[0])) != 0 { return nil }
        var buffer = bytes.storage
        buffer.append(0)
        return buffer.withUnsafeBufferPointer { pointer -> Double? in
            let start = UnsafeRawPointer(pointer.baseAddress!).assumingMemoryBound(to: CChar.self)
            var end: UnsafeMutablePointer<CChar>? = nil
            errno = 0
            let value = strtod(start, &end)
            guard let end, end - UnsafeMutablePointer(mutating: start) == bytes.count else { return nil }
            if value.isNaN { return nil }
            if errno == ERANGE && (value.isInfinite || value == 0) { return nil }
            return value
        }
    }

    public static func double(_ bytes: Bytes) throws(CommandError) -> Double {
        guard let value = strictDouble(bytes) else { throw .notFloat }
        return value
    }

    #if arch(x86_64) || arch(i386)
    public typealias LongDouble = Float80
    #else
    public typealias LongDouble = Double
    #endif

    /// A long double as Redis's `string2ld` (INCRBYFLOAT works in long double).
    public static func strictLongDouble(_ bytes: Bytes) -> LongDouble? {
        guard !bytes.isEmpty, bytes.count < 5120 else { return nil }
        if isspace(Int32(bytes.storage[0])) != 0 { return nil }
        var buffer = bytes.storage
        buffer.append(0)
        return buffer.withUnsafeBufferPointer { pointer -> LongDouble? in
            let start = UnsafeRawPointer(pointer.baseAddress!).assumingMemoryBound(to: CChar.self)
            var end: UnsafeMutablePointer<CChar>? = nil
            errno = 0
            #if arch(x86_64) || arch(i386)
            let value = strtold(start, &end)
            #else
            let value = strtod(start, &end)
            #endif
            guard let end, end - UnsafeMutablePointer(mutating: start) == bytes.count else { return nil }
            if value.isNaN { return nil }
            if errno == ERANGE && (value.isInfinite || value == 0) { return nil }
            if errno == EINVAL { return nil }
            return value
        }
    }

    /// Redis's human long double format: `%.17Lf` with trailing zeros (and a
    /// trailing dot) removed, `-0` as `0`. Used for INCRBYFLOAT results.
    public static func formatLongDouble(_ value: LongDouble) -> String {
        var buffer = [CChar](repeating: 0, count: 5200)
        let length = buffer.withUnsafeMutableBufferPointer { pointer -> Int in
            withVaList([value]) { arguments in
                #if arch(x86_64) || arch(i386)
                Int(vsnprintf(pointer.baseAddress, pointer.count, "%.17Lf", arguments))
                #else
                Int(vsnprintf(pointer.baseAddress, pointer.count, "%.17f", arguments))
                #endif
            }
        }
        var bytes = buffer[0..<length].map { UInt8(bitPattern: $0) }
        if bytes.contains(UInt8(ascii: ".")) {
            while bytes.last == UInt8(ascii: "0") { bytes.removeLast() }
            if bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
        }
        if bytes == [UInt8(ascii: "-"), UInt8(ascii: "0")] { bytes = [UInt8(ascii: "0")] }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Decimal text of an integer as bytes.
    public static func bytes(_ value: Int64) -> Bytes { Bytes(String(value)) }
}

extension Int64 {
    /// `self + other`, held at the bounds instead of trapping: for client
    /// numbers meeting clock arithmetic (a deadline, an idle time).
    public func saturatingAdding(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }

    /// `self * other`, held at the bounds instead of trapping.
    public func saturatingMultiplied(by other: Int64) -> Int64 {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? ((self < 0) != (other < 0) ? .min : .max) : product
    }

    /// `self - other`, held at the bounds instead of trapping.
    public func saturatingSubtracting(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        return overflow ? (other < 0 ? .max : .min) : difference
    }
}
