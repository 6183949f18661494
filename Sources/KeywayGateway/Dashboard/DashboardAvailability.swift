/// Whether `/ui` is served.
///
/// The page itself holds nothing, but it makes an open store one click away
/// for anyone who reaches the port: so it is off when the server listens
/// beyond loopback and no request needs a password or token (the
/// `--unprotected` case), whatever `ui` says.
public enum DashboardAvailability: Equatable, Sendable {
    case served
    /// `ui no`.
    case turnedOff
    /// Listening beyond loopback with no authentication required.
    case unprotectedNetwork

    public init(setting: Bool, listensBeyondLoopback: Bool, requiresAuthentication: Bool) {
        if !setting {
            self = .turnedOff
        } else if listensBeyondLoopback && !requiresAuthentication {
            self = .unprotectedNetwork
        } else {
            self = .served
        }
    }
}
