public import ArgumentParser
public import Foundation
public import Temporal

/// The options by which every executable reaches Temporal, each with its environment fallback
/// (`--host` / `TEMPORAL_HOST`, `--namespace` / `TEMPORAL_NAMESPACE`). Use with `@OptionGroup`.
public struct TemporalServerOptions: ParsableArguments, Sendable {
    @Option(help: "Temporal frontend host:port (env TEMPORAL_HOST, default localhost:7233).")
    public var host: String?

    @Option(help: "Temporal namespace (env TEMPORAL_NAMESPACE, default default).")
    public var namespace: String?

    public init() {}

    /// A client of the server these options (and the environment: TLS, API key, payload keys;
    /// see `TemporalClient.connectFromEnvironment`) name.
    public func connect() async throws -> TemporalClient {
        try await TemporalClient.connectFromEnvironment(host: host, namespace: namespace)
    }
}

/// `--task-queue` of a command that starts one kind of flow, resolved with that flow's
/// environment variable and default queue (`resolved(env:default:)`). Use with `@OptionGroup`.
public struct TaskQueueOptions: ParsableArguments, Sendable {
    @Option(
        name: .customLong("task-queue"),
        help:
            "The flow's task queue (env LAUNCHPAD_TASK_QUEUE, LAUNCHPAD_MOCK_TASK_QUEUE for MockFlow; default launchpad-task-queue, launchpad-mock-task-queue)."
    )
    public var taskQueue: String?

    public init() {}

    /// The flag, else the environment variable `env`, else `fallback`.
    public func resolved(env: String, default fallback: String) -> String {
        EnvironmentValue.resolve(taskQueue, env: env, default: fallback)
    }
}

/// What the starters take besides the server: where the Web UI is, for the links they print.
public struct WebUIOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("ui-url"), help: "Temporal Web UI base URL (env TEMPORAL_UI_URL, default http://localhost:8233).")
    public var uiURL: String?

    public init() {}

    /// The flag, else `TEMPORAL_UI_URL`, else the dev server's UI.
    public var resolved: String {
        uiURL ?? EnvironmentValue.named("TEMPORAL_UI_URL") ?? "http://localhost:8233"
    }
}

/// A value of the environment, trimmed; nil when unset or blank (spaces or a line break, as a
/// secret file or a `.env` line leaves), as the Temporal client and the workers' settings read it.
public enum EnvironmentValue {
    public static func named(_ name: String, in env: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        guard let value = env[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }

    /// A flag's value, else the environment's, else `fallback` (e.g. a task queue).
    public static func resolve(_ flag: String?, env name: String, default fallback: String) -> String {
        flag ?? named(name) ?? fallback
    }
}
