/// JSON documents in RDB files, as a module value of RedisJSON's type
/// (`ReJSON-RL`): `RDB_TYPE_MODULE_2`, the 64-bit module id (the type name
/// in 6-bit characters and the encoding version), then the document's JSON
/// text as one module string, then the module EOF opcode.
///
/// A redis-server without the JSON module refuses a file holding such a
/// value; `keyway rdb-tool convert --skip-types json` writes one without them.
enum RDBJSONModule {
    static let typeName = "ReJSON-RL"
    /// The encoding version RedisJSON 2.x writes its documents with.
    static let encodingVersion: UInt64 = 3

    /// Module value opcodes (`RDB_MODULE_OPCODE_*`).
    enum Opcode {
        static let eof: UInt64 = 0
        static let signedInteger: UInt64 = 1
        static let unsignedInteger: UInt64 = 2
        static let float: UInt64 = 3
        static let double: UInt64 = 4
        static let string: UInt64 = 5
    }

    /// The 64-bit id Redis derives from a module type's name and version.
    static let moduleID: UInt64 = id(name: typeName, version: encodingVersion)

    /// The 64 characters a module type name may use, in Redis's order.
    private static let charset = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func id(name: String, version: UInt64) -> UInt64 {
        var id: UInt64 = 0
        for byte in name.utf8 {
            id = id << 6 | UInt64(charset.firstIndex(of: byte)!)
        }
        return id << 10 | (version & 1023)
    }

    static func write(_ document: JSONDocument, key: Bytes, compress: Bool, to out: inout RDBEncoder) {
        out.byte(RDBFormat.ValueType.module2)
        out.string(key)
        out.length(moduleID)
        out.length(Opcode.string)
        out.string(JSONNodeWriter.compact.bytes(document.root), compress: compress)
        out.length(Opcode.eof)
    }

    /// Reads the value after the module id. Only RedisJSON's type is known;
    /// any other module's value stops the load with its name.
    static func read(from decoder: inout RDBDecoder, typeOffset: Int) throws(RDBError) -> Value {
        let idOffset = decoder.position
        let id = try decoder.length()
        guard id >> 10 == moduleID >> 10 else {
            throw RDBError("module value of type \(name(of: id)) is not supported", offset: idOffset)
        }
        let opcodeOffset = decoder.position
        guard try decoder.length() == Opcode.string else {
            throw RDBError("unexpected module opcode in a \(typeName) value", offset: opcodeOffset)
        }
        let textOffset = decoder.position
        let text = try decoder.string()
        let root: JSONNode
        do {
            root = try JSONNodeParser.parse(text)
        } catch {
            throw RDBError("invalid JSON document: \(error.message)", offset: textOffset)
        }
        let eofOffset = decoder.position
        guard try decoder.length() == Opcode.eof else {
            throw RDBError("missing module EOF after a \(typeName) value", offset: eofOffset)
        }
        return .json(JSONDocument(root))
    }

    /// The type name encoded in a module id, for messages.
    static func name(of id: UInt64) -> String {
        var characters: [UInt8] = []
        var bits = id >> 10
        for _ in 0..<9 {
            characters.insert(charset[Int(bits & 63)], at: 0)
            bits >>= 6
        }
        return String(decoding: characters, as: UTF8.self)
    }
}
