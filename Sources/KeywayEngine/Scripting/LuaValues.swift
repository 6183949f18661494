import CLua
import Foundation

/// Redis's conversion rules between replies and Lua values, both ways.
///
/// Reply -> Lua (what redis.call returns): integer -> number, bulk ->
/// string, nil -> false, array -> table, status -> {ok=...}, error ->
/// {err=...}; doubles and maps as RESP2 sends them (string, flat array).
///
/// Lua -> reply (what a script returns): number -> integer (truncated),
/// string -> bulk, true -> 1, false and nil -> nil, table with a string
/// `err` -> error, with a string `ok` -> status, with a number `double` ->
/// double, other tables -> array up to the first nil.
///
/// Only raw, non-raising API calls are used: tables are read with
/// lua_rawget, never through metamethods a script could have set.
enum LuaValues {
    /// Nesting past this answers an error rather than recursing on.
    static let maximumDepth = 1000

    // MARK: - Lua -> Swift

    /// The string (or number, as text) at `index`, without converting the slot.
    static func string(_ L: OpaquePointer, at index: Int32) -> Bytes? {
        let type = lua_type(L, index)
        guard type == LUA_TSTRING || type == LUA_TNUMBER else { return nil }
        lua_pushvalue(L, index)
        defer { lua_settop(L, -2) }
        var length = 0
        guard let text = lua_tolstring(L, -1, &length) else { return nil }
        return Bytes(UnsafeRawBufferPointer(start: text, count: length))
    }

    /// `string(at:)` of the value a `field` call pushed, popping it.
    static func string(_ L: OpaquePointer, at index: Int32, popping: Int32) -> Bytes? {
        defer { lua_settop(L, -2) }
        return string(L, at: index)
    }

    /// Pushes table[name] (raw) and returns its Lua type; the caller pops.
    static func field(_ L: OpaquePointer, table: Int32, _ name: String) -> Int32? {
        lua_pushstring(L, name)
        lua_rawget(L, table)
        let type = lua_type(L, -1)
        if type == LUA_TNIL {
            lua_settop(L, -2)
            return nil
        }
        return type
    }

    /// A redis.call argument: strings as they are, numbers as Redis 7
    /// writes them (`%.17g`); nil for anything else.
    static func commandArgument(_ L: OpaquePointer, at index: Int32) -> Bytes? {
        switch lua_type(L, index) {
        case LUA_TNUMBER:
            let number = lua_tonumber(L, index)
            if number.rounded(.towardZero) == number, abs(number) < 1e15 { return Bytes(String(Int64(number))) }
            return Bytes(String(format: "%.17g", number))
        case LUA_TSTRING:
            return string(L, at: index)
        default:
            return nil
        }
    }

    /// The value at absolute `index` as a reply.
    static func reply(_ L: OpaquePointer, at index: Int32, depth: Int = 0) -> Reply {
        switch lua_type(L, index) {
        case LUA_TSTRING:
            return .bulk(string(L, at: index) ?? Bytes())
        case LUA_TNUMBER:
            return .integer(truncated(lua_tonumber(L, index)))
        case LUA_TBOOLEAN:
            return lua_toboolean(L, index) != 0 ? .integer(1) : .null
        case LUA_TTABLE:
            guard depth < maximumDepth, lua_checkstack(L, 4) != 0 else {
                return .error(CommandError(.generic, "ERR reached lua stack limit"))
            }
            if let type = field(L, table: index, "err") {
                defer { lua_settop(L, -2) }
                if type == LUA_TSTRING, let message = string(L, at: -1) {
                    return .error(CommandError(ErrorCode.forMessage(message.text), message.text))
                }
            }
            if let type = field(L, table: index, "ok") {
                defer { lua_settop(L, -2) }
                if type == LUA_TSTRING, let status = string(L, at: -1) {
                    // A status is one line: CR and LF become spaces, as in Redis.
                    return .status(String(decoding: status.storage.map { $0 == 13 || $0 == 10 ? 32 : $0 }, as: UTF8.self))
                }
            }
            if let type = field(L, table: index, "double") {
                defer { lua_settop(L, -2) }
                if type == LUA_TNUMBER { return .double(lua_tonumber(L, -1)) }
            }
            var elements: [Reply] = []
            var position: Int32 = 1
            while true {
                lua_rawgeti(L, index, position)
                if lua_type(L, -1) == LUA_TNIL {
                    lua_settop(L, -2)
                    break
                }
                let element = reply(L, at: lua_gettop(L), depth: depth + 1)
                lua_settop(L, -2)
                if case .error(let error) = element, error.message == "ERR reached lua stack limit" { return element }
                elements.append(element)
                position += 1
            }
            return .array(elements)
        default:
            return .null
        }
    }

    /// C's `(long long)` cast of a Lua number, as Redis converts; values
    /// the cast leaves undefined (NaN, out of range) give what x86 gives.
    static func truncated(_ number: Double) -> Int64 {
        guard number.isFinite, number > -9.223372036854775808e18, number < 9.223372036854775808e18 else { return Int64.min }
        return Int64(number.rounded(.towardZero))
    }

    // MARK: - Swift -> Lua

    static func push(_ L: OpaquePointer, _ bytes: Bytes) {
        bytes.storage.withUnsafeBufferPointer { buffer in
            let start = UnsafeRawPointer(buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self)
            lua_pushlstring(L, start, buffer.count)
        }
    }

    /// {err = message}
    static func pushError(_ L: OpaquePointer, _ message: String) {
        lua_createtable(L, 0, 1)
        lua_pushstring(L, message)
        lua_setfield(L, -2, "err")
    }

    /// Pushes `reply` converted by Redis's rules (see the type's comment).
    static func push(_ L: OpaquePointer, _ reply: Reply) {
        // Replies nest a few levels at most; without room the VM is broken.
        precondition(lua_checkstack(L, 3) != 0, "Lua stack exhausted converting a reply")
        switch reply {
        case .status(let text):
            lua_createtable(L, 0, 1)
            lua_pushstring(L, text)
            lua_setfield(L, -2, "ok")
        case .error(let error):
            pushError(L, error.message)
        case .integer(let value):
            lua_pushnumber(L, Double(value))
        case .double(let value):
            push(L, ScoreFormatting.bytes(value))
        case .bulk(let bytes):
            push(L, bytes)
        case .null:
            lua_pushboolean(L, 0)
        case .array(let elements), .map(let elements):
            lua_createtable(L, Int32(clamping: elements.count), 0)
            for (offset, element) in elements.enumerated() {
                push(L, element)
                lua_rawseti(L, -2, Int32(offset + 1))
            }
        }
    }

    /// Sets the global `name` to an array of `values` (KEYS, ARGV), raw,
    /// past the globals' write protection.
    static func setGlobalArray(_ L: OpaquePointer, _ name: String, _ values: [Bytes]) {
        lua_pushstring(L, name)
        lua_createtable(L, Int32(clamping: values.count), 0)
        for (offset, value) in values.enumerated() {
            push(L, value)
            lua_rawseti(L, -2, Int32(offset + 1))
        }
        lua_rawset(L, LUA_GLOBALSINDEX)
    }
}
