import KeywayEngine
import NIOCore

/// A pipeline on the cluster: the commands for each master are written to
/// it in one go, all masters at once; a command answered with a
/// redirection (which means it did not run) is sent again on its own.
struct ClusterPipeline {
    let executor: ClusterExecutor
    let commands: [Command]

    private struct Item {
        let index: Int
        let arguments: [Bytes]
        let slot: Int
        let isRead: Bool
        let isWrite: Bool
        /// A middleware command (or a field expiration read), sent as its script.
        let script: MiddlewareCall?
        let spec: CommandSpec
        let command: [Bytes]

        /// A node's answer in the engine's shape.
        func engineReply(_ answer: Reply) -> Reply {
            if let script { return script.engineReply(answer) }
            return EngineReplyShape.of(answer, spec: spec, arguments: command)
        }
    }

    func run() -> [Reply] {
        var replies = [Reply?](repeating: nil, count: commands.count)
        var groups: [NodeAddress: [Item]] = [:]
        for (index, command) in commands.enumerated() {
            guard let spec = executor.commands.lookup(command.name) else {
                replies[index] = .error(.unknownCommand(command.name, arguments: command.arguments.dropFirst()))
                continue
            }
            // As the embedded engine answers: SUBSCRIBE, MONITOR, SAVE, ...
            if spec.flags.contains(.noMulti) {
                replies[index] = .error(CommandError(.notSupported, "ERR \(spec.name.uppercased()) is not allowed in a pipeline"))
                continue
            }
            switch executor.plan(command, spec: spec) {
            case .refuse(let error):
                replies[index] = .error(error)
            case .gateway, .everyMaster, .split:
                replies[index] = executor.execute(command, spec: spec)
            case .slot(let slot):
                let script: MiddlewareCall?
                do { script = try executor.scriptCall(command.arguments, spec: spec, slot: slot) } catch {
                    replies[index] = .error(error)
                    continue
                }
                let item = Item(index: index, arguments: script?.evalSHA ?? command.arguments, slot: slot,
                                isRead: spec.flags.contains(.readonly), isWrite: spec.flags.contains(.write), script: script,
                                spec: spec, command: command.arguments)
                if let master = executor.slots.master(of: slot) {
                    groups[master, default: []].append(item)
                } else {
                    replies[index] = resend(item)
                }
            }
        }
        // With replica reads on, a group with writes ends with ROLE, whose
        // offset then counts them (see `ReplicationOffsets`).
        let observe = executor.settings.readFromReplicas
        var sent: [(NodeAddress, [Item], loads: Int, ReplyWaiter?)] = []
        for (master, items) in groups {
            let connection = try? executor.pool(for: master).connection()
            // Each script the group calls is loaded first (see
            // `MiddlewareCall.load`); its answer is not a reply of the batch.
            var batch: [[Bytes]] = []
            var loaded = Set<String>()
            for case let script? in items.lazy.map(\.script) where loaded.insert(script.script.sha).inserted {
                batch.append(script.load)
            }
            let loads = batch.count
            batch.append(contentsOf: items.map(\.arguments))
            if observe && items.contains(where: \.isWrite) { batch.append([Bytes("ROLE")]) }
            sent.append((master, items, loads, connection?.sendDeferred(batch)))
        }
        for (master, items, loads, future) in sent {
            guard let future, let allAnswers = try? future.wait(timeout: executor.settings.requestTimeout) else {
                executor.forget(master)
                for item in items {
                    // Never written: safe to send again. Written, then the
                    // connection broke: only reads are sent again.
                    replies[item.index] = future == nil || item.isRead
                        ? resend(item)
                        : .error(ClusterCommandPolicy.unavailable("\(master) closed the connection before answering"))
                }
                continue
            }
            let answers = allAnswers.dropFirst(loads)
            if answers.count > items.count, let role = answers.last { executor.offsets.note(role, from: master) }
            for (item, answer) in zip(items, answers) {
                if case .error(let error) = answer, Self.needsResend(error) || (item.script != nil && MiddlewareCall.isMissingScript(answer)) {
                    replies[item.index] = resend(item)
                } else {
                    replies[item.index] = item.engineReply(answer)
                }
            }
        }
        // The sync token grows with the writes a node served (the others
        // ran through `execute`, which counted them).
        let served = groups.values.joined().filter { item in
            guard item.isWrite, let reply = replies[item.index] else { return false }
            return !reply.isError
        }.count
        if served > 0 { executor.writes.withLockedValue { $0 += Int64(served) } }
        return replies.map { $0 ?? .null }
    }

    /// Sends one command of the pipeline on its own, following redirections
    /// (a middleware command as its script, loading it where it is missing).
    private func resend(_ item: Item) -> Reply {
        if let script = item.script { return script.engineReply(executor.run(script, slot: item.slot)) }
        return item.engineReply(executor.send(item.arguments, slot: item.slot, retryIfSent: item.isRead))
    }

    /// Errors that mean the command did not run where it was sent.
    static func needsResend(_ error: CommandError) -> Bool {
        let message = error.message
        return message.hasPrefix("MOVED ") || message.hasPrefix("ASK ") || message.hasPrefix("TRYAGAIN") || message.hasPrefix("CLUSTERDOWN")
    }
}

/// A transaction on the cluster: all its keys must be in one slot, as Redis
/// Cluster requires; it runs as MULTI ... EXEC written in one go to that
/// slot's master.
struct ClusterTransaction {
    let executor: ClusterExecutor
    let commands: [Command]

    static let aborted = CommandError(.execAbort, "EXECABORT Transaction discarded because of previous errors.")

    func run() -> Result<[Reply], CommandError> {
        var slot: Int?
        var readOnly = true
        for command in commands {
            guard let spec = executor.commands.lookup(command.name),
                  spec.acceptsArgumentCount(command.arguments.count) else { return .failure(Self.aborted) }
            if !spec.flags.contains(.readonly) { readOnly = false }
            switch executor.plan(command, spec: spec) {
            case .refuse(let error):
                // A field TTL write refused by a node without field
                // expiration says so, rather than EXECABORT alone.
                let explained = error.code == .crossSlot || error.code == .noPermission
                    || (error.code == .notSupported && FieldExpirationEmulation.names.contains(spec.name))
                return .failure(explained ? error : Self.aborted)
            case .split:
                return .failure(ClusterCommandPolicy.crossSlot)
            case .gateway:
                return .failure(CommandError(.notSupported, "ERR \(spec.name.uppercased()) acts on the gateway, not a node, and cannot be part of a cluster transaction"))
            case .everyMaster:
                return .failure(CommandError(.notSupported, "ERR \(spec.name.uppercased()) runs on every node and cannot be part of a cluster transaction"))
            case .slot(let commandSlot):
                let keys = spec.keys(in: command.arguments)
                guard !keys.isEmpty else { continue }
                if let slot, slot != commandSlot { return .failure(ClusterCommandPolicy.crossSlot) }
                slot = commandSlot
            }
        }
        // Middleware commands go as their whole scripts: inside MULTI a
        // NOSCRIPT would only show after EXEC, too late to send again.
        // So are hash field TTL reads on a master without field expiration.
        let target = slot ?? Int.random(in: 0..<HashSlot.count)
        var scripts: [MiddlewareCall?] = []
        var specs: [CommandSpec] = []
        for command in commands {
            guard let spec = executor.commands.lookup(command.name) else { return .failure(Self.aborted) }
            specs.append(spec)
            do { scripts.append(try executor.scriptCall(command.arguments, spec: spec, slot: target)) } catch { return .failure(Self.aborted) }
        }
        let queued = zip(commands, scripts).map { command, script in script?.eval ?? command.arguments }
        let batch = [[Bytes("MULTI")]] + queued + [[Bytes("EXEC")]]
        let reply = sendTransaction(batch, slot: target, readOnly: readOnly,
                                    observeOffset: executor.settings.readFromReplicas && !readOnly)
        switch reply {
        case .array(let results) where results.count == scripts.count:
            if !readOnly { executor.noteWrite() }
            return .success(results.indices.map { index in
                scripts[index]?.engineReply(results[index])
                    ?? EngineReplyShape.of(results[index], spec: specs[index], arguments: commands[index].arguments)
            })
        case .array(let results): return .success(results)
        case .error(let error): return .failure(error)
        default: return .failure(CommandError(.execAbort, "EXECABORT Transaction aborted"))
        }
    }

    /// Like `ClusterExecutor.send`, for the whole MULTI ... EXEC: a
    /// redirection on any queued command (EXEC then aborts) sends the whole
    /// transaction again to the new owner.
    private func sendTransaction(_ batch: [[Bytes]], slot: Int, readOnly: Bool, observeOffset: Bool) -> Reply {
        var backoff = RetryBackoff(window: executor.settings.retryWindow)
        var asking: NodeAddress?
        for _ in 0..<16 {
            guard let target = asking ?? executor.slots.master(of: slot) else {
                executor.refreshSlotMap()
                if backoff.wait() { continue }
                return .error(ClusterCommandPolicy.unavailable("no node serves slot \(slot)"))
            }
            let written = (asking != nil ? [[Bytes("ASKING")]] + batch : batch) + (observeOffset ? [[Bytes("ROLE")]] : [])
            guard let connection = try? executor.pool(for: target).connection() else {
                executor.forget(target)
                executor.refreshSlotMap()
                asking = nil
                if backoff.wait() { continue }
                return .error(ClusterCommandPolicy.unavailable("\(target) unreachable"))
            }
            guard var replies = try? connection.sendAndWait(written, timeout: executor.settings.requestTimeout) else {
                executor.forget(target)
                executor.refreshSlotMap()
                asking = nil
                if readOnly, backoff.wait() { continue }
                return .error(ClusterCommandPolicy.unavailable("\(target) closed the connection before answering"))
            }
            if observeOffset, let role = replies.popLast() { executor.offsets.note(role, from: target) }
            let redirection = replies.lazy.compactMap { reply -> Redirection? in
                if case .error(let error) = reply { return Redirection(error.message) }
                return nil
            }.first
            if let redirection {
                if redirection.kind == .moved {
                    executor.slots.move(slot: redirection.slot, to: redirection.address)
                    executor.scheduleRefresh()
                    asking = nil
                } else {
                    asking = redirection.address
                }
                continue
            }
            if replies.contains(where: { if case .error(let e) = $0 { return ClusterPipeline.needsResend(e) } else { return false } }) {
                asking = nil
                if backoff.wait() { continue }
                return .error(ClusterCommandPolicy.unavailable("the transaction's slot is not being served"))
            }
            return replies[replies.count - 1]
        }
        return .error(ClusterCommandPolicy.unavailable("too many redirections for slot \(slot)"))
    }
}
