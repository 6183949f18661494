import ArgumentParser
import KeywayEngine
import KeywayGateway

/// Prints the router's routes, one `METHOD /path` per line. The test suite
/// compares this list with openapi.yaml.
struct Routes: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List every HTTP route the server answers.")

    func run() throws {
        let router = Gateway(executor: Engine()).makeRouter()
        for route in router.routeList { print(route) }
    }
}
