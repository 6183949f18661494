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
// allocation would raise LUA_ERRMEM through Swift frames.
static void *keyway_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    const keyway_lua_callbacks *callbacks = (const keyway_lua_callbacks *)ud;
    if (nsize > KEYWAY_LUA_MAX_ALLOCATION && callbacks != NULL && callbacks->lua_running) return NULL;
    void *grown = realloc(ptr, nsize);
    if (grown == NULL) abort();
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

// The sandbox, run under lua_cpcall: base, table, string and math, plus
// cjson and bit as Redis has them (Debian's lua-cjson and lua-bitop); no io,
// os, package, debug, loadfile or dofile; the redis table; then the
// globals locked against reads of undefined names and new names.
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

    // KEYS and ARGV exist from the start, so replacing them per call is
    // an update of an existing global (done with rawset anyway).
    lua_newtable(L);
    lua_setfield(L, LUA_GLOBALSINDEX, "KEYS");
    lua_newtable(L);
    lua_setfield(L, LUA_GLOBALSINDEX, "ARGV");

    lua_createtable(L, 0, 3);
    lua_pushcfunction(L, keyway_lua_global_read);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, keyway_lua_global_write);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, LUA_GLOBALSINDEX);
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
