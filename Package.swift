// swift-tools-version:6.0
import PackageDescription

/// Release builds check exclusive access statically only. The dynamic check
/// (`swift_beginAccess` on every access to a class's stored property) was
/// about 13% of a pipelined SET's instructions; debug builds, which the tests
/// run, keep it, so an overlapping access is still caught there.
let releaseSettings: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "Keyway",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "keyway", targets: ["keyway"]),
        .library(name: "KeywayEngine", targets: ["KeywayEngine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.7.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CMicroHTTPD",
            pkgConfig: "libmicrohttpd",
            providers: [.apt(["libmicrohttpd-dev"])]
        ),
        .systemLibrary(
            name: "CGnuTLS",
            pkgConfig: "gnutls",
            providers: [.apt(["libgnutls28-dev"])]
        ),
        .systemLibrary(
            name: "CLua",
            pkgConfig: "lua5.1",
            providers: [.apt(["liblua5.1-0-dev"])]
        ),
        .target(
            name: "KeywayEngine",
            dependencies: [
                "CLua",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "OrderedCollections", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: releaseSettings
        ),
        .target(
            name: "KeywayHTTP",
            dependencies: [
                "CMicroHTTPD",
                "CGnuTLS",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: releaseSettings
        ),
        .target(
            name: "KeywayGateway",
            dependencies: [
                "KeywayEngine",
                "KeywayHTTP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            // The dashboard's files, compiled into the binary as byte arrays
            // (`PackageResources`): nothing to install beside it, no Bundle.
            resources: [.embedInCode("Dashboard/assets")],
            swiftSettings: releaseSettings
        ),
        .target(
            name: "KeywayCluster",
            dependencies: [
                "KeywayEngine",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: releaseSettings
        ),
        .executableTarget(
            name: "keyway",
            dependencies: [
                "KeywayEngine",
                "KeywayHTTP",
                "KeywayGateway",
                "KeywayCluster",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "EngineBench", dependencies: ["KeywayEngine"], path: "Benchmarks/EngineBench"),
        .executableTarget(name: "RouterBench", dependencies: ["KeywayEngine", "KeywayGateway", "KeywayHTTP"], path: "Benchmarks/RouterBench"),
        .target(name: "KeywayTestSupport", path: "Tests/KeywayTestSupport"),
        .testTarget(name: "KeywayEngineTests", dependencies: ["KeywayEngine"]),
        .testTarget(name: "KeywayClusterTests", dependencies: [
            "KeywayCluster", "KeywayEngine",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "KeywayHTTPTests", dependencies: ["KeywayHTTP", "KeywayTestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "KeywayGatewayTests", dependencies: ["KeywayGateway", "KeywayEngine", "KeywayHTTP", "KeywayTestSupport", .product(name: "Logging", package: "swift-log"), .product(name: "JWTKit", package: "jwt-kit")]),
    ]
)
