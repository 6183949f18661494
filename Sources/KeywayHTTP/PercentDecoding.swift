/// Percent-decoding to bytes. libmicrohttpd's own unescaping is switched off
/// (it would turn `%2F` into a separator and stop at `%00`), so the router
/// decodes each segment itself.
public enum PercentDecoding {
    /// Decodes `%HH` escapes; `+` becomes a space only when `plusAsSpace`
    /// (query strings). A malformed escape is kept literally.
    public static func decode<S: Collection>(_ text: S, plusAsSpace: Bool = false) -> [UInt8] where S.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var index = text.startIndex
        while index != text.endIndex {
            let byte = text[index]
            if byte == UInt8(ascii: "%") {
                let first = text.index(after: index)
                if first != text.endIndex {
                    let second = text.index(after: first)
                    if second != text.endIndex, let high = hexValue(text[first]), let low = hexValue(text[second]) {
                        out.append(high << 4 | low)
                        index = text.index(after: second)
                        continue
                    }
                }
                out.append(byte)
            } else if plusAsSpace && byte == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else {
                out.append(byte)
            }
            index = text.index(after: index)
        }
        return out
    }

    /// Splits a raw path on `/` and decodes each segment. `/a//b/` gives
    /// `["a", "", "b"]`: empty inner segments are kept (an empty key is a
    /// key), one leading and one trailing slash are not segments.
    public static func segments(ofPath path: String) -> [[UInt8]] {
        var path = path
        return path.withUTF8 { segments(ofPathBytes: $0) }
    }

    /// `segments(ofPath:)` over the path's bytes in one pass; a segment
    /// without `%` is copied as it is.
    static func segments(ofPathBytes path: UnsafeBufferPointer<UInt8>) -> [[UInt8]] {
        var start = path.startIndex, end = path.endIndex
        if start < end && path[start] == UInt8(ascii: "/") { start += 1 }
        if start == end { return [] }
        if path[end - 1] == UInt8(ascii: "/") { end -= 1 }
        // Sized once: growing from one segment to three reallocates twice.
        var separators = 0
        for index in start..<end where path[index] == UInt8(ascii: "/") { separators += 1 }
        var segments: [[UInt8]] = []
        segments.reserveCapacity(separators + 1)
        var segmentStart = start
        var escaped = false
        for index in start...end {
            if index == end || path[index] == UInt8(ascii: "/") {
                let segment = UnsafeBufferPointer(rebasing: path[segmentStart..<index])
                segments.append(escaped ? decode(segment) : Array(segment))
                segmentStart = index + 1
                escaped = false
            } else if path[index] == UInt8(ascii: "%") {
                escaped = true
            }
        }
        return segments
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
