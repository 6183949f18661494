/// RFC 7386 JSON Merge Patch: what JSON.MERGE and `PATCH /v1/json/{key}`
/// apply.
enum JSONMergePatch {
    /// The target after `patch`: an object patch merges member by member
    /// (a `null` member removes it, a missing target becomes `{}`); any
    /// other patch replaces the target.
    static func apply(_ patch: JSONNode, to target: JSONNode) -> JSONNode {
        guard case .object(let patchMembers) = patch else { return patch }
        var members: JSONNode.Members
        if case .object(let existing) = target { members = existing } else { members = [:] }
        for (name, value) in patchMembers {
            if value == .null {
                members.removeValue(forKey: name)
            } else {
                members[name] = apply(value, to: members[name] ?? .null)
            }
        }
        return .object(members)
    }
}
