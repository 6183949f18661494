import Testing
@testable import KeywayEngine

/// The flat buffer small collections are held in, against an array model.
@Suite struct PackedStringsTests {
    /// Lengths across the one- and two-byte length headers, binary bytes.
    static func element(_ n: Int) -> Bytes {
        let length = [0, 1, 9, 127, 128, 129, 300][n % 7]
        return Bytes((0..<length).map { UInt8(truncatingIfNeeded: $0 &+ n) })
    }

    @Test func randomEditsMatchAnArray() {
        var packed = PackedStrings()
        var model: [Bytes] = []
        var random = SplitMix64(seed: 7)
        for step in 0..<5_000 {
            let element = Self.element(step)
            switch random.next() % 5 {
            case 0, 1:
                packed.append(element)
                model.append(element)
            case 2:
                let index = Int(random.next() % UInt64(model.count + 1))
                packed.insert(element, at: packed.offset(ofIndex: index))
                model.insert(element, at: index)
            case 3 where !model.isEmpty:
                let index = Int(random.next() % UInt64(model.count))
                packed.remove(at: packed.offset(ofIndex: index))
                model.remove(at: index)
            default:
                guard !model.isEmpty else { continue }
                let index = Int(random.next() % UInt64(model.count))
                packed.replace(at: packed.offset(ofIndex: index), with: element)
                model[index] = element
            }
            if model.count > 200 {
                packed.remove(100, from: packed.offset(ofIndex: 50))
                model.removeSubrange(50..<150)
            }
            #expect(packed.count == model.count)
        }
        #expect(packed.elements == model)
        for (index, element) in model.enumerated() {
            #expect(packed.element(at: packed.offset(ofIndex: index)) == element)
        }
    }

    @Test func findsOnlyAmongTheStridedElements() {
        var packed = PackedStrings()
        for element in ["f1", "v1", "f2", "f1", "f3", "v3"] { packed.append(Bytes(element)) }
        // "f1" as a value (index 3) is not a field.
        #expect(packed.firstOffset(of: "f1", stride: 2) == 0)
        #expect(packed.firstOffset(of: "v1", stride: 2) == nil)
        #expect(packed.firstOffset(of: "v1") == packed.offset(ofIndex: 1))
        #expect(packed.firstOffset(of: "f3", stride: 2) == packed.offset(ofIndex: 4))
        #expect(packed.firstOffset(of: "", stride: 1) == nil)
        packed.append(Bytes())
        #expect(packed.firstOffset(of: "") == packed.offset(ofIndex: 6))
    }

    @Test func shrinkingKeepsTheElements() {
        var packed = PackedStrings()
        for n in 0..<100 { packed.append(Bytes("member:\(n)")) }
        let before = packed.elements
        packed.shrinkToFit()
        #expect(packed.elements == before)
        #expect(packed.byteCount - packed.endOffset <= packed.endOffset / 8 + 16)
    }
}
