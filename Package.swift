// swift-tools-version:6.1
// TemporalETL for Swift: a Temporal client and worker that speak the gRPC protocol
// directly (through a small C shim over libgrpc), and the Launchpad ETL built on them.
import PackageDescription

let package = Package(
    name: "TemporalETL",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Temporal", targets: ["Temporal"]),
        .library(name: "TemporalWorker", targets: ["TemporalWorker"]),
        .library(name: "LaunchpadETL", targets: ["LaunchpadETL"]),
        .library(name: "TemporalCodecServer", targets: ["TemporalCodecServer"]),
        .library(name: "TemporalTesting", targets: ["TemporalTesting"]),
        .executable(name: "LaunchpadWorker", targets: ["LaunchpadWorker"]),
        .executable(name: "StartMockWorkflow", targets: ["StartMockWorkflow"]),
        .executable(name: "StartLaunchpadWorkflow", targets: ["StartLaunchpadWorkflow"]),
        .executable(name: "LaunchpadFixtureServer", targets: ["LaunchpadFixtureServer"]),
        .executable(name: "LaunchpadReport", targets: ["LaunchpadReport"]),
        .executable(name: "TemporalBench", targets: ["TemporalBench"]),
        .executable(name: "TemporalBenchWorker", targets: ["TemporalBenchWorker"]),
    ],
    dependencies: [
        // No traits: the default `BinaryDelimitedStreams` trait imports full Foundation (and with it
        // FoundationInternationalization and ICU) into every process that links SwiftProtobuf.
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.30.0", traits: []),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.20.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
    ],
    targets: [
        // C over libgrpc: a thin asynchronous layer over its core API (GRPCChannel).
        .target(
            name: "CGRPCShim",
            linkerSettings: [.linkedLibrary("grpc"), .linkedLibrary("gpr")]
        ),
        // Unary gRPC over one HTTP/2 connection framed by libnghttp2 (an experimental transport).
        .target(name: "CHTTP2", linkerSettings: [.linkedLibrary("nghttp2"), .linkedLibrary("ssl"), .linkedLibrary("crypto")]),
        .systemLibrary(name: "CCurl"),
        .systemLibrary(name: "CSQLite"),
        .systemLibrary(name: "CLibPQ"),
        .systemLibrary(name: "CCrypto"),

        // Generated/: protoc + protoc-gen-swift output of Protos/ (scripts/generate-protos), never
        // edited by hand. Support/: hand-written, in the same module so that the generated code
        // specialises to it (the binary decoder and encoder of the hot messages).
        .target(
            name: "TemporalProto",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .target(
            name: "Temporal",
            dependencies: [
                "CGRPCShim", "CHTTP2", "TemporalProto", "CCrypto",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "TemporalWorker",
            dependencies: [
                "Temporal", "TemporalProto",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        .target(
            name: "LaunchpadETL",
            dependencies: [
                "TemporalWorker", "Temporal", "CCurl", "CSQLite", "CLibPQ", "CCrypto",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // A Launchpad-compatible HTTP server (the fixture, with faults and latency) and the ETL's
        // benchmarks: for tests, the fixture executable and TemporalBench; not in the ETL library.
        .target(
            name: "LaunchpadFixture",
            dependencies: ["LaunchpadETL", "CSQLite"]
        ),
        // Tests without a server: an in-memory Temporal service under the client and worker, and
        // helpers to run workflows and activities against it (for users' tests and ours).
        .target(
            name: "TemporalTesting",
            dependencies: ["Temporal", "TemporalWorker", "TemporalProto", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        // The edge of metrics: a Prometheus registry as the swift-metrics backend, served over HTTP.
        .target(
            name: "TemporalPrometheus",
            dependencies: [
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "FlyingFox", package: "FlyingFox"),
                .product(name: "FlyingSocks", package: "FlyingFox"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Temporal's codec-server protocol over HTTP, for the Web UI and the CLI (encrypted payloads).
        .target(
            name: "TemporalCodecServer",
            dependencies: [
                "Temporal", "TemporalProto",
                .product(name: "FlyingFox", package: "FlyingFox"),
                .product(name: "FlyingSocks", package: "FlyingFox"),
            ]
        ),

        // OpenTelemetry for the executables: an OTLP/HTTP JSON exporter behind swift-distributed-tracing.
        .target(
            name: "TemporalOTLP",
            dependencies: [
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // Executables: argument parsing and environment only; the logic lives in the libraries.
        // Their shared options (server, namespace, Web UI) and environment fallbacks:
        .target(
            name: "ETLCommandLine",
            dependencies: ["Temporal", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "LaunchpadWorker",
            dependencies: [
                "LaunchpadETL", "TemporalWorker", "TemporalPrometheus", "TemporalCodecServer", "TemporalOTLP", "ETLCommandLine",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "StartMockWorkflow",
            dependencies: [
                "LaunchpadETL", "TemporalOTLP", "ETLCommandLine", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "StartLaunchpadWorkflow",
            dependencies: [
                "LaunchpadETL", "TemporalOTLP", "ETLCommandLine", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "LaunchpadReport",
            dependencies: ["LaunchpadETL", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "LaunchpadFixtureServer",
            dependencies: [
                "LaunchpadETL", "LaunchpadFixture",
                .product(name: "FlyingFox", package: "FlyingFox"),
                .product(name: "FlyingSocks", package: "FlyingFox"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The benchmark workload (BenchFlow) and the worker body, shared by the driver and the lean
        // worker executable; FoundationEssentials only.
        .target(
            name: "TemporalBenchWorkload",
            dependencies: ["Temporal", "TemporalWorker", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "TemporalBench",
            dependencies: [
                "Temporal", "TemporalWorker", "LaunchpadETL", "LaunchpadFixture", "TemporalBenchWorkload",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // The Swift worker process that `TemporalBench throughput/latency/scale` start: linked only
        // against Temporal, TemporalWorker and the workload, like a user's worker binary.
        .executableTarget(
            name: "TemporalBenchWorker",
            dependencies: [
                "TemporalBenchWorkload", "TemporalWorker",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Tests. Client and worker tests run against a real `temporal server start-dev`.
        .target(
            name: "TemporalTestSupport",
            dependencies: ["Temporal"],
            path: "Tests/TemporalTestSupport"
        ),
        .testTarget(name: "TemporalProtoTests", dependencies: ["TemporalProto"]),
        .testTarget(name: "TemporalTests", dependencies: ["Temporal", "TemporalTestSupport", "CGRPCShim"]),
        .testTarget(
            name: "TemporalWorkerTests",
            dependencies: [
                "TemporalWorker", "TemporalTestSupport", "TemporalCodecServer", "TemporalTesting",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]),
        .testTarget(
            name: "LaunchpadETLTests",
            dependencies: ["LaunchpadETL", "LaunchpadFixture", "TemporalTestSupport", "TemporalTesting", "TemporalOTLP"],
            exclude: ["Histories"]),
        .testTarget(
            name: "TemporalPrometheusTests",
            dependencies: [
                "TemporalPrometheus", "TemporalWorker", "TemporalTestSupport",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "FlyingSocks", package: "FlyingFox"),
            ]
        ),
    ]
)

// Every Swift target of ours writes existential types as `any P` (ExistentialAny) and imports
// every module whose members it uses (MemberImportVisibility).
for target in package.targets where target.type != .system && !["CGRPCShim", "CHTTP2", "TemporalProto"].contains(target.name) {
    target.swiftSettings =
        (target.swiftSettings ?? []) + [
            .enableUpcomingFeature("ExistentialAny"),
            .enableUpcomingFeature("MemberImportVisibility"),
            .enableUpcomingFeature("InternalImportsByDefault"),
        ]
}
