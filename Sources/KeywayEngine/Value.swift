/// A value stored under a key. Each data type adds its case here and its
/// structure and commands in its own file.
public enum Value: Sendable {
    case string(Bytes)

    /// The name TYPE reports.
    public var typeName: String {
        switch self {
        case .string: return "string"
        }
    }
}
