// Lua 5.1 for Swift: the C API's macros as functions Swift can import, plus
// the few C functions scripts call directly.
//
// Lua reports errors with longjmp. A longjmp must never cross a Swift frame,
// so every lua_error in Keyway is raised here, in C, after any Swift callback
// has returned normally: Swift callbacks return a status and leave the error
// value on the Lua stack, and the C trampoline below raises it.
#ifndef KEYWAY_CLUA_SHIM_H
#define KEYWAY_CLUA_SHIM_H

#include <lua5.1/lua.h>
#include <lua5.1/lauxlib.h>
#include <lua5.1/lualib.h>
#include <lua5.1/lua-cjson.h>
#include <lua5.1/lua-bitop.h>
#include <stdlib.h>
#include <string.h>

// What the Swift side provides; found through the allocator's user data,
// so every C function below can reach it from any lua_State of the VM.
typedef struct keyway_lua_callbacks {
    void *context;
    // redis.call / redis.pcall: reads the arguments, runs the command and
    // pushes one result. Returns 1, or -1 when the value on top of the stack
    // is an error to raise (only when raise is nonzero).
    int (*call)(void *context, lua_State *L, int raise);
    // Called from the count hook: nonzero kills the running script.
    int (*interrupt)(void *context);
    // redis.log(level, message).
    void (*log)(void *context, int level, const char *message, size_t length);
    // redis.sha1hex(text): writes 40 hex digits into out.
    void (*sha1hex)(void *context, const char *text, size_t length, char *out);
    // Nonzero while Lua code runs (set around lua_pcall, cleared while a
    // Swift callback runs): only then may an allocation fail softly.
    int lua_running;
    // Bytes the VM holds now, and the most it may hold while Lua code runs:
    // past the limit an allocation fails softly ("not enough memory").
    size_t heap_bytes;
    size_t heap_limit;
} keyway_lua_callbacks;

static inline keyway_lua_callbacks *keyway_lua_callbacks_of(lua_State *L) {
    void *ud = NULL;
    (void)lua_getallocf(L, &ud);
    return (keyway_lua_callbacks *)ud;
}

// While Lua code runs, one allocation larger than this fails: the script
// gets "not enough memory", raised inside the VM where no Swift frame is.
#define KEYWAY_LUA_MAX_ALLOCATION ((size_t)1 << 30)

// Otherwise running out of memory aborts, as Redis's allocator does: while
// Swift calls the Lua API (pushing a reply, setting KEYS), a failed
// allocation would raise LUA_ERRMEM through Swift frames. Only growth can
// fail: Lua 5.1 requires shrinking to succeed, and passes osize 0 for a
// new block.
static void *keyway_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    keyway_lua_callbacks *callbacks = (keyway_lua_callbacks *)ud;
    if (nsize == 0) {
        free(ptr);
        if (callbacks != NULL && ptr != NULL) callbacks->heap_bytes -= osize;
        return NULL;
    }
    if (callbacks != NULL && callbacks->lua_running && nsize > osize) {
        if (nsize > KEYWAY_LUA_MAX_ALLOCATION) return NULL;
        if (callbacks->heap_limit > 0 && callbacks->heap_bytes + (nsize - osize) > callbacks->heap_limit) return NULL;
    }
    void *grown = realloc(ptr, nsize);
    if (grown == NULL) abort();
    if (callbacks != NULL) callbacks->heap_bytes = callbacks->heap_bytes - (ptr != NULL ? osize : 0) + nsize;
    return grown;
}

// {err = message}: Redis's error value.
static inline void keyway_lua_push_error_table(lua_State *L, const char *message) {
    lua_createtable(L, 0, 1);
    lua_pushstring(L, message);
    lua_setfield(L, -2, "err");
}

// The error handler given to lua_pcall: turns any error into a table
// {err = "ERR ...", source = ..., line = ...} naming the innermost Lua
// function that was running, as Redis 7 does.
static int keyway_lua_error_handler(lua_State *L) {
    lua_Debug ar;
    int found = 0;
    for (int level = 1; level <= 2 && !found; level++) {
        if (!lua_getstack(L, level, &ar)) break;
        if (!lua_getinfo(L, "Sl", &ar)) break;
        if (strcmp(ar.what, "C") != 0) found = 1;
    }
    if (!lua_istable(L, 1)) {
        const char *text;
        switch (lua_type(L, 1)) {
        case LUA_TSTRING: case LUA_TNUMBER: text = lua_tostring(L, 1); break;
        case LUA_TNIL: text = "nil"; break;
        case LUA_TBOOLEAN: text = lua_toboolean(L, 1) ? "true" : "false"; break;
        default: text = "execution failure"; break;
        }
        lua_pushstring(L, "ERR ");
        lua_pushstring(L, text);
        lua_concat(L, 2);
        lua_createtable(L, 0, 3);
        lua_insert(L, -2);
        lua_setfield(L, -2, "err");
        lua_replace(L, 1);
        lua_settop(L, 1);
    }
    if (found) {
        lua_pushstring(L, ar.source);
        lua_setfield(L, 1, "source");
        lua_pushinteger(L, ar.currentline);
        lua_setfield(L, 1, "line");
    }
    lua_settop(L, 1);
    return 1;
}

static int keyway_lua_dispatch(lua_State *L, int raise) {
    keyway_lua_callbacks *callbacks = keyway_lua_callbacks_of(L);
    callbacks->lua_running = 0;
    int results = callbacks->call(callbacks->context, L, raise);
    callbacks->lua_running = 1;
    if (results < 0) return lua_error(L);
    return results;
}

static int keyway_lua_redis_call(lua_State *L) { return keyway_lua_dispatch(L, 1); }
static int keyway_lua_redis_pcall(lua_State *L) { return keyway_lua_dispatch(L, 0); }

// Lua's pcall, answering an error table's message as the error, so scripts
// written for string errors keep working (Redis 7 does the same).
static int keyway_lua_pcall(lua_State *L) {
    int argc = lua_gettop(L);
    luaL_checkany(L, 1);
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    if (lua_pcall(L, argc - 1, LUA_MULTRET, 0) != 0) {
        lua_remove(L, 1);
        if (lua_istable(L, -1)) {
            lua_pushstring(L, "err");
            lua_rawget(L, -2);
            if (lua_isstring(L, -1)) lua_replace(L, -2); else lua_pop(L, 1);
        }
        lua_pushboolean(L, 0);
        lua_insert(L, 1);
    }
    return lua_gettop(L);
}

// redis.error_reply("CODE message"): {err = "CODE message"}; a message
// without a code gets ERR, as Redis's error formatting does.
static int keyway_lua_error_reply(lua_State *L) {
    if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING) {
        keyway_lua_push_error_table(L, "ERR wrong number or type of arguments");
        return 1;
    }
    const char *text = lua_tostring(L, 1);
    if (text[0] == '-') text++;
    if (strchr(text, ' ') == NULL) {
        lua_pushstring(L, "ERR ");
        lua_pushstring(L, text);
        lua_concat(L, 2);
    } else {
        lua_pushstring(L, text);
    }
    lua_createtable(L, 0, 1);
    lua_insert(L, -2);
    lua_setfield(L, -2, "err");
    return 1;
}

// redis.status_reply("OK"): {ok = "OK"}.
static int keyway_lua_status_reply(lua_State *L) {
    if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING) {
        keyway_lua_push_error_table(L, "ERR wrong number or type of arguments");
        return 1;
    }
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "ok");
    return 1;
}

static int keyway_lua_sha1hex(lua_State *L) {
    if (lua_gettop(L) != 1) {
        keyway_lua_push_error_table(L, "ERR wrong number of arguments");
        return lua_error(L);
    }
    size_t length = 0;
    const char *text = lua_tolstring(L, 1, &length);
    if (text == NULL) { text = ""; length = 0; }
    char digest[41];
    keyway_lua_callbacks *callbacks = keyway_lua_callbacks_of(L);
    callbacks->sha1hex(callbacks->context, text, length, digest);
    digest[40] = 0;
    lua_pushstring(L, digest);
    return 1;
}

// redis.log(level, message, ...): the words joined by spaces.
static int keyway_lua_log(lua_State *L) {
    int argc = lua_gettop(L);
    if (argc < 2) {
        keyway_lua_push_error_table(L, "ERR redis.log() requires two arguments or more.");
        return lua_error(L);
    }
    if (!lua_isnumber(L, 1)) {
        keyway_lua_push_error_table(L, "ERR First argument must be a number (log level).");
        return lua_error(L);
    }
    int level = (int)lua_tonumber(L, 1);
    if (level < 0 || level > 3) {
        keyway_lua_push_error_table(L, "ERR Invalid debug level.");
        return lua_error(L);
    }
    luaL_Buffer buffer;
    luaL_buffinit(L, &buffer);
    for (int i = 2; i <= argc; i++) {
        size_t length = 0;
        const char *word = lua_tolstring(L, i, &length);
        if (word == NULL) continue;
        if (i > 2) luaL_addchar(&buffer, ' ');
        luaL_addlstring(&buffer, word, length);
    }
    luaL_pushresult(&buffer);
    size_t length = 0;
    const char *message = lua_tolstring(L, -1, &length);
    keyway_lua_callbacks *callbacks = keyway_lua_callbacks_of(L);
    callbacks->log(callbacks->context, level, message, length);
    return 0;
}

// __index / __newindex of the globals table: scripts may neither read
// undefined globals nor create new ones.
static int keyway_lua_global_read(lua_State *L) {
    const char *name = lua_tostring(L, 2);
    return luaL_error(L, "Script attempted to access nonexistent global variable '%s'", name ? name : "?");
}

static int keyway_lua_global_write(lua_State *L) {
    const char *name = lua_tostring(L, 2);
    return luaL_error(L, "Script attempted to create global variable '%s'", name ? name : "?");
}

static void keyway_lua_count_hook(lua_State *L, lua_Debug *ar);

// Once killed, the hook fires on every line so pcall cannot swallow the kill.
static void keyway_lua_count_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    keyway_lua_callbacks *callbacks = keyway_lua_callbacks_of(L);
    if (callbacks->interrupt(callbacks->context)) {
        lua_sethook(L, keyway_lua_count_hook, LUA_MASKLINE, 0);
        keyway_lua_push_error_table(L, "ERR Script killed by user with SCRIPT KILL...");
        lua_error(L);
    }
}

static inline void keyway_lua_set_hook(lua_State *L, int instructions) {
    lua_sethook(L, keyway_lua_count_hook, LUA_MASKCOUNT, instructions);
}

static inline void keyway_lua_clear_hook(lua_State *L) {
    lua_sethook(L, NULL, 0, 0);
}

static void keyway_lua_set_field_function(lua_State *L, const char *name, lua_CFunction function) {
    lua_pushcfunction(L, function);
    lua_setfield(L, -2, name);
}

static void keyway_lua_open_library(lua_State *L, const char *name, lua_CFunction open) {
    lua_pushcfunction(L, open);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
}

// MARK: the read-only environment
//
// Lua 5.1 has no read-only tables, so every table a script could use to
// reach another script (the globals, the libraries, the string metatable)
// is an empty proxy whose __index is the real table and whose __newindex
// refuses; the proxies' metatables are locked (__metatable = false), and
// the few functions that write around metatables (rawset, setfenv,
// table.insert/remove/sort) refuse protected tables. The real tables stay
// reachable only from C. A script thus cannot replace redis.call or poison
// string methods for the scripts that run after it.

#define KEYWAY_LUA_PROTECTED "keyway.protected"
#define KEYWAY_LUA_HIDDEN_GLOBALS "keyway.globals"

static int keyway_lua_readonly_write(lua_State *L) {
    return luaL_error(L, "Attempt to modify a readonly table");
}

// True when the value at index is a table scripts must not modify.
static int keyway_lua_is_protected(lua_State *L, int index) {
    if (!lua_istable(L, index)) return 0;
    lua_getfield(L, LUA_REGISTRYINDEX, KEYWAY_LUA_PROTECTED);
    lua_pushvalue(L, index > 0 || index <= LUA_REGISTRYINDEX ? index : index - 1);
    lua_rawget(L, -2);
    int protected_table = lua_toboolean(L, -1);
    lua_pop(L, 2);
    return protected_table;
}

static void keyway_lua_mark_protected(lua_State *L, int index) {
    lua_getfield(L, LUA_REGISTRYINDEX, KEYWAY_LUA_PROTECTED);
    lua_pushvalue(L, index > 0 ? index : index - 1);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

// Replaces the table on top of the stack with a read-only proxy of it.
static void keyway_lua_make_readonly_proxy(lua_State *L) {
    keyway_lua_mark_protected(L, -1);
    lua_newtable(L);                       // real proxy
    lua_createtable(L, 0, 3);              // real proxy mt
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, keyway_lua_readonly_write);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);               // real proxy
    lua_remove(L, -2);                     // proxy
    keyway_lua_mark_protected(L, -1);
}

// Calls the original function (upvalue 1) with the same arguments, after
// refusing a protected table as the first argument.
static int keyway_lua_guarded_table_call(lua_State *L) {
    if (keyway_lua_is_protected(L, 1)) return keyway_lua_readonly_write(L);
    int argc = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, argc, LUA_MULTRET);
    return lua_gettop(L);
}

// Wraps field `name` of the table on top with keyway_lua_guarded_table_call.
static void keyway_lua_guard_field(lua_State *L, const char *name) {
    lua_getfield(L, -1, name);
    if (lua_isnil(L, -1)) { lua_pop(L, 1); return; }
    lua_pushcclosure(L, keyway_lua_guarded_table_call, 1);
    lua_setfield(L, -2, name);
}

// getfenv that never hands out the hidden globals: C functions and the
// main chunk's level see the scripts' globals proxy instead.
static int keyway_lua_getfenv(lua_State *L) {
    int argc = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    if (lua_type(L, 2) == LUA_TNUMBER) {
        // A level counts from the caller of getfenv, one frame further now.
        lua_Number level = lua_tonumber(L, 2);
        if (level > 0) { lua_pushnumber(L, level + 1); lua_replace(L, 2); }
    }
    lua_call(L, argc, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, KEYWAY_LUA_HIDDEN_GLOBALS);
    if (lua_rawequal(L, -1, -2)) {
        lua_pop(L, 2);
        lua_pushvalue(L, LUA_GLOBALSINDEX);
    } else {
        lua_pop(L, 1);
    }
    return 1;
}

// setfenv on a Lua function only: the thread's environment (level 0) and C
// functions are the sandbox's, not the script's.
static int keyway_lua_setfenv(lua_State *L) {
    luaL_checktype(L, 2, LUA_TTABLE);
    if (lua_isnumber(L, 1)) {
        lua_Number level = lua_tonumber(L, 1);
        if (level == 0) return luaL_error(L, "setfenv cannot change the environment of the thread");
        lua_Debug ar;
        if (level < 0 || !lua_getstack(L, (int)level, &ar)) return luaL_argerror(L, 1, "invalid level");
        lua_getinfo(L, "f", &ar);
        lua_replace(L, 1);
    }
    if (lua_iscfunction(L, 1) || !lua_isfunction(L, 1)) {
        return luaL_error(L, "setfenv can only change the environment of a Lua function");
    }
    lua_pushvalue(L, 2);
    lua_setfenv(L, 1);
    lua_settop(L, 1);
    return 1;
}

// True when the chunk is precompiled bytecode (which Lua 5.1 loads without
// verifying: arbitrary memory access), as Redis refuses it.
static int keyway_lua_is_bytecode(const char *chunk, size_t length) {
    return length > 0 && chunk[0] == LUA_SIGNATURE[0];
}

#define KEYWAY_LUA_BYTECODE_REFUSED "loading precompiled bytecode is not allowed"

// Compiles source text as loadstring and load answer: the function, or nil
// and the message; precompiled bytecode is refused.
static int keyway_lua_load_source(lua_State *L, const char *chunk, size_t length, const char *name) {
    if (keyway_lua_is_bytecode(chunk, length)) {
        lua_pushnil(L);
        lua_pushstring(L, KEYWAY_LUA_BYTECODE_REFUSED);
        return 2;
    }
    if (luaL_loadbuffer(L, chunk, length, name) != 0) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    return 1;
}

// loadstring(text [, name]): source only.
static int keyway_lua_loadstring(lua_State *L) {
    size_t length = 0;
    const char *chunk = luaL_checklstring(L, 1, &length);
    const char *name = luaL_optstring(L, 2, chunk);
    return keyway_lua_load_source(L, chunk, length, name);
}

// load(reader [, name]): the pieces are gathered first, so the whole chunk
// can be checked for bytecode before Lua sees any of it.
static int keyway_lua_load(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    const char *name = luaL_optstring(L, 2, "=(load)");
    luaL_Buffer buffer;
    lua_settop(L, 2);
    luaL_buffinit(L, &buffer);
    for (;;) {
        lua_pushvalue(L, 1);
        lua_call(L, 0, 1);
        if (lua_isnil(L, -1)) { lua_pop(L, 1); break; }
        if (!lua_isstring(L, -1)) return luaL_error(L, "reader function must return a string");
        size_t piece = 0;
        lua_tolstring(L, -1, &piece);
        if (piece == 0) { lua_pop(L, 1); break; }
        luaL_addvalue(&buffer);
    }
    luaL_pushresult(&buffer);
    size_t length = 0;
    const char *chunk = lua_tolstring(L, -1, &length);
    return keyway_lua_load_source(L, chunk, length, name);
}

// unpack(t [, i [, j]]) with the range computed in 64 bits: Lua 5.1's own
// overflows on extreme bounds and reads far outside the stack.
static int keyway_lua_unpack(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    long long first = (long long)luaL_optnumber(L, 2, 1);
    long long last = lua_isnoneornil(L, 3) ? (long long)lua_objlen(L, 1) : (long long)luaL_checknumber(L, 3);
    if (first > last) return 0;
    long long count = last - first + 1;
    if (count >= 8000 || !lua_checkstack(L, (int)count)) return luaL_error(L, "too many results to unpack");
    for (long long i = first; i <= last; i++) lua_rawgeti(L, 1, (int)i);
    return (int)count;
}

// bit.tohex(x [, n]) without lua-bitop's n = INT32_MIN case, whose
// negation overflows and writes outside the digit buffer.
static int keyway_lua_bit_tohex(lua_State *L) {
    if (lua_gettop(L) >= 2 && lua_isnumber(L, 2)) {
        union { lua_Number n; unsigned long long b; } bits;
        bits.n = lua_tonumber(L, 2) + 6755399441055744.0;
        if ((int)(unsigned int)bits.b == (int)0x80000000u) {
            lua_pushinteger(L, -8);
            lua_replace(L, 2);
        }
    }
    int argc = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, argc, LUA_MULTRET);
    return lua_gettop(L);
}

// tostring that shows no heap addresses: a function, table, coroutine or
// userdata without __tostring is shown by its type alone.
static int keyway_lua_safe_tostring(lua_State *L) {
    luaL_checkany(L, 1);
    switch (lua_type(L, 1)) {
    case LUA_TFUNCTION: case LUA_TTABLE: case LUA_TTHREAD: case LUA_TUSERDATA: case LUA_TLIGHTUSERDATA:
        if (luaL_callmeta(L, 1, "__tostring")) return 1;
        lua_pushstring(L, luaL_typename(L, 1));
        return 1;
    default:
        lua_pushvalue(L, lua_upvalueindex(1));
        lua_insert(L, 1);
        lua_call(L, lua_gettop(L) - 1, 1);
        return 1;
    }
}

// __newindex of the scripts' globals: an existing name is read-only, a new
// one is refused as a global variable (Redis's words for both).
static int keyway_lua_globals_write(lua_State *L) {
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
    int exists = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (exists) return keyway_lua_readonly_write(L);
    return keyway_lua_global_write(L);
}

// Replaces global `name` with a C closure of `function` over the old value.
static void keyway_lua_wrap_global(lua_State *L, const char *name, lua_CFunction function) {
    lua_getfield(L, LUA_GLOBALSINDEX, name);
    lua_pushcclosure(L, function, 1);
    lua_setfield(L, LUA_GLOBALSINDEX, name);
}

// Makes library `name` of the globals read-only (a proxy in its place).
static void keyway_lua_protect_library(lua_State *L, const char *name) {
    lua_getfield(L, LUA_GLOBALSINDEX, name);
    if (!lua_istable(L, -1)) { lua_pop(L, 1); return; }
    keyway_lua_make_readonly_proxy(L);
    lua_setfield(L, LUA_GLOBALSINDEX, name);
}

// The last step of setup: locks everything down. The table that held the
// globals so far becomes hidden (reachable from C only); scripts run with an
// empty globals table that reads through to it and writes nothing to it.
static void keyway_lua_lock_down(lua_State *L) {
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, KEYWAY_LUA_PROTECTED);
    // Read-only: the libraries' real tables.
    lua_getfield(L, LUA_GLOBALSINDEX, "table");
    keyway_lua_guard_field(L, "insert");
    keyway_lua_guard_field(L, "remove");
    keyway_lua_guard_field(L, "sort");
    keyway_lua_guard_field(L, "setn");
    lua_pop(L, 1);
    lua_getfield(L, LUA_GLOBALSINDEX, "bit");
    lua_getfield(L, -1, "tohex");
    lua_pushcclosure(L, keyway_lua_bit_tohex, 1);
    lua_setfield(L, -2, "tohex");
    lua_pop(L, 1);
    keyway_lua_wrap_global(L, "rawset", keyway_lua_guarded_table_call);
    keyway_lua_wrap_global(L, "getfenv", keyway_lua_getfenv);
    keyway_lua_wrap_global(L, "tostring", keyway_lua_safe_tostring);
    lua_pushcfunction(L, keyway_lua_setfenv);
    lua_setfield(L, LUA_GLOBALSINDEX, "setfenv");
    lua_pushcfunction(L, keyway_lua_loadstring);
    lua_setfield(L, LUA_GLOBALSINDEX, "loadstring");
    lua_pushcfunction(L, keyway_lua_load);
    lua_setfield(L, LUA_GLOBALSINDEX, "load");
    lua_pushcfunction(L, keyway_lua_unpack);
    lua_setfield(L, LUA_GLOBALSINDEX, "unpack");
    static const char *const libraries[] = {"string", "table", "math", "bit", "cjson", "coroutine", "redis", NULL};
    for (int i = 0; libraries[i] != NULL; i++) keyway_lua_protect_library(L, libraries[i]);
    // Strings' methods come through the read-only string proxy, and their
    // metatable cannot be fetched.
    lua_pushstring(L, "");
    if (lua_getmetatable(L, -1)) {
        lua_getfield(L, LUA_GLOBALSINDEX, "string");
        lua_setfield(L, -2, "__index");
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
        keyway_lua_mark_protected(L, -1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);

    // The hidden globals: reads of unknown names fail, nothing is writable.
    lua_pushvalue(L, LUA_GLOBALSINDEX);                 // hidden
    keyway_lua_mark_protected(L, -1);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, KEYWAY_LUA_HIDDEN_GLOBALS);
    lua_createtable(L, 0, 3);
    lua_pushcfunction(L, keyway_lua_global_read);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, keyway_lua_readonly_write);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);                            // hidden

    // The scripts' globals: empty; reads go to the hidden table, KEYS and
    // ARGV are set in it per run, new names are refused.
    lua_newtable(L);                                    // hidden visible
    keyway_lua_mark_protected(L, -1);
    lua_createtable(L, 0, 3);                           // hidden visible mt
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushvalue(L, -3);
    lua_pushcclosure(L, keyway_lua_globals_write, 1);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);                            // hidden visible
    lua_pushstring(L, "_G");
    lua_pushvalue(L, -2);
    lua_rawset(L, -4);                                  // hidden._G = visible
    lua_replace(L, LUA_GLOBALSINDEX);                   // hidden
    lua_pop(L, 1);
}

// The sandbox, run under lua_cpcall: base, table, string and math, plus
// cjson and bit as Redis has them (Debian's lua-cjson and lua-bitop); no io,
// os, package, debug, loadfile or dofile; the redis table; then the
// globals locked against reads of undefined names and new names, and every
// table a script could share with the next one made read-only.
static int keyway_lua_setup(lua_State *L) {
    keyway_lua_open_library(L, "", luaopen_base);
    keyway_lua_open_library(L, LUA_TABLIBNAME, luaopen_table);
    keyway_lua_open_library(L, LUA_STRLIBNAME, luaopen_string);
    keyway_lua_open_library(L, LUA_MATHLIBNAME, luaopen_math);
    keyway_lua_open_library(L, "bit", luaopen_bit);
    lua_pushcfunction(L, luaopen_cjson);
    lua_call(L, 0, 1);
    lua_setfield(L, LUA_GLOBALSINDEX, "cjson");    static const char *const removed[] = {"loadfile", "dofile", "print", "newproxy", "module", "require", NULL};
    for (int i = 0; removed[i] != NULL; i++) {
        lua_pushnil(L);
        lua_setfield(L, LUA_GLOBALSINDEX, removed[i]);
    }
    lua_pushcfunction(L, keyway_lua_pcall);
    lua_setfield(L, LUA_GLOBALSINDEX, "pcall");

    lua_createtable(L, 0, 16);
    keyway_lua_set_field_function(L, "call", keyway_lua_redis_call);
    keyway_lua_set_field_function(L, "pcall", keyway_lua_redis_pcall);
    keyway_lua_set_field_function(L, "error_reply", keyway_lua_error_reply);
    keyway_lua_set_field_function(L, "status_reply", keyway_lua_status_reply);
    keyway_lua_set_field_function(L, "sha1hex", keyway_lua_sha1hex);
    keyway_lua_set_field_function(L, "log", keyway_lua_log);
    static const char *const levels[] = {"LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING"};
    for (int i = 0; i < 4; i++) {
        lua_pushinteger(L, i);
        lua_setfield(L, -2, levels[i]);
    }
    lua_setfield(L, LUA_GLOBALSINDEX, "redis");

    keyway_lua_lock_down(L);
    return 0;
}

// A new sandboxed VM whose C functions reach `callbacks`; NULL on failure.
static inline lua_State *keyway_lua_open(keyway_lua_callbacks *callbacks) {
    lua_State *L = lua_newstate(keyway_lua_alloc, callbacks);
    if (L == NULL) return NULL;
    if (lua_cpcall(L, keyway_lua_setup, NULL) != 0) {
        lua_close(L);
        return NULL;
    }
    return L;
}

// The macros Swift cannot import, as functions.
static inline void keyway_lua_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline void keyway_lua_newtable(lua_State *L) { lua_newtable(L); }
static inline const char *keyway_lua_tostring(lua_State *L, int index) { return lua_tostring(L, index); }
static inline int keyway_lua_isnil(lua_State *L, int index) { return lua_isnil(L, index); }
static inline int keyway_lua_istable(lua_State *L, int index) { return lua_istable(L, index); }
static inline int keyway_lua_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline int keyway_lua_globalsindex(void) { return LUA_GLOBALSINDEX; }
static inline void keyway_lua_pushcfunction(lua_State *L, lua_CFunction function) { lua_pushcfunction(L, function); }
static inline lua_CFunction keyway_lua_error_handler_function(void) { return keyway_lua_error_handler; }

#endif
